"""Carries out a plan in ONE transaction on the store's own engine: every planned row lands, or none.

``SQLAlchemyTokenStore.save_token`` locates and writes one row at a time (three statements per row):
100,000 rows took 200 s on SQLite. The plan has already located every row, so this writes them in
batches of executemany ``INSERT``/``UPDATE`` statements on the store's writer engine and table,
inside one transaction, reporting progress between batches. Every credential written gets its keyed
lookup hash (``with_lookup_hashes``), as in the store's own saves, so an encrypted store finds it. The values were validated by the
store's own ``value_problem`` while planning; the table's primary key and unique ``user_name`` still
guard against a row written by someone else meanwhile (the whole import then rolls back).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy import exc as sa_exc

from ..core.codec import Values
from ..core.errors import database_error
from ..core.model import COLUMN_NAMES, TokenRow, token_row, token_table
from ..database.profile import EngineProfile
from ..encryption.cipher import UnreadableValue, unreadable_row_error
from ..encryption.columns import unreadable_row_id, with_lookup_hashes
from ..store.token_store import SQLAlchemyTokenStore
from .plan import Plan, Write

#: Rows per executemany call; progress is reported after each.
BATCH_ROWS: Final = 2000

#: ``progress(done, total)`` after each batch written.
Progress = Callable[[int, int], None]


def store_table(store: SQLAlchemyTokenStore, table_name: str) -> Table:
    """The store's own table object, so statements built on it get whatever its columns do.

    A store whose columns carry a type of their own (encryption as a ``TypeDecorator``) then
    encrypts the imported values and decrypts the target's rows here too. Falls back to the
    model's table for the name.
    """
    table = getattr(store, "_table", None)
    return table if isinstance(table, Table) else token_table(table_name)


def target_rows(store: SQLAlchemyTokenStore, table_name: str) -> list[TokenRow]:
    """The target table's rows as they stand, read in one statement (the plan is made against them).

    Encrypted values are decrypted on read, so the plan compares plaintext with plaintext. A row the
    store's keys cannot open (or any encrypted row, for a store without keys) raises the store's
    ``SDKException(TOKEN_STORE)`` naming the row and the keys tried, never a value.
    """
    table = store_table(store, table_name)
    try:
        with store.engine.connect() as connection:
            try:
                result = connection.execute(select(*(table.c[name] for name in COLUMN_NAMES)))
                return [token_row(row) for row in result.mappings()]
            except UnreadableValue as exc:
                row_id = unreadable_row_id(connection, table, None, {})
                raise unreadable_row_error("import", row_id, exc.fingerprints) from exc
    except sa_exc.SQLAlchemyError as exc:
        raise database_error("reading the target table", exc) from exc


def apply_plan(
    store: SQLAlchemyTokenStore, table_name: str, plan: Plan, progress: Progress | None = None
) -> None:
    """Write the plan's inserts and updates in one transaction; on any error nothing is written."""
    if not plan.changes:
        return
    table = store_table(store, table_name)
    total = plan.changes
    done = 0
    try:
        with EngineProfile.of(store.engine).begin() as connection:
            for batch in _batches(plan.inserts):
                rows = [with_lookup_hashes(table, write.values) for write in batch]
                connection.execute(insert(table), rows)
                done += len(batch)
                if progress is not None:
                    progress(done, total)
            for batch in _batches(plan.updates):
                _update(connection, table, [write.values for write in batch])
                done += len(batch)
                if progress is not None:
                    progress(done, total)
    except sa_exc.SQLAlchemyError as exc:
        raise database_error("import (nothing was written)", exc) from exc


def _update(connection: Connection, table: Table, rows: list[Values]) -> None:
    """Update rows by id; a ``None`` value leaves the stored one alone, as ``save_token`` does.

    Each credential set gets its lookup hash too (``with_lookup_hashes``; NULL without keys).
    """
    by_columns: dict[tuple[str, ...], list[dict[str, str | None]]] = {}
    for values in rows:
        changes = with_lookup_hashes(
            table, {c: values[c] for c in COLUMN_NAMES if c != "id" and values[c] is not None}
        )
        columns = tuple(changes)
        params = {f"new_{c}": changes[c] for c in columns}
        params["row_id"] = values["id"]
        by_columns.setdefault(columns, []).append(params)
    for columns, batch in by_columns.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("row_id"))
            .values({c: bindparam(f"new_{c}") for c in columns})
        )
        connection.execute(statement, batch)


def _batches(writes: Sequence[Write]) -> list[Sequence[Write]]:
    return [writes[i : i + BATCH_ROWS] for i in range(0, len(writes), BATCH_ROWS)]
