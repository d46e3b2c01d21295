"""Builds the SQLAlchemy ``Engine`` a store (and the migrations) run on, tuned per backend.

- Every backend: ``hide_parameters`` so no token ever appears in an SQLAlchemy error or log line, and
  no logging of result rows (``log_safety``), which SQLAlchemy would otherwise do at DEBUG.
- PostgreSQL, MySQL/MariaDB: pool pre-ping (a restarted server costs one failed call, not a restart of
  the application) and a bounded connect timeout, so calls during an outage fail promptly.
- MySQL/MariaDB: strict SQL mode on every connection, so an over-long value is refused, not truncated.
- SQLite: WAL journal (readers never block the writer), ``synchronous=FULL`` (a saved token survives
  power loss), a busy timeout, ``BEGIN IMMEDIATE`` for writes (so concurrent writers queue instead of
  failing with "database is locked"), and a new database file readable by its owner only.
"""

from __future__ import annotations

import os
import weakref
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

#: SQLite engines built here (pysqlite's own BEGIN disabled), whose writers emit ``BEGIN IMMEDIATE``.
_SQLITE_ENGINES: Final[weakref.WeakSet[Engine]] = weakref.WeakSet()

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
        kwargs["pool_pre_ping"] = True
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_SECONDS
        connect_args.update(_stall_bounds(backend, parsed.get_driver_name()))
        if backend in ("mysql", "mariadb"):
            connect_args["init_command"] = _STRICT_MODE_SQL
    kwargs["connect_args"] = {**connect_args, **options.pop("connect_args", {})}
    kwargs.update(options)
    engine = hide_result_rows(create_engine(parsed, **kwargs))
    if backend == "sqlite":
        _install_sqlite_listeners(engine, journal_wal=_sqlite_path(parsed) is not None)
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
    """The engine for single-statement reads: on PostgreSQL in autocommit, else ``engine`` itself.

    A lone SELECT is its own transaction either way; autocommit saves psycopg's BEGIN and the
    pool's ROLLBACK, two of the four round trips of a lookup (pre-ping and SELECT remain). MySQL
    would pay a ``SET autocommit`` round trip each way instead, and SQLite reads already run
    without a transaction, so both keep the plain engine.
    """
    if engine.dialect.name != "postgresql":
        return engine
    reader = engine.execution_options(isolation_level="AUTOCOMMIT")
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
