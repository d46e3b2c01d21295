"""Why connecting to a database failed, told from the driver's error, with the fix: a wrong
password, no such database or role, nothing listening, host not found, timed out (docs/engines.md)."""

# Names come from the URL (user, database, host, port), never from a driver's message and never
# the password. How each driver's error is read:
# - PyMySQL: the error number in ``args[0]`` (1045/1698 access denied, 1044 no access to the
#   database, 1049 unknown database, 2005 unknown host), and for 2003 ("can't connect") the socket
#   error PyMySQL keeps as ``original_exception`` (refused, DNS failure, timeout); 2013 while
#   connecting (a server that accepted the connection but never greeted) is a timeout.
# - psycopg: its ``sqlstate`` (28P01, 3D000) when there is one; a failed connection attempt has
#   none (libpq reports it as text), so the English wording of libpq and the server is matched
#   (``_PG_PATTERNS``). A server speaking another language (``lc_messages``) gets the generic message.
# - sqlite3: ``SQLITE_NOTADB`` (a file that is not a database); a missing directory or an unusable
#   path is refused before connecting (``urls.create_private_file``).

from __future__ import annotations

import re
import socket
from typing import Final, NamedTuple

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL

from ..core.errors import TokenStoreError, database_error, driver_error_code, store_error

_DEFAULT_PORTS: Final = {"postgresql": 5432, "mysql": 3306, "mariadb": 3306}

# The causes, each a function of the URL's names giving "what happened: the one-line fix".
_AUTH: Final = "authentication"
_NO_DATABASE: Final = "no database"
_NO_ROLE: Final = "no role"
_NOT_ALLOWED: Final = "not allowed"
_REFUSED: Final = "refused"
_HOST_NOT_FOUND: Final = "host not found"
_TIMED_OUT: Final = "timed out"
_NOT_A_DATABASE: Final = "not a database"

_PG_SQLSTATES: Final = {"28P01": _AUTH, "3D000": _NO_DATABASE}

# libpq's and the server's English wording of a failed connection attempt (psycopg gives no
# SQLSTATE for these). A quoted name ("...") may hold any character but an unescaped quote.
_QUOTED: Final = r'"(?:[^"]|"")*"'
_PG_PATTERNS: Final = (
    # PgBouncer's own authentication says it without "for user ...".
    (re.compile(r"FATAL:\s+password authentication failed(?: for user " + _QUOTED + ")?"), _AUTH),
    (re.compile(r"fe_sendauth: no password supplied"), _AUTH),
    (re.compile(r"FATAL:\s+database " + _QUOTED + r" does not exist"), _NO_DATABASE),
    (re.compile(r"FATAL:\s+role " + _QUOTED + r" does not exist"), _NO_ROLE),
    (re.compile(r"FATAL:\s+no pg_hba\.conf entry for host"), _NOT_ALLOWED),
    (re.compile(r"\bConnection refused\b"), _REFUSED),
    # psycopg >= 3.2 resolves host names itself; older ones leave it to libpq.
    (re.compile(r"^failed to resolve host |could not translate host name "), _HOST_NOT_FOUND),
    (re.compile(r"\btimeout expired\b"), _TIMED_OUT),
)

_MYSQL_ERRNOS: Final = {
    1045: _AUTH,  # ER_ACCESS_DENIED_ERROR: wrong password, or no such user for this host
    1698: _AUTH,  # ER_ACCESS_DENIED_NO_PASSWORD_ERROR: the same, connecting without a password
    1044: _NOT_ALLOWED,  # ER_DBACCESS_DENIED_ERROR: no privilege on the database (or none such)
    1049: _NO_DATABASE,  # ER_BAD_DB_ERROR
    2005: _HOST_NOT_FOUND,  # CR_UNKNOWN_HOST (mysqlclient; PyMySQL says 2003 with a gaierror)
}
_MYSQL_CANT_CONNECT: Final = 2003  # CR_CONN_HOST_ERROR: the socket error tells why
_MYSQL_LOST: Final = 2013  # CR_SERVER_LOST: while connecting, a server that never greeted


class ConnectFailure(NamedTuple):
    """Why connecting failed (``what``) and the one-line ``fix``, naming no password."""

    what: str
    fix: str


def connect_failure(exc: sa_exc.SQLAlchemyError, url: URL) -> ConnectFailure | None:
    """What went wrong and its fix when ``exc`` is a failure to connect to ``url`` that the driver
    names (module docstring), else ``None``; it quotes the URL's names, never its password."""
    cause = _cause(exc, url.get_backend_name())
    return None if cause is None else _described(cause, url)


def connection_error(operation: str, exc: sa_exc.SQLAlchemyError, url: URL) -> TokenStoreError:
    """``database_error(operation, exc)``, except that a failure to connect says what it was and how
    to fix it (``connect_failure``): what the store's constructor and the commands raise."""
    described = connect_failure(exc, url)
    if described is None:
        return database_error(operation, exc)
    code = driver_error_code(exc)
    detail = f"{type(exc).__name__}{', code ' + code if code else ''}"
    return store_error(f"{operation} failed: {described.what}: {described.fix} ({detail})", exc)


def _cause(exc: sa_exc.SQLAlchemyError, backend: str) -> str | None:
    if not isinstance(exc, sa_exc.DBAPIError) or exc.orig is None:
        return None
    orig = exc.orig
    if backend == "postgresql":
        return _postgresql_cause(orig)
    if backend in ("mysql", "mariadb"):
        # SQLAlchemy gives a failure to connect no statement; one of a query has its SQL.
        return _mysql_cause(orig, connecting=exc.statement is None)
    if backend == "sqlite":
        return _NOT_A_DATABASE if _sqlite_not_a_database(orig) else None
    return None


def _postgresql_cause(orig: BaseException) -> str | None:
    sqlstate = getattr(orig, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate in _PG_SQLSTATES:
        return _PG_SQLSTATES[sqlstate]
    if type(orig).__name__ == "ConnectionTimeout":  # psycopg >= 3.2's own class
        return _TIMED_OUT
    if sqlstate not in (None, "28000"):  # an error of a running session, not of connecting
        return None
    text = str(orig)
    for pattern, cause in _PG_PATTERNS:
        if pattern.search(text):
            return cause
    return None


def _mysql_cause(orig: BaseException, *, connecting: bool) -> str | None:
    args = getattr(orig, "args", ())
    errno = args[0] if args and isinstance(args[0], int) else None
    if errno in _MYSQL_ERRNOS:
        return _MYSQL_ERRNOS[errno]
    if errno == _MYSQL_LOST and connecting:
        # The handshake outlived read_timeout: PyMySQL raises it while handling the socket's.
        return _TIMED_OUT if isinstance(orig.__context__, TimeoutError) else None
    if errno != _MYSQL_CANT_CONNECT:
        return None
    socket_error = getattr(orig, "original_exception", None)  # PyMySQL keeps it for us
    if isinstance(socket_error, ConnectionRefusedError):
        return _REFUSED
    if isinstance(socket_error, socket.gaierror):
        return _HOST_NOT_FOUND
    if isinstance(socket_error, TimeoutError):  # socket.timeout is TimeoutError since 3.10
        return _TIMED_OUT
    return None


def _sqlite_not_a_database(orig: BaseException) -> bool:
    name = getattr(orig, "sqlite_errorname", None)  # Python >= 3.11
    return name == "SQLITE_NOTADB" if name is not None else "file is not a database" in str(orig)


def _described(cause: str, url: URL) -> ConnectFailure:
    backend = url.get_backend_name()
    mysql = backend in ("mysql", "mariadb")
    user = repr(url.username) if url.username else "(the driver's default)"
    database = url.database or ""
    host = url.host or "localhost"
    at = f"{host}:{url.port or _DEFAULT_PORTS.get(backend, '')}"
    if cause == _AUTH and mysql:
        return ConnectFailure(
            f"access denied for user {user} at {at} (a wrong password, or no such user for this "
            "host; MySQL and MariaDB do not say which)",
            "check the user and password in the URL, or create the user "
            f"(CREATE USER {user}@'%' IDENTIFIED BY '...')",
        )
    if cause == _AUTH:
        return ConnectFailure(
            f"password authentication failed for user {user} at {at}",
            "check the password in the URL (percent-encode @ : / ? # % in it)",
        )
    if cause == _NO_DATABASE:
        create = f"CREATE DATABASE {database}" + (" CHARACTER SET utf8mb4" if mysql else "")
        return ConnectFailure(
            f"database {database!r} does not exist at {at}",
            f"create it ({create}) and run `zoho-tokenstore upgrade`, or fix the database name "
            "in the URL",
        )
    if cause == _NO_ROLE:
        return ConnectFailure(
            f"role {user} does not exist at {at}",
            f"create it (CREATE ROLE {url.username} LOGIN PASSWORD '...'), or fix the user name "
            "in the URL",
        )
    if cause == _NOT_ALLOWED and mysql:
        return ConnectFailure(
            f"user {user} may not use database {database!r} at {at} (or it does not exist)",
            f"create the database, or GRANT ALL ON {database}.* TO {user}",
        )
    if cause == _NOT_ALLOWED:
        return ConnectFailure(
            f"the server at {at} accepts no connection from this host for user {user} to "
            f"database {database!r} (no pg_hba.conf entry)",
            "add an entry to pg_hba.conf and reload the server",
        )
    if cause == _REFUSED:
        return ConnectFailure(
            f"nothing is listening at {at} (connection refused)",
            "start the database server, or check the host and port in the URL",
        )
    if cause == _HOST_NOT_FOUND:
        return ConnectFailure(
            f"host {host!r} not found (its name does not resolve)",
            "check the host name in the URL",
        )
    if cause == _TIMED_OUT:
        return ConnectFailure(
            f"connecting to {at} timed out (nothing answered)",
            "check that the server is up and that no firewall drops connections to that port",
        )
    return ConnectFailure(
        f"{database!r} is not a SQLite database (file is not a database)",
        "point the URL at the token database file, or at a new file",
    )


__all__ = ["ConnectFailure", "connect_failure", "connection_error"]
