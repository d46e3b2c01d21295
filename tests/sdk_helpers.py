"""Helpers for tests that drive the real zohocrmsdk against the local ``StandInZoho`` server.

The SDK keeps global state (``Initializer``, ``Utility`` caches, the ``SDKLogger`` logger), writes
field metadata under ``resource_path`` and, by default, into the working directory. These helpers
keep all of that inside a test's own directory and undo it afterwards.
"""

from __future__ import annotations

import csv
import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.record import ResponseWrapper as RecordsWrapper
from zohocrmsdk.src.com.zoho.crm.api.util.api_response import APIResponse
from zohocrmsdk.src.com.zoho.crm.api.util.utility import Utility

from zoho_tokenstore.testing.standin_zoho import StandInZoho

SDK_LOGGER = "SDKLogger"
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


def reset_sdk() -> None:
    """Forget the SDK's initializers and module caches so one test cannot leak into the next."""
    Initializer.initializer = None
    Initializer.LOCAL.init = None  # switch_user's thread-local; only this thread's copy
    Utility.module_api_name = None
    Utility.api_supported_modules = {}
    Utility.new_file = False
    Utility.get_modified_modules = False
    Utility.force_refresh = False


def grant_token(zoho: StandInZoho, email: str) -> OAuthToken:
    """An ``OAuthToken`` carrying a fresh grant code for ``email`` from the default client."""
    return OAuthToken(
        client_id=zoho.DEFAULT_CLIENT_ID,
        client_secret=zoho.DEFAULT_CLIENT_SECRET,
        grant_token=zoho.issue_grant_code(email),
    )


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
    return RecordOperations("Leads").get_records()


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


@dataclass(frozen=True)
class SdkLogEntry:
    """One SDK log call as made: level, message template and the raw arguments."""

    levelno: int
    msg: str
    args: tuple[Any, ...]


class SdkLogRecorder(logging.Filter):
    """A filter on the ``SDKLogger`` logger that records every call and defuses malformed ones.

    The SDK logs ``logger.error(msg, ex)`` with no ``%s`` (oauth_token.py, after a failing
    ``save_token``). Formatting that raises, and pytest's capture handler re-raises it as a
    TypeError that hides the real error. A logger filter runs before any handler (pytest 9 also
    attaches its handlers to non-propagating loggers), so it can keep the raw arguments and give
    the handlers a message that formats.
    """

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[SdkLogEntry] = []

    def filter(self, record: logging.LogRecord) -> bool:
        """Record the call; rewrite a message whose arguments do not fit its template."""
        args = record.args if isinstance(record.args, tuple) else (record.args,)
        self.entries.append(SdkLogEntry(record.levelno, str(record.msg), args))
        try:
            record.getMessage()
        except (TypeError, ValueError):
            record.msg = " ".join([str(record.msg).replace("%", "%%")] + ["%r"] * len(args))
            record.args = args
        return True

    @property
    def errors(self) -> list[SdkLogEntry]:
        """Calls at ERROR or above, such as "Exception in saving tokens"."""
        return [e for e in self.entries if e.levelno >= logging.ERROR]

    def take_errors(self) -> list[SdkLogEntry]:
        """Return and forget the error calls, for tests that expect the SDK to log errors."""
        errors = self.errors
        self.entries = [e for e in self.entries if e.levelno < logging.ERROR]
        return errors

    def describe_errors(self) -> str:
        """A readable summary: each message with the exception objects the SDK passed."""
        return "\n".join(f"{e.msg} {e.args!r}" for e in self.errors)


def fail_on_sdk_errors(recorder: SdkLogRecorder) -> None:
    """Fail the current test if the SDK logged errors that the test did not take."""
    if recorder.errors:
        pytest.fail("the SDK logged errors:\n" + recorder.describe_errors(), pytrace=False)


@contextmanager
def recorded_sdk_log() -> Iterator[SdkLogRecorder]:
    """Record ``SDKLogger`` calls; afterwards remove the filter and close SDK-added file handlers."""
    logger = logging.getLogger(SDK_LOGGER)
    before = set(logger.handlers)
    level = logger.level
    recorder = SdkLogRecorder()
    logger.addFilter(recorder)
    try:
        yield recorder
    finally:
        logger.removeFilter(recorder)
        # Initializer.initialize adds a FileHandler per call when a log file is configured.
        for handler in list(logger.handlers):
            if handler not in before and isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
                handler.close()
        logger.setLevel(level)  # SDKLogger.initialize sets it on every initialize
