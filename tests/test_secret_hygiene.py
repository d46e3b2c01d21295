"""No secret in any log record, exception, repr or CLI output, even with every logger at DEBUG.

Tokens, the client secret and the database password carry unique markers. The tests drive succeeding
and failing operations (saves, lookups, an unknown id, an over-long value, a dropped table, a wrong
password, a closed port) with the root logger, ``sqlalchemy.engine`` (statements *and* result rows),
``sqlalchemy.pool``, ``alembic`` and the SDK's ``SDKLogger`` all at DEBUG, then search everything a
person or a log shipper could see. SQLite files the package creates are private to their owner.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from token_factory import full_token, make_token
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.cli import main as cli_main
from zoho_tokenstore.core.model import TABLE_NAME, OAuthTokenRow

PASSWORD = "S3cretPw"
SECRETS = {
    "access_token": "1000.ACCESSzz7Q2",
    "refresh_token": "1000.REFRESHzz7Q2",
    "grant_token": "1000.GRANTzz7Q2",
    "client_secret": "CLIENTSECRETzz7Q2",
}
MARKERS = (*SECRETS.values(), PASSWORD)
LOGGERS = ("", "sqlalchemy", "sqlalchemy.engine", "sqlalchemy.pool", "alembic", "SDKLogger")
WRONG_PASSWORD_URLS = {
    "postgresql": f"postgresql+psycopg://postgres:{PASSWORD}@127.0.0.1:5432/nope",
    "mysql": f"mysql+pymysql://root:{PASSWORD}@127.0.0.1:3306/nope",
}


def secret_token(n: int = 1, **overrides: str | None) -> Any:
    """A full token whose secrets carry the markers (with ``n`` so rows stay distinct)."""
    values = {name: f"{marker}.{n}" for name, marker in SECRETS.items()}
    return full_token(n, **{**values, **overrides})


def leaks(text: str) -> list[str]:
    return [marker for marker in MARKERS if marker in text]


class Everything(logging.Handler):
    """Keeps every record, formatted (with traceback) and raw (message template and args)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> Iterator[str]:
        for record in self.records:
            yield self.format(record)  # the message with its args, and any traceback
            yield str(record.msg)
            yield repr(record.args)


@pytest.fixture
def debug_logs() -> Iterator[Everything]:
    """Every logger at DEBUG into one handler, restored afterwards."""
    handler = Everything()
    saved = {name: logging.getLogger(name).level for name in LOGGERS}
    root = logging.getLogger()
    root.addHandler(handler)
    for name in LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


class Errors:
    """Runs calls that may fail and keeps every exception, for searching its whole chain."""

    def __init__(self) -> None:
        self.caught: list[BaseException] = []

    def expect(self, call: Callable[[], Any]) -> SDKException:
        with pytest.raises(SDKException) as raised:
            call()
        self.caught.append(raised.value)
        return raised.value

    def texts(self) -> Iterator[str]:
        seen: set[int] = set()
        pending = list(self.caught)
        while pending:
            error = pending.pop()
            if id(error) in seen:
                continue
            seen.add(id(error))
            yield str(error)
            yield repr(error)
            yield str(getattr(error, "error_message", ""))
            # What an error reporter (Sentry, a debugger) shows of SQLAlchemy's error objects.
            yield repr(getattr(error, "params", None))
            yield str(getattr(error, "statement", ""))
            for linked in (
                error.__cause__,
                error.__context__,
                getattr(error, "cause", None),
                getattr(error, "orig", None),
            ):
                if isinstance(linked, BaseException):
                    pending.append(linked)


def assert_no_secret(*sources: Iterator[str] | list[str]) -> int:
    """No marker in any text of any source; returns how many texts were searched."""
    count = 0
    for source in sources:
        for text in source:
            count += 1
            assert leaks(text) == [], f"a secret leaked into: {text[:500]!r}"
    return count


def with_password(url: URL) -> URL:
    """The URL with a password; PostgreSQL here trusts local users, so it still connects."""
    return url.set(password=PASSWORD) if url.get_backend_name() == "postgresql" else url


@pytest.fixture
def own_db_url(empty_db_url: URL) -> URL:
    """A migrated database of this test's own, so dropping its table harms no other test."""
    upgrade(empty_db_url)
    return empty_db_url


def test_store_operations_at_debug_log_no_secret(own_db_url: URL, debug_logs: Everything) -> None:
    db_url = own_db_url
    errors = Errors()
    url = with_password(db_url)
    with SQLAlchemyTokenStore(url, engine_options={"echo": "debug"}) as store:
        token = secret_token(1)
        store.save_token(token)
        token_id = str(token.get_id())
        store.save_token(secret_token(2))
        store.find_token_by_id(token_id)
        store.find_token(make_token(user_name=full_token(1).get_user_signature().get_name()))
        store.find_token(make_token(access_token=SECRETS["access_token"] + ".1"))
        store.find_token(
            make_token(
                client_id=token.get_client_id(),
                client_secret=token.get_client_secret(),
                grant_token=SECRETS["grant_token"] + ".1",
            )
        )
        store.save_token(make_token(id=token_id, access_token=SECRETS["access_token"] + ".new"))
        store.get_tokens()
        errors.expect(lambda: store.find_token_by_id("no-such-id"))
        errors.expect(lambda: store.save_token(secret_token(3, access_token=PASSWORD * 100)))
        errors.expect(lambda: store.save_token(secret_token(4, expiry_time=PASSWORD)))
        errors.expect(lambda: store.save_token(secret_token(5, refresh_token="\x00" + PASSWORD)))
        texts = [repr(store), repr(token), repr(OAuthTokenRow(id=token_id, **_row_secrets()))]

        drop_table(db_url)
        errors.expect(lambda: store.save_token(secret_token(6)))
        errors.expect(lambda: store.save_token(make_token(id=token_id, access_token="x")))
        errors.expect(lambda: store.find_token_by_id(token_id))
        errors.expect(lambda: store.find_token(make_token(access_token=SECRETS["access_token"])))
        errors.expect(store.get_tokens)

    assert any("SELECT" in record.getMessage() for record in debug_logs.records)
    assert assert_no_secret(debug_logs.texts(), errors.texts(), texts) > 50


def test_connection_failures_at_debug_log_no_password(
    server_backend: str, debug_logs: Everything, tmp_path: Path
) -> None:
    errors = Errors()
    wrong_password = WRONG_PASSWORD_URLS[server_backend]
    closed_port = make_url(wrong_password).set(port=closed_port_number())
    for url in (wrong_password, closed_port):
        errors.expect(lambda url=url: SQLAlchemyTokenStore(url))
        errors.expect(lambda url=url: SQLAlchemyTokenStore(url, auto_upgrade=True))
    error = errors.expect(lambda: SQLAlchemyTokenStore(wrong_password))
    assert "opening the token store failed" in error.error_message
    assert assert_no_secret(debug_logs.texts(), errors.texts()) > 10


def test_cli_output_and_errors_show_no_secret(
    db_url: URL,
    debug_logs: Everything,
    capsys: pytest.CaptureFixture[str],
    backend: str,
) -> None:
    url = with_password(db_url).render_as_string(hide_password=False)
    with SQLAlchemyTokenStore(url) as store:
        store.save_token(secret_token(1))
    outputs: list[str] = []
    for argv in (["current"], ["tokens"], ["upgrade"]):
        assert cli_main([*argv, "--url", url]) == 0
        outputs.extend(capsys.readouterr())
    assert "1 stored token(s)" in "".join(outputs)

    failing = [WRONG_PASSWORD_URLS.get(backend, f"sqlite:///{db_url.database}/nope/x.db")]
    if backend != "sqlite":
        failing.append(
            make_url(failing[0])
            .set(port=closed_port_number())
            .render_as_string(hide_password=False)
        )
    # A missing SQLite file or folder cannot be worked on (2); a server that refuses fails it (1).
    status = 2 if backend == "sqlite" else 1
    for bad_url in failing:
        for argv in (["upgrade"], ["current"], ["tokens"]):
            assert cli_main([*argv, "--url", bad_url]) == status
            output = capsys.readouterr()
            assert output.err.startswith("error: ")
            outputs.extend(output)
    assert assert_no_secret(outputs, debug_logs.texts()) > 10


# -- file permissions ------------------------------------------------------------------------------


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    """Umask 0: a file would be world-readable unless the package makes it private itself."""
    saved = os.umask(0)
    yield
    os.umask(saved)


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.sqlite
@pytest.mark.usefixtures("permissive_umask")
def test_sqlite_files_created_by_the_store_are_private(tmp_path: Path) -> None:
    path = tmp_path / "tokens.db"
    upgrade(f"sqlite:///{path}")
    with SQLAlchemyTokenStore(f"sqlite:///{path}") as store:
        store.save_token(secret_token(1))  # the open store keeps its -wal and -shm files
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert {file.name: mode_of(file) for file in files} == {file.name: 0o600 for file in files}


@pytest.mark.sqlite
@pytest.mark.usefixtures("permissive_umask")
def test_sqlite_file_created_by_the_cli_is_private(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    assert cli_main(["upgrade", "--url", f"sqlite:///{path}"]) == 0
    assert mode_of(path) == 0o600
    with SQLAlchemyTokenStore(f"sqlite:///{path}") as store:
        store.save_token(secret_token(1))
        assert mode_of(Path(f"{path}-wal")) == 0o600
        assert mode_of(Path(f"{path}-shm")) == 0o600


# -- helpers -----------------------------------------------------------------------------------------


def _row_secrets() -> dict[str, str]:
    return {name: f"{marker}.1" for name, marker in SECRETS.items()}


def drop_table(url: URL) -> None:
    """Drop the token table behind the store's back (the fixture's database is this test's own)."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(f"DROP TABLE {TABLE_NAME}")
    engine.dispose()


def closed_port_number() -> int:
    """A local TCP port with nothing listening: bind one, then free it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
