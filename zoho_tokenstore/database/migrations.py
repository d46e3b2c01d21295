"""Runs the Alembic migrations that ship with the package, from a checkout or an installed
wheel, alone or inside a host application's own Alembic run (docs/host-alembic.md)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Final, TypeAlias

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, String, column, inspect, update
from sqlalchemy import table as sa_table
from sqlalchemy.engine import URL

from ..core.model import TABLE_NAME, owned_tables, token_table
from .alembic_nesting import outer_alembic_run_kept
from .engine import build_engine

#: Our own Alembic version table, so a host application's Alembic history is never touched.
VERSION_TABLE: Final = "zoho_tokenstore_alembic_version"

_PACKAGE_DIR: Final = Path(__file__).resolve().parents[1]  # zoho_tokenstore/

#: Revision ids of earlier releases and the ids they carry now (a plain "0001" could collide with a
#: host application's own numbering). Version tables still holding an old id are rewritten in place.
LEGACY_REVISION_IDS: Final = {"0001": "zoho_tokenstore_0001"}

#: Where migrations run: a URL or engine (we open, commit and close a connection of our own), or a
#: caller's ``Connection`` (we run inside its transaction and leave committing to the caller).
Bind: TypeAlias = "str | URL | Engine | Connection"

#: The signature of Alembic's ``include_name`` hook: ``(name, type_, parent_names) -> bool``.
IncludeName: TypeAlias = Callable[[str | None, str, Mapping[str, str | None]], bool]


def migrations_path() -> Path:
    """The folder holding ``env.py`` and ``versions/``: inside the wheel, else the source tree's."""
    # The wheel carries the top-level migrations/ as zoho_tokenstore/migrations (pyproject.toml).
    for candidate in (_PACKAGE_DIR / "migrations", _PACKAGE_DIR.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise FileNotFoundError("zoho_tokenstore's migrations folder is missing from this installation")


def version_table(table_name: str = TABLE_NAME) -> str:
    """The version table of one token table: each table named by a store has its own history."""
    token_table(table_name)  # refuses a name that is not a plain identifier
    return VERSION_TABLE if table_name == TABLE_NAME else f"{VERSION_TABLE}_{table_name}"


def alembic_config(bind: Engine | Connection | None = None, table_name: str = TABLE_NAME) -> Config:
    """An Alembic ``Config`` for our migrations; with ``bind``, env.py migrates through it (on an
    engine in a transaction of its own, on a connection in the caller's) under the upgrade lock."""
    config = Config()
    config.set_main_option("script_location", str(migrations_path()))
    config.attributes["table_name"] = table_name
    if isinstance(bind, Connection):
        config.attributes["connection"] = bind
    elif bind is not None:
        config.attributes["engine"] = bind
    return config


def head_revision() -> str:
    """The newest revision this installed version of the package knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("zoho_tokenstore ships no migrations")
    return head


def current_revision(bind: Engine | Connection, table_name: str = TABLE_NAME) -> str | None:
    """The revision the table is at (an earlier release's id read as its current one), or
    ``None``; given a ``Connection``, read inside the caller's transaction if one is open."""
    with _connected(bind) as connection:
        options = {"version_table": version_table(table_name)}
        context = MigrationContext.configure(connection, opts=options)
        current = context.get_current_revision()
        return LEGACY_REVISION_IDS.get(current, current) if current is not None else None


def rename_legacy_revisions(connection: Connection, table_name: str = TABLE_NAME) -> None:
    """Rewrite a version table that still records an earlier release's revision id, on the
    migration's own connection and transaction, before Alembic reads the version."""
    table = version_table(table_name)
    if not inspect(connection).has_table(table):
        return
    version_num = column("version_num", String(32))
    versions = sa_table(table, version_num)
    for old, new in LEGACY_REVISION_IDS.items():
        connection.execute(update(versions).where(version_num == old).values(version_num=new))


def upgrade(bind: Bind, revision: str = "head", *, table_name: str = TABLE_NAME) -> None:
    """Upgrade the database to ``revision`` (default: the newest): a URL or engine in a transaction
    of ours, a ``Connection`` inside its open transaction (docs/host-alembic.md)."""
    _run(bind, table_name, lambda config: command.upgrade(config, _revision_id(revision)))


def downgrade(bind: Bind, revision: str, *, table_name: str = TABLE_NAME) -> None:
    """Downgrade the database to ``revision`` (``"base"`` drops the table); ``bind`` as in upgrade."""
    _run(bind, table_name, lambda config: command.downgrade(config, _revision_id(revision)))


def include_name(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
    """Alembic's ``include_name`` hook for a host's ``env.py``: its autogenerate skips
    ``oauthtoken`` and our version tables (others: ``include_name_for``; docs/host-alembic.md)."""
    return _include_name_for(TABLE_NAME)(name, type_, parent_names)


def include_name_for(*table_names: str) -> IncludeName:
    """An ``include_name`` hook that skips the token tables named here and every version table of ours."""
    for name in table_names:
        version_table(name)  # refuses a name that is not a plain identifier
    return _include_name_for(*table_names)


def upgrade_command(shown_url: str, table_name: str = TABLE_NAME) -> str:
    """The command line that migrates ``table_name`` at ``shown_url`` (a URL with its password masked)."""
    table_option = "" if table_name == TABLE_NAME else f" --table {table_name}"
    return f"zoho-tokenstore upgrade --url '{shown_url}'{table_option}"


def schema_problem(bind: Engine | Connection, table_name: str, *, fix: str) -> str | None:
    """Why the store cannot use this database yet, ending in ``fix`` (what the reader can run where
    they are: the CLI's command, the constructor's argument), or ``None``."""
    current = current_revision(bind, table_name)
    head = head_revision()
    if current == head:
        return None
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


def _run(bind: Bind, table_name: str, action: Callable[[Config], None]) -> None:
    """Run ``action`` with a config whose env.py migrates through one transaction, ours or the
    caller's, holding the table's upgrade lock (``upgrade_lock``)."""
    version_table(table_name)  # a bad name fails before any connection is made
    if isinstance(bind, Connection):
        with outer_alembic_run_kept():
            if bind.in_transaction():
                action(alembic_config(bind, table_name))
            else:
                with bind.begin():
                    action(alembic_config(bind, table_name))
        return
    engine = bind if isinstance(bind, Engine) else build_engine(bind)
    try:
        action(alembic_config(engine, table_name))
    finally:
        if engine is not bind:
            engine.dispose()


def _revision_id(revision: str) -> str:
    """A revision argument with an earlier release's id (``"0001"``) replaced by its current one."""
    return LEGACY_REVISION_IDS.get(revision, revision)


@contextmanager
def _connected(bind: Engine | Connection) -> Iterator[Connection]:
    """The caller's connection as it is, or a new one from the engine, closed afterwards."""
    if isinstance(bind, Connection):
        yield bind
        return
    with bind.connect() as connection:
        yield connection


def _include_name_for(*table_names: str) -> IncludeName:
    ours = frozenset(owned for name in table_names for owned in owned_tables(name))

    def include(name: str | None, type_: str, parent_names: Mapping[str, str | None]) -> bool:
        if type_ == "table":
            return not (
                name in ours or name == VERSION_TABLE or str(name).startswith(VERSION_TABLE + "_")
            )
        if type_ == "schema":
            return True
        # Columns, indexes and constraints: those of our tables are ours too.
        return parent_names.get("table_name") not in ours

    return include
