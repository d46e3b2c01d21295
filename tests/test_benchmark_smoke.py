"""The benchmark script runs end to end in its quick mode and prints its report (no timing asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from backends import require_backend

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "token_store_benchmark.py"


def run_benchmark(*args: str, output: Path) -> str:
    """Run the script in a subprocess with a bounded time; return its stdout after checking exit 0."""
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--output", str(output), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def assert_report(stdout: str, output: Path, stores: list[str]) -> None:
    assert "| backend | store | operation | 100 rows |" in stdout
    for heading in ("## Latency in µs", "## Ratios (medians)", "## Verdicts"):
        assert heading in stdout
    for store in stores:
        assert f"| {store} | find_token_by_id |" in stdout
    assert output.read_text() == stdout


@pytest.mark.slow
@pytest.mark.sqlite
def test_quick_run_on_sqlite(tmp_path: Path) -> None:
    output = tmp_path / "results.md"
    stdout = run_benchmark("--backends", "sqlite", "--rows", "100", output=output)
    assert_report(stdout, output, ["sqlite | ours", "sqlite | raw driver", "SDK FileStore"])
    assert "sqlite lookups at 100 rows within 6x of the raw driver" in stdout


@pytest.mark.slow
@pytest.mark.postgresql
@pytest.mark.mysql
def test_quick_run_on_the_servers(tmp_path: Path) -> None:
    require_backend("postgresql")
    require_backend("mysql")
    output = tmp_path / "results.md"
    stdout = run_benchmark("--backends", "postgresql,mysql", "--rows", "100", output=output)
    assert_report(
        stdout,
        output,
        ["postgresql | ours", "postgresql | raw driver", "mysql | ours", "SDK DBStore"],
    )
    assert "innodb_flush_log_at_trx_commit=" in stdout
    assert "synchronous_commit=" in stdout
    assert "faster than DBStore on MariaDB" in stdout
    assert "## Network round trips per call" in stdout
    assert "| mysql | ours | 1 | 1 | 1 |" in stdout


def test_unknown_backend_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--backends", "oracle"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--backends must be a subset of sqlite,postgresql,mysql" in result.stderr
