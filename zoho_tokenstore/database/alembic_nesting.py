"""Gives a host's running Alembic migration ``alembic.context`` and ``alembic.op`` back after
ours, which removes them on exit; a reach-in (docs/sdk-generations.md lists why and its test)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import alembic


@contextmanager
def outer_alembic_run_kept() -> Iterator[None]:
    """Run the block, then put back whatever ``alembic.context`` and ``alembic.op`` forwarded to."""
    outer = [getattr(module, "_proxy", None) for module in (alembic.context, alembic.op)]
    try:
        yield
    finally:
        for proxy in outer:
            if proxy is not None:
                proxy._install_proxy()


__all__ = ["outer_alembic_run_kept"]
