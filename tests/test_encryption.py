"""Encryption at rest, through the store: what the table holds, what the SDK gets, on every backend.

Keys: newest first; a lookup matches rows under any configured key and rows written without keys,
in one statement; a row no key opens, or a store without keys on encrypted rows, fails clearly
(row id and key fingerprints, never a key or a token).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from encryption_helpers import KEY_1, KEY_2, KEY_3, assert_encrypted_under, raw_rows
from token_factory import fields_of, full_token, make_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.core.model import COLUMN_LENGTHS, ENCRYPTED_COLUMNS
from zoho_tokenstore.encryption.cipher import TokenCipher, generate_key
from zoho_tokenstore.encryption.columns import credential_match, credential_params

CLIENT = {"client_id": "1000.CLIENT1", "client_secret": "secret-1-0123456789abcdef"}


def token_store_error(call: Any) -> SDKException:
    with pytest.raises(SDKException) as raised:
        call()
    assert raised.value.code == "TOKEN_STORE"
    return raised.value


def probes(saved: dict[str, str | None]) -> dict[str, Any]:
    """The id-less tokens the SDK passes to find_token, one per way of finding a row."""
    client = {"client_id": saved["client_id"], "client_secret": saved["client_secret"]}
    return {
        "id": make_token(id=saved["id"]),
        "user_name": make_token(user_name=saved["user_name"]),
        "access_token": make_token(access_token=saved["access_token"]),
        "grant_token": make_token(**client, grant_token=saved["grant_token"]),
        "refresh_token": make_token(**client, refresh_token=saved["refresh_token"]),
        "grant_or_refresh": make_token(
            **client, grant_token="1000.unknown", refresh_token=saved["refresh_token"]
        ),
    }


def assert_found_every_way(store: SQLAlchemyTokenStore, saved: dict[str, str | None]) -> None:
    for how, probe in probes(saved).items():
        found = store.find_token(probe)
        assert found is not None, how
        expected = (
            {**saved, "grant_token": found.get_grant_token()}
            if how.startswith("grant_or")
            else saved
        )
        assert fields_of(found) == expected, how
    assert fields_of(store.find_token_by_id(str(saved["id"]))) == saved


@pytest.fixture
def keyed_store(db_url: URL) -> Iterator[SQLAlchemyTokenStore]:
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as store:
        yield store


# -- keys -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "not-a-key",
        "c2hvcnQ=",  # valid base64, 5 bytes
        KEY_1.decode()[:-4] + "!!!!",
        "ключ" * 11,
        b"\xff" * 44,
        12345,
    ],
    # Stable ids (not the random key's text): xdist workers must collect the same names.
    ids=["not-base64", "five-bytes", "bad-character", "cyrillic", "bytes", "int"],
)
def test_a_malformed_key_fails_at_construction_without_printing_it(db_url: URL, bad: Any) -> None:
    error = token_store_error(lambda: SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1, bad]))
    assert "encryption key #2 is not a Fernet key" in error.error_message
    text = str(bad) if not isinstance(bad, bytes) else bad.decode("latin-1")
    assert text not in str(error) and repr(bad) not in str(error)
    assert KEY_1.decode() not in str(error)


@pytest.mark.parametrize("keys", [[], "x" * 44, KEY_1], ids=["empty", "text", "one-key"])
def test_keys_must_be_a_non_empty_list(db_url: URL, keys: Any) -> None:
    error = token_store_error(lambda: SQLAlchemyTokenStore(db_url, encryption_keys=keys))
    assert "non-empty list of Fernet keys" in error.error_message


def test_keys_as_bytes_or_text_are_the_same_key() -> None:
    as_bytes, as_text = TokenCipher([KEY_1]), TokenCipher([KEY_1.decode(), KEY_2])
    assert as_bytes.fingerprints[0] == as_text.fingerprints[0] != as_text.fingerprints[1]
    assert as_text.decrypt(as_bytes.encrypt("1000.abc")) == "1000.abc"
    assert as_bytes.lookup_hash("1000.abc") == as_text.lookup_hash("1000.abc")
    assert len(as_text.lookup_hashes("1000.abc")) == 2
    # Fingerprints and reprs never show key material.
    assert KEY_1.decode() not in repr(as_text) and KEY_1.decode()[:12] not in repr(as_text)
    assert len(generate_key()) == 44 and generate_key() != generate_key()


def test_the_same_key_twice_is_refused(db_url: URL) -> None:
    error = token_store_error(lambda: SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1, KEY_1]))
    assert "the same key twice" in error.error_message


# -- what the table holds, what the SDK gets -------------------------------------------------


def test_secrets_are_stored_encrypted_and_read_back_exactly(
    keyed_store: SQLAlchemyTokenStore, db_url: URL
) -> None:
    token = full_token(1)
    keyed_store.save_token(token)
    saved = fields_of(token)
    [row] = raw_rows(db_url)
    assert_encrypted_under(row, KEY_1)
    for column in ENCRYPTED_COLUMNS:
        assert saved[column] not in str(row.values())
    # What stays readable: listing and expiry checks need no key.
    for column in ("id", "user_name", "client_id", "expiry_time", "redirect_url", "api_domain"):
        assert row[column] == saved[column]
    assert_found_every_way(keyed_store, saved)
    assert [fields_of(t) for t in keyed_store.get_tokens()] == [saved]
    # A second save of the same token (a refresh) leaves it readable and findable by its new values.
    token.set_access_token("1000.access-after-refresh")
    token.set_refresh_token("1000.refresh-after-refresh")
    keyed_store.save_token(token)
    assert_found_every_way(keyed_store, fields_of(token))
    assert len(raw_rows(db_url)) == 1


def test_equal_values_give_different_ciphertexts(
    keyed_store: SQLAlchemyTokenStore, db_url: URL
) -> None:
    keyed_store.save_token(full_token(1, client_secret="shared"))
    keyed_store.save_token(full_token(2, client_secret="shared"))
    first, second = raw_rows(db_url)
    assert (
        first["client_secret"] != second["client_secret"]
    )  # not deterministic, unlike AES-ECB/SIV


def test_the_longest_accepted_values_fit_encrypted_on_every_backend(
    keyed_store: SQLAlchemyTokenStore, db_url: URL
) -> None:
    # 4-byte UTF-8 characters up to each column's value limit: the largest ciphertexts possible.
    longest = {c: "😀" * COLUMN_LENGTHS[c] for c in ENCRYPTED_COLUMNS}
    token = full_token(1, **longest)
    keyed_store.save_token(token)
    saved = fields_of(token)
    [row] = raw_rows(db_url)
    assert_encrypted_under(row, KEY_1)
    assert_found_every_way(keyed_store, saved)


# -- rows written before encryption, and under older keys ------------------------------------


def test_rows_written_without_keys_are_found_read_and_encrypted_on_their_next_save(
    store: SQLAlchemyTokenStore, keyed_store: SQLAlchemyTokenStore, db_url: URL
) -> None:
    legacy = full_token(1)
    store.save_token(legacy)  # the store without keys
    saved = fields_of(legacy)
    [row] = raw_rows(db_url)
    assert row["refresh_token"] == saved["refresh_token"] and row["refresh_token_hash"] is None

    assert_found_every_way(keyed_store, saved)
    refreshed = keyed_store.find_token_by_id(str(saved["id"]))
    refreshed.set_access_token("1000.new-access")
    keyed_store.save_token(refreshed)

    [row] = raw_rows(db_url)
    assert_encrypted_under(row, KEY_1)  # the whole row, not only the changed access token
    assert_found_every_way(keyed_store, fields_of(refreshed))


def test_during_a_rotation_rows_under_either_key_are_found_in_one_statement(
    db_url: URL,
) -> None:
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_1]) as old:
        old.save_token(full_token(1))
        old.save_token(full_token(2))
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_2, KEY_1]) as rotating:
        statements: list[str] = []
        sa.event.listen(
            rotating.engine, "before_cursor_execute", lambda *a: statements.append(a[2])
        )
        for saved in (fields_of(t) for t in rotating.get_tokens()):
            statements.clear()
            found = rotating.find_token(probes(saved)["refresh_token"])
            assert found is not None and fields_of(found) == saved
            assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")
        new = full_token(3)
        rotating.save_token(new)
    rows = {row["user_name"]: row for row in raw_rows(db_url)}
    assert_encrypted_under(rows[fields_of(new)["user_name"]], KEY_2)  # new values: newest key
    assert_encrypted_under(rows["user1@example.com:60001"], KEY_1)  # untouched until saved
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_2]) as new_only:
        assert_found_every_way(new_only, {**fields_of(new)})


# -- clear failures ----------------------------------------------------------------------------


def test_a_row_no_configured_key_opens_names_the_row_and_the_keys_tried(
    keyed_store: SQLAlchemyTokenStore, db_url: URL
) -> None:
    token = full_token(1)
    keyed_store.save_token(token)
    saved = fields_of(token)
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_3, KEY_2]) as wrong:
        calls = {
            "find_token_by_id": lambda: wrong.find_token_by_id(str(saved["id"])),
            "find_token": lambda: wrong.find_token(probes(saved)["user_name"]),
            "get_tokens": wrong.get_tokens,
            "save_token": lambda: wrong.save_token(full_token(1, access_token="1000.x")),
        }
        for operation, call in calls.items():
            error = token_store_error(call)
            message = error.error_message
            assert message.startswith(operation), message
            assert repr(saved["id"]) in message
            assert all(fp in message for fp in wrong.key_fingerprints), message
            for secret in (KEY_1, KEY_2, KEY_3):
                assert secret.decode() not in str(error)
            for column in ENCRYPTED_COLUMNS:
                assert str(saved[column]) not in str(error)
        # By a credential, a row under an unknown key does not match at all.
        assert wrong.find_token(probes(saved)["refresh_token"]) is None
    assert fields_of(keyed_store.find_token_by_id(str(saved["id"]))) == saved  # nothing changed


def test_a_store_without_keys_refuses_encrypted_rows_instead_of_handing_over_ciphertext(
    keyed_store: SQLAlchemyTokenStore, store: SQLAlchemyTokenStore
) -> None:
    token = full_token(1)
    keyed_store.save_token(token)
    saved = fields_of(token)
    for call in (
        lambda: store.find_token_by_id(str(saved["id"])),
        lambda: store.find_token(probes(saved)["user_name"]),
        store.get_tokens,
    ):
        error = token_store_error(call)
        assert "encrypted token" in error.error_message
        assert "no keys" in error.error_message and "encryption_keys" in error.error_message
        assert repr(saved["id"]) in error.error_message
    # Its own plaintext rows still work beside them.
    plain = full_token(2)
    store.save_token(plain)
    assert fields_of(store.find_token_by_id(str(plain.get_id()))) == fields_of(plain)
    assert store.find_token(probes(fields_of(plain))["refresh_token"]) is not None


def test_a_lookup_value_shaped_like_ciphertext_never_matches_stored_ciphertext(
    keyed_store: SQLAlchemyTokenStore, db_url: URL
) -> None:
    keyed_store.save_token(full_token(1))
    [row] = raw_rows(db_url)
    stolen = make_token(**CLIENT, refresh_token=row["refresh_token"])
    assert keyed_store.find_token(stolen) is None
    assert keyed_store.find_token(make_token(access_token=row["access_token"])) is None


def test_a_lookup_by_token_with_two_keys_is_an_index_search_on_every_backend(
    db_url: URL, backend: str
) -> None:
    # The hash branch and the plaintext (pre-encryption) branch each use an index: no table scan.
    with SQLAlchemyTokenStore(db_url, encryption_keys=[KEY_2, KEY_1]) as store:
        for n in range(2000):
            store.save_token(full_token(n))
        table = store.table  # the store's own keyed table: the statement it runs
        probe = fields_of(full_token(7))["refresh_token"]
        query = sa.select(table).where(credential_match(table, "refresh_token", "value")).limit(1)
        compiled = query.compile(dialect=store.engine.dialect)
        parameters = compiled.construct_params(credential_params(table, "value", str(probe)))
        sql = str(compiled)
        with store.engine.connect() as connection:
            plan = _plan(backend, connection, sql, compiled, parameters)
    assert "refresh_token_hash" in plan, plan
    if backend == "sqlite":
        assert "SCAN" not in plan and "USING INDEX ix_oauthtoken_refresh_token " in plan, plan
    elif backend == "postgresql":
        assert "Seq Scan" not in plan and "ix_oauthtoken_refresh_token " in plan, plan
    else:
        assert "'ALL'" not in plan and "ix_oauthtoken_refresh_token'" in plan, plan


def _plan(backend: str, connection: Any, sql: str, compiled: Any, parameters: Any) -> str:
    if backend == "sqlite":
        connection.exec_driver_sql("ANALYZE")
        positional = tuple(parameters[name] for name in compiled.positiontup)
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, positional).all()
        return "\n".join(str(row[-1]) + " " for row in rows)
    if backend == "postgresql":
        connection.exec_driver_sql("ANALYZE oauthtoken")
        rows = connection.exec_driver_sql("EXPLAIN " + sql, parameters).all()
        return "\n".join(str(row[0]) + " " for row in rows)
    connection.exec_driver_sql("ANALYZE TABLE oauthtoken").all()
    result = connection.exec_driver_sql("EXPLAIN " + sql, parameters).mappings().all()
    return "\n".join(repr(dict(row)) for row in result)


def test_stores_with_different_keys_on_one_engine_never_share_a_cipher(db_url: URL) -> None:
    # SQLAlchemy caches compiled statements per engine; each store's columns carry its own keys.
    engine = sa.create_engine(db_url)
    try:
        first = SQLAlchemyTokenStore(engine, encryption_keys=[KEY_1])
        second = SQLAlchemyTokenStore(engine, encryption_keys=[KEY_2])
        token = full_token(1)
        first.save_token(token)
        assert fields_of(first.find_token_by_id(str(token.get_id()))) == fields_of(token)
        error = token_store_error(lambda: second.find_token_by_id(str(token.get_id())))
        assert second.key_fingerprints[0] in error.error_message
        other = full_token(2)
        second.save_token(other)
        rows = {row["id"]: row for row in raw_rows(db_url)}
        assert_encrypted_under(rows[token.get_id()], KEY_1)
        assert_encrypted_under(rows[other.get_id()], KEY_2)
    finally:
        engine.dispose()
