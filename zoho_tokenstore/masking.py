"""Masks secrets for anything a person reads: CLI output, reprs, the demo."""

from __future__ import annotations

from typing import Final

#: Values at least this long show their last four characters; shorter ones show nothing.
_SHOW_TAIL_FROM: Final = 20


def mask(value: str | None) -> str:
    """``"-"`` for no value, else ``"***"`` plus at most the last 4 characters of a long value."""
    if value is None or value == "":
        return "-"
    if len(value) < _SHOW_TAIL_FROM:
        return "***"
    return f"***{value[-4:]}"
