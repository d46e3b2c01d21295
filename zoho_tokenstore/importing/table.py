"""Reads any table with DBStore's ten columns (DBStore, the blog's SQLite store, other stores), read-only.

The source gets an engine of its own that never writes: SQLite files are opened with ``mode=ro`` (no
WAL switch, no journal), and only one ``SELECT`` of the ten columns is ever sent. Rows come in the
order the SDK's stores gave their ids (``max(id)+1``): numeric ids by number, then the others.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import Engine, MetaData, Table, create_engine, inspect, select
from sqlalchemy.engine import URL, make_url

from ..core.codec import value_problem
from ..core.model import COLUMN_NAMES
from ..database.engine import masked_url
from .rows import SourceRead, SourceRow, id_order, shown


class NotATokenTableError(ValueError):
    """The source table is missing or lacks some of DBStore's ten columns."""


def read_table(source: str | URL | Engine, table_name: str = "oauthtoken") -> SourceRead:
    """Every row of ``table_name`` (a URL's database, or behind an engine), ordered as described above."""
    engine = source if isinstance(source, Engine) else source_engine(source)
    where = masked_url(source)
    try:
        return _read(engine, table_name, where)
    finally:
        if engine is not source:
            engine.dispose()


def source_engine(url: str | URL) -> Engine:
    """An engine for reading a source database: parameters hidden, SQLite opened read-only."""
    target = make_url(url)
    if target.get_backend_name() == "sqlite":
        path = target.database
        if not path or path == ":memory:" or not Path(path).is_file():
            raise NotATokenTableError(f"no SQLite database file at {masked_url(target)}")
        uri = Path(path).resolve().as_uri() + "?mode=ro"
        return create_engine(
            "sqlite://",
            creator=lambda: sqlite3.connect(uri, uri=True, check_same_thread=False),
            hide_parameters=True,
        )
    return create_engine(target, hide_parameters=True, pool_pre_ping=True)


def _read(engine: Engine, table_name: str, where: str) -> SourceRead:
    if not inspect(engine).has_table(table_name):
        raise NotATokenTableError(f"{where} has no table {table_name!r}")
    table = Table(table_name, MetaData(), autoload_with=engine)
    by_name = {column.name.lower(): column for column in table.columns}
    missing = [name for name in COLUMN_NAMES if name not in by_name]
    if missing:
        raise NotATokenTableError(
            f"table {table_name!r} lacks the column(s) {', '.join(missing)} of DBStore's ten"
        )
    with engine.connect() as connection:
        result = connection.execute(select(*(by_name[name] for name in COLUMN_NAMES)))
        raw = [dict(zip(COLUMN_NAMES, row, strict=True)) for row in result]
    raw.sort(key=lambda values: id_order(values["id"]))
    read = SourceRead(description=f"table {table_name!r} in {where}")
    for position, values in enumerate(raw, start=1):
        label = f"row {position}{_id_part(values['id'])}"
        read.rows.append(SourceRow(position=position, label=label, values=values))
    return read


def _id_part(token_id: object) -> str:
    """`` (id '7')`` for a label, when the id is one the store could keep (else it is not shown)."""
    if isinstance(token_id, int) and not isinstance(token_id, bool):
        token_id = str(token_id)
    if not isinstance(token_id, str) or not token_id or value_problem("id", token_id) is not None:
        return ""
    return f" (id {shown(token_id)})"
