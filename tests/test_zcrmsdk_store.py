"""The 2.x SDK's store (``zoho_tokenstore.zcrmsdk``): its six methods with the semantics of the
SDK's own FileStore/DBStore, minus their bugs, on the main store's table, on every backend."""

from __future__ import annotations

import importlib.metadata
import time
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy.engine import URL

from zcrmsdk_support import EXPECTED, require_zcrmsdk

require_zcrmsdk()

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken  # noqa: E402
from zcrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException  # noqa: E402
from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature  # noqa: E402

from direct_db import insert_row  # noqa: E402
from encryption_helpers import KEY_1, assert_encrypted_under, raw_rows  # noqa: E402
from sdk_helpers import run_at_once  # noqa: E402
from zoho_tokenstore.core.errors import TokenStoreError, UsageError  # noqa: E402
from zoho_tokenstore.zcrmsdk import SQLAlchemyTokenStore  # noqa: E402
from zoho_tokenstore.zcrmsdk.errors import as_zcrmsdk_error  # noqa: E402

Rows = Callable[[], list[dict[str, object]]]
ALICE = UserSignature("alice@example.com")
CLIENT, SECRET = "1000.CLIENT", "client-secret"


@pytest.fixture
def store2(db_url: URL) -> Iterator[SQLAlchemyTokenStore]:
    """A 2.x store on the migrated database."""
    with SQLAlchemyTokenStore(db_url) as token_store:
        yield token_store


def _logged_in(refresh: str = "1000.refresh.abcd", grant: str | None = "1000.grant") -> OAuthToken:
    """A token as the SDK saves it after a first login (its own id, expiry in an hour)."""
    token = OAuthToken(client_id=CLIENT, client_secret=SECRET, grant_token=grant or "x")
    token.set_grant_token(grant)
    token.set_refresh_token(refresh)
    token.set_access_token("1000.access." + refresh[-4:])
    token.set_expires_in(str(int(time.time() * 1000) + 3_600_000))
    token.set_id("python_alice_PRODUCTION_" + refresh[-4:])  # what generate_id makes
    return token


def _restarted(refresh: str = "1000.refresh.abcd") -> OAuthToken:
    return OAuthToken(client_id=CLIENT, client_secret=SECRET, refresh_token=refresh)


def test_a_first_login_is_one_row_under_a_random_id_with_user_mail_as_user_name(
    store2: SQLAlchemyTokenStore, rows: Rows
) -> None:
    token = _logged_in()
    store2.save_token(ALICE, token)
    [row] = rows()
    assert row["user_name"] == "alice@example.com"
    assert row["id"] == token.get_id() and row["id"] not in ("", "python_alice_PRODUCTION_abcd")
    assert token.get_user_mail() == "alice@example.com"
    assert row["api_domain"] is None and row["redirect_url"] is None
    assert row["refresh_token"] == "1000.refresh.abcd"


def test_a_restart_with_the_refresh_token_is_filled_in_place_with_none_for_absent_values(
    store2: SQLAlchemyTokenStore,
) -> None:
    saved = _logged_in()
    store2.save_token(ALICE, saved)
    token = _restarted()
    assert store2.get_token(ALICE, token) is token
    assert token.get_id() == saved.get_id()
    assert token.get_access_token() == saved.get_access_token()
    assert token.get_expires_in() == saved.get_expires_in()
    assert token.get_grant_token() == "1000.grant"
    assert token.get_redirect_url() is None  # not '' (FileStore) nor 'None' (DBStore)
    assert token.get_user_mail() == "alice@example.com"


def test_get_token_matches_user_client_and_grant_or_refresh_exactly(
    store2: SQLAlchemyTokenStore,
) -> None:
    store2.save_token(ALICE, _logged_in())
    assert store2.get_token(UserSignature("bob@example.com"), _restarted()) is None
    assert store2.get_token(ALICE, _restarted("1000.refresh.ABCD")) is None
    other_client = OAuthToken(client_id="1000.OTHER", client_secret=SECRET, refresh_token="x")
    other_client.set_refresh_token("1000.refresh.abcd")
    assert store2.get_token(ALICE, other_client) is None
    by_grant = OAuthToken(client_id=CLIENT, client_secret=SECRET, grant_token="1000.grant")
    assert store2.get_token(ALICE, by_grant) is by_grant
    assert by_grant.get_refresh_token() == "1000.refresh.abcd"


def test_two_users_whose_sdk_ids_coincide_keep_a_row_each(
    store2: SQLAlchemyTokenStore, rows: Rows
) -> None:
    com, net = _logged_in(), _logged_in(grant="1000.grant.net")
    assert com.get_id() == net.get_id()  # python_alice_PRODUCTION_abcd for both
    store2.save_token(ALICE, com)
    store2.save_token(UserSignature("alice@example.net"), net)
    assert len(rows()) == 2 and com.get_id() != net.get_id()
    for token, email in [(com, "alice@example.com"), (net, "alice@example.net")]:
        found = store2.get_token_by_id(token.get_id(), OAuthToken(id=token.get_id()))
        assert found.get_user_mail() == email
        assert found.get_grant_token() == token.get_grant_token()


def test_a_refresh_and_a_new_consent_update_the_users_row_in_place(
    store2: SQLAlchemyTokenStore, rows: Rows
) -> None:
    token = _logged_in()
    store2.save_token(ALICE, token)
    row_id = token.get_id()
    token.set_access_token("1000.access.new")
    token.set_expires_in(str(int(time.time() * 1000) + 3_600_000))
    store2.save_token(ALICE, token)  # the SDK's save after its refresh
    again = _logged_in(refresh="1000.refresh.wxyz", grant="1000.grant.2")  # re-consent
    store2.save_token(ALICE, again)
    [row] = rows()
    assert row["id"] == row_id == again.get_id()
    assert row["refresh_token"] == "1000.refresh.wxyz" and row["grant_token"] == "1000.grant.2"


def test_none_erases_nothing(store2: SQLAlchemyTokenStore, rows: Rows) -> None:
    token = _logged_in()
    token.set_redirect_url("https://example.com/cb")
    store2.save_token(ALICE, token)
    token.set_redirect_url(None)
    token.set_grant_token(None)
    store2.save_token(ALICE, token)
    [row] = rows()
    assert row["redirect_url"] == "https://example.com/cb" and row["grant_token"] == "1000.grant"


def test_get_token_by_id_fills_in_place_and_an_unknown_id_is_the_sdks_exception(
    store2: SQLAlchemyTokenStore,
) -> None:
    saved = _logged_in()
    store2.save_token(ALICE, saved)
    token = OAuthToken(id=saved.get_id())
    assert store2.get_token_by_id(saved.get_id(), token) is token
    assert token.get_refresh_token() == saved.get_refresh_token()
    with pytest.raises(SDKException) as raised:  # zcrmsdk's, as a 2.x application catches it
        store2.get_token_by_id("python_nobody_PRODUCTION_0000", OAuthToken(id="x"))
    assert raised.value.code == "TOKEN_STORE"
    assert isinstance(raised.value, TokenStoreError)
    assert "python_nobody_PRODUCTION_0000" in str(raised.value)


def test_stored_nulls_read_as_none_and_a_row_without_access_token_reads_expired(
    store2: SQLAlchemyTokenStore, db_url: URL
) -> None:
    values = {"id": "imported", "user_name": "alice@example.com", "client_id": CLIENT}
    insert_row(db_url, {**values, "client_secret": SECRET, "refresh_token": "1000.refresh.abcd"})
    token = _restarted()
    assert store2.get_token(ALICE, token) is token
    assert token.get_access_token() is None and token.get_grant_token() is None
    assert token.get_expires_in() == "0"  # so the SDK's own check refreshes it
    [listed] = store2.get_tokens()
    assert listed.get_expires_in() is None and listed.get_access_token() is None


def test_delete_token_deletes_only_a_matching_row_and_missing_is_no_error(
    store2: SQLAlchemyTokenStore, rows: Rows
) -> None:
    token = _logged_in()
    store2.save_token(ALICE, token)
    stranger = _restarted("1000.refresh.zzzz")
    stranger.set_user_mail("alice@example.com")
    store2.delete_token(stranger)  # same user, another token: the row stays
    assert len(rows()) == 1
    store2.delete_token(token)
    assert rows() == []
    store2.delete_token(token)  # already gone: no error, as in the SDK's stores
    by_id = OAuthToken(id="no-such-id")
    store2.delete_token(by_id)


def test_get_tokens_and_delete_tokens(store2: SQLAlchemyTokenStore, rows: Rows) -> None:
    store2.save_token(ALICE, _logged_in())
    store2.save_token(UserSignature("bob@example.com"), _logged_in("1000.refresh.bbbb"))
    listed = store2.get_tokens()
    assert sorted(t.get_user_mail() for t in listed) == ["alice@example.com", "bob@example.com"]
    assert all(isinstance(t, OAuthToken) and t.get_id() for t in listed)
    store2.delete_tokens()
    assert rows() == []


def test_encrypted_at_rest_and_found_by_keyed_hash(db_url: URL) -> None:
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store2:
        store2.save_token(ALICE, _logged_in())
        [raw] = raw_rows(db_url)
        assert_encrypted_under(raw, KEY_1)
        assert "1000.refresh.abcd" not in str(raw)
        token = _restarted()
        assert store2.get_token(ALICE, token) is token
        assert token.get_access_token() == "1000.access.abcd"


def test_errors_are_the_2x_sdks_exceptions_with_the_main_stores_messages(
    store2: SQLAlchemyTokenStore,
) -> None:
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore("nosuchdb://x")
    assert isinstance(raised.value, TokenStoreError) and raised.value.code == "TOKEN_STORE"
    assert "unsupported database URL scheme" in str(raised.value)
    with pytest.raises(SDKException, match="refusing to save a token with no refresh"):
        store2.save_token(ALICE, OAuthToken(id="only-an-id"))
    with pytest.raises(SDKException, match="UserSignature"):
        store2.get_token(None, _restarted())
    store2.close()
    with pytest.raises(SDKException, match="closed"):
        store2.get_tokens()


def test_a_usage_error_keeps_its_exit_status() -> None:
    translated = as_zcrmsdk_error(UsageError("the option is wrong"))
    assert isinstance(translated, SDKException) and isinstance(translated, UsageError)
    assert translated.exit_status == 2 and translated.error_message == "the option is wrong"


def test_this_run_has_the_expected_2x_distribution() -> None:
    if EXPECTED is None:
        pytest.skip("no ZOHO_TOKENSTORE_EXPECT_ZCRMSDK: not `make test-sdk2_1`/`test-sdk2_0`")
    assert importlib.metadata.version(EXPECTED)  # raises if that distribution is not installed


def test_concurrent_first_logins_of_one_user_leave_one_row(
    store2: SQLAlchemyTokenStore, rows: Rows
) -> None:
    tokens = [_logged_in(refresh=f"1000.refresh.{i:04d}") for i in range(6)]
    run_at_once(len(tokens), lambda i: store2.save_token(ALICE, tokens[i]))
    [row] = rows()
    assert {token.get_id() for token in tokens} == {row["id"]}
