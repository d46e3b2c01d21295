"""Opens a database that must already exist, for tools that inspect it: nothing is ever created.

``build_engine`` creates a missing SQLite file (mode 0600) and switches it to WAL, which is right
for a store and wrong for a look: a mistyped path would leave an empty database behind, and a
diagnosis would report the journal mode it had just set. SQLite files open here read-only.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL, make_url

from .engine import build_engine


def sqlite_file(url: str | URL) -> str | None:
    """The file an SQLite URL names, or ``None`` (another backend, in-memory or a ``file:`` URI)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    database = parsed.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


def missing_sqlite_file(url: str | URL) -> str | None:
    """The SQLite file ``url`` names if it does not exist, else ``None``."""
    path = sqlite_file(url)
    return path if path is not None and not os.path.isfile(path) else None


def open_existing(url: str | URL) -> Engine:
    """An engine on the database at ``url``; SQLite files read-only, and never created.

    Raises ``FileNotFoundError`` for a missing SQLite file. Server databases get ``build_engine``'s
    settings (the same session the store would see), since connecting creates nothing there.
    """
    parsed = make_url(url)
    path = sqlite_file(parsed)
    if path is None:
        return build_engine(parsed)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no SQLite database file at {path}")
    uri = Path(path).resolve().as_uri().replace("file://", "file:", 1)
    return build_engine(parsed.set(database=uri, query={"mode": "ro", "uri": "true"}))
