"""A failure to connect names its cause and the fix, alike from the store's constructor and from the
command line (exit 1), on real servers, and never shows the password (docs/engines.md)."""

from __future__ import annotations

import logging
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from backends import require_backend
from databases import SERVER_URLS, url_arg
from pgbouncer import PgBouncer
from store_errors import token_store_error
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main
from zoho_tokenstore.cli.common import EXIT_FAILED
from zoho_tokenstore.cli.operations.maintenance import list_rows
from zoho_tokenstore.database.connect_errors import connect_failure
from zoho_tokenstore.database.engine import build_engine

#: Distinctive, so that any leak of it into a message or a log line is found.
PASSWORD = "Zq9-leak-canary-7Hx"
#: Short enough that the timeout case stays quick; the store's default is 5 s.
CONNECT_TIMEOUT_S = 1

SERVERS = pytest.mark.parametrize(
    "server", [pytest.param(b, marks=getattr(pytest.mark, b)) for b in ("postgresql", "mysql")]
)


@pytest.fixture
def server_url(server: str) -> URL:
    """The test server's URL (its admin user, no password), skipping a server that is not up."""
    require_backend(server)
    return make_url(SERVER_URLS[server])


@pytest.fixture
def user_with_password(server_url: URL) -> Iterator[str]:
    """A throwaway login role/user whose password is ``PASSWORD``, dropped afterwards; on MySQL it
    may use the databases named ``zts_*``."""
    name = f"zts_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    mysql = server_url.get_backend_name() == "mysql"
    create = (
        f"CREATE USER '{name}'@'%' IDENTIFIED BY '{PASSWORD}'"
        if mysql
        else f"CREATE ROLE {name} LOGIN PASSWORD '{PASSWORD}'"
    )
    with admin.connect() as connection:
        connection.execute(sa.text(create))
        if mysql:
            connection.execute(sa.text(f"GRANT ALL ON `zts\\_%`.* TO '{name}'@'%'"))
    try:
        yield name
    finally:
        with admin.connect() as connection:
            drop = f"DROP USER IF EXISTS '{name}'@'%'" if mysql else f"DROP ROLE IF EXISTS {name}"
            connection.execute(sa.text(drop))
        admin.dispose()


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on: bound once to get a free one, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A loopback port that accepts TCP connections (the kernel's backlog) but never answers."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(0)
        yield silent.getsockname()[1]


def _opening_error(url: URL, caplog: pytest.LogCaptureFixture) -> str:
    """The store's constructor error for ``url``: its message, checked free of the password in its
    text, its repr and every log line written meanwhile."""
    # PyMySQL waits for the server's greeting up to read_timeout (60 s in the store's engines).
    backend = url.get_backend_name()
    timeouts = {} if backend == "sqlite" else {"connect_timeout": CONNECT_TIMEOUT_S}
    if backend == "mysql":
        timeouts["read_timeout"] = CONNECT_TIMEOUT_S
    options = {"connect_args": timeouts}
    with caplog.at_level(logging.DEBUG):
        error = token_store_error(lambda: SQLAlchemyTokenStore(url, engine_options=options))
    assert error.exit_status == EXIT_FAILED  # type: ignore[attr-defined]
    for text in (str(error), repr(error), error.error_message, caplog.text):
        assert PASSWORD not in text
    message: str = error.error_message
    assert message.startswith("opening the token store failed: ")
    return message.removeprefix("opening the token store failed: ")


def _command_error(url: URL, capsys: pytest.CaptureFixture[str]) -> str:
    """What ``zoho-tokenstore tokens`` says about ``url`` (exit 1, password absent)."""
    assert main(["tokens", "--url", url_arg(url)]) == EXIT_FAILED
    captured = capsys.readouterr()
    assert PASSWORD not in captured.err + captured.out
    line = captured.err.strip()
    assert line.startswith("error: tokens on ") and line.count("\n") == 0
    return line.split(" failed: ", 1)[1]


def _with_password(url: URL, user: str) -> URL:
    return url.set(username=user, password=PASSWORD)


# -- what each failure says, from the store and from the command line -----------------------------


@SERVERS
def test_a_database_that_does_not_exist_is_named_with_how_to_create_it(
    server_url: URL,
    user_with_password: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = f"zts_missing_{uuid.uuid4().hex[:8]}"
    url = _with_password(server_url, user_with_password).set(database=missing)
    message = _opening_error(url, caplog)
    assert message.startswith(f"database '{missing}' does not exist at 127.0.0.1:")
    assert f"create it (CREATE DATABASE {missing}" in message
    assert _command_error(url, capsys) == message


@SERVERS
def test_a_wrong_password_names_the_user_never_the_password(
    server_url: URL,
    user_with_password: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Wrong, and still holding the distinctive text, so a leak of either is found.
    wrong = server_url.set(username=user_with_password, password=PASSWORD + "-wrong")
    if server_url.get_backend_name() == "postgresql" and _connects(wrong):
        pytest.skip("the test PostgreSQL trusts 127.0.0.1 (pg_hba.conf): it checks no password")
    message = _opening_error(wrong, caplog)
    user = f"user '{user_with_password}' at 127.0.0.1:"
    if server_url.get_backend_name() == "mysql":
        assert message.startswith(f"access denied for {user}")
        assert "check the user and password in the URL" in message
    else:
        assert message.startswith(f"password authentication failed for {user}")
        assert "check the password in the URL" in message
    assert _command_error(wrong, capsys) == message


@pytest.mark.pgbouncer
def test_a_wrong_password_is_named_behind_an_authenticating_pgbouncer(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    # The test PostgreSQL trusts local clients, so a PgBouncer that checks passwords (md5, as a
    # deployed one does) stands in for a server that refuses; its wording lacks "for user ...".
    require_backend("pgbouncer")
    with PgBouncer(password=PASSWORD) as bouncer:
        server = make_url(SERVER_URLS["postgresql"])
        right = bouncer.url_for(server.set(username="postgres", password=PASSWORD))
        assert _connects(right)
        wrong = right.set(password=PASSWORD + "-wrong")
        message = _opening_error(wrong, caplog)
        assert message.startswith(
            f"password authentication failed for user 'postgres' at 127.0.0.1:{bouncer.port}"
        )
        assert "check the password in the URL" in message
        assert _command_error(wrong, capsys) == message


@SERVERS
def test_a_role_or_user_that_does_not_exist_is_named(
    server_url: URL, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    nobody = f"zts_nobody_{uuid.uuid4().hex[:8]}"
    url = _with_password(server_url, nobody)
    message = _opening_error(url, caplog)
    if server_url.get_backend_name() == "mysql":  # MySQL/MariaDB answer as for a wrong password
        assert message.startswith(f"access denied for user '{nobody}' at 127.0.0.1:")
        assert "no such user for this host" in message
        assert f"CREATE USER '{nobody}'@'%'" in message
    else:
        assert message.startswith(f"role '{nobody}' does not exist at 127.0.0.1:")
        assert f"create it (CREATE ROLE {nobody} LOGIN" in message
    assert _command_error(url, capsys) == message


@SERVERS
def test_a_closed_port_says_nothing_listens_there(
    server_url: URL,
    closed_port: int,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = server_url.set(host="127.0.0.1", port=closed_port, password=PASSWORD)
    message = _opening_error(url, caplog)
    assert message.startswith(
        f"nothing is listening at 127.0.0.1:{closed_port} (connection refused)"
    )
    assert "start the database server, or check the host and port in the URL" in message
    assert _command_error(url, capsys) == message


@SERVERS
def test_an_unknown_host_says_its_name_does_not_resolve(
    server_url: URL, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    url = server_url.set(host="no-such-host.invalid", password=PASSWORD)  # RFC 2606: never resolves
    message = _opening_error(url, caplog)
    assert message.startswith("host 'no-such-host.invalid' not found")
    assert "check the host name in the URL" in message
    assert _command_error(url, capsys) == message


@SERVERS
def test_a_server_that_never_answers_times_out(
    server_url: URL, silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    url = server_url.set(host="127.0.0.1", port=silent_port, password=PASSWORD)
    message = _opening_error(url, caplog)
    assert message.startswith(f"connecting to 127.0.0.1:{silent_port} timed out")
    assert "no firewall drops connections" in message


@pytest.mark.mysql
def test_a_user_without_access_to_the_database_is_told_to_grant_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    require_backend("mysql")
    url = make_url(SERVER_URLS["mysql"])
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    name = f"zts_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(sa.text(f"CREATE USER '{name}'@'%' IDENTIFIED BY '{PASSWORD}'"))
    try:
        message = _opening_error(_with_password(url, name), caplog)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f"DROP USER IF EXISTS '{name}'@'%'"))
        admin.dispose()
    assert message.startswith(f"user '{name}' may not use database '{url.database}'")
    assert f"GRANT ALL ON {url.database}.* TO '{name}'" in message


def test_a_sqlite_file_that_is_not_a_database_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    path.write_bytes(b"not a database, just notes\n" * 200)
    url = make_url(f"sqlite:///{path}")
    message = _opening_error(url, caplog)
    assert message.startswith(f"'{path}' is not a SQLite database")
    assert _command_error(url, capsys).startswith(f"'{path}' is not a SQLite database")


# -- the PostgreSQL wording no test server here produces -------------------------------------------


def test_the_postgresql_password_failure_is_read_from_libpqs_wording() -> None:
    # The test server trusts 127.0.0.1, so a wrong password never fails against it: this is the
    # text libpq raises when the server refuses a password (psycopg gives no SQLSTATE for it).
    text = (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        'FATAL:  password authentication failed for user "app"'
    )
    error = sa_exc.OperationalError("SELECT 1", {}, psycopg.OperationalError(text))
    failure = connect_failure(error, make_url(f"postgresql+psycopg://app:{PASSWORD}@db/crm"))
    assert failure is not None
    assert failure.what == "password authentication failed for user 'app' at db:5432"
    assert PASSWORD not in failure.what + failure.fix


def test_errors_of_a_running_session_are_not_read_as_connection_failures() -> None:
    # A query's error that quotes "Connection refused" (say, in a value) keeps the generic message.
    orig = psycopg.errors.UniqueViolation("duplicate key: Connection refused")
    error = sa_exc.IntegrityError("INSERT", {}, orig)
    assert connect_failure(error, make_url("postgresql+psycopg://app@db/crm")) is None


def _connects(url: URL) -> bool:
    engine = sa.create_engine(url, connect_args={"connect_timeout": CONNECT_TIMEOUT_S})
    try:
        with engine.connect():
            return True
    except sa_exc.OperationalError:
        return False
    finally:
        engine.dispose()


@SERVERS
def test_housekeeping_from_code_names_the_cause_too(server_url: URL, closed_port: int) -> None:
    engine = build_engine(server_url.set(host="127.0.0.1", port=closed_port, password=PASSWORD))
    try:
        error = token_store_error(lambda: list_rows(engine))
    finally:
        engine.dispose()
    assert error.error_message.startswith(
        f"listing the tokens failed: nothing is listening at 127.0.0.1:{closed_port}"
    )
    assert PASSWORD not in str(error)
