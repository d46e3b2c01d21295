"""The token and refresh-lease tables as typed SQLAlchemy declarative models: the one source
of the schema and of every column list, from each column's declared role (docs/store-design.md)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any, Final, TypedDict, cast

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

TABLE_NAME: Final = "oauthtoken"

#: The refresh lease table of a token table is named after it with this suffix (see ``RefreshLeaseRow``).
LEASE_SUFFIX: Final = "_refresh_lease"

#: Another table name must be a plain lower-case identifier short enough for every backend's
#: identifier limit once prefixed (MySQL: 64 characters, e.g. its Alembic version table's name).
TABLE_NAME_PATTERN: Final = re.compile(r"[a-z][a-z0-9_]{0,31}")

#: Every constraint and index gets a predictable name, so migrations can refer to it on any backend.
NAMING_CONVENTION: Final = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: The longest value the store accepts in each credential column, in characters.
TOKEN_CHARS: Final = 512
CLIENT_SECRET_CHARS: Final = 255

#: MySQL/MariaDB index only this many leading characters of a credential column (equality still
#: compares whole values); a plaintext Zoho token is about 70 characters.
PLAINTEXT_INDEX_PREFIX: Final = 255


def ciphertext_length(chars: int) -> int:
    """Characters of the Fernet token of a ``chars``-character value (up to 4 UTF-8 bytes each),
    so a credential column is wide enough for the ciphertext of the longest value accepted."""
    # Fernet: version (1) + timestamp (8) + IV (16) + AES-CBC with PKCS7 padding + HMAC (32)
    # bytes, then URL-safe base64 with padding.
    raw = 1 + 8 + 16 + 16 * ((4 * chars) // 16 + 1) + 32
    return 4 * -(-raw // 3)


TOKEN_COLUMN_LENGTH: Final = ciphertext_length(TOKEN_CHARS)  # 2828
CLIENT_SECRET_COLUMN_LENGTH: Final = ciphertext_length(CLIENT_SECRET_CHARS)  # 1444
#: An HMAC-SHA256 in hex.
HASH_LENGTH: Final = 64
#: The longest refresh error code kept (Zoho's codes are short: ``invalid_code``, ``Access Denied``).
REFRESH_ERROR_CHARS: Final = 64


#: The key of ``Column.info`` that holds a token column's ``ColumnRole``.
ROLE_INFO_KEY: Final = "zoho_tokenstore_role"


@dataclass(frozen=True)
class ColumnRole:
    """What the package does with one of the token table's columns, declared once in its ``info``
    (not DDL), so codec, encryption, lookups, display and import cannot forget its rules."""

    #: The longest value the store accepts, in characters (``None``: the column's own length).
    value_length: int | None = None
    #: Shown only masked (``zoho-tokenstore tokens``, the demo).
    secret: bool = False
    #: Stored as a Fernet token when the store has encryption keys.
    encrypted: bool = False
    #: A credential: a token needs at least one to be worth saving or importing.
    credential: bool = False
    #: The store finds rows by this column's value, so it must compare exactly (``exact_match``).
    lookup: bool = False
    #: The column holding this credential's keyed hash, which lookups match when there are keys.
    lookup_hash: str | None = None
    #: Refresh-ahead's record of a failed refresh, not one of the SDK token's fields: never a
    #: secret, never read into an ``OAuthToken``, imported or matched (docs/refresh-coordination.md).
    refresh_failure: bool = False


def _role(role: ColumnRole) -> dict[str, ColumnRole]:
    """The ``info`` of a token column with ``role``."""
    return {ROLE_INFO_KEY: role}


def _credential(lookup_hash: str) -> dict[str, ColumnRole]:
    """The ``info`` of a credential column: secret, encrypted, looked up by its keyed hash."""
    return _role(
        ColumnRole(
            value_length=TOKEN_CHARS,
            secret=True,
            encrypted=True,
            credential=True,
            lookup=True,
            lookup_hash=lookup_hash,
        )
    )


def _plaintext_index(column: str) -> Index:
    """The index of a credential column, for lookups of values written without keys."""
    return Index(
        None,
        column,
        mysql_length={column: PLAINTEXT_INDEX_PREFIX},
        postgresql_using="hash",
    )


class Base(DeclarativeBase):
    """Declarative base whose metadata carries the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class OAuthTokenRow(Base):
    """One user's OAuth credentials, as the SDK's ``OAuthToken`` holds them, in ``DBStore``'s
    columns; ``expiry_time`` stays the SDK's text, so it round-trips exactly."""

    __tablename__ = TABLE_NAME
    __table_args__ = (
        # One row per user; rows without a user name (access-token-only logins) are allowed.
        UniqueConstraint("user_name"),
        # find_token matches by these; each lookup must be an index seek, not a scan.
        Index(None, "access_token_hash"),
        Index(None, "grant_token_hash"),
        Index(None, "refresh_token_hash"),
        _plaintext_index("access_token"),
        _plaintext_index("grant_token"),
        _plaintext_index("refresh_token"),
    )

    id: Mapped[str] = mapped_column(
        String(64), primary_key=True, info=_role(ColumnRole(lookup=True))
    )
    user_name: Mapped[str | None] = mapped_column(String(512), info=_role(ColumnRole(lookup=True)))
    client_id: Mapped[str | None] = mapped_column(String(255), info=_role(ColumnRole()))
    # Encrypted when the store has keys (a Fernet token), plaintext otherwise.
    client_secret: Mapped[str | None] = mapped_column(
        String(CLIENT_SECRET_COLUMN_LENGTH),
        info=_role(ColumnRole(value_length=CLIENT_SECRET_CHARS, secret=True, encrypted=True)),
    )
    refresh_token: Mapped[str | None] = mapped_column(
        String(TOKEN_COLUMN_LENGTH), info=_credential("refresh_token_hash")
    )
    access_token: Mapped[str | None] = mapped_column(
        String(TOKEN_COLUMN_LENGTH), info=_credential("access_token_hash")
    )
    grant_token: Mapped[str | None] = mapped_column(
        String(TOKEN_COLUMN_LENGTH), info=_credential("grant_token_hash")
    )
    # The SDK's epoch milliseconds as text (see ``core.expiry``).
    expiry_time: Mapped[str | None] = mapped_column(String(20), info=_role(ColumnRole()))
    redirect_url: Mapped[str | None] = mapped_column(String(1024), info=_role(ColumnRole()))
    api_domain: Mapped[str | None] = mapped_column(String(255), info=_role(ColumnRole()))
    # HMAC-SHA256 of each credential under a key derived from the newest encryption key (NULL
    # for values written without keys); find_token matches these, never the ciphertext.
    refresh_token_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    access_token_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    grant_token_hash: Mapped[str | None] = mapped_column(String(HASH_LENGTH))
    # The last failed refresh (all NULL when the last one worked or a new token was saved since):
    # Zoho's error code or the failure's kind, when (epoch ms), how many in a row, and when a
    # worker may ask Zoho again (NULL with an error: not before a new token is saved).
    refresh_error: Mapped[str | None] = mapped_column(
        String(REFRESH_ERROR_CHARS), info=_role(ColumnRole(refresh_failure=True))
    )
    refresh_failed_at: Mapped[int | None] = mapped_column(
        BigInteger, info=_role(ColumnRole(refresh_failure=True))
    )
    refresh_failures: Mapped[int | None] = mapped_column(
        Integer, info=_role(ColumnRole(refresh_failure=True))
    )
    refresh_retry_at: Mapped[int | None] = mapped_column(
        BigInteger, info=_role(ColumnRole(refresh_failure=True))
    )

    def __repr__(self) -> str:
        # Never show secrets: only the id, the user and which credentials are present.
        present = [c for c in CREDENTIAL_COLUMNS if getattr(self, c)]
        return f"OAuthTokenRow(id={self.id!r}, user_name={self.user_name!r}, has={present})"


class RefreshLeaseRow(Base):
    """Which worker refreshes one token, and until when others wait; a table of its own so the
    token table keeps ``DBStore``'s columns (docs/refresh-coordination.md)."""

    __tablename__ = TABLE_NAME + LEASE_SUFFIX

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(32))
    #: Epoch milliseconds (the holder's clock) after which another worker may take the lease over.
    expires_at: Mapped[int] = mapped_column(BigInteger)


#: The model's Core table (schema checks, migrations and tests read it; the store queries the class).
TOKEN_TABLE: Final[Table] = OAuthTokenRow.__table__  # type: ignore[assignment]

#: The refresh lease table of ``oauthtoken``; each other token table gets its own copy.
LEASE_TABLE: Final[Table] = RefreshLeaseRow.__table__  # type: ignore[assignment]


def column_role(column: Column[object]) -> ColumnRole | None:
    """The role a column declares in its ``info``; ``None`` for a lookup-hash column."""
    role = column.info.get(ROLE_INFO_KEY)
    return role if isinstance(role, ColumnRole) else None


#: The token's own columns (not the lookup hashes, not the refresh failure) and their roles, in the
#: table's order: the one source of every column list below.
COLUMN_ROLES: Final = MappingProxyType(
    {
        c.name: role
        for c in TOKEN_TABLE.columns
        if (role := column_role(c)) is not None and not role.refresh_failure
    }
)

#: The columns recording the last failed refresh (``refresh.failure`` reads and writes them).
REFRESH_FAILURE_COLUMNS: Final = tuple(
    c.name for c in TOKEN_TABLE.columns if (role := column_role(c)) and role.refresh_failure
)

#: The columns that hold the token's own values, in the table's order: what the store reads into
#: and writes from an ``OAuthToken``, and what every import source provides.
COLUMN_NAMES: Final = tuple(COLUMN_ROLES)


class TokenRow(TypedDict):
    """One stored token's values by column (``COLUMN_NAMES``; a test checks they agree): what the
    store reads, refresh-ahead updates and the tools show."""

    id: str
    user_name: str | None
    client_id: str | None
    client_secret: str | None
    refresh_token: str | None
    access_token: str | None
    grant_token: str | None
    expiry_time: str | None
    redirect_url: str | None
    api_domain: str | None


def token_row(mapping: Mapping[Any, Any]) -> TokenRow:
    """The token's own values of a result row (``RowMapping``) or dict; other columns left out."""
    return cast(TokenRow, {name: mapping[name] for name in COLUMN_NAMES})


def row_values(row: TokenRow) -> Mapping[str, str | None]:
    """``row`` for code that walks ``COLUMN_NAMES`` (each of its values is text or ``None``)."""
    return cast(Mapping[str, str | None], row)


#: The longest value the store accepts in each column, checked before values reach the database.
COLUMN_LENGTHS: Final = {
    name: role.value_length or int(cast(String, TOKEN_TABLE.c[name].type).length or 0)
    for name, role in COLUMN_ROLES.items()
}

#: Columns shown only masked.
SECRET_COLUMNS: Final = tuple(name for name, role in COLUMN_ROLES.items() if role.secret)

#: Columns stored encrypted when the store has keys; the others stay readable, so rows can be
#: listed and expiry checked without keys.
ENCRYPTED_COLUMNS: Final = tuple(name for name, role in COLUMN_ROLES.items() if role.encrypted)

#: Columns that hold credentials; at least one must be present for a token to be worth saving.
CREDENTIAL_COLUMNS: Final = tuple(name for name, role in COLUMN_ROLES.items() if role.credential)

#: Columns the store finds rows by, which must therefore compare exactly.
LOOKUP_COLUMNS: Final = tuple(name for name, role in COLUMN_ROLES.items() if role.lookup)

#: Each credential found by keyed hash, and the column that holds the hash.
LOOKUP_HASH_COLUMNS: Final = MappingProxyType(
    {name: role.lookup_hash for name, role in COLUMN_ROLES.items() if role.lookup_hash is not None}
)

#: The credentials rows are found by through their keyed hash, in the table's order.
HASHED_COLUMNS: Final = tuple(LOOKUP_HASH_COLUMNS)


def hash_column(column: str) -> str:
    """The name of the keyed-hash column of a credential column (its role's ``lookup_hash``)."""
    return LOOKUP_HASH_COLUMNS[column]


def token_row_class(name: str = TABLE_NAME) -> type[OAuthTokenRow]:
    """The mapped class every statement on the token table ``name`` is built from: the model
    itself, or one derived from it for another name (cached per name; docs/store-design.md)."""
    if name == TABLE_NAME:
        return OAuthTokenRow
    if not isinstance(name, str) or not TABLE_NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"table name {name!r} is not a lower-case identifier of at most 32 characters"
        )
    return _renamed_class(name)


def owned_tables(name: str = TABLE_NAME) -> tuple[str, str]:
    """Every table the store keeps for the token table ``name`` (tokens, refresh leases): what a
    host's autogenerate must leave alone and what a schema comparison must cover."""
    return (name, name + LEASE_SUFFIX)


def token_table(name: str = TABLE_NAME) -> Table:
    """The token table under ``name``: the model's own, or a copy whose constraints are named anew."""
    return cast(Table, token_row_class(name).__table__)


def row_class_for_table(table: Table, class_name: str) -> type[OAuthTokenRow]:
    """A subclass of the model mapped to ``table`` (concrete inheritance), whose statements reach
    only ``table``; ``table`` needs a MetaData of its own, and callers cache the class."""
    if table.metadata is OAuthTokenRow.metadata:
        raise ValueError("the table must belong to a MetaData of its own, not the model's")
    attributes = {"__table__": table, "__mapper_args__": {"concrete": True}}
    return cast(type[OAuthTokenRow], type(class_name, (OAuthTokenRow,), attributes))


def lease_row_class(token_class: type[OAuthTokenRow]) -> type[RefreshLeaseRow]:
    """The mapped class of the refresh lease table that belongs to ``token_class``'s table."""
    token = token_class.__table__
    if not isinstance(token, Table):
        raise TypeError(f"{token_class.__name__} is not mapped to a table")
    return RefreshLeaseRow if token.name == TABLE_NAME else _renamed_lease_class(token.name)


@cache
def _renamed_class(name: str) -> type[OAuthTokenRow]:
    return row_class_for_table(_renamed_table(name), f"OAuthTokenRow_{name}")


@cache
def _renamed_lease_class(name: str) -> type[RefreshLeaseRow]:
    lease = _renamed_table(name).metadata.tables[name + LEASE_SUFFIX]
    attributes = {"__table__": lease, "__mapper_args__": {"concrete": True}}
    return cast(
        type[RefreshLeaseRow], type(f"RefreshLeaseRow_{name}", (RefreshLeaseRow,), attributes)
    )


@cache
def _renamed_table(name: str) -> Table:
    """The model's table under another name, in a MetaData of its own so its constraints get names
    of their own from the naming convention; the schema is still modelled once."""
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    columns = [
        Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable, info=dict(c.info))
        for c in TOKEN_TABLE.columns
    ]
    uniques = [
        UniqueConstraint(*(c.name for c in constraint.columns))
        for constraint in TOKEN_TABLE.constraints
        if isinstance(constraint, UniqueConstraint)
    ]
    indexes = [
        Index(
            None,
            *(c.name for c in index.columns),
            unique=bool(index.unique),
            **index.dialect_kwargs,
        )
        for index in TOKEN_TABLE.indexes
    ]
    table = Table(name, metadata, *columns, *uniques, *indexes)
    lease_columns = [
        Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
        for c in LEASE_TABLE.columns
    ]
    Table(name + LEASE_SUFFIX, metadata, *lease_columns)  # the name's refresh lease table
    return table
