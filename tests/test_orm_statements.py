"""Every statement the store runs is built from a mapped class and runs through SQLAlchemy's execution.

What a user's tracing (OpenTelemetry, Sentry) and ``echo`` hook into: ``before_execute`` and
``before_cursor_execute`` see each statement, ``handle_error`` sees each failure, on every backend.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from token_factory import full_token, make_token
from zoho_tokenstore import OAuthTokenRow, SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.core.model import token_row_class, token_table

CUSTOM = "crm_tokens"


class Executed:
    """Statements as the engine's events see them: the statement objects and the SQL sent."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.objects: list[object] = []
        self.sql: list[str] = []

    def __enter__(self) -> Executed:
        sa.event.listen(self.engine, "before_execute", self._statement)
        sa.event.listen(self.engine, "before_cursor_execute", self._cursor)
        return self

    def __exit__(self, *exc: object) -> None:
        sa.event.remove(self.engine, "before_execute", self._statement)
        sa.event.remove(self.engine, "before_cursor_execute", self._cursor)

    def _statement(self, _conn: object, statement: object, *_: object) -> None:
        self.objects.append(statement)

    def _cursor(self, _conn: object, _cursor: object, statement: str, *_: object) -> None:
        self.sql.append(statement)

    def verbs(self) -> list[str]:
        return [s.lstrip().split(None, 1)[0].upper() for s in self.sql]


def _is_orm(statement: object) -> bool:
    """Built from a mapped class: SQLAlchemy compiles it with the ORM's plugin."""
    attrs = getattr(statement, "_propagate_attrs", {})
    return attrs.get("compile_state_plugin") == "orm"


def _every_call(store: SQLAlchemyTokenStore) -> list[Callable[[], object]]:
    token = full_token(1)
    return [
        lambda: store.save_token(token),  # insert
        lambda: store.save_token(make_token(id=token.get_id(), access_token="1000.b")),  # update
        lambda: store.save_token(full_token(2)),
        lambda: store.find_token(
            OAuthToken(user_signature=UserSignature("user1@example.com:60001"))
        ),
        lambda: store.find_token(
            OAuthToken(client_id="c", client_secret="s", refresh_token=token.get_refresh_token())
        ),
        lambda: store.find_token_by_id(str(token.get_id())),
        store.get_tokens,
        lambda: store.delete_token(str(token.get_id())),
        store.delete_tokens,
    ]


@pytest.fixture(params=["oauthtoken", CUSTOM])
def any_table_store(request: pytest.FixtureRequest, empty_db_url: URL) -> Iterator[Any]:
    """A store on the default table or on another table name, in a database of its own."""
    upgrade(empty_db_url, table_name=request.param)
    with SQLAlchemyTokenStore(empty_db_url, table_name=request.param) as store:
        yield store


def test_every_statement_is_built_from_the_mapped_class(any_table_store: Any) -> None:
    store: SQLAlchemyTokenStore = any_table_store
    with Executed(store.engine) as executed:
        for call in _every_call(store):
            call()
    built = [s for s in executed.objects if not isinstance(s, str)]  # str: BEGIN on SQLite/MySQL
    assert len(built) >= 12
    assert all(_is_orm(s) for s in built), [type(s).__name__ for s in built if not _is_orm(s)]
    table = "oauthtoken" if store._table_name == "oauthtoken" else CUSTOM
    for sql in executed.sql:
        if not sql.lstrip().upper().startswith(("BEGIN", "SELECT COUNT")):
            assert table in sql


def test_another_table_name_gets_a_mapped_class_derived_from_the_model() -> None:
    derived = token_row_class(CUSTOM)
    assert token_row_class() is OAuthTokenRow
    assert token_row_class(CUSTOM) is derived  # cached: one class per name
    assert issubclass(derived, OAuthTokenRow)
    assert derived.__table__ is token_table(CUSTOM)
    assert derived.__table__.name == CUSTOM
    model_columns = [(c.name, repr(c.type)) for c in OAuthTokenRow.__table__.columns]
    assert [(c.name, repr(c.type)) for c in derived.__table__.columns] == model_columns
    assert CUSTOM not in OAuthTokenRow.metadata.tables  # the model's metadata keeps one table
    assert str(sa.select(OAuthTokenRow)).count(CUSTOM) == 0


def test_a_listener_sees_exactly_one_select_per_lookup(store: SQLAlchemyTokenStore) -> None:
    token = full_token(1)
    store.save_token(token)
    lookups: list[Callable[[], object]] = [
        lambda: store.find_token_by_id(str(token.get_id())),
        lambda: store.find_token(OAuthToken(id=token.get_id())),
        lambda: store.find_token(
            OAuthToken(user_signature=UserSignature(token.get_user_signature().get_name()))
        ),
        lambda: store.find_token(OAuthToken(access_token=token.get_access_token())),
        lambda: store.find_token(
            OAuthToken(client_id="c", client_secret="s", grant_token=token.get_grant_token())
        ),
    ]
    for lookup in lookups * 2:  # the second round on a warm pool
        with Executed(store.engine) as executed:
            lookup()
        assert executed.verbs() == ["SELECT"]


def test_a_handle_error_listener_sees_a_failing_lookup(empty_db_url: URL) -> None:
    # No token table: every lookup fails in the database, as SQLAlchemy reports it.
    with SQLAlchemyTokenStore(empty_db_url, check_schema=False) as store:
        seen: list[str] = []

        def on_error(context: sa.engine.ExceptionContext) -> None:
            seen.append(str(context.statement))

        sa.event.listen(store.engine, "handle_error", on_error)
        for lookup in (
            lambda: store.find_token_by_id("some-id"),
            lambda: store.find_token(OAuthToken(user_signature=UserSignature("u@x.com:1"))),
        ):
            seen.clear()
            with pytest.raises(SDKException) as raised:
                lookup()
            assert raised.value.code == "TOKEN_STORE"
            assert len(seen) == 1
            assert seen[0].lstrip().upper().startswith("SELECT")
            assert "oauthtoken" in seen[0]


def test_sqlalchemy_logging_shows_each_lookup(
    store: SQLAlchemyTokenStore, caplog: pytest.LogCaptureFixture
) -> None:
    # What echo=True shows: the lookup's SQL, never its parameters (tokens).
    token = full_token(1)
    store.save_token(token)
    with caplog.at_level(logging.INFO, logger="sqlalchemy.engine"):
        store.find_token(OAuthToken(access_token=token.get_access_token()))
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("sqlalchemy.engine")]
    assert any(m.lstrip().startswith("SELECT") and "oauthtoken" in m for m in messages)
    assert not any(str(token.get_access_token()) in m for m in messages)
