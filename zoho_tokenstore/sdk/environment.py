"""A ``DataCenter.Environment`` for URLs of one's own (the stand-in Zoho, a proxy), on every
generation: zohocrmsdk5_0's constructor also wants a name (docs/sdk-generations.md)."""

from __future__ import annotations

import inspect
from typing import Any, Final

from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter

#: The name given where the constructor wants one; 5_0 only stores it (its data centers: "us_prd").
CUSTOM_NAME: Final = "custom"

_TAKES_NAME: Final = "name" in inspect.signature(DataCenter.Environment.__init__).parameters


def custom_environment(url: str, accounts_url: str, file_upload_url: str) -> Any:
    """``DataCenter.Environment(url, accounts_url, file_upload_url)``, named where it must be."""
    if _TAKES_NAME:
        return DataCenter.Environment(url, accounts_url, file_upload_url, CUSTOM_NAME)
    return DataCenter.Environment(url, accounts_url, file_upload_url)


__all__ = ["CUSTOM_NAME", "custom_environment"]
