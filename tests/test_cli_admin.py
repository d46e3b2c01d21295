"""``tokens``, ``delete`` and ``purge``: what an operator sees and removes, on every backend."""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from backends import SERVER_BACKENDS
from databases import url_arg
from direct_db import set_refresh_failure_columns
from token_factory import fields_of, full_token, make_token, now_ms
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.cli import main
from zoho_tokenstore.cli.operations.maintenance import purge
from zoho_tokenstore.database.engine import build_engine

Rows = Callable[[], list[dict[str, Any]]]
SECRET_COLUMNS = ("client_secret", "refresh_token", "access_token", "grant_token")
HOUR_MS = 3_600_000


def _save(url: URL, *tokens: Any) -> list[str]:
    with SQLAlchemyTokenStore(url, refresh_ahead=False) as store:
        for token in tokens:
            store.save_token(token)
    return [token.get_id() for token in tokens]


def _assert_no_secret(text: str, *tokens: Any) -> None:
    for token in tokens:
        for column in SECRET_COLUMNS:
            value = fields_of(token)[column]
            if value:
                assert value not in text, column


class _Terminal(io.StringIO):
    """Standard input as a terminal where the user types the given answer."""

    def isatty(self) -> bool:
        return True


# -- tokens -----------------------------------------------------------------------------------


def test_tokens_lists_every_row_masked_and_filters_by_user(
    db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two = full_token(1), full_token(2)
    _save(db_url, one, two)

    assert main(["tokens", "--url", url_arg(db_url)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 stored token(s) in ")
    for token in (one, two):
        assert f"id={token.get_id()} user={fields_of(token)['user_name']}" in out
    assert "refresh=***cdef access=***cdef" in out  # long secrets show their last 4 characters
    _assert_no_secret(out, one, two)

    assert main(["tokens", "--url", url_arg(db_url), "--user", fields_of(two)["user_name"]]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"1 stored token(s) for user {fields_of(two)['user_name']} in ")
    assert two.get_id() in out and one.get_id() not in out

    assert main(["tokens", "--url", url_arg(db_url), "--user", "USER1@example.com:60001"]) == 0
    assert capsys.readouterr().out.startswith("0 stored token(s)")  # exact match: case counts


def test_tokens_json_is_one_masked_object_per_row(
    db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    token = full_token(1, redirect_url=None)
    _save(db_url, token, full_token(2))

    assert (
        main(["tokens", "--url", url_arg(db_url), "--json", "--user", "user1@example.com:60001"])
        == 0
    )
    out = capsys.readouterr().out
    [shown] = json.loads(out)
    stored = fields_of(token)
    assert shown == {
        "id": token.get_id(),
        "user_name": stored["user_name"],
        "client_id": stored["client_id"],
        "client_secret": "***cdef",
        "refresh_token": "***cdef",
        "access_token": "***cdef",
        "grant_token": "***cdef",
        "expiry_time": stored["expiry_time"],
        "redirect_url": None,
        "api_domain": stored["api_domain"],
        "refresh_failure": None,
    }
    _assert_no_secret(out, token)

    assert main(["tokens", "--url", url_arg(db_url), "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 2


def test_tokens_shows_the_remembered_refresh_failures(
    db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    revoked, throttled, fine = full_token(1), full_token(2), full_token(3)
    _save(db_url, revoked, throttled, fine)
    failed_at = now_ms() - 60_000
    set_refresh_failure_columns(
        db_url,
        revoked.get_id(),
        refresh_error="invalid_code",
        refresh_failed_at=failed_at,
        refresh_failures=1,
    )
    set_refresh_failure_columns(
        db_url,
        throttled.get_id(),
        refresh_error="Access Denied",
        refresh_failed_at=failed_at,
        refresh_failures=2,
        refresh_retry_at=failed_at + 60_000,
    )
    at = datetime.fromtimestamp(failed_at / 1000, tz=timezone.utc).isoformat(timespec="seconds")

    assert main(["tokens", "--url", url_arg(db_url), "--json"]) == 0
    shown = {row["id"]: row["refresh_failure"] for row in json.loads(capsys.readouterr().out)}
    assert shown == {
        revoked.get_id(): {"error": "invalid_code", "at": at},
        throttled.get_id(): {"error": "Access Denied", "at": at},
        fine.get_id(): None,
    }
    assert datetime.fromisoformat(at).timestamp() == failed_at // 1000

    assert main(["tokens", "--url", url_arg(db_url)]) == 0
    lines = {line.split()[1]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert lines[f"id={revoked.get_id()}"].endswith(
        f"refresh failed: invalid_code at {at} (the user must consent again)"
    )
    assert (
        f"refresh failed: Access Denied at {at} (2 in a row, retried after"
        in (lines[f"id={throttled.get_id()}"])
    )
    assert "refresh failed" not in lines[f"id={fine.get_id()}"]


# -- delete -----------------------------------------------------------------------------------


def test_delete_by_id_and_by_user_with_yes(
    db_url: URL, rows: Rows, capsys: pytest.CaptureFixture[str]
) -> None:
    one, two, three = full_token(1), full_token(2), full_token(3)
    _save(db_url, one, two, three)

    assert main(["delete", "--url", url_arg(db_url), "--id", one.get_id(), "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"deleted the token with id {one.get_id()}" in out
    _assert_no_secret(out, one)
    assert [r["id"] for r in rows()] == sorted([two.get_id(), three.get_id()])

    user = fields_of(three)["user_name"]
    assert main(["delete", "--url", url_arg(db_url), "--user", user, "--yes"]) == 0
    assert f"deleted the token with id {three.get_id()}" in capsys.readouterr().out
    assert [r["id"] for r in rows()] == [two.get_id()]


def test_delete_asks_and_deletes_only_on_yes(
    db_url: URL, rows: Rows, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    [token_id] = _save(db_url, full_token(1))
    argv = ["delete", "--url", url_arg(db_url), "--id", token_id]

    monkeypatch.setattr("sys.stdin", _Terminal("n\n"))
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert f"id={token_id}" in captured.out and "delete this token? [y/N]" in captured.out
    assert captured.err == "error: not deleted: not confirmed\n"
    assert len(rows()) == 1

    monkeypatch.setattr("sys.stdin", _Terminal("y\n"))
    assert main(argv) == 0
    assert rows() == []


def test_delete_without_a_terminal_and_without_yes_refuses(
    db_url: URL, rows: Rows, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    [token_id] = _save(db_url, full_token(1))
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))  # piped input is not a confirmation
    assert main(["delete", "--url", url_arg(db_url), "--id", token_id]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "pass --yes" in err and err.count("\n") == 1
    assert len(rows()) == 1


def test_delete_of_an_unknown_id_or_user_says_so(
    db_url: URL, rows: Rows, capsys: pytest.CaptureFixture[str]
) -> None:
    _save(db_url, full_token(1))
    for option, value in (("--id", "no-such-id"), ("--user", "nobody@example.com")):
        assert main(["delete", "--url", url_arg(db_url), option, value, "--yes"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: no stored token has ") and repr(value) in err
    assert len(rows()) == 1


# -- purge ------------------------------------------------------------------------------------


def _purge_fixture(url: URL) -> dict[str, str]:
    """One row of each kind; the keys say whether purge must remove it."""
    now = now_ms()
    tokens = {
        "dead: expired access token, no refresh token": make_token(
            user_name="expired@example.com",
            access_token="1000.old-access-0123456789",
            grant_token="1000.spent-grant-0123456789",
            expiry_time=str(now - HOUR_MS),
        ),
        "dead: expired access token only": make_token(
            access_token="1000.anonymous-old-0123456789", expiry_time=str(now - 1000)
        ),
        "kept: refresh token, expired access token": full_token(3, expiry_time=str(now - HOUR_MS)),
        "kept: valid access token, no refresh token": make_token(
            user_name="valid@example.com",
            access_token="1000.valid-access-0123456789",
            expiry_time=str(now + HOUR_MS),
        ),
        "kept: access token without expiry": make_token(access_token="1000.no-expiry-0123456789"),
        "kept: unexchanged grant token": make_token(
            user_name="new@example.com",
            client_id="c",
            client_secret="s",
            grant_token="1000.fresh-grant-0123456789",
        ),
    }
    _save(url, *tokens.values())
    return {label: token.get_id() for label, token in tokens.items()}


def test_purge_removes_only_rows_that_can_never_work_again(
    db_url: URL, rows: Rows, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = _purge_fixture(db_url)
    dead = sorted(i for label, i in ids.items() if label.startswith("dead"))
    kept = sorted(i for label, i in ids.items() if label.startswith("kept"))

    assert main(["purge", "--url", url_arg(db_url), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would remove 2 token(s) that can never work again")
    assert all(f"id={i}" in out for i in dead) and not any(i in out for i in kept)
    assert len(rows()) == 6  # a dry run changes nothing

    assert main(["purge", "--url", url_arg(db_url)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("removed 2 token(s) that can never work again")
    assert all(f"id={i}" in out for i in dead)
    assert "access=***6789" in out and "old-access" not in out and "spent-grant" not in out
    assert sorted(r["id"] for r in rows()) == kept

    assert main(["purge", "--url", url_arg(db_url)]) == 0
    assert capsys.readouterr().out.startswith("removed 0 token(s)")


@SERVER_BACKENDS
def test_purge_keeps_a_row_saved_between_its_read_and_its_delete(
    backend: str, db_url: URL, rows: Rows
) -> None:
    """The delete repeats its conditions on the values read: a refresh saved meanwhile survives.

    Server backends only: on SQLite purge holds the database's write lock from its read on.
    """
    now = now_ms()
    [token_id] = _save(
        db_url, make_token(access_token="1000.old-0123456789", expiry_time=str(now - 1000))
    )
    engine = build_engine(db_url)
    saved_meanwhile = []

    def save_after_the_read(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT") and not saved_meanwhile:
            saved_meanwhile.append(True)
            _save(db_url, make_token(id=token_id, refresh_token="1000.new-refresh"))

    sa.event.listen(engine, "after_cursor_execute", save_after_the_read)
    try:
        assert purge(engine, now_ms=now) == []
    finally:
        engine.dispose()
    assert saved_meanwhile
    assert [(r["id"], r["refresh_token"]) for r in rows()] == [(token_id, "1000.new-refresh")]


@pytest.mark.sqlite
def test_delete_asks_on_a_real_terminal(tmp_path: Path) -> None:
    """The installed command with a pseudo-terminal as its input: the user types "y"."""
    url = f"sqlite:///{tmp_path}/tokens.db"
    upgrade(url)
    [token_id] = _save(make_url(url), full_token(1))
    command = shutil.which("zoho-tokenstore", path=os.path.dirname(sys.executable))
    assert command is not None
    controller, terminal = pty.openpty()
    try:
        os.write(controller, b"y\n")
        result = subprocess.run(
            [command, "delete", "--url", url, "--id", token_id],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        os.close(controller)
        os.close(terminal)
    assert result.returncode == 0, result.stderr
    assert "delete this token? [y/N]" in result.stdout
    assert f"deleted the token with id {token_id}" in result.stdout
    with SQLAlchemyTokenStore(url) as store:
        assert store.get_tokens() == []
