"""Reads any table with DBStore's ten columns (DBStore, the blog's SQLite store, others), never
changing it: opened as every command opens a database, then one ``SELECT`` of the ten columns."""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, Table, inspect, select
from sqlalchemy.engine import URL

from ..core.codec import value_problem
from ..core.errors import TokenStoreError
from ..core.model import COLUMN_NAMES
from ..database.engine import masked_url
from ..database.existing import open_existing
from .rows import SourceRead, SourceRow, id_order, shown


class NotATokenTableError(TokenStoreError, ValueError):
    """The source table is missing or lacks some of DBStore's ten columns."""


def read_table(
    source: str | URL | Engine, table_name: str = "oauthtoken", where: str | None = None
) -> SourceRead:
    """Every row of ``table_name`` at a URL (opened by ``open_existing``) or behind an engine, in id
    order; ``where`` names the source in messages (default: its URL, password masked)."""
    engine = source if isinstance(source, Engine) else open_existing(source)
    where = where or masked_url(source)
    try:
        return _read(engine, table_name, where)
    finally:
        if engine is not source:
            engine.dispose()


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
