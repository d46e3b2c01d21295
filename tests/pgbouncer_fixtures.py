"""Pytest fixtures for a private PgBouncer (transaction pooling) in front of the test PostgreSQL.

Loaded from ``tests/conftest.py``. The ``pgbouncer`` backend (see ``conftest.backend_params``) runs
a test module's store through it; modules opt in by parametrizing their ``backend`` fixture.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pgbouncer import PgBouncer


@pytest.fixture(scope="session")
def pgbouncer() -> Iterator[PgBouncer]:
    """One PgBouncer for the session, started on first use on a free loopback port."""
    from backends import require_backend  # skips locally, fails in CI, without PgBouncer

    require_backend("pgbouncer")
    with PgBouncer() as bouncer:
        yield bouncer
