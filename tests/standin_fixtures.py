"""The suite's older names for parts of the shipped kit (``zoho_standin``, docs/testing-kit.md).

Loaded with ``pytest_plugins = ["standin_fixtures"]`` in ``tests/conftest.py``; new tests take
``zoho_standin`` itself, which runs each test on a clean SDK and fails it on SDK errors left over.
"""

from __future__ import annotations

import pytest

from zoho_tokenstore.testing import StandInKit, StandInZoho
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder


@pytest.fixture
def standin_zoho(zoho_standin: StandInKit) -> StandInZoho:
    """The kit's running stand-in server, for tests that drive it directly."""
    return zoho_standin.server


@pytest.fixture
def sdk_log(zoho_standin: StandInKit) -> SdkLogRecorder:
    """The kit's record of the SDK's log; errors left in it fail the test."""
    return zoho_standin.sdk_log


@pytest.fixture
def clean_sdk(sdk_log: SdkLogRecorder) -> SdkLogRecorder:
    """The kit's clean SDK state for the test (restored afterwards) and its ``sdk_log``."""
    return sdk_log
