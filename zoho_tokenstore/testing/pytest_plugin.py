"""The pytest plugin of zoho_tokenstore: a ``zoho_standin`` fixture with an offline Zoho for tests,
registered through the ``pytest11`` entry point, so it needs no configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .kit import StandInKit, running_kit
from .sdk_log import SdkLogRecorder


@pytest.fixture
def zoho_standin(tmp_path: Path) -> Iterator[StandInKit]:
    """A running stand-in Zoho (``StandInKit``) on 127.0.0.1, on a clean SDK restored afterwards;
    the test fails on SDK errors it did not take: a failing ``save_token`` is otherwise silent."""
    with running_kit(tmp_path / "zoho-standin") as kit:
        yield kit
        fail_on_sdk_errors(kit.sdk_log)


def fail_on_sdk_errors(sdk_log: SdkLogRecorder) -> None:
    """Fail the running test if the SDK logged errors nobody took (``zoho_standin`` checks this
    after each test); each error shows by code and message, or an exception by its type only."""
    if sdk_log.errors:
        described = "\n".join(e.describe() for e in sdk_log.errors)
        pytest.fail(f"the Zoho SDK logged errors:\n{described}", pytrace=False)
