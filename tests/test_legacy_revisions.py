"""A database an earlier release stamped at revision ``0001`` keeps working and keeps upgrading."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from databases import url_arg
from direct_db import version_nums
from zoho_tokenstore import downgrade, upgrade
from zoho_tokenstore.cli import main
from zoho_tokenstore.core.model import TABLE_NAME
from zoho_tokenstore.database.migrations import (
    VERSION_TABLE,
    current_revision,
    head_revision,
    schema_problem,
    version_table,
)

FIRST = "zoho_tokenstore_0001"


def stamp(url: URL, revision: str, table: str = VERSION_TABLE) -> None:
    """Rewrite the version table as a release that used ``revision`` as the id would have left it."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE {table} SET version_num = '{revision}'")
    engine.dispose()


def test_the_old_id_reads_as_the_new_one(empty_db_url: URL) -> None:
    upgrade(empty_db_url, FIRST)
    engine = sa.create_engine(empty_db_url)
    as_new = schema_problem(engine, TABLE_NAME, fix="FIX")
    stamp(empty_db_url, "0001")
    assert version_nums(empty_db_url, VERSION_TABLE) == ["0001"]  # reading rewrote nothing
    assert current_revision(engine) == FIRST
    with engine.connect() as connection:
        assert current_revision(connection) == FIRST
        assert schema_problem(connection, TABLE_NAME, fix="FIX") == as_new
    # Whatever the store's schema check says about FIRST, it says about "0001": never "unknown".
    assert schema_problem(engine, TABLE_NAME, fix="FIX") == as_new
    engine.dispose()


def test_the_cli_shows_the_old_id_as_the_new_one(
    empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(empty_db_url, FIRST)
    stamp(empty_db_url, "0001")
    assert main(["current", "--url", url_arg(empty_db_url)]) == 0
    assert f"revision {FIRST} " in capsys.readouterr().out


@pytest.mark.parametrize("table_name", ["oauthtoken", "crm_tokens"])
def test_a_database_at_the_old_id_keeps_upgrading(empty_db_url: URL, table_name: str) -> None:
    upgrade(empty_db_url, FIRST, table_name=table_name)
    stamp(empty_db_url, "0001", version_table(table_name))
    upgrade(empty_db_url, table_name=table_name)
    assert version_nums(empty_db_url, version_table(table_name)) == [head_revision()]


def test_a_database_at_the_old_id_downgrades(empty_db_url: URL) -> None:
    upgrade(empty_db_url, FIRST)
    stamp(empty_db_url, "0001")
    downgrade(empty_db_url, "base")
    engine = sa.create_engine(empty_db_url)
    assert set(sa.inspect(engine).get_table_names()) == {VERSION_TABLE}
    engine.dispose()
    assert version_nums(empty_db_url, VERSION_TABLE) == []


def test_the_old_id_is_accepted_as_a_target(empty_db_url: URL) -> None:
    upgrade(empty_db_url, "0001")
    assert version_nums(empty_db_url, VERSION_TABLE) == [FIRST]
    upgrade(empty_db_url)
    downgrade(empty_db_url, "0001")
    assert version_nums(empty_db_url, VERSION_TABLE) == [FIRST]


def test_a_connection_at_the_old_id_keeps_upgrading(empty_db_url: URL) -> None:
    upgrade(empty_db_url, FIRST)
    stamp(empty_db_url, "0001")
    engine = sa.create_engine(empty_db_url)
    with engine.connect() as connection:
        upgrade(connection)
    engine.dispose()
    assert version_nums(empty_db_url, VERSION_TABLE) == [head_revision()]
