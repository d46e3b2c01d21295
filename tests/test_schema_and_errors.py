"""Opening a store on the wrong schema, and database failures: clear SDKExceptions, nothing leaked."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from backends import require_backend
from databases import throwaway_database
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore, downgrade, upgrade
from zoho_tokenstore.cli import main
from zoho_tokenstore.core.errors import driver_error_code, is_retryable
from zoho_tokenstore.core.model import OAuthTokenRow


def test_a_never_upgraded_database_is_refused_with_the_fix(empty_db_url: URL) -> None:
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(empty_db_url)
    assert raised.value.code == "TOKEN_STORE"
    assert "no zoho_tokenstore schema" in raised.value.error_message
    assert "zoho-tokenstore upgrade --url" in raised.value.error_message


@pytest.mark.parametrize("table_name", ["oauthtoken", "crm_tokens"])
def test_the_constructor_names_the_fixes_a_python_caller_has(
    empty_db_url: URL, table_name: str
) -> None:
    """The argument, the function and the command, each once; the function named fixes it."""
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(empty_db_url, table_name=table_name)
    fix = str(raised.value.error_message).split("no zoho_tokenstore schema: ", 1)[1]
    table = "" if table_name == "oauthtoken" else ", table_name='crm_tokens'"
    option = "" if table_name == "oauthtoken" else " --table crm_tokens"
    assert fix == (
        f"pass auto_upgrade=True, or migrate once with zoho_tokenstore.upgrade(url{table}) "
        f"or `zoho-tokenstore upgrade --url '{empty_db_url}'{option}`"
    )
    upgrade(empty_db_url, table_name=table_name)
    with SQLAlchemyTokenStore(empty_db_url, table_name=table_name) as store:
        assert store.get_tokens() == []


def test_an_outdated_database_names_both_revisions(empty_db_url: URL) -> None:
    upgrade(empty_db_url)
    engine = sa.create_engine(empty_db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "UPDATE zoho_tokenstore_alembic_version SET version_num = 'ffff_from_the_future'"
        )
    engine.dispose()
    with pytest.raises(SDKException, match=r"ffff_from_the_future.*does not know"):
        SQLAlchemyTokenStore(empty_db_url)


def test_auto_upgrade_migrates_on_start(empty_db_url: URL) -> None:
    with SQLAlchemyTokenStore(empty_db_url, auto_upgrade=True) as store:
        token = full_token(1)
        store.save_token(token)
        assert (
            store.find_token_by_id(token.get_id()).get_refresh_token() == token.get_refresh_token()
        )


def test_a_store_given_an_engine_does_not_dispose_it(db_url: URL) -> None:
    engine = sa.create_engine(db_url)
    with SQLAlchemyTokenStore(engine) as store:
        store.save_token(full_token(1))
    with engine.connect() as connection:  # still usable after the store closed
        assert (
            connection.execute(sa.select(sa.func.count()).select_from(OAuthTokenRow)).scalar() == 1
        )
    engine.dispose()


def test_a_closed_store_says_so(db_url: URL) -> None:
    store = SQLAlchemyTokenStore(db_url)
    store.close()
    with pytest.raises(SDKException, match="closed"):
        store.find_token_by_id("x")


def test_database_errors_become_token_store_errors_without_values(empty_db_url: URL) -> None:
    upgrade(empty_db_url)
    store = SQLAlchemyTokenStore(empty_db_url)
    downgrade(empty_db_url, "base")  # the table disappears under a running store
    token = full_token(1)
    for call in (
        lambda: store.save_token(token),
        lambda: store.find_token_by_id("some-id"),
        lambda: store.get_tokens(),
        lambda: store.delete_tokens(),
    ):
        with pytest.raises(SDKException) as raised:
            call()
        error = raised.value
        assert error.code == "TOKEN_STORE"
        assert "table is missing" in error.error_message
        assert isinstance(error.__cause__, sa.exc.SQLAlchemyError)
        for secret in (
            token.get_refresh_token(),
            token.get_access_token(),
            token.get_client_secret(),
        ):
            assert secret not in str(error)
            assert secret not in repr(error)
            assert secret not in str(error.__cause__)
    store.close()


def test_a_schema_conflict_during_an_upgrade_is_not_called_a_lost_connection(
    backend: str, empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    """A table made by another tool (the SDK's DBStore): the upgrade's CREATE TABLE is refused.
    MariaDB reports that as OperationalError 1050, the class of a lost connection."""
    engine = sa.create_engine(empty_db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE oauthtoken (id VARCHAR(10) PRIMARY KEY)")
    engine.dispose()
    url = empty_db_url.render_as_string(hide_password=False)

    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(empty_db_url, auto_upgrade=True)
    status = main(["upgrade", "--url", url])
    printed = capsys.readouterr().err

    assert status == 1
    for message in (raised.value.error_message, printed):
        assert "a table, column or index it creates exists already" in message
        assert "unavailable" not in message and "connection was lost" not in message
    if backend == "mysql":
        assert isinstance(raised.value.__cause__, sa.exc.OperationalError)
        assert "code 1050" in raised.value.error_message


def test_an_unreachable_server_fails_promptly_without_the_password(server_backend: str) -> None:
    scheme = {"postgresql": "postgresql+psycopg", "mysql": "mysql+pymysql"}[server_backend]
    url = make_url(f"{scheme}://user:S3cretPw@127.0.0.1:9/nowhere")  # port 9: nothing listens
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(url)
    error = raised.value
    assert error.code == "TOKEN_STORE"
    assert "nothing is listening at 127.0.0.1:9 (connection refused)" in error.error_message
    assert "S3cretPw" not in str(error) and "S3cretPw" not in repr(error)
    assert "S3cretPw" not in str(error.__cause__)


def test_repr_masks_the_password() -> None:
    store = SQLAlchemyTokenStore(
        "postgresql+psycopg://app:S3cretPw@127.0.0.1:9/x", check_schema=False
    )
    assert "S3cretPw" not in repr(store)
    assert "***" in repr(store)
    store.close()


@pytest.mark.mysql
def test_a_mariadb_lock_wait_timeout_is_classified_as_retryable(tmp_path: Path) -> None:
    # PyMySQL gives this error the generic SQLSTATE HY000, so the error number must win.
    require_backend("mysql")
    with throwaway_database("mysql", tmp_path) as url:
        upgrade(url)
        engine = sa.create_engine(url)
        table = OAuthTokenRow.__table__
        with engine.begin() as connection:
            connection.execute(sa.insert(table).values(id="locked", access_token="a"))
        with engine.connect() as holder, engine.connect() as waiter:
            holder.begin()
            holder.execute(sa.select(table).where(table.c.id == "locked").with_for_update())
            waiter.exec_driver_sql("SET SESSION innodb_lock_wait_timeout = 1")
            with pytest.raises(sa.exc.OperationalError) as raised:
                waiter.execute(
                    sa.update(table).where(table.c.id == "locked").values(access_token="b")
                )
            holder.rollback()
        engine.dispose()
    assert driver_error_code(raised.value) == "1205"
    assert is_retryable(raised.value)
