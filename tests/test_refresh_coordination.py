"""A refresh waiting for Zoho holds nothing that others need: no lock, no pooled connection, no setting.

The stand-in's token endpoint holds its answer until the test releases it (or never answers), and
the tests watch what everyone else sees meanwhile: other users' calls, the connection pool, threads,
sockets, session settings. Nothing is timed: a busy machine only makes everything slower.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

from direct_db import set_stored_expiry
from refresh_setup import ALICE_NAME, expire, hold_lease, lease_rows, log_in
from refresh_workers import wait_for
from sdk_helpers import get_leads, lead_descriptions, run_at_once
from token_factory import fields_of, full_token, make_token, now_ms
from zoho_tokenstore import RefreshAhead, SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.core.model import LEASE_SUFFIX, token_table
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import StandInZoho

ZOHO_DELAY_S = 3.0
THREADS = 32
#: For a refresh the test holds at Zoho: neither the wait nor the request gives up meanwhile.
PATIENT = RefreshAhead(lock_timeout_seconds=300, request_timeout_seconds=300)
#: How long a test waits for something that takes milliseconds on a quiet machine.
GENEROUS_S = 60


def open_sockets() -> int:
    """Sockets this process has open (client and server side), from /proc."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            continue  # closed while listing
    return count


def connections_in_use(store: SQLAlchemyTokenStore) -> int:
    """The store's connections serving a call right now: checked out of its pool, not counting the
    connection it holds for lookups while no call uses it (``held_connection``)."""
    held = store._held
    idle_held = held is not None and held.is_open and not held.in_use
    return int(store.engine.pool.checkedout()) - idle_held  # type: ignore[attr-defined]


def other_users_calls(store: SQLAlchemyTokenStore, where: str, bob_id: str, bob_name: str) -> None:
    """Bob's save_token, find_token and find_token_by_id on ``store``."""
    access = f"1000.bob-{where}.0123456789abcdef"
    store.save_token(make_token(id=bob_id, access_token=access, expiry_time=str(now_ms(3600))))
    assert store.find_token(make_token(user_name=bob_name)) is not None
    assert fields_of(store.find_token_by_id(bob_id))["access_token"] == access


def test_other_users_calls_finish_while_a_refresh_waits_for_zoho(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with (
        SQLAlchemyTokenStore(db_url, refresh_ahead=PATIENT) as store,
        SQLAlchemyTokenStore(db_url) as elsewhere,
    ):
        alice_id = log_in(standin_zoho, store, tmp_path)
        bob = full_token(2, expiry_time=str(now_ms(3600)))
        store.save_token(bob)
        bob_id, bob_name = bob.get_id(), bob.get_user_signature().get_name()
        expire(standin_zoho, db_url, alice_id)
        standin_zoho.token_delay_seconds = math.inf  # Zoho holds its answer until released below

        refreshed: list[OAuthToken] = []
        refreshing = threading.Thread(
            target=lambda: refreshed.append(store.find_token_by_id(alice_id))
        )
        others_done: list[str] = []
        others = threading.Thread(
            target=lambda: (
                other_users_calls(store, "same", bob_id, bob_name),
                other_users_calls(elsewhere, "another", bob_id, bob_name),
                others_done.append("done"),
            )
        )
        refreshing.start()
        try:
            wait_for(lambda: standin_zoho.calls["token:delayed"] == 1, GENEROUS_S, "the refresh")
            # Alice's refresh now waits for Zoho. It holds no pooled connection meanwhile.
            assert connections_in_use(store) == 0
            others.start()
            others.join(GENEROUS_S)  # a call that waited for the refresh would wait forever
            still_waiting = refreshing.is_alive()
        finally:
            standin_zoho.token_delay_seconds = 0
            refreshing.join(GENEROUS_S)
            others.join(GENEROUS_S)

        assert others_done == ["done"], "Bob's calls waited for Alice's refresh"
        assert still_waiting, "every call above must have run while the refresh waited"
        assert fields_of(store.find_token_by_id(bob_id))["access_token"] == (
            "1000.bob-another.0123456789abcdef"
        )
        [alice] = refreshed
        assert int(alice.get_expires_in()) > now_ms(3000)
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert lease_rows(db_url) == []


@pytest.fixture
def pool_sampler() -> Iterator[Callable[[SQLAlchemyTokenStore], list[int]]]:
    """Starts sampling a store's connections in use every 10 ms; the samples so far on demand."""
    stop = threading.Event()
    samples: list[int] = []
    threads: list[threading.Thread] = []

    def start(store: SQLAlchemyTokenStore) -> list[int]:
        def run() -> None:
            while not stop.wait(0.01):
                samples.append(connections_in_use(store))

        threads.append(threading.Thread(target=run, daemon=True))
        threads[-1].start()
        return samples

    yield start
    stop.set()
    for thread in threads:
        thread.join(5)


def test_thirty_two_threads_make_one_refresh_on_the_default_pool(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:  # default pool: 5 + 10 overflow, 30 s timeout
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        standin_zoho.token_delay_seconds = ZOHO_DELAY_S

        results = run_at_once(THREADS, lambda _: lead_descriptions(get_leads()), timeout=120)

        assert results == [[f"fetched by {ALICE_NAME}"]] * THREADS  # no error, no pool timeout
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert standin_zoho.calls["records"] == THREADS
        assert lease_rows(db_url) == []


def test_threads_waiting_for_a_refresh_hold_no_pooled_connection(
    standin_zoho: StandInZoho,
    clean_sdk: SdkLogRecorder,
    db_url: URL,
    tmp_path: Path,
    pool_sampler: Callable[[SQLAlchemyTokenStore], list[int]],
) -> None:
    """Once every thread has read the stale row, none holds a connection until Zoho answers;
    Zoho holds its answer until the test has watched the pool."""
    waiters = 16  # more than the default pool's 5 + 10: holding threads would exhaust it
    with SQLAlchemyTokenStore(db_url, refresh_ahead=PATIENT) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        standin_zoho.token_delay_seconds = math.inf
        readers: set[int] = set()  # the threads that ran a statement
        sa.event.listen(
            store.engine, "before_cursor_execute", lambda *_: readers.add(threading.get_ident())
        )
        during_wait: list[int] = []
        failures: list[BaseException] = []

        def watch_the_wait() -> None:
            try:
                wait_for(
                    lambda: (
                        standin_zoho.calls["token:delayed"] == 1
                        and len(readers) == waiters
                        and connections_in_use(store) == 0
                    ),
                    GENEROUS_S,
                    "every thread to read the stale row and give its connection back",
                )
                samples = pool_sampler(store)
                wait_for(lambda: len(samples) >= 50, GENEROUS_S, "50 samples of the pool")
                during_wait.extend(samples)
            except AssertionError as exc:  # reported by the test thread
                failures.append(exc)
            finally:
                standin_zoho.token_delay_seconds = 0  # Zoho answers

        watcher = threading.Thread(target=watch_the_wait)
        watcher.start()
        results = run_at_once(waiters, lambda _: lead_descriptions(get_leads()), timeout=120)
        watcher.join(GENEROUS_S)

        assert failures == []
        assert results == [[f"fetched by {ALICE_NAME}"]] * waiters
        assert standin_zoho.calls["token:refresh_token"] == 1
        # Before: each waiting thread held a connection (16 exhaust the default 5 + 10).
        assert set(during_wait) == {0}, (
            f"connections checked out while Zoho answered: {during_wait}"
        )


def test_refreshes_zoho_never_answers_leave_no_thread_or_socket_behind(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("counts sockets through /proc")
    # A clock an hour further on at every look, so that no back-off holds the next refresh back.
    hours = itertools.count(time.time(), 3600)
    quick = RefreshAhead(request_timeout_seconds=0.5, clock=lambda: next(hours))
    with SQLAlchemyTokenStore(db_url, refresh_ahead=quick) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        # Inside the margin but still valid: each failed refresh falls back to the stored token.
        set_stored_expiry(db_url, token_id, now_ms(40))
        standin_zoho.token_delay_seconds = math.inf  # the token endpoint goes silent
        access = store.find_token_by_id(token_id).get_access_token()  # warms the pool up too
        wait_for(lambda: standin_zoho.calls["token:unanswered"] == 1, 10, "the first hang-up")
        before = (threading.active_count(), open_sockets())

        for _ in range(10):
            assert store.find_token_by_id(token_id).get_access_token() == access

        assert standin_zoho.calls["token:delayed"] == 11  # every refresh did reach Zoho
        wait_for(lambda: standin_zoho.calls["token:unanswered"] == 11, 10, "every hang-up")
        wait_for(
            lambda: (threading.active_count(), open_sockets()) <= before,
            10,
            f"thread and socket counts back at {before}",
        )
        assert (threading.active_count(), open_sockets()) == before
        assert "token:refresh_token" not in standin_zoho.calls  # nothing was issued
        assert lease_rows(db_url) == []


#: A session setting a user chose, how to read it back, and its value.
USER_SETTINGS: dict[str, tuple[dict[str, Any], str, object]] = {
    "sqlite": ({"timeout": 7}, "PRAGMA busy_timeout", 7000),
    "postgresql": ({"options": "-c lock_timeout=7s"}, "SHOW lock_timeout", "7s"),
    "mysql": (
        {"init_command": "SET SESSION innodb_lock_wait_timeout = 7"},
        "SELECT @@SESSION.innodb_lock_wait_timeout",
        7,
    ),
}


def test_refreshing_keeps_the_session_settings_the_user_chose(
    backend: str, standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    connect_args, probe, chosen = USER_SETTINGS[backend]
    one_connection = {"connect_args": connect_args, "pool_size": 1, "max_overflow": 0}
    with SQLAlchemyTokenStore(db_url, engine_options=one_connection) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        statements: list[str] = []

        def record(*args: Any) -> None:
            statements.append(args[2])

        sa.event.listen(store.engine, "before_cursor_execute", record)

        expire(standin_zoho, db_url, token_id)
        store.find_token_by_id(token_id)  # a refresh of its own
        expire(standin_zoho, db_url, token_id)
        hold_lease(db_url, token_id, seconds=1)  # another worker's, which it outlives
        store.find_token_by_id(token_id)  # waits, takes the expired lease over, refreshes

        sa.event.remove(store.engine, "before_cursor_execute", record)
        assert standin_zoho.calls["token:refresh_token"] == 1
        with store.engine.connect() as connection:
            assert connection.execute(sa.text(probe)).scalar() == chosen
        assert any(LEASE_SUFFIX in s for s in statements)  # the refreshes' statements were seen
        changed = [s for s in statements if s.lstrip().upper().startswith(("SET", "PRAGMA"))]
        assert changed + [s for s in statements if "set_config" in s] == []
        assert lease_rows(db_url) == []


def test_a_custom_table_refreshes_through_its_own_lease_table(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, empty_db_url: URL, tmp_path: Path
) -> None:
    custom = "crm_tokens"
    upgrade(empty_db_url, table_name=custom)
    with SQLAlchemyTokenStore(empty_db_url, table_name=custom, refresh_ahead=PATIENT) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        table = token_table(custom)
        engine = sa.create_engine(empty_db_url)
        with engine.begin() as connection:
            connection.execute(
                sa.update(table).where(table.c.id == token_id).values(expiry_time="1000")
            )
        standin_zoho.invalidate_access_tokens()
        standin_zoho.reset_counts()
        standin_zoho.token_delay_seconds = math.inf  # until the watcher has counted the leases
        lease_table = table.metadata.tables[custom + LEASE_SUFFIX]
        seen: list[int] = []

        def count_leases_then_answer() -> None:
            try:
                wait_for(
                    lambda: standin_zoho.calls["token:delayed"] == 1, GENEROUS_S, "the refresh"
                )
                seen.append(_count(engine, lease_table))
            finally:
                standin_zoho.token_delay_seconds = 0

        watcher = threading.Thread(target=count_leases_then_answer)
        watcher.start()
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        watcher.join(GENEROUS_S)

        assert seen == [1]  # the lease lived in the custom table's own lease table
        assert _count(engine, lease_table) == 0
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert "oauthtoken" not in sa.inspect(engine).get_table_names()
        engine.dispose()


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())
