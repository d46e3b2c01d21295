"""Which backends a test may use: a server that does not answer skips locally, but fails in CI.

CI must never pass by testing less, so ``CI`` set in the environment turns a skip into a failure.
``pgbouncer`` is PostgreSQL reached through a private PgBouncer in transaction pooling mode; a test
module opts in to it with ``backend_params(pgbouncer=True)``.
"""

from __future__ import annotations

import os
from typing import Any, Final

import pytest

from databases import BACKENDS, server_problem
from pgbouncer import pgbouncer_problem

IN_CI: Final = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_server_checks: dict[str, str | None] = {}


def server_of(backend: str) -> str:
    """The database server a backend runs on (PgBouncer fronts PostgreSQL)."""
    return "postgresql" if backend == "pgbouncer" else backend


def require_backend(backend: str) -> None:
    """Skip (locally) or fail (in CI) when the backend's server is not reachable."""
    if backend == "sqlite":
        return
    if backend not in _server_checks:
        _server_checks[backend] = server_problem(server_of(backend))
        if backend == "pgbouncer" and _server_checks[backend] is None:
            _server_checks[backend] = pgbouncer_problem()
    problem = _server_checks[backend]
    if problem is not None:
        if IN_CI:
            pytest.fail(f"CI must test every backend: {problem}")
        pytest.skip(problem)


def backend_params(*, pgbouncer: bool = False) -> list[Any]:
    """The ``backend`` parameters; with ``pgbouncer``, also PostgreSQL through PgBouncer.

    A module opts in by defining its own ``backend`` fixture with ``backend_params(pgbouncer=True)``;
    ``db_url`` and ``empty_db_url`` then reach PostgreSQL through a transaction-pooling PgBouncer.
    """
    params = [pytest.param(b, marks=getattr(pytest.mark, b)) for b in BACKENDS]
    if pgbouncer:
        marks = [pytest.mark.postgresql, pytest.mark.pgbouncer]
        params.append(pytest.param("pgbouncer", marks=marks))
    return params


def server_params() -> list[Any]:
    """The server backends as parameters, each marked with its backend."""
    return [pytest.param(b, marks=getattr(pytest.mark, b)) for b in BACKENDS if b != "sqlite"]


#: For tests that need ``db_url`` (which follows ``backend``) on the server backends only.
SERVER_BACKENDS: Final = pytest.mark.parametrize("backend", server_params(), indirect=True)
