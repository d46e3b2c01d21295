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
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from .engine import build_engine, masked_url, write_engine

#: Our own Alembic version table, so a host application's Alembic history is never touched.
VERSION_TABLE: Final = "zoho_tokenstore_alembic_version"

_PACKAGE_DIR: Final = Path(__file__).resolve().parent


def migrations_path() -> Path:
    """The folder holding ``env.py`` and ``versions/``: inside the wheel, else the source tree's."""
    for candidate in (_PACKAGE_DIR / "migrations", _PACKAGE_DIR.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("zoho_tokenstore's migrations folder is missing from this installation")


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic ``Config`` for our migrations; with ``connection``, env.py migrates through it."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest revision this installed version of the package knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("zoho_tokenstore ships no migrations")
    return head


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or ``None`` if it was never upgraded."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def upgrade(url: str | URL | Engine, revision: str = "head") -> None:
    """Upgrade the database at ``url`` (or behind an engine) to ``revision``, by default the newest."""
    _run(url, lambda config: command.upgrade(config, revision))


def downgrade(url: str | URL | Engine, revision: str) -> None:
    """Downgrade the database to ``revision`` (``"base"`` drops the table)."""
    _run(url, lambda config: command.downgrade(config, revision))


def schema_problem(engine: Engine) -> str | None:
    """Why the store cannot use this database yet (with the command that fixes it), or ``None``."""
    current = current_revision(engine)
    head = head_revision()
    if current == head:
        return None
    fix = f"run `zoho-tokenstore upgrade --url '{masked_url(engine)}'` (or `alembic upgrade head`)"
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


def _run(url: str | URL | Engine, action: Callable[[Config], None]) -> None:
    """Run ``action`` with a config whose env.py migrates through one write transaction of ours."""
    engine = url if isinstance(url, Engine) else build_engine(url)
    try:
        with write_engine(engine).begin() as connection:
            action(alembic_config(connection))
    finally:
        if engine is not url:
            engine.dispose()
