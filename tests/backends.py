"""Which backends a test may use: a server that does not answer skips locally, but fails in CI.

CI must never pass by testing less, so ``CI`` set in the environment turns a skip into a failure.
"""

from __future__ import annotations

import os
from typing import Final

import pytest

from databases import server_problem

IN_CI: Final = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_server_checks: dict[str, str | None] = {}


def require_backend(backend: str) -> None:
    """Skip (locally) or fail (in CI) when the backend's server is not reachable."""
    if backend == "sqlite":
        return
    if backend not in _server_checks:
        _server_checks[backend] = server_problem(backend)
    problem = _server_checks[backend]
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI must test every backend: {problem}")
        pytest.skip(problem)
