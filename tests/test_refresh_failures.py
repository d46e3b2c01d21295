"""Refresh-ahead when things go wrong: Zoho refuses, Zoho hangs, a worker holds or dies with the lock."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from direct_db import read_rows, set_stored_expiry
from refresh_setup import ALICE_NAME, expire, log_in
from refresh_workers import WorkerPlan, black_hole, environment, lock_holding_worker
from sdk_helpers import SdkLogRecorder, get_leads, lead_descriptions
from token_factory import now_ms
from zoho_tokenstore import RefreshAhead, SQLAlchemyTokenStore
from zoho_tokenstore.model import TOKEN_TABLE
from zoho_tokenstore.row_lock import locked_row
from zoho_tokenstore.testing.standin_zoho import StandInZoho


def test_zoho_refusing_an_expired_token_raises_the_sdks_error_and_keeps_the_row(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        # revoke() looks the token up by id: that must not refresh it first.
        assert OAuthToken(id=token_id).revoke(token_id) is True
        assert standin_zoho.calls == {"revoke": 1}
        [before] = read_rows(db_url)

        for attempt in (1, 2):  # the lock was released: the second call is refused the same way
            with pytest.raises(SDKException) as raised:
                get_leads()
            # Exactly what the SDK raises when it refreshes by itself, so handlers keep working.
            assert (raised.value.code, raised.value.error_message) == (
                "INVALID TOKEN ERROR",
                "invalid_code",
            )
            assert standin_zoho.calls["token:refresh_token"] == attempt
        assert read_rows(db_url) == [before]
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


def test_waiting_for_a_lock_past_its_bound_fails_clearly(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
    expire(standin_zoho, db_url, token_id)
    impatient = RefreshAhead(lock_timeout_seconds=1)
    with SQLAlchemyTokenStore(db_url, refresh_ahead=impatient) as waiter:
        # Another worker is refreshing: it holds the row's lock.
        with locked_row(waiter.engine, TOKEN_TABLE, token_id, timeout_s=5):
            started = time.monotonic()
            with pytest.raises(SDKException) as raised:
                waiter.find_token_by_id(token_id)
            waited = time.monotonic() - started
        assert raised.value.code == "TOKEN_STORE"
        assert "another worker held the token's lock for more than 1 s" in str(raised.value)
        assert 0.5 < waited < 8
        assert "token:refresh_token" not in standin_zoho.calls

        # Once the lock is free, the same call refreshes.
        fresh = waiter.find_token_by_id(token_id)
        assert int(fresh.get_expires_in()) > now_ms(3000)
        [row] = read_rows(db_url)
        assert fresh.get_access_token() == row["access_token"]
        assert standin_zoho.calls["token:refresh_token"] == 1


def test_a_hanging_token_endpoint_is_abandoned_and_the_lock_released(
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
        with locked_row(store.engine, TOKEN_TABLE, token_id, timeout_s=1):
            pass  # free at once

        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert standin_zoho.calls["token:refresh_token"] == 1


@pytest.mark.slow
def test_a_killed_refresher_leaves_no_lock_behind(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
    expire(standin_zoho, db_url, token_id)
    context = multiprocessing.get_context("spawn")
    with black_hole() as (hole, asked):
        plan = WorkerPlan(
            base_url=standin_zoho.base_url,
            accounts_base_url=hole,
            db_url=db_url,
            token_id=token_id,
            workdir=tmp_path / "killed",
            refresh_ahead=RefreshAhead(request_timeout_seconds=120, lock_timeout_seconds=130),
        )
        process = context.Process(target=lock_holding_worker, args=(plan,), daemon=True)
        process.start()
        try:
            # It is inside the refresh (so it holds the lock) once its request reaches the hole.
            assert asked(60), "the worker never asked the token endpoint"
            impatient = RefreshAhead(lock_timeout_seconds=1)
            with SQLAlchemyTokenStore(db_url, refresh_ahead=impatient) as waiter:
                with pytest.raises(SDKException) as raised:
                    waiter.find_token_by_id(token_id)
                assert "held the token's lock" in str(raised.value)
        finally:
            process.kill()
            process.join(timeout=10)
        assert not process.is_alive()

    # The dead worker's transaction, and with it the lock, ended with its connection.
    with SQLAlchemyTokenStore(db_url, refresh_ahead=RefreshAhead(lock_timeout_seconds=10)) as store:
        fresh = store.find_token_by_id(token_id)
    assert int(fresh.get_expires_in()) > now_ms(3000)
    assert standin_zoho.calls["token:refresh_token"] == 1
