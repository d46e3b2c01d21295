"""The stores under test, each exposing the same six operations: ours, a raw driver, FileStore, DBStore.

An operation is split in two: ``prepare(k)`` builds ``k`` arguments (fresh SDK tokens, ids) outside
the timed region, and ``call(arg)`` is the one timed call. Fresh tokens matter: ``find_token`` fills
the token in place, so a reused token would take the id path on its second use.
"""

from __future__ import annotations

import csv
import itertools
import random
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from sqlalchemy import bindparam, create_engine, event, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import sessionmaker
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from bench_data import COLUMNS, Row, driver_args
from token_factory import make_token, valid_expiry  # tests/ is on sys.path via bench_data
from zoho_tokenstore import OAuthTokenRow, SQLAlchemyTokenStore
from zoho_tokenstore.core.codec import token_from_row
from zoho_tokenstore.core.model import COLUMN_NAMES
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.database.profile import EngineProfile

BY_ID: Final = "find_token_by_id"
BY_USER: Final = "find_token (user name)"
BY_REFRESH: Final = "find_token (refresh token)"
SAVE_UPDATE: Final = "save_token (update)"
SAVE_INSERT: Final = "save_token (insert)"
GET_TOKENS: Final = "get_tokens"
OPERATIONS: Final = (BY_ID, BY_USER, BY_REFRESH, SAVE_UPDATE, SAVE_INSERT, GET_TOKENS)
LOOKUPS: Final = (BY_ID, BY_USER, BY_REFRESH)

#: User names of rows a benchmark insert creates; they are deleted after every batch.
NEW_USER_PREFIX: Final = "bench-new-"

_new_users = itertools.count()
_refreshes = itertools.count()


@dataclass
class Operation:
    """``prepare(k)`` returns ``k`` arguments (untimed); ``call(arg)`` is what gets timed."""

    prepare: Callable[[int], list[Any]]
    call: Callable[[Any], object]


@dataclass
class Target:
    """One store on one backend at one table size, with its operations and clean-up hooks."""

    backend: str
    store: str
    rows: int
    operations: dict[str, Operation]
    remove_inserted: Callable[[], None]
    close: Callable[[], None] = field(default=lambda: None)


def refreshed(row: Row) -> dict[str, str]:
    """Row values after a refresh: a new access token and expiry, the id kept (the SDK's update).

    The access token is new on every call, as after a real refresh. (An update that changes nothing
    makes DBStore see 0 affected rows and insert a duplicate id.)
    """
    values = dict(zip(COLUMNS, row, strict=True))
    values["access_token"] = f"{values['access_token'][:40]}.r{next(_refreshes)}"
    values["expiry_time"] = valid_expiry()
    return values


def new_user() -> dict[str, str | None]:
    """Values of a user logging in for the first time (no id yet), unique per call."""
    n = next(_new_users)
    return {
        "id": None,
        "user_name": f"{NEW_USER_PREFIX}{n}@example.com:{n}",
        "client_id": "1000.BENCHCLIENTID0123456789ABCDEF",
        "client_secret": "0123456789abcdef0123456789abcdef0123456789",
        "refresh_token": f"1000.new{n:028x}.refresh",
        "access_token": f"1000.new{n:028x}.access",
        "grant_token": f"1000.new{n:028x}.grant",
        "expiry_time": valid_expiry(),
        "redirect_url": "https://example.com/callback",
        "api_domain": "https://www.zohoapis.com",
    }


def sdk_operations(store: Any, rows: Sequence[Row], rng: random.Random) -> dict[str, Operation]:
    """The six operations through the SDK's ``TokenStore`` interface (ours, FileStore, DBStore)."""

    def pick(k: int) -> list[Row]:
        return [rows[rng.randrange(len(rows))] for _ in range(k)]

    def by_user(k: int) -> list[OAuthToken]:
        return [OAuthToken(user_signature=UserSignature(row[1])) for row in pick(k)]

    def by_refresh(k: int) -> list[OAuthToken]:  # the SDK's restart path: client + refresh token
        return [OAuthToken(client_id=r[2], client_secret=r[3], refresh_token=r[4]) for r in pick(k)]

    return {
        BY_ID: Operation(lambda k: [row[0] for row in pick(k)], store.find_token_by_id),
        BY_USER: Operation(by_user, store.find_token),
        BY_REFRESH: Operation(by_refresh, store.find_token),
        SAVE_UPDATE: Operation(
            lambda k: [make_token(**refreshed(row)) for row in pick(k)], store.save_token
        ),
        SAVE_INSERT: Operation(
            lambda k: [make_token(**new_user()) for _ in range(k)], store.save_token
        ),
        GET_TOKENS: Operation(lambda k: [None] * k, lambda _: store.get_tokens()),
    }


def ours(backend: str, url: URL, rows: Sequence[Row], *, synchronous: str | None = None) -> Target:
    """``SQLAlchemyTokenStore`` as an application builds it; ``synchronous`` overrides SQLite's FULL."""
    rng = random.Random(1)
    if synchronous is None:
        store = SQLAlchemyTokenStore(url)
        name = "ours"
    else:
        engine = build_engine(url)

        @event.listens_for(engine, "connect")
        def _relax(dbapi_connection: Any, _record: Any) -> None:  # runs after the store's FULL
            dbapi_connection.execute(f"PRAGMA synchronous={synchronous}")

        store = SQLAlchemyTokenStore(engine)
        name = f"ours, synchronous={synchronous}"
    operations = sdk_operations(store, rows, rng)
    if synchronous is not None:
        operations = {op: operations[op] for op in (SAVE_UPDATE, SAVE_INSERT)}
    raw = RawConnection(backend, url)

    def close() -> None:
        store.close()
        store.engine.dispose()
        raw.close()

    return Target(backend, name, len(rows), operations, raw.remove_inserted, close)


def session_lookups(backend: str, url: URL, rows: Sequence[Row]) -> Target:
    """The store's lookups as they would run in an ORM ``Session`` (the design not chosen).

    The same statements on the same engine as ours, but each call opens a ``Session`` and loads an
    ``OAuthTokenRow`` object (identity map, instance state) before building the SDK token.
    """
    rng = random.Random(1)
    store = SQLAlchemyTokenStore(url, refresh_ahead=False)
    sessions = sessionmaker(store.engine)
    row_class = OAuthTokenRow
    by_id = select(row_class).where(row_class.id == bindparam("value"))
    by_user = select(row_class).where(row_class.user_name == bindparam("value")).limit(1)
    by_refresh = select(row_class).where(row_class.refresh_token == bindparam("value")).limit(1)

    def lookup(query: Any) -> Callable[[str], OAuthToken | None]:
        def call(value: str) -> OAuthToken | None:
            with sessions() as session:
                found = session.scalars(query, {"value": value}).first()
                if found is None:
                    return None
                row = {c: getattr(found, c) for c in COLUMNS}
                return token_from_row(row, "find_token_by_id")

        return call

    def pick(k: int) -> list[Row]:
        return [rows[rng.randrange(len(rows))] for _ in range(k)]

    operations = {
        BY_ID: Operation(lambda k: [row[0] for row in pick(k)], lookup(by_id)),
        BY_USER: Operation(lambda k: [row[1] for row in pick(k)], lookup(by_user)),
        BY_REFRESH: Operation(lambda k: [row[4] for row in pick(k)], lookup(by_refresh)),
    }
    return Target(backend, "ours via ORM Session", len(rows), operations, lambda: None, store.close)


def sqlalchemy_floor(
    backend: str, url: URL, rows: Sequence[Row], *, store_settings: bool = True
) -> Target:
    """SQLAlchemy's own execution and nothing of the store: ORM statements on one held autocommit
    connection, rows left as SQLAlchemy ``Row`` objects (no SDK token, no refresh check). What any
    store that runs its lookups through SQLAlchemy pays: with the store's engine settings, or with
    ``create_engine``'s defaults (``store_settings=False``: psycopg prepares statements it runs
    often, MySQL sessions are not in autocommit, no listener on the engine)."""
    rng = random.Random(1)
    if store_settings:
        engine = build_engine(url)
        connection = EngineProfile.of(engine).connect()
    else:
        engine = create_engine(url)
        connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    row = OAuthTokenRow
    columns = [getattr(row, name) for name in COLUMN_NAMES]  # as ours and the raw driver read
    by_id = select(*columns).where(row.id == bindparam("value"))
    by_user = select(*columns).where(row.user_name == bindparam("value")).limit(1)
    by_refresh = select(*columns).where(row.refresh_token == bindparam("value")).limit(1)

    def lookup(query: Any) -> Callable[[str], object]:
        return lambda value: connection.execute(query, {"value": value}).first()

    def pick(k: int) -> list[Row]:
        return [rows[rng.randrange(len(rows))] for _ in range(k)]

    def close() -> None:
        connection.close()
        engine.dispose()

    operations = {
        BY_ID: Operation(lambda k: [row[0] for row in pick(k)], lookup(by_id)),
        BY_USER: Operation(lambda k: [row[1] for row in pick(k)], lookup(by_user)),
        BY_REFRESH: Operation(lambda k: [row[4] for row in pick(k)], lookup(by_refresh)),
    }
    name = "SQLAlchemy floor" if store_settings else "SQLAlchemy floor, default engine"
    return Target(backend, name, len(rows), operations, lambda: None, close)


class RawConnection:
    """One held driver connection with parameterized statements, prepared on PostgreSQL unless
    ``prepare`` is false (the store itself does not prepare, so that PgBouncer can route it)."""

    def __init__(self, backend: str, url: URL, *, prepare: bool = True) -> None:
        self.backend = backend
        self._prepare = prepare
        self._mark = "?" if backend == "sqlite" else "%s"
        if backend == "sqlite":
            self._connection: Any = sqlite3.connect(str(url.database), isolation_level=None)
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=FULL")  # as durable as ours
            self._cursor: Any = self._connection.cursor()
        elif backend == "postgresql":
            import psycopg

            args = driver_args(url)
            args["dbname"] = args.pop("database")
            self._connection = psycopg.connect(**args, autocommit=True)
            self._cursor = self._connection.cursor()
        else:
            import pymysql

            self._connection = pymysql.connect(**driver_args(url), autocommit=True)
            self._cursor = self._connection.cursor()

    def sql(self, text: str) -> str:
        """``text`` with ``?`` placeholders in this driver's paramstyle."""
        return text.replace("?", self._mark)

    def execute(self, statement: str, params: Sequence[Any] = ()) -> Any:
        if self.backend == "postgresql":
            return self._cursor.execute(statement, params, prepare=self._prepare)
        return self._cursor.execute(statement, params)

    def one(self, statement: str, params: Sequence[Any]) -> Any:
        self.execute(statement, params)
        return self._cursor.fetchone()

    def all(self, statement: str) -> list[Any]:
        self.execute(statement)
        return list(self._cursor.fetchall())

    def transaction(self, steps: Callable[[], None]) -> None:
        """Run ``steps`` in one committed write transaction (SQLite: ``BEGIN IMMEDIATE``, as ours)."""
        self._cursor.execute("BEGIN IMMEDIATE" if self.backend == "sqlite" else "BEGIN")
        try:
            steps()
        except BaseException:
            self._cursor.execute("ROLLBACK")
            raise
        self._cursor.execute("COMMIT")

    def remove_inserted(self) -> None:
        self.execute(
            self.sql("DELETE FROM oauthtoken WHERE user_name LIKE ?"), [f"{NEW_USER_PREFIX}%"]
        )

    def close(self) -> None:
        self._connection.close()


def raw(backend: str, url: URL, rows: Sequence[Row], *, prepare: bool = True) -> Target:
    """The practical floor: the same statements as ours on one held connection, rows as tuples."""
    rng = random.Random(1)
    db = RawConnection(backend, url, prepare=prepare)
    columns = ", ".join(COLUMNS)
    by_id = db.sql(f"SELECT {columns} FROM oauthtoken WHERE id = ?")
    by_user = db.sql(f"SELECT {columns} FROM oauthtoken WHERE user_name = ? LIMIT 1")
    by_refresh = db.sql(f"SELECT {columns} FROM oauthtoken WHERE refresh_token = ? LIMIT 1")
    update = db.sql(
        f"UPDATE oauthtoken SET {', '.join(c + ' = ?' for c in COLUMNS[1:])} WHERE id = ?"
    )
    insert = db.sql(f"INSERT INTO oauthtoken ({columns}) VALUES ({', '.join('?' * len(COLUMNS))})")
    everything = f"SELECT {columns} FROM oauthtoken ORDER BY id"
    next_id = itertools.count()

    def pick(k: int) -> list[Row]:
        return [rows[rng.randrange(len(rows))] for _ in range(k)]

    def save_update(values: dict[str, str]) -> None:
        def steps() -> None:
            db.one(by_id, [values["id"]])
            db.execute(update, [*(values[c] for c in COLUMNS[1:]), values["id"]])

        db.transaction(steps)

    def save_insert(values: dict[str, str | None]) -> None:
        def steps() -> None:
            db.one(by_user, [values["user_name"]])
            db.execute(insert, [f"raw{next(next_id):029x}", *(values[c] for c in COLUMNS[1:])])

        db.transaction(steps)

    operations = {
        BY_ID: Operation(lambda k: [[row[0]] for row in pick(k)], lambda p: db.one(by_id, p)),
        BY_USER: Operation(lambda k: [[row[1]] for row in pick(k)], lambda p: db.one(by_user, p)),
        BY_REFRESH: Operation(
            lambda k: [[row[4]] for row in pick(k)], lambda p: db.one(by_refresh, p)
        ),
        SAVE_UPDATE: Operation(lambda k: [refreshed(row) for row in pick(k)], save_update),
        SAVE_INSERT: Operation(lambda k: [new_user() for _ in range(k)], save_insert),
        GET_TOKENS: Operation(lambda k: [None] * k, lambda _: db.all(everything)),
    }
    name = "raw driver" if prepare else "raw driver, unprepared"
    return Target(backend, name, len(rows), operations, db.remove_inserted, db.close)


def file_store(path: Path, rows: Sequence[Row]) -> Target:
    """The SDK's ``FileStore`` on a CSV already holding ``rows``."""
    from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore

    store = FileStore(str(path))

    def remove_inserted() -> None:
        with path.open(newline="") as handle:
            kept = [r for r in csv.reader(handle) if r and not r[1].startswith(NEW_USER_PREFIX)]
        with path.open("w", newline="") as handle:
            csv.writer(handle).writerows(kept)

    operations = sdk_operations(store, rows, random.Random(1))
    return Target("CSV file", "SDK FileStore", len(rows), operations, remove_inserted)


def db_store(url: URL, rows: Sequence[Row]) -> Target:
    """The SDK's ``DBStore`` (mysql-connector, a new connection per call) on its documented table."""
    from zohocrmsdk.src.com.zoho.api.authenticator.store.db_store import DBStore

    args = driver_args(url)
    store = DBStore(
        host=args["host"],
        database_name=args["database"],
        user_name=args["user"],
        password=args["password"],
        port_number=str(args["port"] or 3306),
    )
    cleaner = RawConnection("mysql", url)
    operations = sdk_operations(store, rows, random.Random(1))
    return Target(
        "mysql", "SDK DBStore", len(rows), operations, cleaner.remove_inserted, cleaner.close
    )


class BlogSample:
    """The Kaizen blog's custom SQLite store as published, for its lookups: a new ``sqlite3``
    connection per call and SQL built by string concatenation (injectable: a baseline, never shipped)."""

    def __init__(self, path: str) -> None:
        self.db_name = path

    def find_token(self, token: OAuthToken) -> OAuthToken | None:
        connection = sqlite3.connect(self.db_name)
        cursor = connection.cursor()
        try:
            query = "select * from oauthtoken"
            signature = token.get_user_signature()
            if signature is not None and signature.get_name():
                query = query + " where user_name='" + signature.get_name() + "'"
            elif token.get_grant_token():
                query = query + " where grant_token='" + token.get_grant_token() + "'"
            elif token.get_refresh_token():
                query = query + " where refresh_token='" + token.get_refresh_token() + "'"
            query = query + " limit 1"
            cursor.execute(query)
            result = cursor.fetchone()
            if result is None:
                return None
            _merge(token, result)
            return token
        finally:
            cursor.close()
            connection.close()

    def find_token_by_id(self, id: str) -> OAuthToken:  # noqa: A002  # the SDK's parameter name
        connection = sqlite3.connect(self.db_name)
        cursor = connection.cursor()
        try:
            cursor.execute("select * from oauthtoken where id='" + id + "'")
            token: OAuthToken = object.__new__(OAuthToken)
            _set_oauth_token(token)
            for result in cursor.fetchall():
                _merge(token, result)
            return token
        finally:
            cursor.close()
            connection.close()


def _merge(token: OAuthToken, row: Any) -> None:
    from zohocrmsdk.src.com.zoho.api.authenticator.store.db_store import DBStore

    DBStore.set_merge_data(token, row)


def _set_oauth_token(token: OAuthToken) -> None:
    from zohocrmsdk.src.com.zoho.api.authenticator.store.db_store import DBStore

    DBStore.set_oauth_token(token)


def blog_sample(url: URL, rows: Sequence[Row]) -> Target:
    """The blog's SQLite store on the same file as ours (its lookups only: the targets are set on them)."""
    store = BlogSample(str(url.database))
    rng = random.Random(1)

    def pick(k: int) -> list[Row]:
        return [rows[rng.randrange(len(rows))] for _ in range(k)]

    lookups = {
        BY_ID: Operation(lambda k: [row[0] for row in pick(k)], store.find_token_by_id),
        BY_USER: Operation(
            lambda k: [OAuthToken(user_signature=UserSignature(row[1])) for row in pick(k)],
            store.find_token,
        ),
        BY_REFRESH: Operation(
            lambda k: [
                OAuthToken(client_id=r[2], client_secret=r[3], refresh_token=r[4]) for r in pick(k)
            ],
            store.find_token,
        ),
    }
    return Target("sqlite", "Kaizen blog sample", len(rows), lookups, lambda: None)
