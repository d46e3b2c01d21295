"""find_token_by_id: a complete token the SDK can merge, and a clear error for unknown ids."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from direct_db import insert_row
from token_factory import fields_of, full_token, make_token
from zoho_tokenstore import SQLAlchemyTokenStore


def test_returns_a_complete_token(store: SQLAlchemyTokenStore) -> None:
    token = full_token(1)
    store.save_token(token)

    found = store.find_token_by_id(token.get_id())

    assert isinstance(found, OAuthToken)
    assert found is not token
    assert fields_of(found) == fields_of(token)
    # The SDK merges it into the caller's token; a missing private attribute would raise there.
    # merge_objects does not copy api_domain (contract section 4): the SDK uses `found` for it.
    caller = OAuthToken(id=token.get_id())
    OAuthToken.merge_objects(caller, found)
    assert fields_of(caller) == {**fields_of(token), "api_domain": None}


def test_unset_fields_come_back_as_none(store: SQLAlchemyTokenStore) -> None:
    token = make_token(access_token="only-access", expiry_time="", api_domain="")
    store.save_token(token)
    found = store.find_token_by_id(token.get_id())
    assert found.get_access_token() == "only-access"
    assert found.get_expires_in() is None
    assert found.get_api_domain() is None
    assert found.get_user_signature() is None


def test_unknown_id_raises_token_store_error(store: SQLAlchemyTokenStore) -> None:
    with pytest.raises(SDKException) as raised:
        store.find_token_by_id("no-such-id")
    assert raised.value.code == "TOKEN_STORE"
    assert "no stored token has the id 'no-such-id'" in raised.value.error_message


@pytest.mark.parametrize("bad_id", [7, None, b"abc"])
def test_non_string_id_is_refused_clearly(store: SQLAlchemyTokenStore, bad_id: object) -> None:
    with pytest.raises(SDKException) as raised:
        store.find_token_by_id(bad_id)  # type: ignore[arg-type]
    assert raised.value.code == "TOKEN_STORE"
    assert f"got {type(bad_id).__name__}" in raised.value.error_message


@pytest.mark.parametrize("expiry", ["²³", "١٢٣", "soon", "12 "])
def test_a_stored_expiry_that_is_not_epoch_milliseconds_is_a_token_store_error(
    db_url: URL, store: SQLAlchemyTokenStore, expiry: str
) -> None:
    # Written by another program: "²³".isdigit() is True, yet int("²³") raises ValueError.
    # The store refuses the row by id rather than hand the SDK a value its int() fails on.
    values = {**fields_of(full_token(1)), "id": "7", "expiry_time": expiry}
    insert_row(db_url, values)
    with pytest.raises(SDKException) as raised:
        store.find_token_by_id("7")
    assert raised.value.code == "TOKEN_STORE"
    message = raised.value.error_message
    assert message.startswith("find_token_by_id: the stored token with id '7' has an expiry_time")
    assert "not epoch milliseconds" in message
    assert values["refresh_token"] not in message and values["client_secret"] not in message
