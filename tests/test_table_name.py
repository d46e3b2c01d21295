"""A store on another table name: its own migrations and history, beside the default table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from direct_db import schema_differences, table_names
from token_factory import fields_of, full_token
from zoho_tokenstore import SQLAlchemyTokenStore, downgrade, upgrade
from zoho_tokenstore.cli import main

REPO = Path(__file__).resolve().parents[1]
CUSTOM = "crm_tokens"


def test_a_custom_table_lives_beside_the_default_one(empty_db_url: URL) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url, table_name=CUSTOM)
    assert table_names(empty_db_url) == {
        "oauthtoken",
        "oauthtoken_refresh_lease",
        "zoho_tokenstore_alembic_version",
        CUSTOM,
        f"{CUSTOM}_refresh_lease",
        f"zoho_tokenstore_alembic_version_{CUSTOM}",
    }
    assert schema_differences(empty_db_url, CUSTOM) == []

    default, custom = full_token(1), full_token(1, access_token="1000.custom")
    with (
        SQLAlchemyTokenStore(empty_db_url) as default_store,
        SQLAlchemyTokenStore(empty_db_url, table_name=CUSTOM) as custom_store,
    ):
        default_store.save_token(default)
        custom_store.save_token(custom)  # same user name: a different table, so no conflict
        assert fields_of(custom_store.find_token_by_id(custom.get_id())) == fields_of(custom)
        assert [t.get_access_token() for t in default_store.get_tokens()] == [
            default.get_access_token()
        ]

    downgrade(empty_db_url, "base", table_name=CUSTOM)
    assert CUSTOM not in table_names(empty_db_url)
    assert f"{CUSTOM}_refresh_lease" not in table_names(empty_db_url)
    assert {"oauthtoken", "oauthtoken_refresh_lease"} <= table_names(empty_db_url)


def test_a_store_on_a_table_never_upgraded_names_the_table_in_its_fix(empty_db_url: URL) -> None:
    upgrade(empty_db_url)  # only the default table
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(empty_db_url, table_name=CUSTOM)
    assert f"--table {CUSTOM}" in raised.value.error_message


def test_alembic_command_line_takes_the_table(empty_db_url: URL) -> None:
    url = empty_db_url.render_as_string(hide_password=False)
    alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini")]
    subprocess.run(
        [*alembic, "-x", f"url={url}", "-x", f"table={CUSTOM}", "upgrade", "head"],
        check=True,
        timeout=120,
    )
    assert table_names(empty_db_url) == {
        CUSTOM,
        f"{CUSTOM}_refresh_lease",
        f"zoho_tokenstore_alembic_version_{CUSTOM}",
    }
    assert schema_differences(empty_db_url, CUSTOM) == []


def test_the_cli_takes_the_table(empty_db_url: URL, capsys: pytest.CaptureFixture[str]) -> None:
    url = empty_db_url.render_as_string(hide_password=False)
    assert main(["upgrade", "--url", url, "--table", CUSTOM]) == 0
    assert f"(table {CUSTOM}) is at revision" in capsys.readouterr().out
    assert main(["tokens", "--url", url, "--table", CUSTOM]) == 0
    assert "0 stored token(s)" in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["Tokens", "1tokens", "tokens;drop", "x" * 33, ""])
def test_a_table_name_that_is_not_a_plain_identifier_is_refused(bad: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.db'}"
    with pytest.raises(SDKException, match="not a lower-case identifier"):
        SQLAlchemyTokenStore(url, table_name=bad, check_schema=False)
    with pytest.raises(ValueError, match="not a lower-case identifier"):
        upgrade(url, table_name=bad)
