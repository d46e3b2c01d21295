"""One error base: what the package raises is a ``TokenStoreError``, the SDK's
``SDKException(code="TOKEN_STORE")`` with the CLI's exit status, and its message never quotes a cause."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pickle
import pkgutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

import zoho_tokenstore
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.core.errors import TOKEN_STORE, TokenStoreError, UsageError, store_error
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.database.urls import DatabaseURLError
from zoho_tokenstore.importing import (
    AdoptionRefusedError,
    NotAFileStoreError,
    NotATokenTableError,
    check_adoptable,
    read_filestore,
    read_table,
)
from zoho_tokenstore.store.transactions import RowVanished

_ZCRMSDK_INSTALLED = importlib.util.find_spec("zcrmsdk") is not None
#: The modules (with a trailing dot) that import the 2.x SDK.
_NEED_ZCRMSDK = ("zoho_tokenstore.zcrmsdk.", "zoho_tokenstore.testing.zcrmsdk_standin.")

#: Exception classes of the package that are not ``TokenStoreError``s, each for a stated reason.
OUTSIDE_THE_BASE = {
    # Must pass through `except SDKException` on its way to the store (see its comment).
    "zoho_tokenstore.encryption.cipher.UnreadableValue",
    # Application code shipped as an example: it raises before any store exists.
    "zoho_tokenstore.examples.real_zoho_init.MissingSettingsError",
}


def _package_exceptions() -> Iterator[type[BaseException]]:
    """Every exception class defined in a module of the package (warnings are no errors)."""
    prefix = f"{zoho_tokenstore.__name__}."
    for module_info in pkgutil.walk_packages(zoho_tokenstore.__path__, prefix):
        needs_zcrmsdk = f"{module_info.name}.".startswith(_NEED_ZCRMSDK)
        if needs_zcrmsdk and not _ZCRMSDK_INSTALLED:
            continue  # the 2.x store needs zcrmsdk (`make test-sdk2_1` walks it)
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, BaseException)
                and not issubclass(cls, Warning)
                and cls.__module__ == module.__name__
            ):
                yield cls


def _raised(call: Callable[[], Any]) -> TokenStoreError:
    """What ``call`` raises: it must be the base, an ``SDKException`` with code ``TOKEN_STORE``."""
    with pytest.raises(SDKException) as raised:
        call()
    error = raised.value
    assert isinstance(error, TokenStoreError), type(error)
    assert error.code == TOKEN_STORE
    assert error.error_message and "Caused By" not in error.error_message
    return error


@pytest.mark.sqlite
def test_every_exception_class_of_the_package_derives_from_the_base() -> None:
    classes = {f"{cls.__module__}.{cls.__qualname__}": cls for cls in _package_exceptions()}
    assert len(classes) >= 10
    outside = {name for name, cls in classes.items() if not issubclass(cls, TokenStoreError)}
    assert outside == OUTSIDE_THE_BASE
    assert all(issubclass(classes[name], SDKException) for name in classes.keys() - outside)


@pytest.mark.sqlite
def test_the_exit_status_is_1_and_2_for_usage_errors() -> None:
    assert TokenStoreError.exit_status == 1 and UsageError.exit_status == 2
    assert DatabaseURLError.exit_status == 2
    for cls in (AdoptionRefusedError, NotAFileStoreError, NotATokenTableError, RowVanished):
        assert cls.exit_status == 1
    for cls in (DatabaseURLError, AdoptionRefusedError, NotAFileStoreError, NotATokenTableError):
        assert issubclass(cls, ValueError)  # as they were, for callers catching ValueError


@pytest.mark.sqlite
def test_the_cause_is_kept_aside_and_never_quoted() -> None:
    """SDKException appends str(cause) to its message; a driver's text may quote bound values."""
    cause = ValueError("INSERT ... ('1000.secret-refresh-token')")
    error = store_error("saving failed", cause=cause)
    assert type(error) is TokenStoreError
    assert error.cause is cause and error.error_message == "saving failed"
    assert "secret" not in str(error) + repr(error)
    assert str(error) == "Caused By: TOKEN_STORE - saving failed"  # the SDK's own format


@pytest.mark.sqlite
@pytest.mark.parametrize(
    "error",
    [
        TokenStoreError("failed", ValueError("why")),
        DatabaseURLError("bad url"),
        RowVanished(),
        NotAFileStoreError("not a FileStore"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_an_error_survives_pickling(error: TokenStoreError) -> None:
    """A worker process can hand it back: BaseException would rebuild it from SDKException's args."""
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert (copy.code, copy.error_message) == (TOKEN_STORE, error.error_message)
    assert str(copy) == str(error)
    assert repr(copy.cause) == repr(error.cause)


def test_the_stores_errors_are_the_base(db_url: URL, empty_db_url: URL) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        error = _raised(lambda: store.find_token_by_id("no-such-id"))
        assert "no stored token has the id" in error.error_message
        _raised(lambda: store.delete_token("no-such-id"))
    _raised(lambda: store.get_tokens())  # closed
    _raised(lambda: SQLAlchemyTokenStore(empty_db_url))  # no schema
    with SQLAlchemyTokenStore(empty_db_url, check_schema=False) as unchecked:
        failure = _raised(unchecked.get_tokens)  # the table is missing: the database refuses
        assert isinstance(failure.cause, sa_exc.SQLAlchemyError)
        assert "SELECT" not in failure.error_message


def test_url_and_import_errors_are_the_base(db_url: URL, tmp_path: Path) -> None:
    refused = _raised(lambda: upgrade(f"sqlite:///{tmp_path / 'none' / 'x.db'}"))
    assert isinstance(refused, DatabaseURLError) and isinstance(refused, UsageError)
    not_csv = tmp_path / "notes.csv"
    not_csv.write_text("a,b\n1,2\n")
    assert isinstance(_raised(lambda: read_filestore(not_csv)), NotAFileStoreError)
    assert isinstance(_raised(lambda: read_table(db_url, "nosuch")), NotATokenTableError)
    engine = build_engine(db_url)
    try:
        ours = _raised(lambda: check_adoptable(engine, "oauthtoken", "oauthtoken_sdk_backup"))
    finally:
        engine.dispose()
    assert isinstance(ours, AdoptionRefusedError)
    assert "already a zoho_tokenstore table" in ours.error_message
