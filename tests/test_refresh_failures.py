"""Refresh-ahead when things go wrong: Zoho refuses, Zoho hangs, a worker holds or dies with the lease."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from direct_db import (
    read_rows,
    refresh_failure_columns,
    set_refresh_failure_columns,
    set_stored_expiry,
)
from encryption_helpers import KEY_1
from refresh_setup import ALICE, ALICE_NAME, drop_leases, expire, hold_lease, lease_rows, log_in
from refresh_workers import WorkerPlan, black_hole, environment, lock_holding_worker, wait_for
from sdk_generations import SDK_REVOKE_BROKEN
from sdk_helpers import get_leads, init_sdk, lead_descriptions, login
from token_factory import make_token, now_ms
from worker_context import worker_context
from zoho_tokenstore import RefreshAhead, RefreshFailedError, SQLAlchemyTokenStore, revoke_token
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import StandInZoho


def test_zoho_refusing_an_expired_token_fails_fast_everywhere_until_a_new_login(
    standin_zoho: StandInZoho,
    clean_sdk: SdkLogRecorder,
    db_url: URL,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with SQLAlchemyTokenStore(db_url) as store, SQLAlchemyTokenStore(db_url) as other_worker:
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

        with pytest.raises(SDKException) as first:
            get_leads()
        assert standin_zoho.calls["token:refresh_token"] == 1
        # Later reads, by this worker or another store on the database, fail the same way at once.
        for read in (get_leads, get_leads, lambda: other_worker.find_token_by_id(token_id)):
            with pytest.raises(SDKException) as again:
                read()
            assert again.value.code == "TOKEN_STORE"
            assert "invalid_code" in again.value.error_message
            assert "must consent again" in again.value.error_message
        assert standin_zoho.calls["token:refresh_token"] == 1  # no further request to Zoho
        assert isinstance(first.value, RefreshFailedError)
        assert first.value.code == "TOKEN_STORE"
        assert first.value.failure.error == "invalid_code" and first.value.failure.must_consent
        assert "new grant token" in first.value.error_message
        assert read_rows(db_url) == [before]
        assert lease_rows(db_url) == []
        assert "records" not in standin_zoho.calls
        failure = refresh_failure_columns(db_url, token_id)
        assert failure["refresh_error"] == "invalid_code"
        assert failure["refresh_failures"] == 1 and failure["refresh_retry_at"] is None
        assert abs(int(str(failure["refresh_failed_at"])) - now_ms()) < 3600_000
        # Logged once, by the worker that asked Zoho, with the user masked.
        logged = [
            r.getMessage() for r in caplog.records if "refresh-ahead failed" in r.getMessage()
        ]
        assert len(logged) == 1 and "invalid_code" in logged[0]
        assert "a***@example.com" in logged[0] and ALICE not in caplog.text

        # The user consents again: the new login's save clears the failure, and reads work.
        login(standin_zoho, store, tmp_path, ALICE)
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert set(refresh_failure_columns(db_url, token_id).values()) == {None}
        assert (
            other_worker.find_token_by_id(token_id).get_refresh_token() != before["refresh_token"]
        )


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
        assert "using the still valid token meanwhile" in caplog.text
        assert refresh_failure_columns(db_url, token_id)["refresh_error"] == "invalid_client"


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
        assert "asks Zoho again after" in str(raised.value)
        assert asked(5)  # the SDK's request did reach the endpoint
        assert read_rows(db_url) == [before]
        assert lease_rows(db_url) == []  # free at once, for the next call
        assert refresh_failure_columns(db_url, token_id)["refresh_error"] == "ReadTimeout"

        # Backing off: the next read fails at once, asking nobody; once the back-off has passed
        # (set in the row, not slept through), it refreshes.
        with pytest.raises(RefreshFailedError, match="ReadTimeout"):
            get_leads()
        assert "token:refresh_token" not in standin_zoho.calls
        set_refresh_failure_columns(db_url, token_id, refresh_retry_at=now_ms(-1))
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert set(refresh_failure_columns(db_url, token_id).values()) == {None}


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


def test_with_encryption_keys_the_failure_is_recorded_and_a_new_login_clears_it(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    # The failure is written only while the row holds the refresh token that failed, which with
    # keys is ciphertext: the store matches it by its keyed hash, as lookups do.
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        assert standin_zoho.revoke_user(ALICE) == 1

        for _ in range(3):
            with pytest.raises(RefreshFailedError, match="invalid_code"):
                get_leads()
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert refresh_failure_columns(db_url, token_id)["refresh_error"] == "invalid_code"

        login(standin_zoho, store, tmp_path, ALICE)
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert set(refresh_failure_columns(db_url, token_id).values()) == {None}


def test_a_refusal_answered_after_a_new_login_is_not_recorded_against_the_new_token(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store, SQLAlchemyTokenStore(db_url) as other_worker:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        standin_zoho.revoke_user(ALICE)
        standin_zoho.token_delay_seconds = 2  # Zoho takes its time to answer invalid_code
        [before] = read_rows(db_url)

        with ThreadPoolExecutor(max_workers=1) as pool:
            refreshing = pool.submit(store.find_token_by_id, token_id)
            wait_for(lambda: standin_zoho.calls["token:delayed"] == 1, 10, "the refresh request")
            # Meanwhile the user logs in again: a new refresh token is saved for them.
            new_login = make_token(
                user_name=str(before["user_name"]),
                client_id=str(before["client_id"]),
                client_secret=str(before["client_secret"]),
                refresh_token="1000.after-consent.0123456789abcdef",
                access_token="1000.after-consent-access.0123456789abcdef",
                expiry_time="1000",
            )
            other_worker.save_token(new_login)
            assert new_login.get_id() == token_id
            with pytest.raises(RefreshFailedError, match="invalid_code"):
                refreshing.result(timeout=60)

        # The old token's refusal was not written over the new login: the next read asks Zoho.
        assert set(refresh_failure_columns(db_url, token_id).values()) == {None}
        assert lease_rows(db_url) == []


def test_a_new_login_naming_the_user_is_not_held_back_by_the_old_tokens_failure(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        standin_zoho.revoke_user(ALICE)
        with pytest.raises(RefreshFailedError, match="invalid_code"):
            get_leads()

        # find_token matches the user's row by name first; its dead refresh token must not stand
        # in for the new grant token, which the SDK then exchanges and saves into that row.
        named = OAuthToken(
            client_id=StandInZoho.DEFAULT_CLIENT_ID,
            client_secret=StandInZoho.DEFAULT_CLIENT_SECRET,
            grant_token=standin_zoho.issue_grant_code(ALICE),
            user_signature=UserSignature(ALICE_NAME),
        )
        init_sdk(standin_zoho, named, store, tmp_path)
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]

        assert standin_zoho.calls["token:authorization_code"] == 1
        assert standin_zoho.calls["token:refresh_token"] == 1
        [row] = read_rows(db_url)
        assert row["id"] == token_id
        assert set(refresh_failure_columns(db_url, token_id).values()) == {None}
