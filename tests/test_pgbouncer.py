"""Behind PgBouncer in transaction pooling mode: the store's defaults keep every statement routable.

psycopg 3 turns a statement run 5 times on one connection into a named prepared statement. In
transaction pooling, each transaction may run on another server connection, where that name is
missing or means another statement; PgBouncer before 1.21 cannot route them at all. Two
application servers whose stores interleave on the same server connections show it at once. The
real-SDK flows and the multi-process single-flight refresh run through PgBouncer too
(``tests/test_sdk_flows.py``, ``tests/test_refresh_single_flight.py``: the ``pgbouncer`` backend).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from backends import require_backend
from pgbouncer import PgBouncer, pgbouncer_version
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore

pytestmark = [pytest.mark.postgresql, pytest.mark.pgbouncer]

ROUNDS = 12  # well past psycopg's threshold of 5 executions per statement


@pytest.fixture
def bounced_url(migrated_server_database: Any, pgbouncer: PgBouncer) -> Iterator[URL]:
    """The session's migrated PostgreSQL database, reached through PgBouncer, with an empty table."""
    require_backend("pgbouncer")
    direct = migrated_server_database("postgresql")
    with SQLAlchemyTokenStore(direct) as store:
        store.delete_tokens()
        yield pgbouncer.url_for(direct)
        store.delete_tokens()


def interleave_two_application_servers(url: URL, **store_options: Any) -> None:
    """Two stores (as two app servers) take turns, each with its own kinds of lookup and save."""
    with (
        SQLAlchemyTokenStore(url, **store_options) as first,
        SQLAlchemyTokenStore(url, **store_options) as second,
    ):
        alice, bob = full_token(1), full_token(2)
        first.save_token(alice)
        second.save_token(bob)
        for _ in range(ROUNDS):
            assert first.find_token_by_id(alice.get_id()).get_user_signature().get_name() == (
                alice.get_user_signature().get_name()
            )
            probe = OAuthToken(user_signature=UserSignature(bob.get_user_signature().get_name()))
            assert second.find_token(probe) is probe and probe.get_id() == bob.get_id()
            first.save_token(alice)
            second.save_token(bob)
        assert {t.get_id() for t in first.get_tokens()} == {alice.get_id(), bob.get_id()}


def test_the_stores_defaults_work_through_pgbouncer_transaction_pooling(bounced_url: URL) -> None:
    interleave_two_application_servers(bounced_url)


def test_psycopgs_own_default_breaks_behind_this_pgbouncer(bounced_url: URL) -> None:
    """Why the default had to change: with prepared statements the same calls fail here."""
    if pgbouncer_version() >= (1, 21):
        pytest.skip("PgBouncer 1.21+ can track prepared statements (max_prepared_statements)")
    with pytest.raises(SDKException) as raised:
        interleave_two_application_servers(
            bounced_url, engine_options={"connect_args": {"prepare_threshold": 5}}
        )
    assert raised.value.code == "TOKEN_STORE"
    assert raised.value.__cause__ is not None
    assert "prepared statement" in str(raised.value.__cause__.__cause__ or raised.value.__cause__)
