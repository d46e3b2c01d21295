"""Worker processes for the refresh-ahead tests: each one initialises the SDK itself, like a web worker.

Started through ``worker_context`` (a clean fork server), so nothing (SDK globals, pooled
connections) is inherited from the test process; this module must therefore be importable on its own.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from sdk_helpers import get_leads, lead_descriptions
from zoho_tokenstore import RefreshAhead, SQLAlchemyTokenStore
from zoho_tokenstore.sdk.environment import custom_environment
from zoho_tokenstore.testing.sdk_log import recorded_sdk_log
from zoho_tokenstore.testing.standin_zoho import SDK_TIMEOUT_S, TOKEN_PATH


@dataclass(frozen=True)
class WorkerPlan:
    """What one worker process does: which server, database, token and how many API calls."""

    base_url: str
    accounts_base_url: str
    db_url: URL
    token_id: str
    workdir: Path
    refresh_ahead: RefreshAhead | bool = True
    calls: int = 3


def environment(base_url: str, accounts_base_url: str | None = None) -> DataCenter.Environment:
    """An SDK environment for the stand-in at ``base_url`` (accounts optionally elsewhere)."""
    accounts = accounts_base_url or base_url
    return custom_environment(base_url, accounts + TOKEN_PATH, base_url)


def init_sdk_with_id(plan: WorkerPlan, store: SQLAlchemyTokenStore) -> None:
    """``Initializer.initialize`` with ``OAuthToken(id=...)``, as a worker restarting on a stored token."""
    resources = plan.workdir / "sdk-resources"
    resources.mkdir(parents=True, exist_ok=True)
    Initializer.initialize(
        environment=environment(plan.base_url, plan.accounts_base_url),
        token=OAuthToken(id=plan.token_id),
        store=store,
        sdk_config=SDKConfig(
            auto_refresh_fields=False, read_timeout=SDK_TIMEOUT_S, connect_timeout=SDK_TIMEOUT_S
        ),
        resource_path=str(resources),
        logger=Logger.get_instance(Logger.Levels.NOTSET, None),
    )


def api_worker(plan: WorkerPlan, start: Any, results: Any) -> None:
    """Wait for the others, initialise the SDK, make ``plan.calls`` API calls; report what happened."""
    with recorded_sdk_log() as log:
        try:
            with SQLAlchemyTokenStore(plan.db_url, refresh_ahead=plan.refresh_ahead) as store:
                start.wait(240)  # released together, so every worker sees the expired token
                init_sdk_with_id(plan, store)
                seen = [lead_descriptions(get_leads()) for _ in range(plan.calls)]
            errors = log.describe_errors()
            results.put(("sdk logged errors", errors) if errors else ("ok", seen))
        except Exception as exc:  # noqa: BLE001  # reported to the test process
            results.put(("error", f"{type(exc).__name__}: {exc}"))


def lock_holding_worker(plan: WorkerPlan) -> None:
    """Initialise the SDK against an accounts URL that never answers: it holds the lease meanwhile."""
    with SQLAlchemyTokenStore(plan.db_url, refresh_ahead=plan.refresh_ahead) as store:
        init_sdk_with_id(plan, store)


@contextmanager
def black_hole() -> Iterator[tuple[str, Callable[[float], bool]]]:
    """A listening socket that never answers: ``(base_url, connected(timeout))``.

    The kernel completes connects into the backlog, so the SDK sends its request and then waits
    for a reply that never comes. ``connected`` reports whether a client has connected.
    """
    server = socket.create_server(("127.0.0.1", 0), backlog=16)
    accepted: list[socket.socket] = []

    def connected(timeout: float) -> bool:
        server.settimeout(timeout)
        try:
            accepted.append(server.accept()[0])
        except TimeoutError:
            return False
        return True

    try:
        host, port = server.getsockname()[:2]
        yield f"http://{host}:{port}", connected
    finally:
        for connection in accepted:
            connection.close()
        server.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition`` until it holds, failing after ``timeout`` seconds with ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.02)
