"""One connection a store keeps checked out for statements that commit by themselves.

Taking a connection from the pool and giving it back costs more Python time than a lookup itself
(on SQLite about half of the call). Where a lone statement is its own transaction (the store's
reads, and a save that is a single UPDATE, on the engines where ``connect_for_reads`` gives autocommit), the
store keeps one connection out of the pool and runs such statements on it, still through
SQLAlchemy's own execution: events fire, errors are wrapped, column types process values.

One thread at a time uses it; a thread that finds it busy takes a pooled connection as before, so
threads never queue behind each other and the pool keeps its other connections. It is given up,
and a new one taken on the next call, when a statement fails, when it has been out of the pool
longer than the pool's ``pool_recycle``, when the engine was disposed, and in a forked child, which
never touches (nor closes) the connection its parent was using. In a forked child the pool of an
engine the store built is replaced too (SQLAlchemy's ``dispose(close=False)``), as the parent's
pooled connections are not the child's to use.
"""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Final

from sqlalchemy import Connection, Engine
from sqlalchemy.pool import NullPool, QueuePool

from .engine import connect_for_reads

#: Every live ``HeldConnection``, so that a forked child can drop the ones it inherited.
_INSTANCES: Final[weakref.WeakSet[HeldConnection]] = weakref.WeakSet()
#: Connections inherited by a forked child: referenced forever, so that garbage collection never
#: resets or closes them over the socket the parent is still using.
_INHERITED: Final[list[Connection]] = []


class HeldConnection:
    """A connection of ``engine`` lent to one caller at a time (see the module's docstring)."""

    def __init__(self, engine: Engine, *, pool_owner: Engine | None = None) -> None:
        """Connections of ``engine``, opened with ``connect_for_reads``;
        ``pool_owner``: an engine whose pool a forked child replaces."""
        self._engine = engine
        self._pool_owner = pool_owner
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._taken_at = 0.0
        recycle = getattr(engine.pool, "_recycle", -1)  # create_engine(pool_recycle=...)
        self._recycle_seconds: float | None = recycle if recycle >= 0 else None
        self._closed = False
        _INSTANCES.add(self)

    def acquire(self) -> Connection | None:
        """The held connection, now reserved for the caller; ``None`` if another thread has it.

        The caller runs its statement and then calls ``release``. Opening the connection (on the
        first call, or after it was given up) can raise as ``engine.connect()`` does.
        """
        if not self._lock.acquire(blocking=False):
            return None
        try:
            connection = self._connection
            if connection is None or self._stale(connection):
                connection = self._replace()
        except BaseException:
            self._lock.release()
            raise
        return connection

    def release(self, connection: Connection, *, succeeded: bool) -> None:
        """Give the connection back to the store; after a failure it is closed and replaced later.

        A failed statement may leave a connection mid-protocol or invalidated (SQLAlchemy has then
        also told the pool); the next call starts on a fresh one.
        """
        try:
            if not succeeded or self._closed:
                self._drop(connection)
        finally:
            self._lock.release()

    def close(self) -> None:
        """Return the connection to the pool (waiting for a caller that is using it)."""
        with self._lock:
            self._closed = True
            if self._connection is not None:
                self._drop(self._connection)

    @property
    def in_use(self) -> bool:
        """Whether a caller holds the connection right now (for tests and diagnostics)."""
        return self._lock.locked()

    @property
    def is_open(self) -> bool:
        """Whether a connection is held (checked out of the pool), in use or not."""
        return self._connection is not None

    def _stale(self, connection: Connection) -> bool:
        if connection.invalidated or connection.closed:
            return True
        if self._engine.pool is not self._pool:  # engine.dispose() made a new pool
            return True
        recycle = self._recycle_seconds
        return recycle is not None and time.monotonic() - self._taken_at > recycle

    def _replace(self) -> Connection:
        if self._connection is not None:
            self._drop(self._connection)
        self._pool = self._engine.pool
        connection = connect_for_reads(self._engine)
        self._connection, self._taken_at = connection, time.monotonic()
        return connection

    def _drop(self, connection: Connection) -> None:
        self._connection = None
        connection.close()  # back to the pool, which resets it or discards it if invalid

    def _forget_after_fork(self) -> None:
        """In a forked child: keep the parent's connection unused and unclosed, start over."""
        if self._connection is not None:
            _INHERITED.append(self._connection)
        self._connection = None
        self._lock = threading.Lock()
        if self._pool_owner is not None:
            self._pool_owner.dispose(close=False)


def pool_can_spare_one(engine: Engine) -> bool:
    """Whether ``engine``'s pool can lend a connection for good and still serve other calls.

    A ``QueuePool`` of two or more connections (``pool_size`` + ``max_overflow``; the default is
    5 + 10) or a ``NullPool`` can. A pool of one connection (``pool_size=1, max_overflow=0``) would
    leave nothing for the store's transactions, and a ``StaticPool`` shares one connection between
    all callers: the store then takes a pooled connection for every call, as before.
    """
    pool = engine.pool
    if isinstance(pool, NullPool):
        return True
    if not isinstance(pool, QueuePool):
        return False
    max_overflow = getattr(pool, "_max_overflow", 0)  # create_engine(max_overflow=...)
    return bool(max_overflow < 0 or pool.size() + max_overflow >= 2)


def _after_fork_in_child() -> None:
    for held in list(_INSTANCES):
        held._forget_after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)

__all__ = ["HeldConnection", "pool_can_spare_one"]
