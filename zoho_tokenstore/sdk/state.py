"""The Zoho SDK's process-wide state: forget it for a clean start, and put a caller's back afterwards.

``Initializer.initialize`` keeps the SDK's configuration in class attributes (``Initializer``, a
thread-local for ``switch_user``, ``Utility``'s module caches) and sets the ``SDKLogger`` logger's
level, so anything that runs the SDK against the stand-in inside someone's process (the demo, the
``zoho_standin`` fixture) snapshots that state first and restores it when done.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.util.utility import Utility

SDK_LOGGER: Final = "SDKLogger"

#: ``Utility`` class attributes that cache per-initialization facts, with the SDK's initial values.
_UTILITY_DEFAULTS: Final[dict[str, Any]] = {
    "module_api_name": None,
    "api_supported_modules": {},
    "new_file": False,
    "get_modified_modules": False,
    "force_refresh": False,
}


@dataclass(frozen=True)
class SdkState:
    """A snapshot of the SDK's global state in the current thread."""

    initializer: Any
    local_initializer: Any
    utility: dict[str, Any]
    logger_level: int
    logger_handlers: tuple[logging.Handler, ...]


def capture_sdk_state() -> SdkState:
    """The SDK's global state as it is now (``switch_user``'s thread-local: this thread's only)."""
    logger = logging.getLogger(SDK_LOGGER)
    return SdkState(
        initializer=Initializer.initializer,
        local_initializer=getattr(Initializer.LOCAL, "init", None),
        utility={name: _copied(getattr(Utility, name)) for name in _UTILITY_DEFAULTS},
        logger_level=logger.level,
        logger_handlers=tuple(logger.handlers),
    )


def restore_sdk_state(state: SdkState) -> None:
    """Put ``state`` back; log handlers the SDK added since (a log file per initialize) are closed."""
    Initializer.initializer = state.initializer
    Initializer.LOCAL.init = state.local_initializer
    for name, value in state.utility.items():
        setattr(Utility, name, _copied(value))
    logger = logging.getLogger(SDK_LOGGER)
    for handler in list(logger.handlers):
        if handler not in state.logger_handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(state.logger_level)


def reset_sdk_state() -> None:
    """Forget the SDK's initializers and module caches, as a new process starts without them."""
    Initializer.initializer = None
    Initializer.LOCAL.init = None
    for name, value in _UTILITY_DEFAULTS.items():
        setattr(Utility, name, _copied(value))


@contextmanager
def preserved_sdk_state() -> Iterator[SdkState]:
    """Run the block on a freshly reset SDK, then restore the state the caller had."""
    state = capture_sdk_state()
    reset_sdk_state()
    try:
        yield state
    finally:
        restore_sdk_state(state)


def _copied(value: Any) -> Any:
    # The SDK fills its module cache dict in place; a snapshot must not share it.
    return dict(value) if isinstance(value, dict) else value
