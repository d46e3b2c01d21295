"""Is this database set up the way the store needs it? One named check per property, for ``doctor``;
each says what it found in one line, and they only read (docs/cli.md, "doctor")."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from ...core.model import TABLE_NAME, owned_tables, token_table
from ...database.connect_errors import connection_error
from ...database.engine import masked_url
from ...database.existing import MissingDatabaseError, open_existing
from ...database.migrations import (
    current_revision,
    schema_problem,
    upgrade_command,
    version_table,
)
from ...database.urls import database_file

OK: Final = "ok"
FAIL: Final = "FAIL"
SKIP: Final = "skip"

_COLLATION_NAME: Final = re.compile(r"[A-Za-z0-9_]+")
_STRICT_MODES: Final = ("STRICT_ALL_TABLES", "STRICT_TRANS_TABLES")


@dataclass(frozen=True)
class Check:
    """The outcome of one check: its name, ``ok``/``FAIL``/``skip`` and what was found."""

    name: str
    status: str
    detail: str

    @property
    def passed(self) -> bool:
        """True only for ``ok``: a skipped check has not shown anything."""
        return self.status == OK

    def line(self) -> str:
        """The one line ``doctor`` prints."""
        return f"{self.status:<4}  {self.name}: {self.detail}"


def diagnose(url: str | URL, table_name: str = TABLE_NAME) -> list[Check]:
    """Every check of the token table ``table_name`` at ``url``, in order; all pass or not ready.
    A bad URL or table name raises ``ValueError``; a missing SQLite file fails ``connect``."""
    token_table(table_name)  # a bad name is the caller's mistake, not a failed check
    try:
        engine = open_existing(url)
    except MissingDatabaseError as exc:
        return [Check("connect", FAIL, exc.error_message)]
    try:
        return list(_checks(engine, make_url(url), table_name))
    finally:
        engine.dispose()


def _checks(engine: Engine, url: URL, table_name: str) -> Iterator[Check]:
    connected = _guarded(url, "connect", lambda: _check_connect(engine, url))
    yield connected
    if not connected.passed:
        return
    schema = _guarded(url, "schema", lambda: _check_schema(engine, url, table_name))
    yield schema
    if schema.passed:
        yield _guarded(url, "model", lambda: _check_model(engine, table_name))
    else:
        yield Check("model", SKIP, "not compared: the schema is not at the newest revision")
    backend = engine.dialect.name
    if backend in ("mysql", "mariadb"):
        if schema.passed:
            yield _guarded(url, "collation", lambda: check_collation(engine, table_name))
        else:
            yield Check("collation", SKIP, "not checked: the schema is not at the newest revision")
        yield _guarded(url, "strict mode", lambda: check_strict_mode(engine))
    elif backend == "sqlite":
        yield _guarded(url, "journal", lambda: check_journal(engine))
        yield _guarded(url, "file mode", lambda: check_file_mode(url))


def _guarded(url: URL, name: str, check: Callable[[], Check]) -> Check:
    """Run a check; a database error fails it with a message that quotes no values (and names
    the cause and fix of a failure to connect)."""
    try:
        return check()
    except sa_exc.SQLAlchemyError as exc:
        return Check(name, FAIL, connection_error(name, exc, url).error_message)


def _check_connect(engine: Engine, url: URL) -> Check:
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        version = ".".join(str(part) for part in engine.dialect.server_version_info or ())
    # A mysql:// URL on a MariaDB server has the dialect name "mysql": name the server itself.
    server = "mariadb" if getattr(engine.dialect, "is_mariadb", False) else engine.dialect.name
    return Check("connect", OK, f"{masked_url(url)} answers ({server} {version})")


def _check_schema(engine: Engine, url: URL, table_name: str) -> Check:
    fix = f"run `{upgrade_command(masked_url(url), table_name)}`"  # doctor's reader is at a shell
    problem = schema_problem(engine, table_name, fix=fix)
    if problem is not None:
        return Check("schema", FAIL, problem)
    revision = current_revision(engine, table_name)
    return Check("schema", OK, f"table {table_name} is at {revision}, the newest revision")


def _check_model(engine: Engine, table_name: str) -> Check:
    """Alembic's autogenerate comparison of the model and the table: no difference allowed."""
    ours = set(owned_tables(table_name))

    def include_name(name: str | None, type_: str, _parents: Any) -> bool:
        return type_ != "table" or name in ours

    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "compare_type": True,
                "include_name": include_name,
                "version_table": version_table(table_name),
            },
        )
        differences = compare_metadata(context, token_table(table_name).metadata)
    if not differences:
        return Check("model", OK, f"table {table_name} matches the model (columns, types, indexes)")
    shown = ", ".join(_difference_text(d) for d in differences[:5])
    more = f" and {len(differences) - 5} more" if len(differences) > 5 else ""
    return Check("model", FAIL, f"table {table_name} differs from the model: {shown}{more}")


def _difference_text(difference: Any) -> str:
    """An autogenerate difference by kind and object name only."""
    if isinstance(difference, list):  # modify_* come as a list of tuples
        difference = difference[0]
    kind = str(difference[0])
    names = [
        getattr(part, "name", None) or (part if isinstance(part, str) else None)
        for part in difference[1:]
    ]
    return " ".join([kind, *(str(n) for n in names if n)])


def check_collation(engine: Engine, table_name: str = TABLE_NAME) -> Check:
    """MySQL/MariaDB: every text column compares exactly (case and trailing spaces count)."""
    with engine.connect() as connection:
        columns = connection.execute(
            text(
                "SELECT COLUMN_NAME, COLLATION_NAME FROM information_schema.COLUMNS"
                " WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :table"
                " AND COLLATION_NAME IS NOT NULL ORDER BY ORDINAL_POSITION"
            ),
            {"table": table_name},
        ).all()
        inexact = [
            f"{column} ({collation}: {why})"
            for column, collation in columns
            if (why := _inexact(connection, str(collation))) is not None
        ]
    if not columns:
        return Check("collation", FAIL, f"table {table_name} has no text columns to check")
    if inexact:
        return Check(
            "collation",
            FAIL,
            "lookups are not exact on "
            + ", ".join(inexact)
            + "; the migration creates utf8mb4 with a binary NO PAD collation",
        )
    collations = sorted({str(collation) for _, collation in columns})
    return Check(
        "collation", OK, f"{', '.join(collations)}: case and trailing spaces count in lookups"
    )


def _inexact(connection: Connection, collation: str) -> str | None:
    """Why ``collation`` would match values that differ, or ``None`` if it compares exactly."""
    if not _COLLATION_NAME.fullmatch(collation):
        return "unknown collation"
    try:
        case, pad = connection.exec_driver_sql(
            f"SELECT _utf8mb4'a' COLLATE {collation} = _utf8mb4'A' COLLATE {collation},"
            f" _utf8mb4'a' COLLATE {collation} = _utf8mb4'a ' COLLATE {collation}"
        ).one()
    except sa_exc.DBAPIError:
        return "not a utf8mb4 collation"
    if case:
        return "'a' matches 'A'"
    if pad:
        return "'a' matches 'a '"
    return None


def check_strict_mode(engine: Engine) -> Check:
    """MySQL/MariaDB: the store's sessions refuse over-long values instead of truncating them."""
    with engine.connect() as connection:
        session, server = connection.exec_driver_sql(
            "SELECT @@SESSION.sql_mode, @@GLOBAL.sql_mode"
        ).one()
    modes = str(session or "").split(",")
    strict = [mode for mode in _STRICT_MODES if mode in modes]
    if not strict:
        return Check(
            "strict mode",
            FAIL,
            f"sessions run without strict mode (sql_mode {session or 'empty'!r}): over-long values "
            "would be truncated",
        )
    return Check(
        "strict mode",
        OK,
        f"the store's sessions run with {strict[0]} (server default sql_mode: {server or 'empty'})",
    )


def check_journal(engine: Engine) -> Check:
    """SQLite: WAL journal, so readers never block the writer (the store sets it on first use)."""
    with engine.connect() as connection:
        mode = str(connection.exec_driver_sql("PRAGMA journal_mode").scalar()).lower()
    if mode == "wal":
        return Check("journal", OK, "WAL: readers never block the writer")
    return Check(
        "journal",
        FAIL,
        f"journal mode is {mode}, not WAL: opening a store on it switches it to WAL",
    )


def check_file_mode(url: str | URL) -> Check:
    """SQLite: the database file and its ``-wal``/``-shm`` files are readable by their owner only."""
    path = database_file(make_url(url))
    if path is None:
        return Check("file mode", OK, "not an SQLite database: no file")
    loose = []
    for name in (path, f"{path}-wal", f"{path}-shm"):
        if not os.path.exists(name):
            continue
        mode = stat.S_IMODE(os.stat(name).st_mode)
        if mode & 0o077:
            loose.append(f"{name} is {mode:04o}")
    if loose:
        return Check(
            "file mode", FAIL, f"{'; '.join(loose)}: others can read the tokens (chmod 600)"
        )
    return Check("file mode", OK, f"{path} is readable by its owner only (0600)")
