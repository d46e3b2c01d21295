"""The SDK's token expiry: epoch milliseconds as ASCII digits; nothing else is an expiry.
One parser for every reader, so they all agree (why not ``isdigit()``: docs/store-design.md)."""

from __future__ import annotations

from typing import Final

from .model import COLUMN_LENGTHS

#: The most digits an expiry can have: what its column holds (epoch milliseconds need 13 until 2286).
MAX_EXPIRY_DIGITS: Final = COLUMN_LENGTHS["expiry_time"]


def parse_expiry(text: str | None) -> int | None:
    """The epoch milliseconds ``text`` holds, or ``None`` (unset, or not an expiry): only ASCII
    digits, at most ``MAX_EXPIRY_DIGITS`` of them, are an expiry."""
    if not text or len(text) > MAX_EXPIRY_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
