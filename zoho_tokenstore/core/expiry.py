"""The SDK's token expiry: epoch milliseconds as a string of ASCII digits; nothing else is an expiry.

One parser for every reader (codec, refresh-ahead, purge, display, import), so they all agree.
``str.isdigit()`` alone also accepts ``"²³"`` (``int()`` then raises) and ``"١٢٣"`` (another script's
digits, which the SDK's ``int()`` reads as 123): neither is a value the SDK ever writes.
"""

from __future__ import annotations

from typing import Final

from .model import COLUMN_LENGTHS

#: The most digits an expiry can have: what its column holds (epoch milliseconds need 13 until 2286).
MAX_EXPIRY_DIGITS: Final = COLUMN_LENGTHS["expiry_time"]


def parse_expiry(text: str | None) -> int | None:
    """The epoch milliseconds ``text`` holds; ``None`` if it holds none (unset, or not an expiry).

    Only ASCII digits, at most ``MAX_EXPIRY_DIGITS`` of them, are an expiry.
    """
    if not text or len(text) > MAX_EXPIRY_DIGITS or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
