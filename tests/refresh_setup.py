"""Shared steps for the refresh-ahead tests: log a user in, then make the stored token expire."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL

from direct_db import set_stored_expiry
from refresh_workers import WorkerPlan, api_worker
from sdk_helpers import get_leads, lead_descriptions, login
from worker_context import worker_context
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.core.model import LEASE_TABLE, TOKEN_TABLE
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.database.profile import EngineProfile
from zoho_tokenstore.testing.standin_zoho import StandInZoho

ALICE = "alice@example.com"
ALICE_NAME = f"{ALICE}:10000001"
LONG_AGO_MS = "1000"  # an expiry in 1970: the stored token is expired for everyone
WORKER_TIMEOUT_S = 180  # per worker result; measured 66 s for eight workers at load average 20


def log_in(zoho: StandInZoho, store: SQLAlchemyTokenStore, workdir: Path) -> str:
    """Alice's first login through the SDK (``sdk_helpers.login``), checked; returns her row's id."""
    zoho.add_user(ALICE)
    token = login(zoho, store, workdir, ALICE)
    assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
    token_id = token.get_id()
    assert isinstance(token_id, str)
    return token_id


def expire(zoho: StandInZoho, db_url: URL, token_id: str) -> None:
    """Expire the stored token and make Zoho forget its access token, so only a refresh helps."""
    set_stored_expiry(db_url, token_id, LONG_AGO_MS)
    zoho.invalidate_access_tokens()
    zoho.reset_counts()


def run_workers(
    plans: list[WorkerPlan], while_running: Callable[[], None] | None = None
) -> list[tuple[str, Any]]:
    """Start one worker process per plan, released together; return each one's outcome."""
    context = worker_context()
    start = context.Barrier(len(plans))
    results = context.Queue()
    processes = [
        context.Process(target=api_worker, args=(plan, start, results), daemon=True)
        for plan in plans
    ]
    for process in processes:
        process.start()
    try:
        if while_running is not None:
            while_running()
        # Generous: the workers initialise the SDK at once, on a busy 2-core machine too.
        return [results.get(timeout=WORKER_TIMEOUT_S) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=20)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)


def lease_rows(db_url: URL) -> list[dict[str, object]]:
    """The refresh lease table's rows, read directly: empty whenever no refresh is running."""
    engine = sa.create_engine(db_url)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(sa.select(LEASE_TABLE)).mappings()]
    engine.dispose()
    return rows


def hold_lease(db_url: URL, token_id: str, seconds: float, holder: str = "another-worker") -> None:
    """Record a lease on the token as another worker (another process, say) would while refreshing."""
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        expires_at = int((time.time() + seconds) * 1000)
        connection.execute(
            sa.insert(LEASE_TABLE).values(token_id=token_id, holder=holder, expires_at=expires_at)
        )
    engine.dispose()


def drop_leases(db_url: URL) -> None:
    """Remove every lease, as their holders would when they finish."""
    engine = sa.create_engine(db_url)
    with engine.begin() as connection:
        connection.execute(sa.delete(LEASE_TABLE))
    engine.dispose()


@contextmanager
def row_locked(db_url: URL, token_id: str) -> Iterator[None]:
    """Hold a write lock on the token's row (SQLite: the database's) for the block, then commit.

    The store itself never holds one across an HTTP call any more; tests use this to hold saves back.
    """
    engine = build_engine(db_url)
    try:
        with EngineProfile.of(engine).begin() as connection:  # SQLite: BEGIN IMMEDIATE
            by_id = sa.select(TOKEN_TABLE.c.id).where(TOKEN_TABLE.c.id == token_id)
            if engine.dialect.name != "sqlite":
                by_id = by_id.with_for_update()
            connection.execute(by_id).all()
            yield
    finally:
        engine.dispose()
