"""Reads and edits a test database directly, bypassing the store: what tests check the store against."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.engine import URL

from pgbouncer import direct_url
from zoho_tokenstore.core.model import (
    COLUMN_NAMES,
    REFRESH_FAILURE_COLUMNS,
    TABLE_NAME,
    owned_tables,
    token_table,
)


@contextmanager
def _engine(url: URL) -> Iterator[sa.Engine]:
    """A plain engine of the test's own (not the store's), disposed afterwards.

    Behind PgBouncer it reaches PostgreSQL directly: psycopg's prepared reads bypass PgBouncer.
    """
    engine = sa.create_engine(direct_url(url))
    try:
        yield engine
    finally:
        engine.dispose()


def table_names(url: URL) -> set[str]:
    """The names of every table in the database."""
    with _engine(url) as engine:
        return set(sa.inspect(engine).get_table_names())


def schema_differences(url: URL, table_name: str = TABLE_NAME) -> list[object]:
    """What Alembic's autogenerate finds between the model of ``table_name`` and that table (and
    its refresh lease table)."""

    def only_this_table(name: str | None, type_: str, _parents: Mapping[str, object]) -> bool:
        return type_ != "table" or name in owned_tables(table_name)

    with _engine(url) as engine, engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": only_this_table}
        )
        return list(compare_metadata(context, token_table(table_name).metadata))


def read_rows(url: URL, table_name: str = TABLE_NAME) -> list[dict[str, object]]:
    """The token table's rows as dicts, ordered by id, read on a fresh connection.

    The token's own columns only: the lookup-hash columns are the store's business (encryption).
    """
    table = token_table(table_name)
    columns = [table.c[name] for name in COLUMN_NAMES]
    with _engine(url) as engine, engine.connect() as connection:
        result = connection.execute(sa.select(*columns).order_by(table.c.id))
        return [dict(row) for row in result.mappings()]


def insert_row(url: URL, values: Mapping[str, str | None], table_name: str = TABLE_NAME) -> None:
    """Insert one row as given (SQLAlchemy Core, no store): a row some other program wrote."""
    table = token_table(table_name)
    with _engine(url) as engine, engine.begin() as connection:
        connection.execute(sa.insert(table).values(dict(values)))


def set_stored_expiry(url: URL, token_id: str, expiry_ms: int | str) -> None:
    """Write a row's expiry directly, as the passing of time would."""
    table = token_table()
    with _engine(url) as engine, engine.begin() as connection:
        connection.execute(
            sa.update(table).where(table.c.id == token_id).values(expiry_time=str(expiry_ms))
        )


def refresh_failure_columns(url: URL, token_id: str) -> dict[str, object]:
    """The row's refresh failure columns as stored (all ``None`` when no failure is remembered)."""
    table = token_table()
    columns = [table.c[name] for name in REFRESH_FAILURE_COLUMNS]
    with _engine(url) as engine, engine.connect() as connection:
        found = connection.execute(sa.select(*columns).where(table.c.id == token_id)).mappings()
        return dict(found.one())


def set_refresh_failure_columns(url: URL, token_id: str, **values: object) -> None:
    """Write a row's refresh failure columns directly: time passing, or another worker's failure."""
    table = token_table()
    with _engine(url) as engine, engine.begin() as connection:
        connection.execute(sa.update(table).where(table.c.id == token_id).values(values))


def version_nums(url: URL, version_table: str) -> list[str]:
    """The revision ids a version table records."""
    with _engine(url) as engine, engine.connect() as connection:
        return list(
            connection.exec_driver_sql(f"SELECT version_num FROM {version_table}").scalars()
        )
