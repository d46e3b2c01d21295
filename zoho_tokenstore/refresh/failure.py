"""What a failed refresh leaves in the token row (revision 0005) and what it means for the next
read: ask Zoho again, back off, or wait for the user to consent again (docs/refresh-coordination.md)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Final

from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants

from ..core.errors import TokenStoreError
from ..core.model import REFRESH_ERROR_CHARS, REFRESH_FAILURE_COLUMNS

#: Zoho's answer for a refresh token it deleted (revoked, password changed, a 21st refresh token):
#: only a new grant token (the user consenting again) helps, so nobody asks Zoho again.
MUST_CONSENT: Final = "invalid_code"

#: Zoho issues at most this many access tokens per refresh token per window (then "Access Denied").
ZOHO_REFRESH_LIMIT: Final = 10
ZOHO_REFRESH_WINDOW_SECONDS: Final = 600.0

#: The failure columns once a refresh works or a new token is saved: nothing remembered.
CLEARED: Final = dict.fromkeys(REFRESH_FAILURE_COLUMNS)

#: Saving one of these is a new login (a new grant or refresh token): it clears a failure.
_NEW_LOGIN_COLUMNS: Final = ("grant_token", "refresh_token")


@dataclass(frozen=True)
class RefreshFailure:
    """The last failed refresh of one token, as every worker reads it from the row."""

    #: Zoho's error code (``invalid_code``, ``Access Denied``…) or the kind of failure without an
    #: answer (``ConnectionError``, ``ReadTimeout``…); never a token or secret.
    error: str
    #: Epoch milliseconds of the failure.
    failed_at_ms: int
    #: Failed refreshes in a row.
    failures: int
    #: Epoch milliseconds before which nobody asks Zoho; ``None``: not before a new token is saved.
    retry_at_ms: int | None

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> RefreshFailure | None:
        """The failure a result row (with the failure columns) records, ``None`` if none."""
        error = row["refresh_error"]
        if error is None:
            return None
        retry_at = row["refresh_retry_at"]
        return cls(
            error=str(error),
            failed_at_ms=int(row["refresh_failed_at"] or 0),
            failures=int(row["refresh_failures"] or 1),
            retry_at_ms=int(retry_at) if retry_at is not None else None,
        )

    @property
    def must_consent(self) -> bool:
        """True when only a new login helps: no worker asks Zoho until a new token is saved."""
        return self.retry_at_ms is None

    def blocks(self, now_ms: int) -> bool:
        """Whether a worker must not ask Zoho at ``now_ms``."""
        return self.retry_at_ms is None or now_ms < self.retry_at_ms

    def columns(self) -> dict[str, Any]:
        """The failure columns' values that record this failure."""
        return {
            "refresh_error": self.error,
            "refresh_failed_at": self.failed_at_ms,
            "refresh_failures": self.failures,
            "refresh_retry_at": self.retry_at_ms,
        }

    def shown(self) -> dict[str, str]:
        """What ``zoho-tokenstore tokens --json`` shows: the code and the time (ISO 8601, UTC)."""
        return {"error": self.error, "at": iso_time(self.failed_at_ms)}


class RefreshFailedError(TokenStoreError):
    """A read found the token expired (or about to) and its refresh failed: Zoho refused it or did
    not answer, now or in a failure remembered in the row, so the store did not ask Zoho again."""

    def __init__(
        self, token_id: str, failure: RefreshFailure, now_ms: int, happened: str | None = None
    ) -> None:
        #: The token's id, Zoho's error code (``failure.error``) and whether the user must consent.
        self.token_id = token_id
        self.failure = failure
        super().__init__(_message(token_id, failure, now_ms, happened))


def failure_code(error: SDKException) -> str:
    """Zoho's error code from the SDK's refusal, else the kind of failure (the cause's class name);
    printable, at most ``REFRESH_ERROR_CHARS`` characters."""
    while isinstance(error, TokenStoreError) and isinstance(error.cause, SDKException):
        error = error.cause  # our timeout wraps the SDK's error
    if error.code == Constants.INVALID_TOKEN_ERROR:
        code = str(error.error_message)  # parse_response: str(answer["error"])
    elif error.cause is not None:
        code = type(error.cause).__name__
    else:
        code = str(error.code)
    shown = "".join(c if c.isprintable() else "?" for c in code).strip()
    return shown[:REFRESH_ERROR_CHARS] or "unknown"


def with_failure_cleared(changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` plus clearing the failure when they save a grant or refresh token (a new login)."""
    if any(changes.get(column) for column in _NEW_LOGIN_COLUMNS):
        return {**changes, **CLEARED}
    return dict(changes)


def iso_time(epoch_ms: int) -> str:
    """Epoch milliseconds as ISO 8601 in UTC, to the second."""
    return datetime.fromtimestamp(epoch_ms / 1000, tz=timezone.utc).isoformat(timespec="seconds")


def masked_user(user_name: str | None) -> str:
    """A user name as logs show it: the first character, ``***``, then from the ``@`` on."""
    if not user_name:
        return "-"
    local, at, rest = user_name.partition("@")
    return f"{local[:1]}***{at}{rest}"


def _message(token_id: str, failure: RefreshFailure, now_ms: int, happened: str | None) -> str:
    prefix = f"refresh-ahead: {happened}; " if happened else "refresh-ahead: "
    when = iso_time(failure.failed_at_ms)
    if failure.must_consent:
        return (
            f"{prefix}Zoho refused to refresh token {token_id} with {failure.error} at {when}: its "
            "refresh token is gone (the user revoked access, changed their password, or a 21st "
            "refresh token replaced it). The user must consent again: save the token of a new "
            "grant token for this user (a new login); until then no request goes to Zoho"
        )
    retry_at = failure.retry_at_ms or now_ms
    wait_s = max(0, -(-(retry_at - now_ms) // 1000))
    return (
        f"{prefix}refreshing token {token_id} failed ({failure.error}) at {when}, "
        f"{failure.failures} time(s) in a row, and the token has expired; the store asks Zoho "
        f"again after {iso_time(retry_at)} (in {wait_s} s)"
    )
