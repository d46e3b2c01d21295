"""Records what the Zoho SDK logs, the only trace a failing ``save_token`` leaves, and defuses its
malformed error call so that handlers can format it (docs/testing-kit.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from ..sdk.state import SDK_LOGGER


@dataclass(frozen=True)
class SdkLogEntry:
    """One SDK log call as made: level, message template and the raw arguments."""

    levelno: int
    msg: str
    args: tuple[Any, ...]

    def describe(self) -> str:
        """The message and each error by code and message only (our store's never carry secrets)."""
        return " ".join([self.msg] + [_error_text(a) for a in self.args if a is not None])


class SdkLogRecorder(logging.Filter):
    """A filter on the ``SDKLogger`` logger that records every call and defuses malformed ones;
    with ``swallow_errors`` (the demo) error records stop here, recorded but never printed."""

    def __init__(self, *, swallow_errors: bool = False) -> None:
        super().__init__()
        self.swallow_errors = swallow_errors
        self.entries: list[SdkLogEntry] = []

    def filter(self, record: logging.LogRecord) -> bool:
        """Record the call; rewrite a message whose arguments do not fit its template."""
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        self.entries.append(SdkLogEntry(record.levelno, str(record.msg), args))
        if self.swallow_errors and record.levelno >= logging.ERROR:
            return False
        try:
            record.getMessage()
        except (TypeError, ValueError):
            record.msg = " ".join([str(record.msg).replace("%", "%%")] + ["%r"] * len(args))
            record.args = args
        return True

    @property
    def errors(self) -> list[SdkLogEntry]:
        """Calls at ERROR or above, such as "Exception in saving tokens"."""
        return [e for e in self.entries if e.levelno >= logging.ERROR]

    def take_errors(self) -> list[SdkLogEntry]:
        """Return and forget the error calls, for callers that expect (or report) them."""
        errors = self.errors
        self.entries = [e for e in self.entries if e.levelno < logging.ERROR]
        return errors

    def describe_errors(self) -> str:
        """One error call a line with the raw arguments' reprs, for a developer's test output:
        unlike ``SdkLogEntry.describe`` it shows exception texts, whatever a store put there."""
        return "\n".join(f"{e.msg} {e.args!r}" for e in self.errors)


@contextmanager
def recorded_sdk_log(*, swallow_errors: bool = False) -> Iterator[SdkLogRecorder]:
    """Record ``SDKLogger`` calls for the duration of the block."""
    logger = logging.getLogger(SDK_LOGGER)
    recorder = SdkLogRecorder(swallow_errors=swallow_errors)
    logger.addFilter(recorder)
    try:
        yield recorder
    finally:
        logger.removeFilter(recorder)


def _error_text(error: object) -> str:
    """An SDK error by its code and message, another exception by its type only (its text could
    carry anything a failing store put there), any other argument as text."""
    if not isinstance(error, BaseException):
        return str(error)
    message = getattr(error, "error_message", None) or type(error).__name__
    code = getattr(error, "code", None)
    return f"{code}: {message}" if code else str(message)
