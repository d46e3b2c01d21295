"""The public testing kit: the ``zoho_standin`` fixture as a user's test suite sees it.

The user's tests are the ones docs/testing-kit.md shows; pytester runs them in a project of their
own, where only the installed plugin (the ``pytest11`` entry point) provides the fixture.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.util.utility import Utility

from doc_files import doc_files, write_files
from sdk_generations import sdk_records_take_no_module, sdk_save_errors_propagate
from sdk_helpers import get_leads, lead_descriptions
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.sdk.tokens import SDK_FINDS_USER
from zoho_tokenstore.testing import StandInKit, StandInRequest, running_kit
from zoho_tokenstore.testing.standin_zoho import SDK_API_VERSION

pytest_plugins = ["pytester"]

STANDIN_TOKEN = re.compile(r"1000\.[0-9a-f]{32}\.[0-9a-f]{32}")

FAILING_STORE_TESTS = """
from zoho_tokenstore import SQLAlchemyTokenStore


class FailingStore(SQLAlchemyTokenStore):
    def save_token(self, token):
        raise RuntimeError("disk full; secret=hunter2-in-the-message")


def test_login_with_a_store_that_cannot_save(zoho_standin, tmp_path):
    with FailingStore(f"sqlite:///{tmp_path}/t.db", auto_upgrade=True) as store:
        zoho_standin.initialize_sdk(store)  # the SDK swallows the failure and carries on


def test_expecting_the_failure(zoho_standin, tmp_path):
    with FailingStore(f"sqlite:///{tmp_path}/t.db", auto_upgrade=True) as store:
        zoho_standin.initialize_sdk(store)
    [error] = zoho_standin.take_sdk_errors()
    assert error.msg == "Exception in saving tokens"
"""


@sdk_records_take_no_module
def test_the_documented_user_tests_pass(pytester: pytest.Pytester) -> None:
    write_files(pytester.path, doc_files("testing-kit.md", "user project"))
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


@sdk_save_errors_propagate(raises=AssertionError)  # the users' tests fail another way
def test_a_store_that_fails_to_save_fails_the_users_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_failing=FAILING_STORE_TESTS)
    result = pytester.runpytest("-q", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1)  # the first test errors in the fixture's teardown
    # The fixture names the error by type only: a store's exception text can carry anything.
    result.stdout.re_match_lines(
        [r"^the Zoho SDK logged errors:$", r"^Exception in saving tokens RuntimeError$"],
        consecutive=True,
    )


def test_the_fixture_drives_the_sdk_with_a_store_on_every_backend(
    zoho_standin: StandInKit, db_url: URL
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        token = zoho_standin.initialize_sdk(store)
        assert lead_descriptions(get_leads()) == [f"fetched by {zoho_standin.user.user_name}"]
        [stored] = store.get_tokens()
    assert stored.get_id() == token.get_id()
    assert stored.get_user_signature().get_name() == zoho_standin.user.user_name
    assert zoho_standin.calls["token:authorization_code"] == 1
    requests = zoho_standin.requests
    assert requests[0] == StandInRequest("POST", "/oauth/v2/token", 200)
    # The SDK named the user (8_0-6_0); zohocrmsdk5_0 never asks, the kit's token names her.
    assert (StandInRequest("GET", f"/crm/{SDK_API_VERSION}/users", 200) in requests) is (
        SDK_FINDS_USER
    )
    assert requests[-1] == StandInRequest("GET", f"/crm/{SDK_API_VERSION}/Leads", 200)
    assert not any(STANDIN_TOKEN.search(r.path) for r in requests)
    assert zoho_standin.sdk_errors == []


def test_unauthorized_requests_are_recorded_with_their_status(
    zoho_standin: StandInKit, tmp_path: Path
) -> None:
    with SQLAlchemyTokenStore(f"sqlite:///{tmp_path}/t.db", auto_upgrade=True) as store:
        zoho_standin.initialize_sdk(store)
        get_leads()  # the SDK fetches the field metadata once, with the valid token
        zoho_standin.server.invalidate_access_tokens()  # Zoho forgot it; the SDK's expiry says valid
        assert get_leads().get_status_code() == 401
    assert zoho_standin.requests[-1] == StandInRequest("GET", f"/crm/{SDK_API_VERSION}/Leads", 401)
    zoho_standin.take_sdk_errors()  # whatever the SDK logged about the 401


def test_running_kit_restores_the_callers_sdk_state(tmp_path: Path) -> None:
    with running_kit(tmp_path / "outer") as outer:
        store = SQLAlchemyTokenStore(f"sqlite:///{tmp_path}/outer.db", auto_upgrade=True)
        outer.initialize_sdk(store)
        get_leads()
        callers = Initializer.initializer
        caches = (Utility.module_api_name, dict(Utility.api_supported_modules))
        level = logging.getLogger("SDKLogger").level

        with running_kit(tmp_path / "inner") as inner:
            assert Initializer.initializer is None  # the inner kit starts on a clean SDK
            inner_store = SQLAlchemyTokenStore(f"sqlite:///{tmp_path}/inner.db", auto_upgrade=True)
            inner.initialize_sdk(inner_store, logger=None)
            logging.getLogger("SDKLogger").setLevel(logging.DEBUG)
            assert Initializer.initializer is not callers
            inner_store.close()

        assert Initializer.initializer is callers
        assert (Utility.module_api_name, Utility.api_supported_modules) == caches
        assert logging.getLogger("SDKLogger").level == level
        assert lead_descriptions(get_leads()) == [f"fetched by {outer.user.user_name}"]
        store.close()
    assert Initializer.initializer is None
