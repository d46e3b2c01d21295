"""delete_token, get_tokens, delete_tokens: exact rows in, exact rows out."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from token_factory import fields_of, full_token
from zoho_tokenstore import SQLAlchemyTokenStore

Rows = Callable[[], list[dict[str, object]]]


def test_delete_token_removes_exactly_that_row(store: SQLAlchemyTokenStore, rows: Rows) -> None:
    keep, drop = full_token(1), full_token(2)
    store.save_token(keep)
    store.save_token(drop)
    store.delete_token(drop.get_id())
    assert [row["id"] for row in rows()] == [keep.get_id()]


def test_delete_token_with_unknown_id_raises(store: SQLAlchemyTokenStore) -> None:
    with pytest.raises(SDKException) as raised:
        store.delete_token("nope")
    assert raised.value.code == "TOKEN_STORE"


def test_get_tokens_returns_every_token_complete(store: SQLAlchemyTokenStore) -> None:
    saved = [full_token(n) for n in (1, 2, 3)]
    for token in saved:
        store.save_token(token)
    listed = store.get_tokens()
    assert sorted((fields_of(t) for t in listed), key=lambda f: str(f["id"])) == sorted(
        (fields_of(t) for t in saved), key=lambda f: str(f["id"])
    )


def test_get_tokens_on_an_empty_store_is_empty(store: SQLAlchemyTokenStore) -> None:
    assert store.get_tokens() == []


def test_delete_tokens_removes_everything(store: SQLAlchemyTokenStore, rows: Rows) -> None:
    for n in (1, 2):
        store.save_token(full_token(n))
    store.delete_tokens()
    assert rows() == []
