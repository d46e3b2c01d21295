"""Tests of the local stand-in Zoho server: over HTTP, then driven by the real SDK."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from sdk_generations import USER_LOOKUP_CALLS, sdk_revoke_cannot_work, sdk_save_errors_propagate
from sdk_helpers import (
    error_code,
    get_leads,
    init_sdk,
    lead_descriptions,
    login,
    read_file_store,
    run_at_once,
)
from zoho_tokenstore.testing.pytest_plugin import fail_on_sdk_errors
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import SDK_API_VERSION, StandInZoho

HTTP_TIMEOUT_S = 5.0
CRM = f"/crm/{SDK_API_VERSION}"  # the installed SDK's API version: v8, v7 or v6
ALICE = "alice@example.com"
BOB = "bob@example.com"


class FakeClock:
    """A settable server clock, so expiry is tested without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def post_token(zoho: StandInZoho, **data: str) -> requests.Response:
    return requests.post(zoho.base_url + "/oauth/v2/token", data=data, timeout=HTTP_TIMEOUT_S)


def exchange(zoho: StandInZoho, email: str) -> dict[str, Any]:
    """Exchange a fresh grant code for ``email``; returns Zoho's JSON answer."""
    code = zoho.issue_grant_code(email)
    answer = post_token(
        zoho,
        grant_type="authorization_code",
        client_id=zoho.DEFAULT_CLIENT_ID,
        client_secret=zoho.DEFAULT_CLIENT_SECRET,
        code=code,
        redirect_uri="",
    ).json()
    assert "access_token" in answer, answer
    return dict(answer)


def refresh(zoho: StandInZoho, refresh_token: str) -> dict[str, Any]:
    answer = post_token(
        zoho,
        grant_type="refresh_token",
        client_id=zoho.DEFAULT_CLIENT_ID,
        client_secret=zoho.DEFAULT_CLIENT_SECRET,
        refresh_token=refresh_token,
    )
    assert answer.status_code == 200
    return dict(answer.json())


def revoke(zoho: StandInZoho, refresh_token: str) -> dict[str, Any]:
    answer = requests.post(
        zoho.base_url + "/oauth/v2/token/revoke",
        data={"token": refresh_token},
        timeout=HTTP_TIMEOUT_S,
    )
    assert answer.status_code == 200
    return dict(answer.json())


def crm_get(
    zoho: StandInZoho, path: str, access_token: str | None, **params: str
) -> requests.Response:
    headers = {} if access_token is None else {"Authorization": f"Zoho-oauthtoken {access_token}"}
    return requests.get(
        zoho.base_url + path, headers=headers, params=params, timeout=HTTP_TIMEOUT_S
    )


@pytest.fixture
def zoho() -> Iterator[StandInZoho]:
    """A bare stand-in (not the kit's, which registers a user) with Alice (org 777) and Bob (888)."""
    with StandInZoho() as server:
        server.add_user(ALICE, zgid="777")
        server.add_user(BOB, zgid="888")
        yield server


# -- the server over HTTP ---------------------------------------------------------------------


def test_environment_points_the_sdk_at_the_stand_in(zoho: StandInZoho) -> None:
    env = zoho.environment()
    assert zoho.base_url.startswith("http://127.0.0.1:")
    assert (env.url, env.accounts_url, env.file_upload_url) == (
        zoho.base_url,
        zoho.base_url + "/oauth/v2/token",
        zoho.base_url,
    )
    # None means the SDK keeps our environment instead of swapping in a real data center.
    assert DataCenter.get(zoho.base_url) is None


def test_code_exchange_answers_like_zoho(zoho: StandInZoho) -> None:
    answer = exchange(zoho, ALICE)
    assert set(answer) >= {"access_token", "refresh_token", "expires_in", "api_domain"}
    assert answer["expires_in"] == 3600
    assert answer["api_domain"] == zoho.base_url
    assert answer["token_type"] == "Bearer"
    assert answer["access_token"] != answer["refresh_token"]
    assert zoho.refresh_token_owner(answer["refresh_token"]) == ALICE
    assert zoho.calls["token:authorization_code"] == 1


def test_grant_codes_are_random_and_single_use(zoho: StandInZoho) -> None:
    codes = {zoho.issue_grant_code(ALICE) for _ in range(20)}
    assert len(codes) == 20
    code = codes.pop()
    data = {
        "grant_type": "authorization_code",
        "client_id": zoho.DEFAULT_CLIENT_ID,
        "client_secret": zoho.DEFAULT_CLIENT_SECRET,
        "code": code,
    }
    assert "access_token" in post_token(zoho, **data).json()
    again = post_token(zoho, **data)
    assert again.status_code == 200  # Zoho reports OAuth errors with HTTP 200
    assert again.json() == {"error": "invalid_code"}
    assert post_token(zoho, **{**data, "code": "1000.nope"}).json() == {"error": "invalid_code"}


def test_wrong_client_is_invalid_client_and_does_not_burn_the_code(zoho: StandInZoho) -> None:
    code = zoho.issue_grant_code(ALICE)
    base = {"grant_type": "authorization_code", "code": code}
    wrong_secret = {**base, "client_id": zoho.DEFAULT_CLIENT_ID, "client_secret": "bad"}
    unknown_client = {**base, "client_id": "1000.OTHER", "client_secret": "x"}
    assert post_token(zoho, **wrong_secret).json() == {"error": "invalid_client"}
    assert post_token(zoho, **unknown_client).json() == {"error": "invalid_client"}
    good = {
        **base,
        "client_id": zoho.DEFAULT_CLIENT_ID,
        "client_secret": zoho.DEFAULT_CLIENT_SECRET,
    }
    assert "access_token" in post_token(zoho, **good).json()


def test_code_issued_to_another_client_is_invalid_code(zoho: StandInZoho) -> None:
    zoho.add_client("1000.OTHER", "other-secret")
    code = zoho.issue_grant_code(ALICE, client_id="1000.OTHER", client_secret="other-secret")
    answer = post_token(
        zoho,
        grant_type="authorization_code",
        client_id=zoho.DEFAULT_CLIENT_ID,
        client_secret=zoho.DEFAULT_CLIENT_SECRET,
        code=code,
    )
    assert answer.json() == {"error": "invalid_code"}


def test_issue_grant_code_refuses_unknown_user_and_conflicting_secret(zoho: StandInZoho) -> None:
    with pytest.raises(KeyError):
        zoho.issue_grant_code("nobody@example.com")
    with pytest.raises(ValueError):
        zoho.issue_grant_code(ALICE, client_id=zoho.DEFAULT_CLIENT_ID, client_secret="other")


def test_refresh_issues_a_new_access_token_and_no_refresh_token(zoho: StandInZoho) -> None:
    first = exchange(zoho, ALICE)
    answer = refresh(zoho, first["refresh_token"])
    assert "refresh_token" not in answer
    assert answer["access_token"] != first["access_token"]
    assert answer["api_domain"] == zoho.base_url
    assert zoho.token_requests == [first["refresh_token"]]
    assert zoho.calls["token:refresh_token"] == 1
    # Both access tokens stay valid, as at Zoho, until they expire.
    for token in (first["access_token"], answer["access_token"]):
        assert crm_get(zoho, CRM + "/Leads", token).status_code == 200


def test_unknown_refresh_token_is_invalid_code_and_still_recorded(zoho: StandInZoho) -> None:
    assert refresh(zoho, "1000.unknown") == {"error": "invalid_code"}
    assert zoho.token_requests == ["1000.unknown"]


def test_revoke_invalidates_the_refresh_token_and_its_access_tokens(zoho: StandInZoho) -> None:
    alice, bob = exchange(zoho, ALICE), exchange(zoho, BOB)
    assert revoke(zoho, alice["refresh_token"]) == {"status": "success"}
    assert zoho.revoked_refresh_tokens == [alice["refresh_token"]]
    assert refresh(zoho, alice["refresh_token"]) == {"error": "invalid_code"}
    denied = crm_get(zoho, CRM + "/Leads", alice["access_token"])
    assert denied.status_code == 401
    assert crm_get(zoho, CRM + "/Leads", bob["access_token"]).status_code == 200
    assert revoke(zoho, alice["refresh_token"])["status"] != "success"
    assert zoho.calls["revoke"] == 2


def test_revoke_user_deletes_every_refresh_token_of_the_user_like_a_password_change(
    zoho: StandInZoho,
) -> None:
    first, second, bob = exchange(zoho, ALICE), exchange(zoho, ALICE), exchange(zoho, BOB)
    assert zoho.revoke_user(ALICE) == 2
    for answer in (first, second):
        assert refresh(zoho, answer["refresh_token"]) == {"error": "invalid_code"}
        assert crm_get(zoho, CRM + "/Leads", answer["access_token"]).status_code == 401
    assert "access_token" in refresh(zoho, bob["refresh_token"])


def test_refreshes_past_the_limit_answer_access_denied_until_the_window_passes() -> None:
    clock = FakeClock()
    with StandInZoho(clock=clock) as zoho:
        zoho.add_user(ALICE)
        alice = exchange(zoho, ALICE)  # the exchange issues the refresh token's first access token
        zoho.refresh_limit = 3
        assert all("access_token" in refresh(zoho, alice["refresh_token"]) for _ in range(2))
        throttled = refresh(zoho, alice["refresh_token"])
        assert throttled["error"] == "Access Denied"
        assert "too many requests continuously" in throttled["error_description"]
        assert zoho.calls["token:throttled"] == 1
        clock.now += 599  # 10 minutes after the exchange, one access token leaves the window
        assert refresh(zoho, alice["refresh_token"])["error"] == "Access Denied"
        clock.now += 1
        assert "access_token" in refresh(zoho, alice["refresh_token"])
        zoho.refresh_limit = 0  # on demand: every refresh is throttled
        assert refresh(zoho, alice["refresh_token"])["error"] == "Access Denied"
        zoho.refresh_limit = None
        assert "access_token" in refresh(zoho, alice["refresh_token"])


@pytest.mark.parametrize("token", [None, "", "1000.unknown"])
def test_crm_answers_401_invalid_token_like_zoho(zoho: StandInZoho, token: str | None) -> None:
    answer = crm_get(zoho, CRM + "/Leads", token)
    assert answer.status_code == 401
    assert answer.json() == {
        "code": "INVALID_TOKEN",
        "details": {},
        "message": "invalid oauth token",
        "status": "error",
    }
    assert zoho.calls["unauthorized"] == 1


def test_invalidate_access_tokens_per_user_or_all(zoho: StandInZoho) -> None:
    alice, bob = exchange(zoho, ALICE), exchange(zoho, BOB)
    assert zoho.invalidate_access_tokens(ALICE) == 1
    assert crm_get(zoho, CRM + "/Leads", alice["access_token"]).status_code == 401
    assert crm_get(zoho, CRM + "/Leads", bob["access_token"]).status_code == 200
    assert zoho.invalidate_access_tokens() == 1
    assert crm_get(zoho, CRM + "/Leads", bob["access_token"]).status_code == 401
    # The refresh token survives, so a refresh gets a working access token again.
    renewed = refresh(zoho, alice["refresh_token"])["access_token"]
    assert crm_get(zoho, CRM + "/Leads", renewed).status_code == 200


@pytest.mark.parametrize("expires_in", [0, -30])
def test_non_positive_expires_in_issues_expired_tokens(zoho: StandInZoho, expires_in: int) -> None:
    zoho.expires_in = expires_in
    answer = exchange(zoho, ALICE)
    assert answer["expires_in"] == expires_in
    assert crm_get(zoho, CRM + "/Leads", answer["access_token"]).status_code == 401


def test_access_tokens_expire_by_the_server_clock() -> None:
    clock = FakeClock()
    with StandInZoho(clock=clock) as zoho:
        zoho.add_user(ALICE)
        zoho.expires_in = 60
        token = exchange(zoho, ALICE)["access_token"]
        clock.now += 59.9
        assert crm_get(zoho, CRM + "/Leads", token).status_code == 200
        clock.now += 0.1
        assert crm_get(zoho, CRM + "/Leads", token).status_code == 401


def test_users_and_org_describe_the_tokens_user(zoho: StandInZoho) -> None:
    token = exchange(zoho, BOB)["access_token"]
    users = crm_get(zoho, CRM + "/users", token, type="CurrentUser").json()
    assert [u["email"] for u in users["users"]] == [BOB]
    org = crm_get(zoho, CRM + "/org", token).json()
    assert [o["zgid"] for o in org["org"]] == ["888"]
    everyone = crm_get(zoho, CRM + "/users", token, type="AllUsers").json()
    assert {u["email"] for u in everyone["users"]} == {ALICE, BOB}


def test_records_say_which_user_called(zoho: StandInZoho) -> None:
    token = exchange(zoho, ALICE)["access_token"]
    leads = crm_get(zoho, CRM + "/Leads", token).json()
    assert [lead["Description"] for lead in leads["data"]] == [f"fetched by {ALICE}:777"]
    fields = crm_get(zoho, CRM + "/settings/fields", token, module="Leads").json()
    assert "Description" in {f["api_name"] for f in fields["fields"]}
    assert crm_get(zoho, CRM + "/settings/fields", token, module="Deals").status_code == 400


def test_unknown_paths_and_grant_types_fail_cleanly(zoho: StandInZoho) -> None:
    token = exchange(zoho, ALICE)["access_token"]
    missing = crm_get(zoho, CRM + "/Contacts", token)
    assert (missing.status_code, missing.json()["code"]) == (404, "INVALID_URL_PATTERN")
    assert post_token(zoho, grant_type="password").json() == {"error": "unsupported_grant_type"}
    assert zoho.calls["server_error"] == 0


def test_calls_is_a_copy_and_reset_counts_clears_everything(zoho: StandInZoho) -> None:
    answer = exchange(zoho, ALICE)
    refresh(zoho, answer["refresh_token"])
    revoke(zoho, answer["refresh_token"])
    snapshot = zoho.calls
    snapshot["records"] += 100
    assert zoho.calls == {"token:authorization_code": 1, "token:refresh_token": 1, "revoke": 1}
    zoho.token_requests.append("not stored")
    assert zoho.token_requests == [answer["refresh_token"]]
    zoho.reset_counts()
    assert (zoho.calls, zoho.token_requests, zoho.revoked_refresh_tokens) == ({}, [], [])


def test_eight_threads_at_once(zoho: StandInZoho) -> None:
    def work(index: int) -> str:
        email = [ALICE, BOB][index % 2]
        first = exchange(zoho, email)
        renewed = refresh(zoho, first["refresh_token"])["access_token"]
        [lead] = crm_get(zoho, CRM + "/Leads", renewed).json()["data"]
        return f"{email} {lead['Email']}"

    results = run_at_once(8, work)
    assert results == [f"{e} {e}" for e in [ALICE, BOB] * 4]
    assert zoho.calls == {"token:authorization_code": 8, "token:refresh_token": 8, "records": 8}
    assert len(set(zoho.token_requests)) == 8


def test_request_logging_is_silent(zoho: StandInZoho, capfd: pytest.CaptureFixture[str]) -> None:
    answer = exchange(zoho, ALICE)
    crm_get(zoho, CRM + "/Leads", answer["access_token"])
    crm_get(zoho, CRM + "/Leads", "1000.unknown")
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_lifecycle_start_stop() -> None:
    zoho = StandInZoho()
    with pytest.raises(RuntimeError):
        _ = zoho.base_url
    zoho.start()
    url = zoho.base_url
    with pytest.raises(RuntimeError):
        zoho.start()
    zoho.stop()
    zoho.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(url + CRM + "/org", timeout=HTTP_TIMEOUT_S)


# -- the real SDK driving the stand-in (FileStore, no mocks) ----------------------------------


def test_sdk_login_and_get_records(
    zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    csv_path = tmp_path / "t.csv"
    login(zoho, FileStore(str(csv_path)), tmp_path, ALICE)
    # Login: exchange the code, then name the user (users + org; 5_0: the app names her), save.
    assert zoho.calls == {"token:authorization_code": 1, **USER_LOOKUP_CALLS}
    assert lead_descriptions(get_leads()) == [f"fetched by {ALICE}:777"]
    # get_records fetches Leads field metadata once, then the records.
    assert zoho.calls == {
        "token:authorization_code": 1,
        **USER_LOOKUP_CALLS,
        "fields": 1,
        "records": 1,
    }
    [row] = read_file_store(csv_path)
    assert row["user_name"] == f"{ALICE}:777"
    assert row["api_domain"] == zoho.base_url
    assert zoho.refresh_token_owner(row["refresh_token"]) == ALICE
    # Field metadata went to the resource path inside tmp_path, not the working directory.
    assert list((tmp_path / "sdk-resources" / "resources").glob("*.json"))


def test_sdk_refreshes_exactly_once_when_the_token_is_about_to_expire(
    zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    zoho.expires_in = 1  # the SDK refreshes tokens within 5 s of expiry
    csv_path = tmp_path / "t.csv"
    login(zoho, FileStore(str(csv_path)), tmp_path, ALICE)
    zoho.expires_in = 3600
    zoho.reset_counts()
    assert lead_descriptions(get_leads()) == [f"fetched by {ALICE}:777"]
    assert lead_descriptions(get_leads()) == [f"fetched by {ALICE}:777"]
    assert zoho.calls["token:refresh_token"] == 1
    [row] = read_file_store(csv_path)
    assert zoho.token_requests == [row["refresh_token"]]
    assert zoho.refresh_token_owner(row["refresh_token"]) == ALICE


def test_sdk_does_not_refresh_on_401(clean_sdk: SdkLogRecorder, tmp_path: Path) -> None:
    clock = FakeClock()
    with StandInZoho(clock=clock) as zoho:
        zoho.add_user(ALICE, zgid="777")
        login(zoho, FileStore(str(tmp_path / "t.csv")), tmp_path, ALICE)
        assert lead_descriptions(get_leads()) == [f"fetched by {ALICE}:777"]
        clock.now += 3600  # expired at the server; the SDK's stored expiry is still ahead
        response = get_leads()
        assert (response.get_status_code(), error_code(response)) == (401, "INVALID_TOKEN")
        assert zoho.calls["token:refresh_token"] == 0


def test_sdk_two_users_get_their_own_rows(
    zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    csv_path = tmp_path / "t.csv"
    login(zoho, FileStore(str(csv_path)), tmp_path, ALICE)
    Initializer.switch_user(token=zoho.grant_token(BOB))
    try:
        assert lead_descriptions(get_leads()) == [f"fetched by {BOB}:888"]
    finally:
        Initializer.LOCAL.init = None
    assert lead_descriptions(get_leads()) == [f"fetched by {ALICE}:777"]
    rows = read_file_store(csv_path)
    assert sorted(r["user_name"] for r in rows) == [f"{ALICE}:777", f"{BOB}:888"]


def test_sdk_eight_threads_share_one_token(
    zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    login(zoho, FileStore(str(tmp_path / "t.csv")), tmp_path, ALICE)
    lead_descriptions(get_leads())  # fetch field metadata before the threads start
    zoho.reset_counts()
    results = run_at_once(8, lambda _: [lead_descriptions(get_leads()) for _ in range(3)])
    assert results == [[[f"fetched by {ALICE}:777"]] * 3] * 8
    # The token is valid, so nothing is refreshed and FileStore is only read.
    assert zoho.calls == {"records": 24}


class BrokenStore(FileStore):  # type: ignore[misc]
    """A FileStore whose save fails, as a broken database would."""

    def save_token(self, token: OAuthToken) -> None:
        raise RuntimeError("disk full")


@sdk_save_errors_propagate()
def test_sdk_log_guard_surfaces_a_failing_save(
    zoho: StandInZoho,
    clean_sdk: SdkLogRecorder,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = BrokenStore(str(tmp_path / "t.csv"))
    # No TypeError: the recorder defuses the SDK's malformed logger.error call.
    init_sdk(zoho, zoho.grant_token(ALICE), store, tmp_path)
    # Non-SDK errors show by type only: their text could carry anything a store put there.
    with pytest.raises(pytest.fail.Exception, match="Exception in saving tokens RuntimeError"):
        fail_on_sdk_errors(clean_sdk)  # what zoho_standin does at teardown
    [error] = clean_sdk.take_errors()
    assert error.msg == "Exception in saving tokens"
    assert isinstance(error.args[0], RuntimeError)
    assert "Exception in saving tokens RuntimeError('disk full')" in caplog.text
    assert read_file_store(tmp_path / "t.csv") == []
    fail_on_sdk_errors(clean_sdk)  # nothing left once taken


@sdk_revoke_cannot_work
def test_sdk_revoke_with_file_store_never_reaches_zoho(
    zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    csv_path = tmp_path / "t.csv"
    login(zoho, FileStore(str(csv_path)), tmp_path, ALICE)
    [row] = read_file_store(csv_path)
    # FileStore.find_token cannot match an id-only token, so revoke finds nothing.
    assert OAuthToken(id=row["id"]).revoke(row["id"]) is False
    assert zoho.calls["revoke"] == 0


def test_answers_the_installed_sdks_api_version_and_others_only_when_asked() -> None:
    other = "v4"  # no SDK generation calls it
    with StandInZoho() as zoho:
        zoho.add_user(ALICE)
        token = exchange(zoho, ALICE)["access_token"]
        assert crm_get(zoho, CRM + "/Leads", token).status_code == 200
        assert crm_get(zoho, f"/crm/{other}/Leads", token).status_code == 404
        assert zoho.api_version_calls == {SDK_API_VERSION: 1, other: 1}
        assert zoho.calls["not_found"] == 1
    with StandInZoho(api_versions=("v5", "v6", "v7", "v8")) as shared:
        shared.add_user(ALICE)
        token = exchange(shared, ALICE)["access_token"]
        for version in ("v5", "v6", "v7", "v8"):
            assert crm_get(shared, f"/crm/{version}/Leads", token).status_code == 200
        assert shared.api_version_calls == {"v5": 1, "v6": 1, "v7": 1, "v8": 1}
