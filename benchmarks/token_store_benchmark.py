"""Benchmark: SQLAlchemyTokenStore vs a raw driver, the SDK's FileStore and DBStore, at 1k-100k rows.

Run ``python benchmarks/token_store_benchmark.py`` (or ``make benchmark``); ``--help`` lists the
options. Databases are throwaway ones created and dropped by the run (see ``bench_data``); timing
and interleaving are described in ``bench_timing``. Prints a markdown report; ``--output`` saves it.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import os
import platform
import sqlite3
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL

import bench_data
from bench_report import Report, size_label
from bench_round_trips import RoundTrips, count_round_trips
from bench_targets import (
    GET_TOKENS,
    OPERATIONS,
    Target,
    blog_sample,
    db_store,
    file_store,
    ours,
    raw,
    session_lookups,
    sqlalchemy_floor,
)
from bench_timing import Cell, calibrate, measure
from zoho_tokenstore import upgrade

BACKENDS = ("sqlite", "postgresql", "mysql")
DEFAULTS = {
    "rows": "1000,10000,100000",
    "repetitions": 1000,
    "blocks": 5,
    "budget": 0.8,
    "minimum": 5,
}
#: get_tokens builds every token (about a second per call at 100k rows): it gets fewer samples.
GET_TOKENS_MINIMUM = 3
#: A smoke run: every cell measured a few times, to prove the report, not to compare.
QUICK = {"rows": "100,1000", "repetitions": 3, "blocks": 1, "budget": 0.01, "minimum": 1}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", help=f"comma-separated table sizes (default {DEFAULTS['rows']})")
    parser.add_argument(
        "--repetitions",
        type=int,
        help="most samples per cell; expensive cells get fewer, see --cell-seconds (default 1000)",
    )
    parser.add_argument(
        "--backends", default=",".join(BACKENDS), help="subset of sqlite,postgresql,mysql"
    )
    parser.add_argument("--quick", action="store_true", help="tiny sizes and counts: a smoke run")
    parser.add_argument("--output", type=Path, help="also write the markdown report to this file")
    parser.add_argument("--blocks", type=int, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--cell-seconds", type=float, dest="budget", help="time budget per cell (default 0.8)"
    )
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else DEFAULTS
    for name, value in preset.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    args.sizes = sorted({int(n) for n in str(args.rows).split(",")})
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backend_list) - set(BACKENDS)
    if unknown or not args.backend_list:
        parser.error(f"--backends must be a subset of {','.join(BACKENDS)}")
    return args


def server_settings(backend: str, url: URL) -> str:
    """The server's version and durability settings, read (never changed)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            if backend == "postgresql":
                version = connection.exec_driver_sql("SHOW server_version").scalar()
                commit = connection.exec_driver_sql("SHOW synchronous_commit").scalar()
                fsync = connection.exec_driver_sql("SHOW fsync").scalar()
                return (
                    f"PostgreSQL {version}: synchronous_commit={commit}, fsync={fsync} "
                    "(read, not changed)"
                )
            row = connection.exec_driver_sql(
                "SELECT @@version, @@innodb_flush_log_at_trx_commit, @@sync_binlog, @@log_bin"
            ).one()
            return (
                f"MariaDB/MySQL {row[0]}: innodb_flush_log_at_trx_commit={row[1]}, "
                f"sync_binlog={row[2]}, log_bin={row[3]} (read, not changed)"
            )
    finally:
        engine.dispose()


def build_targets(
    stack: ExitStack,
    backends: Sequence[str],
    sizes: Sequence[int],
    workdir: Path,
    round_trips: RoundTrips,
) -> tuple[list[Target], list[str]]:
    """Create, migrate and seed every database, and the stores on them; returns settings lines.

    Also counts, into ``round_trips``, each server store's round trips per call at the first size.
    """
    targets: list[Target] = []
    settings: list[str] = []
    plans: list[str] = []
    for rows in sizes:
        ours_rows = bench_data.fake_rows(rows, "hex")
        for backend in backends:
            url = stack.enter_context(bench_data.throwaway_database(backend, workdir))
            upgrade(url)
            bench_data.seed(backend, url, ours_rows)
            if backend != "sqlite" and rows == sizes[0]:
                settings.append(server_settings(backend, url))
            if rows == sizes[-1]:
                plans.append(bench_data.query_plans(backend, url, ours_rows[len(ours_rows) // 2]))
            if backend != "sqlite" and rows == sizes[0]:
                for make in (ours, raw):
                    round_trips.update(count_round_trips(backend, url, ours_rows, make))
            for target in (
                ours(backend, url, ours_rows),
                raw(backend, url, ours_rows),
                sqlalchemy_floor(backend, url, ours_rows),
                sqlalchemy_floor(backend, url, ours_rows, store_settings=False),
                session_lookups(backend, url, ours_rows),
            ):
                targets.append(target)
                stack.callback(target.close)
            if backend == "postgresql":  # the store's own setting: no prepared statements
                unprepared = raw(backend, url, ours_rows, prepare=False)
                targets.append(unprepared)
                stack.callback(unprepared.close)
            if backend == "sqlite":
                relaxed = ours(backend, url, ours_rows, synchronous="NORMAL")
                targets.append(relaxed)
                stack.callback(relaxed.close)
                targets.append(blog_sample(url, ours_rows))
            if backend == "mysql":
                dbstore_url = stack.enter_context(bench_data.throwaway_database("mysql", workdir))
                bench_data.create_dbstore_table(dbstore_url)
                dbstore_rows = bench_data.fake_rows(rows, "padded")
                bench_data.seed("mysql", dbstore_url, dbstore_rows)
                if rows == sizes[0]:
                    round_trips.update(
                        count_round_trips(
                            "mysql", dbstore_url, dbstore_rows, lambda _, u, r: db_store(u, r)
                        )
                    )
                target = db_store(dbstore_url, dbstore_rows)
                targets.append(target)
                stack.callback(target.close)
        csv_rows = bench_data.fake_rows(rows, "numeric")
        csv_path = workdir / f"file-store-{rows}.csv"
        bench_data.write_csv(csv_path, csv_rows)
        targets.append(file_store(csv_path, csv_rows))
        _log(f"seeded {size_label(rows)} rows on {', '.join(backends)} and the CSV file")
    settings.append(f"query plans of ours at {size_label(sizes[-1])} rows: " + " | ".join(plans))
    return targets, settings


def header(
    args: argparse.Namespace, settings: Sequence[str], elapsed_s: float, load: tuple[float, ...]
) -> list[str]:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    command = "python benchmarks/token_store_benchmark.py " + " ".join(sys.argv[1:])
    return [
        "# zoho_tokenstore benchmark",
        "",
        f"- run: {now}, {elapsed_s:.0f} s; machine: {os.cpu_count()} cores, {platform.platform()}, "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average "
        f"(1 min) {load[0]:.1f} at the start, {os.getloadavg()[0]:.1f} at the end: the machine and "
        "its database servers are shared, so absolute numbers carry other processes' noise",
        f"- command: `{command.strip()}`",
        f"- samples per cell: up to {args.repetitions}, fewer where a call is slow (time budget "
        f"{args.budget} s per cell, at least {args.minimum}, get_tokens at least "
        f"{min(args.minimum, GET_TOKENS_MINIMUM)}); taken in {args.blocks} interleaved, "
        "rotated rounds. The number of samples is shown in parentheses: a p95 of few samples is "
        "close to their maximum.",
        "- SQLite: WAL journal and synchronous=FULL for ours and the raw driver; "
        "`ours, synchronous=NORMAL` is the same store with NORMAL, to show what FULL costs.",
        *[f"- {line}" for line in settings],
        "- raw driver: one held connection, the same statements as ours (sqlite3, psycopg with "
        "`prepare=True`, PyMySQL), rows returned as tuples: no SDK `OAuthToken` is built.",
        "- SDK DBStore: its documented table (primary key only), seeded with SQL (its "
        "`max(id)+1` on a varchar id cannot insert past 10 rows), zero-padded ids so its inserts "
        "still find a free id; it opens a new connection per call.",
        "- SDK FileStore: reads (and on save rewrites) the whole CSV per call.",
        "- save_token (insert) rows are deleted after each batch, so tables stay at their size.",
        "",
    ]


_STARTED = time.perf_counter()


def _log(message: str) -> None:
    """Progress on stderr, so stdout stays the report."""
    print(f"[{time.perf_counter() - _STARTED:6.1f} s] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    problems = [p for b in args.backend_list if (p := bench_data.server_problem(b))]
    if problems:
        print("; ".join(problems) + " (choose others with --backends)", file=sys.stderr)
        return 2
    started = time.perf_counter()
    load = os.getloadavg()
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="zts-bench-")))
        round_trips: RoundTrips = {}
        targets, settings = build_targets(
            stack, args.backend_list, args.sizes, workdir, round_trips
        )
        cells = [Cell(t, op) for t in targets for op in OPERATIONS if op in t.operations]
        if args.quick:  # a smoke run: the gc.collect before each batch skips the libraries' objects
            gc.freeze()
        for cell in cells:
            calibrate(
                cell,
                budget_s=args.budget,
                minimum=min(args.minimum, GET_TOKENS_MINIMUM)
                if cell.operation == GET_TOKENS
                else args.minimum,
                repetitions=args.repetitions,
            )
        _log(f"warmed up {len(cells)} cells; measuring")
        measure(cells, blocks=args.blocks, progress=_log)
    report = Report(cells, args.sizes, round_trips)
    text = "\n".join(
        [
            *header(args, settings, time.perf_counter() - started, load),
            *report.render(args.backend_list),
        ]
    )
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
