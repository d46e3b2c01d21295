"""The package's one error type, ``TokenStoreError`` (an ``SDKException(code="TOKEN_STORE")``), and
database failures told by kind and driver code, never by a value a driver's message may quote."""

from __future__ import annotations

from typing import Any, ClassVar, Final

from sqlalchemy import exc as sa_exc
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

TOKEN_STORE: Final = "TOKEN_STORE"

# MySQL/MariaDB error numbers and PostgreSQL SQLSTATEs worth one more try in a fresh transaction.
_RETRYABLE_MYSQL_ERRNOS: Final = frozenset({1205, 1213})  # lock wait timeout, deadlock
_RETRYABLE_SQLSTATES: Final = frozenset({"40001", "40P01"})  # serialization failure, deadlock
# A schema change meeting another schema than it expects: a table, column or index it creates
# exists already, or one it drops does not (MySQL/MariaDB raise these as OperationalError).
_SCHEMA_CONFLICTS: Final = frozenset(
    {"1050", "1051", "1060", "1061", "1068", "1091", "1176", "42P07", "42701", "42710", "42P16"}
)
# A statement naming a table or column the database lacks (MySQL's 1054: an OperationalError too).
_SCHEMA_MISSING: Final = frozenset({"1054", "1146", "42P01", "42703"})


class TokenStoreError(SDKException):  # type: ignore[misc]  # the SDK ships no type hints
    """Every error of this package: an ``SDKException(TOKEN_STORE)``, which the SDK and its callers
    already handle, carrying the exit status the ``zoho-tokenstore`` command reports it with."""

    #: The command's exit status: 1, it ran and failed (``zoho_tokenstore.cli.common.EXIT_STATUSES``).
    exit_status: ClassVar[int] = 1

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        super().__init__(code=TOKEN_STORE, message=message)
        # Not passed to SDKException, which would append str(cause): that may quote bound values.
        self.cause = cause

    def __reduce__(self) -> tuple[Any, ...]:
        # BaseException pickles as cls(*args), but args are SDKException's (code, message).
        return type(self), (self.error_message,), self.__dict__


class UsageError(TokenStoreError):
    """What was asked cannot be carried out as given (a URL, option, file or name is wrong): exit 2."""

    exit_status: ClassVar[int] = 2


def store_error(message: str, cause: BaseException | None = None) -> TokenStoreError:
    """A ``TokenStoreError`` whose message is exactly ``message``, with ``cause`` kept aside."""
    return TokenStoreError(message, cause)


def database_error(operation: str, exc: sa_exc.SQLAlchemyError) -> TokenStoreError:
    """Describe a database failure by kind and driver code only: never by values or SQL text."""
    if isinstance(exc, sa_exc.StatementError):
        # hide_parameters keeps them out of str(exc), not off the object an error reporter inspects.
        exc.params = None
    kind = _kind_of(exc)
    code = driver_error_code(exc)
    detail = f"{kind} ({type(exc).__name__}{', code ' + code if code else ''})"
    return store_error(f"{operation} failed: {detail}", cause=exc)


def driver_error_code(exc: sa_exc.SQLAlchemyError) -> str | None:
    """The driver's error number or SQLSTATE, which names the failure without quoting data."""
    orig = getattr(exc, "orig", None)
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # PyMySQL / mysqlclient: (errno, message)
        # Before the SQLSTATE: PyMySQL has one too, but for a lock wait timeout it is HY000.
        return str(args[0])
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str):
        return sqlstate
    name = getattr(orig, "sqlite_errorname", None)  # sqlite3 on Python >= 3.11
    return name if isinstance(name, str) else None


def is_retryable(exc: sa_exc.SQLAlchemyError) -> bool:
    """True for conflicts that a fresh transaction resolves: unique races, deadlocks, lock timeouts."""
    if isinstance(exc, sa_exc.IntegrityError):
        return True
    code = driver_error_code(exc)
    if code is None:
        return False
    return code in _RETRYABLE_SQLSTATES or (code.isdigit() and int(code) in _RETRYABLE_MYSQL_ERRNOS)


def _kind_of(exc: sa_exc.SQLAlchemyError) -> str:
    if isinstance(exc, sa_exc.IntegrityError):
        return "a uniqueness or integrity rule was violated"
    if isinstance(exc, sa_exc.DataError):
        return "a value does not fit its column"
    code = driver_error_code(exc)
    said = str(getattr(exc, "orig", ""))  # SQLite has no code of its own for these two
    missing = code in _SCHEMA_MISSING or "no such table" in said or "no such column" in said
    if code in _SCHEMA_CONFLICTS or (code == "SQLITE_ERROR" and not missing):
        return (
            "the schema is not what the statement expects: a table, column or index it creates "
            "exists already, or one it changes is missing (made by hand or by another tool? "
            "`zoho-tokenstore adopt` takes over the SDK DBStore's table)"
        )
    if missing or isinstance(exc, sa_exc.ProgrammingError):
        return "the table is missing or differs (run `zoho-tokenstore upgrade`)"
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        return "the database is unavailable or the connection was lost"
    if isinstance(exc, sa_exc.TimeoutError):
        return "no pooled connection became free in time"
    return "a database error occurred"
