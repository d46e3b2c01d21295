"""Encryption at rest: Fernet keys, the values they encrypt, and keyed hashes to find rows by,
all from ``cryptography`` and the standard library's HMAC (docs/encryption.md)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from typing import Final

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from ..core.errors import UsageError, store_error

#: Where applications and CLI commands read keys from: comma-separated, newest first.
KEYS_ENVIRONMENT_VARIABLE: Final = "ZOHO_TOKENSTORE_ENCRYPTION_KEYS"

#: Every Fernet token starts with these characters (version byte 0x80, then a 64-bit timestamp
#: whose high bytes stay zero until 2106), so a value without them was written in plaintext.
FERNET_PREFIX: Final = "gAAAAA"

#: A Fernet key as text: 32 bytes in base64 (URL-safe, as ``Fernet.generate_key()`` writes it, or
#: standard, which Fernet reads too), so 43 characters and one ``=``; nothing else, nothing inside.
_FERNET_KEY: Final = re.compile(r"[A-Za-z0-9_\-+/]{43}=")
_KEYGEN_HINT: Final = "generate one with `zoho-tokenstore keygen`"

_LOOKUP_INFO: Final = b"zoho_tokenstore lookup hash v1"
_FINGERPRINT_INFO: Final = b"zoho_tokenstore key fingerprint v1"


def generate_key() -> str:
    """A fresh Fernet key as text (what ``zoho-tokenstore keygen`` prints)."""
    return Fernet.generate_key().decode("ascii")


def looks_encrypted(value: str) -> bool:
    """Whether a stored value is a Fernet token rather than a value written in plaintext."""
    return value.startswith(FERNET_PREFIX)


def keys_from_environment() -> list[str]:
    """The keys in ``$ZOHO_TOKENSTORE_ENCRYPTION_KEYS`` (comma-separated, newest first) as a list for
    ``encryption_keys=``; ``[]`` when it is unset or empty, which the store refuses."""
    raw = os.environ.get(KEYS_ENVIRONMENT_VARIABLE, "")
    return [key.strip() for key in raw.split(",") if key.strip()]


class TokenCipher:
    """The store's keys: encrypts under the newest, decrypts under any, hashes under each.

    Args:
        keys: a list (or tuple) of Fernet keys (``Fernet.generate_key()`` output, as bytes or
            text), newest first. Anything else, or a malformed key, raises ``UsageError`` (an
            ``SDKException(TOKEN_STORE)``) saying what is expected, naming a key by its position only.
    """

    def __init__(self, keys: Sequence[bytes | str]) -> None:
        _check_key_list(keys)
        raw_keys = [_decode_key(key, position) for position, key in enumerate(keys, start=1)]
        self._fernets = [Fernet(base64.urlsafe_b64encode(raw)) for raw in raw_keys]
        self._newest = self._fernets[0]
        self._multi = MultiFernet(self._fernets)
        self._lookup_keys = [_derive(raw, _LOOKUP_INFO, 32) for raw in raw_keys]
        #: Non-secret names of the keys, newest first, for messages and tools.
        self.fingerprints: tuple[str, ...] = tuple(
            _derive(raw, _FINGERPRINT_INFO, 6).hex() for raw in raw_keys
        )
        if len(set(self.fingerprints)) != len(self.fingerprints):
            raise UsageError("encryption_keys lists the same key twice")

    def __repr__(self) -> str:
        return f"TokenCipher(fingerprints={list(self.fingerprints)})"

    def encrypt(self, value: str) -> str:
        """``value`` encrypted under the newest key, as ASCII text."""
        return self._newest.encrypt(value.encode("utf-8")).decode("ascii")

    def decrypt(self, stored: str) -> str:
        """The plaintext of a stored value (one written in plaintext as it is); raises
        ``UnreadableValue`` when no configured key opens it."""
        if not looks_encrypted(stored):
            return stored
        try:
            return self._multi.decrypt(stored.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError) as exc:
            raise UnreadableValue(self.fingerprints) from exc

    def opens(self, stored: str) -> bool:
        """Whether a stored value is plaintext or some configured key decrypts it."""
        try:
            self.decrypt(stored)
        except UnreadableValue:
            return False
        return True

    def is_current(self, stored: str) -> bool:
        """Whether a stored value is encrypted under the newest key (nothing left to rotate)."""
        if not looks_encrypted(stored):
            return False
        try:
            self._newest.decrypt(stored.encode("ascii"))
        except InvalidToken:
            return False
        return True

    def lookup_hash(self, value: str) -> str:
        """The keyed hash of ``value`` under the newest key: what a save writes."""
        return _hmac(self._lookup_keys[0], value)

    def lookup_hashes(self, value: str) -> list[str]:
        """The keyed hash of ``value`` under every key, newest first: what a lookup matches."""
        return [_hmac(key, value) for key in self._lookup_keys]

    @property
    def key_count(self) -> int:
        """How many keys are configured (the number of hashes a lookup sends)."""
        return len(self._lookup_keys)


# Not a TokenStoreError (an SDKException): the `except SDKException` of refresh-ahead and of the
# write-outcome checks would swallow it on its way to the store, which names the row it is about.
class UnreadableValue(Exception):
    """A stored value is a Fernet token that none of the configured keys opens; raised mid-row,
    so the store looks the row up to name it (``unreadable_row_id``, ``unreadable_row_error``)."""

    def __init__(self, fingerprints: Sequence[str]) -> None:
        super().__init__("no configured encryption key opens a stored value")
        self.fingerprints = tuple(fingerprints)


def unreadable_row_error(
    operation: str, row_id: str | None, fingerprints: Sequence[str]
) -> SDKException:
    """The ``SDKException(TOKEN_STORE)`` for a row no key opens: its id and the keys tried, no values."""
    where = f"the row with id {row_id!r}" if row_id is not None else "a row"
    if fingerprints:
        tried = "the keys with fingerprints " + ", ".join(fingerprints)
        fix = "configure the key it was written under (see `zoho-tokenstore encrypt`)"
    else:
        tried = "no keys (this store has no encryption_keys)"
        fix = (
            "pass encryption_keys=[...] to SQLAlchemyTokenStore "
            f"(command line: set ${KEYS_ENVIRONMENT_VARIABLE})"
        )
    return store_error(
        f"{operation}: {where} holds an encrypted token that cannot be read with {tried}: {fix}"
    )


def _check_key_list(keys: object) -> None:
    """Refuse anything but a non-empty list or tuple (one string, a number, a set has no order)."""
    expected = (
        "encryption_keys must be a non-empty list of Fernet keys (str or bytes), newest first"
    )
    if isinstance(keys, (str, bytes)):
        raise UsageError(
            f"{expected}, not one string: write [key], or keys_from_environment() to read "
            f"${KEYS_ENVIRONMENT_VARIABLE} (comma-separated keys)"
        )
    if not isinstance(keys, (list, tuple)):
        raise UsageError(f"{expected}; got {type(keys).__name__}")
    if not keys:
        raise UsageError(
            f"{expected}; got an empty list (keys_from_environment() returns one when "
            f"${KEYS_ENVIRONMENT_VARIABLE} is unset): pass None to store values unencrypted"
        )


def _decode_key(key: object, position: int) -> bytes:
    """The 32 raw bytes of a Fernet key, strictly: only surrounding whitespace is forgiven; any other
    problem is a ``UsageError`` naming the key's position and what is wrong, never its text."""
    problem = f"encryption key #{position} is not a Fernet key"
    if isinstance(key, str):
        try:
            key = key.encode("ascii")
        except UnicodeEncodeError:
            raise UsageError(f"{problem} (it is not ASCII text; {_KEYGEN_HINT})") from None
    if not isinstance(key, bytes):
        raise UsageError(f"{problem}: expected str or bytes, got {type(key).__name__}")
    text = key.strip()
    if b"," in text:
        raise UsageError(
            f"{problem} (it holds a comma: several keys in one string? pass them as separate "
            f"list items; keys_from_environment() splits ${KEYS_ENVIRONMENT_VARIABLE})"
        )
    if any(chr(byte).isspace() for byte in text):
        raise UsageError(f"{problem} (it holds whitespace; a Fernet key is one word)")
    if len(text) != 44:
        raise UsageError(
            f"{problem} (it is {len(text)} characters long; a Fernet key is 44 characters of "
            f"base64 ending in '='; {_KEYGEN_HINT})"
        )
    if not _FERNET_KEY.fullmatch(text.decode("latin-1")):
        raise UsageError(f"{problem} (it holds characters that are not base64; {_KEYGEN_HINT})")
    return base64.urlsafe_b64decode(text)


def _derive(raw_key: bytes, info: bytes, length: int) -> bytes:
    """A sub-key of ``raw_key`` for one purpose (HKDF-SHA256), independent of the Fernet keys."""
    return HKDF(algorithm=SHA256(), length=length, salt=None, info=info).derive(raw_key)


def _hmac(key: bytes, value: str) -> str:
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


__all__ = [
    "KEYS_ENVIRONMENT_VARIABLE",
    "TokenCipher",
    "UnreadableValue",
    "generate_key",
    "keys_from_environment",
    "looks_encrypted",
    "unreadable_row_error",
]
