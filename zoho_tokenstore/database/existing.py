"""Opens a database that must already exist, for the tools that inspect or maintain it: the one
opener of ``tokens``, ``current``, ``doctor``, ``delete``, ``purge``, ``import --from-table``, ``adopt``.

The URL gets the checks every command makes (``usable_url``: parsable, a supported scheme, its driver
installed), so each tool fails with the same message. ``build_engine`` creates a missing SQLite file
(mode 0600) and switches it to WAL, which is right for a store and wrong for a look: a mistyped path
would leave an empty database behind, and a diagnosis would report the journal mode it had just set.
Here a missing file is an error, and a read-only look opens the file read-only.
"""

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
    """An engine on the existing database at ``url``; SQLite files read-only unless ``read_only``
    is false, and never created.

    Raises ``DatabaseURLError`` naming the fix for a URL no command could use, and its subclass
    ``MissingDatabaseError`` for a missing SQLite file. Server databases get ``build_engine``'s
    settings (the same session the store would see), since connecting creates nothing there.
    """
    parsed = usable_url(url)
    if parsed.get_backend_name() != "sqlite":
        return build_engine(parsed)
    path = sqlite_file(parsed).path
    if not os.path.isfile(path):
        raise MissingDatabaseError(f"no SQLite database file at {path} (nothing was created)")
    if not read_only:
        return build_engine(parsed)
    uri = Path(path).resolve().as_uri().replace("file://", "file:", 1)
    return build_engine(parsed.set(database=uri, query={"mode": "ro", "uri": "true"}))
