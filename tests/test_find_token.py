"""find_token: the SDK's match order, in-place filling, and never another user's row."""

from __future__ import annotations

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from token_factory import fields_of, full_token, make_token
from zoho_tokenstore import SQLAlchemyTokenStore


def saved(store: SQLAlchemyTokenStore, n: int, **overrides: str | None) -> OAuthToken:
    token = full_token(n, **overrides)
    store.save_token(token)
    return token


def test_unknown_token_returns_none_on_an_empty_store(store: SQLAlchemyTokenStore) -> None:
    token = OAuthToken(client_id="c", client_secret="s", grant_token="never-seen")
    assert store.find_token(token) is None


def test_id_only_token_is_matched_by_id_and_filled_in_place(store: SQLAlchemyTokenStore) -> None:
    first = saved(store, 1)
    second = saved(store, 2)
    probe = OAuthToken(id=second.get_id())  # exactly what revoke(id) builds

    result = store.find_token(probe)

    assert result is probe
    assert fields_of(probe) == fields_of(second)
    assert probe.get_refresh_token() != first.get_refresh_token()


def test_match_by_user_name_is_exact(store: SQLAlchemyTokenStore) -> None:
    alice = saved(store, 1, user_name="alice@example.com:1")
    saved(store, 2, user_name="Alice@example.com:1")  # differs only by case
    saved(store, 3, user_name="alice@example.com:1 ")  # differs only by a trailing space

    probe = OAuthToken(user_signature=UserSignature("alice@example.com:1"))

    assert store.find_token(probe) is probe
    assert probe.get_id() == alice.get_id()
    assert probe.get_refresh_token() == alice.get_refresh_token()


def test_match_by_access_token_only_without_client(store: SQLAlchemyTokenStore) -> None:
    stored = saved(store, 1)
    probe = OAuthToken(access_token=stored.get_access_token())
    assert store.find_token(probe) is probe
    assert probe.get_id() == stored.get_id()

    with_client = make_token(
        access_token=stored.get_access_token(), client_id="x", client_secret="y"
    )
    assert store.find_token(with_client) is None


def test_match_by_grant_token_needs_client_id_and_secret(store: SQLAlchemyTokenStore) -> None:
    stored = saved(store, 1)
    probe = OAuthToken(client_id="any", client_secret="any", grant_token=stored.get_grant_token())
    assert store.find_token(probe) is probe
    assert probe.get_id() == stored.get_id()
    # The caller's own client id/secret are kept: only empty fields are filled.
    assert probe.get_client_id() == "any"
    assert probe.get_refresh_token() == stored.get_refresh_token()

    without_client = make_token(grant_token=stored.get_grant_token())
    assert store.find_token(without_client) is None


def test_match_by_refresh_token_on_restart(store: SQLAlchemyTokenStore) -> None:
    saved(store, 1)
    stored = saved(store, 2)
    probe = OAuthToken(client_id="c", client_secret="s", refresh_token=stored.get_refresh_token())

    assert store.find_token(probe) is probe
    assert probe.get_id() == stored.get_id()
    assert probe.get_access_token() == stored.get_access_token()
    assert probe.get_expires_in() == stored.get_expires_in()
    assert probe.get_user_signature().get_name() == stored.get_user_signature().get_name()


def test_grant_token_match_wins_over_refresh_token_match(store: SQLAlchemyTokenStore) -> None:
    by_refresh = saved(store, 1)
    by_grant = saved(store, 2)
    probe = make_token(
        client_id="c",
        client_secret="s",
        grant_token=by_grant.get_grant_token(),
        refresh_token=by_refresh.get_refresh_token(),
    )
    assert store.find_token(probe) is probe
    assert probe.get_id() == by_grant.get_id()


def test_set_fields_are_never_overwritten(store: SQLAlchemyTokenStore) -> None:
    stored = saved(store, 1)
    probe = make_token(id=stored.get_id(), access_token="newer-access", api_domain="https://x")
    store.find_token(probe)
    assert probe.get_access_token() == "newer-access"
    assert probe.get_api_domain() == "https://x"
    assert probe.get_refresh_token() == stored.get_refresh_token()


def test_token_with_nothing_to_match_is_not_found(store: SQLAlchemyTokenStore) -> None:
    saved(store, 1)
    assert store.find_token(make_token(client_id="c", client_secret="s")) is None


def test_unstorable_lookup_value_matches_nothing(store: SQLAlchemyTokenStore) -> None:
    saved(store, 1)
    assert store.find_token(make_token(user_name="x" * 10_000)) is None
    assert store.find_token(make_token(user_name="nul\x00byte")) is None


def test_not_a_token_is_refused_clearly(store: SQLAlchemyTokenStore) -> None:
    with pytest.raises(SDKException) as raised:
        store.find_token("user@example.com")  # type: ignore[arg-type]
    assert raised.value.code == "TOKEN_STORE"
    assert "expects an OAuthToken, got str" in raised.value.error_message
