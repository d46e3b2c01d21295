"""The Zoho SDK's process-wide state: forget it for a clean start, and put a caller's back
afterwards, so the demo and ``zoho_standin`` leave the caller's SDK setup as it was."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.util.utility import Utility

SDK_LOGGER: Final = "SDKLogger"

#: ``Utility`` class attributes that cache per-initialization facts, with the SDK's initial values
#: (the same in the 2.x SDK's ``Utility``: ``testing/zcrmsdk_standin`` resets those too).
UTILITY_DEFAULTS: Final[dict[str, Any]] = {
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
    shared, local = initializers()
    logger = logging.getLogger(SDK_LOGGER)
    return SdkState(
        initializer=shared,
        local_initializer=local,
        utility=utility_caches(),
        logger_level=logger.level,
        logger_handlers=tuple(logger.handlers),
    )


def restore_sdk_state(state: SdkState) -> None:
    """Put ``state`` back; log handlers the SDK added since (a log file per initialize) are closed."""
    set_initializers(state.initializer, state.local_initializer)
    set_utility_caches(state.utility)
    logger = logging.getLogger(SDK_LOGGER)
    for handler in list(logger.handlers):
        if handler not in state.logger_handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(state.logger_level)


def reset_sdk_state() -> None:
    """Forget the SDK's initializers and module caches, as a new process starts without them."""
    set_initializers(None, None)
    set_utility_caches(UTILITY_DEFAULTS)


@contextmanager
def preserved_sdk_state() -> Iterator[SdkState]:
    """Run the block on a freshly reset SDK, then restore the state the caller had."""
    state = capture_sdk_state()
    reset_sdk_state()
    try:
        yield state
    finally:
        restore_sdk_state(state)


# -- the reach-ins: the SDK has no public way to read or reset what ``initialize`` keeps ----------


def initializers() -> tuple[Any, Any]:
    """``Initializer``'s process-wide initializer and this thread's ``switch_user`` one."""
    return Initializer.initializer, getattr(Initializer.LOCAL, "init", None)


def set_initializers(shared: Any, local: Any) -> None:
    """Make ``shared`` the process-wide initializer and ``local`` this thread's (``None``: unset)."""
    Initializer.initializer = shared
    Initializer.LOCAL.init = local


def utility_caches() -> dict[str, Any]:
    """A copy of ``Utility``'s per-initialization class attributes (``UTILITY_DEFAULTS``' names)."""
    return {name: _copied(getattr(Utility, name)) for name in UTILITY_DEFAULTS}


def set_utility_caches(values: Mapping[str, Any]) -> None:
    """Set ``Utility``'s per-initialization class attributes to copies of ``values``."""
    for name, value in values.items():
        setattr(Utility, name, _copied(value))


def _copied(value: Any) -> Any:
    # The SDK fills its module cache dict in place; a snapshot must not share it.
    return dict(value) if isinstance(value, dict) else value
