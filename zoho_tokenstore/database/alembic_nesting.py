"""Gives a host's running Alembic migration ``alembic.context`` and ``alembic.op`` back after ours.

``alembic.context`` and ``alembic.op`` forward to one running migration at a time. Our run, nested in
a host's revision (``upgrade(op.get_bind())``), installs its own and removes them when it ends, so
the host's revision could not use ``op`` afterwards and its env.py would fail on exit.

Reach-in: Alembic has no public way to hand the modules back to an outer run (only entering a new
``EnvironmentContext`` or ``Operations.context`` installs one), so this re-installs the outer
objects with ``ModuleClsProxy._install_proxy``, the method those two call.
"""

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
