"""Opens a database that must already exist, for the tools that inspect or maintain it: one
opener with every command's URL checks, which never creates a SQLite file (docs/cli.md)."""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from .engine import build_engine
from .urls import DatabaseURLError, sqlite_file, usable_url


class MissingDatabaseError(DatabaseURLError):
    """The SQLite file a URL names does not exist (and was not created)."""


def open_existing(url: str | URL, *, read_only: bool = True) -> Engine:
    """An engine on the existing database at ``url``; a SQLite file is never created, and opened
    read-only unless ``read_only`` is false. Raises ``DatabaseURLError`` naming the fix."""
    parsed = usable_url(url)
    if parsed.get_backend_name() != "sqlite":
        # Connecting creates nothing on a server, so it gets the session the store would see.
        return build_engine(parsed)
    path = sqlite_file(parsed).path
    if not os.path.isfile(path):
        raise MissingDatabaseError(f"no SQLite database file at {path} (nothing was created)")
    if not read_only:
        return build_engine(parsed)
    uri = Path(path).resolve().as_uri().replace("file://", "file:", 1)
    return build_engine(parsed.set(database=uri, query={"mode": "ro", "uri": "true"}))
