"""One refresh for all: processes and threads sharing a database refresh an expired token once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from backends import backend_params, require_backend
from refresh_setup import ALICE, ALICE_NAME, expire, lease_rows, log_in, row_locked, run_workers
from refresh_workers import WorkerPlan, wait_for
from sdk_helpers import get_leads, lead_descriptions, run_at_once
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import StandInZoho

#: Worker processes: four already meet at the lease as eight would, in half the interpreters.
PROCESSES = 4
THREADS = 8
CALLS = 3
EVERY_CALL_WORKED = [("ok", [[f"fetched by {ALICE_NAME}"]] * CALLS)] * PROCESSES


@pytest.fixture(params=backend_params(pgbouncer=True))
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend, and PostgreSQL through PgBouncer in transaction pooling mode."""
    name: str = request.param
    require_backend(name)
    return name


def plans(
    zoho: StandInZoho, db_url: URL, token_id: str, tmp_path: Path, on: bool
) -> list[WorkerPlan]:
    """One plan per worker: its own SDK and store on the shared database, its own resource dir."""
    return [
        WorkerPlan(
            base_url=zoho.base_url,
            accounts_base_url=zoho.base_url,
            db_url=db_url,
            token_id=token_id,
            workdir=tmp_path / f"worker-{index}",
            refresh_ahead=on,
            calls=CALLS,
        )
        for index in range(PROCESSES)
    ]


@pytest.mark.slow
def test_processes_refresh_an_expired_token_once(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        refresh_token = store.find_token_by_id(token_id).get_refresh_token()
        expire(standin_zoho, db_url, token_id)
        # A slow Zoho: the others wait on the lease for 3 s, polling, holding nothing.
        standin_zoho.token_delay_seconds = 3

        outcomes = run_workers(plans(standin_zoho, db_url, token_id, tmp_path, on=True))

        assert outcomes == EVERY_CALL_WORKED
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert standin_zoho.token_requests == [refresh_token]
        assert lease_rows(db_url) == []  # released with the save
        [stored] = store.get_tokens()
        assert stored.get_id() == token_id
        assert int(stored.get_expires_in()) > 1000 * 3000  # a new hour-long token, saved once


@pytest.mark.slow
def test_without_refresh_ahead_every_process_refreshes_by_itself(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    """The SDK alone: every worker that read the expired token before a save refreshes it too.

    Saves are held back until every worker has asked Zoho, so the workers' reads coincide on every
    run, as they do when a busy site's traffic meets an expiry; unheld runs vary between 1 and all.
    """
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)

        def hold_saves_until_all_asked() -> None:
            with row_locked(db_url, token_id):
                wait_for(
                    lambda: standin_zoho.calls["token:refresh_token"] >= PROCESSES,
                    timeout=150,
                    what="every worker's refresh request",
                )

        outcomes = run_workers(
            plans(standin_zoho, db_url, token_id, tmp_path, on=False), hold_saves_until_all_asked
        )

        assert outcomes == EVERY_CALL_WORKED
        assert standin_zoho.calls["token:refresh_token"] == PROCESSES


def test_threads_in_one_process_share_one_refresh(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        log_in(standin_zoho, store, tmp_path)  # also fetched the field metadata
        [token] = store.get_tokens()
        expire(standin_zoho, db_url, token.get_id())

        results = run_at_once(
            THREADS, lambda _: [lead_descriptions(get_leads()) for _ in range(CALLS)]
        )

        assert results == [[[f"fetched by {ALICE_NAME}"]] * CALLS] * THREADS
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert standin_zoho.calls["records"] == THREADS * CALLS
        assert standin_zoho.refresh_token_owner(token.get_refresh_token()) == ALICE
