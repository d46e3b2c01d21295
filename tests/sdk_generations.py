"""Which SDK generation this test run drives, and marks for what an older generation cannot do.

The suite runs on zohocrmsdk8_0 (``make test``) and on 7_0 and 6_0 (``make test-sdk7``,
``make test-sdk6``), each in its own venv. A test that cannot hold on a generation is marked with
the SDK's reason (strict xfail: visible in ``-ra``, and an SDK fix turns it into a failure to
notice), never skipped.
"""

from __future__ import annotations

from typing import Final

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from zoho_tokenstore.testing.standin_zoho import SDK_API_VERSION

#: The generation's distribution name, from the CRM API version it calls.
SDK_DISTRIBUTION: Final = {"v8": "zohocrmsdk8_0", "v7": "zohocrmsdk7_0", "v6": "zohocrmsdk6_0"}.get(
    SDK_API_VERSION, f"unknown ({SDK_API_VERSION})"
)

#: zohocrmsdk7_0 and 6_0: ``OAuthToken.revoke`` starts with ``OAuthToken()``, which raises.
SDK_REVOKE_BROKEN: Final = SDK_API_VERSION in ("v7", "v6")

sdk_revoke_cannot_work = pytest.mark.xfail(
    SDK_REVOKE_BROKEN,
    reason=(
        f"{SDK_DISTRIBUTION}: OAuthToken.revoke builds OAuthToken() with no arguments, which raises "
        "MANDATORY VALUE ERROR before any store is asked (use zoho_tokenstore.revoke_token)"
    ),
    raises=SDKException,
    strict=True,
)
