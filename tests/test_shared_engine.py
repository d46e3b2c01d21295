"""Engines shared with the application: the tuned one keeps the store's settings, and no engine leaks.

``create_shared_engine`` is the store's tuned engine made for the application's statements as well.
An application's own ``Engine`` (no ``hide_parameters``, logging at DEBUG) still never shows a
token: the store runs through a view of it that hides values, without changing the application's.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from sdk_helpers import run_at_once
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore, create_shared_engine, downgrade
from zoho_tokenstore.core.model import TOKEN_TABLE
from zoho_tokenstore.database.profile import EngineProfile


def secrets_of(token: OAuthToken) -> list[str]:
    return [token.get_refresh_token(), token.get_access_token(), token.get_client_secret()]


@pytest.fixture
def user_engine(db_url: URL) -> Iterator[sa.Engine]:
    """An application's engine as people write it: no hide_parameters."""
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


def test_a_users_engine_logs_no_token_even_at_debug(
    user_engine: sa.Engine, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    token = full_token(1)
    with SQLAlchemyTokenStore(user_engine) as store:
        store.save_token(token)
        store.save_token(token)  # the update path
        probe = OAuthToken(user_signature=UserSignature(token.get_user_signature().get_name()))
        assert store.find_token(probe) is probe
        assert store.find_token_by_id(token.get_id()).get_refresh_token() == secrets_of(token)[0]
        assert len(store.get_tokens()) == 1
    assert "INSERT INTO oauthtoken" in caplog.text  # the store's statements were logged...
    for secret in secrets_of(token):
        assert secret not in caplog.text  # ...without their values or result rows

    # The application's own statements are untouched: its engine still logs its values.
    assert user_engine.hide_parameters is False
    with user_engine.connect() as connection:
        connection.execute(sa.text("SELECT :marker"), {"marker": "app-value-4711"})
    assert "app-value-4711" in caplog.text


def test_a_users_engine_gives_errors_without_tokens(
    user_engine: sa.Engine, db_url: URL, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    token = full_token(1)
    store = SQLAlchemyTokenStore(user_engine)
    downgrade(db_url, "base")  # the table disappears under a running store
    try:
        with pytest.raises(SDKException) as raised:
            store.save_token(token)
        error = raised.value
        texts = [str(error), repr(error), caplog.text]
        cause: BaseException | None = error.__cause__
        while cause is not None:
            texts += [str(cause), repr(cause), repr(getattr(cause, "params", None))]
            cause = cause.__cause__
        for secret in secrets_of(token):
            assert not any(secret in text for text in texts)
    finally:
        store.close()
        from zoho_tokenstore import upgrade

        upgrade(db_url)


def test_the_shared_engine_keeps_the_stores_settings(backend: str, db_url: URL) -> None:
    engine = create_shared_engine(db_url)
    try:
        assert engine.hide_parameters
        with engine.connect() as connection:
            if backend == "sqlite":
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            elif backend == "mysql":
                mode = connection.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
                assert "STRICT_ALL_TABLES" in str(mode)
            else:
                assert connection.connection.dbapi_connection.prepare_threshold is None  # type: ignore[union-attr]
        with SQLAlchemyTokenStore(engine) as store:
            tokens = [full_token(n) for n in range(8)]
            run_at_once(8, lambda n: store.save_token(tokens[n]))
            assert len(store.get_tokens()) == 8
            # The store's write transactions take SQLite's write lock up front (BEGIN IMMEDIATE)
            # on the shared engine too: the transaction is open before any statement runs.
            with EngineProfile.of(store.engine).begin() as connection:
                if backend == "sqlite":
                    assert connection.connection.dbapi_connection.in_transaction  # type: ignore[union-attr]
                by_id = sa.select(TOKEN_TABLE.c.id).where(TOKEN_TABLE.c.id == tokens[0].get_id())
                assert connection.execute(by_id).scalar() == tokens[0].get_id()
    finally:
        engine.dispose()


def test_the_applications_transactions_on_the_shared_engine_stay_atomic(
    backend: str, db_url: URL
) -> None:
    engine = create_shared_engine(db_url)
    notes = sa.table("app_notes", sa.column("body", sa.String))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE app_notes (body VARCHAR(20))")
        with SQLAlchemyTokenStore(engine) as store:
            store.save_token(full_token(1))
            with pytest.raises(RuntimeError), engine.begin() as connection:
                connection.execute(sa.insert(notes).values(body="first"))
                connection.execute(sa.insert(notes).values(body="second"))
                raise RuntimeError("the application's unit of work fails")
            with engine.connect() as connection:
                assert (
                    connection.execute(sa.select(sa.func.count()).select_from(notes)).scalar() == 0
                )
            assert len(store.get_tokens()) == 1
    finally:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE app_notes")
        engine.dispose()
