"""For tests of ``zoho_tokenstore.zcrmsdk``: they need the 2.x SDK (``zcrmsdk``), installed only in
``.venv-sdk2_1``/``.venv-sdk2_0``; ``make test`` skips them, ``make test-sdk2_1`` must run them."""

from __future__ import annotations

import importlib.util
import os
from typing import Final

import pytest

#: Set by ``make test-sdk2_1``/``test-sdk2_0`` (the distribution): a missing zcrmsdk fails there.
EXPECTED: Final = os.environ.get("ZOHO_TOKENSTORE_EXPECT_ZCRMSDK")


#: Whether the 2.x SDK is importable in this run.
INSTALLED: Final = importlib.util.find_spec("zcrmsdk") is not None


def require_zcrmsdk() -> None:
    """At module level: skip the module without zcrmsdk, or fail it where it must run."""
    if INSTALLED:
        return
    message = "zcrmsdk (zohocrmsdk2_1/2_0) is not installed; `make test-sdk2_1` runs these tests"
    if EXPECTED:
        pytest.fail(f"{EXPECTED} was expected: {message}", pytrace=False)
    pytest.skip(message, allow_module_level=True)
