"""``keygen``, ``encrypt`` and ``decrypt``: first encryption, rotation, interruption, concurrent saves.

After ``encrypt`` the old key can be dropped and every token still reads; on SQLite no plaintext
token is left in the database file, its freed pages or its WAL.
"""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import URL, make_url

from databases import url_arg
from encryption_helpers import KEY_1, KEY_2, KEY_3, assert_encrypted_under, raw_rows
from test_encryption import assert_found_every_way
from token_factory import fields_of, full_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import keys as keys_cli
from zoho_tokenstore.cli import main
from zoho_tokenstore.core.model import TOKEN_TABLE
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.encryption.cipher import KEYS_ENVIRONMENT_VARIABLE, TokenCipher
from zoho_tokenstore.encryption.rotation import _raw_columns, _rewrite_row, rewrite_rows


def _set_keys(monkeypatch: pytest.MonkeyPatch, *keys: bytes) -> None:
    monkeypatch.setenv(KEYS_ENVIRONMENT_VARIABLE, ",".join(k.decode() for k in keys))


def _mixed_rows(db_url: URL, plain: int, under_key_1: int) -> list[dict[str, str | None]]:
    """Rows written without keys, then rows written under KEY_1: a table mid-migration."""
    saved = []
    with SQLAlchemyTokenStore(db_url) as store:
        for n in range(plain):
            token = full_token(n)
            store.save_token(token)
            saved.append(fields_of(token))
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        for n in range(plain, plain + under_key_1):
            token = full_token(n)
            store.save_token(token)
            saved.append(fields_of(token))
    return saved


def test_keygen_prints_a_fresh_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keygen"]) == 0
    first = capsys.readouterr().out.strip()
    assert main(["keygen"]) == 0
    second = capsys.readouterr().out.strip()
    assert first != second
    Fernet(first.encode())  # a valid key


def test_encrypt_rotates_every_row_and_the_old_key_can_be_dropped(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _mixed_rows(db_url, plain=5, under_key_1=4)
    _set_keys(monkeypatch, KEY_2, KEY_1)

    assert main(["encrypt", "--url", url_arg(db_url), "--batch-size", "2"]) == 0

    out = capsys.readouterr()
    fingerprint = TokenCipher([KEY_2]).fingerprints[0]
    assert f"9 row(s) checked, 9 rewritten under key {fingerprint}, 0 already so" in out.out
    for key in (KEY_1, KEY_2):
        assert key.decode() not in out.out + out.err
    for row in raw_rows(db_url):
        assert_encrypted_under(row, KEY_2)
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_2]) as store:  # KEY_1 dropped
        for values in saved:
            assert_found_every_way(store, values)
    # Re-running finds nothing left to do.
    assert main(["encrypt", "--url", url_arg(db_url)]) == 0
    assert "9 row(s) checked, 0 rewritten" in capsys.readouterr().out


def test_decrypt_turns_encryption_off(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _mixed_rows(db_url, plain=2, under_key_1=3)
    _set_keys(monkeypatch, KEY_1)
    assert main(["decrypt", "--url", url_arg(db_url)]) == 0
    assert "5 row(s) checked, 3 rewritten in plaintext" in capsys.readouterr().out
    assert all(row["refresh_token_hash"] is None for row in raw_rows(db_url))
    with SQLAlchemyTokenStore(db_url) as store:  # no keys needed any more
        for values in saved:
            assert_found_every_way(store, values)


def test_encrypt_without_keys_or_with_a_wrong_key_says_what_to_do(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _mixed_rows(db_url, plain=1, under_key_1=1)
    monkeypatch.delenv(KEYS_ENVIRONMENT_VARIABLE, raising=False)
    assert main(["encrypt", "--url", url_arg(db_url)]) == 1
    assert f"set ${KEYS_ENVIRONMENT_VARIABLE}" in capsys.readouterr().err
    before = raw_rows(db_url)
    _set_keys(monkeypatch, KEY_3)  # KEY_1's row cannot be read
    assert main(["encrypt", "--url", url_arg(db_url)]) == 1
    err = capsys.readouterr().err
    assert "cannot be read with the keys with fingerprints" in err
    assert TokenCipher([KEY_3]).fingerprints[0] in err and KEY_3.decode() not in err
    assert {r["id"] for r in raw_rows(db_url)} == {r["id"] for r in before}


def test_encrypt_can_be_interrupted_and_re_run(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = _mixed_rows(db_url, plain=6, under_key_1=0)
    _set_keys(monkeypatch, KEY_1)
    real = keys_cli.rewrite_rows

    def interrupted_after_one_batch(*args: Any, **kwargs: Any) -> Any:
        def stop(progress: Any) -> None:
            raise KeyboardInterrupt

        return real(*args, **{**kwargs, "on_batch": stop})

    monkeypatch.setattr(keys_cli, "rewrite_rows", interrupted_after_one_batch)
    assert main(["encrypt", "--url", url_arg(db_url), "--batch-size", "4"]) == 130
    assert "run it again to finish" in capsys.readouterr().err
    rows = raw_rows(db_url)
    assert sum(row["refresh_token_hash"] is not None for row in rows) == 4  # the committed batch
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:  # half done still reads
        for values in saved:
            assert_found_every_way(store, values)

    monkeypatch.setattr(keys_cli, "rewrite_rows", real)
    assert main(["encrypt", "--url", url_arg(db_url), "--batch-size", "4"]) == 0
    assert "6 row(s) checked, 2 rewritten" in capsys.readouterr().out
    for row in raw_rows(db_url):
        assert_encrypted_under(row, KEY_1)


def test_a_row_saved_between_read_and_rewrite_is_not_overwritten(db_url: URL) -> None:
    # The race encrypt must survive, made deterministic: it read a row, then the app saved a
    # refreshed token into it, then encrypt's UPDATE for the old values runs.
    [values] = _mixed_rows(db_url, plain=1, under_key_1=0)
    table = TOKEN_TABLE
    engine = build_engine(db_url)
    cipher = TokenCipher([KEY_1])
    try:
        with engine.connect() as connection:
            stale = connection.execute(sa.select(*_raw_columns(table))).mappings().one()
        with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as app:
            token = app.find_token_by_id(str(values["id"]))
            token.set_access_token("1000.refreshed-meanwhile")
            app.save_token(token)
        with engine.begin() as connection:
            assert _rewrite_row(connection, table, cipher, stale, decrypt=False) is None
        with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as app:
            current = app.find_token_by_id(str(values["id"]))
            assert current.get_access_token() == "1000.refreshed-meanwhile"
        progress = rewrite_rows(engine, cipher)
        assert (progress.checked, progress.left_ids) == (1, [])
    finally:
        engine.dispose()
    [row] = raw_rows(db_url)
    assert_encrypted_under(row, KEY_1)
    assert Fernet(KEY_1).decrypt(row["access_token"].encode()) == b"1000.refreshed-meanwhile"


@pytest.mark.sqlite
def test_encrypt_shows_progress_on_a_terminal(tmp_path: Path) -> None:
    url = make_url(f"sqlite:///{tmp_path / 'progress.db'}")
    from zoho_tokenstore import upgrade

    upgrade(url)
    _mixed_rows(url, plain=5, under_key_1=0)
    primary, secondary = pty.openpty()
    environment = {**os.environ, KEYS_ENVIRONMENT_VARIABLE: KEY_1.decode()}
    script = str(Path(sys.executable).with_name("zoho-tokenstore"))
    command = [script, "encrypt", "--url", url_arg(url)]
    command += ["--batch-size", "2"]
    process = subprocess.run(
        command, stderr=secondary, stdout=subprocess.PIPE, env=environment, timeout=120, check=False
    )
    os.close(secondary)
    shown = os.read(primary, 65536).decode()
    os.close(primary)
    assert process.returncode == 0, shown
    assert "\rencrypt: 2/5 rows (40%), 2 rewritten" in shown
    assert "\rencrypt: 5/5 rows (100%), 5 rewritten" in shown
    assert "rows (" not in process.stdout.decode()  # stdout carries the summary only
    # Not a terminal (a pipe, a log file): no progress lines, only the summary.
    process = subprocess.run(
        command, capture_output=True, env=environment, timeout=120, check=False
    )
    assert process.returncode == 0 and process.stderr == b""


@pytest.mark.sqlite
def test_after_encrypt_no_plaintext_token_is_left_in_the_sqlite_files(tmp_path: Path) -> None:
    url = make_url(f"sqlite:///{tmp_path / 'tokens.db'}")
    from zoho_tokenstore import upgrade

    upgrade(url)
    secrets: set[str] = set()
    with SQLAlchemyTokenStore(url) as store:  # before encryption: plaintext, updated many times
        for n in range(30):
            for version in range(3):
                token = full_token(n, access_token=f"1000.access{n}.v{version}.secret")
                store.save_token(token)
                secrets.update(v for k, v in fields_of(token).items() if _is_secret(k, v))
        files = _sqlite_bytes(url)
        assert any(secret.encode() in files for secret in secrets)  # the test can see them
        # The app keeps its store (and its pooled connections) open during the encryption.
        assert _run_cli(url, "encrypt", KEY_1) == 0
        files = _sqlite_bytes(url)
        assert not [s for s in secrets if s.encode() in files]
        # Rotation, then the old key is dropped: everything reads, still nothing in plaintext.
        assert _run_cli(url, "encrypt", KEY_2, KEY_1) == 0
        assert not [s for s in secrets if s.encode() in _sqlite_bytes(url)]
    with SQLAlchemyTokenStore(url, encryption_keys=[KEY_2]) as store:
        tokens = store.get_tokens()
        assert len(tokens) == 30
        assert {t.get_access_token() for t in tokens} == {
            f"1000.access{n}.v2.secret" for n in range(30)
        }


def _is_secret(column: str, value: str | None) -> bool:
    return value is not None and column in (
        "client_secret",
        "refresh_token",
        "access_token",
        "grant_token",
    )


def _sqlite_bytes(url: URL) -> bytes:
    """The database file and its WAL, as a thief copying the directory would get them."""
    path = Path(str(url.database))
    parts = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-journal")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def _run_cli(url: URL, command: str, *keys: bytes) -> int:
    previous = os.environ.get(KEYS_ENVIRONMENT_VARIABLE)
    os.environ[KEYS_ENVIRONMENT_VARIABLE] = ",".join(k.decode() for k in keys)
    try:
        return main([command, "--url", url_arg(url)])
    finally:
        if previous is None:
            del os.environ[KEYS_ENVIRONMENT_VARIABLE]
        else:
            os.environ[KEYS_ENVIRONMENT_VARIABLE] = previous


def test_the_demo_with_encrypt_shows_the_row_as_stored_and_as_the_sdk_sees_it(
    db_url: URL,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    clean_sdk: object,
) -> None:
    _set_keys(monkeypatch, KEY_1)
    assert main(["demo", "--encrypt", "--url", url_arg(db_url)]) == 0
    out = capsys.readouterr().out
    assert "as the database holds it" in out and "as the SDK gets it from the store" in out
    assert f"encrypts under key {TokenCipher([KEY_1]).fingerprints[0]}" in out
    assert "refresh_token      gAAAAA" in out
    [row] = raw_rows(db_url)
    assert_encrypted_under(row, KEY_1)
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        [token] = store.get_tokens()
    for secret in (
        token.get_client_secret(),
        token.get_refresh_token(),
        token.get_access_token(),
        token.get_grant_token(),
        KEY_1.decode(),
    ):
        assert secret and secret not in out


@pytest.mark.sqlite
def test_the_demo_with_encrypt_and_no_keys_uses_a_fresh_key_and_a_throwaway_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    clean_sdk: object,
) -> None:  # fmt: skip
    monkeypatch.delenv(KEYS_ENVIRONMENT_VARIABLE, raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--encrypt"]) == 0
    assert "using a fresh key for this run only" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []  # nothing left behind under a key nobody has


def test_tokens_lists_encrypted_rows_without_keys_and_shows_no_secret(
    db_url: URL, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Listing needs no key: user, client id and expiry are stored readable; secrets are masked.
    saved = _mixed_rows(db_url, plain=1, under_key_1=1)
    monkeypatch.delenv(KEYS_ENVIRONMENT_VARIABLE, raising=False)
    assert main(["tokens", "--url", url_arg(db_url)]) == 0
    out = capsys.readouterr().out
    for values in saved:
        assert f"id={values['id']}" in out and f"user={values['user_name']}" in out
        for column in ("refresh_token", "access_token", "grant_token", "client_secret"):
            assert str(values[column]) not in out
    for row in raw_rows(db_url):
        assert str(row["refresh_token"]) not in out  # nor the ciphertext
