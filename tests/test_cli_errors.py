"""Every mistake on the command line is one ``error:`` line with a documented exit status, reads
create nothing, and no output shows a database password, however it is written."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from sqlalchemy.engine import URL, make_url

from backends import SERVER_BACKENDS
from databases import url_arg
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.cli import main
from zoho_tokenstore.cli.common import redact

READ_ONLY_COMMANDS = (["tokens"], ["tokens", "--json"], ["current"], ["doctor"])
#: A password with every character a URL must escape: it reaches the URL percent-encoded.
AWKWARD_PASSWORD = "p@ss w%rd:/?#&=+x"
SUBPROCESS_TIMEOUT_S = 60


def _mistakes(tmp_path: Path) -> list[tuple[list[str], int, str]]:
    """(argv, exit status, what the one line says) for each mistake a user can make."""
    db = f"sqlite:///{tmp_path}/tokens.db"
    missing = f"sqlite:///{tmp_path}/typo.db"
    return [
        (["tokens", "--url", "not a url"], 2, "could not be parsed"),
        (["tokens", "--url", "oracle+nodriver://u:pw@h/db"], 2, "unsupported database URL scheme"),
        (
            ["tokens", "--url", "mysql+mysqldb://u:pw@h/db"],
            2,
            "driver for mysql+mysqldb:// is not installed",
        ),
        (["tokens", "--url", missing], 2, "no SQLite database file at"),
        (["current", "--url", missing], 2, "no SQLite database file at"),
        (["delete", "--url", missing, "--id", "x", "--yes"], 2, "no SQLite database file at"),
        (["purge", "--url", missing], 2, "no SQLite database file at"),
        (["downgrade", "--url", missing, "--revision", "base"], 2, "no SQLite database file at"),
        (["adopt", "--url", missing], 2, "no SQLite database file at"),
        (["import", "--url", db, "--from-table", missing], 2, "no SQLite database file at"),
        (["import", "--url", db, "--from-table", "not a url"], 2, "could not be parsed"),
        (
            ["import", "--url", db, "--from-table", "mysql+mysqldb://u:pw@h/db"],
            2,
            "driver for mysql+mysqldb:// is not installed",
        ),
        (
            ["upgrade", "--url", f"sqlite:///{tmp_path}/no/such/dir.db"],
            2,
            f"no directory for the SQLite file {tmp_path}/no/such/dir.db: create it first "
            f"(mkdir -p {shlex.quote(str(tmp_path / 'no' / 'such'))})",
        ),
        (["tokens", "--url", db, "--table", "Bad-Name"], 2, "not a lower-case identifier"),
        (["upgrade", "--url", db, "--revision", "nosuch"], 2, "Can't locate revision"),
        (
            ["import", "--url", db, "--from-table", "not a url"],
            2,
            "error: the database URL could not be parsed",
        ),
        (
            ["import", "--url", db, "--from-table", "mysql+mysqldb://u:pw@h/db"],
            2,
            "the database driver for mysql+mysqldb:// is not installed",
        ),
        (["tokens", "--url", db, "--bogus"], 2, "unrecognized arguments: --bogus"),
        (["nosuchcommand"], 2, "invalid choice: 'nosuchcommand'"),
        ([], 2, "the following arguments are required: COMMAND"),
        (["delete", "--url", db, "--yes"], 2, "one of the arguments --id --user is required"),
        (["delete", "--url", db, "--id", "a", "--user", "b"], 2, "not allowed with argument"),
        (["downgrade", "--url", db], 2, "the following arguments are required: --revision"),
        (
            ["tokens", "--url", f"sqlite:///{tmp_path}/empty.db"],
            1,
            f"has no zoho_tokenstore schema: run `zoho-tokenstore upgrade --url 'sqlite:///{tmp_path}/empty.db'`",
        ),
        (["delete", "--url", db, "--id", "nope", "--yes"], 1, "no stored token has the id 'nope'"),
        (
            ["delete", "--url", db, "--user", "nobody", "--yes"],
            1,
            "no stored token has user 'nobody'",
        ),
        (
            ["tokens", "--url", "postgresql+psycopg://app:pw@127.0.0.1:1/x"],
            1,
            "nothing is listening at 127.0.0.1:1 (connection refused)",
        ),
    ]


@pytest.fixture
def prepared(tmp_path: Path) -> Path:
    """A migrated SQLite database and an empty (never migrated) one beside it."""
    upgrade(f"sqlite:///{tmp_path}/tokens.db")
    (tmp_path / "empty.db").touch()
    return tmp_path


@pytest.mark.sqlite
def test_each_mistake_is_one_error_line_with_its_exit_status(
    prepared: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sorted(os.listdir(prepared))
    for argv, status, says in _mistakes(prepared):
        assert main(argv) == status, argv
        captured = capsys.readouterr()
        assert captured.out == "", argv
        assert captured.err.count("\n") == 1, (argv, captured.err)
        assert "error: " in captured.err and says in captured.err, (argv, captured.err)
        assert "Traceback" not in captured.err
    assert sorted(os.listdir(prepared)) == before  # no mistake left a file behind


@pytest.mark.parametrize("table", [[], ["--table", "crm_tokens"]])
def test_no_schema_names_the_one_command_a_cli_user_can_run_and_it_fixes_it(
    backend: str, empty_db_url: URL, table: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """Not the constructor's auto_upgrade nor a checkout's alembic: the command, ready to paste."""
    if backend == "sqlite":
        Path(str(empty_db_url.database)).touch()  # an existing file, never migrated
    tokens = ["tokens", "--url", url_arg(empty_db_url), *table]
    assert main(tokens) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "auto_upgrade" not in err and "alembic" not in err
    command = err.split("no zoho_tokenstore schema: run `", 1)[1].removesuffix("`\n")
    assert command == " ".join(["zoho-tokenstore upgrade --url", f"'{empty_db_url}'", *table])
    program, *arguments = shlex.split(command)
    if empty_db_url.password:  # the message masks it; the reader types their own
        arguments[arguments.index("--url") + 1] = url_arg(empty_db_url)
    assert program == "zoho-tokenstore" and main(arguments) == 0
    capsys.readouterr()
    assert main(tokens) == 0


@pytest.mark.sqlite
def test_a_missing_sqlite_directory_names_the_command_that_creates_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message's own ``mkdir -p`` fixes it: after running it, the same upgrade succeeds."""
    url = f"sqlite:///{tmp_path}/dir with space/sub/x.db"
    assert main(["upgrade", "--url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: no directory for the SQLite file ") and "create it first" in err
    fix = err.rsplit("(", 1)[1].rstrip(")\n")
    assert fix.startswith("mkdir -p ")
    subprocess.run(fix, shell=True, check=True, timeout=SUBPROCESS_TIMEOUT_S)
    assert main(["upgrade", "--url", url]) == 0


@pytest.mark.sqlite
def test_import_from_a_table_without_its_driver_says_what_upgrade_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("MySQLdb is installed here: mysql:// has its driver")
    source = "mysql://root@127.0.0.1/test"  # mysql:// means the MySQLdb driver
    assert main(["upgrade", "--url", source]) == 2
    said = capsys.readouterr().err
    assert said.startswith("error: the database driver for mysql:// is not installed")
    assert "mysql+pymysql://" in said and "pip install 'zoho-tokenstore[mysql]'" in said
    target = f"sqlite:///{tmp_path}/tokens.db"
    assert main(["import", "--url", target, "--from-table", source]) == 2
    assert capsys.readouterr().err == said
    assert list(tmp_path.iterdir()) == []  # nothing was created, not even the target


@pytest.mark.sqlite
def test_the_installed_command_prints_no_traceback(prepared: Path) -> None:
    """The console script itself, as a user runs it: one line on stderr, the exit status."""
    command = shutil.which("zoho-tokenstore", path=os.path.dirname(sys.executable))
    assert command is not None
    for argv, status, says in _mistakes(prepared)[:4]:
        result = subprocess.run(
            [command, *argv], capture_output=True, text=True, timeout=SUBPROCESS_TIMEOUT_S
        )
        assert result.returncode == status, argv
        assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr


@pytest.mark.sqlite
def test_only_the_top_level_help_states_the_exit_statuses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from zoho_tokenstore.cli import build_parser

    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "exit status:" in out and "130  interrupted" in out
    commands = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    for name in commands:
        assert main([name, "--help"]) == 0
        out = capsys.readouterr().out
        assert "exit status:" not in out and "130" not in out, name
        assert out.endswith("\nexit statuses: zoho-tokenstore --help\n"), name


@pytest.mark.sqlite
def test_every_command_help_ends_with_an_example_of_that_command(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """One ``example:`` line per command, running that command with options it really takes."""
    from zoho_tokenstore.cli import build_parser

    parser = build_parser()
    commands = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert len(commands) >= 13
    for name in commands:
        assert main([name, "--help"]) == 0
        examples = [
            line.removeprefix("example: ")
            for line in capsys.readouterr().out.splitlines()
            if line.startswith("example: ")
        ]
        assert len(examples) == 1, name
        assert examples[0].startswith(f"zoho-tokenstore {name}"), examples
        argv = shlex.split(examples[0])[1:]
        assert parser.parse_args(argv).command == name, examples  # it parses: no stale option


def _fingerprint(directory: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in directory.iterdir()
        if not p.name.endswith(("-wal", "-shm"))
    }


@pytest.mark.sqlite
def test_reads_never_create_or_change_a_database_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = tmp_path / "typo.db"
    for argv in READ_ONLY_COMMANDS:
        assert main([*argv, "--url", f"sqlite:///{typo}"]) != 0
    assert list(tmp_path.iterdir()) == []

    url = f"sqlite:///{tmp_path}/tokens.db"
    upgrade(url)
    with SQLAlchemyTokenStore(url) as store:
        store.save_token(full_token(1))
    before = _fingerprint(tmp_path)
    for argv in READ_ONLY_COMMANDS:
        assert main([*argv, "--url", url]) == 0, argv
    assert _fingerprint(tmp_path) == before
    capsys.readouterr()


# -- masking ----------------------------------------------------------------------------------


def _password_forms(password: str) -> list[str]:
    return [password, quote(password, safe=""), quote_plus(password)]


@SERVER_BACKENDS
def test_no_output_shows_the_password_in_any_form(
    backend: str, db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    """PostgreSQL here trusts local users, so the commands work; MariaDB refuses the password."""
    url = url_arg(db_url.set(password=AWKWARD_PASSWORD))
    assert "p%40ss" in url  # the URL carries the password percent-encoded
    outputs = []
    for argv in (["upgrade"], *READ_ONLY_COMMANDS, ["purge", "--dry-run"]):
        status = main([*argv, "--url", url])
        assert status == (0 if backend == "postgresql" else 1), argv
        outputs.append("".join(capsys.readouterr()))
    text = "\n".join(outputs)
    assert "***" in text
    for form in _password_forms(AWKWARD_PASSWORD):
        assert form not in text, form


def test_a_short_password_is_masked_without_mangling_the_message(
    server_backend: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = make_url(
        "postgresql+psycopg://app:a@127.0.0.1:1/x"
        if server_backend == "postgresql"
        else "mysql+pymysql://root:a@127.0.0.1:1/x"
    )
    assert main(["tokens", "--url", url_arg(url)]) == 1
    err = capsys.readouterr().err
    assert ":***@127.0.0.1:1/x failed: nothing is listening at 127.0.0.1:1" in err


@pytest.mark.sqlite
@pytest.mark.parametrize("password", ["a", "pw", "s3cret", AWKWARD_PASSWORD])
def test_redact_masks_every_written_form_of_the_password(password: str) -> None:
    url = f"postgresql+psycopg://app:{quote(password, safe='')}@db.example.com/crm"
    forms = set(_password_forms(password))
    text = " | ".join(f"postgresql+psycopg://app:{form}@db.example.com/crm" for form in forms)
    message = f"OperationalError at {text}: connection refused, database unavailable"
    shown = redact(message, url)
    assert shown.count("app:***@db.example.com") == len(forms)
    assert "OperationalError" in shown and "connection refused, database unavailable" in shown
    if len(password) >= 4:
        for form in forms:
            assert form not in redact(f"the driver said {form}.", url)


@pytest.mark.sqlite
@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "could not be parsed"),
        ("oracle+nodriver://u:pw@h/db", "unsupported database URL scheme"),
        ("mysql+mysqldb://u:pw@h/db", "is not installed"),
    ],
)
def test_the_demo_reports_a_bad_url_like_every_command(
    url: str, says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--url", url]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and says in err and err.count("\n") == 1
