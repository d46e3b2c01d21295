"""Reads a database URL before any engine exists: can the store run on it, what does it need?
Each problem is a ``DatabaseURLError`` naming the fix, never the password (docs/engines.md)."""

from __future__ import annotations

import os
import shlex
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from ..core.errors import UsageError

#: The backends the store is built and tested for.
SUPPORTED_BACKENDS: Final = ("sqlite", "postgresql", "mysql", "mariadb")

#: The scheme to write for each backend, with the package extra that installs its driver.
RECOMMENDED_SCHEMES: Final = {
    "postgresql": ("postgresql+psycopg", "postgresql"),
    "mysql": ("mysql+pymysql", "mysql"),
    "mariadb": ("mariadb+pymysql", "mysql"),
}

#: Drivers installed by one of the package's extras: ``driver name -> extra``.
DRIVER_EXTRAS: Final = {"psycopg": "postgresql", "pymysql": "mysql"}

#: Misspellings of a supported backend seen in the wild (Heroku and others write ``postgres://``).
_ALIASES: Final = {"postgres": "postgresql", "pg": "postgresql", "sqlite3": "sqlite"}

_URL_FORMS: Final = (
    "sqlite:///path/to/file.db, postgresql+psycopg://user:password@host/database or "
    "mysql+pymysql://user:password@host/database"
)


class DatabaseURLError(UsageError, ValueError):
    """A database URL no store can be built for; the message names the fix, never the password.
    Still a ``ValueError``, as before it became a ``TokenStoreError``."""


@dataclass(frozen=True)
class SQLiteFile:
    """The file a SQLite URL names, and whether the store may create it (``mode=ro``/``rw`` may not)."""

    path: str
    may_create: bool


def parse_database_url(url: str | URL) -> URL:
    """``url`` as a SQLAlchemy ``URL`` on a supported backend, or a ``DatabaseURLError`` saying why not."""
    parsed = url if isinstance(url, URL) else _parsed_or_none(url)
    if parsed is None:
        raise DatabaseURLError(
            f"the database URL could not be parsed; expected a URL such as {_URL_FORMS}"
        )
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseURLError(unknown_scheme_message(parsed))
    return parsed


def _parsed_or_none(url: str) -> URL | None:
    """``make_url(url)``, or ``None``: raised outside the handler, so no exception keeps SQLAlchemy's
    error as ``__context__`` (SQLAlchemy before 2.0.x quotes the whole string, password included)."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError, TypeError):
        return None


def usable_url(url: str | URL) -> URL:
    """``url`` parsed (``parse_database_url``) with its driver importable: the checks every command
    makes before touching a database; otherwise a ``DatabaseURLError`` naming the fix."""
    parsed = parse_database_url(url)
    try:
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise DatabaseURLError(unknown_scheme_message(parsed)) from None
    except ImportError as exc:
        raise DatabaseURLError(missing_driver_message(parsed, exc)) from None
    return parsed


def unknown_scheme_message(url: URL) -> str:
    """Why the URL's scheme cannot be used, with the scheme to write instead."""
    backend = url.get_backend_name()
    meant = _ALIASES.get(backend)
    if meant is not None:
        scheme = RECOMMENDED_SCHEMES[meant][0] if meant in RECOMMENDED_SCHEMES else meant
        return f"unknown database URL scheme {url.drivername!r}: write {scheme}:// instead"
    if backend in SUPPORTED_BACKENDS:  # a known backend with a driver SQLAlchemy does not have
        return (
            f"unknown database driver {url.drivername!r}: "
            f"use {_recommended(backend)}:// (SQLAlchemy has no driver {url.get_driver_name()!r})"
        )
    return (
        f"unsupported database URL scheme {url.drivername!r}: zoho_tokenstore runs on SQLite, "
        f"PostgreSQL and MySQL/MariaDB, e.g. {_URL_FORMS}"
    )


def missing_driver_message(url: URL, error: ImportError) -> str:
    """Which package to install (or which scheme to use) when the URL's driver cannot be imported."""
    backend, driver = url.get_backend_name(), url.get_driver_name()
    module = error.name or driver
    extra = DRIVER_EXTRAS.get(driver)
    if extra is not None:
        return (
            f"the {driver} driver for {url.drivername}:// is not installed (no module {module!r}): "
            f"pip install 'zoho-tokenstore[{extra}]'"
        )
    recommended = _recommended(backend)
    extra = RECOMMENDED_SCHEMES[backend][1] if backend in RECOMMENDED_SCHEMES else None
    fix = (
        f"write {recommended}:// and pip install 'zoho-tokenstore[{extra}]'"
        if extra
        else "install the driver"
    )
    return (
        f"the database driver for {url.drivername}:// is not installed (no module {module!r}): "
        f"{fix}, or install the module {module!r} yourself"
    )


def sqlite_file(url: URL) -> SQLiteFile:
    """The file behind a SQLite URL (plain path or ``file:`` URI); in-memory databases are refused."""
    database = url.database or ""
    if _flag(url.query.get("uri", False)):
        if url.query.get("mode") == "memory" or url.query.get("vfs") in ("memdb", "memvfs"):
            raise DatabaseURLError(_in_memory_message(url))
        path = _uri_path(database)
        may_create = url.query.get("mode", "rwc") == "rwc"
    else:
        path = database
        may_create = True
    if path in ("", ":memory:"):
        raise DatabaseURLError(_in_memory_message(url))
    return SQLiteFile(path=path, may_create=may_create)


def _flag(value: object) -> bool:
    """A URL query flag read as SQLAlchemy's SQLite dialect reads ``uri`` (its internal ``asbool``)."""
    if isinstance(value, str):
        word = value.strip().lower()
        if word in ("true", "yes", "on", "y", "t", "1"):
            return True
        if word in ("false", "no", "off", "n", "f", "0"):
            return False
        raise ValueError(f"String is not true/false: {value!r}")
    return bool(value)


def database_file(url: URL) -> str | None:
    """The file a SQLite URL names (see ``sqlite_file``), or ``None`` for a server database."""
    return sqlite_file(url).path if url.get_backend_name() == "sqlite" else None


def create_private_file(target: SQLiteFile) -> None:
    """Create the SQLite file with mode 0600 before SQLite does (it would honour the umask); a
    missing directory or an unusable path becomes a ``DatabaseURLError`` naming it."""
    path = os.path.abspath(target.path)
    directory = os.path.dirname(path)
    if not os.path.isdir(directory):
        raise DatabaseURLError(
            f"the directory {directory!r} for the SQLite database does not exist: "
            f"create it first (mkdir -p {shlex.quote(directory)}) or point the URL at an existing directory"
        )
    if os.path.isdir(path):
        raise DatabaseURLError(
            f"the SQLite database path {path!r} is a directory: name a file inside it"
        )
    if not target.may_create or os.path.exists(path):
        return
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except PermissionError:
        raise DatabaseURLError(
            f"cannot create the SQLite database {path!r}: permission denied in {directory!r}"
        ) from None
    os.close(descriptor)


def _uri_path(database: str) -> str:
    """The file path of a SQLite ``file:`` URI (``file:a.db``, ``file:/abs/a.db``, ``file:///abs``)."""
    if not database.startswith("file:"):
        return database  # SQLite accepts a plain name with uri=true too
    rest = database[len("file:") :].split("?", 1)[0].split("#", 1)[0]
    if rest.startswith("//"):  # file://authority/path: only an empty or "localhost" authority
        authority, _, tail = rest[2:].partition("/")
        if authority not in ("", "localhost"):
            raise DatabaseURLError(
                f"the SQLite URI names the host {authority!r}; only local files can be used"
            )
        rest = "/" + tail
    path = unquote(rest)
    return "" if path == ":memory:" else path


def _in_memory_message(url: URL) -> str:
    return (
        f"{url.drivername}:// with an in-memory or temporary database cannot be shared safely "
        "between threads (each pooled connection would need the same single connection): "
        "use a file instead, e.g. sqlite:///zohooauth.db (in tests, a file in a temporary directory)"
    )


def _recommended(backend: str) -> str:
    return RECOMMENDED_SCHEMES[backend][0] if backend in RECOMMENDED_SCHEMES else backend
