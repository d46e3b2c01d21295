"""Helpers for the encryption tests: keys, and the token table as the database holds it."""

from __future__ import annotations

import base64
import hashlib
from typing import Any, Final

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL

from zoho_tokenstore.core.model import ENCRYPTED_COLUMNS, HASHED_COLUMNS, OAuthTokenRow, hash_column


def _test_key(n: int) -> bytes:
    """A fixed Fernet key for tests: the same in every process, so xdist workers collect the
    same parameter ids (a key generated per process would differ between them)."""
    return base64.urlsafe_b64encode(
        hashlib.sha256(f"zoho_tokenstore test key {n}".encode()).digest()
    )


#: Three keys; tests pick the ones they need, newest first.
KEY_1: Final = _test_key(1)
KEY_2: Final = _test_key(2)
KEY_3: Final = _test_key(3)

TABLE: Final = OAuthTokenRow.__table__


def raw_rows(url: URL) -> list[dict[str, Any]]:
    """Every row exactly as stored (ciphertext, hashes), ordered by id, whatever the schema revision."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            table = sa.Table(TABLE.name, sa.MetaData(), autoload_with=connection)
            result = connection.execute(sa.select(table).order_by(table.c.id))
            return [dict(row) for row in result.mappings()]
    finally:
        engine.dispose()


def fernet_opens(key: bytes, stored: str) -> bool:
    """Whether ``stored`` is a Fernet token under exactly ``key``."""
    try:
        Fernet(key).decrypt(stored.encode("ascii"))
    except Exception:  # noqa: BLE001  # InvalidToken, or not ASCII: not under this key
        return False
    return True


def assert_encrypted_under(row: dict[str, Any], key: bytes) -> None:
    """Every credential in ``row`` is ciphertext under ``key`` and has a lookup hash."""
    for column in ENCRYPTED_COLUMNS:
        if row[column] is not None:
            assert fernet_opens(key, row[column]), f"{column} of {row['id']} is not under the key"
    for column in HASHED_COLUMNS:
        assert (row[hash_column(column)] is None) == (row[column] is None), column
