"""Single-statement reads on SQLite through a pooled DBAPI connection, with SQL compiled once.

The SDK reads the store before every API request. On SQLite a lookup through SQLAlchemy's
``Connection`` costs about 38 µs against 6 µs for sqlite3 itself: the time goes to the connection
facade, the execution context and the result objects. Here SQLAlchemy still builds the SQL (once),
owns the pool and classifies errors, but the statement runs on the pool's raw connection (about
14 µs). Execution events such as ``before_cursor_execute`` do not fire for these reads. Used only
on SQLite engines the store built itself, where no server connection can be lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, Select
from sqlalchemy import exc as sa_exc


class CompiledRead:
    """A SELECT compiled for one dialect: its SQL, its positional parameters and its column keys."""

    def __init__(self, engine: Engine, query: Select[Any]) -> None:
        compiled = query.compile(dialect=engine.dialect)
        self.sql = str(compiled)
        self._order = tuple(compiled.positiontup or ())
        self._fixed = {name: compiled.binds[name].value for name in self._order}  # LIMIT etc.
        self.keys = tuple(str(column.key) for column in query.selected_columns)

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The positional parameters for these named values (fixed ones, like LIMIT, filled in)."""
        return tuple(values[name] if name in values else self._fixed[name] for name in self._order)


def read_one(
    engine: Engine, read: CompiledRead, values: Mapping[str, Any]
) -> dict[str, Any] | None:
    """The first row of ``read`` as a dict, or ``None``; driver errors become SQLAlchemy's."""
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            cursor.execute(read.sql, read.parameters(values))
            row = cursor.fetchone()
        finally:
            cursor.close()
    except engine.dialect.loaded_dbapi.Error as exc:
        if engine.dialect.is_disconnect(exc, connection.dbapi_connection, None):
            connection.invalidate(exc)  # e.g. closed under us: the pool opens a new one
        raise sa_exc.DBAPIError.instance(
            read.sql,
            None,  # never the parameters: they are tokens
            exc,
            engine.dialect.loaded_dbapi.Error,
            hide_parameters=True,
            dialect=engine.dialect,
        ) from exc
    finally:
        connection.close()
    return None if row is None else dict(zip(read.keys, row, strict=True))
