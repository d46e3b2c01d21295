"""``zoho-tokenstore doctor``: one line per check, exit 0 only when all pass, on every backend."""

from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from databases import url_arg
from direct_db import set_refresh_failure_columns
from token_factory import full_token, now_ms
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.cli import main
from zoho_tokenstore.cli.operations.diagnostics import check_strict_mode, diagnose
from zoho_tokenstore.database.engine import build_engine, masked_url
from zoho_tokenstore.database.migrations import head_revision

CHECKS = {
    "sqlite": ["connect", "schema", "model", "consent", "journal", "file mode"],
    "postgresql": ["connect", "schema", "model", "consent"],
    "mysql": ["connect", "schema", "model", "consent", "collation", "strict mode"],
}
LINE = re.compile(r"^(ok|warn|FAIL|skip) +([a-z ]+): (.+)$")


def _doctor(
    url: URL, capsys: pytest.CaptureFixture[str], *extra: str
) -> tuple[int, dict[str, str]]:
    """Run doctor; return its exit status and each check's line by check name."""
    status = main(["doctor", "--url", url_arg(url), *extra])
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.splitlines()
    parsed = [LINE.match(line) for line in lines]
    assert all(parsed), lines
    return status, {m.group(2): line for m, line in zip(parsed, lines, strict=True) if m}


def _execute(url: URL, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    engine.dispose()


def test_a_migrated_database_passes_every_check(
    backend: str, db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = _doctor(db_url, capsys)
    assert list(lines) == CHECKS[backend]
    assert all(line.startswith("ok ") for line in lines.values()), lines
    assert status == 0
    assert head_revision() in lines["schema"]


def test_no_schema_fails_and_names_the_fix(
    backend: str, empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    if backend == "sqlite":
        Path(str(empty_db_url.database)).touch()  # an existing file, never migrated
    status, lines = _doctor(empty_db_url, capsys)
    assert status == 1
    assert lines["connect"].startswith("ok ")
    assert lines["schema"].startswith("FAIL")
    # The fix names the URL the user gave (password masked), not the read-only view doctor opened.
    assert f"zoho-tokenstore upgrade --url '{masked_url(empty_db_url)}'" in lines["schema"]
    assert "auto_upgrade" not in lines["schema"] and "alembic" not in lines["schema"]
    assert lines["model"].startswith("skip")
    assert lines["consent"].startswith("skip")


def test_users_who_must_consent_again_are_listed_as_a_warning(
    db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    revoked, throttled = full_token(1), full_token(2)
    with SQLAlchemyTokenStore(db_url, refresh_ahead=False) as store:
        store.save_token(revoked)
        store.save_token(throttled)
    status, lines = _doctor(db_url, capsys)
    assert lines["consent"] == "ok    consent: no token's refresh has failed"

    set_refresh_failure_columns(
        db_url, revoked.get_id(), refresh_error="invalid_code", refresh_failed_at=now_ms()
    )
    set_refresh_failure_columns(
        db_url,
        throttled.get_id(),
        refresh_error="Access Denied",
        refresh_failed_at=now_ms(),
        refresh_retry_at=now_ms(30),
    )
    status, lines = _doctor(db_url, capsys)
    assert status == 0  # the database is fine: a person has to act, not the operator's setup
    assert lines["consent"] == (
        "warn  consent: 1 user(s) must consent again (Zoho answered invalid_code; a new login "
        "clears it): user1@example.com:60001; 1 token(s) back off after a "
        "failed refresh (see `tokens`)"
    )

    # The user logs in again: the save of the new token clears it.
    with SQLAlchemyTokenStore(db_url, refresh_ahead=False) as store:
        store.save_token(full_token(1, refresh_token="1000.new-refresh-token-after-consent"))
    status, lines = _doctor(db_url, capsys)
    assert "must consent" not in lines["consent"]
    assert lines["consent"].startswith("warn  consent: 1 token(s) back off")


def test_a_table_that_differs_from_the_model_fails(
    backend: str, empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(empty_db_url)
    _execute(
        empty_db_url,
        "DROP INDEX ix_oauthtoken_refresh_token" + (" ON oauthtoken" if backend == "mysql" else ""),
    )
    status, lines = _doctor(empty_db_url, capsys)
    assert status == 1
    assert lines["model"].startswith("FAIL")
    assert "add_index ix_oauthtoken_refresh_token" in lines["model"]
    assert lines["schema"].startswith("ok ")  # the revision alone does not show it


def test_other_tables_are_not_differences(
    backend: str, empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second token table and the host's own tables live beside ours; each table is checked alone."""
    upgrade(empty_db_url)
    upgrade(empty_db_url, table_name="crm_tokens")
    _execute(empty_db_url, "CREATE TABLE host_orders (id INTEGER PRIMARY KEY)")
    for extra in ((), ("--table", "crm_tokens")):
        status, lines = _doctor(empty_db_url, capsys, *extra)
        assert status == 0, lines


def test_an_unreachable_server_fails_at_connect(
    server_backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    scheme = "postgresql+psycopg" if server_backend == "postgresql" else "mysql+pymysql"
    url = sa.engine.make_url(f"{scheme}://app:S3cretPw@127.0.0.1:1/x")
    status, lines = _doctor(url, capsys)
    assert status == 1
    assert list(lines) == ["connect"]
    assert "nothing is listening at 127.0.0.1:1 (connection refused)" in lines["connect"]
    assert "S3cretPw" not in lines["connect"]


# -- SQLite ------------------------------------------------------------------------------------


@pytest.mark.sqlite
def test_sqlite_without_wal_or_with_a_readable_file_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "tokens.db"
    url = sa.engine.make_url(f"sqlite:///{path}")
    upgrade(url)
    connection = sqlite3.connect(path)
    connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    os.chmod(path, 0o644)

    status, lines = _doctor(url, capsys)
    assert status == 1
    assert lines["journal"].startswith("FAIL") and "delete" in lines["journal"]
    assert lines["file mode"].startswith("FAIL") and "0644" in lines["file mode"]
    assert lines["model"].startswith("ok ")
    # Doctor only looked: the journal mode and the file mode are as it found them.
    connection = sqlite3.connect(path)
    assert connection.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    connection.close()
    assert os.stat(path).st_mode & 0o777 == 0o644


@pytest.mark.sqlite
def test_doctor_on_a_missing_file_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, lines = _doctor(sa.engine.make_url(f"sqlite:///{tmp_path}/typo.db"), capsys)
    assert status == 1
    assert list(lines) == ["connect"] and "no SQLite database file" in lines["connect"]
    assert list(tmp_path.iterdir()) == []


# -- MySQL / MariaDB ---------------------------------------------------------------------------


@pytest.mark.mysql
@pytest.mark.parametrize("backend", ["mysql"], indirect=True)
def test_mysql_a_case_insensitive_column_fails_the_collation_check(
    empty_db_url: URL, backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    upgrade(empty_db_url)
    status, lines = _doctor(empty_db_url, capsys)
    assert status == 0 and "case and trailing spaces count" in lines["collation"]
    _execute(
        empty_db_url,
        "ALTER TABLE oauthtoken MODIFY user_name VARCHAR(512)"
        " CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
    )
    status, lines = _doctor(empty_db_url, capsys)
    assert status == 1
    assert lines["collation"].startswith("FAIL")
    assert "user_name (utf8mb4_general_ci: 'a' matches 'A')" in lines["collation"]


@pytest.mark.mysql
@pytest.mark.parametrize("backend", ["mysql"], indirect=True)
def test_mysql_a_session_without_strict_mode_fails(db_url: URL, backend: str) -> None:
    assert check_strict_mode(build_engine(db_url)).passed
    lax = build_engine(db_url, connect_args={"init_command": "SET SESSION sql_mode = ''"})
    try:
        check = check_strict_mode(lax)
    finally:
        lax.dispose()
    assert not check.passed and "truncated" in check.detail


def test_diagnose_is_the_same_checks_for_code(backend: str, db_url: URL) -> None:
    """What the store or a health endpoint would call: the checks as values, not printed lines."""
    checks = diagnose(db_url)
    assert [c.name for c in checks] == CHECKS[backend]
    assert all(c.passed for c in checks)


def test_the_sample_output_in_cli_md_is_what_doctor_prints(
    backend: str, db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    """docs/cli.md shows doctor on a ``mysql+pymysql://`` URL to MariaDB: same checks, same words."""
    if backend != "mysql":
        pytest.skip("the page's sample is a MariaDB server")
    page = (Path(__file__).resolve().parents[1] / "docs" / "cli.md").read_text(encoding="utf-8")
    sample = page.split("## doctor", 1)[1].split("```\n", 2)[2].split("```", 1)[0]
    shown = dict(
        (m.group(2), m.group(3)) for m in map(LINE.match, sample.splitlines()) if m is not None
    )
    assert f"connect: {db_url.drivername}://" in sample
    status, lines = _doctor(db_url, capsys)
    assert status == 0 and list(lines) == list(shown)
    server = re.search(r"answers \((\w+) ([\d.]+)\)", lines["connect"])
    assert server is not None and f"answers ({server.group(1)} " in shown["connect"]
    for name in ("schema", "model", "collation"):
        assert lines[name].split(": ", 1)[1] == shown[name].replace(
            "zoho_tokenstore_0004", head_revision()
        )
