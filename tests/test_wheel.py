"""The built wheel, installed next to the user's SDK in a fresh venv with no source tree: it leaves
that SDK as it is, upgrades a database by itself, and a user's project runs its tests against the
stand-in through the installed plugin."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from doc_files import doc_files, write_files
from sdk_generations import sdk_records_take_no_module
from zoho_tokenstore.sdk.generation import installed_sdk_distributions, normalized_name

REPO = Path(__file__).resolve().parents[1]

#: The wheel is built once for the module: its tests stay on one xdist worker.
pytestmark = pytest.mark.xdist_group("wheel")


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the built wheel (and its ``testing`` extra) installed; no source tree."""
    tmp_path = tmp_path_factory.mktemp("wheel")
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(REPO),
        ],
        check=True,
        timeout=300,
        capture_output=True,
    )
    [wheel] = dist.glob("zoho_tokenstore-*.whl")

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    # The user's application already runs on this run's SDK generation (8_0, 7_0, 6_0 or 5_0)...
    [sdk] = installed_sdk_distributions()
    pip = [str(python), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, f"{sdk.name}=={sdk.version}"], check=True, timeout=600)
    # ...and adding the store must leave it as it is: no other generation over its files.
    subprocess.run([*pip, f"{wheel}[testing]"], check=True, timeout=600)
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    sdks = [
        (normalized_name(d["name"]), d["version"])
        for d in json.loads(listed.stdout)
        if normalized_name(d["name"]).startswith("zohocrmsdk")
    ]
    assert sdks == [(sdk.name, sdk.version)]
    return environment


@pytest.mark.slow
def test_installed_wheel_upgrades_sqlite_without_the_source_tree(
    environment: Path, tmp_path: Path
) -> None:
    python = environment / "bin" / "python"
    workdir = tmp_path / "elsewhere"  # no alembic.ini, no migrations/ here
    workdir.mkdir()
    database = workdir / "tokens.db"
    command = [
        str(environment / "bin" / "zoho-tokenstore"),
        "upgrade",
        "--url",
        f"sqlite:///{database}",
    ]
    result = subprocess.run(
        command, cwd=workdir, check=True, timeout=120, capture_output=True, text=True
    )
    assert "is at revision" in result.stdout
    with sqlite3.connect(database) as connection:
        tables = {
            row[0]
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        }
    assert {"oauthtoken", "zoho_tokenstore_alembic_version"} <= tables
    assert database.stat().st_mode & 0o777 == 0o600

    script = (
        "import zoho_tokenstore, sys\n"
        "from zoho_tokenstore.database.migrations import migrations_path\n"
        "assert 'site-packages' in zoho_tokenstore.__file__, zoho_tokenstore.__file__\n"
        "assert 'site-packages' in str(migrations_path())\n"
        "zoho_tokenstore.upgrade(sys.argv[1])\n"
        "store = zoho_tokenstore.SQLAlchemyTokenStore(sys.argv[1])\n"
        "print(len(store.get_tokens()))\n"
    )
    second = f"sqlite:///{workdir / 'from-python.db'}"
    result = subprocess.run(
        [str(python), "-c", script, second],
        cwd=workdir,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "0"

    # The demo's last line names this example: the wheel has it, and it asks for its settings.
    example = subprocess.run(
        [str(python), "-m", "zoho_tokenstore.examples.real_zoho_init"],
        cwd=workdir,
        env={k: v for k, v in os.environ.items() if not k.startswith("ZOHO_")},
        check=False,
        timeout=120,
        capture_output=True,
        text=True,
    )
    assert example.returncode == 2 and "ZOHO_CLIENT_ID" in example.stderr, example.stderr


@pytest.mark.slow
@sdk_records_take_no_module  # the project calls RecordOperations("Leads")
def test_a_users_project_tests_against_the_stand_in_with_the_installed_plugin(
    environment: Path, tmp_path: Path
) -> None:
    # The project of docs/testing-kit.md: no conftest, so `zoho_standin` can only come from the
    # plugin the wheel registered (the `pytest11` entry point).
    project = write_files(tmp_path / "users-project", doc_files("testing-kit.md", "user project"))
    result = subprocess.run(
        [str(environment / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        timeout=300,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout
    plugins = subprocess.run(
        [str(environment / "bin" / "python"), "-m", "pytest", "--version", "--version"],
        cwd=project,
        timeout=120,
        capture_output=True,
        text=True,
        check=True,
    )
    assert (
        "site-packages/zoho_tokenstore/testing/pytest_plugin.py" in plugins.stdout + plugins.stderr
    )
