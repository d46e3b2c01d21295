"""Helpers for tests that drive the real zohocrmsdk against the local ``StandInZoho`` server.

The SDK keeps global state (``Initializer``, ``Utility`` caches, the ``SDKLogger`` logger), writes
field metadata under ``resource_path`` and, by default, into the working directory. These helpers
keep all of that inside a test's own directory; ``zoho_tokenstore.testing`` (``preserved_sdk_state``,
``SdkLogRecorder``) undoes the global state and records the SDK's log, for our tests and users' alike.
"""

from __future__ import annotations

import csv
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.record import ResponseWrapper as RecordsWrapper
from zohocrmsdk.src.com.zoho.crm.api.util.api_response import APIResponse

from zoho_tokenstore.sdk.records import get_records
from zoho_tokenstore.testing.standin_zoho import StandInZoho

# Bounds the SDK's CRM requests; its OAuth requests (oauth_token.py) have no timeout at all.

T = TypeVar("T")


def run_at_once(count: int, work: Callable[[int], T], timeout: float = 30.0) -> list[T]:
    """Run ``work(0..count-1)`` on ``count`` threads released together; re-raise any failure."""
    barrier = threading.Barrier(count, timeout=timeout)

    def start(index: int) -> T:
        barrier.wait()
        return work(index)

    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = [pool.submit(start, index) for index in range(count)]
        return [future.result(timeout=timeout) for future in futures]


def login(zoho: StandInZoho, store: TokenStore, workdir: Path, email: str) -> OAuthToken:
    """A first login: ``Initializer.initialize`` with a fresh grant code for ``email``; the token."""
    token = zoho.grant_token(email)
    init_sdk(zoho, token, store, workdir)
    return token


def init_sdk(
    zoho: StandInZoho,
    token: OAuthToken,
    store: TokenStore,
    workdir: Path,
    log_file: Path | None = None,
) -> None:
    """``Initializer.initialize`` against ``zoho``, with field metadata kept under ``workdir``.

    ``log_file``, if given, makes the SDK log INFO and above there (it never logs full tokens).
    """
    resources = workdir / "sdk-resources"
    resources.mkdir(parents=True, exist_ok=True)
    if log_file is None:
        logger = Logger.get_instance(Logger.Levels.NOTSET, None)
    else:
        logger = Logger.get_instance(Logger.Levels.INFO, str(log_file))
    zoho.initialize_sdk(token, store, str(resources), logger)


def get_leads() -> APIResponse:
    """``RecordOperations("Leads").get_records()`` through the current initializer."""
    response: APIResponse = get_records("Leads")
    return response


def lead_descriptions(response: APIResponse) -> list[str]:
    """The Description of each lead in a successful response; the stand-in puts the caller in it."""
    assert response is not None, "the SDK returned no response"
    assert response.get_status_code() == 200, _describe(response)
    body = response.get_object()
    assert isinstance(body, RecordsWrapper), _describe(response)
    return [str(record.get_key_value("Description")) for record in body.get_data()]


def error_code(response: APIResponse) -> str:
    """The Zoho error code (e.g. ``INVALID_TOKEN``) of a failed SDK response."""
    assert response is not None, "the SDK returned no response"
    return str(response.get_object().get_code().get_value())


def _describe(response: APIResponse) -> str:
    body = response.get_object()
    code = getattr(body, "get_code", None)
    detail = code().get_value() if code is not None else type(body).__name__
    return f"status {response.get_status_code()}: {detail}"


def read_file_store(path: Path) -> list[dict[str, str]]:
    """The rows of an SDK ``FileStore`` CSV, as dicts keyed by its header."""
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))
