"""Hostile input: every value comes back byte-exact or is refused clearly; nothing is ever executed.

80 hostile strings (``hostile_strings.py``) go into every field and serve as ids and lookup keys on
every backend. A stored value must come back identical through ``find_token_by_id``, ``find_token``,
``get_tokens`` and a direct read of the table; a refused one must raise ``SDKException(TOKEN_STORE)``
without quoting it. The table keeps exactly the rows saved, and a sentinel row never changes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from hostile_strings import HOSTILE, ODD_DIGITS
from store_errors import token_store_error
from token_factory import FIELDS, fields_of, full_token, make_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.core.model import COLUMN_LENGTHS

Rows = Callable[[], list[dict[str, object]]]


def unstorable(field: str, value: str) -> bool:
    """Whether no backend can keep ``value`` in ``field`` unchanged, so the store must refuse it."""
    if field == "expiry_time" and not (value.isascii() and value.isdigit()):
        return True  # the SDK reads it with int(); only epoch milliseconds make sense
    return (
        len(value) > COLUMN_LENGTHS[field]
        or "\x00" in value
        or any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    )


def assert_not_quoted(error: SDKException, value: str) -> None:
    """A refusal names the problem, never the value (it may be a secret, or 10 KB long)."""
    message = str(error.error_message)
    assert repr(value) not in message
    if len(value.strip()) >= 2:  # a lone space or quote occurs in any sentence
        assert value not in message


def probe_for(field: str, stored: dict[str, str | None]) -> OAuthToken:
    """The id-less token the SDK would pass to find_token to find ``stored`` by ``field``."""
    value = stored[field]
    if field in ("id", "access_token"):
        return make_token(**{field: value})
    if field in ("grant_token", "refresh_token"):
        client = {"client_id": stored["client_id"], "client_secret": stored["client_secret"]}
        return make_token(**client, **{field: value})
    return make_token(user_name=stored["user_name"])


@pytest.mark.parametrize("field", FIELDS)
def test_hostile_values_are_stored_exactly_or_refused(
    store: SQLAlchemyTokenStore, rows: Rows, field: str
) -> None:
    sentinel = full_token(0)
    store.save_token(sentinel)
    expected = {str(sentinel.get_id()): fields_of(sentinel)}
    values = HOSTILE + ODD_DIGITS if field == "expiry_time" else HOSTILE
    refused = 0

    for n, value in enumerate(values, start=1):
        token = full_token(n, **{field: value})
        sent = fields_of(token)
        if unstorable(field, value):
            error = token_store_error(lambda token=token: store.save_token(token))
            assert field in error.error_message
            assert_not_quoted(error, value)
            refused += 1
            continue
        store.save_token(token)
        saved = {**sent, "id": token.get_id()}
        assert saved[field] == value
        assert fields_of(token) == saved
        assert fields_of(store.find_token_by_id(str(saved["id"]))) == saved
        found = store.find_token(probe_for(field, saved))
        assert found is not None
        assert fields_of(found) == saved
        expected[str(saved["id"])] = saved

    assert refused >= 6  # the UNSTORABLE ones, at least
    listed = {str(t.get_id()): fields_of(t) for t in store.get_tokens()}
    assert listed == expected
    table = rows()
    assert len(table) == len(expected) == len(values) - refused + 1
    assert {str(row["id"]): row for row in table} == expected


def test_hostile_lookups_match_nothing_and_change_nothing(
    store: SQLAlchemyTokenStore, rows: Rows
) -> None:
    store.save_token(full_token(1))
    store.save_token(full_token(2, user_name=None))
    before = rows()
    client = {"client_id": "1000.CLIENT1", "client_secret": "secret-1-0123456789abcdef"}

    for value in HOSTILE:
        probes = [
            make_token(id=value),
            make_token(user_name=value),
            make_token(access_token=value),
            make_token(**client, grant_token=value),
            make_token(**client, refresh_token=value),
        ]
        for probe in probes:
            assert store.find_token(probe) is None
        for call in (store.find_token_by_id, store.delete_token):
            error = token_store_error(lambda call=call, value=value: call(value))
            if unstorable("id", value):
                assert_not_quoted(error, value)

    assert rows() == before


@pytest.mark.parametrize("field", FIELDS)
def test_a_field_holding_an_int_is_refused_clearly(
    store: SQLAlchemyTokenStore, rows: Rows, field: str
) -> None:
    token = full_token(1, **{field: 12345})  # type: ignore[arg-type]
    error = token_store_error(lambda: store.save_token(token))
    assert f"{field} must be a str, got int" in error.error_message
    assert rows() == []


@pytest.mark.parametrize("bad", [12345, None, b"abc", 1.5, ["id"]])
def test_ids_of_the_wrong_type_are_refused_clearly(
    store: SQLAlchemyTokenStore, bad: object
) -> None:
    for call in (store.find_token_by_id, store.delete_token):
        error = token_store_error(lambda call=call: call(bad))
        assert f"got {type(bad).__name__}" in error.error_message


@pytest.mark.parametrize("bad", [None, "1000.access", {"access_token": "x"}, 42, object()])
def test_things_that_are_not_tokens_are_refused_clearly(
    store: SQLAlchemyTokenStore, rows: Rows, bad: object
) -> None:
    for call in (store.save_token, store.find_token):
        error = token_store_error(lambda call=call: call(bad))
        assert f"expects an OAuthToken, got {type(bad).__name__}" in error.error_message
    assert rows() == []
