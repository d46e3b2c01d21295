"""Locks one token row for the length of a transaction, across threads and processes, per backend.

- PostgreSQL: ``SELECT ... FOR UPDATE``, waiting at most ``lock_timeout`` (set for this transaction only).
- MySQL/MariaDB: ``SELECT ... FOR UPDATE``, waiting at most ``innodb_lock_wait_timeout`` (whole
  seconds), set on the session for this transaction and reset to the server default afterwards.
- SQLite: ``BEGIN IMMEDIATE`` (the database's single write lock), waiting at most ``busy_timeout``.

Every lock belongs to a transaction, so it ends with it: on commit, on rollback, and when a crashed
process's connection closes. Nothing can be left behind.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from sqlalchemy import Connection, Engine, RowMapping, Select, Table, bindparam, func, select, text
from sqlalchemy import exc as sa_exc

from .engine import SQLITE_BUSY_TIMEOUT_SECONDS
from .errors import driver_error_code

#: Driver codes meaning "the lock was not granted in time": PostgreSQL's SQLSTATE, SQLite's name,
#: MySQL/MariaDB's error number (``errors.driver_error_code`` gives each driver's own).
_LOCK_WAIT_CODES: Final = frozenset({"55P03", "SQLITE_BUSY", "1205"})


class LockWaitTimeout(Exception):
    """Another transaction held the row's lock longer than the wait bound."""


LockedRow = tuple[Connection, RowMapping | None]


@contextmanager
def locked_row(engine: Engine, table: Table, row_id: str, timeout_s: float) -> Iterator[LockedRow]:
    """Lock the row ``row_id`` and yield ``(connection, row as it is now)``; commit on exit.

    The row is re-read under the lock, so it shows any change the previous holder committed. An
    exception in the block rolls back. Raises ``LockWaitTimeout`` when the wait exceeds ``timeout_s``.
    """
    by_id = select(table).where(table.c.id == bindparam("row_id"))
    name = engine.dialect.name
    if name == "sqlite":  # the whole database is locked, so a plain read under it will do
        strategy, query = _sqlite, by_id
    elif name in ("mysql", "mariadb"):
        strategy, query = _mysql, by_id.with_for_update()
    else:  # FOR UPDATE + a transaction-local wait bound
        strategy, query = _postgresql, by_id.with_for_update()
    with strategy(engine, query, row_id, timeout_s) as locked:
        yield locked


def _is_lock_wait(exc: sa_exc.SQLAlchemyError) -> bool:
    if driver_error_code(exc) in _LOCK_WAIT_CODES:
        return True
    # Python < 3.11 has no sqlite_errorname; SQLite's busy error says this.
    return "database is locked" in str(getattr(exc, "orig", ""))


@contextmanager
def _postgresql(
    engine: Engine, query: Select[Any], row_id: str, timeout_s: float
) -> Iterator[LockedRow]:
    milliseconds = max(1, math.ceil(timeout_s * 1000))
    with engine.connect() as connection, connection.begin():
        # is_local=true: the bound lasts for this transaction only, like SET LOCAL.
        connection.execute(select(func.set_config("lock_timeout", f"{milliseconds}ms", True)))
        yield connection, _read_locked(connection, query, row_id)


@contextmanager
def _mysql(
    engine: Engine, query: Select[Any], row_id: str, timeout_s: float
) -> Iterator[LockedRow]:
    with engine.connect() as connection:
        # A session setting (MySQL has no per-transaction form), so it is reset below.
        connection.execute(
            text("SET SESSION innodb_lock_wait_timeout = :seconds"),
            {"seconds": max(1, math.ceil(timeout_s))},
        )
        connection.commit()
        try:
            with connection.begin():
                yield connection, _read_locked(connection, query, row_id)
        finally:
            _reset_session(connection, "SET SESSION innodb_lock_wait_timeout = DEFAULT")


@contextmanager
def _sqlite(
    engine: Engine, query: Select[Any], row_id: str, timeout_s: float
) -> Iterator[LockedRow]:
    with engine.connect() as connection:
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {max(1, math.ceil(timeout_s * 1000))}")
        connection.commit()
        try:
            with connection.begin():
                # pysqlite runs without implicit transactions here (engine.py), so this statement
                # opens the real one: SQLite's single write lock, waited for up to busy_timeout.
                try:
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                except sa_exc.OperationalError as exc:
                    if _is_lock_wait(exc):
                        raise LockWaitTimeout("the SQLite write lock was busy") from exc
                    raise
                yield connection, connection.execute(query, {"row_id": row_id}).mappings().first()
        finally:
            busy_ms = int(SQLITE_BUSY_TIMEOUT_SECONDS * 1000)
            _reset_session(connection, f"PRAGMA busy_timeout = {busy_ms}")


def _read_locked(connection: Connection, query: Any, row_id: str) -> RowMapping | None:
    try:
        return connection.execute(query, {"row_id": row_id}).mappings().first()
    except sa_exc.DBAPIError as exc:
        if _is_lock_wait(exc):
            raise LockWaitTimeout("the token row stayed locked") from exc
        raise


def _reset_session(connection: Connection, statement: str) -> None:
    """Undo a session setting; a connection that cannot is dropped rather than pooled with it."""
    try:
        connection.exec_driver_sql(statement)
        connection.commit()
    except sa_exc.SQLAlchemyError:
        connection.invalidate()
