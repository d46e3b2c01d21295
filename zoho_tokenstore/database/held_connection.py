"""One connection a store keeps out of the pool for statements that commit by themselves: a
checkout costs about as much as a SQLite lookup (docs/store-design.md has when it is replaced)."""

from __future__ import annotations

import threading
import time

from sqlalchemy import Connection

from .profile import EngineProfile


class HeldConnection:
    """A connection from ``profile.connect()`` lent to one caller at a time; a caller that
    finds it busy takes a pooled connection, so threads never queue behind each other."""

    def __init__(self, profile: EngineProfile) -> None:
        self._profile = profile
        self._lock = threading.Lock()
        self._connection: Connection | None = None
        self._pool = profile.engine.pool
        self._taken_at = 0.0
        self._closed = False
        #: Connections inherited from a parent process: kept referenced, never used nor closed,
        #: so that nothing resets them over the socket the parent still uses.
        self._inherited: list[Connection] = []

    def acquire(self) -> Connection | None:
        """The held connection, reserved for the caller until ``release``; ``None`` if busy."""
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
        """Give the connection back; after a failure it goes back to the pool (which discards it
        if invalid) and the next call starts on a fresh one."""
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

    def forget(self) -> None:
        """In a forked child: leave the parent's connection alone and start over on the next call."""
        if self._connection is not None:
            self._inherited.append(self._connection)
        self._connection = None
        self._lock = threading.Lock()
        self._pool = self._profile.engine.pool

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
        if self._profile.engine.pool is not self._pool:  # engine.dispose() made a new pool
            return True
        recycle = self._profile.recycle_seconds
        return recycle is not None and time.monotonic() - self._taken_at > recycle

    def _replace(self) -> Connection:
        if self._connection is not None:
            self._drop(self._connection)
        self._pool = self._profile.engine.pool
        connection = self._profile.connect()
        self._connection, self._taken_at = connection, time.monotonic()
        return connection

    def _drop(self, connection: Connection) -> None:
        self._connection = None
        connection.close()


__all__ = ["HeldConnection"]
