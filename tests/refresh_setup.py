"""Shared steps for the refresh-ahead tests: log a user in, then make the stored token expire."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL

from direct_db import set_stored_expiry
from refresh_workers import WorkerPlan, api_worker
from sdk_helpers import get_leads, lead_descriptions, login
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.testing.standin_zoho import StandInZoho

ALICE = "alice@example.com"
ALICE_NAME = f"{ALICE}:10000001"
LONG_AGO_MS = "1000"  # an expiry in 1970: the stored token is expired for everyone


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
    """Start one spawned process per plan, released together; return each one's outcome."""
    context = multiprocessing.get_context("spawn")
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
        return [results.get(timeout=60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=20)
            if process.is_alive():
                process.kill()
                process.join(timeout=5)
