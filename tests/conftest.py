"""Fixtures shared by every test: one backend-parametrized database, a store on it, SQL counting.

Every database test runs on SQLite, PostgreSQL and MariaDB. A server that does not answer skips
its tests locally, but fails them when ``CI`` is set: CI must never pass by testing less.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

from backends import backend_params, require_backend, server_of, server_params
from databases import throwaway_database
from direct_db import read_rows
from pgbouncer import direct_url
from statement_log import StatementLog
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.core.model import OAuthTokenRow

# Fixtures for the stand-in Zoho server and a guarded SDK (see standin_fixtures.py).
# The private PgBouncer behind the opt-in "pgbouncer" backend (see pgbouncer_fixtures.py).
pytest_plugins = ["standin_fixtures", "pgbouncer_fixtures"]


@pytest.fixture(params=backend_params())
def backend(request: pytest.FixtureRequest) -> str:
    """The backend name; every test using it runs once per backend."""
    name: str = request.param
    require_backend(name)
    return name


@pytest.fixture(params=server_params())
def server_backend(request: pytest.FixtureRequest) -> str:
    """Like ``backend``, for behaviour that only a database server has."""
    name: str = request.param
    require_backend(name)
    return name


@pytest.fixture(scope="session")
def migrated_server_database(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[object]:
    """A factory: the session's migrated database on a server backend, created on first use."""
    contexts: dict[str, object] = {}
    urls: dict[str, URL] = {}

    def get(backend: str) -> URL:
        if backend == "pgbouncer":  # the PostgreSQL database, through PgBouncer
            return request.getfixturevalue("pgbouncer").url_for(get("postgresql"))  # type: ignore[no-any-return]
        if backend not in urls:
            context = throwaway_database(backend, tmp_path_factory.mktemp("unused"))
            urls[backend] = context.__enter__()
            contexts[backend] = context
            upgrade(urls[backend])
        return urls[backend]

    yield get
    for context in contexts.values():
        context.__exit__(None, None, None)  # type: ignore[attr-defined]


@pytest.fixture(scope="session")
def migrated_sqlite_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per session (per xdist worker), closed: tests get copies."""
    with throwaway_database("sqlite", tmp_path_factory.mktemp("migrated")) as url:
        upgrade(url)
        assert url.database is not None
        return Path(url.database)


@pytest.fixture
def db_url(
    backend: str, tmp_path: Path, migrated_server_database: object, migrated_sqlite_file: Path
) -> Iterator[URL]:
    """A migrated database with an empty token table, on the current backend."""
    if backend == "sqlite":  # a copy of the session's migrated file: no migration run per test
        with throwaway_database("sqlite", tmp_path) as url:
            assert url.database is not None
            shutil.copy(migrated_sqlite_file, url.database)  # with its mode: 0600, as created
            yield url
        return
    url = migrated_server_database(backend)  # type: ignore[operator]
    _empty_table(url)
    yield url
    _empty_table(url)


@pytest.fixture
def empty_db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[URL]:
    """A brand-new database with no tables at all, on the current backend."""
    with throwaway_database(server_of(backend), tmp_path) as url:
        if backend == "pgbouncer":
            url = request.getfixturevalue("pgbouncer").url_for(url)
        yield url


@pytest.fixture
def store(db_url: URL) -> Iterator[SQLAlchemyTokenStore]:
    """A store on the migrated database, closed after the test."""
    with SQLAlchemyTokenStore(db_url) as token_store:
        yield token_store


@pytest.fixture
def rows(db_url: URL) -> Callable[[], list[dict[str, object]]]:
    """Reads the token table directly (not through the store), as a list of dicts ordered by id."""
    return lambda: read_rows(db_url)


@pytest.fixture
def statements(store: SQLAlchemyTokenStore) -> Iterator[StatementLog]:
    """Records every statement the store's engine runs while ``log.recording`` is True.

    Through SQLAlchemy's own ``before_cursor_execute`` event, on every backend: the store runs every
    statement through SQLAlchemy's execution, as tracing integrations (OpenTelemetry, Sentry) see it.
    """
    log = StatementLog()
    sa.event.listen(store.engine, "before_cursor_execute", log.record)
    yield log
    sa.event.remove(store.engine, "before_cursor_execute", log.record)


def _empty_table(url: URL) -> None:
    engine = sa.create_engine(direct_url(url))
    with engine.begin() as connection:
        connection.execute(sa.delete(OAuthTokenRow.__table__))
    engine.dispose()
