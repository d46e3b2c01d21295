"""Every SDK flow a user relies on, with the real SDK (8_0, 7_0, 6_0 or 5_0) driving the store, on every backend.

The SDK talks to the local ``StandInZoho`` (no account, no internet). Each test asserts what a user
would see: the rows in the table, their fields, and the requests Zoho received. The ``sdk_log``
guard (through ``clean_sdk``) fails any test in which the SDK swallowed a store error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from backends import backend_params, require_backend
from direct_db import set_stored_expiry
from sdk_generations import (
    USER_LOOKUP_CALLS,
    sdk_keeps_the_named_users_row,
    sdk_revoke_cannot_work,
    sdk_save_errors_propagate,
)
from sdk_helpers import (
    error_code,
    get_leads,
    init_sdk,
    lead_descriptions,
    login,
    run_at_once,
)
from token_factory import now_ms
from zoho_tokenstore import SQLAlchemyTokenStore, revoke_token, upgrade
from zoho_tokenstore.core.model import OAuthTokenRow
from zoho_tokenstore.sdk.state import reset_sdk_state
from zoho_tokenstore.sdk.tokens import SDK_FINDS_USER
from zoho_tokenstore.testing.pytest_plugin import fail_on_sdk_errors
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import StandInZoho

ALICE, ALICE_ZGID = "alice@example.com", "777"
BOB, BOB_ZGID = "bob@example.com", "888"
ALICE_NAME, BOB_NAME = f"{ALICE}:{ALICE_ZGID}", f"{BOB}:{BOB_ZGID}"
HTTP_TIMEOUT_S = 5.0
HOUR_MS = 3600 * 1000

Rows = Callable[[], list[dict[str, Any]]]
TABLE = OAuthTokenRow.__table__


@pytest.fixture(params=backend_params(pgbouncer=True))
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend, and PostgreSQL through PgBouncer in transaction pooling mode."""
    name: str = request.param
    require_backend(name)
    return name


@pytest.fixture
def zoho() -> Iterator[StandInZoho]:
    """The stand-in with Alice and Bob, on a frozen server clock.

    The SDK decides expiry from the stored expiry_time and the wall clock; freezing the server's
    clock means a token the SDK just refreshed is never rejected by the server on a slow machine.
    """
    with StandInZoho(clock=lambda: 0.0) as server:
        server.add_user(ALICE, zgid=ALICE_ZGID)
        server.add_user(BOB, zgid=BOB_ZGID)
        yield server


def restart() -> None:
    """Forget everything the SDK holds in memory, as a new process would."""
    reset_sdk_state()


def leads_caller() -> str:
    """Which user the stand-in says made a ``get_records`` call."""
    [description] = lead_descriptions(get_leads())
    return description.removeprefix("fetched by ")


def assert_fresh_expiry(row: dict[str, Any], lifetime_ms: int = HOUR_MS) -> None:
    """The row's expiry is the SDK's digit string, ``lifetime_ms`` from about now."""
    expiry = row["expiry_time"]
    assert isinstance(expiry, str) and expiry.isdigit(), expiry
    assert now_ms() + lifetime_ms - 60_000 < int(expiry) <= now_ms() + lifetime_ms


def token_endpoint_calls(zoho: StandInZoho) -> dict[str, int]:
    calls = zoho.calls
    return {k: calls[k] for k in ("token:authorization_code", "token:refresh_token")}


# -- logging in, restarting, expiring ---------------------------------------------------------


def test_first_login_exchanges_the_grant_code_and_stores_one_complete_row(
    zoho: StandInZoho, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object, tmp_path: Path
) -> None:
    token = zoho.grant_token(ALICE)
    code = token.get_grant_token()
    init_sdk(zoho, token, store, tmp_path)
    # One exchange, then the SDK names the user (users + org; 5_0: the app named her) and saves.
    assert zoho.calls == {"token:authorization_code": 1, **USER_LOOKUP_CALLS}
    [row] = rows()
    assert row["id"] == token.get_id()  # the store set the new id on the SDK's token
    assert row["user_name"] == ALICE_NAME
    assert (row["client_id"], row["client_secret"]) == (
        zoho.DEFAULT_CLIENT_ID,
        zoho.DEFAULT_CLIENT_SECRET,
    )
    assert row["grant_token"] == code
    assert zoho.refresh_token_owner(row["refresh_token"]) == ALICE
    assert row["access_token"] and row["access_token"] != row["refresh_token"]
    assert row["api_domain"] == zoho.base_url
    assert_fresh_expiry(row)

    assert leads_caller() == ALICE_NAME
    assert leads_caller() == ALICE_NAME
    # A valid token is only read: nothing refreshed, nothing rewritten.
    assert token_endpoint_calls(zoho) == {"token:authorization_code": 1, "token:refresh_token": 0}
    assert rows() == [row]


def test_restart_with_only_the_refresh_token_reuses_the_row(
    zoho: StandInZoho, db_url: URL, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object,
    tmp_path: Path,
) -> None:  # fmt: skip
    login(zoho, store, tmp_path, ALICE)
    [before] = rows()
    restart()
    zoho.reset_counts()
    with SQLAlchemyTokenStore(db_url) as new_store:
        token = zoho.refresh_token(before["refresh_token"])
        init_sdk(zoho, token, new_store, tmp_path)
        assert token.get_id() == before["id"]  # find_token filled the caller's token in place
        assert leads_caller() == ALICE_NAME
    # The stored access token was still valid: no exchange, no refresh, no user lookup, no write.
    assert token_endpoint_calls(zoho) == {"token:authorization_code": 0, "token:refresh_token": 0}
    assert zoho.calls["users"] == 0
    assert rows() == [before]


@pytest.mark.parametrize("how", ["short-lived token", "stored expiry edited"])
def test_an_expired_access_token_is_refreshed_once_into_the_same_row(
    zoho: StandInZoho, db_url: URL, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object,
    tmp_path: Path, how: str,
) -> None:  # fmt: skip
    if how == "short-lived token":
        zoho.expires_in = 1  # the SDK refreshes within 5 s of the stored expiry
        login(zoho, store, tmp_path, ALICE)
        zoho.expires_in = 3600
    else:
        login(zoho, store, tmp_path, ALICE)
        set_stored_expiry(db_url, rows()[0]["id"], now_ms() - 1)
    zoho.invalidate_access_tokens()  # the old access token would now be refused
    [before] = rows()
    zoho.reset_counts()

    assert leads_caller() == ALICE_NAME
    assert leads_caller() == ALICE_NAME

    assert token_endpoint_calls(zoho) == {"token:authorization_code": 0, "token:refresh_token": 1}
    assert zoho.token_requests == [before["refresh_token"]]
    [after] = rows()
    assert after["id"] == before["id"]
    assert after["access_token"] != before["access_token"]
    assert_fresh_expiry(after)
    unchanged = {k: v for k, v in before.items() if k not in ("access_token", "expiry_time")}
    assert {k: after[k] for k in unchanged} == unchanged


# -- the other ways to initialize -------------------------------------------------------------


def test_init_by_id_uses_the_stored_token(
    zoho: StandInZoho, db_url: URL, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object,
    tmp_path: Path,
) -> None:  # fmt: skip
    login(zoho, store, tmp_path, ALICE)
    [row] = rows()
    restart()
    zoho.reset_counts()
    with SQLAlchemyTokenStore(db_url) as new_store:
        init_sdk(zoho, OAuthToken(id=row["id"]), new_store, tmp_path)
        assert leads_caller() == ALICE_NAME
        # Expired later: the id alone is enough to refresh, with the stored client and refresh token.
        set_stored_expiry(db_url, row["id"], now_ms() - 1)
        assert leads_caller() == ALICE_NAME
    assert zoho.token_requests == [row["refresh_token"]]
    assert token_endpoint_calls(zoho) == {"token:authorization_code": 0, "token:refresh_token": 1}
    [after] = rows()
    assert after["id"] == row["id"]
    assert after["access_token"] != row["access_token"]


def test_init_by_user_signature_finds_the_users_row(
    zoho: StandInZoho, db_url: URL, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object,
    tmp_path: Path,
) -> None:  # fmt: skip
    login(zoho, store, tmp_path, ALICE)
    login(zoho, store, tmp_path, BOB)
    restart()
    zoho.reset_counts()
    before = rows()
    with SQLAlchemyTokenStore(db_url) as new_store:
        token = OAuthToken(user_signature=UserSignature(BOB_NAME))
        init_sdk(zoho, token, new_store, tmp_path)
        assert token.get_id() == next(r["id"] for r in before if r["user_name"] == BOB_NAME)
        assert leads_caller() == BOB_NAME
    assert token_endpoint_calls(zoho) == {"token:authorization_code": 0, "token:refresh_token": 0}
    assert rows() == before


def test_init_by_bare_email_is_the_sdks_mandatory_value_error(
    zoho: StandInZoho, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object, tmp_path: Path
) -> None:
    login(zoho, store, tmp_path, ALICE)
    restart()
    # The SDK names users "<email>:<zgid>", so a bare email matches no row (contract §3).
    with pytest.raises(SDKException) as raised:
        init_sdk(zoho, OAuthToken(user_signature=UserSignature(ALICE)), store, tmp_path)
    assert raised.value.code == "MANDATORY VALUE ERROR"
    assert [r["user_name"] for r in rows()] == [ALICE_NAME]


def test_access_token_only_init_saves_a_row_without_refresh_token(
    zoho: StandInZoho, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object, tmp_path: Path
) -> None:
    answer = requests.post(
        zoho.base_url + "/oauth/v2/token",
        data={
            "grant_type": "authorization_code",
            "client_id": zoho.DEFAULT_CLIENT_ID,
            "client_secret": zoho.DEFAULT_CLIENT_SECRET,
            "code": zoho.issue_grant_code(ALICE),
        },
        timeout=HTTP_TIMEOUT_S,
    ).json()
    zoho.reset_counts()
    token = OAuthToken(access_token=answer["access_token"])
    init_sdk(zoho, token, store, tmp_path)
    # First use of an access token: no token request, the SDK only names the user, then saves
    # (zohocrmsdk5_0 saves it nameless: it never asks Zoho who the user is).
    assert zoho.calls == USER_LOOKUP_CALLS
    [row] = rows()
    assert row["id"] == token.get_id()
    assert (row["access_token"], row["user_name"], row["api_domain"]) == (
        answer["access_token"],
        ALICE_NAME if SDK_FINDS_USER else None,
        zoho.base_url,
    )
    no_values = ("refresh_token", "grant_token", "client_id", "client_secret", "expiry_time")
    assert {k: row[k] for k in no_values} == dict.fromkeys(no_values)
    assert leads_caller() == ALICE_NAME
    assert leads_caller() == ALICE_NAME
    assert rows() == [row]  # saved once, on first use only


# -- several users ------------------------------------------------------------------------------


def test_switch_user_makes_each_call_with_that_users_token(
    zoho: StandInZoho, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object, tmp_path: Path
) -> None:
    alice = login(zoho, store, tmp_path, ALICE)
    assert leads_caller() == ALICE_NAME
    Initializer.switch_user(token=zoho.grant_token(BOB))
    assert leads_caller() == BOB_NAME
    Initializer.switch_user(token=OAuthToken(id=alice.get_id()))
    assert leads_caller() == ALICE_NAME
    stored = {r["user_name"]: r for r in rows()}
    assert set(stored) == {ALICE_NAME, BOB_NAME}
    for name, email in ((ALICE_NAME, ALICE), (BOB_NAME, BOB)):
        assert zoho.refresh_token_owner(stored[name]["refresh_token"]) == email
    assert zoho.calls["records"] == 3
    assert zoho.calls["token:authorization_code"] == 2


@pytest.mark.parametrize(
    "revoke",
    [
        pytest.param(lambda token, token_id: token.revoke(token_id), id="sdk-revoke", marks=sdk_revoke_cannot_work),
        pytest.param(lambda token, token_id: revoke_token(token_id), id="revoke_token"),
    ],
)  # fmt: skip
def test_revoke_sends_only_that_users_refresh_token(
    zoho: StandInZoho, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object, tmp_path: Path,
    revoke: Callable[[OAuthToken, str], bool],
) -> None:  # fmt: skip
    alice = login(zoho, store, tmp_path, ALICE)
    bob = zoho.grant_token(BOB)
    Initializer.switch_user(token=bob)
    assert leads_caller() == BOB_NAME
    Initializer.switch_user(token=alice)  # back to Alice: revoke works on any stored id
    before = {r["user_name"]: r for r in rows()}

    assert revoke(alice, bob.get_id()) is True

    assert zoho.revoked_refresh_tokens == [before[BOB_NAME]["refresh_token"]]
    assert {r["user_name"]: r for r in rows()} == before  # revoke does not delete the row
    assert leads_caller() == ALICE_NAME  # Alice's tokens still work
    Initializer.switch_user(token=OAuthToken(id=bob.get_id()))
    response = get_leads()  # Bob's access token died with his refresh token
    assert (response.get_status_code(), error_code(response)) == (401, "INVALID_TOKEN")


def test_remove_deletes_exactly_that_users_row(
    zoho: StandInZoho, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object, tmp_path: Path
) -> None:
    alice = login(zoho, store, tmp_path, ALICE)
    bob = zoho.grant_token(BOB)
    Initializer.switch_user(token=bob)
    assert {r["user_name"] for r in rows()} == {ALICE_NAME, BOB_NAME}

    assert bob.remove() is True

    assert [r["user_name"] for r in rows()] == [ALICE_NAME]
    assert bob.remove() is False  # the row is gone; the SDK turns the store's error into False
    Initializer.switch_user(token=alice)
    assert leads_caller() == ALICE_NAME
    assert zoho.revoked_refresh_tokens == []  # remove() never revokes at Zoho


@sdk_keeps_the_named_users_row
def test_a_second_consent_of_the_same_user_updates_the_row(
    zoho: StandInZoho, db_url: URL, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object,
    tmp_path: Path,
) -> None:  # fmt: skip
    login(zoho, store, tmp_path, ALICE)
    [first] = rows()
    restart()
    with SQLAlchemyTokenStore(db_url) as new_store:
        second = login(zoho, new_store, tmp_path, ALICE)
        assert leads_caller() == ALICE_NAME
    [row] = rows()
    assert row["id"] == first["id"] == second.get_id()
    assert row["grant_token"] == second.get_grant_token() != first["grant_token"]
    assert row["refresh_token"] != first["refresh_token"]
    assert zoho.refresh_token_owner(row["refresh_token"]) == ALICE
    assert zoho.calls["token:authorization_code"] == 2


# -- threads ----------------------------------------------------------------------------------


def test_eight_threads_share_one_refresh_when_the_token_expires(
    zoho: StandInZoho, db_url: URL, store: SQLAlchemyTokenStore, rows: Rows, clean_sdk: object,
    tmp_path: Path,
) -> None:  # fmt: skip
    # The default store refreshes ahead through its refresh lease: 24 calls racing an expiry, one refresh.
    login(zoho, store, tmp_path, ALICE)
    assert leads_caller() == ALICE_NAME  # field metadata is fetched before the threads start
    [before] = rows()
    set_stored_expiry(db_url, before["id"], now_ms() - 1)
    zoho.reset_counts()

    results = run_at_once(8, lambda _: [leads_caller() for _ in range(3)])

    assert results == [[ALICE_NAME] * 3] * 8
    assert zoho.calls["records"] == 24
    assert zoho.calls["token:refresh_token"] == 1
    [after] = rows()
    assert (after["id"], after["user_name"]) == (before["id"], ALICE_NAME)
    assert after["access_token"] != before["access_token"]
    assert_fresh_expiry(after)


def test_eight_threads_calling_while_the_token_keeps_expiring(
    zoho: StandInZoho, db_url: URL, rows: Rows, clean_sdk: object, tmp_path: Path
) -> None:
    # The SDK's own refresh path under stress (refresh-ahead off): every request refreshes and
    # saves the same row concurrently.
    with SQLAlchemyTokenStore(db_url, refresh_ahead=False) as store:
        _refresh_on_every_call_from_eight_threads(zoho, store, db_url, rows, tmp_path)


def _refresh_on_every_call_from_eight_threads(
    zoho: StandInZoho, store: SQLAlchemyTokenStore, db_url: URL, rows: Rows, tmp_path: Path
) -> None:
    login(zoho, store, tmp_path, ALICE)
    assert leads_caller() == ALICE_NAME  # field metadata is fetched before the threads start
    [before] = rows()
    # The token expires, and every new access token expires within the SDK's 5 s margin, so every
    # request refreshes and saves: 24 concurrent find_token_by_id + refresh + save_token, one row.
    set_stored_expiry(db_url, before["id"], now_ms() - 1)
    zoho.expires_in = 1
    zoho.reset_counts()

    results = run_at_once(8, lambda _: [leads_caller() for _ in range(3)])

    assert results == [[ALICE_NAME] * 3] * 8
    assert zoho.calls["records"] == 24
    assert zoho.calls["token:refresh_token"] == 24
    assert set(zoho.token_requests) == {before["refresh_token"]}
    [after] = rows()
    assert (after["id"], after["user_name"]) == (before["id"], ALICE_NAME)
    assert_fresh_expiry(after, lifetime_ms=1000)
    # Whichever save came last left a working token: one refresh, then none.
    zoho.expires_in = 3600
    zoho.reset_counts()
    assert [leads_caller(), leads_caller()] == [ALICE_NAME] * 2
    assert zoho.calls["token:refresh_token"] == 1


# -- a failing save must not pass silently ----------------------------------------------------


class TableDroppedBeforeSave(SQLAlchemyTokenStore):
    """A store whose table disappears between the SDK's lookup and its save_token."""

    def find_token(self, token: OAuthToken) -> OAuthToken | None:
        found = super().find_token(token)
        TABLE.drop(self.engine)
        return found


@sdk_save_errors_propagate()
def test_a_failing_save_is_made_visible_and_would_fail_the_flow_test(
    zoho: StandInZoho, empty_db_url: URL, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    upgrade(empty_db_url)
    with TableDroppedBeforeSave(empty_db_url) as broken:
        token = zoho.grant_token(ALICE)
        # The SDK swallows the save error: initialize "succeeds" and the token works in memory.
        init_sdk(zoho, token, broken, tmp_path)
    assert token.get_id() is None  # never saved
    with pytest.raises(pytest.fail.Exception, match="Exception in saving tokens"):
        fail_on_sdk_errors(clean_sdk)  # what zoho_standin does after every test
    [error] = clean_sdk.take_errors()
    [cause] = error.args
    assert isinstance(cause, SDKException)
    assert cause.code == "TOKEN_STORE"
    assert cause.error_message.startswith("save_token failed")
    for secret in (token.get_refresh_token(), token.get_access_token(), token.get_client_secret()):
        assert secret not in cause.error_message
