"""The pytest plugin of zoho_tokenstore: a ``zoho_standin`` fixture with an offline Zoho for tests,
registered through the ``pytest11`` entry point, so it needs no configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .kit import StandInKit, running_kit


@pytest.fixture
def zoho_standin(tmp_path: Path) -> Iterator[StandInKit]:
    """A running stand-in Zoho (``StandInKit``) on 127.0.0.1, on a clean SDK restored afterwards;
    the test fails on SDK errors it did not take: a failing ``save_token`` is otherwise silent."""
    with running_kit(tmp_path / "zoho-standin") as kit:
        yield kit
        errors = kit.take_sdk_errors()
        if errors:
            pytest.fail(
                "the Zoho SDK logged errors:\n" + "\n".join(e.describe() for e in errors),
                pytrace=False,
            )
