"""Imports into an encrypted store, on every backend: ciphertext in the table, rows found every way.

With ``ZOHO_TOKENSTORE_ENCRYPTION_KEYS`` set, ``import`` and ``adopt`` write through a store with
those keys: the database holds every token and client secret only as ciphertext, with the keyed
lookup hashes a store with the same keys finds rows by (refresh, grant, access token). The plan
reads the target decrypted, so a second import changes nothing.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore

from databases import throwaway_database, url_arg
from encryption_helpers import KEY_1, KEY_2, assert_encrypted_under, raw_rows
from legacy_stores import create_table, insert_rows, read_legacy_rows
from test_encryption import assert_found_every_way
from test_import_rules import row, run, write_filestore
from test_import_sdk import NAMES, assert_everyone_served_without_consent, log_in_everyone
from token_factory import fields_of, full_token, make_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.core.model import ENCRYPTED_COLUMNS, hash_column
from zoho_tokenstore.encryption.cipher import KEYS_ENVIRONMENT_VARIABLE
from zoho_tokenstore.testing.standin_zoho import StandInZoho

SOURCE = [row(1), row(2), row(3)]


def _set_keys(monkeypatch: pytest.MonkeyPatch, *keys: bytes) -> None:
    monkeypatch.setenv(KEYS_ENVIRONMENT_VARIABLE, ",".join(k.decode() for k in keys))


def assert_only_ciphertext(url: URL, secrets: list[dict[str, Any]], key: bytes) -> None:
    """No token nor client secret of ``secrets`` is anywhere in the table in clear; all under ``key``."""
    rows = raw_rows(url)
    assert rows
    stored_text = "\n".join(str(value) for r in rows for value in r.values())
    for values in secrets:
        for column in ENCRYPTED_COLUMNS:
            if values[column] is not None:
                assert values[column] not in stored_text, f"{column} of {values['id']} in clear"
    for stored in rows:
        assert_encrypted_under(stored, key)


def assert_found_with_keys(url: URL, expected: list[dict[str, str | None]], *keys: bytes) -> None:
    """A store with ``keys`` finds every row by id, user, refresh, grant and access token."""
    with SQLAlchemyTokenStore(url, encryption_keys=list(keys)) as store:
        for values in expected:
            assert_found_every_way(store, values)
        assert sorted(fields_of(t)["id"] or "" for t in store.get_tokens()) == sorted(
            str(v["id"]) for v in expected
        )


def source_args(kind: str, tmp_path: Path, stack: ExitStack) -> list[str]:
    """``--from-filestore PATH`` or ``--from-table URL`` for a source holding ``SOURCE``."""
    if kind == "filestore":
        path = tmp_path / "sdk_tokens.csv"
        write_filestore(path, SOURCE)
        return ["--from-filestore", str(path)]
    source_url = stack.enter_context(throwaway_database("sqlite", tmp_path, prefix="source"))
    create_table(source_url)
    insert_rows(source_url, SOURCE)
    return ["--from-table", url_arg(source_url)]


@pytest.mark.parametrize("kind", ["filestore", "table"])
def test_import_with_keys_writes_only_ciphertext_that_a_keyed_store_finds_every_way(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch, kind: str,
) -> None:  # fmt: skip
    _set_keys(monkeypatch, KEY_1)
    with ExitStack() as stack:
        args = ["import", "--url", url_arg(db_url), *source_args(kind, tmp_path, stack)]
        status, out, err = run(capsys, *args)
        assert status == 0, out + err
        assert "Imported in one transaction: 3 inserted" in out
        assert_only_ciphertext(db_url, SOURCE, KEY_1)
        assert_found_with_keys(db_url, SOURCE, KEY_1)

        status, out, err = run(capsys, *args)  # the plan compares decrypted values
        assert status == 0, out + err
        assert "0 to insert, 0 to update, 3 unchanged" in out
        assert "Nothing to change" in out

        # During a rotation (new key first) the rows are still read, found, and left alone.
        _set_keys(monkeypatch, KEY_2, KEY_1)
        status, out, err = run(capsys, *args)
        assert status == 0, out + err
        assert "Nothing to change" in out
    assert_found_with_keys(db_url, SOURCE, KEY_2, KEY_1)


def test_an_import_update_rewrites_values_and_lookup_hashes(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    # The target holds user 1 under KEY_1 and user 2 in plaintext (written before encryption),
    # both with older credentials than the source's.
    older = {"expiry_time": "1000", "refresh_token": "1000.old-refresh", "access_token": "old-a"}
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        store.save_token(make_token(**row(1, **older)))
    with SQLAlchemyTokenStore(db_url) as store:
        store.save_token(make_token(**row(2, **older)))
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, SOURCE[:2])
    _set_keys(monkeypatch, KEY_1)
    status, out, err = run(
        capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path)
    )
    assert status == 0, out + err
    assert "0 to insert, 2 to update" in out
    assert_only_ciphertext(db_url, SOURCE[:2], KEY_1)
    assert_found_with_keys(db_url, SOURCE[:2], KEY_1)
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        # The replaced refresh token's hash is gone with it: the old value finds nothing.
        gone = make_token(client_id="1000.CLIENT1", client_secret=row(1)["client_secret"])
        gone.set_refresh_token(older["refresh_token"])
        assert store.find_token(gone) is None


def test_import_without_keys_into_an_encrypted_table_fails_clearly_and_writes_nothing(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        store.save_token(full_token(9, id="9"))
    before = raw_rows(db_url)
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, SOURCE)
    for keys in [(), (KEY_2,)]:
        if keys:
            _set_keys(monkeypatch, *keys)
        status, out, err = run(
            capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path)
        )
        assert status == 1, out + err
        assert "the row with id '9' holds an encrypted token that cannot be read" in err
        assert KEY_2.decode() not in out + err
        assert raw_rows(db_url) == before


def test_a_malformed_key_stops_adopt_before_anything_is_renamed(
    empty_db_url: URL, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    create_table(empty_db_url)
    insert_rows(empty_db_url, SOURCE)
    source = read_legacy_rows(empty_db_url)
    monkeypatch.setenv(KEYS_ENVIRONMENT_VARIABLE, f"{KEY_1.decode()},not-a-key")
    status, out, err = run(capsys, "adopt", "--url", url_arg(empty_db_url))
    assert status == 2, out + err  # a malformed key is a usage error
    assert "encryption key #2 is not a Fernet key" in err
    assert "not-a-key" not in out + err and KEY_1.decode() not in out + err
    engine = sa.create_engine(empty_db_url)
    try:
        assert sa.inspect(engine).get_table_names() == ["oauthtoken"]  # not renamed, nothing made
    finally:
        engine.dispose()
    assert read_legacy_rows(empty_db_url) == source


def test_adopt_with_keys_encrypts_the_adopted_rows(
    empty_db_url: URL, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    create_table(empty_db_url)
    insert_rows(empty_db_url, SOURCE)
    source = read_legacy_rows(empty_db_url)
    _set_keys(monkeypatch, KEY_1)
    status, out, err = run(capsys, "adopt", "--url", url_arg(empty_db_url))
    assert status == 0, out + err
    assert "3 to insert" in out
    assert (
        read_legacy_rows(empty_db_url, "oauthtoken_sdk_backup") == source
    )  # the backup stays as it was
    assert_only_ciphertext(empty_db_url, SOURCE, KEY_1)
    assert_found_with_keys(empty_db_url, SOURCE, KEY_1)
    again = ["import", "--url", url_arg(empty_db_url), "--from-table", url_arg(empty_db_url)]
    status, out, err = run(capsys, *again, "--source-table", "oauthtoken_sdk_backup")
    assert status == 0, out + err
    assert "Nothing to change" in out


def test_after_an_encrypted_import_the_sdk_serves_users_with_no_grant_exchange(
    db_url: URL, clean_sdk: object, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    path = tmp_path / "sdk_tokens.csv"
    with StandInZoho(clock=lambda: 0.0) as zoho:
        for email, name in NAMES.items():
            zoho.add_user(email, zgid=name.rsplit(":", 1)[1])
        log_in_everyone(zoho, FileStore(str(path)), tmp_path)
        tokens = [fields_of(t) for t in FileStore(str(path)).get_tokens()]
        _set_keys(monkeypatch, KEY_1)
        status, out, err = run(
            capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path)
        )
        assert status == 0, out + err
        assert_only_ciphertext(db_url, tokens, KEY_1)
        before = {t["user_name"]: t for t in tokens}
        assert_everyone_served_without_consent(
            zoho, db_url, before, tmp_path, encryption_keys=[KEY_1]
        )
        # The refresh token the SDK initialized Alice by was found through its lookup hash.
        alice = before[NAMES["alice@example.com"]]
        with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
            probe = OAuthToken(
                client_id=alice["client_id"],
                client_secret=alice["client_secret"],
                refresh_token=alice["refresh_token"],
            )
            found = store.find_token(probe)
            assert found is not None and found.get_id() == alice["id"]
        rows = {r["id"]: r for r in raw_rows(db_url)}
        assert rows[alice["id"]][hash_column("refresh_token")] is not None
