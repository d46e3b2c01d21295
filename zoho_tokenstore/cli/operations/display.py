"""How a stored token is shown to a person or a script, secrets masked: one place for CLI and demo."""

from __future__ import annotations

import time
from typing import Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

from ...core.codec import token_values_unchecked
from ...core.expiry import parse_expiry
from ...core.model import SECRET_COLUMNS, TokenRow, row_values
from ...refresh.failure import RefreshFailure, iso_time

Shown = dict[str, str | None]

#: Values at least this long show their last four characters; shorter ones show nothing.
_SHOW_TAIL_FROM: Final = 20


def mask(value: str | None) -> str:
    """``"-"`` for no value, else ``"***"`` plus at most the last 4 characters of a long value."""
    if value is None or value == "":
        return "-"
    if len(value) < _SHOW_TAIL_FROM:
        return "***"
    return f"***{value[-4:]}"


def masked_fields(token: OAuthToken | TokenRow) -> Shown:
    """Every column of a token or table row, the secret ones (``SECRET_COLUMNS``) masked as ``mask``
    does and empty values ``None`` (for JSON)."""
    values = token_values_unchecked(token) if isinstance(token, OAuthToken) else row_values(token)
    return {
        column: None if value in (None, "") else mask(value) if column in SECRET_COLUMNS else value
        for column, value in values.items()
    }


def token_line(
    token: OAuthToken | TokenRow, now_ms: int | None = None, failure: RefreshFailure | None = None
) -> str:
    """One line for a person: who the token belongs to, which credentials it has, when it expires,
    and its last failed refresh if one is remembered."""
    shown = masked_fields(token)
    line = (
        f"id={shown['id'] or '-'} user={shown['user_name'] or '-'}"
        f" client_id={shown['client_id'] or '-'} client_secret={shown['client_secret'] or '-'}"
        f" refresh={shown['refresh_token'] or '-'} access={shown['access_token'] or '-'}"
        f" grant={shown['grant_token'] or '-'} {expiry_text(shown['expiry_time'], now_ms)}"
        f" api_domain={shown['api_domain'] or '-'}"
    )
    return line if failure is None else f"{line} {failure_text(failure)}"


def failure_text(failure: RefreshFailure) -> str:
    """``refresh failed: CODE at TIME`` and what happens next (consent, or when it is retried)."""
    then = (
        "the user must consent again"
        if failure.must_consent
        else f"{failure.failures} in a row, retried after {iso_time(failure.retry_at_ms or 0)}"
    )
    return f"refresh failed: {failure.error} at {iso_time(failure.failed_at_ms)} ({then})"


def shown_failure(failure: RefreshFailure | None) -> dict[str, str] | None:
    """``tokens --json``'s ``refresh_failure``: ``null`` or Zoho's code and the time (ISO 8601)."""
    return None if failure is None else failure.shown()


def expiry_text(expiry_time: str | None, now_ms: int | None = None) -> str:
    """``expires in N s``, ``expired N s ago`` or ``no expiry`` for the SDK's epoch milliseconds."""
    if not expiry_time:
        return "no expiry"
    expiry = parse_expiry(expiry_time)
    if expiry is None:
        return "expiry unreadable"
    now = int(time.time() * 1000) if now_ms is None else now_ms
    left = (expiry - now) // 1000
    return f"expires in {left} s" if left >= 0 else f"expired {-left} s ago"
