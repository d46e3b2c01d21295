"""What the store knows about its engine, computed once (``EngineProfile.of``) from the engine
itself and passed down, like a SQLAlchemy ``Dialect``'s attributes (docs/store-design.md)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Engine, Table, insert
from sqlalchemy.dialects import postgresql, sqlite

from .log_safety import hide_result_rows

#: Execution option in which ``build_engine`` records a ``BuiltEngine``.
BUILT_OPTION: Final = "zoho_tokenstore_built"
#: Execution option marking the store's connections on an engine it shares with an application.
STORE_OPTION: Final = "zoho_tokenstore_store"


@dataclass(frozen=True)
class BuiltEngine:
    """What ``build_engine`` decided for an engine: facts no public attribute of the engine holds."""

    #: What starts a write transaction, where the driver leaves every statement in autocommit
    #: (``BEGIN IMMEDIATE`` on SQLite, ``BEGIN`` on MySQL/MariaDB with PyMySQL); else ``None``.
    begin_sql: str | None
    #: ``pool_recycle``, which also bounds how long a connection may be held out of the pool.
    recycle_seconds: float | None
    #: The pool can lend one connection for good and still serve the store's transactions.
    can_lend_a_connection: bool


@dataclass(frozen=True)
class EngineProfile:
    """How the store runs statements on one engine: reads, write transactions, lone statements."""

    engine: Engine
    #: ``engine.dialect.name``: ``sqlite``, ``postgresql``, ``mysql`` or ``mariadb``.
    backend: str
    #: What a write transaction starts with when the driver emits nothing (engines built here).
    begin_sql: str | None
    #: Whether ``connect`` gives a connection on which each statement commits by itself.
    lone_statements_commit: bool
    #: Whether the store keeps one connection out of the pool for its lone statements.
    holds_a_connection: bool
    #: How long a held connection may stay out of the pool (the engine's ``pool_recycle``).
    recycle_seconds: float | None

    @classmethod
    def of(cls, engine: Engine, *, shared: bool = False) -> EngineProfile:
        """The profile of ``engine``; ``shared``: an application's engine, used through a view that
        marks the store's connections and never logs a bound value or a result row."""
        built = engine.get_execution_options().get(BUILT_OPTION)
        if not isinstance(built, BuiltEngine):
            built = None
        if shared:
            engine = engine.execution_options(**{STORE_OPTION: True})
            engine.hide_parameters = True
            hide_result_rows(engine)
        backend = engine.dialect.name
        begin_sql = built.begin_sql if built is not None else None
        # PostgreSQL switches autocommit per connection for free; elsewhere only our sessions are.
        lone = backend == "postgresql" or begin_sql is not None
        return cls(
            engine=engine,
            backend=backend,
            begin_sql=begin_sql,
            lone_statements_commit=lone,
            holds_a_connection=lone and built is not None and built.can_lend_a_connection,
            recycle_seconds=built.recycle_seconds if built is not None else None,
        )

    def connect(self) -> Connection:
        """A pooled connection for lone statements: each is its own transaction where
        ``lone_statements_commit`` (on PostgreSQL through psycopg's local autocommit flag)."""
        connection = self.engine.connect()
        if self.backend == "postgresql":
            try:
                connection.execution_options(isolation_level="AUTOCOMMIT")
            except BaseException:
                connection.close()
                raise
        return connection

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction, committed at the end of the block and rolled back on an exception;
        SQLite writers take the write lock up front, so concurrent writers queue on the busy timeout."""
        with self.engine.connect() as connection, self.transaction(connection):
            yield connection

    @contextmanager
    def transaction(self, connection: Connection) -> Iterator[None]:
        """``begin``'s write transaction on a connection of the caller's, which has none open."""
        if self.begin_sql is not None:
            connection.execution_options(**{STORE_OPTION: True})
        with connection.begin():
            if self.begin_sql is not None:
                connection.exec_driver_sql(self.begin_sql)
            yield

    def insert_if_absent(
        self, connection: Connection, table: Table, values: Mapping[str, Any]
    ) -> bool:
        """Insert a row unless its primary key exists; whether this call inserted it (the lease claim)."""
        key = list(table.primary_key.columns)
        if self.backend == "postgresql":
            # psycopg reports no row count for ON CONFLICT DO NOTHING; RETURNING tells.
            pg = postgresql.insert(table).values(values).on_conflict_do_nothing(index_elements=key)
            return connection.execute(pg.returning(*key)).first() is not None
        if self.backend == "sqlite":
            lite = sqlite.insert(table).values(values).on_conflict_do_nothing(index_elements=key)
            return connection.execute(lite).rowcount == 1
        if self.backend in ("mysql", "mariadb"):
            # IGNORE turns only the duplicate key into "0 rows": the values are ours and fit.
            ignored = insert(table).values(values).prefix_with("IGNORE")
            return connection.execute(ignored).rowcount == 1
        # Elsewhere a duplicate raises IntegrityError, which the caller takes as a lost race.
        return connection.execute(insert(table).values(values)).rowcount == 1


__all__ = ["BUILT_OPTION", "STORE_OPTION", "BuiltEngine", "EngineProfile"]
