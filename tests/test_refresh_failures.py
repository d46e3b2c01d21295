"""Refresh-ahead when things go wrong: Zoho refuses, Zoho hangs, a worker holds or dies with the lease."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from direct_db import read_rows, set_stored_expiry
from refresh_setup import ALICE_NAME, drop_leases, expire, hold_lease, lease_rows, log_in
from refresh_workers import WorkerPlan, black_hole, environment, lock_holding_worker
from sdk_generations import SDK_REVOKE_BROKEN
from sdk_helpers import get_leads, lead_descriptions
from token_factory import now_ms
from worker_context import worker_context
from zoho_tokenstore import RefreshAhead, SQLAlchemyTokenStore, revoke_token
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import StandInZoho


def test_zoho_refusing_an_expired_token_raises_the_sdks_error_and_keeps_the_row(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        # revoke() looks the token up by id: that must not refresh it first. (The SDK's own
        # revoke where it works; zohocrmsdk7_0/6_0's fails before reaching any store.)
        if SDK_REVOKE_BROKEN:
            assert revoke_token(token_id) is True
        else:
            assert OAuthToken(id=token_id).revoke(token_id) is True
        assert standin_zoho.calls == {"revoke": 1}
        [before] = read_rows(db_url)

        for attempt in (1, 2):  # the lease was released: the second call is refused the same way
            with pytest.raises(SDKException) as raised:
                get_leads()
            # Exactly what the SDK raises when it refreshes by itself, so handlers keep working.
            assert (raised.value.code, raised.value.error_message) == (
                "INVALID TOKEN ERROR",
                "invalid_code",
            )
            assert standin_zoho.calls["token:refresh_token"] == attempt
        assert read_rows(db_url) == [before]
        assert lease_rows(db_url) == []
        assert "records" not in standin_zoho.calls


def test_a_failed_early_refresh_keeps_using_the_still_valid_token(
    standin_zoho: StandInZoho,
    clean_sdk: SdkLogRecorder,
    db_url: URL,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        standin_zoho.reset_counts()
        # Within the 60 s margin but valid for 30 s more; Zoho now refuses this client's refreshes.
        set_stored_expiry(db_url, token_id, now_ms(30))
        standin_zoho.add_client("1000.STANDINCLIENTID0000000000000", "rotated-secret")
        [before] = read_rows(db_url)

        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]

        assert standin_zoho.calls["token:refresh_token"] == 1
        assert read_rows(db_url) == [before]
        assert "refresh-ahead failed; using the still valid token" in caplog.text


def test_waiting_for_another_workers_refresh_past_its_bound_fails_clearly(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
    expire(standin_zoho, db_url, token_id)
    impatient = RefreshAhead(lock_timeout_seconds=1)
    with SQLAlchemyTokenStore(db_url, refresh_ahead=impatient) as waiter:
        # Another worker (another process, say) is refreshing: it holds the token's lease.
        hold_lease(db_url, token_id, seconds=60)
        started = time.monotonic()
        with pytest.raises(SDKException) as raised:
            waiter.find_token_by_id(token_id)
        waited = time.monotonic() - started
        assert raised.value.code == "TOKEN_STORE"
        assert "another worker held the token's refresh for more than 1 s" in str(raised.value)
        assert waited > 0.5  # it waited (a lower bound: a busy machine only makes it longer)
        # It gave up at its bound, well before the 60 s lease: nothing taken over, nothing asked.
        assert [lease["holder"] for lease in lease_rows(db_url)] == ["another-worker"]
        assert "token:refresh_token" not in standin_zoho.calls

        # Once the lease is released, the same call refreshes.
        drop_leases(db_url)
        fresh = waiter.find_token_by_id(token_id)
        assert int(fresh.get_expires_in()) > now_ms(3000)
        [row] = read_rows(db_url)
        assert fresh.get_access_token() == row["access_token"]
        assert standin_zoho.calls["token:refresh_token"] == 1


def test_a_hanging_token_endpoint_is_abandoned_and_the_lease_released(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    quick = RefreshAhead(request_timeout_seconds=1)
    with SQLAlchemyTokenStore(db_url, refresh_ahead=quick) as store, black_hole() as (hole, asked):
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        [before] = read_rows(db_url)
        try:
            with pytest.raises(SDKException) as raised:
                Initializer.switch_user(
                    environment=environment(standin_zoho.base_url, hole),
                    token=OAuthToken(id=token_id),
                )
        finally:
            Initializer.LOCAL.init = None
        assert raised.value.code == "TOKEN_STORE"
        assert "token endpoint did not answer within 1 s" in str(raised.value)
        assert asked(5)  # the SDK's request did reach the endpoint
        assert read_rows(db_url) == [before]
        assert lease_rows(db_url) == []  # free at once, for the next call

        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert standin_zoho.calls["token:refresh_token"] == 1


@pytest.mark.slow
def test_a_killed_refresher_holds_others_back_only_until_its_lease_expires(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
    expire(standin_zoho, db_url, token_id)
    context = worker_context()
    # A 2 s request bound (a 9 s lease): the worker is killed the moment its request arrives.
    dying = RefreshAhead(request_timeout_seconds=2, lock_timeout_seconds=30)
    with black_hole() as (hole, asked):
        plan = WorkerPlan(
            base_url=standin_zoho.base_url,
            accounts_base_url=hole,
            db_url=db_url,
            token_id=token_id,
            workdir=tmp_path / "killed",
            refresh_ahead=dying,
        )
        process = context.Process(target=lock_holding_worker, args=(plan,), daemon=True)
        process.start()
        try:
            # It is inside the refresh (so it holds the lease) once its request reaches the hole.
            assert asked(60), "the worker never asked the token endpoint"
        finally:
            process.kill()
            process.join(timeout=10)
        assert not process.is_alive()
    [lease] = lease_rows(db_url)  # the dead worker's lease outlives it
    assert lease["token_id"] == token_id

    impatient = RefreshAhead(lock_timeout_seconds=1)
    with SQLAlchemyTokenStore(db_url, refresh_ahead=impatient) as waiter:
        with pytest.raises(SDKException) as raised:
            waiter.find_token_by_id(token_id)
        assert "held the token's refresh" in str(raised.value)

    # Once the lease expires (2 x 2 s + 5 s after the claim), the next worker takes it over.
    patient = RefreshAhead(lock_timeout_seconds=dying.lease_seconds + 60)
    with SQLAlchemyTokenStore(db_url, refresh_ahead=patient) as store:
        fresh = store.find_token_by_id(token_id)
    assert now_ms() >= int(lease["expires_at"])  # it waited for the expiry, took nothing earlier
    assert int(fresh.get_expires_in()) > now_ms(3000)
    assert standin_zoho.calls["token:refresh_token"] == 1
    assert lease_rows(db_url) == []
