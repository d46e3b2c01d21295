"""Runs the Alembic migrations that ship with the package, from a checkout or an installed wheel.

The revisions live in the top-level ``migrations/`` folder of the source tree; the wheel carries the
same folder as ``zoho_tokenstore/migrations`` (see ``pyproject.toml``), so ``zoho-tokenstore upgrade``
works where there is no source tree at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Final

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, String, column, inspect, update
from sqlalchemy import table as sa_table
from sqlalchemy.engine import URL

from .engine import build_engine, masked_url, write_engine
from .model import TABLE_NAME, token_table

#: Our own Alembic version table, so a host application's Alembic history is never touched.
VERSION_TABLE: Final = "zoho_tokenstore_alembic_version"

_PACKAGE_DIR: Final = Path(__file__).resolve().parent

#: Revision ids of earlier releases and the ids they carry now (a plain "0001" could collide with a
#: host application's own numbering). Version tables still holding an old id are rewritten in place.
LEGACY_REVISION_IDS: Final = {"0001": "zoho_tokenstore_0001"}


def migrations_path() -> Path:
    """The folder holding ``env.py`` and ``versions/``: inside the wheel, else the source tree's."""
    for candidate in (_PACKAGE_DIR / "migrations", _PACKAGE_DIR.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("zoho_tokenstore's migrations folder is missing from this installation")


def version_table(table_name: str = TABLE_NAME) -> str:
    """The version table of one token table: each table named by a store has its own history."""
    token_table(table_name)  # refuses a name that is not a plain identifier
    return VERSION_TABLE if table_name == TABLE_NAME else f"{VERSION_TABLE}_{table_name}"


def alembic_config(connection: Connection | None = None, table_name: str = TABLE_NAME) -> Config:
    """An Alembic ``Config`` for our migrations; with ``connection``, env.py migrates through it."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    config.attributes["table_name"] = table_name
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this installed version of the package knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("zoho_tokenstore ships no migrations")
    return head


def current_revision(engine: Engine, table_name: str = TABLE_NAME) -> str | None:
    """The revision the table is at, or ``None`` if it was never upgraded."""
    with engine.connect() as connection:
        options = {"version_table": version_table(table_name)}
        context = MigrationContext.configure(connection, opts=options)
        current = context.get_current_revision()
        return LEGACY_REVISION_IDS.get(current, current) if current is not None else None


def rename_legacy_revisions(connection: Connection, table_name: str = TABLE_NAME) -> None:
    """Rewrite a version table that still records an earlier release's revision id.

    Runs on the migration's own connection and transaction, before Alembic reads the version.
    """
    table = version_table(table_name)
    if not inspect(connection).has_table(table):
        return
    version_num = column("version_num", String(32))
    versions = sa_table(table, version_num)
    for old, new in LEGACY_REVISION_IDS.items():
        connection.execute(update(versions).where(version_num == old).values(version_num=new))


def upgrade(
    url: str | URL | Engine, revision: str = "head", *, table_name: str = TABLE_NAME
) -> None:
    """Upgrade the database at ``url`` (or behind an engine) to ``revision``, by default the newest."""
    _run(url, table_name, lambda config: command.upgrade(config, revision))


def downgrade(url: str | URL | Engine, revision: str, *, table_name: str = TABLE_NAME) -> None:
    """Downgrade the database to ``revision`` (``"base"`` drops the table)."""
    _run(url, table_name, lambda config: command.downgrade(config, revision))


def schema_problem(engine: Engine, table_name: str = TABLE_NAME) -> str | None:
    """Why the store cannot use this database yet (with the command that fixes it), or ``None``."""
    current = current_revision(engine, table_name)
    head = head_revision()
    if current == head:
        return None
    table_option = "" if table_name == TABLE_NAME else f" --table {table_name}"
    fix = (
        f"run `zoho-tokenstore upgrade --url '{masked_url(engine)}'{table_option}` "
        "(or `alembic upgrade head`), or pass auto_upgrade=True"
    )
    if current is None:
        return f"the database has no zoho_tokenstore schema: {fix}"
    known = {
        script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()
    }
    if current not in known:
        return (
            f"the database is at revision {current}, which this version of zoho_tokenstore does not "
            "know: a newer version migrated it; upgrade the package"
        )
    return f"the database schema is at revision {current}, this version needs {head}: {fix}"


def _run(url: str | URL | Engine, table_name: str, action: Callable[[Config], None]) -> None:
    """Run ``action`` with a config whose env.py migrates through one write transaction of ours."""
    version_table(table_name)  # a bad name fails before any connection is made
    engine = url if isinstance(url, Engine) else build_engine(url)
    try:
        with write_engine(engine).begin() as connection:
            action(alembic_config(connection, table_name))
    finally:
        if engine is not url:
            engine.dispose()
