"""Carries out a plan in ONE transaction on the store's own engine and table: every planned row
lands, or none; in executemany batches, as ``save_token`` row by row was too slow (importing.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy import Connection, Table, bindparam, insert, select, update
from sqlalchemy import exc as sa_exc

from ..core.codec import Values
from ..core.errors import database_error
from ..core.model import COLUMN_NAMES, TokenRow, token_row
from ..database.profile import EngineProfile
from ..encryption.cipher import UnreadableValue, unreadable_row_error
from ..encryption.columns import unreadable_row_id, with_lookup_hashes
from ..refresh.failure import with_failure_cleared
from ..store.token_store import SQLAlchemyTokenStore
from .plan import Plan, Write

#: Rows per executemany call; progress is reported after each.
BATCH_ROWS: Final = 2000

#: ``progress(done, total)`` after each batch written.
Progress = Callable[[int, int], None]


def target_rows(store: SQLAlchemyTokenStore) -> list[TokenRow]:
    """The target table's rows, decrypted, in one statement, for the plan to compare with; a row the
    keys cannot open raises the store's error naming the row and the keys tried, never a value."""
    table = store.table
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


def apply_plan(store: SQLAlchemyTokenStore, plan: Plan, progress: Progress | None = None) -> None:
    """Write the plan's inserts and updates in one transaction; on any error nothing is written."""
    if not plan.changes:
        return
    table = store.table
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
    """Update rows by id as ``save_token`` does: credentials with their lookup hashes, a ``None``
    value leaving the stored one alone, a grant or refresh token clearing a refresh failure."""
    by_columns: dict[tuple[str, ...], list[dict[str, str | None]]] = {}
    for values in rows:
        changes = with_failure_cleared(
            with_lookup_hashes(
                table, {c: values[c] for c in COLUMN_NAMES if c != "id" and values[c] is not None}
            )
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
