"""Revision 0004 with rows in the table: upgrade, downgrade, upgrade on every backend.

Rows written before the upgrade are read and found by a store with keys; a downgrade refuses while
rows hold ciphertext (the older code would hand it to the SDK), and works after ``decrypt``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from encryption_helpers import KEY_1, assert_encrypted_under, raw_rows
from test_encryption import assert_found_every_way
from token_factory import FIELDS, fields_of, full_token
from zoho_tokenstore import SQLAlchemyTokenStore, downgrade, upgrade
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.database.migrations import current_revision, head_revision
from zoho_tokenstore.encryption.cipher import TokenCipher
from zoho_tokenstore.encryption.rotation import rewrite_rows

BEFORE = "zoho_tokenstore_0001"
#: The revision that adds encryption, whose downgrade refuses ciphertext.
ENCRYPTION = "zoho_tokenstore_0004"
COLUMNS = FIELDS  # the ten columns, in the table's order


def _insert_old_rows(url: URL, count: int) -> list[dict[str, str | None]]:
    """Rows as the schema before 0004 held them (plaintext, no hash columns)."""
    table = sa.table("oauthtoken", *(sa.column(name) for name in COLUMNS))
    rows = []
    for n in range(count):
        values = fields_of(full_token(n))
        values["id"] = f"old-{n}"
        rows.append(values)
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.insert(table), rows)
    engine.dispose()
    return rows


def _revision(url: URL) -> str | None:
    engine = build_engine(url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


def test_upgrade_downgrade_upgrade_with_rows(empty_db_url: URL) -> None:
    upgrade(empty_db_url, BEFORE)
    old_rows = _insert_old_rows(empty_db_url, 3)

    upgrade(empty_db_url)
    assert _revision(empty_db_url) == head_revision()
    with SQLAlchemyTokenStore(empty_db_url, encryption_keys=[KEY_1]) as store:
        for saved in old_rows:
            assert_found_every_way(store, saved)  # legacy plaintext, found by every criterion
        encrypted = full_token(9)
        store.save_token(encrypted)
    # Later revisions step down first (on MySQL each step commits by itself, so the refusal
    # below is checked from the revision that owns it). Ciphertext: it refuses, changes nothing.
    downgrade(empty_db_url, ENCRYPTION)
    before = raw_rows(empty_db_url)
    with pytest.raises(RuntimeError, match=r"1 row\(s\) hold encrypted tokens.*decrypt"):
        downgrade(empty_db_url, BEFORE)
    assert _revision(empty_db_url) == ENCRYPTION
    assert raw_rows(empty_db_url) == before

    engine = build_engine(empty_db_url)
    try:
        rewrite_rows(engine, TokenCipher([KEY_1]), decrypt=True)
    finally:
        engine.dispose()
    downgrade(empty_db_url, BEFORE)
    assert _revision(empty_db_url) == BEFORE
    after_downgrade = {row["id"]: row for row in raw_rows(empty_db_url)}
    assert set(after_downgrade) == {*(r["id"] for r in old_rows), encrypted.get_id()}
    assert {k: after_downgrade[encrypted.get_id()][k] for k in COLUMNS} == fields_of(encrypted)
    assert "refresh_token_hash" not in after_downgrade[encrypted.get_id()]

    upgrade(empty_db_url)
    with SQLAlchemyTokenStore(empty_db_url, encryption_keys=[KEY_1]) as store:
        assert_found_every_way(store, fields_of(encrypted))
        engine = build_engine(empty_db_url)
        try:
            rewrite_rows(engine, TokenCipher([KEY_1]))
        finally:
            engine.dispose()
        for row in raw_rows(empty_db_url):
            assert_encrypted_under(row, KEY_1)
        for saved in old_rows:
            assert_found_every_way(store, saved)
