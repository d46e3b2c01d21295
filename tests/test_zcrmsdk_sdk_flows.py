"""The real 2.x SDK (zohocrmsdk2_1/2_0) on ``zoho_tokenstore.zcrmsdk``'s store, offline against the
stand-in Zoho: first login, restart, expiry and refresh, removal; on every backend."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from sqlalchemy.engine import URL

from zcrmsdk_support import require_zcrmsdk

require_zcrmsdk()

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # noqa: E402
from zcrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException  # noqa: E402
from zcrmsdk.src.com.zoho.crm.api.record import RecordOperations  # noqa: E402

from direct_db import set_stored_expiry  # noqa: E402
from zoho_tokenstore.testing import StandInKit  # noqa: E402
from zoho_tokenstore.testing.zcrmsdk_standin import (  # noqa: E402
    ZCRMSDK_API_VERSION,
    zcrmsdk_refresh_token,
)
from zoho_tokenstore.zcrmsdk import SQLAlchemyTokenStore  # noqa: E402

Rows = Callable[[], list[dict[str, object]]]


def _get_leads() -> str:
    """A CRM records GET through the 2.x SDK; the lead's Email (the stand-in's user)."""
    response = RecordOperations().get_records("Leads")
    assert response.get_status_code() == 200
    [lead] = response.get_object().get_data()
    return str(lead.get_key_value("Email"))


def _login(kit: StandInKit, db_url: URL) -> SQLAlchemyTokenStore:
    store = SQLAlchemyTokenStore(db_url)
    kit.initialize_zcrmsdk(store)
    assert _get_leads() == kit.user.email
    return store


def test_first_login_with_a_grant_token_stores_one_row(
    zoho_standin: StandInKit, db_url: URL, rows: Rows
) -> None:
    with _login(zoho_standin, db_url):
        [row] = rows()
    assert row["user_name"] == zoho_standin.user.email and row["api_domain"] is None
    assert row["id"] and not str(row["id"]).startswith("python_")  # a random id of the store
    assert row["refresh_token"] and row["access_token"] and row["grant_token"]
    assert int(str(row["expiry_time"])) > time.time() * 1000
    assert zoho_standin.calls["token:authorization_code"] == 1
    assert zoho_standin.server.api_version_calls[ZCRMSDK_API_VERSION] >= 1


def test_a_restart_with_the_stored_token_only_asks_zoho_nothing(
    zoho_standin: StandInKit, db_url: URL, rows: Rows
) -> None:
    _login(zoho_standin, db_url).close()
    [row] = rows()
    zoho_standin.server.reset_counts()
    server = zoho_standin.server
    for token in (
        zcrmsdk_refresh_token(server, str(row["refresh_token"])),  # get_token
        OAuthToken(id=str(row["id"])),  # get_token_by_id
    ):
        with SQLAlchemyTokenStore(db_url) as store:
            zoho_standin.initialize_zcrmsdk(store, token)
            assert _get_leads() == zoho_standin.user.email
        assert token.get_access_token() == row["access_token"]
    assert rows() == [row]
    assert zoho_standin.calls["token:refresh_token"] == 0
    assert zoho_standin.calls["token:authorization_code"] == 0


def test_an_expired_token_is_refreshed_once_and_its_row_updated_in_place(
    zoho_standin: StandInKit, db_url: URL, rows: Rows
) -> None:
    _login(zoho_standin, db_url).close()
    [before] = rows()
    set_stored_expiry(db_url, str(before["id"]), int(time.time() * 1000) - 1000)
    with SQLAlchemyTokenStore(db_url) as store:
        token = zcrmsdk_refresh_token(zoho_standin.server, str(before["refresh_token"]))
        zoho_standin.initialize_zcrmsdk(store, token)
        assert _get_leads() == zoho_standin.user.email
        assert _get_leads() == zoho_standin.user.email  # no second refresh
    [after] = rows()
    assert zoho_standin.calls["token:refresh_token"] == 1
    assert after["id"] == before["id"] and after["refresh_token"] == before["refresh_token"]
    assert after["access_token"] != before["access_token"]
    assert after["access_token"] == token.get_access_token()
    assert int(str(after["expiry_time"])) > time.time() * 1000


def test_a_token_expiring_in_the_process_is_refreshed_by_the_sdk_and_saved_in_place(
    zoho_standin: StandInKit, db_url: URL, rows: Rows
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token = zoho_standin.initialize_zcrmsdk(store)
        _get_leads()
        [before] = rows()
        token.set_expires_in(str(int(time.time() * 1000) - 1000))  # an hour later, in memory
        zoho_standin.server.reset_counts()
        assert _get_leads() == zoho_standin.user.email
        [after] = rows()
    assert zoho_standin.calls["token:refresh_token"] == 1
    assert after["id"] == before["id"] and after["access_token"] != before["access_token"]
    assert after["access_token"] == token.get_access_token()


def test_remove_deletes_the_row_and_the_2x_sdk_has_no_revoke(
    zoho_standin: StandInKit, db_url: URL, rows: Rows
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token = zoho_standin.initialize_zcrmsdk(store)
        _get_leads()
        assert not hasattr(OAuthToken, "revoke")  # 2.x: OAuthToken.remove() only, no Zoho call
        assert token.remove() is True
    assert rows() == []
    assert zoho_standin.calls["revoke"] == 0


def test_a_failing_store_fails_the_request_with_the_store_error(
    zoho_standin: StandInKit, db_url: URL
) -> None:
    store = SQLAlchemyTokenStore(db_url)
    zoho_standin.initialize_zcrmsdk(store)
    store.close()  # the first login's save_token now fails: the 2.x SDK raises it, logs nothing
    with pytest.raises(SDKException, match="the token store is closed"):
        RecordOperations().get_records("Leads")
