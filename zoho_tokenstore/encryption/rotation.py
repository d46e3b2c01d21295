"""Rewrites every row under the newest key (first encryption, each rotation) or back to
plaintext, in short conditional batches, safe while the table is in use (docs/encryption.md)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, func, select, update

from ..core.model import ENCRYPTED_COLUMNS, HASHED_COLUMNS, hash_column, token_table
from ..database.profile import EngineProfile
from .cipher import TokenCipher, UnreadableValue, unreadable_row_error

DEFAULT_BATCH_SIZE: Final = 100
#: The longest pause between two batches on SQLite (see ``rewrite_rows``).
SQLITE_PAUSE_MAX_S: Final = 0.2
#: A row that keeps changing under concurrent saves is retried this often, then left for a re-run.
ROW_ATTEMPTS: Final = 5


@dataclass
class RewriteProgress:
    """How far a rewrite got: rows looked at, rows rewritten, rows left for a re-run."""

    total: int
    checked: int = 0
    rewritten: int = 0
    #: Rows an application saved between our read and our write: read again and retried.
    retried: int = 0
    left_ids: list[str] = field(default_factory=list)


def rewrite_rows(
    engine: Engine,
    cipher: TokenCipher,
    *,
    table_name: str | None = None,
    decrypt: bool = False,
    batch_size: int = DEFAULT_BATCH_SIZE,
    on_batch: Callable[[RewriteProgress], None] | None = None,
) -> RewriteProgress:
    """Rewrite each row under ``cipher``'s newest key (or, with ``decrypt``, to plaintext),
    calling ``on_batch`` after each committed batch; a row no key opens stops the run, naming it."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    table = token_table(table_name) if table_name else token_table()
    profile = EngineProfile.of(engine)
    with engine.connect() as connection:
        total = int(connection.execute(select(func.count()).select_from(table)).scalar_one())
    progress = RewriteProgress(total=total)
    last_id: str | None = None
    sqlite = engine.dialect.name == "sqlite"
    while True:
        retry: list[str] = []
        started = time.monotonic()
        with profile.begin() as connection:
            query = select(*_raw_columns(table)).order_by(table.c.id).limit(batch_size)
            if last_id is not None:
                query = query.where(table.c.id > last_id)
            batch = connection.execute(query).mappings().all()
            for row in batch:
                outcome = _rewrite_row(connection, table, cipher, row, decrypt)
                if outcome is None:
                    retry.append(str(row["id"]))
                progress.rewritten += int(bool(outcome))
        if not batch:
            return progress
        last_id = str(batch[-1]["id"])
        progress.retried += len(retry)
        for row_id in retry:  # an application saved it meanwhile: again, under the row's lock
            _retry_row(profile, table, cipher, row_id, decrypt, progress)
        progress.checked += len(batch)
        if on_batch is not None:
            on_batch(progress)
        if sqlite:
            # SQLite has one write lock, and waiting writers poll for it: leave them a gap as long
            # as the batch held it, so applications' saves are not starved by a long rewrite.
            time.sleep(min(SQLITE_PAUSE_MAX_S, time.monotonic() - started))


def _retry_row(
    profile: EngineProfile,
    table: Table,
    cipher: TokenCipher,
    row_id: str,
    decrypt: bool,
    progress: RewriteProgress,
) -> None:
    # FOR UPDATE (PostgreSQL, MySQL/MariaDB; SQLite's writer holds the database lock anyway):
    # a row that an application saves on every call cannot change between our read and write.
    for _ in range(ROW_ATTEMPTS):
        with profile.begin() as connection:
            query = select(*_raw_columns(table)).where(table.c.id == row_id).with_for_update()
            row = connection.execute(query).mappings().first()
            if row is None:
                return  # deleted meanwhile: nothing to rewrite
            outcome = _rewrite_row(connection, table, cipher, row, decrypt)
        if outcome is not None:
            progress.rewritten += int(outcome)
            return
    progress.left_ids.append(row_id)


def _raw_columns(table: Table) -> list[Any]:
    """The columns a rewrite reads, as stored (the schema table has plain ``String`` columns)."""
    names = ["id", *ENCRYPTED_COLUMNS, *(hash_column(c) for c in HASHED_COLUMNS)]
    return [table.c[name] for name in names]


def _rewrite_row(
    connection: Connection,
    table: Table,
    cipher: TokenCipher,
    row: Mapping[Any, Any],
    decrypt: bool,
) -> bool | None:
    """Rewrite one row as read: ``True`` if rewritten, ``False`` if already done, ``None`` if the
    row changed since it was read (the conditional UPDATE matched nothing)."""
    row_id = str(row["id"])
    changes: dict[str, str | None] = {}
    plaintexts: dict[str, str | None] = {}
    for column in ENCRYPTED_COLUMNS:
        stored = row[column]
        if stored is None:
            plaintexts[column] = None
            continue
        try:
            plain = cipher.decrypt(stored)
        except UnreadableValue as exc:
            raise unreadable_row_error("rewriting the tokens", row_id, exc.fingerprints) from exc
        plaintexts[column] = plain
        if decrypt:
            if plain != stored:
                changes[column] = plain
        elif not cipher.is_current(stored):
            changes[column] = cipher.encrypt(plain)
    for column in HASHED_COLUMNS:
        value = plaintexts[column]
        wanted = cipher.lookup_hash(value) if value and not decrypt else None
        if row[hash_column(column)] != wanted:
            changes[hash_column(column)] = wanted
    if not changes:
        return False
    unchanged = [
        table.c[column].is_(None) if row[column] is None else table.c[column] == row[column]
        for column in ENCRYPTED_COLUMNS
    ]
    statement = update(table).where(table.c.id == row_id, *unchanged).values(changes)
    return True if connection.execute(statement).rowcount == 1 else None


def refresh_statistics(engine: Engine, table_name: str | None = None) -> None:
    """Re-analyze the table after a rewrite, whose hash columns went from all NULL to all
    distinct, so the planner uses the hash index for a lookup by token (docs/encryption.md)."""
    table = token_table(table_name) if table_name else token_table()
    name = engine.dialect.identifier_preparer.quote(table.name)
    statement = {
        "sqlite": f"ANALYZE {name}",
        "postgresql": f"ANALYZE {name}",
    }.get(engine.dialect.name, f"ANALYZE TABLE {name}")
    with EngineProfile.of(engine).begin() as connection:
        result = connection.exec_driver_sql(statement)
        if result.returns_rows:  # MySQL/MariaDB answer with a status table
            result.all()


def scrub_sqlite(engine: Engine) -> bool | None:
    """On SQLite, drop the old values a rewrite left in freed pages and the WAL; whether the WAL
    could be emptied, or ``None`` on servers (their old row versions: docs/encryption.md)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        # pysqlite runs without implicit transactions on our engines (engine.py): VACUUM may run.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.exec_driver_sql("VACUUM")
        result = connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").first()
        connection.commit()
    return result is None or int(result[0]) == 0  # (busy, log frames, checkpointed frames)


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "RewriteProgress",
    "refresh_statistics",
    "rewrite_rows",
    "scrub_sqlite",
]
