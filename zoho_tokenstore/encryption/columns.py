"""Encrypted columns as a SQLAlchemy column type, so no statement can skip encryption, and the
statement pieces that go with them: keyed-hash lookups and writes (docs/encryption.md)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    MetaData,
    String,
    Table,
    bindparam,
    or_,
    select,
    type_coerce,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from ..core.model import (
    ENCRYPTED_COLUMNS,
    HASHED_COLUMNS,
    NAMING_CONVENTION,
    OAuthTokenRow,
    column_role,
    hash_column,
    row_class_for_table,
    token_table,
)
from .cipher import TokenCipher, UnreadableValue, looks_encrypted


class EncryptedString(TypeDecorator[str]):
    """A ``String`` stored as Fernet tokens under the store's keys; without keys values pass
    through, but a stored Fernet token raises ``UnreadableValue`` rather than reach the SDK."""

    impl = String
    cache_ok = True

    def __init__(self, length: int, cipher: TokenCipher | None) -> None:
        super().__init__(length)
        self.cipher = cipher

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Encrypt under the newest key (nothing to do without keys)."""
        if value is None or self.cipher is None:
            return value
        return self.cipher.encrypt(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        """Decrypt; values written in plaintext (before encryption) read as they are."""
        if value is None:
            return None
        if self.cipher is None:
            if looks_encrypted(value):
                raise UnreadableValue(())
            return value
        return self.cipher.decrypt(value)

    @property
    def python_type(self) -> type[str]:
        return str


def keyed_table(table: Table, cipher: TokenCipher | None) -> Table:
    """A copy of ``table`` for one store's statements (never created: no indexes or constraints),
    with the same columns and roles, the ``encrypted`` ones under ``cipher``."""
    columns = [
        Column(
            c.name,
            EncryptedString(int(c.type.length), cipher)  # type: ignore[attr-defined]
            if (role := column_role(c)) is not None and role.encrypted
            else c.type,
            primary_key=c.primary_key,
            nullable=c.nullable,
            info=dict(c.info),
        )
        for c in table.columns
    ]
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    return Table(table.name, metadata, *columns)


def keyed_row_class(table_name: str, cipher: TokenCipher | None) -> type[OAuthTokenRow]:
    """A mapped class for one store: the model's class for ``table_name``, its encrypted columns
    carrying ``cipher`` (derived with ``model.row_class_for_table``; one per store, as keys are)."""
    table = keyed_table(token_table(table_name), cipher)
    return row_class_for_table(table, f"OAuthTokenRow_{table.name}_{uuid.uuid4().hex}")


def cipher_of(table: Table) -> TokenCipher | None:
    """The cipher a store's table encrypts with: its encrypted columns' (``None`` without keys)."""
    for column in table.columns:
        if isinstance(column.type, EncryptedString):
            return column.type.cipher
    return None


def credential_match(table: Table, column: str, name: str) -> ColumnElement[bool]:
    """Finds a row by a credential's plaintext in one indexed statement: its keyed hash under
    each key, or the value for rows written before encryption (params: ``credential_params``)."""
    plain = type_coerce(table.c[column], String()) == bindparam(name, type_=String())
    cipher = cipher_of(table)
    if cipher is None:
        return plain
    hashes = [bindparam(f"{name}_h{n}", type_=String()) for n in range(cipher.key_count)]
    return or_(table.c[hash_column(column)].in_(hashes), plain)


def credential_params(table: Table, name: str, value: str) -> dict[str, str | None]:
    """The bound values for ``credential_match(table, column, name)`` looking for ``value``."""
    cipher = cipher_of(table)
    if cipher is None:
        return {name: value}
    # A value shaped like ciphertext is never compared with stored ciphertext as if it were a token.
    params: dict[str, str | None] = {name: None if looks_encrypted(value) else value}
    for n, digest in enumerate(cipher.lookup_hashes(value)):
        params[f"{name}_h{n}"] = digest
    return params


def with_lookup_hashes(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` plus the keyed hash of every credential they set (NULL without keys); every
    write of a credential goes through this, so a hash never points at a replaced value."""
    cipher = cipher_of(table)
    result = dict(values)
    for column in HASHED_COLUMNS:
        if column in values:
            value = values[column]
            digest = cipher.lookup_hash(value) if cipher is not None and value else None
            result[hash_column(column)] = digest
    return result


def unreadable_row_id(
    connection: Connection,
    table: Table,
    where: ColumnElement[bool] | None,
    params: Mapping[str, Any],
) -> str | None:
    """The id of the first row matching ``where`` that the table's cipher cannot open: for the
    error path, as the ``UnreadableValue`` raised in result processing cannot say which row."""
    cipher = cipher_of(table)
    raw = [type_coerce(table.c[name], String()).label(name) for name in ENCRYPTED_COLUMNS]
    query = select(table.c.id, *raw).order_by(table.c.id)
    if where is not None:
        query = query.where(where)
    for row in connection.execute(query, dict(params)).mappings():
        for name in ENCRYPTED_COLUMNS:
            value = row[name]
            if value is None:
                continue
            if (cipher is None and looks_encrypted(value)) or (
                cipher is not None and not cipher.opens(value)
            ):
                return str(row["id"])
    return None
