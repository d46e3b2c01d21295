"""Runs the store's reads and writes, and decides what a failed one may safely try again, since
no connection is pinged before use (each case: docs/store-design.md, "Dead connections")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, TypeVar

from sqlalchemy import Connection
from sqlalchemy import exc as sa_exc
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from ..core.errors import TokenStoreError, database_error, is_retryable, store_error
from ..database.held_connection import HeldConnection
from ..database.profile import EngineProfile

#: Attempts of a write transaction that keeps losing a race before the conflict is reported.
WRITE_ATTEMPTS: Final = 3

T = TypeVar("T")


class RowVanished(TokenStoreError):
    """The row a transaction located was deleted by another one before its UPDATE reached it.
    Caught by ``write``, which retries; nothing between its raise and ``write`` catches SDKException."""

    def __init__(self, message: str = "the located row was deleted before its UPDATE") -> None:
        super().__init__(message)


def read(
    profile: EngineProfile,
    operation: str,
    work: Callable[[Connection], T],
    held: HeldConnection | None = None,
) -> T:
    """``work`` on the held connection (else a pooled one), retried once if it was dead."""
    for attempt in (1, 2):
        try:
            return run_alone(profile, held, work)
        except sa_exc.SQLAlchemyError as exc:
            if attempt == 1 and _connection_lost(exc):
                continue
            raise database_error(operation, exc) from exc
    raise AssertionError("unreachable")  # pragma: no cover


def write_alone(
    profile: EngineProfile,
    held: HeldConnection | None,
    operation: str,
    work: Callable[[Connection], bool],
    landed: Callable[[Connection], bool],
) -> bool | None:
    """One statement that commits by itself: whether it did its work, or ``None`` if its connection
    was lost and ``landed`` finds the write missing, so the caller may run it again."""
    try:
        return run_alone(profile, held, work)
    except sa_exc.SQLAlchemyError as exc:
        if _connection_lost(exc):
            # Outcome unknown: read the row back. A write found missing may run again; it sets
            # the same values, so a late arrival of the first changes nothing.
            try:
                return True if read(profile, operation, landed, held) else None
            except SDKException as check_failed:
                raise store_error(
                    f"{operation} failed: the connection was lost during the update and the "
                    "outcome could not be checked; the write may or may not have happened",
                    cause=check_failed,
                ) from exc
        if is_retryable(exc):  # a deadlock or lock wait timeout: the caller's transaction retries
            return False
        raise database_error(operation, exc) from exc


def run_alone(
    profile: EngineProfile, held: HeldConnection | None, work: Callable[[Connection], T]
) -> T:
    """``work`` on the held connection if it is free, else on a pooled one (``profile.connect``)."""
    connection = held.acquire() if held is not None else None
    if connection is None:
        with profile.connect() as pooled:
            return work(pooled)
    assert held is not None
    succeeded = False
    try:
        result = work(connection)
        succeeded = True
        return result
    finally:
        held.release(connection, succeeded=succeeded)


def write(
    profile: EngineProfile,
    operation: str,
    work: Callable[[Connection], T],
    landed: Callable[[Connection, T], bool],
    *,
    retry_lost: bool = True,
) -> T:
    """``work`` in one committed transaction (``profile.begin``), retried as docs/store-design.md
    says; ``landed(connection, result)`` checks a COMMIT whose outcome is unknown."""
    conflicts = 0
    reconnected = not retry_lost  # retry_lost=False: write_alone already lost one connection
    while True:
        done: list[T] = []  # holds the result once COMMIT is under way
        try:
            with profile.begin() as connection:
                done.append(work(connection))
            return done[0]
        except RowVanished as exc:
            conflicts += 1
            if conflicts < WRITE_ATTEMPTS:
                continue
            raise store_error(
                f"{operation} failed: another writer deleted the row each time it was updated"
            ) from exc
        except sa_exc.SQLAlchemyError as exc:
            if _connection_lost(exc):
                if done:
                    return _settle(profile, operation, exc, done[0], landed)
                if not reconnected:
                    reconnected = True
                    continue
            elif is_retryable(exc):
                conflicts += 1
                if conflicts < WRITE_ATTEMPTS:
                    continue
            raise database_error(operation, exc) from exc


def _settle(
    profile: EngineProfile,
    operation: str,
    lost: sa_exc.SQLAlchemyError,
    result: T,
    landed: Callable[[Connection, T], bool],
) -> T:
    """After a lost COMMIT: the result if the write is in the database, else a clear error."""
    try:
        done = read(profile, operation, lambda connection: landed(connection, result))
    except SDKException as exc:  # the check itself failed
        raise store_error(
            f"{operation} failed: the connection was lost while committing and the outcome "
            "could not be checked; the write may or may not have happened",
            cause=exc,
        ) from lost
    if done:
        return result
    raise store_error(
        f"{operation} failed: the connection was lost while committing and the database does "
        "not hold the write, so it did not happen (it is not repeated blindly)",
        cause=lost,
    ) from lost


def _connection_lost(exc: sa_exc.SQLAlchemyError) -> bool:
    """Whether the connection turned out to be dead (SQLAlchemy has already invalidated it)."""
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated
