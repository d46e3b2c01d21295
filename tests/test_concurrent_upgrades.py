"""Several replicas upgrading one database at once: each entry point waits for the schema lock, so
every process succeeds, the schema is whole and at head, and lookups keep working meanwhile.

Racers are ``spawn``ed processes released together by a ``Barrier`` (docs/schema.md, "Upgrading
with several replicas"); PostgreSQL also runs through PgBouncer in transaction pooling mode.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from multiprocessing.pool import Pool
from multiprocessing.synchronize import Barrier

import pytest
import sqlalchemy as sa
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from backends import backend_params, require_backend
from databases import url_arg
from direct_db import table_names
from pgbouncer import direct_url
from process_workers import init_worker
from token_factory import fields_of, full_token, make_token
from upgrade_workers import (
    open_store_with_auto_upgrade,
    upgrade_from_the_command_line,
    upgrade_now,
    upgrade_with_alembic,
    upgrade_with_the_function,
)
from worker_context import worker_context
from zoho_tokenstore import SQLAlchemyTokenStore, downgrade, upgrade
from zoho_tokenstore.cli.operations.diagnostics import diagnose
from zoho_tokenstore.core.model import TABLE_NAME
from zoho_tokenstore.database import upgrade_lock
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.database.migrations import (
    VERSION_TABLE,
    alembic_config,
    current_revision,
    head_revision,
)
from zoho_tokenstore.database.profile import EngineProfile
from zoho_tokenstore.database.upgrade_lock import locked_transaction

#: One worker pool for the module: its tests stay on one xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("upgrades")]

#: Who races: 8 replicas starting with auto_upgrade=True, 4 release jobs, and the two other entry points.
RACERS: list[Callable[[str], str | None]] = [
    *[open_store_with_auto_upgrade] * 8,
    *[upgrade_from_the_command_line] * 4,
    upgrade_with_the_function,
    upgrade_with_alembic,
]
RESULT_TIMEOUT_S = 240.0
WAIT_S = 120.0
TOKENS = 5


@pytest.fixture(params=backend_params(pgbouncer=True))
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend, and PostgreSQL through PgBouncer in transaction pooling mode."""
    name: str = request.param
    require_backend(name)
    return name


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[Pool, Barrier]]:
    """One worker process per racer, sharing one barrier (see tests/test_processes.py)."""
    context = worker_context()
    barrier = context.Barrier(len(RACERS))
    pool = context.Pool(len(RACERS), initializer=init_worker, initargs=(barrier,))
    try:
        yield pool, barrier
    finally:
        pool.terminate()
        pool.join()


def version_rows(url: URL) -> list[str]:
    engine = sa.create_engine(direct_url(url))
    try:
        with engine.connect() as connection:
            return list(
                connection.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").scalars()
            )
    finally:
        engine.dispose()


def previous_revision() -> str:
    """The revision before head, from the script directory (not a hard-coded id)."""
    script = ScriptDirectory.from_config(alembic_config())
    down = script.get_revision(head_revision()).down_revision
    assert isinstance(down, str)
    return down


def test_every_process_upgrading_a_new_database_at_once_succeeds(
    workers: tuple[Pool, Barrier], empty_db_url: URL
) -> None:
    pool, barrier = workers
    barrier.reset()  # a broken barrier from an earlier failed run must not fail this one
    url = url_arg(empty_db_url)
    pending = [pool.apply_async(racer, (url,)) for racer in RACERS]
    errors = [
        (racer.__name__, p.get(RESULT_TIMEOUT_S)) for racer, p in zip(RACERS, pending, strict=True)
    ]

    assert [e for e in errors if e[1] is not None] == []
    assert version_rows(empty_db_url) == [head_revision()]
    checks = diagnose(empty_db_url)
    assert [c.line() for c in checks if not c.passed] == []


def test_lookups_keep_working_while_another_process_upgrades_a_populated_table(
    workers: tuple[Pool, Barrier], empty_db_url: URL
) -> None:
    upgrade(empty_db_url)
    tokens = [full_token(n) for n in range(1, TOKENS + 1)]
    with SQLAlchemyTokenStore(empty_db_url) as store:
        for token in tokens:
            store.save_token(token)
    expected = [fields_of(token) for token in tokens]
    downgrade(empty_db_url, previous_revision())

    errors: list[str] = []
    rounds = [0]
    stop = threading.Event()
    read_once = threading.Event()  # set after each whole round of lookups

    def read_every_token(reader: SQLAlchemyTokenStore) -> None:
        while not stop.is_set():
            for want in expected:
                try:
                    by_id = fields_of(reader.find_token_by_id(str(want["id"])))
                    probe = make_token(user_name=want["user_name"])
                    found = reader.find_token(probe)
                except Exception as exc:  # noqa: BLE001  # collected, asserted below
                    errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                if by_id != want or found is None or fields_of(found) != want:
                    errors.append(f"read {by_id} / {found and fields_of(found)}, expected {want}")
            rounds[0] += 1
            read_once.set()

    pool, _ = workers
    # An old replica: it reads whichever of the two schemas it meets.
    with SQLAlchemyTokenStore(empty_db_url, check_schema=False, refresh_ahead=False) as reader:
        thread = threading.Thread(target=read_every_token, args=(reader,), daemon=True)
        thread.start()
        try:
            assert read_once.wait(WAIT_S)
            upgraded = pool.apply_async(upgrade_now, (url_arg(empty_db_url),))
            assert upgraded.get(RESULT_TIMEOUT_S) is None
            after = rounds[0] + 1  # the round under way may have begun before the upgrade ended
            while rounds[0] <= after and thread.is_alive():
                read_once.clear()
                read_once.wait(WAIT_S)
        finally:
            stop.set()
            thread.join(WAIT_S)

    assert errors == []
    assert rounds[0] > after  # a whole round of lookups ran on the upgraded table too
    engine = sa.create_engine(direct_url(empty_db_url))
    try:
        assert current_revision(engine) == head_revision()
    finally:
        engine.dispose()


def test_an_upgrade_waits_for_the_lock_of_its_own_table_only(
    workers: tuple[Pool, Barrier], empty_db_url: URL, backend: str
) -> None:
    pool, _ = workers
    url = url_arg(empty_db_url)
    engine = build_engine(empty_db_url)
    try:
        with locked_transaction(EngineProfile.of(engine), TABLE_NAME):
            waiting = pool.apply_async(upgrade_now, (url,))
            if backend != "sqlite":  # SQLite's lock is the whole file's write lock
                other = pool.apply_async(upgrade_now, (url, "other_tokens"))
                assert other.get(RESULT_TIMEOUT_S) is None
            assert not waiting.ready()  # neither done nor failed while the lock is held
        assert waiting.get(RESULT_TIMEOUT_S) is None
    finally:
        engine.dispose()
    assert version_rows(empty_db_url) == [head_revision()]


def test_waiting_too_long_for_the_lock_changes_nothing_and_says_why(
    empty_db_url: URL, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(upgrade_lock, "UPGRADE_LOCK_TIMEOUT_SECONDS", 1)
    engine = build_engine(empty_db_url)
    try:
        with (
            locked_transaction(EngineProfile.of(engine), TABLE_NAME),
            pytest.raises(SDKException) as raised,
        ):
            upgrade(empty_db_url)
    finally:
        engine.dispose()
    assert "waited 1 s for another process's upgrade of it to finish" in raised.value.error_message
    assert "oauthtoken" not in table_names(empty_db_url)
