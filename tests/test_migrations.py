"""The Alembic migrations: they build exactly the model's schema, on every backend, and replay cleanly."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

from direct_db import (
    insert_row,
    read_rows,
    refresh_failure_columns,
    schema_differences,
    set_refresh_failure_columns,
    table_names,
)
from token_factory import fields_of, full_token, now_ms
from zoho_tokenstore import downgrade, upgrade
from zoho_tokenstore.core.model import REFRESH_FAILURE_COLUMNS
from zoho_tokenstore.database.migrations import VERSION_TABLE, current_revision, head_revision

REPO = Path(__file__).resolve().parents[1]


def test_a_fresh_database_is_upgraded_to_head(empty_db_url: URL) -> None:
    assert table_names(empty_db_url) == set()
    upgrade(empty_db_url)
    assert table_names(empty_db_url) == {"oauthtoken", "oauthtoken_refresh_lease", VERSION_TABLE}
    engine = sa.create_engine(empty_db_url)
    assert current_revision(engine) == head_revision()
    inspector = sa.inspect(engine)
    assert inspector.get_pk_constraint("oauthtoken")["constrained_columns"] == ["id"]
    indexed = {tuple(ix["column_names"]) for ix in inspector.get_indexes("oauthtoken")}
    assert {("access_token",), ("grant_token",), ("refresh_token",)} <= indexed
    uniques = inspector.get_unique_constraints("oauthtoken")
    unique_indexes = [ix for ix in inspector.get_indexes("oauthtoken") if ix.get("unique")]
    assert ["user_name"] in [u["column_names"] for u in [*uniques, *unique_indexes]]
    engine.dispose()


def test_the_model_and_the_migrated_schema_agree(empty_db_url: URL) -> None:
    upgrade(empty_db_url)
    assert schema_differences(empty_db_url) == []


def test_upgrade_downgrade_upgrade_round_trip(empty_db_url: URL) -> None:
    upgrade(empty_db_url)
    downgrade(empty_db_url, "base")
    assert table_names(empty_db_url) == {VERSION_TABLE}
    upgrade(empty_db_url)
    assert schema_differences(empty_db_url) == []


def test_upgrading_twice_is_harmless(empty_db_url: URL) -> None:
    upgrade(empty_db_url)
    upgrade(empty_db_url)
    assert schema_differences(empty_db_url) == []


def test_the_host_applications_alembic_history_is_untouched(empty_db_url: URL) -> None:
    engine = sa.create_engine(empty_db_url)
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"
        )
        connection.exec_driver_sql("INSERT INTO alembic_version VALUES ('hostapp01')")
    upgrade(empty_db_url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT version_num FROM alembic_version").all() == [
            ("hostapp01",)
        ]
    engine.dispose()


def test_alembic_command_line_from_the_checkout(empty_db_url: URL) -> None:
    url = empty_db_url.render_as_string(hide_password=False)
    alembic = [sys.executable, "-m", "alembic", "-c", str(REPO / "alembic.ini")]
    subprocess.run([*alembic, "-x", f"url={url}", "upgrade", "head"], check=True, timeout=120)
    assert schema_differences(empty_db_url) == []
    environment = {**os.environ, "ZOHO_TOKENSTORE_URL": url}
    subprocess.run([*alembic, "downgrade", "base"], check=True, timeout=120, env=environment)
    assert table_names(empty_db_url) == {VERSION_TABLE}


def test_revisions_never_import_the_package() -> None:
    revisions = list((REPO / "migrations" / "versions").glob("*.py"))
    assert revisions
    for revision in revisions:
        tree = ast.parse(revision.read_text())
        imported = {
            name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for name in (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
            )
        }
        assert not any(name.startswith("zoho_tokenstore") for name in imported), revision.name


def test_revision_0005_keeps_the_rows_and_its_downgrade_forgets_only_the_failures(
    empty_db_url: URL,
) -> None:
    upgrade(empty_db_url, "zoho_tokenstore_0004")
    rows = []
    for n in range(3):
        values = fields_of(full_token(n))
        values["id"] = f"row-{n}"
        insert_row(empty_db_url, values)
        rows.append(values)

    upgrade(empty_db_url)
    assert read_rows(empty_db_url) == rows
    assert refresh_failure_columns(empty_db_url, "row-1") == dict.fromkeys(REFRESH_FAILURE_COLUMNS)
    failure = {
        "refresh_error": "invalid_code",
        "refresh_failed_at": now_ms(),
        "refresh_failures": 1,
        "refresh_retry_at": None,
    }
    set_refresh_failure_columns(empty_db_url, "row-1", **failure)
    assert refresh_failure_columns(empty_db_url, "row-1") == failure

    downgrade(empty_db_url, "zoho_tokenstore_0004")
    assert read_rows(empty_db_url) == rows
    engine = sa.create_engine(empty_db_url)
    columns = {c["name"] for c in sa.inspect(engine).get_columns("oauthtoken")}
    engine.dispose()
    assert not columns & set(REFRESH_FAILURE_COLUMNS)

    upgrade(empty_db_url)
    assert read_rows(empty_db_url) == rows
    assert refresh_failure_columns(empty_db_url, "row-1") == dict.fromkeys(REFRESH_FAILURE_COLUMNS)
    assert schema_differences(empty_db_url) == []
