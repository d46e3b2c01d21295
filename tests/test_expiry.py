"""One expiry rule for every reader: ASCII digits (epoch milliseconds) are an expiry, nothing else is.

A row some other program wrote with an expiry that is not one is refused by the store's SDK-facing
calls with ``SDKException(TOKEN_STORE)`` naming the row, and shown and kept by the operator's tools.
"""

from __future__ import annotations

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from databases import url_arg
from direct_db import insert_row, read_rows
from token_factory import fields_of, full_token, make_token, valid_expiry
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main
from zoho_tokenstore.core.expiry import parse_expiry

NOT_AN_EXPIRY = "²³"  # str.isdigit() says yes; int() raises


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1700000000000", 1_700_000_000_000),
        ("0", 0),
        ("9" * 20, int("9" * 20)),
        (None, None),
        ("", None),
        ("²³", None),  # superscripts: isdigit() but not int()
        ("١٢٣", None),  # Arabic-Indic digits: int() reads 123, the SDK never writes them
        ("+12", None),
        ("-12", None),
        (" 12", None),
        ("12 ", None),
        ("1.5", None),
        ("9" * 21, None),  # longer than the column: never stored, and int() of 5000 digits raises
        ("9" * 5000, None),
    ],
)
def test_parse_expiry(text: str | None, expected: int | None) -> None:
    assert parse_expiry(text) == expected


def _insert_unreadable(url: URL, **overrides: str | None) -> dict[str, str | None]:
    values = {**fields_of(full_token(1)), "id": "7", "expiry_time": NOT_AN_EXPIRY, **overrides}
    insert_row(url, values)
    return values


def _token_store_error(call: object) -> str:
    with pytest.raises(SDKException) as raised:
        call()  # type: ignore[operator]
    assert raised.value.code == "TOKEN_STORE"
    return str(raised.value.error_message)


def test_every_sdk_read_of_the_row_is_refused(db_url: URL, store: SQLAlchemyTokenStore) -> None:
    values = _insert_unreadable(db_url)
    by_user = make_token(user_name=values["user_name"])
    assert "find_token: the stored token with id '7'" in _token_store_error(
        lambda: store.find_token(by_user)
    )
    assert "get_tokens: the stored token with id '7'" in _token_store_error(store.get_tokens)


def test_a_save_with_an_expiry_replaces_it_and_one_without_is_refused(
    db_url: URL, store: SQLAlchemyTokenStore
) -> None:
    values = _insert_unreadable(db_url)
    without = make_token(id="7", access_token="new-access")
    assert "save_token: the stored token with id '7'" in _token_store_error(
        lambda: store.save_token(without)
    )
    assert read_rows(db_url) == [values]  # refused before anything was written
    expiry = valid_expiry()
    store.save_token(make_token(id="7", access_token="new-access", expiry_time=expiry))
    assert store.find_token_by_id("7").get_expires_in() == expiry


def test_tokens_shows_it_as_unreadable_and_purge_keeps_it(
    db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    _insert_unreadable(db_url, refresh_token=None)  # access token only: purge looks at the expiry
    url = url_arg(db_url)
    assert main(["tokens", "--url", url]) == 0
    assert "expiry unreadable" in capsys.readouterr().out
    assert main(["purge", "--url", url]) == 0
    assert "removed 0 token(s)" in capsys.readouterr().out
    assert [row["id"] for row in read_rows(db_url)] == ["7"]
