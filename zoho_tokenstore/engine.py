"""Builds the SQLAlchemy ``Engine`` a store (and the migrations) run on, tuned per backend.

- Every backend: ``hide_parameters`` so no token ever appears in an SQLAlchemy error or log line, and
  no logging of result rows (``log_safety``), which SQLAlchemy would otherwise do at DEBUG.
- PostgreSQL, MySQL/MariaDB: a bounded connect timeout, so calls during an outage fail promptly. No
  ping per checkout (a round trip per call): the store retries a call that meets a dead connection
  instead (``transactions``), and a disconnect makes the pool replace every older connection.
- MySQL/MariaDB: strict SQL mode on every connection, so an over-long value is refused, not truncated;
  sessions in autocommit, with an explicit ``BEGIN`` for every SQLAlchemy transaction except the
  store's single-statement reads, which so cost one round trip (no ROLLBACK at check-in).
- SQLite: WAL journal (readers never block the writer), ``synchronous=FULL`` (a saved token survives
  power loss), a busy timeout, ``BEGIN IMMEDIATE`` for writes (so concurrent writers queue instead of
  failing with "database is locked"), and a new database file readable by its owner only.
"""

from __future__ import annotations

import os
import weakref
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from .log_safety import hide_result_rows

#: Execution option that marks the writer engine's connections (its own copy of the engine, which on
#: SQLite carries the ``BEGIN IMMEDIATE`` listener); visible in ``get_execution_options()``.
WRITE_OPTION: Final = "zoho_tokenstore_write"

CONNECT_TIMEOUT_SECONDS: Final = 5
#: A server that stops answering mid-call fails the call after this long (see ``_stall_bounds``).
NETWORK_STALL_SECONDS: Final = 60
SQLITE_BUSY_TIMEOUT_SECONDS: Final = 30.0

#: Execution option of the reader copy of a MySQL engine built here: its connections run each
#: statement in autocommit, without the ``BEGIN`` every other transaction on the engine gets.
READ_OPTION: Final = "zoho_tokenstore_read"

#: SQLite engines built here (pysqlite's own BEGIN disabled), whose writers emit ``BEGIN IMMEDIATE``.
_SQLITE_ENGINES: Final[weakref.WeakSet[Engine]] = weakref.WeakSet()
#: MySQL/MariaDB engines built here, whose sessions are in autocommit (see ``_install_mysql_...``).
_AUTOCOMMIT_MYSQL_ENGINES: Final[weakref.WeakSet[Engine]] = weakref.WeakSet()

_STRICT_MODE_SQL: Final = (
    "SET SESSION sql_mode = TRIM(BOTH ',' FROM CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'))"
)


def build_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url`` with the settings above; ``options`` go to ``create_engine`` unchanged."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"hide_parameters": True}
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        in_memory = _sqlite_path(parsed) is None
        connect_args.update(timeout=SQLITE_BUSY_TIMEOUT_SECONDS, check_same_thread=False)
        if in_memory:
            kwargs["poolclass"] = (
                StaticPool  # one shared in-memory database, not one per connection
            )
        else:
            _create_private_file(parsed)
    else:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        connect_args.update(_stall_bounds(backend, parsed.get_driver_name()))
        if backend in ("mysql", "mariadb"):
            connect_args["init_command"] = _STRICT_MODE_SQL
    kwargs["connect_args"] = {**connect_args, **options.pop("connect_args", {})}
    kwargs.update(options)
    engine = hide_result_rows(create_engine(parsed, **kwargs))
    if backend == "sqlite":
        _install_sqlite_listeners(engine, journal_wal=_sqlite_path(parsed) is not None)
    if backend in ("mysql", "mariadb") and parsed.get_driver_name() == "pymysql":
        _install_mysql_autocommit_sessions(engine)
    return engine


def _stall_bounds(backend: str, driver: str) -> dict[str, Any]:
    """Driver settings that end a call when the network goes silent, instead of hanging forever.

    Both drivers wait indefinitely for a reply by default. The bounds sit well above every wait the
    store itself asks for (refresh lock waits: 15 s), so they only cut off a dead link.
    """
    if driver == "pymysql":
        return {"read_timeout": NETWORK_STALL_SECONDS, "write_timeout": NETWORK_STALL_SECONDS}
    if backend == "postgresql" and driver in ("psycopg", "psycopg2"):
        # libpq: drop the connection when sent data stays unacknowledged, and probe idle ones.
        return {
            "tcp_user_timeout": NETWORK_STALL_SECONDS * 1000,
            "keepalives": 1,
            "keepalives_idle": 30,
            "keepalives_interval": 10,
            "keepalives_count": 3,
        }
    return {}


def write_engine(engine: Engine) -> Engine:
    """The same engine (same pool) with the option that makes its transactions writers.

    SQLite's ``BEGIN IMMEDIATE`` listener sits on this copy only: any connection-event listener on
    the base engine makes SQLAlchemy dispatch execution events for every statement, which cost a
    lookup ~16 us of ~57 us on SQLite.
    """
    writer = hide_result_rows(engine.execution_options(**{WRITE_OPTION: True}))
    if engine in _SQLITE_ENGINES:
        event.listen(writer, "begin", _begin_immediate)
    return writer


def read_engine(engine: Engine) -> Engine:
    """The engine for single-statement reads, each of which costs one round trip on a server.

    A lone SELECT is its own transaction, so it needs no BEGIN and no ROLLBACK at check-in:
    PostgreSQL reads run in psycopg's autocommit (a local flag, no round trip to switch), MySQL
    reads on the autocommit sessions of an engine built here skip the ``BEGIN``. SQLite reads
    already run without a transaction, and engines passed in by a user keep their own behaviour.
    """
    if engine.dialect.name == "postgresql":
        reader = engine.execution_options(isolation_level="AUTOCOMMIT")
    elif engine in _AUTOCOMMIT_MYSQL_ENGINES:
        reader = engine.execution_options(**{READ_OPTION: True})
    else:
        return engine
    reader.logger = (
        engine.logger
    )  # log exactly as the base engine does (a copy gets a fresh logger)
    return reader


def masked_url(url: str | URL | Engine) -> str:
    """The URL with its password replaced by ``***``, safe to print or log."""
    target = url.url if isinstance(url, Engine) else make_url(url)
    return target.render_as_string(hide_password=True)


def _sqlite_path(url: URL) -> str | None:
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def _create_private_file(url: URL) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (it would honour the umask)."""
    path = _sqlite_path(url)
    if path is None or os.path.exists(path):
        return
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)


def _install_sqlite_listeners(engine: Engine, journal_wal: bool) -> None:
    """SQLAlchemy's documented recipe for real transactions on pysqlite, plus our pragmas."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        # Stop pysqlite from issuing its own deferred BEGIN; we emit BEGIN ourselves below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if journal_wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    _SQLITE_ENGINES.add(engine)  # write_engine() adds the BEGIN for writers


def _begin_immediate(connection: Connection) -> None:
    # Reads run as single autocommit statements; writers take the write lock up front, so the
    # busy timeout applies instead of SQLite failing a read-then-write upgrade at once.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _install_mysql_autocommit_sessions(engine: Engine) -> None:
    """Autocommit sessions, real transactions: a read costs one round trip, a write stays atomic.

    In MySQL's default mode even a SELECT opens a transaction, which must be ended (a ROLLBACK
    round trip at check-in, or its snapshot and metadata locks outlive the call). In autocommit
    it ends by itself; every SQLAlchemy transaction on the engine (the store's writes, refresh
    locks, migrations, an application's own) starts with an explicit ``BEGIN`` instead, except on
    the store's reader copy (``read_engine``) and where autocommit is asked for.
    """

    @event.listens_for(engine, "do_connect")
    def _connect(_dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]) -> None:
        cparams.setdefault("autocommit", True)  # returns nothing: other listeners still run

    @event.listens_for(engine, "connect")
    def _adopt(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The same connection object, with the ROLLBACK below (a subclass adding no state).
        ours = _pymysql_connection_class()
        if type(dbapi_connection) in ours.__bases__:
            dbapi_connection.__class__ = ours

    @event.listens_for(engine, "begin")
    def _begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get(READ_OPTION) or options.get("isolation_level") == "AUTOCOMMIT":
            return
        if connection.connection.dbapi_connection.get_autocommit():  # type: ignore[union-attr]
            connection.exec_driver_sql("BEGIN")

    _AUTOCOMMIT_MYSQL_ENGINES.add(engine)


@cache
def _pymysql_connection_class() -> type[Any]:
    """PyMySQL's connection, with a ROLLBACK that costs nothing when no transaction is open.

    Imported on first use: PyMySQL is an optional dependency."""
    from pymysql.connections import Connection as PyMySQLConnection  # type: ignore[import-untyped]
    from pymysql.constants.SERVER_STATUS import (  # type: ignore[import-untyped]
        SERVER_STATUS_IN_TRANS,
    )

    class RollbackOnlyInTransaction(PyMySQLConnection):  # type: ignore[misc]
        """PyMySQL sends ROLLBACK even with no transaction open; the server's status, which comes
        with every reply, says whether one is. In autocommit without ``BEGIN`` none can be, so the
        pool's reset at check-in (a rollback) costs no round trip after a read."""

        def rollback(self) -> None:
            if self.get_autocommit() and not self.server_status & SERVER_STATUS_IN_TRANS:
                return
            super().rollback()

    return RollbackOnlyInTransaction
