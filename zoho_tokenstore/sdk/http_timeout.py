"""A timeout on the SDK's own OAuth token request, in the calling thread only, as the SDK posts
with none; a reach-in (docs/sdk-generations.md lists why and how)."""

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
    """Within the block, the SDK's token requests from this thread time out after ``seconds``,
    for connecting and for each wait for response data (``requests``' timeout)."""
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
