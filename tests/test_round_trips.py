"""Network round trips per call, counted on the wire by a proxy between the store and the server.

With the store's defaults: one per lookup (no ping before it, no ROLLBACK after it), one per save
that updates a row by id (a lone UPDATE that commits by itself). And without a ping, a dead pooled
connection still costs no failed call: a lookup or a save on it is retried once on a fresh
connection; a write whose outcome is unknown is checked, not repeated blindly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from databases import SERVER_URLS, throwaway_database
from tcp_proxy import TcpProxy
from test_database_faults import read_rows
from token_factory import fields_of, full_token, valid_expiry
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade

#: Calls per statement before counting: psycopg prepares a statement on its 5th execution, which
#: costs one extra round trip once per connection.
WARM_UP_CALLS = 8


@dataclass
class Proxied:
    store: SQLAlchemyTokenStore
    proxy: TcpProxy
    url: URL  # the database itself, bypassing the proxy

    def count(self, call: Callable[[], object]) -> int:
        """The round trips ``call`` makes."""
        before = self.proxy.round_trips
        call()
        return self.proxy.round_trips - before


@pytest.fixture
def proxied(server_backend: str, tmp_path: Path) -> Iterator[Proxied]:
    """A store with default settings whose every byte to its server passes a counting proxy."""
    target = make_url(SERVER_URLS[server_backend])
    with (
        throwaway_database(server_backend, tmp_path) as url,
        TcpProxy(str(target.host), int(target.port or 0)) as proxy,
    ):
        upgrade(url)
        with SQLAlchemyTokenStore(url.set(host="127.0.0.1", port=proxy.port)) as store:
            yield Proxied(store, proxy, url)


def _lookups(store: SQLAlchemyTokenStore, token: OAuthToken) -> dict[str, Callable[[], object]]:
    name = token.get_user_signature().get_name()
    return {
        "find_token_by_id": lambda: store.find_token_by_id(str(token.get_id())),
        "find_token (id)": lambda: store.find_token(OAuthToken(id=token.get_id())),
        "find_token (user name)": lambda: store.find_token(
            OAuthToken(user_signature=UserSignature(name))
        ),
        "find_token (refresh token)": lambda: store.find_token(
            OAuthToken(client_id="c", client_secret="s", refresh_token=token.get_refresh_token())
        ),
    }


def test_a_lookup_is_one_round_trip(proxied: Proxied) -> None:
    token = full_token(1)
    proxied.store.save_token(token)
    for name, lookup in _lookups(proxied.store, token).items():
        for _ in range(WARM_UP_CALLS):
            lookup()
        counts = [proxied.count(lookup) for _ in range(5)]
        assert counts == [1] * 5, name


def test_a_save_that_updates_a_row_is_one_round_trip(proxied: Proxied) -> None:
    store = proxied.store
    store.save_token(full_token(1))

    def refresh_and_save() -> None:
        # What the SDK does on a refresh: find the token, give it a new access token, save it.
        token = store.find_token(
            OAuthToken(user_signature=UserSignature("user1@example.com:60001"))
        )
        assert token is not None
        token.set_access_token(f"1000.access.{valid_expiry()}")
        token.set_expires_in(valid_expiry())
        before = proxied.proxy.round_trips
        store.save_token(token)
        saves.append(proxied.proxy.round_trips - before)

    saves: list[int] = []
    for _ in range(WARM_UP_CALLS + 5):
        refresh_and_save()
    assert saves[WARM_UP_CALLS:] == [1] * 5, saves


def test_dead_pooled_connections_cost_no_failed_call(proxied: Proxied) -> None:
    # As after a server restart or a killed connection: the pool holds connections whose server
    # end is gone. Nothing pings them; the call that meets one is retried on a fresh one.
    store = proxied.store
    token = full_token(1)
    store.save_token(token)
    token_id = str(token.get_id())
    name = token.get_user_signature().get_name()
    calls: list[Callable[[], object]] = [
        lambda: store.find_token_by_id(token_id),
        lambda: store.find_token(OAuthToken(user_signature=UserSignature(name))),
        lambda: store.save_token(full_token(1, id=token_id, access_token="1000.after-drop")),
        store.get_tokens,
        lambda: store.save_token(full_token(2)),
    ]
    for call in calls:
        proxied.proxy.drop_connections()
        call()  # no error
    assert fields_of(store.find_token_by_id(token_id))["access_token"] == "1000.after-drop"
    assert len(read_rows(proxied.url)) == 2


def test_a_commit_lost_on_the_way_is_not_reported_saved(proxied: Proxied) -> None:
    # The connection drops before COMMIT reaches the server: the server rolls the save back. The
    # store cannot know that, reads the row on a fresh connection, and reports the save failed.
    # (A save without an id, as at a login, locates the user's row in a transaction.)
    store = proxied.store
    store.save_token(full_token(1))
    before = read_rows(proxied.url)
    proxied.proxy.cut_before = b"COMMIT"
    with pytest.raises(SDKException) as raised:
        store.save_token(full_token(1, access_token="1000.lost"))
    assert proxied.proxy.cuts == 1
    assert raised.value.code == "TOKEN_STORE"
    assert "lost while committing" in raised.value.error_message
    assert "did not happen" in raised.value.error_message
    assert read_rows(proxied.url) == before


def test_a_commit_whose_reply_is_lost_is_found_done_and_not_repeated(proxied: Proxied) -> None:
    # The server commits, the reply never arrives: the store finds the row holds the save and
    # reports success, without writing it a second time.
    store = proxied.store
    store.save_token(full_token(1))
    proxied.proxy.cut_after = b"COMMIT"
    with counted_updates(store) as updates:
        store.save_token(full_token(1, access_token="1000.landed"))
    assert proxied.proxy.cuts == 1
    assert len(updates) == 1
    assert [row["access_token"] for row in read_rows(proxied.url)] == ["1000.landed"]


@pytest.mark.parametrize(
    ("cut", "updates_sent"),
    [
        # The connection drops before the UPDATE reaches the server: the row is read back, found
        # without the save, and only then is the save run again (in a transaction).
        pytest.param("cut_before", 2, id="lost on the way: checked, then run again"),
        # The server applies it, the reply never arrives: the row is found to hold the save.
        pytest.param("cut_after", 1, id="reply lost: found done, not repeated"),
    ],
)
def test_a_lone_update_whose_connection_drops_is_checked_not_repeated_blindly(
    proxied: Proxied, cut: str, updates_sent: int
) -> None:
    # The SDK's save by id is one UPDATE that commits by itself; either way the call succeeds.
    store = proxied.store
    token = full_token(1)
    store.save_token(token)
    setattr(proxied.proxy, cut, b"UPDATE")
    with counted_updates(store) as updates:
        store.save_token(full_token(1, id=token.get_id(), access_token="1000.saved"))
    assert proxied.proxy.cuts == 1
    assert len(updates) == updates_sent
    assert [row["access_token"] for row in read_rows(proxied.url)] == ["1000.saved"]


@contextmanager
def counted_updates(store: SQLAlchemyTokenStore) -> Iterator[list[str]]:
    """The UPDATE statements the store sends while the block runs, seen by a SQLAlchemy event."""
    updates: list[str] = []

    def count_updates(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            updates.append(statement)

    sa.event.listen(store.engine, "before_cursor_execute", count_updates)
    try:
        yield updates
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", count_updates)
