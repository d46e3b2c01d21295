"""Throwaway databases and bulk-seeded token rows for the benchmark (never through ``save_token``).

Like ``tests/databases.py``, every run creates its own uniquely named databases on the shared
servers and drops them afterwards; nothing else on the servers is read or changed. Server addresses
come from the same variables as the test suite's.
"""

from __future__ import annotations

import csv
import random
import sqlite3
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import URL

from zoho_tokenstore.core.model import COLUMN_NAMES

# The throwaway-database helpers are the test suite's (tests/databases.py), shared, not copied.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import databases as _test_databases
from token_factory import valid_expiry

SERVER_URLS: Final = _test_databases.SERVER_URLS
server_problem = _test_databases.server_problem

#: The table's columns in order, as the raw baselines and the CSV write them.
COLUMNS: Final = COLUMN_NAMES

#: The SDK's DBStore table exactly as Zoho documents it: no index but the primary key.
DBSTORE_TABLE_SQL: Final = (
    "CREATE TABLE oauthtoken (id varchar(255) primary key, user_name varchar(255), "
    "client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), "
    "access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), "
    "redirect_url varchar(255), api_domain varchar(255))"
)

Row = tuple[str, ...]


def fake_row(n: int, token_id: str, rng: random.Random) -> Row:
    """Row ``n``: a token shaped like the SDK's (``email:zgid`` user, ``1000.<hex>.<hex>`` tokens)."""
    hex_part = f"{rng.getrandbits(128):032x}"
    return (
        token_id,
        f"user{n}@example.com:{60000000 + n}",
        "1000.BENCHCLIENTID0123456789ABCDEF",
        "0123456789abcdef0123456789abcdef0123456789",
        f"1000.{hex_part}.refresh{n}",
        f"1000.{hex_part}.access{n}",
        f"1000.{hex_part}.grant{n}",
        valid_expiry(),
        "https://example.com/callback",
        "https://www.zohoapis.com",
    )


def fake_rows(count: int, id_style: str, seed: int = 4) -> list[Row]:
    """``count`` rows; ids are random hex like ours (``hex``), or what the SDK stores can read.

    ``numeric``: ``1..count``, as FileStore's ``max(int(id))+1`` needs. ``padded``: zero-padded
    numbers, so DBStore's ``max(id)+1`` on a varchar column still finds a free id when inserting.
    """
    rng = random.Random(seed)

    def make_id(n: int) -> str:
        if id_style == "hex":
            return f"{rng.getrandbits(128):032x}"
        return str(n + 1) if id_style == "numeric" else f"{n + 1:09d}"

    return [fake_row(n, make_id(n), rng) for n in range(count)]


@contextmanager
def throwaway_database(backend: str, directory: Path) -> Iterator[URL]:
    """The test suite's throwaway database, named so a leftover is recognisable as the benchmark's."""
    with _test_databases.throwaway_database(backend, directory, prefix="zts_bench") as url:
        yield url


def driver_args(url: URL) -> dict[str, Any]:
    """Connection arguments for the raw drivers, from a SQLAlchemy URL."""
    return {
        "host": url.host or "127.0.0.1",
        "port": url.port,
        "user": url.username,
        "password": url.password or "",
        "database": url.database,
    }


def seed(backend: str, url: URL, rows: Sequence[Row], *, table: str = "oauthtoken") -> None:
    """Bulk-insert ``rows`` in one transaction (COPY on PostgreSQL), then refresh the statistics."""
    if backend == "sqlite":
        connection = sqlite3.connect(str(url.database))
        with connection:
            connection.executemany(
                f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * 10)})", rows
            )
        connection.execute("ANALYZE")
        connection.close()
    elif backend == "postgresql":
        import psycopg

        args = driver_args(url)
        args["dbname"] = args.pop("database")
        with psycopg.connect(**args) as pg:
            with pg.cursor() as cursor:
                copy_sql = f"COPY {table} ({', '.join(COLUMNS)}) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
            pg.commit()
            pg.autocommit = True
            pg.execute(f"ANALYZE {table}")
    else:
        import pymysql

        connection = pymysql.connect(**driver_args(url))
        try:
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {table} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * 10)})",
                    rows,
                )
                connection.commit()
                cursor.execute(f"ANALYZE TABLE {table}")
                cursor.fetchall()
        finally:
            connection.close()


def create_dbstore_table(url: URL) -> None:
    """The DBStore table in a throwaway MariaDB database (see ``DBSTORE_TABLE_SQL``)."""
    import pymysql

    connection = pymysql.connect(**driver_args(url))
    try:
        with connection.cursor() as cursor:
            cursor.execute(DBSTORE_TABLE_SQL)
    finally:
        connection.close()


def write_csv(path: Path, rows: Sequence[Row]) -> None:
    """A FileStore CSV: its own header line (``redirect_uri``), then the rows."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*COLUMNS[:8], "redirect_uri", "api_domain"])
        writer.writerows(rows)


def query_plans(backend: str, url: URL, row: Row) -> str:
    """How the database runs each lookup for ``row``: proof that none of them scans the table."""
    mark = "?" if backend == "sqlite" else "%s"
    explain = "EXPLAIN QUERY PLAN" if backend == "sqlite" else "EXPLAIN"
    plans = []
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            for column, value in (("id", row[0]), ("user_name", row[1]), ("refresh_token", row[4])):
                sql = f"{explain} SELECT * FROM oauthtoken WHERE {column} = {mark} LIMIT 1"
                result = connection.exec_driver_sql(sql, (value,)).all()
                if backend == "sqlite":
                    plan = "; ".join(str(r[-1]) for r in result)
                elif backend == "postgresql":
                    plan = next((str(r[0]).strip(" ->") for r in result if "Scan" in r[0]), "?")
                    plan = plan.split("  (")[0]
                else:
                    plan = f"type={result[0][3]}, key={result[0][5]}"
                plans.append(f"by {column}: {plan}")
    finally:
        engine.dispose()
    return f"{backend}: " + "; ".join(plans)
