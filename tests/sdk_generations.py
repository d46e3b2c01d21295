"""Which SDK generation this test run drives, and marks for what an older generation cannot do.

The suite runs on zohocrmsdk8_0 (``make test``) and on 7_0, 6_0 and 5_0 (``make test-sdk7``,
``make test-sdk6``, ``make test-sdk5``), each in its own venv. A test that cannot hold on a
generation is marked with the SDK's reason (strict xfail: visible in ``-ra``, and an SDK fix turns
it into a failure to notice), never skipped.
"""

from __future__ import annotations

from typing import Final

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from zoho_tokenstore.sdk.generation import GENERATIONS, ZOHOCRMSDK
from zoho_tokenstore.sdk.tokens import SDK_FINDS_USER
from zoho_tokenstore.testing.standin_zoho import SDK_API_VERSION

#: The ``zohocrmsdk`` distribution of each CRM API version (``GENERATIONS``' rows).
DISTRIBUTIONS: Final = {
    g.api_version: g.distribution for g in GENERATIONS if g.import_package == ZOHOCRMSDK
}

#: The generation's distribution name, from the CRM API version it calls.
SDK_DISTRIBUTION: Final = DISTRIBUTIONS.get(SDK_API_VERSION, f"unknown ({SDK_API_VERSION})")

#: What the SDK asks the stand-in to name the user after a token exchange or a first use of an
#: access token (8_0-6_0: ``Utility().get_user_name``); zohocrmsdk5_0 asks nothing (no find_user).
USER_LOOKUP_CALLS: Final[dict[str, int]] = {"users": 1, "org": 1} if SDK_FINDS_USER else {}

#: zohocrmsdk7_0, 6_0 and 5_0: ``OAuthToken.revoke`` starts with ``OAuthToken()``, which raises.
SDK_REVOKE_BROKEN: Final = SDK_API_VERSION in ("v7", "v6", "v5")

sdk_revoke_cannot_work = pytest.mark.xfail(
    SDK_REVOKE_BROKEN,
    reason=(
        f"{SDK_DISTRIBUTION}: OAuthToken.revoke builds OAuthToken() with no arguments, which raises "
        "MANDATORY VALUE ERROR before any store is asked (use zoho_tokenstore.revoke_token)"
    ),
    raises=SDKException,
    strict=True,
)

#: zohocrmsdk5_0 saves inside its token requests and lets a failing ``save_token`` propagate.
SDK_SAVE_ERRORS_PROPAGATE: Final = SDK_API_VERSION == "v5"


def sdk_save_errors_propagate(
    raises: type[BaseException] = SDKException,
) -> pytest.MarkDecorator:
    """Strict xfail on 5_0 for a test of the SDK logging (not raising) a failing save."""
    return pytest.mark.xfail(
        SDK_SAVE_ERRORS_PROPAGATE,
        reason=(
            f"{SDK_DISTRIBUTION}: generate_access_token/refresh_access_token call "
            "store.save_token(self) inside their try and raise its error as SDKException "
            "(oauth_token.py); nothing is logged, the application gets the error"
        ),
        raises=raises,
        strict=True,
    )


sdk_has_no_find_user = pytest.mark.xfail(
    not SDK_FINDS_USER,
    reason=(
        f"{SDK_DISTRIBUTION}: OAuthToken.__init__ has no find_user parameter and get_token never "
        "asks Zoho who the user is (oauth_token.py)"
    ),
    raises=TypeError,
    strict=True,
)

sdk_keeps_the_named_users_row = pytest.mark.xfail(
    not SDK_FINDS_USER,
    reason=(
        f"{SDK_DISTRIBUTION}: get_token never asks Zoho who consented (no find_user in "
        "oauth_token.py), so the app names the user; find_token(self) then matches the stored row by "
        "user_name and the new grant is never exchanged"
    ),
    raises=AssertionError,
    strict=True,
)

sdk_records_take_no_module = pytest.mark.xfail(
    SDK_API_VERSION == "v5",
    reason=(
        f"{SDK_DISTRIBUTION}: RecordOperations.__init__(self) takes no module; get_records takes it "
        "(record_operations.py), so RecordOperations('Leads') in user code raises TypeError"
    ),
    raises=AssertionError,
    strict=True,
)
