"""The real-SDK flows of ``test_sdk_flows.py`` again, with encryption on, on every backend.

The flow tests are imported as they are; this module's fixtures give them stores with keys (also
the ones the tests build themselves), a ``rows`` that decrypts, and asserts on every read that the
table holds ciphertext only. After each flow, a dump of the database (the SQLite file with its WAL,
``pg_dump``, ``mariadb-dump``) must contain none of the tokens the stand-in issued, nor the client
secret. A last test runs ``encrypt`` (rotating keys back and forth) under concurrent SDK traffic.
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL

import test_sdk_flows as flows
from encryption_helpers import KEY_1, KEY_2, assert_encrypted_under, raw_rows
from sdk_helpers import run_at_once
from test_sdk_flows import (  # noqa: F401  # collected here again, with this module's fixtures
    test_a_second_consent_of_the_same_user_updates_the_row,
    test_access_token_only_init_saves_a_row_without_refresh_token,
    test_an_expired_access_token_is_refreshed_once_into_the_same_row,
    test_eight_threads_calling_while_the_token_keeps_expiring,
    test_eight_threads_share_one_refresh_when_the_token_expires,
    test_first_login_exchanges_the_grant_code_and_stores_one_complete_row,
    test_init_by_bare_email_is_the_sdks_mandatory_value_error,
    test_init_by_id_uses_the_stored_token,
    test_init_by_user_signature_finds_the_users_row,
    test_remove_deletes_exactly_that_users_row,
    test_restart_with_only_the_refresh_token_reuses_the_row,
    test_revoke_sends_only_that_users_refresh_token,
    test_switch_user_makes_each_call_with_that_users_token,
)
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.core.model import ENCRYPTED_COLUMNS
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.encryption.cipher import TokenCipher
from zoho_tokenstore.encryption.rotation import rewrite_rows
from zoho_tokenstore.testing.standin_zoho import StandInZoho

KEYS = [KEY_1]
CIPHER = TokenCipher(KEYS)


class RecordingZoho(StandInZoho):
    """The stand-in, remembering every secret it handed out: what a dump must not contain."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.issued: list[str] = [self.DEFAULT_CLIENT_SECRET]
        self.issued_access: dict[str, list[str]] = {}

    def issue_grant_code(self, email: str, *args: Any, **kwargs: Any) -> str:
        code = super().issue_grant_code(email, *args, **kwargs)
        self.issued.append(code)
        return code

    def _issue_access(self, email: str, refresh: str) -> dict[str, Any]:  # runs under its lock
        answer = super()._issue_access(email, refresh)
        self.issued += [answer["access_token"], refresh]
        self.issued_access.setdefault(email, []).append(answer["access_token"])
        return answer


@pytest.fixture
def zoho() -> Iterator[RecordingZoho]:
    """As in test_sdk_flows: Alice and Bob on a frozen server clock, every secret recorded."""
    with RecordingZoho(clock=lambda: 0.0) as server:
        server.add_user(flows.ALICE, zgid=flows.ALICE_ZGID)
        server.add_user(flows.BOB, zgid=flows.BOB_ZGID)
        yield server


@pytest.fixture(autouse=True)
def stores_with_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """Stores the flow tests build themselves (restarts) get the keys too."""
    keyed = functools.partial(SQLAlchemyTokenStore, encryption_keys=KEYS)
    monkeypatch.setattr(flows, "SQLAlchemyTokenStore", keyed)


@pytest.fixture
def store(db_url: URL) -> Iterator[SQLAlchemyTokenStore]:
    with SQLAlchemyTokenStore(db_url, encryption_keys=KEYS) as token_store:
        yield token_store


@pytest.fixture
def rows(db_url: URL) -> Iterator[Any]:
    """The rows as the SDK would see them, after checking that the table holds only ciphertext."""

    def read() -> list[dict[str, Any]]:
        decrypted = []
        for row in raw_rows(db_url):
            assert_encrypted_under(row, KEY_1)
            values = {k: v for k, v in row.items() if not k.endswith("_hash")}
            for column in ENCRYPTED_COLUMNS:
                if values[column] is not None:
                    values[column] = CIPHER.decrypt(values[column])
            decrypted.append(values)
        return decrypted

    yield read


@pytest.fixture(autouse=True)
def dump_holds_no_secret(
    request: pytest.FixtureRequest, backend: str, db_url: URL, zoho: RecordingZoho
) -> Iterator[None]:
    """After the flow: the database dump contains none of the secrets the stand-in issued."""
    yield
    dump = database_dump(backend, db_url)
    assert b"oauthtoken" in dump or backend == "sqlite"  # a dump of the right database
    leaked = [secret for secret in zoho.issued if secret.encode() in dump]
    assert leaked == [], f"{len(leaked)} secret(s) in the {backend} dump"


def database_dump(backend: str, url: URL) -> bytes:
    """What a thief copying the database gets: the SQLite file and WAL, or the server's dump."""
    if backend == "sqlite":
        path = Path(str(url.database))
        parts = [path, path.with_name(path.name + "-wal")]
        return b"".join(p.read_bytes() for p in parts if p.exists())
    if backend == "postgresql":
        tool = shutil.which("pg_dump")
        command = [
            "pg_dump", "-h", str(url.host), "-p", str(url.port), "-U", str(url.username),
            str(url.database),
        ]  # fmt: skip
    else:
        tool = shutil.which("mariadb-dump") or shutil.which("mysqldump")
        command = [
            "mariadb-dump", "-h", str(url.host), "-P", str(url.port), "-u", str(url.username),
            "--protocol=TCP", str(url.database),
        ]  # fmt: skip
    if tool is None:
        pytest.skip(f"{command[0]} is not installed")
    command[0] = tool
    return subprocess.run(command, capture_output=True, check=True, timeout=120).stdout


# -- encrypt under concurrent SDK traffic -----------------------------------------------------


def test_encrypt_under_concurrent_sdk_traffic_loses_no_update_and_fails_no_call(
    zoho: RecordingZoho, db_url: URL, clean_sdk: object, tmp_path: Path
) -> None:
    # The apps run with both keys (as during a rotation); the token is refreshed on every call
    # (expires within the refresh-ahead margin), so each call saves a new access token while
    # encrypt rewrites every row back and forth between the two keys.
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_2, KEY_1]) as store:
        alice = flows.login(zoho, store, tmp_path, flows.ALICE)
        assert flows.leads_caller() == flows.ALICE_NAME
        with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as filler:
            for n in range(60):  # more rows, so each pass takes a while
                filler.save_token(full_token(100 + n))
        zoho.expires_in = 30  # below the 60 s refresh-ahead margin, above the SDK's own 5 s
        flows.set_stored_expiry(db_url, str(alice.get_id()), flows.now_ms() - 1)
        zoho.reset_counts()
        stop = threading.Event()
        passes: list[int] = []  # per pass: rows retried after a concurrent save
        failures: list[BaseException] = []

        def rotate() -> None:
            engine = build_engine(db_url)
            try:
                keys = [[KEY_2, KEY_1], [KEY_1, KEY_2]]
                while not stop.is_set():
                    cipher = TokenCipher(keys[len(passes) % 2])
                    passes.append(rewrite_rows(engine, cipher, batch_size=7).retried)
                    stop.wait(0.05)  # back to back, but not a single endless write lock
            except BaseException as exc:  # noqa: BLE001  # reported by the test thread
                failures.append(exc)
            finally:
                engine.dispose()

        rotator = threading.Thread(target=rotate)
        rotator.start()
        try:
            results = run_at_once(4, lambda _: calls_until(lambda: len(passes) >= 3), 300)
        finally:
            stop.set()
            rotator.join(120)
        assert failures == []
        assert len(passes) >= 3
        print(f"encrypt passes: {len(passes)}, rows retried after a concurrent save: {sum(passes)}")
        assert all(result == [flows.ALICE_NAME] * len(result) for result in results)  # none failed
        # A last pass to the newest key, then: the row holds the last token Zoho issued.
        engine = build_engine(db_url)
        try:
            rewrite_rows(engine, TokenCipher([KEY_2, KEY_1]))
        finally:
            engine.dispose()
    for row in raw_rows(db_url):
        assert_encrypted_under(row, KEY_2)
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_2]) as store:
        stored = store.find_token_by_id(str(alice.get_id()))
        assert stored.get_access_token() == zoho.issued_access[flows.ALICE][-1]
        # Every call refreshed and saved (refresh-ahead, through the refresh lease).
        assert zoho.calls["token:refresh_token"] >= sum(len(result) for result in results)


def calls_until(done: Any, at_least: int = 6, at_most: int = 300) -> list[str]:
    """Call the API until ``done()`` (and at least ``at_least`` times); who the stand-in saw."""
    callers: list[str] = []
    while len(callers) < at_least or (not done() and len(callers) < at_most):
        callers.append(flows.leads_caller())
    return callers
