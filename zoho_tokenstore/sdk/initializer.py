"""The SDK initializer a token lookup runs for, on every generation: during ``switch_user``, the
new one, which 7_0, 6_0 and 5_0 make current only later; a reach-in (docs/sdk-generations.md)."""

from __future__ import annotations

import inspect
from types import FrameType
from typing import Any, Final

from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

#: How far up the stack ``switch_user`` can be: here -> store -> SDK get_token -> generate_token -> it.
_MAX_DEPTH: Final = 16

_SWITCH_USER_CODE: Final = Initializer.switch_user.__code__


def current_initializer() -> Any:
    """The initializer the SDK is looking a token up for: ``switch_user``'s new one, if running."""
    # Handed on, never kept in a local: a frame holding itself would wait for the cycle collector.
    switching = _switching_initializer(inspect.currentframe())
    return switching if switching is not None else Initializer.get_initializer()


def _switching_initializer(frame: FrameType | None) -> Any:
    """The ``initializer`` local of the nearest running ``Initializer.switch_user`` call, if any."""
    for _ in range(_MAX_DEPTH):
        if frame is None:
            return None
        if frame.f_code is _SWITCH_USER_CODE:
            candidate = frame.f_locals.get("initializer")
            return candidate if isinstance(candidate, Initializer) else None
        frame = frame.f_back
    return None


__all__ = ["current_initializer"]
