"""Refresh-ahead after a throttled or unanswered refresh: every worker backs off, from the failure
remembered in the row; a still valid token keeps being used; Zoho's limit is never exceeded."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from direct_db import (
    read_rows,
    refresh_failure_columns,
    set_refresh_failure_columns,
    set_stored_expiry,
)
from refresh_setup import ALICE_NAME, expire, lease_rows, log_in, run_workers
from refresh_workers import WorkerPlan
from sdk_helpers import get_leads, lead_descriptions
from token_factory import now_ms
from zoho_tokenstore import RefreshAhead, RefreshFailedError, SQLAlchemyTokenStore
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import StandInZoho


class SteppedClock:
    """Seconds since the epoch that move only when a test says so: back-off without sleeping."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.mark.sqlite  # no database: runs with the quick selection
def test_the_default_back_off_doubles_from_30_s_to_10_minutes() -> None:
    policy = RefreshAhead()
    schedule = [policy.retry_after_seconds(n) for n in range(1, 9)]
    assert schedule == [30, 60, 120, 240, 480, 600, 600, 600]


@pytest.mark.sqlite
def test_a_back_off_that_could_exceed_zohos_limit_is_refused() -> None:
    with pytest.raises(ValueError, match="more than 10 times in 600 s"):
        RefreshAhead(retry_first_seconds=1, retry_max_seconds=60)
    with pytest.raises(ValueError, match="at most retry_max_seconds"):
        RefreshAhead(retry_first_seconds=700, retry_max_seconds=600)
    RefreshAhead(retry_first_seconds=60, retry_max_seconds=60)  # 10 in 10 minutes: allowed


def test_throttling_backs_off_for_every_store_and_clears_once_a_refresh_works(
    standin_zoho: StandInZoho,
    clean_sdk: SdkLogRecorder,
    db_url: URL,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = SteppedClock()
    policy = RefreshAhead(clock=clock)
    with (
        SQLAlchemyTokenStore(db_url, refresh_ahead=policy) as store,
        SQLAlchemyTokenStore(db_url, refresh_ahead=policy) as other_worker,
    ):
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        standin_zoho.refresh_limit = 0  # Zoho answers "Access Denied" to every refresh
        [before] = read_rows(db_url)

        with pytest.raises(RefreshFailedError) as raised:
            get_leads()
        assert raised.value.code == "TOKEN_STORE"
        assert "Access Denied" in raised.value.error_message
        assert "asks Zoho again after" in raised.value.error_message
        assert "(in 30 s)" in raised.value.error_message
        assert standin_zoho.calls["token:throttled"] == 1
        stored = refresh_failure_columns(db_url, token_id)
        failed_at = int(str(stored["refresh_failed_at"]))
        assert stored == {
            "refresh_error": "Access Denied",
            "refresh_failed_at": failed_at,
            "refresh_failures": 1,
            "refresh_retry_at": failed_at + 30_000,
        }

        # Within the back-off nobody asks Zoho: not this worker, not another store.
        clock.now += 29
        for read in (get_leads, lambda: other_worker.find_token_by_id(token_id)):
            with pytest.raises(RefreshFailedError, match=r"Access Denied.*\(in 1 s\)"):
                read()
        assert standin_zoho.calls["token:refresh_token"] == 1

        # Past it one worker asks again; refused again, the next back-off is twice as long.
        clock.now += 2
        with pytest.raises(RefreshFailedError, match="2 time"):
            other_worker.find_token_by_id(token_id)
        assert standin_zoho.calls["token:refresh_token"] == 2
        stored = refresh_failure_columns(db_url, token_id)
        assert stored["refresh_failures"] == 2
        assert stored["refresh_retry_at"] == int(str(stored["refresh_failed_at"])) + 60_000

        # Zoho lifts the throttling; after the back-off the refresh works and the failure is gone.
        standin_zoho.refresh_limit = None
        clock.now += 61
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert standin_zoho.calls["token:refresh_token"] == 3
        assert set(refresh_failure_columns(db_url, token_id).values()) == {None}
        [after] = read_rows(db_url)
        assert after["access_token"] != before["access_token"]
        assert lease_rows(db_url) == []
    logged = [r.getMessage() for r in caplog.records if "refresh-ahead failed" in r.getMessage()]
    assert len(logged) == 2  # one line per request Zoho refused, none per read
    assert all("Access Denied" in line and "a***@example.com" in line for line in logged)


def test_a_still_valid_token_is_used_while_backing_off_and_zoho_is_asked_once(
    standin_zoho: StandInZoho,
    clean_sdk: SdkLogRecorder,
    db_url: URL,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        # Within the 60 s margin, valid for 40 s more: refresh-ahead tries, Zoho throttles.
        set_stored_expiry(db_url, token_id, now_ms(40))
        standin_zoho.refresh_limit = 0
        standin_zoho.reset_counts()

        for _ in range(5):
            assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]

        assert standin_zoho.calls["token:refresh_token"] == 1
        assert standin_zoho.calls["records"] == 5
        assert refresh_failure_columns(db_url, token_id)["refresh_error"] == "Access Denied"
    logged = [r.getMessage() for r in caplog.records if "refresh-ahead failed" in r.getMessage()]
    assert len(logged) == 1 and "using the still valid token meanwhile" in logged[0]


def test_an_expired_token_backing_off_fails_fast_in_other_processes(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
    expire(standin_zoho, db_url, token_id)
    standin_zoho.refresh_limit = 0
    plans = [
        WorkerPlan(
            base_url=standin_zoho.base_url,
            accounts_base_url=standin_zoho.base_url,
            db_url=db_url,
            token_id=token_id,
            workdir=tmp_path / f"worker-{n}",
            calls=1,
        )
        for n in range(3)
    ]

    results = run_workers(plans)

    assert [status for status, _ in results] == ["error"] * 3
    assert all("Access Denied" in str(detail) for _, detail in results), results
    # Released together on the expired token: one asked Zoho, the others read its failure.
    assert standin_zoho.calls["token:refresh_token"] == 1
    assert refresh_failure_columns(db_url, token_id)["refresh_failures"] == 1

    # Once the back-off has passed (set in the row, not slept through), one worker asks again.
    set_refresh_failure_columns(db_url, token_id, refresh_retry_at=now_ms(-1))
    standin_zoho.refresh_limit = None
    results = run_workers(plans)
    assert results == [("ok", [[f"fetched by {ALICE_NAME}"]])] * 3
    assert standin_zoho.calls["token:refresh_token"] == 2
    assert set(refresh_failure_columns(db_url, token_id).values()) == {None}
