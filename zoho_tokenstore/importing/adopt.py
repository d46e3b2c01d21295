"""Adopting an old store's table in place: keep it, unchanged, under a backup name and create ours
under its name, to import the backup into; ``undo_adoption`` puts it back if that fails."""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import Engine, MetaData, Table, inspect
from sqlalchemy import exc as sa_exc

from ..core.errors import TokenStoreError, database_error
from ..core.model import COLUMN_NAMES
from ..database.engine import masked_url
from ..database.migrations import current_revision, downgrade, upgrade, version_table
from ..database.profile import EngineProfile

#: A backup table name every backend accepts unquoted (MySQL's identifier limit is 64).
BACKUP_NAME_PATTERN: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")


class AdoptionRefusedError(TokenStoreError, ValueError):
    """The table cannot be adopted (already ours, missing, not DBStore-shaped, backup name taken)."""


def default_backup_name(table_name: str) -> str:
    """Where the old table is kept: ``oauthtoken`` -> ``oauthtoken_sdk_backup``."""
    return f"{table_name}_sdk_backup"


def check_adoptable(
    engine: Engine, table_name: str, backup_name: str, where: str | None = None
) -> None:
    """Raise ``AdoptionRefusedError`` with the reason and the way out, unless adoption can go ahead;
    ``where`` names the database in messages (default: the engine's URL, password masked)."""
    where = where or masked_url(engine)
    if not BACKUP_NAME_PATTERN.fullmatch(backup_name):
        raise AdoptionRefusedError(f"the backup name {backup_name!r} is not a plain identifier")
    try:
        inspector = inspect(engine)
        if not inspector.has_table(table_name):
            raise AdoptionRefusedError(f"{where} has no table {table_name!r} to adopt")
        revision = current_revision(engine, table_name)
        if revision is not None:
            raise AdoptionRefusedError(
                f"table {table_name!r} in {where} is already a zoho_tokenstore table (revision "
                f"{revision}): there is nothing to adopt; use `zoho-tokenstore import` for other tokens"
            )
        present = {column["name"].lower() for column in inspector.get_columns(table_name)}
        missing = [name for name in COLUMN_NAMES if name not in present]
        if missing:
            raise AdoptionRefusedError(
                f"table {table_name!r} lacks the column(s) {', '.join(missing)} of DBStore's ten; "
                "it is not an SDK token table"
            )
        if inspector.has_table(backup_name):
            raise AdoptionRefusedError(
                f"the backup name {backup_name!r} is taken in {where}: drop or rename that table, "
                "or choose another name with --backup-table"
            )
    except sa_exc.SQLAlchemyError as exc:
        raise database_error("checking the table to adopt", exc) from exc


def take_over(engine: Engine, table_name: str, backup_name: str) -> None:
    """Rename the old table to ``backup_name`` and create our schema under ``table_name``."""
    _rename(engine, table_name, backup_name)
    try:
        upgrade(engine, table_name=table_name)
    except sa_exc.SQLAlchemyError as exc:
        undo_adoption(engine, table_name, backup_name)
        # DDL carries no bound values: the driver's own words (e.g. an index name taken) are safe.
        reason = str(getattr(exc, "orig", None) or type(exc).__name__).splitlines()[0]
        raise AdoptionRefusedError(
            f"creating the token table failed ({reason}); the adoption was undone and the old "
            f"table is {table_name!r} again"
        ) from exc
    except BaseException:
        undo_adoption(engine, table_name, backup_name)
        raise


def undo_adoption(engine: Engine, table_name: str, backup_name: str) -> None:
    """Drop our table and its version table if they exist, and give the old table its name back."""
    try:
        if current_revision(engine, table_name) is not None:
            downgrade(engine, "base", table_name=table_name)
        inspector = inspect(engine)
        versions = version_table(table_name)
        with EngineProfile.of(engine).begin() as connection:
            for name in (versions, table_name):
                if inspector.has_table(name):
                    Table(name, MetaData()).drop(connection)
        _rename(engine, backup_name, table_name)
    except sa_exc.SQLAlchemyError as exc:
        raise database_error(
            f"undoing the adoption (the old table may still be named {backup_name!r})", exc
        ) from exc


def drop_backup_hint(backup_name: str) -> str:
    """The SQL that drops the backup once the team is satisfied."""
    return f"DROP TABLE {backup_name};"


def _rename(engine: Engine, old: str, new: str) -> None:
    quote = engine.dialect.identifier_preparer.quote
    try:
        with EngineProfile.of(engine).begin() as connection:
            connection.exec_driver_sql(f"ALTER TABLE {quote(old)} RENAME TO {quote(new)}")
    except sa_exc.SQLAlchemyError as exc:
        raise database_error(f"renaming table {old!r} to {new!r}", exc) from exc
