"""Pytest fixtures for the stand-in Zoho server and a clean, guarded SDK.

Load with ``pytest_plugins = ["standin_fixtures"]`` in the top-level ``tests/conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sdk_helpers import fail_on_sdk_errors
from zoho_tokenstore.sdk.state import preserved_sdk_state
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder, recorded_sdk_log
from zoho_tokenstore.testing.standin_zoho import StandInZoho


@pytest.fixture
def standin_zoho() -> Iterator[StandInZoho]:
    """A running ``StandInZoho`` on 127.0.0.1, stopped (and its thread joined) afterwards."""
    with StandInZoho() as zoho:
        yield zoho


@pytest.fixture
def sdk_log() -> Iterator[SdkLogRecorder]:
    """Record SDK log output; fail the test if the SDK logged an error nobody took.

    The SDK swallows a failing ``save_token`` and only logs it, so this is what makes a broken
    store fail a test. Call ``sdk_log.take_errors()`` in tests that expect SDK errors.
    """
    with recorded_sdk_log() as recorder:
        yield recorder
        fail_on_sdk_errors(recorder)


@pytest.fixture
def clean_sdk(sdk_log: SdkLogRecorder) -> Iterator[SdkLogRecorder]:
    """Reset the SDK's global state for the test, restore it afterwards; ``sdk_log`` guards its log.

    Restoring also closes the log file handlers the SDK added and puts the logger's level back.
    """
    with preserved_sdk_state():
        yield sdk_log
