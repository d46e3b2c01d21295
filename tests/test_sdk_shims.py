"""Every reach-in past a public API, one named test each: a new SDK, Alembic or SQLAlchemy fails here.

The package touches private names of the Zoho SDK only in ``zoho_tokenstore/sdk/`` (one small
function per shim) and of Alembic and SQLAlchemy only in ``database/alembic_nesting.py`` and
``database/log_safety.py``. Each test checks what its shim relies on and that the shim still works.
SQLite only, so the 7_0, 6_0 and 5_0 runs (``make test-sdk7`` ...) cover every generation.
"""

from __future__ import annotations

import inspect
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import alembic
import pytest
import requests
import sqlalchemy as sa
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from zohocrmsdk.src.com.zoho.api.authenticator import oauth_token
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.util.utility import Utility

from token_factory import valid_expiry
from zoho_tokenstore import upgrade
from zoho_tokenstore.core.codec import token_values_unchecked
from zoho_tokenstore.core.model import COLUMN_NAMES
from zoho_tokenstore.database.alembic_nesting import outer_alembic_run_kept
from zoho_tokenstore.database.log_safety import hide_result_rows
from zoho_tokenstore.database.migrations import alembic_config
from zoho_tokenstore.database.urls import sqlite_file
from zoho_tokenstore.sdk.environment import custom_environment
from zoho_tokenstore.sdk.http_timeout import TIMEOUT_ERRORS, request_timeout
from zoho_tokenstore.sdk.initializer import current_initializer
from zoho_tokenstore.sdk.records import get_records
from zoho_tokenstore.sdk.state import (
    SDK_LOGGER,
    initializers,
    reset_sdk_state,
    set_initializers,
    set_utility_caches,
    utility_caches,
)
from zoho_tokenstore.sdk.token_request import request_refresh
from zoho_tokenstore.sdk.tokens import SDK_FINDS_USER, blank_token
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import TOKEN_PATH, StandInZoho

# -- sdk/tokens.py ---------------------------------------------------------------------------------


def test_blank_token_has_every_field_the_sdk_reads_and_none_set() -> None:
    token = blank_token()
    constructed = OAuthToken(client_id="id", client_secret="secret", refresh_token="refresh")
    # merge_objects copies every private field of a stored token: all must exist on ours.
    assert set(vars(token)) == set(vars(constructed))
    assert token_values_unchecked(token) == dict.fromkeys(COLUMN_NAMES)
    # get_token reads find_user on what the store returns; the constructor's default is True.
    # (zohocrmsdk5_0 has no find_user at all.)
    assert vars(token).get("_OAuthToken__find_user") is (True if SDK_FINDS_USER else None)
    probe = OAuthToken(id="1")
    OAuthToken.merge_objects(probe, token)  # find_token_by_id's path: raises if a field is missing
    assert probe.get_id() == "1"


# -- sdk/http_timeout.py ---------------------------------------------------------------------------


@pytest.fixture
def silent_token_endpoint() -> Iterator[str]:
    """A token URL whose server takes the connection and never answers; closed after 10 s at most.

    Closing resets the waiting connection, so a shim that no longer takes effect fails the test
    with a connection error instead of hanging it.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)  # connections complete in the backlog; nobody accepts or reads them
    guard = threading.Timer(10, listener.close)
    guard.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/oauth/v2/token"
    finally:
        guard.cancel()
        listener.close()


def test_request_timeout_bounds_the_sdks_own_token_request(silent_token_endpoint: str) -> None:
    # The shim swaps the `requests` name of the SDK's oauth_token module; the SDK must still post
    # through that name (refresh_access_token: requests.post(url, ...), no timeout of its own).
    assert getattr(oauth_token, "requests", None) is not None
    token = OAuthToken(client_id="id", client_secret="secret", refresh_token="refresh")
    started = time.monotonic()
    with pytest.raises(SDKException) as raised, request_timeout(0.5):
        token.refresh_access_token(token, silent_token_endpoint)
    elapsed = time.monotonic() - started
    assert isinstance(raised.value.cause, TIMEOUT_ERRORS), repr(raised.value.cause)
    assert elapsed < 5, f"the refresh took {elapsed:.1f} s despite a 0.5 s timeout"


# -- sdk/initializer.py ----------------------------------------------------------------------------


class _SeeingStore(TokenStore):  # type: ignore[misc]
    """Answers every lookup with a valid token (no HTTP) and notes the initializers it ran under."""

    def __init__(self) -> None:
        self.current: list[Any] = []

    def find_token(self, token: OAuthToken) -> OAuthToken:
        self.current.append(current_initializer())
        token.set_access_token("access")
        token.set_expires_in(valid_expiry())
        return token

    def find_token_by_id(self, id: str) -> None:  # noqa: A002  # the SDK's parameter name
        return None

    def save_token(self, token: OAuthToken) -> None:
        pass

    def delete_token(self, id: str) -> None:  # noqa: A002
        pass

    def get_tokens(self) -> list[OAuthToken]:
        return []

    def delete_tokens(self) -> None:
        pass


def test_current_initializer_is_switch_users_new_one_during_its_lookup(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    # The shim reads switch_user's local `initializer` (7_0/6_0 make it current only afterwards).
    assert "initializer" in Initializer.switch_user.__code__.co_varnames
    store = _SeeingStore()
    standin_zoho.initialize_sdk(OAuthToken(access_token="first"), store, str(tmp_path))
    first = Initializer.get_initializer()
    assert store.current == [first]
    Initializer.switch_user(token=OAuthToken(access_token="second"))
    switched = Initializer.get_initializer()
    assert switched is not first
    assert store.current == [first, switched]


# -- sdk/environment.py ----------------------------------------------------------------------------


def test_custom_environment_builds_the_sdks_environment_on_every_generation() -> None:
    # 8_0-6_0 take (url, accounts_url, file_upload_url); zohocrmsdk5_0 also a name it only keeps.
    parameters = list(inspect.signature(DataCenter.Environment.__init__).parameters)[1:]
    assert parameters in (["url", "accounts_url", "file_upload_url"], [*parameters[:3], "name"])
    environment = custom_environment(
        "http://api.test", "http://accounts.test/t", "http://files.test"
    )
    assert isinstance(environment, DataCenter.Environment)
    assert (environment.url, environment.accounts_url, environment.file_upload_url) == (
        "http://api.test",
        "http://accounts.test/t",
        "http://files.test",
    )
    assert DataCenter.get("http://api.test") is None  # get_token keeps it, as for the stand-in


# -- sdk/records.py --------------------------------------------------------------------------------


def test_get_records_calls_the_sdks_get_records_on_every_generation(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    # zohocrmsdk5_0: RecordOperations().get_records(module, ...); later: RecordOperations(module).
    constructor = list(inspect.signature(RecordOperations.__init__).parameters)[1:]
    call = list(inspect.signature(RecordOperations.get_records).parameters)[1:]
    assert (constructor, call[0]) in (
        ([], "module_api_name"),
        (["module_api_name"], "param_instance"),
    )
    standin_zoho.add_user("reader@example.com")
    token = standin_zoho.grant_token("reader@example.com")
    standin_zoho.initialize_sdk(token, FileStore(str(tmp_path / "t.csv")), str(tmp_path))
    response = get_records("Leads")
    assert response.get_status_code() == 200
    assert standin_zoho.calls["records"] == 1


# -- sdk/token_request.py --------------------------------------------------------------------------


class _SavesNoted(_SeeingStore):
    """``_SeeingStore`` that notes every token the SDK saves through it."""

    def __init__(self) -> None:
        super().__init__()
        self.saved: list[OAuthToken] = []

    def save_token(self, token: OAuthToken) -> None:
        self.saved.append(token)


def test_request_refresh_fills_the_token_and_saves_nothing(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    # zohocrmsdk5_0's refresh_access_token(store, url) saves through `store`; 8_0-6_0's
    # refresh_access_token(oauth_token, url) only fills it. The shim must save through neither.
    assert list(inspect.signature(OAuthToken.refresh_access_token).parameters)[1] in (
        "store",
        "oauth_token",
    )
    standin_zoho.add_user("refresher@example.com")
    answer = requests.post(
        standin_zoho.base_url + TOKEN_PATH,
        data={
            "grant_type": "authorization_code",
            "client_id": standin_zoho.DEFAULT_CLIENT_ID,
            "client_secret": standin_zoho.DEFAULT_CLIENT_SECRET,
            "code": standin_zoho.issue_grant_code("refresher@example.com"),
        },
        timeout=10,
    ).json()
    store = _SavesNoted()
    standin_zoho.initialize_sdk(OAuthToken(access_token="first"), store, str(tmp_path))
    token = OAuthToken(
        client_id=standin_zoho.DEFAULT_CLIENT_ID,
        client_secret=standin_zoho.DEFAULT_CLIENT_SECRET,
        refresh_token=answer["refresh_token"],
    )
    request_refresh(token, standin_zoho.base_url + TOKEN_PATH)
    assert token.get_access_token() not in (None, answer["access_token"])
    assert int(token.get_expires_in()) > int(valid_expiry()) - 3600_000
    assert standin_zoho.calls["token:refresh_token"] == 1
    assert store.saved == []


# -- sdk/state.py ----------------------------------------------------------------------------------


def test_sdk_state_initializers_are_what_get_initializer_returns(clean_sdk: SdkLogRecorder) -> None:
    shared, local = Initializer(), Initializer()
    set_initializers(shared, None)
    assert Initializer.get_initializer() is shared
    set_initializers(shared, local)  # switch_user's, in this thread only
    assert Initializer.get_initializer() is local
    assert initializers() == (shared, local)
    seen: list[Any] = []
    other = threading.Thread(target=lambda: seen.append(Initializer.get_initializer()))
    other.start()
    other.join()
    assert seen == [shared]
    reset_sdk_state()
    assert initializers() == (None, None)
    assert Initializer.get_initializer() is None


def test_sdk_state_utility_caches_are_the_sdks_class_attributes(clean_sdk: SdkLogRecorder) -> None:
    caches = utility_caches()
    changed = {name: f"changed {name}" for name in caches}
    set_utility_caches(changed)
    assert {name: getattr(Utility, name) for name in caches} == changed
    reset_sdk_state()
    fresh = utility_caches()
    fresh["api_supported_modules"]["Leads"] = "filled"  # the SDK fills it in place
    assert utility_caches()["api_supported_modules"] == {}  # a copy: the SDK's own stays empty
    assert Utility.logger.name == SDK_LOGGER


def test_sdk_state_reset_is_how_a_new_process_starts(clean_sdk: SdkLogRecorder) -> None:
    fresh_process = (
        "import json\n"
        "from zoho_tokenstore.sdk.state import initializers, utility_caches\n"
        "print(json.dumps({'initializers': initializers(), 'utility': utility_caches()}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", fresh_process], capture_output=True, text=True, check=True
    )
    reset_sdk_state()
    expected = {"initializers": list(initializers()), "utility": utility_caches()}
    assert json.loads(result.stdout) == expected


# -- database/alembic_nesting.py -------------------------------------------------------------------


def test_outer_alembic_run_kept_gives_the_host_run_back_its_modules(tmp_path: Path) -> None:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    host_config = Config()
    script = ScriptDirectory.from_config(alembic_config())  # any script folder will do
    try:
        with engine.begin() as connection, EnvironmentContext(host_config, script) as host:
            host.configure(connection=connection, version_table="host_version")
            with Operations.context(host.get_context()) as host_op:
                # What the shim reads and calls on the objects the modules forward to.
                assert getattr(alembic.context, "_proxy", None) is host
                assert getattr(alembic.op, "_proxy", None) is host_op
                assert callable(getattr(host_op, "_install_proxy", None))
                with outer_alembic_run_kept():
                    upgrade(connection)  # our run, nested: it installs its own and removes them
                assert alembic.context.config is host_config
                assert alembic.context.get_context() is host.get_context()
                assert alembic.op.get_bind() is connection
    finally:
        engine.dispose()


# -- database/log_safety.py ------------------------------------------------------------------------


@pytest.mark.parametrize("echo", [None, "debug"])  # a logger at DEBUG, or echo="debug"
def test_hide_result_rows_keeps_rows_out_of_sqlalchemys_log(
    echo: bool | str | None, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")
    query = sa.text("SELECT 'row-' || 'marker-4711'")  # the row's value is not in the SQL
    engine = sa.create_engine("sqlite://", echo=echo)
    store_view = hide_result_rows(engine.execution_options())

    def logged(bind: sa.Engine) -> str:
        caplog.clear()
        with bind.connect() as connection:
            assert connection.execute(query).scalar_one() == "row-marker-4711"
        return caplog.text

    try:
        assert "row-marker-4711" in logged(engine)  # SQLAlchemy logs rows at DEBUG
        shown = logged(store_view)
        assert "SELECT 'row-'" in shown  # statements still logged...
        assert "row-marker-4711" not in shown  # ...but never their rows
        assert "row-marker-4711" in logged(engine)  # the application's engine is unchanged
    finally:
        engine.dispose()


# -- database/urls.py ------------------------------------------------------------------------------


@pytest.mark.parametrize("flag", ["true", "1", "yes", " On ", "T", "false", "0", "no", "off", "n"])
def test_sqlite_uri_flag_is_read_as_sqlalchemys_dialect_reads_it(flag: str) -> None:
    url = sa.make_url(f"sqlite:///file:tokens.db?uri={flag}")
    _, options = url.get_dialect()().create_connect_args(url)
    read_as_uri = not sqlite_file(url).path.startswith("file:")
    assert read_as_uri is bool(options.get("uri", False))


def test_sqlite_uri_flag_that_is_no_boolean_is_refused_as_sqlalchemy_does() -> None:
    url = sa.make_url("sqlite:///file:tokens.db?uri=maybe")
    with pytest.raises(ValueError):
        url.get_dialect()().create_connect_args(url)
    with pytest.raises(ValueError):
        sqlite_file(url)
