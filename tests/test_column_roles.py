"""Every column rule comes from the roles the model declares (``Column.info``), in every module.

Each expectation here is computed from the model's columns themselves, and each check looks at what
a module does (what the store encrypts and hashes, what ``tokens`` masks, what an import reads), so a
new column whose role is declared on the model cannot be forgotten by one of them.
"""

from __future__ import annotations

import json
from typing import get_type_hints

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from databases import url_arg
from encryption_helpers import KEY_1, raw_rows
from legacy_stores import WIDE_TABLE_SQL, create_table
from token_factory import fields_of, make_token, valid_expiry
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main
from zoho_tokenstore.core.codec import token_values_unchecked, value_problem
from zoho_tokenstore.core.model import (
    COLUMN_LENGTHS,
    COLUMN_NAMES,
    REFRESH_FAILURE_COLUMNS,
    TOKEN_TABLE,
    ColumnRole,
    TokenRow,
    column_role,
    token_row,
    token_table,
)
from zoho_tokenstore.encryption.cipher import TokenCipher, looks_encrypted
from zoho_tokenstore.encryption.columns import EncryptedString, keyed_table, with_lookup_hashes
from zoho_tokenstore.importing.apply import target_rows
from zoho_tokenstore.importing.filestore import FILESTORE_HEADER
from zoho_tokenstore.importing.table import read_table

#: The token's own columns and their roles (the refresh failure columns are refresh-ahead's).
ROLES: dict[str, ColumnRole] = {
    c.name: role
    for c in TOKEN_TABLE.columns
    if (role := column_role(c)) is not None and not role.refresh_failure
}
FAILURE_ROLES: dict[str, ColumnRole] = {
    c.name: role
    for c in TOKEN_TABLE.columns
    if (role := column_role(c)) is not None and role.refresh_failure
}


def with_role(flag: str) -> set[str]:
    """The columns whose declared role sets ``flag``."""
    return {name for name, role in ROLES.items() if getattr(role, flag)}


def hash_columns() -> dict[str, str]:
    return {name: str(role.lookup_hash) for name, role in ROLES.items() if role.lookup_hash}


def every_value_long() -> dict[str, str]:
    """A storable value in every column, long enough that ``mask`` would show only its tail."""
    values = {name: f"{name}-value-0123456789abcdef" for name in COLUMN_NAMES}
    values["expiry_time"] = valid_expiry()
    values["redirect_url"] = "https://example.com/callback-0123456789"
    return values


def test_every_column_declares_a_role_or_is_a_declared_lookup_hash() -> None:
    hashes = hash_columns()
    for column in TOKEN_TABLE.columns:
        if column_role(column) is None:
            assert column.name in hashes.values(), f"{column.name} declares no role"
    assert set(hashes.values()) <= set(TOKEN_TABLE.c.keys())
    assert tuple(ROLES) == COLUMN_NAMES  # the token's own values, in the table's order
    assert with_role("credential") <= set(hashes)  # every credential can be found by its hash
    assert set(hashes) <= with_role("encrypted") <= with_role("secret")
    for name in ("other_tokens", "oauthtoken"):  # a table under another name has the same roles
        renamed = token_table(name)
        roles = {c.name: column_role(c) for c in renamed.columns if column_role(c)}
        assert roles == {**ROLES, **FAILURE_ROLES}


def test_the_refresh_failure_columns_are_never_secret_and_never_part_of_a_token() -> None:
    assert tuple(FAILURE_ROLES) == REFRESH_FAILURE_COLUMNS
    assert FAILURE_ROLES  # refresh-ahead remembers failures (revision 0005)
    assert not set(FAILURE_ROLES) & set(COLUMN_NAMES)
    for name, role in FAILURE_ROLES.items():
        assert role == ColumnRole(refresh_failure=True), name


def test_a_token_row_has_exactly_the_model_columns() -> None:
    hints = get_type_hints(TokenRow)
    assert tuple(hints) == COLUMN_NAMES
    assert hints == {"id": str, **{c: str | None for c in COLUMN_NAMES if c != "id"}}
    with_hashes = {**every_value_long(), **dict.fromkeys(hash_columns().values(), "h")}
    assert tuple(token_row(with_hashes)) == COLUMN_NAMES


def test_the_codec_moves_and_validates_exactly_the_model_columns() -> None:
    assert tuple(token_values_unchecked(make_token())) == COLUMN_NAMES
    for name, role in ROLES.items():
        column = TOKEN_TABLE.c[name]
        limit = role.value_length or column.type.length  # type: ignore[attr-defined]
        assert COLUMN_LENGTHS[name] == limit
        assert value_problem(name, "x" * limit) is None
        assert f"{name} holds at most {limit}" in str(value_problem(name, "x" * (limit + 1)))


def test_a_store_table_encrypts_and_hashes_exactly_the_declared_columns() -> None:
    table = keyed_table(TOKEN_TABLE, TokenCipher([KEY_1]))
    encrypted = {c.name for c in table.columns if isinstance(c.type, EncryptedString)}
    assert encrypted == with_role("encrypted")
    written = with_lookup_hashes(table, dict.fromkeys(COLUMN_NAMES, "value"))
    assert set(written) - set(COLUMN_NAMES) == set(hash_columns().values())


def test_the_store_encrypts_exactly_the_encrypted_role(db_url: URL) -> None:
    values = every_value_long()
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        store.save_token(make_token(**values))
        assert fields_of(store.find_token_by_id(values["id"])) == values
    [row] = raw_rows(db_url)
    assert {c for c in COLUMN_NAMES if looks_encrypted(row[c])} == with_role("encrypted")
    assert all(row[c] == values[c] for c in COLUMN_NAMES if c not in with_role("encrypted"))
    assert {c for c, h in hash_columns().items() if row[h] is not None} == set(hash_columns())


def test_tokens_masks_exactly_the_secret_role(
    db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    values = every_value_long()
    with SQLAlchemyTokenStore(db_url, refresh_ahead=False) as store:
        store.save_token(make_token(**values))
    capsys.readouterr()
    assert main(["tokens", "--url", url_arg(db_url), "--json"]) == 0
    [shown] = json.loads(capsys.readouterr().out)
    assert set(shown) == {*COLUMN_NAMES, "refresh_failure"}
    assert shown["refresh_failure"] is None
    masked = {c for c in COLUMN_NAMES if shown[c] != values[c]}
    assert masked == with_role("secret")
    assert all(shown[c] == f"***{values[c][-4:]}" for c in masked)


def test_import_reads_exactly_the_model_columns(db_url: URL, empty_db_url: URL) -> None:
    assert tuple("redirect_url" if c == "redirect_uri" else c for c in FILESTORE_HEADER) == (
        COLUMN_NAMES
    )
    # A source table with one more column than the model: the import ignores it.
    create_table(empty_db_url, sql=WIDE_TABLE_SQL)
    engine = sa.create_engine(empty_db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("ALTER TABLE oauthtoken ADD extra_note varchar(20)")
        values = every_value_long()
        columns = ", ".join([*values, "extra_note"])
        marks = ", ".join(f":{c}" for c in [*values, "extra_note"])
        connection.execute(
            sa.text(f"INSERT INTO oauthtoken ({columns}) VALUES ({marks})"),
            {**values, "extra_note": "not a token column"},
        )
    engine.dispose()
    [source_row] = read_table(url_arg(empty_db_url)).rows
    assert tuple(source_row.values) == COLUMN_NAMES
    with SQLAlchemyTokenStore(db_url, refresh_ahead=False) as store:
        store.save_token(make_token(**values))
        [target_row] = target_rows(store)
    assert tuple(target_row) == COLUMN_NAMES
