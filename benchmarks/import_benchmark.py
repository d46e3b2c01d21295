"""Benchmark: ``zoho-tokenstore import`` of a FileStore file with 100,000 users into SQLite.

Writes the file as the SDK's FileStore does (its header, ``csv`` quoting, ``\\r\\n``), imports it
into a fresh SQLite database through the CLI, then imports it again (which must change nothing),
and prints the wall time of each. Usage: ``python benchmarks/import_benchmark.py [ROWS]``.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import sys
import tempfile
import time
from pathlib import Path

from zoho_tokenstore import upgrade
from zoho_tokenstore.cli import main
from zoho_tokenstore.importing.filestore import FILESTORE_HEADER


def write_filestore(path: Path, rows: int) -> None:
    """``rows`` users, each with the values the SDK saves after a first login."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FILESTORE_HEADER)
        for n in range(1, rows + 1):
            hex_part = f"{n:032x}"
            writer.writerow(
                [
                    str(n),
                    f"user{n}@example.com:{60000000 + n}",
                    "1000.BENCHCLIENTID0123456789ABCDEF",
                    "0123456789abcdef0123456789abcdef0123456789",
                    f"1000.{hex_part}.refresh{n}",
                    f"1000.{hex_part}.access{n}",
                    f"1000.{hex_part}.grant{n}",
                    "1795724181989",
                    "https://example.com/callback",
                    "https://www.zohoapis.com",
                ]
            )


def timed_import(url: str, path: Path) -> tuple[float, float, int, str]:
    """Wall and CPU seconds, exit status and the last line of output of one ``import`` run.

    CPU time of this process is given too: on a shared machine the wall time mostly measures the load.
    """
    out = io.StringIO()
    start, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        status = main(["import", "--url", url, "--from-filestore", str(path)])
    wall, cpu = time.perf_counter() - start, time.process_time() - cpu
    return wall, cpu, status, out.getvalue().strip().splitlines()[-1]


def run(rows: int) -> None:
    """Print the timing of a first import and of a re-run."""
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sdk_tokens.csv"
        write_filestore(path, rows)
        url = f"sqlite:///{Path(directory) / 'tokens.db'}"
        upgrade(url)
        print(f"{rows:,} rows, FileStore -> SQLite, load average {os.getloadavg()[0]:.1f}")
        for name in ("first import", "re-run"):
            wall, cpu, status, last = timed_import(url, path)
            print(f"  {name}: {wall:.1f} s wall, {cpu:.1f} s CPU (exit {status}): {last}")


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
