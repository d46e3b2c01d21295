"""Serializes schema upgrades in the database itself, so replicas that start at once migrate one
after another: PostgreSQL's advisory lock, MySQL's ``GET_LOCK``, SQLite's write lock (docs/schema.md)."""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from typing import Any, Final

from sqlalchemy import Connection, text
from sqlalchemy import exc as sa_exc

from ..core.errors import TokenStoreError, driver_error_code, store_error
from .profile import EngineProfile

#: How long a migration waits for another process's upgrade of the same table before giving up.
UPGRADE_LOCK_TIMEOUT_SECONDS: Final = 300

#: MySQL/MariaDB refuse longer ``GET_LOCK`` names.
_MYSQL_LOCK_NAME_LIMIT: Final = 64
#: PostgreSQL's SQLSTATE for a lock wait that reached ``lock_timeout``.
_LOCK_NOT_AVAILABLE: Final = "55P03"


def lock_name(table_name: str, database: str = "") -> str:
    """The lock of one token table's migrations: tables of other names never wait for it."""
    name = f"zoho_tokenstore upgrade {database + '.' if database else ''}{table_name}"
    if len(name) <= _MYSQL_LOCK_NAME_LIMIT:
        return name
    return "zoho_tokenstore upgrade " + hashlib.sha256(name.encode()).hexdigest()[:32]


def advisory_key(table_name: str) -> int:
    """The PostgreSQL advisory lock key (a signed 64-bit integer) of ``lock_name(table_name)``;
    PostgreSQL scopes advisory locks to the current database."""
    digest = hashlib.sha256(lock_name(table_name).encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


@contextmanager
def locked_transaction(profile: EngineProfile, table_name: str) -> Iterator[Connection]:
    """A connection in a write transaction of ours that holds the table's upgrade lock from before
    its first read until after its commit; migrations read the version only once inside."""
    with profile.engine.connect() as connection, ExitStack() as stack:
        if profile.backend in ("mysql", "mariadb"):
            stack.enter_context(_mysql_lock(connection, table_name, own_connection=True))
        elif profile.backend == "sqlite":
            stack.enter_context(_sqlite_wait(connection))
        try:
            stack.enter_context(profile.transaction(connection))  # SQLite: BEGIN IMMEDIATE
        except sa_exc.OperationalError as exc:
            if driver_error_code(exc) == "SQLITE_BUSY":
                raise _waited_too_long(table_name, exc) from exc
            raise
        if profile.backend == "sqlite":
            _sqlite_lock(connection, table_name)
        elif profile.backend == "postgresql":
            _postgresql_lock(connection, table_name)
        yield connection


@contextmanager
def schema_lock(connection: Connection, table_name: str) -> Iterator[None]:
    """The upgrade lock inside a caller's open transaction: PostgreSQL's until it ends, MySQL's
    until the block ends, SQLite's write lock taken now unless the driver's transaction began."""
    backend = connection.dialect.name
    if backend in ("mysql", "mariadb"):
        with _mysql_lock(connection, table_name, own_connection=False):
            yield
        return
    if backend == "sqlite":
        _sqlite_lock(connection, table_name)
    elif backend == "postgresql":
        _postgresql_lock(connection, table_name)
    yield


def _postgresql_lock(connection: Connection, table_name: str) -> None:
    """``pg_advisory_xact_lock``: released by the commit, so it also works behind PgBouncer's
    transaction pooling; ``lock_timeout`` bounds only this wait, then is set back."""
    previous = connection.execute(text("SELECT current_setting('lock_timeout')")).scalar_one()
    timeout = f"{UPGRADE_LOCK_TIMEOUT_SECONDS}s"
    connection.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": timeout})
    try:
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:key)"), {"key": advisory_key(table_name)}
        )
    except sa_exc.OperationalError as exc:
        if driver_error_code(exc) == _LOCK_NOT_AVAILABLE:
            raise _waited_too_long(table_name, exc) from exc
        raise
    connection.execute(text("SELECT set_config('lock_timeout', :t, true)"), {"t": previous})


@contextmanager
def _mysql_lock(connection: Connection, table_name: str, *, own_connection: bool) -> Iterator[None]:
    """``GET_LOCK`` on this connection around the block: DDL commits by itself on MySQL, so only a
    session lock spans the migrations and the version row's commit (``own_connection``: its own)."""
    database = connection.execute(text("SELECT DATABASE()")).scalar_one_or_none() or ""
    name = lock_name(table_name, database)
    got = connection.execute(
        text("SELECT GET_LOCK(:name, :timeout)"),
        {"name": name, "timeout": UPGRADE_LOCK_TIMEOUT_SECONDS},
    ).scalar_one()
    if own_connection:  # end the transaction the statement began, so the block can begin one
        connection.commit()
    if got != 1:
        raise _waited_too_long(table_name, None)
    try:
        yield
    finally:
        try:
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            if own_connection:
                connection.commit()
        except sa_exc.SQLAlchemyError:
            connection.invalidate()  # a closed session holds no lock


@contextmanager
def _sqlite_wait(connection: Connection) -> Iterator[None]:
    """SQLite's busy timeout raised to the upgrade lock's for this connection, then set back."""
    raw: Any = connection.connection.dbapi_connection
    previous = int(raw.execute("PRAGMA busy_timeout").fetchone()[0])
    raw.execute(f"PRAGMA busy_timeout = {UPGRADE_LOCK_TIMEOUT_SECONDS * 1000}")
    try:
        yield
    finally:
        with suppress(sqlite3.Error):  # closed with a failure: nothing left to set back
            raw.execute(f"PRAGMA busy_timeout = {previous}")


def _sqlite_lock(connection: Connection, table_name: str) -> None:
    """The write lock now (``BEGIN IMMEDIATE``) unless the driver's transaction already began:
    engines built here begin theirs immediate; a caller's begun transaction is the caller's."""
    raw: Any = connection.connection.dbapi_connection
    if getattr(raw, "in_transaction", True):
        return
    try:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    except sa_exc.OperationalError as exc:
        if driver_error_code(exc) == "SQLITE_BUSY":
            raise _waited_too_long(table_name, exc) from exc
        raise


def _waited_too_long(table_name: str, cause: BaseException | None) -> TokenStoreError:
    return store_error(
        f"upgrading table {table_name}: waited {UPGRADE_LOCK_TIMEOUT_SECONDS} s for another "
        "process's upgrade of it to finish, and changed nothing. Look for a stuck upgrade (or a "
        "long transaction on the table), then run `zoho-tokenstore upgrade` again",
        cause,
    )


__all__ = [
    "UPGRADE_LOCK_TIMEOUT_SECONDS",
    "advisory_key",
    "lock_name",
    "locked_transaction",
    "schema_lock",
]
