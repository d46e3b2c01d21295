"""Plain ``alembic`` with the checkout's alembic.ini: it says what it applied, and ``--sql`` on SQLite
says in one line what to do instead of failing half-way."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from zoho_tokenstore.database.migrations import alembic_config

REPO = Path(__file__).resolve().parents[1]
ALEMBIC = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini")]

pytestmark = pytest.mark.sqlite


def _alembic(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*ALEMBIC, *arguments], capture_output=True, text=True, timeout=120, check=False
    )


def test_upgrade_logs_each_revision_it_applies_and_nothing_when_there_is_none(
    tmp_path: Path,
) -> None:
    url = f"url=sqlite:///{tmp_path / 'tokens.db'}"
    scripts = ScriptDirectory.from_config(alembic_config())
    steps = [(s.down_revision or "", s.revision) for s in reversed(list(scripts.walk_revisions()))]
    assert len(steps) >= 4
    first = _alembic("-x", url, "upgrade", "head")
    assert first.returncode == 0, first.stderr
    for down, revision in steps:
        assert f"Running upgrade {down} -> {revision}," in first.stderr
    again = _alembic("-x", url, "upgrade", "head")
    assert again.returncode == 0 and "Running upgrade" not in again.stderr


def test_offline_sql_on_sqlite_names_the_server_dialect_it_needs_in_one_line(
    tmp_path: Path,
) -> None:
    database = tmp_path / "tokens.db"
    refused = _alembic("-x", f"url=sqlite:///{database}", "upgrade", "head", "--sql")
    assert refused.returncode == 1 and refused.stdout == ""
    [line] = refused.stderr.splitlines()
    assert line.startswith("offline SQL (--sql) needs a server dialect")
    assert not database.exists()
    # What the line suggests works without any server: the script of every revision, on stdout.
    server = _alembic("-x", "url=postgresql+psycopg://", "upgrade", "head", "--sql")
    assert server.returncode == 0, server.stderr
    assert "CREATE TABLE oauthtoken (" in server.stdout and "Running upgrade" in server.stderr
    assert "-x url=postgresql+psycopg://" in line
