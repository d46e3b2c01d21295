"""Refresh-ahead in one process: when it refreshes, what it costs on the hot path, SDK flows with it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from direct_db import set_stored_expiry
from refresh_setup import ALICE, ALICE_NAME, expire, log_in
from sdk_helpers import get_leads, init_sdk, lead_descriptions
from statement_log import StatementLog
from token_factory import fields_of, full_token, now_ms
from zoho_tokenstore import RefreshAhead, SQLAlchemyTokenStore
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import StandInZoho


def test_a_fresh_token_is_still_read_in_one_statement(
    store: SQLAlchemyTokenStore, statements: StatementLog, clean_sdk: SdkLogRecorder
) -> None:
    token = full_token(1, expiry_time=str(now_ms(3600)))
    store.save_token(token)
    restart = OAuthToken(
        client_id=token.get_client_id(),
        client_secret=token.get_client_secret(),
        refresh_token=token.get_refresh_token(),
    )

    statements.recording = True
    store.find_token_by_id(token.get_id())
    store.find_token(restart)

    assert len(statements.statements) == 2
    assert restart.get_access_token() == token.get_access_token()


def test_without_an_initialised_sdk_a_stale_token_is_returned_as_stored(
    store: SQLAlchemyTokenStore, statements: StatementLog, clean_sdk: SdkLogRecorder
) -> None:
    token = full_token(1, expiry_time="1000")
    store.save_token(token)

    statements.recording = True
    found = store.find_token_by_id(token.get_id())

    assert len(statements.statements) == 1
    assert fields_of(found) == fields_of(token)


@pytest.mark.parametrize(
    ("seconds_left", "refreshed"),
    [(-10, True), (3, True), (30, True), (120, False)],
)
def test_the_store_refreshes_within_its_margin_and_not_before(
    standin_zoho: StandInZoho,
    clean_sdk: SdkLogRecorder,
    db_url: URL,
    tmp_path: Path,
    seconds_left: int,
    refreshed: bool,
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        set_stored_expiry(db_url, token_id, now_ms(seconds_left))
        standin_zoho.reset_counts()

        found = store.find_token_by_id(token_id)

        assert standin_zoho.calls["token:refresh_token"] == (1 if refreshed else 0)
        left_ms = int(found.get_expires_in()) - now_ms()
        assert (left_ms > 3000_000) is refreshed
        [stored] = store.get_tokens()
        assert stored.get_access_token() == found.get_access_token()


def test_restart_with_a_refresh_token_refreshes_once_in_the_store_then_remove(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        [before] = store.get_tokens()
        expire(standin_zoho, db_url, token_id)
        Initializer.initializer = None  # a new process starting from configuration

        restart = OAuthToken(
            client_id=before.get_client_id(),
            client_secret=before.get_client_secret(),
            refresh_token=before.get_refresh_token(),
        )
        init_sdk(standin_zoho, restart, store, tmp_path)
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]

        assert standin_zoho.calls["token:refresh_token"] == 1
        [after] = store.get_tokens()
        assert after.get_id() == token_id
        assert restart.get_id() == token_id
        assert restart.get_access_token() == after.get_access_token() != before.get_access_token()
        # remove() deletes by the id find_token filled in.
        assert Initializer.get_initializer().token.remove() is True
        assert store.get_tokens() == []


def test_switch_user_and_an_access_token_login_get_the_refreshed_token(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        [before] = store.get_tokens()
        expire(standin_zoho, db_url, token_id)
        # Matched by its (now stale) access token: the store must hand out the new one instead.
        by_access = OAuthToken(access_token=before.get_access_token())
        try:
            Initializer.switch_user(token=by_access)
            assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        finally:
            Initializer.LOCAL.init = None
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert by_access.get_access_token() != before.get_access_token()
        assert [t.get_user_signature().get_name() for t in store.get_tokens()] == [ALICE_NAME]


def test_with_refresh_ahead_off_the_sdk_refreshes_and_saves_by_itself(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(db_url, refresh_ahead=False) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        set_stored_expiry(
            db_url, token_id, now_ms(30)
        )  # inside the store's margin, outside the SDK's
        standin_zoho.reset_counts()
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert "token:refresh_token" not in standin_zoho.calls

        expire(standin_zoho, db_url, token_id)
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        assert standin_zoho.calls["token:refresh_token"] == 1
        [stored] = store.get_tokens()
        assert int(stored.get_expires_in()) > now_ms(3000)
        assert standin_zoho.refresh_token_owner(stored.get_refresh_token()) == ALICE


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"margin_seconds": 5}, "must exceed the SDK's own 5 s"),
        ({"lock_timeout_seconds": 0}, "must be positive"),
        ({"request_timeout_seconds": -1}, "must be positive"),
    ],
)
def test_refresh_ahead_refuses_settings_that_cannot_work(
    options: dict[str, float], problem: str
) -> None:
    with pytest.raises(ValueError, match=problem):
        RefreshAhead(**options)
