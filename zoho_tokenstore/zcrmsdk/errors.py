"""The 2.x store's errors: a ``TokenStoreError`` that is also the 2.x SDK's ``SDKException``, so
both the package's handlers and a 2.x application's ``except SDKException`` catch it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from zcrmsdk.src.com.zoho.crm.api.exception.sdk_exception import (
    SDKException as ZcrmsdkException,
)

from ..core.errors import TokenStoreError, UsageError


class ZcrmsdkTokenStoreError(ZcrmsdkException, TokenStoreError):  # type: ignore[misc]
    """A ``TokenStoreError`` (code ``TOKEN_STORE``, same message and exit status) that the 2.x
    SDK passes on as its own: it re-raises its ``SDKException`` and wraps anything else."""

    def __init__(self, message: str, cause: BaseException | None = None) -> None:
        TokenStoreError.__init__(self, message, cause)


class ZcrmsdkUsageError(ZcrmsdkTokenStoreError, UsageError):
    """A ``UsageError`` (exit status 2: a URL, option or name is wrong) for the 2.x SDK."""


def as_zcrmsdk_error(error: TokenStoreError) -> ZcrmsdkTokenStoreError:
    """``error`` as a ``ZcrmsdkTokenStoreError`` with the same message, cause and exit status."""
    if isinstance(error, ZcrmsdkTokenStoreError):
        return error
    kind = ZcrmsdkUsageError if isinstance(error, UsageError) else ZcrmsdkTokenStoreError
    return kind(error.error_message, error.cause)


@contextmanager
def zcrmsdk_errors() -> Iterator[None]:
    """Raise the block's ``TokenStoreError`` as a ``ZcrmsdkTokenStoreError``, chained."""
    try:
        yield
    except ZcrmsdkTokenStoreError:
        raise
    except TokenStoreError as exc:
        raise as_zcrmsdk_error(exc) from exc


__all__ = ["ZcrmsdkTokenStoreError", "ZcrmsdkUsageError", "as_zcrmsdk_error", "zcrmsdk_errors"]
