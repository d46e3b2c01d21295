"""Database faults: killed connections, an outage and a failure inside save_token lose no token.

The shared servers are never restarted. Instead the server kills the store's own connections, a
``TcpProxy`` between the store and the server stands in for the network or the server going away, and
a ``before_cursor_execute`` hook breaks a save between its SELECT and its write.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from backends import require_backend
from databases import SERVER_URLS, throwaway_database
from direct_db import read_rows
from store_errors import token_store_error
from tcp_proxy import TcpProxy
from token_factory import fields_of, full_token, make_token
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.database.engine import NETWORK_STALL_SECONDS, build_engine

#: An outage must surface well before a user gives up (the engine's connect timeout is 5 s).
OUTAGE_BOUND_S = 10.0
KILL_WAIT_S = 10.0

Rows = Callable[[], list[dict[str, object]]]


@pytest.fixture
def server_db_url(server_backend: str, tmp_path: Path) -> Iterator[URL]:
    """A migrated database of this test's own: killing its connections touches nothing else."""
    with throwaway_database(server_backend, tmp_path) as url:
        upgrade(url)
        yield url


@pytest.fixture
def admin(server_backend: str) -> Iterator[sa.Engine]:
    """An engine on the server's admin database, which kills connections and reads rows directly."""
    engine = sa.create_engine(SERVER_URLS[server_backend], isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def connection_ids(admin: sa.Engine, database: str) -> list[int]:
    """Server-side ids of every connection to ``database`` (the store's), not the admin's own."""
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            query = "SELECT pid FROM pg_stat_activity WHERE datname = %(db)s AND pid <> pg_backend_pid()"
        else:
            query = "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %(db)s AND ID <> CONNECTION_ID()"
        return [int(i) for i in connection.exec_driver_sql(query, {"db": database}).scalars()]


def kill_connection(admin: sa.Engine, connection_id: int) -> None:
    """Kill one server connection and return once the server has ended it."""
    with admin.connect() as connection:
        if admin.dialect.name == "postgresql":
            # With a timeout, pg_terminate_backend waits until the backend has exited.
            connection.exec_driver_sql(
                "SELECT pg_terminate_backend(%(pid)s, %(ms)s)",
                {"pid": connection_id, "ms": int(KILL_WAIT_S * 1000)},
            )
            return
        connection.exec_driver_sql(f"KILL CONNECTION {int(connection_id)}")
        deadline = time.monotonic() + KILL_WAIT_S
        while time.monotonic() < deadline:  # KILL only marks it; wait until it is gone
            gone = connection.exec_driver_sql(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %(id)s",
                {"id": connection_id},
            ).scalar()
            if gone == 0:
                return
        raise AssertionError(f"connection {connection_id} was not killed in {KILL_WAIT_S} s")


def kill_store_connections(admin: sa.Engine, database: str) -> int:
    """Kill every connection to ``database``; how many there were."""
    ids = connection_ids(admin, database)
    for connection_id in ids:
        kill_connection(admin, connection_id)
    return len(ids)


# -- (a) connections killed by the server -------------------------------------------------------


def test_connections_killed_by_the_server_are_replaced_without_an_error(
    server_db_url: URL, admin: sa.Engine
) -> None:
    database = str(server_db_url.database)
    with SQLAlchemyTokenStore(server_db_url) as store:
        token = full_token(1)
        store.save_token(token)
        token_id = str(token.get_id())

        assert kill_store_connections(admin, database) >= 1
        assert fields_of(store.find_token_by_id(token_id)) == fields_of(token)

        assert kill_store_connections(admin, database) >= 1
        store.save_token(make_token(id=token_id, access_token="1000.fresh", expiry_time="19"))

        assert kill_store_connections(admin, database) >= 1
        found = store.find_token(make_token(user_name=fields_of(token)["user_name"]))
        assert found is not None
        assert found.get_access_token() == "1000.fresh"

    assert read_rows(server_db_url) == [
        {**fields_of(token), "access_token": "1000.fresh", "expiry_time": "19"}
    ]


# -- (b) an outage: the proxy between store and server goes away and comes back ------------------


def test_an_outage_fails_calls_promptly_and_the_same_store_recovers(
    server_db_url: URL,
) -> None:
    target = make_url(SERVER_URLS[server_db_url.get_backend_name()])
    with TcpProxy(str(target.host), int(target.port or 0)) as proxy:
        proxied = server_db_url.set(host="127.0.0.1", port=proxy.port)
        with SQLAlchemyTokenStore(proxied) as store:
            token = full_token(1)
            store.save_token(token)
            token_id = str(token.get_id())
            before = read_rows(server_db_url)

            proxy.stop()
            calls: list[Callable[[], Any]] = [
                lambda: store.find_token_by_id(token_id),
                lambda: store.find_token(make_token(user_name=fields_of(token)["user_name"])),
                lambda: store.save_token(make_token(id=token_id, access_token="1000.lost")),
                lambda: store.save_token(full_token(2)),
                store.get_tokens,
                lambda: store.delete_token(token_id),
            ]
            for call in calls:
                started = time.monotonic()
                error = token_store_error(call)
                assert time.monotonic() - started < OUTAGE_BOUND_S
                assert "unavailable or the connection was lost" in error.error_message
            assert read_rows(server_db_url) == before  # nothing written, nothing half-written

            proxy.start()  # the same port: the application is not restarted
            assert fields_of(store.find_token_by_id(token_id)) == fields_of(token)
            store.save_token(make_token(id=token_id, access_token="1000.after"))
            second = full_token(2)
            store.save_token(second)

    assert read_rows(server_db_url) == sorted(
        [{**fields_of(token), "access_token": "1000.after"}, fields_of(second)],
        key=lambda row: str(row["id"]),
    )


@pytest.mark.mysql
def test_a_silent_network_fails_calls_within_the_read_timeout(tmp_path: Path) -> None:
    # A link that goes dead without a reset: PyMySQL waits for a reply forever unless bounded. The
    # store's engines bound it (read_timeout, 60 s by default); the test shortens it to 2 s.
    require_backend("mysql")
    target = make_url(SERVER_URLS["mysql"])
    with (
        throwaway_database("mysql", tmp_path) as url,
        TcpProxy(str(target.host), int(target.port or 0)) as proxy,
    ):
        upgrade(url)
        proxied = url.set(host="127.0.0.1", port=proxy.port)
        options = {"connect_args": {"read_timeout": 2, "write_timeout": 2}}
        with SQLAlchemyTokenStore(proxied, engine_options=options) as store:
            token = full_token(1)
            store.save_token(token)
            proxy.silent.set()
            started = time.monotonic()
            error = token_store_error(lambda: store.find_token_by_id(str(token.get_id())))
            assert time.monotonic() - started < OUTAGE_BOUND_S
            assert "unavailable or the connection was lost" in error.error_message
            proxy.silent.clear()
            assert fields_of(store.find_token_by_id(str(token.get_id()))) == fields_of(token)


def test_engines_bound_a_silent_network_by_default() -> None:
    assert _connect_args("mysql+pymysql://u@127.0.0.1:9/x")["read_timeout"] == NETWORK_STALL_SECONDS
    postgresql = _connect_args("postgresql+psycopg://u@127.0.0.1:9/x")
    assert postgresql["tcp_user_timeout"] == NETWORK_STALL_SECONDS * 1000


def _connect_args(url: str) -> dict[str, Any]:
    """The connect arguments build_engine hands the driver, captured from SQLAlchemy's event."""
    captured: dict[str, Any] = {}
    engine = build_engine(url)

    @sa.event.listens_for(engine, "do_connect")
    def capture(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> Any:
        captured.update(cparams)
        raise ConnectionAbortedError("captured; no connection wanted")

    with pytest.raises(ConnectionAbortedError), engine.connect():
        pass
    engine.dispose()
    return captured


# -- (c) a save that fails between its SELECT and its write ---------------------------------------


class BreakWrites:
    """A ``before_cursor_execute`` hook that breaks the next ``times`` UPDATEs or INSERTs on an engine.

    ``"kill"`` ends the connection under the store (server-side with ``admin``; SQLite: closes it) so
    the write runs on a dead connection; ``"raise"`` raises the driver's own ``OperationalError``, as
    a failing disk or network would.
    """

    def __init__(
        self, engine: sa.Engine, how: str, admin: sa.Engine | None = None, times: int = 2
    ) -> None:
        self.engine = engine
        self.how = how
        self.admin = admin
        self.times = times
        self.broken: list[str] = []

    def __enter__(self) -> BreakWrites:
        # "raise" fails where the driver executes (do_execute), so SQLAlchemy handles the error as
        # a driver's; an error raised in before_cursor_execute is not wrapped before SQLAlchemy 2.1.
        sa.event.listen(self.engine, *self._listener)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, *self._listener)

    @property
    def _listener(self) -> tuple[str, Any]:
        if self.how == "raise":
            return "do_execute", self.fail_execute
        return "before_cursor_execute", self.kill_before_execute

    def _breaks(self, statement: str) -> bool:
        """Whether ``statement`` is a write this fault still has to break (and counts it)."""
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb not in ("UPDATE", "INSERT") or len(self.broken) >= self.times:
            return False
        self.broken.append(verb)
        return True

    def fail_execute(self, cursor: Any, statement: str, parameters: Any, context: Any) -> None:
        if self._breaks(statement):
            dbapi = context.dialect.loaded_dbapi
            raise dbapi.OperationalError("simulated failure before the write")

    def kill_before_execute(
        self, conn: sa.Connection, cursor: Any, statement: str, *rest: Any
    ) -> None:
        if not self._breaks(statement):
            return
        dbapi_connection = cursor.connection
        if self.admin is None:
            dbapi_connection.close()
        elif conn.dialect.name == "postgresql":
            kill_connection(self.admin, dbapi_connection.info.backend_pid)
        else:
            kill_connection(self.admin, dbapi_connection.thread_id())


@pytest.fixture(params=["raise", "kill"])
def fault(
    request: pytest.FixtureRequest, store: SQLAlchemyTokenStore, backend: str
) -> Iterator[BreakWrites]:
    """Breaks the store's next write with a driver error or by killing its connection."""
    if backend == "sqlite":
        yield BreakWrites(store.engine, request.param)
        return
    admin = sa.create_engine(SERVER_URLS[backend], isolation_level="AUTOCOMMIT")
    yield BreakWrites(store.engine, request.param, admin)
    admin.dispose()


def test_a_refresh_that_fails_mid_save_leaves_the_previous_row_intact(
    store: SQLAlchemyTokenStore, rows: Rows, fault: BreakWrites
) -> None:
    token = full_token(1)
    store.save_token(token)
    before = rows()

    with fault as breaker:
        token_store_error(
            lambda: store.save_token(
                make_token(id=token.get_id(), access_token="1000.new", refresh_token="1000.r2")
            )
        )
    # A write on a dead connection never committed, so the store retries it once on a fresh
    # connection (broken again here); a driver error is not retried.
    assert breaker.broken == ["UPDATE"] * (2 if breaker.how == "kill" else 1)
    assert rows() == before

    # The same store goes on working.
    store.save_token(make_token(id=token.get_id(), access_token="1000.new"))
    assert rows() == [{**before[0], "access_token": "1000.new"}]


def test_a_first_login_that_fails_mid_save_leaves_no_row(
    store: SQLAlchemyTokenStore, rows: Rows, fault: BreakWrites
) -> None:
    other = full_token(2)
    store.save_token(other)
    before = rows()

    with fault as breaker:
        token_store_error(lambda: store.save_token(full_token(1)))
    assert breaker.broken == ["INSERT"] * (2 if breaker.how == "kill" else 1)
    assert rows() == before

    token = full_token(1)
    store.save_token(token)
    assert len(rows()) == 2
    assert fields_of(store.find_token_by_id(str(token.get_id()))) == fields_of(token)


def test_a_write_that_meets_a_dead_connection_is_retried_once_and_lands(
    store: SQLAlchemyTokenStore, rows: Rows, backend: str
) -> None:
    # The connection dies before the UPDATE reaches the server: its transaction never committed, so
    # repeating it from the start on a fresh connection is safe, and the caller sees no error.
    token = full_token(1)
    store.save_token(token)
    before = rows()
    admin = None if backend == "sqlite" else sa.create_engine(SERVER_URLS[backend])
    try:
        with BreakWrites(store.engine, "kill", admin, times=1) as breaker:
            store.save_token(make_token(id=token.get_id(), access_token="1000.after-reconnect"))
    finally:
        if admin is not None:
            admin.dispose()
    assert breaker.broken == ["UPDATE"]
    assert rows() == [{**before[0], "access_token": "1000.after-reconnect"}]
