"""The one way tests start worker processes: a clean interpreter per worker, without the wait.

``forkserver`` forks each worker from a server process that imported the worker modules and nothing
else: like ``spawn``, no SDK state or pooled connection comes from the test process, but a worker
starts in milliseconds instead of importing the SDK and SQLAlchemy anew (seconds on a busy machine).
"""

from __future__ import annotations

import multiprocessing
from multiprocessing.context import BaseContext
from typing import Final

#: Imported once by the fork server; every worker function lives in one of these.
WORKER_MODULES: Final = ["process_workers", "refresh_workers", "upgrade_workers"]


def worker_context() -> BaseContext:
    """The ``multiprocessing`` context for worker processes (``forkserver`` where the OS has it)."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(WORKER_MODULES)
    return context
