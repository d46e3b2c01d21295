"""``get_records(module)`` on every generation: zohocrmsdk5_0's ``RecordOperations`` takes the
module in ``get_records``, the later ones in the constructor (docs/sdk-generations.md)."""

from __future__ import annotations

import inspect
from typing import Any, Final

from zohocrmsdk.src.com.zoho.crm.api.record import RecordOperations

_MODULE_IN_CALL: Final = (
    "module_api_name" in inspect.signature(RecordOperations.get_records).parameters
)


def get_records(module: str, param_instance: Any = None) -> Any:
    """The SDK's ``get_records`` of ``module`` (e.g. ``"Leads"``): its ``APIResponse``."""
    if _MODULE_IN_CALL:
        return RecordOperations().get_records(module, param_instance)
    return RecordOperations(module).get_records(param_instance)


__all__ = ["get_records"]
