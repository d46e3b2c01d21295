"""Builds the SQLAlchemy ``Engine`` a store and the migrations run on, tuned per backend; the
settings and their reasons are in docs/engines.md."""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import NoSuchModuleError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, QueuePool

from .log_safety import hide_result_rows
from .profile import BUILT_OPTION, STORE_OPTION, BuiltEngine, EngineProfile
from .urls import (
    DatabaseURLError,
    create_private_file,
    missing_driver_message,
    parse_database_url,
    sqlite_file,
    unknown_scheme_message,
)

CONNECT_TIMEOUT_SECONDS: Final = 5
#: A server that stops answering mid-call fails the call after this long (see ``_stall_bounds``).
NETWORK_STALL_SECONDS: Final = 60
SQLITE_BUSY_TIMEOUT_SECONDS: Final = 30.0

#: ``create_engine``'s own default, needed to tell whether a pool can lend a connection for good.
_DEFAULT_MAX_OVERFLOW: Final = 10

_STRICT_MODE_SQL: Final = (
    "SET SESSION sql_mode = TRIM(BOTH ',' FROM CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES'))"
)


def build_engine(url: str | URL, **options: Any) -> Engine:
    """An engine for ``url`` with the settings above; ``options`` go to ``create_engine`` unchanged."""
    parsed = parse_database_url(url)
    backend = parsed.get_backend_name()
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
            # Lone statements commit by themselves (a lookup is one round trip, no ROLLBACK on the
            # held connection); write transactions begin explicitly (``EngineProfile.begin``).
            connect_args["autocommit"] = True
    connect_args.update(options.get("connect_args", {}))
    begin_sql = _begin_sql(backend, connect_args)
    kwargs: dict[str, Any] = {
        "hide_parameters": True,
        # MySQL autocommit sessions hold no transaction at check-in (writers end theirs): the
        # pool's reset ROLLBACK would be a round trip for nothing.
        **({"pool_reset_on_return": None} if begin_sql == "BEGIN" else {}),
        **options,
        "connect_args": connect_args,
    }
    engine = hide_result_rows(_create_engine(parsed, kwargs))
    built = BuiltEngine(
        begin_sql=begin_sql,
        recycle_seconds=_recycle_seconds(options.get("pool_recycle", -1)),
        can_lend_a_connection=_can_lend_a_connection(
            engine, options.get("max_overflow", _DEFAULT_MAX_OVERFLOW)
        ),
    )
    if backend == "sqlite":
        # A read-only connection (``mode=ro``, as the CLI's inspections open files) cannot switch
        # the journal: it reads a database in whatever mode it has.
        _install_sqlite_listener(engine, journal_wal=parsed.query.get("mode") != "ro")
    return hide_result_rows(engine.execution_options(**{BUILT_OPTION: built}))


def create_shared_engine(url: str | URL, **options: Any) -> Engine:
    """The store's tuned engine, made safe for the application's own statements too: pass it to
    ``SQLAlchemyTokenStore(engine)`` and use it in the application (docs/engines.md)."""
    engine = build_engine(url, **options)
    if EngineProfile.of(engine).begin_sql is not None:
        # Statements commit by themselves on this engine (pysqlite's BEGIN off, MySQL sessions in
        # autocommit): the application's transactions get a BEGIN, so they stay atomic.
        event.listen(engine, "begin", _begin_unless_store)
    return engine


def _begin_sql(backend: str, connect_args: dict[str, Any]) -> str | None:
    """What starts a write transaction where the driver runs every statement in autocommit."""
    if backend == "sqlite":
        return "BEGIN IMMEDIATE"  # writers take the write lock up front: they queue, not fail
    if connect_args.get("autocommit") is True:  # PyMySQL, unless the caller said otherwise
        return "BEGIN"
    return None


def masked_url(url: str | URL | Engine) -> str:
    """The URL with its password replaced by ``***``, safe to print or log."""
    target = url.url if isinstance(url, Engine) else make_url(url)
    return target.render_as_string(hide_password=True)


def _begin_unless_store(connection: Connection) -> None:
    """The application's transactions on a shared engine; the store's writers begin their own."""
    options = connection.get_execution_options()
    if options.get(STORE_OPTION) or options.get("isolation_level") == "AUTOCOMMIT":
        return
    connection.exec_driver_sql("BEGIN")


def _create_engine(url: URL, kwargs: dict[str, Any]) -> Engine:
    """``create_engine``, with an unknown scheme or a missing driver told as the fix to apply."""
    try:
        return create_engine(url, **kwargs)
    except NoSuchModuleError:
        raise DatabaseURLError(unknown_scheme_message(url)) from None
    except ImportError as exc:
        raise DatabaseURLError(missing_driver_message(url, exc)) from exc


def _recycle_seconds(pool_recycle: Any) -> float | None:
    return (
        float(pool_recycle)
        if isinstance(pool_recycle, (int, float)) and pool_recycle >= 0
        else None
    )


def _can_lend_a_connection(engine: Engine, max_overflow: int) -> bool:
    """Whether the pool can lend one connection for good and still serve the store's transactions:
    a ``NullPool``, or a ``QueuePool`` of two or more (a ``StaticPool`` shares its one)."""
    pool = engine.pool
    if isinstance(pool, NullPool):
        return True
    return isinstance(pool, QueuePool) and (max_overflow < 0 or pool.size() + max_overflow >= 2)


def _pooler_safe(driver: str) -> dict[str, Any]:
    """psycopg never prepares the store's statements: behind PgBouncer's transaction pooling a
    prepared name may not exist on the next server connection (``prepare_threshold=5`` restores it)."""
    return {"prepare_threshold": None} if driver == "psycopg" else {}


def _stall_bounds(backend: str, driver: str) -> dict[str, Any]:
    """Driver settings that end a call when the network goes silent (both drivers wait forever by
    default); far above every wait of the store's own, so they only cut off a dead link."""
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


def _install_sqlite_listener(engine: Engine, journal_wal: bool) -> None:
    """SQLAlchemy's documented pysqlite recipe: pysqlite's own BEGIN off (writers emit theirs,
    ``EngineProfile.begin``), plus WAL and ``synchronous=FULL`` on every new connection."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        if journal_wal:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()


__all__ = ["build_engine", "create_shared_engine", "masked_url"]
