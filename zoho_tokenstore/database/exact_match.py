"""Whether lookups on a token table are exact (case and trailing spaces count), asked of the
database itself, so one user's lookup never finds another's token (docs/engines.md)."""

from __future__ import annotations

from typing import Final

from sqlalchemy import (
    Connection,
    column,
    distinct,
    false,
    func,
    inspect,
    literal_column,
    select,
    text,
    union_all,
)
from sqlalchemy import table as sa_table
from sqlalchemy.sql import Executable

from ..core.model import LOOKUP_COLUMNS

#: Values an exact column tells apart: three distinct values, however the column compares.
_PROBES: Final = ("a", "A", "a ")

#: Collations that are binary and NO PAD, the exact ones (``zoho_tokenstore_0002`` sets them).
MARIADB_COLLATION: Final = "utf8mb4_nopad_bin"
MYSQL_8_COLLATION: Final = "utf8mb4_0900_bin"


def exact_match_problem(connection: Connection, table_name: str) -> str | None:
    """What makes lookups on ``table_name`` inexact, with the fix; ``None`` if they are exact or
    the table is missing (the schema check reports that)."""
    if not inspect(connection).has_table(table_name):
        return None
    present = _column_types(connection, table_name)
    lookup: list[str] = [name for name in LOOKUP_COLUMNS if name in present]
    if not lookup:
        return None
    inexact = [name for name in lookup if present[name] in ("char", "binary")]  # MySQL pads these
    counts = connection.execute(_probe_query(table_name, lookup)).one()
    inexact += [name for name, count in zip(lookup, counts, strict=True) if count != len(_PROBES)]
    if not inexact:
        return None
    names = ", ".join(sorted(set(inexact), key=lookup.index))
    return (
        f"lookups on the table {table_name!r} are not exact: the column(s) {names} treat values "
        "that differ only in case or trailing spaces as equal, so one user's token could be "
        f"found or overwritten for another; fix: {_fix(connection, table_name)}"
    )


def exact_mysql_collation(connection: Connection) -> str | None:
    """The binary NO PAD utf8mb4 collation of this MySQL/MariaDB server; ``None`` before MySQL 8."""
    dialect = connection.dialect
    if getattr(dialect, "is_mariadb", False):
        return MARIADB_COLLATION
    version = getattr(dialect, "server_version_info", None) or (0,)
    return MYSQL_8_COLLATION if version >= (8,) else None


def _column_types(connection: Connection, table_name: str) -> dict[str, str]:
    """Column name -> lower-case type name; on MySQL/MariaDB from ``information_schema``."""
    if connection.dialect.name in ("mysql", "mariadb"):
        rows = connection.execute(
            text(
                "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table"
            ),
            {"table": table_name},
        )
        return {str(name): str(kind).lower() for name, kind in rows}
    # Elsewhere only the names matter: the probe sees CHAR padding (PostgreSQL) by itself.
    return {str(c["name"]): "" for c in inspect(connection).get_columns(table_name)}


def _probe_query(table_name: str, lookup: list[str]) -> Executable:
    """``SELECT count(DISTINCT c) ...`` over the columns' own comparison of the probe values."""
    table = sa_table(table_name, *(column(name) for name in lookup))
    no_rows = select(*(table.c[name] for name in lookup)).where(false())
    # Untyped literals: the UNION gives them the column's type and collation (citext stays citext).
    compared = union_all(
        no_rows,
        *(
            select(*(literal_column(f"'{value}'").label(name) for name in lookup))
            for value in _PROBES
        ),
    ).subquery("probe")
    return select(*(func.count(distinct(compared.c[name])) for name in lookup))


def _fix(connection: Connection, table_name: str) -> str:
    dialect = connection.dialect.name
    if dialect in ("mysql", "mariadb"):
        collation = exact_mysql_collation(connection)
        if collation is None:
            return (
                "MySQL before 8.0 has no exact (binary, NO PAD) utf8mb4 collation; "
                "use MySQL 8.0+ or MariaDB 10.2+"
            )
        return (
            f"`ALTER TABLE {table_name} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}` "
            "(with CHAR columns changed to VARCHAR), as `zoho-tokenstore upgrade` does for tables "
            "it created"
        )
    if dialect == "postgresql":
        return (
            "make them VARCHAR columns with a deterministic collation (not citext, CHAR or a "
            f'nondeterministic collation), e.g. `ALTER TABLE {table_name} ALTER COLUMN user_name TYPE varchar(512) COLLATE "default"`'
        )
    return (
        "SQLite cannot change a column's collation: rename the table, create it anew with "
        "`zoho-tokenstore upgrade` (no NOCASE or RTRIM collation) and copy the rows across"
    )


__all__ = ["exact_match_problem", "exact_mysql_collation"]
