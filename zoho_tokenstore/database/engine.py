"""Builds the SQLAlchemy ``Engine`` a store (and the migrations) run on, tuned per backend.

- Every backend: ``hide_parameters`` so no token ever appears in an SQLAlchemy error or log line, and
  no logging of result rows (``log_safety``), which SQLAlchemy would otherwise do at DEBUG.
- PostgreSQL, MySQL/MariaDB: a bounded connect timeout, so calls during an outage fail promptly. No
  ping per checkout (a round trip per call): the store retries a call that meets a dead connection
  instead (``transactions``), and a disconnect makes the pool replace every older connection.
- MySQL/MariaDB: strict SQL mode on every connection, so an over-long value is refused, not truncated;
  sessions in autocommit, so the store's single-statement reads cost one round trip (no ROLLBACK at
  check-in), and an explicit ``BEGIN`` for the transactions of the store's writers (and, on a
  ``create_shared_engine`` engine, the application's).
- PostgreSQL with psycopg: no server-side prepared statements, so PgBouncer's transaction pooling
  can route every statement (see ``_pooler_safe``).
- SQLite: WAL journal (readers never block the writer), ``synchronous=FULL`` (a saved token survives
  power loss), a busy timeout, ``BEGIN IMMEDIATE`` for writes (so concurrent writers queue instead of
  failing with "database is locked"), and a new database file readable by its owner only. Only
  files (plain paths or ``file:`` URIs) are accepted: an in-memory database lives in one connection.

URLs are checked first (``database_url``): a bad URL, an unknown scheme, a missing driver or a missing
directory raise ``DatabaseURLError`` with the fix in the message and no password.
"""

from __future__ import annotations

import weakref
from functools import cache
from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry

from .log_safety import hide_result_rows
from .urls import (
    DatabaseURLError,
    create_private_file,
    missing_driver_message,
    parse_database_url,
    sqlite_file,
    unknown_scheme_message,
)

#: Execution option that marks the writer engine's connections (its own copy of the engine, which on
#: SQLite carries the ``BEGIN IMMEDIATE`` listener); visible in ``get_execution_options()``.
WRITE_OPTION: Final = "zoho_tokenstore_write"

CONNECT_TIMEOUT_SECONDS: Final = 5
#: A server that stops answering mid-call fails the call after this long (see ``_stall_bounds``).
NETWORK_STALL_SECONDS: Final = 60
SQLITE_BUSY_TIMEOUT_SECONDS: Final = 30.0

#: Execution option on the store's view of an engine it shares with an application (``store_view``).
STORE_OPTION: Final = "zoho_tokenstore_store"

#: SQLite engines built here (pysqlite's own BEGIN disabled), whose writers emit ``BEGIN IMMEDIATE``.
_SQLITE_ENGINES: Final[weakref.WeakSet[Engine]] = weakref.WeakSet()
#: MySQL/MariaDB engines built here, whose sessions are in autocommit (see ``_install_mysql_...``).
_AUTOCOMMIT_MYSQL_ENGINES: Final[weakref.WeakSet[Engine]] = weakref.WeakSet()

_STRICT_MODE_SQL: Final = (
    "SET SESSION sql_mode = TRIM(BOTH ',' FROM CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'))"
)


def build_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url`` with the settings above; ``options`` go to ``create_engine`` unchanged."""
    parsed = parse_database_url(url)
    backend = parsed.get_backend_name()
    kwargs: dict[str, Any] = {"hide_parameters": True}
    connect_args: dict[str, Any] = {}
    if backend == "sqlite":
        # A file, never memory: pooled connections to one file are safe to share between threads.
        create_private_file(sqlite_file(parsed))
        connect_args.update(timeout=SQLITE_BUSY_TIMEOUT_SECONDS, check_same_thread=False)
    else:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        connect_args.update(_stall_bounds(backend, parsed.get_driver_name()))
        if backend in ("mysql", "mariadb"):
            connect_args["init_command"] = _STRICT_MODE_SQL
        connect_args.update(_pooler_safe(parsed.get_driver_name()))
        if backend in ("mysql", "mariadb") and parsed.get_driver_name() == "pymysql":
            connect_args["autocommit"] = True  # see _install_mysql_autocommit_sessions
    kwargs["connect_args"] = {**connect_args, **options.pop("connect_args", {})}
    kwargs.update(options)
    engine = hide_result_rows(_create_engine(parsed, kwargs))
    if backend == "sqlite":
        # A read-only connection (``mode=ro``, as the CLI's inspections open files) cannot switch
        # the journal: it reads a database in whatever mode it has.
        _install_sqlite_listeners(engine, journal_wal=parsed.query.get("mode") != "ro")
    if kwargs["connect_args"].get("autocommit") is True:  # PyMySQL, unless the caller said no
        _install_mysql_autocommit_sessions(engine)
    return engine


def create_shared_engine(url: str | URL, **options: Any) -> Engine:
    """The store's tuned engine, made safe for the application's own statements too.

    Pass it to ``SQLAlchemyTokenStore(engine)`` and use it in the application: one pool, and the
    store keeps every setting ``build_engine`` gives it. The application's transactions get a plain
    ``BEGIN``: on SQLite pysqlite's own is switched off for the store's ``BEGIN IMMEDIATE``, on
    MySQL the sessions are in autocommit; so ``engine.begin()`` blocks stay atomic. ``options`` go
    to ``create_engine`` as for ``build_engine``. What else it means for the application is in
    ``docs/engines.md``.
    """
    engine = build_engine(url, **options)
    if engine in _SQLITE_ENGINES:
        event.listen(engine, "begin", _begin_unless_store)
    if engine in _AUTOCOMMIT_MYSQL_ENGINES:
        event.listen(engine, "begin", _begin_mysql_unless_store)
    return engine


def store_view(engine: Engine) -> Engine:
    """The store's view of an engine it was given: same pool and events, never logs a value.

    The application's engine may lack ``hide_parameters`` or log at DEBUG; the view hides bound
    values and result rows for the store's statements only, and leaves the application's as they are.
    """
    view = engine.execution_options(**{STORE_OPTION: True})
    view.hide_parameters = True
    if engine in _SQLITE_ENGINES:
        _SQLITE_ENGINES.add(view)  # its writers still take BEGIN IMMEDIATE
    if engine in _AUTOCOMMIT_MYSQL_ENGINES:
        _AUTOCOMMIT_MYSQL_ENGINES.add(view)  # its writers still get BEGIN, its reads none
    return hide_result_rows(view)


def _begin_unless_store(connection: Connection) -> None:
    # The application's transactions on a shared SQLite engine; the store begins its own.
    if not connection.get_execution_options().get(STORE_OPTION):
        connection.exec_driver_sql("BEGIN")


def _begin_mysql_unless_store(connection: Connection) -> None:
    # The application's transactions on a shared MySQL engine; the store begins its own.
    if not connection.get_execution_options().get(STORE_OPTION):
        _begin_mysql(connection)


def _create_engine(url: URL, kwargs: dict[str, Any]) -> Engine:
    """``create_engine``, with an unknown scheme or a missing driver told as the fix to apply."""
    try:
        return create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise DatabaseURLError(unknown_scheme_message(url)) from None
    except ImportError as exc:
        raise DatabaseURLError(missing_driver_message(url, exc)) from exc


def _pooler_safe(driver: str) -> dict[str, Any]:
    """Driver settings that keep PostgreSQL statements routable through PgBouncer's transaction mode.

    psycopg 3 turns a statement run 5 times on one connection into a named prepared statement; in
    transaction pooling the next transaction may run on another server connection, where that name
    does not exist (PgBouncer before 1.21, or later without ``max_prepared_statements``). The
    store's statements are short lookups whose planning costs microseconds, so they are never
    prepared; ``connect_args={"prepare_threshold": 5}`` restores psycopg's default.
    """
    return {"prepare_threshold": None} if driver == "psycopg" else {}


def _stall_bounds(backend: str, driver: str) -> dict[str, Any]:
    """Driver settings that end a call when the network goes silent, instead of hanging forever.

    Both drivers wait indefinitely for a reply by default. The bounds sit well above every wait the
    store itself makes (SQLite's busy timeout: 30 s; the refresh holds no connection while it waits
    for Zoho), so they only cut off a dead link.
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

    SQLite's ``BEGIN IMMEDIATE`` and MySQL's ``BEGIN`` listeners sit on this copy only: any
    connection-event listener on the base engine makes SQLAlchemy dispatch execution events for
    every statement, the store's lookups included.
    """
    writer = hide_result_rows(engine.execution_options(**{WRITE_OPTION: True}))
    if engine in _SQLITE_ENGINES:
        event.listen(writer, "begin", _begin_immediate)
    if engine in _AUTOCOMMIT_MYSQL_ENGINES:
        event.listen(writer, "begin", _begin_mysql)
    return writer


def connect_for_reads(engine: Engine) -> Connection:
    """A connection for single-statement reads, each of which costs one round trip on a server.

    A lone SELECT is its own transaction, so it needs no BEGIN and no ROLLBACK at check-in:
    PostgreSQL reads run in psycopg's autocommit (a local flag, no round trip to switch), MySQL
    reads on the autocommit sessions of an engine built here need no ``BEGIN`` (only writers get
    one). SQLite reads already run without a transaction, and engines passed in by a user keep
    their own behaviour.

    On PostgreSQL autocommit is set on the connection, not on the engine: an engine-level
    ``isolation_level`` adds an ``engine_connect`` listener, and an engine with any connection
    listener makes SQLAlchemy dispatch events around every statement (about a third of a lookup's
    Python time on PostgreSQL). SQLAlchemy resets the flag when the connection goes back to the pool.
    """
    connection = engine.connect()
    if engine.dialect.name == "postgresql":
        try:
            connection.execution_options(isolation_level="AUTOCOMMIT")
        except BaseException:
            connection.close()
            raise
    return connection


def lone_statements_commit(engine: Engine) -> bool:
    """Whether a single statement on ``connect_for_reads(engine)`` is its own transaction.

    True where ``connect_for_reads`` makes it so (PostgreSQL) or the sessions already are (MySQL/
    MariaDB and SQLite engines built here): such a connection holds no transaction, snapshot or
    lock between statements, so the store may keep it checked out (``held_connection``).
    """
    return (
        engine.dialect.name == "postgresql"
        or engine in _AUTOCOMMIT_MYSQL_ENGINES
        or engine in _SQLITE_ENGINES
    )


def masked_url(url: str | URL | Engine) -> str:
    """The URL with its password replaced by ``***``, safe to print or log."""
    target = url.url if isinstance(url, Engine) else make_url(url)
    return target.render_as_string(hide_password=True)


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
    (``build_engine`` connects with PyMySQL's ``autocommit=True``) it ends by itself; the
    transactions of the store's writers (``write_engine``: its writes, refresh leases, migrations,
    imports) start with an explicit ``BEGIN`` instead, and so do an application's on a
    ``create_shared_engine`` engine. On the base engine itself every statement commits on its own,
    as on SQLite: no listener there, so its statements (the store's lookups) dispatch no events.
    """

    @event.listens_for(engine, "connect")
    def _adopt(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        # The same connection object, with the ROLLBACK below (a subclass adding no state).
        ours = _pymysql_connection_class()
        if type(dbapi_connection) in ours.__bases__:
            dbapi_connection.__class__ = ours

    _AUTOCOMMIT_MYSQL_ENGINES.add(engine)


def _begin_mysql(connection: Connection) -> None:
    """``BEGIN`` on an autocommit session, unless the connection asked for autocommit itself.

    A session whose autocommit SQLAlchemy switched off (a connection given another isolation level,
    then reset) already opens a transaction by itself."""
    if connection.get_execution_options().get("isolation_level") == "AUTOCOMMIT":
        return
    if connection.connection.dbapi_connection.get_autocommit():  # type: ignore[union-attr]
        connection.exec_driver_sql("BEGIN")


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
