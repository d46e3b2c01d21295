"""Several OS processes, each with its own store on one database: no error, no duplicate, no mixing.

Threads share one engine; real deployments run several worker processes (gunicorn, celery), each with
its own engine and pool. Workers (``worker_context``) are released together by a ``Barrier``. On SQLite this
also shows that WAL + busy timeout + ``BEGIN IMMEDIATE`` never surfaces "database is locked".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from multiprocessing.pool import Pool
from multiprocessing.synchronize import Barrier
from typing import Any

import pytest
from sqlalchemy.engine import URL

from databases import url_arg
from process_workers import (
    first_logins_of_many_users,
    first_logins_of_one_user,
    init_worker,
    login_values,
    refresh_and_read_one_row,
    refresh_values,
)
from token_factory import fields_of, full_token
from worker_context import worker_context
from zoho_tokenstore import SQLAlchemyTokenStore

#: One worker pool for the module: its tests stay on one xdist worker.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("processes")]

WORKERS = 6
ROUNDS = 5  # first logins of one user: one new user per round
USERS_PER_WORKER = 10
REFRESH_STEPS = 20
RESULT_TIMEOUT_S = 50.0

Rows = Callable[[], list[dict[str, object]]]


@pytest.fixture(scope="module")
def workers() -> Iterator[tuple[Pool, Barrier]]:
    """``WORKERS`` worker processes sharing one barrier; a step's tasks block there until all start.

    With one task per worker and every task waiting at the barrier, no worker can take a second
    task, so the ``WORKERS`` tasks of a step always run in ``WORKERS`` different processes.
    """
    context = worker_context()
    barrier = context.Barrier(WORKERS)
    pool = context.Pool(WORKERS, initializer=init_worker, initargs=(barrier,))
    try:
        yield pool, barrier
    finally:
        pool.terminate()
        pool.join()


def run_in_workers(
    workers: tuple[Pool, Barrier], work: Callable[..., dict[str, Any]], *args: Any
) -> list[dict[str, Any]]:
    """``work(url, writer, *args)`` in every worker process at once; their results in writer order."""
    pool, barrier = workers
    barrier.reset()  # a broken barrier from an earlier failed test must not fail this one
    tasks = [(args[0], writer, *args[1:]) for writer in range(WORKERS)]
    results: list[dict[str, Any]] = pool.starmap_async(work, tasks, chunksize=1).get(
        RESULT_TIMEOUT_S
    )
    return results


def test_same_user_logging_in_from_many_processes_gets_one_row(
    workers: tuple[Pool, Barrier], db_url: URL, rows: Rows
) -> None:
    results = run_in_workers(workers, first_logins_of_one_user, url_arg(db_url), ROUNDS)

    assert [r["errors"] for r in results] == [[]] * WORKERS
    stored = rows()
    assert len(stored) == ROUNDS  # one row per user, never a duplicate
    for user in range(ROUNDS):
        [row] = [r for r in stored if r["user_name"] == login_values(user, 0)["user_name"]]
        # Every process was told the id of the one row, so its later refreshes update that row.
        assert {r["ids"][user] for r in results} == {row["id"]}
        # The row is one writer's token, whole: no field comes from another writer.
        values = {k: v for k, v in row.items() if k != "id"}
        assert values in [login_values(user, writer) for writer in range(WORKERS)]


def test_different_users_logging_in_from_many_processes_each_get_their_own_row(
    workers: tuple[Pool, Barrier], db_url: URL, rows: Rows
) -> None:
    results = run_in_workers(workers, first_logins_of_many_users, url_arg(db_url), USERS_PER_WORKER)

    assert [r["errors"] for r in results] == [[]] * WORKERS
    expected = [
        {**login_values(user, writer), "id": result["ids"][user]}
        for writer, result in enumerate(results)
        for user in result["ids"]
    ]
    stored = rows()
    assert len(stored) == WORKERS * USERS_PER_WORKER
    assert sorted(stored, key=lambda r: str(r["user_name"])) == sorted(
        expected, key=lambda r: str(r["user_name"])
    )


def test_refreshes_and_reads_of_one_row_from_many_processes_stay_consistent(
    workers: tuple[Pool, Barrier], db_url: URL, rows: Rows
) -> None:
    seed = full_token(1)
    with SQLAlchemyTokenStore(db_url) as store:
        store.save_token(seed)
    seeded = {k: v for k, v in fields_of(seed).items() if v is not None}

    results = run_in_workers(
        workers, refresh_and_read_one_row, url_arg(db_url), seeded, REFRESH_STEPS
    )

    assert [r["errors"] for r in results] == [[]] * WORKERS
    assert sum(r["reads"] for r in results) == 2 * WORKERS * REFRESH_STEPS
    [row] = rows()
    # The last write of all is some writer's last step, complete, on top of the untouched fields.
    last_writes = [{**seeded, **refresh_values(w, REFRESH_STEPS - 1)} for w in range(WORKERS)]
    assert row in last_writes
