"""Throwaway databases on the three backends, so test runs never share state.

Each server test run creates its own uniquely named database and drops it afterwards, so parallel
runs (or a developer's run beside CI) cannot interfere. Server addresses can be overridden with
``ZOHO_TOKENSTORE_TEST_PG_URL`` and ``ZOHO_TOKENSTORE_TEST_MYSQL_URL`` (any existing database on
the server; it is only used to create and drop the throwaway ones).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

BACKENDS: Final = ("sqlite", "postgresql", "mysql")

SERVER_URLS: Final = {
    "postgresql": os.environ.get(
        "ZOHO_TOKENSTORE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    ),
    "mysql": os.environ.get(
        "ZOHO_TOKENSTORE_TEST_MYSQL_URL", "mysql+pymysql://root@127.0.0.1:3306/test"
    ),
}


def url_arg(url: URL) -> str:
    """The URL as a command line takes it: the password (if any) in clear text."""
    return url.render_as_string(hide_password=False)


def server_problem(backend: str) -> str | None:
    """Why the server for ``backend`` cannot be used right now, or ``None`` if it answers."""
    if backend == "sqlite":
        return None
    engine = sa.create_engine(SERVER_URLS[backend], connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except Exception as exc:  # noqa: BLE001  # any failure means "not available"
        return f"{backend} server at {make_url(SERVER_URLS[backend]).render_as_string()} unavailable: {type(exc).__name__}"
    finally:
        engine.dispose()
    return None


@contextmanager
def throwaway_database(backend: str, directory: Path, prefix: str = "zts") -> Iterator[URL]:
    """A new, empty database on ``backend`` for the duration of the block, then dropped."""
    if backend == "sqlite":
        yield make_url(f"sqlite:///{directory / f'{prefix}-{uuid.uuid4().hex[:8]}.db'}")
        return
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(SERVER_URLS[backend])
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            if backend == "mysql":
                connection.exec_driver_sql(f"CREATE DATABASE {name} CHARACTER SET utf8mb4")
            else:
                connection.exec_driver_sql(f"CREATE DATABASE {name}")
        yield admin_url.set(database=name)
    finally:
        with admin.connect() as connection:
            if backend == "postgresql":
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            else:
                # A leaked connection must fail the drop after a while, never hang the run.
                connection.exec_driver_sql("SET SESSION lock_wait_timeout = 20")
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()
