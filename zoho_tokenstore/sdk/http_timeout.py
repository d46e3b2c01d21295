"""A timeout on the SDK's own OAuth token request, in the calling thread only.

The SDK's ``OAuthToken.refresh_access_token`` posts with ``requests.post`` and no timeout
(``oauth_token.py``), so a token endpoint that never answers blocks its thread and keeps its socket
forever. Running it on a helper thread and giving up on it leaks both. Instead, the SDK module's
``requests`` name is pointed at a thin proxy (once, on first use) whose ``post`` adds the timeout
that ``request_timeout`` set for the current thread. Every other call, and every other thread,
reaches ``requests`` unchanged; the SDK still builds, sends and parses the exchange itself.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import requests  # type: ignore[import-untyped, unused-ignore]  # the SDK's HTTP client
from zohocrmsdk.src.com.zoho.api.authenticator import oauth_token

#: What a post whose timeout passed raises (a connect or a read timeout).
TIMEOUT_ERRORS: Final[tuple[type[BaseException], ...]] = (requests.exceptions.Timeout,)

_local = threading.local()
_install_lock: Final = threading.Lock()


class _TimedRequests:
    """Stands in for the ``requests`` module inside ``oauth_token.py``; only ``post`` differs."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def post(self, *args: Any, **kwargs: Any) -> Any:
        """``requests.post``, with this thread's timeout unless the caller passed its own."""
        seconds = getattr(_local, "seconds", None)
        if seconds is not None and kwargs.get("timeout") is None:
            kwargs["timeout"] = seconds
        return self._module.post(*args, **kwargs)


@contextmanager
def request_timeout(seconds: float) -> Iterator[None]:
    """Within the block, the SDK's token requests from this thread time out after ``seconds``.

    The bound applies to connecting and to each wait for response data (``requests``' timeout).
    """
    _install()
    previous = getattr(_local, "seconds", None)
    _local.seconds = seconds
    try:
        yield
    finally:
        _local.seconds = previous


def _install() -> None:
    with _install_lock:
        current = getattr(oauth_token, "requests", None)
        if not isinstance(current, _TimedRequests):
            oauth_token.requests = _TimedRequests(current if current is not None else requests)
