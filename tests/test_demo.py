"""``zoho-tokenstore demo``: the offline quickstart works on every backend, re-runs, and shows no secret."""

from __future__ import annotations

import io
import logging
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.util.utility import Utility

from databases import url_arg
from sdk_helpers import get_leads, lead_descriptions
from token_factory import full_token, now_ms
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main
from zoho_tokenstore.cli.operations.demo import DEMO_USER_NAME, EARLIER_ROW_DELETED, run_demo
from zoho_tokenstore.sdk.tokens import SDK_FINDS_USER
from zoho_tokenstore.testing import StandInKit
from zoho_tokenstore.testing.standin_zoho import DEFAULT_CLIENT_SECRET

Rows = Callable[[], list[dict[str, Any]]]
STEPS = ("Migrate", "Stand-in", "Login", "API call", "Expire", "Refresh", "Restart")
# Every token the stand-in issues (grant codes, refresh and access tokens) has this shape.
STANDIN_TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")
SUBPROCESS_TIMEOUT_S = 60


def assert_shows_every_step_and_no_secret(output: str, stored: dict[str, Any]) -> None:
    for number, title in enumerate(STEPS, start=1):
        assert re.search(rf"^\[{number}\] {re.escape(title)}\b", output, re.MULTILINE), title
    assert STANDIN_TOKEN.search(output) is None
    assert DEFAULT_CLIENT_SECRET not in output
    for column in ("refresh_token", "access_token", "grant_token", "client_secret"):
        assert stored[column] and stored[column] not in output, column


def assert_refreshed(row: dict[str, Any]) -> None:
    """The row holds a token the demo's refresh issued: an hour's expiry from about now."""
    assert row["user_name"] == DEMO_USER_NAME
    now = now_ms()
    assert now + 3_540_000 < int(row["expiry_time"]) <= now + 3_600_000


def test_demo_runs_twice_on_every_backend_and_keeps_one_row(
    db_url: URL, rows: Rows, clean_sdk: object, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--url", url_arg(db_url)]) == 0
    first_out = capsys.readouterr().out
    [first] = rows()
    assert_shows_every_step_and_no_secret(first_out, first)
    assert_refreshed(first)
    assert "a new row was inserted" in first_out

    assert main(["demo", "--url", url_arg(db_url)]) == 0
    second_out = capsys.readouterr().out
    [second] = rows()
    assert_shows_every_step_and_no_secret(second_out, second)
    if SDK_FINDS_USER:
        assert second["id"] == first["id"]  # the re-run updated the demo user's row
        assert f"a row from an earlier run (id {first['id']}) was updated" in second_out
    else:  # zohocrmsdk5_0 would use the dead row by its user name: the demo deletes it first
        assert f"{EARLIER_ROW_DELETED} (id {first['id']})" in second_out
        assert "a new row was inserted" in second_out
    assert second["refresh_token"] != first["refresh_token"]  # a new login, new tokens
    assert "token:authorization_code 1, token:refresh_token 1" in second_out


def test_demo_stores_the_refreshed_token_and_prints_none_of_its_values(
    db_url: URL, rows: Rows, clean_sdk: object
) -> None:
    out = io.StringIO()
    report = run_demo(url_arg(db_url), out=out)
    login, refreshed = report.after_login, report.after_refresh
    assert refreshed["id"] == login["id"]
    assert refreshed["refresh_token"] == login["refresh_token"]
    assert refreshed["access_token"] != login["access_token"]
    # Without a refresh the row would keep the expiry the demo set in the past before refreshing.
    assert int(refreshed["expiry_time"] or 0) > int(login["expiry_time"] or 0)
    [row] = rows()
    assert {k: row[k] for k in refreshed} == refreshed  # the restart step changed nothing
    assert_refreshed(row)
    for values in (login, refreshed):
        assert_shows_every_step_and_no_secret(out.getvalue(), {**row, **values})
    assert report.calls["token:refresh_token"] == 1
    assert report.calls["token:authorization_code"] == 1


def test_demo_other_rows_are_left_alone(db_url: URL, rows: Rows, clean_sdk: object) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        store.save_token(full_token(1))
    [other] = rows()
    out = io.StringIO()
    run_demo(url_arg(db_url), out=out)
    assert other in rows() and len(rows()) == 2
    assert "(and 1 other row(s), not the demo's, left untouched)" in out.getvalue()


def test_demo_reports_an_unreachable_database_without_its_password(
    capsys: pytest.CaptureFixture[str], clean_sdk: object
) -> None:
    url = "postgresql+psycopg://app:hunter2-secret@127.0.0.1:1/nowhere"
    assert main(["demo", "--url", url]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("error: ")
    assert "hunter2-secret" not in captured.out + captured.err
    assert "Traceback" not in captured.err


@pytest.mark.slow
def test_console_script_demo_defaults_to_sqlite_in_the_current_directory(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "zoho-tokenstore"
    env = {k: v for k, v in os.environ.items() if k != "ZOHO_TOKENSTORE_URL"}
    env["ZOHO_TOKENSTORE_URL"] = f"sqlite:///{tmp_path / 'app-tokens.db'}"  # the demo ignores it
    for _ in range(2):  # re-runnable
        done = subprocess.run(
            [str(script), "demo"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=SUBPROCESS_TIMEOUT_S,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr == ""
        assert "[7] Restart" in done.stdout
        assert STANDIN_TOKEN.search(done.stdout) is None
    # Only the database lands in the working directory; SDK field files went to a temp dir.
    assert sorted(os.listdir(tmp_path)) == ["zohooauth-demo.db"]
    # The last line points at an example the installed package has: it runs, and asks for settings.
    command = re.search(r"With a real Zoho account: (python -m \S+) ", done.stdout)
    assert command is not None and done.stdout.rstrip().endswith(".")
    example = subprocess.run(
        [sys.executable, *command.group(1).split()[1:]],
        cwd=tmp_path,
        env={k: v for k, v in env.items() if not k.startswith("ZOHO_")},
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
        check=False,
    )
    assert example.returncode == 2
    assert example.stderr.startswith("error: set these environment variables first: ZOHO_CLIENT_ID")


def test_demo_leaves_the_callers_sdk_as_it_found_it(
    db_url: URL, zoho_standin: StandInKit, tmp_path: Path
) -> None:
    # The caller's own SDK setup: its stand-in, its store, its user, its logger level.
    with SQLAlchemyTokenStore(f"sqlite:///{tmp_path / 'callers.db'}", auto_upgrade=True) as store:
        zoho_standin.initialize_sdk(store)
        get_leads()
        callers = Initializer.initializer
        modules = Utility.module_api_name
        logging.getLogger("SDKLogger").setLevel(logging.WARNING)

        run_demo(url_arg(db_url), out=io.StringIO())

        assert Initializer.initializer is callers
        assert Utility.module_api_name == modules
        assert logging.getLogger("SDKLogger").level == logging.WARNING
        # The caller's next API call still goes to its own Zoho, as its own user.
        assert lead_descriptions(get_leads()) == [f"fetched by {zoho_standin.user.user_name}"]
