"""Each exit status the CLI documents (``EXIT_STATUSES``, rendered into ``--help`` and listed in
docs/cli.md) is what a real command ends with, on every backend: a new status needs a command here."""

from __future__ import annotations

import csv
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from databases import url_arg
from token_factory import FIELDS, fields_of, full_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main
from zoho_tokenstore.cli.common import (
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_OUTPUT_CLOSED,
    EXIT_STATUS_HELP,
    EXIT_STATUSES,
    EXIT_USAGE,
)
from zoho_tokenstore.importing.filestore import FILESTORE_HEADER

SUBPROCESS_TIMEOUT_S = 60
#: How long the command gets to end after a SIGINT before it is sent another one (see below).
INTERRUPT_GRACE_S = 10
#: Rows stored for the closed-pipe case: their listing (~250 KB) is far more than a pipe buffers.
MANY_ROWS = 1000
#: The user of the one stored token: ``delete --user`` finds it and asks before deleting it.
STORED_USER = "user1@example.com:60001"

Outcome = tuple[int, str, str]


def _half_written_filestore(directory: Path) -> Path:
    """A FileStore file (as the SDK's ``csv`` writes it) whose second row was cut off: it is skipped."""
    path = directory / "sdk_tokens.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(FILESTORE_HEADER)
        writer.writerow([fields_of(full_token(2, id="2")).get(column) for column in FIELDS])
        handle.write("3,user3@example.com:60003,1000.CLIENT3,secret,1000.refr")
    return path


def _interrupted_at_the_prompt(argv: list[str]) -> Outcome:
    """The installed command, asking on a pseudo-terminal, gets Ctrl-C's SIGINT at its question."""
    command = shutil.which("zoho-tokenstore", path=os.path.dirname(sys.executable))
    assert command is not None
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [command, *argv], stdin=terminal, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        shown = b""
        deadline = time.monotonic() + SUBPROCESS_TIMEOUT_S
        while b"[y/N]" not in shown:
            ready, _, _ = select.select([process.stdout], [], [], deadline - time.monotonic())
            assert ready, f"no question within {SUBPROCESS_TIMEOUT_S} s: {shown!r}"
            chunk = os.read(process.stdout.fileno(), 4096)
            assert chunk, f"it ended without asking: {shown!r}"
            shown += chunk
        # A SIGINT between the prompt's flush and the read it blocks in is only noticed once the
        # read returns (a person's Ctrl-C comes later): if it does not end, interrupt that read too.
        time.sleep(0.2)
        for _ in range(SUBPROCESS_TIMEOUT_S // INTERRUPT_GRACE_S):
            process.send_signal(signal.SIGINT)
            try:
                out, err = process.communicate(timeout=INTERRUPT_GRACE_S)
                break
            except subprocess.TimeoutExpired:
                continue
        else:
            raise AssertionError(f"still running {SUBPROCESS_TIMEOUT_S} s after Ctrl-C")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)
        os.close(terminal)
    return process.returncode, (shown + out).decode(), err.decode()


def _output_closed_early(argv: list[str]) -> Outcome:
    """The installed command writing into a pipe whose reader takes one line and closes it."""
    command = shutil.which("zoho-tokenstore", path=os.path.dirname(sys.executable))
    assert command is not None
    process = subprocess.Popen([command, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None and process.stderr is not None
        first = process.stdout.readline()
        process.stdout.close()
        err = process.stderr.read()
        process.wait(timeout=SUBPROCESS_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, first.decode(), err.decode()


def _in_process(argv: list[str], capsys: pytest.CaptureFixture[str]) -> Outcome:
    status = main(argv)
    captured = capsys.readouterr()
    return status, captured.out, captured.err


#: For each documented status, the real command that ends with it: (database URL, a folder) -> argv.
PRODUCERS: dict[int, Callable[[str, Path], list[str]]] = {
    EXIT_OK: lambda url, _: ["current", "--url", url],
    EXIT_FAILED: lambda url, _: ["delete", "--url", url, "--id", "no-such-id", "--yes"],
    EXIT_USAGE: lambda url, _: ["upgrade", "--url", url, "--revision", "nosuch"],  # Alembic's
    EXIT_INCOMPLETE: lambda url, folder: [
        "import",
        "--url",
        url,
        "--from-filestore",
        str(_half_written_filestore(folder)),
    ],
    EXIT_INTERRUPTED: lambda url, _: ["delete", "--url", url, "--user", STORED_USER],
    EXIT_OUTPUT_CLOSED: lambda url, _: ["tokens", "--url", url],
}


@pytest.mark.sqlite
def test_every_documented_status_has_a_command_that_ends_with_it() -> None:
    assert sorted(PRODUCERS) == sorted(status for status, _ in EXIT_STATUSES)
    for status, _ in EXIT_STATUSES:
        assert f"\n  {status:<4} " in EXIT_STATUS_HELP


@pytest.mark.parametrize(
    ("status", "meaning"), EXIT_STATUSES, ids=[str(status) for status, _ in EXIT_STATUSES]
)
def test_a_real_command_ends_with_each_documented_status(
    status: int,
    meaning: str,
    db_url: URL,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = url_arg(db_url)
    with SQLAlchemyTokenStore(url) as store:
        store.save_token(full_token(1))
        if status == EXIT_OUTPUT_CLOSED:
            for n in range(2, MANY_ROWS + 1):
                store.save_token(full_token(n))
    argv = PRODUCERS[status](url, tmp_path)
    if status == EXIT_INTERRUPTED:
        result, out, err = _interrupted_at_the_prompt(argv)
    elif status == EXIT_OUTPUT_CLOSED:
        result, out, err = _output_closed_early(argv)
    else:
        result, out, err = _in_process(argv, capsys)
    assert result == status, (argv, meaning, out, err)
    assert "Traceback" not in out + err
    if status == EXIT_OK:
        assert err == ""
    elif status == EXIT_OUTPUT_CLOSED:  # no "error: BrokenPipeError", no "Exception ignored"
        assert err == ""
        assert out.startswith(f"{MANY_ROWS} stored token(s) in ")
    elif status == EXIT_INCOMPLETE:  # a report with skipped rows, not a failure
        assert "error" not in err
        assert err == "Not every row was imported (see Skipped/Refused above): exit status 3.\n"
        assert "line 3: half-written" in out
        with SQLAlchemyTokenStore(url) as store:
            assert len(store.get_tokens()) == 2  # the readable row was imported
    else:
        assert err.startswith("error: ") and err.count("\n") == 1, err
    if status == EXIT_INTERRUPTED:
        assert err == "error: interrupted\n"
        with SQLAlchemyTokenStore(url) as store:
            assert len(store.get_tokens()) == 1  # nothing was deleted
