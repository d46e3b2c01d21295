"""The pytest plugin of zoho_tokenstore: a fixture ``zoho_standin`` with an offline Zoho for your tests.

Installed through the ``pytest11`` entry point, so any project with zoho-tokenstore installed has
the fixture without configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .kit import StandInKit, running_kit


@pytest.fixture
def zoho_standin(tmp_path: Path) -> Iterator[StandInKit]:
    """A running stand-in Zoho (``StandInKit``) on 127.0.0.1, on a clean SDK.

    Afterwards the server is stopped and the SDK's global state is as before the test. The test
    fails if the SDK logged errors it did not take (``take_sdk_errors()``): a failing store's
    ``save_token`` is otherwise silent.
    """
    with running_kit(tmp_path / "zoho-standin") as kit:
        yield kit
        errors = kit.take_sdk_errors()
        if errors:
            pytest.fail(
                "the Zoho SDK logged errors:\n" + "\n".join(e.describe() for e in errors),
                pytrace=False,
            )
