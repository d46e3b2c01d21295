"""Alembic environment for zoho_tokenstore's own table.

The URL comes from ``alembic -x url=...``, else ``ZOHO_TOKENSTORE_URL``, else ``sqlalchemy.url`` in
alembic.ini. ``zoho_tokenstore.database.migrations`` passes an engine or a connection instead. The table is
``oauthtoken`` unless ``-x table=...`` or ``ZOHO_TOKENSTORE_TABLE`` names another; revisions read the
name from ``context.config.attributes["table_name"]``. Each table has its own version table, separate
from the host application's, and SQLite gets batch mode so later ALTERs work there too.
"""

from __future__ import annotations

import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, make_url
from sqlalchemy.pool import NullPool

from zoho_tokenstore.core.model import TABLE_NAME, token_table
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.database.migrations import rename_legacy_revisions, version_table
from zoho_tokenstore.database.profile import EngineProfile
from zoho_tokenstore.database.upgrade_lock import locked_transaction, schema_lock

config = context.config
if config.config_file_name is not None and "connection" not in config.attributes:
    # Plain `alembic` with an ini file: its [loggers] show each "Running upgrade X -> Y" on stderr.
    # The package's own runner passes a connection and leaves the application's logging alone.
    fileConfig(config.config_file_name, disable_existing_loggers=False)
table_name: str = (
    config.attributes.get("table_name")
    or context.get_x_argument(as_dictionary=True).get("table")
    or os.environ.get("ZOHO_TOKENSTORE_TABLE")
    or TABLE_NAME
)
config.attributes["table_name"] = table_name
target_metadata = token_table(table_name).metadata


def _url() -> str:
    url = (
        context.get_x_argument(as_dictionary=True).get("url")
        or os.environ.get("ZOHO_TOKENSTORE_URL")
        or config.get_main_option("sqlalchemy.url")
    )
    if not url:
        raise SystemExit("No database URL: pass -x url=..., or set ZOHO_TOKENSTORE_URL")
    return url


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        version_table=version_table(table_name),
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


#: Why ``--sql`` refuses SQLite: batch mode rebuilds a table from the live database's reflection.
OFFLINE_SQLITE = (
    "offline SQL (--sql) needs a server dialect: SQLite's table rebuilds (revision "
    "zoho_tokenstore_0004) read the live table, so run `alembic upgrade head` on the SQLite file "
    "itself, or pass -x url=postgresql+psycopg:// or -x url=mariadb+pymysql:// for a server's script"
)


def run_migrations_offline() -> None:
    """Emit the SQL as text (``alembic upgrade head --sql``) without a database connection."""
    url = _url()
    if make_url(url).get_backend_name() == "sqlite":
        raise SystemExit(OFFLINE_SQLITE)
    _configure(url=url, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: Connection) -> None:
    rename_legacy_revisions(connection, table_name)
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate under the table's upgrade lock (``upgrade_lock``), which every entry point takes
    here: in the caller's transaction if given a connection, else in one of ours on the engine
    given or a throwaway one for the URL. Alembic reads the version only once the lock is held."""
    shared = config.attributes.get("connection")
    if shared is not None:
        with schema_lock(shared, table_name):
            _run_on(shared)
        return
    given = config.attributes.get("engine")
    engine = given if given is not None else build_engine(_url(), poolclass=NullPool)
    try:
        with locked_transaction(EngineProfile.of(engine), table_name) as connection:
            _run_on(connection)
    finally:
        if given is None:
            engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
