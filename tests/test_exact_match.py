"""Lookups are exact (case and trailing spaces count) on every URL scheme that reaches MySQL/MariaDB.

And a token table whose lookups would not be exact (made by hand, or by an older release through a
``mariadb://`` URL) is converted by ``zoho-tokenstore upgrade`` or refused by the store, by name.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from backends import require_backend
from databases import throwaway_database
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.database.exact_match import exact_match_problem
from zoho_tokenstore.database.migrations import VERSION_TABLE, head_revision

REPO = Path(__file__).resolve().parents[1]
MYSQL_SCHEMES = ("mysql+pymysql", "mariadb+pymysql")

#: A hand-made token table per backend whose user_name compares inexactly, with the flaw's kind.
INEXACT_TABLES = {
    "sqlite": "VARCHAR(512) COLLATE NOCASE",
    "postgresql": "CHAR(512)",  # bpchar: trailing spaces do not count
    "mysql": "VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
}


@pytest.fixture(params=MYSQL_SCHEMES)
def mysql_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[URL]:
    """A new, empty MariaDB database reached through each scheme the store accepts for it."""
    require_backend("mysql")
    with throwaway_database("mysql", tmp_path) as url:
        yield url.set(drivername=request.param)


def _collations(url: URL) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        found = connection.exec_driver_sql(
            "SELECT COLLATION_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'oauthtoken' AND COLLATION_NAME IS NOT NULL"
        ).scalars()
        names = set(found)
    engine.dispose()
    return names


def _problem(url: URL) -> str | None:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        problem = exact_match_problem(connection, "oauthtoken")
    engine.dispose()
    return problem


@pytest.mark.mysql
def test_every_mysql_scheme_gets_exact_lookups(mysql_url: URL) -> None:
    upgrade(mysql_url)
    assert _collations(mysql_url) == {"utf8mb4_nopad_bin"}
    with SQLAlchemyTokenStore(mysql_url) as store:
        alice = full_token(1, user_name="alice@x.com:1")
        store.save_token(alice)
        for other in ("ALICE@x.com:1", "alice@x.com:1 ", "Alice@X.com:1"):
            assert store.find_token(OAuthToken(user_signature=UserSignature(other))) is None
        # Saving a name that differs only in case or trailing space adds a row, never overwrites.
        store.save_token(full_token(2, user_name="ALICE@X.COM:1"))
        store.save_token(full_token(3, user_name="alice@x.com:1 "))
        names = sorted(t.get_user_signature().get_name() for t in store.get_tokens())
        assert names == ["ALICE@X.COM:1", "alice@x.com:1", "alice@x.com:1 "]
        probe = OAuthToken(user_signature=UserSignature("alice@x.com:1"))
        assert store.find_token(probe) is probe
        assert probe.get_refresh_token() == alice.get_refresh_token()


@pytest.mark.mysql
def test_upgrade_converts_a_table_an_older_release_left_inexact(mysql_url: URL) -> None:
    upgrade(mysql_url, "zoho_tokenstore_0001")
    engine = sa.create_engine(mysql_url)
    with engine.begin() as connection:  # what 0001 used to make through a mariadb:// URL
        connection.exec_driver_sql(
            "ALTER TABLE oauthtoken CONVERT TO CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
        )
        connection.exec_driver_sql(
            "INSERT INTO oauthtoken (id, user_name, refresh_token) VALUES ('1', 'alice@x.com:1', 'r')"
        )
    engine.dispose()
    assert "user_name" in (_problem(mysql_url) or "")

    upgrade(mysql_url)

    assert _collations(mysql_url) == {"utf8mb4_nopad_bin"}
    assert _problem(mysql_url) is None
    with SQLAlchemyTokenStore(mysql_url) as store:
        [kept] = store.get_tokens()
        assert kept.get_user_signature().get_name() == "alice@x.com:1"
        assert store.find_token(OAuthToken(user_signature=UserSignature("ALICE@x.com:1"))) is None


def test_a_hand_made_inexact_table_is_refused_with_the_problem_and_the_fix(
    backend: str, empty_db_url: URL
) -> None:
    engine = sa.create_engine(empty_db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            f"CREATE TABLE oauthtoken (id VARCHAR(64) PRIMARY KEY, "
            f"user_name {INEXACT_TABLES[backend]}, client_id VARCHAR(255), "
            "client_secret VARCHAR(255), refresh_token VARCHAR(512), access_token VARCHAR(512), "
            "grant_token VARCHAR(512), expiry_time VARCHAR(20), redirect_url VARCHAR(1024), "
            "api_domain VARCHAR(255))"
            + (" COLLATE utf8mb4_nopad_bin" if backend == "mysql" else "")  # the rest are exact
        )
        # Claims to be at the newest revision, so only the exactness check can object.
        connection.exec_driver_sql(
            f"CREATE TABLE {VERSION_TABLE} (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"
        )
        connection.execute(
            sa.text(f"INSERT INTO {VERSION_TABLE} VALUES (:head)"), {"head": head_revision()}
        )
    engine.dispose()

    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(empty_db_url)

    message = raised.value.error_message
    assert raised.value.code == "TOKEN_STORE"
    assert "not exact" in message and "user_name" in message
    assert "access_token" not in message.split("fix:")[0]  # only the inexact column is named
    fix = {"sqlite": "rename the table", "postgresql": "ALTER COLUMN", "mysql": "CONVERT TO"}
    assert fix[backend] in message.split("fix:")[1]


def test_tables_made_by_upgrade_are_exact(backend: str, empty_db_url: URL) -> None:
    upgrade(empty_db_url)
    assert _problem(empty_db_url) is None


@pytest.mark.mysql
@pytest.mark.parametrize(
    ("scheme", "collation"),
    [("mysql+pymysql", "utf8mb4_0900_bin"), ("mariadb+pymysql", "utf8mb4_nopad_bin")],
)
def test_offline_sql_names_a_no_pad_collation_and_applies_exactly(
    scheme: str, collation: str, tmp_path: Path
) -> None:
    require_backend("mysql")
    with throwaway_database("mysql", tmp_path) as url:
        target = url.set(drivername=scheme).render_as_string(hide_password=False)
        alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini")]
        sql = subprocess.run(
            [*alembic, "-x", f"url={target}", "upgrade", "head", "--sql"],
            check=True,
            timeout=120,
            capture_output=True,
            text=True,
        ).stdout
        assert f"COLLATE {collation}" in sql
        assert "utf8mb4_bin" not in sql and "_ci" not in sql
        if scheme == "mariadb+pymysql":  # this server is MariaDB: the script must run and be exact
            subprocess.run(
                ["mariadb", "-h", url.host or "127.0.0.1", "-P", str(url.port or 3306), "-u",
                 url.username or "root", url.database or ""],
                input=sql, check=True, timeout=120, text=True,
            )  # fmt: skip
            assert _collations(url) == {collation}
            assert _problem(url) is None
            with SQLAlchemyTokenStore(url) as store:
                store.save_token(full_token(1))
