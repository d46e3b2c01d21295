"""The ``zoho-tokenstore`` command: upgrade, current, tokens (masked), downgrade, errors."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL

from databases import url_arg
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main
from zoho_tokenstore.database.migrations import head_revision


def test_upgrade_current_tokens_downgrade(
    empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    url = url_arg(empty_db_url)
    assert main(["upgrade", "--url", url]) == 0
    assert f"is at revision {head_revision()}" in capsys.readouterr().out

    assert main(["current", "--url", url]) == 0
    assert f"revision {head_revision()}" in capsys.readouterr().out

    token = full_token(1)
    with SQLAlchemyTokenStore(empty_db_url) as store:
        store.save_token(token)
    assert main(["tokens", "--url", url]) == 0
    out = capsys.readouterr().out
    assert "1 stored token(s)" in out
    assert token.get_user_signature().get_name() in out
    for secret in (
        token.get_refresh_token(),
        token.get_access_token(),
        token.get_client_secret(),
        token.get_grant_token(),
    ):
        assert secret not in out

    assert main(["downgrade", "--url", url, "--revision", "base"]) == 0
    assert "none (no schema)" in capsys.readouterr().out


def test_the_url_comes_from_the_environment(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ZOHO_TOKENSTORE_URL", f"sqlite:///{tmp_path}/env.db")
    assert main(["upgrade"]) == 0
    assert "env.db is at revision" in capsys.readouterr().out


def test_errors_are_reported_without_password_or_traceback(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["tokens", "--url", "postgresql+psycopg://app:S3cretPw@127.0.0.1:9/x"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ")
    assert "S3cretPw" not in captured.err + captured.out
    assert "Traceback" not in captured.err


@pytest.mark.sqlite
def test_version_prints_the_installed_distribution_version(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from importlib.metadata import version

    assert main(["--version"]) == 0
    captured = capsys.readouterr()
    assert captured.out == f"zoho-tokenstore {version('zoho-tokenstore')}\n"
    assert captured.err == ""
