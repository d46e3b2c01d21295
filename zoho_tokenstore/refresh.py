"""Refresh-ahead: one refresh per token for every thread and process sharing the database.

Zoho issues at most 10 access tokens per refresh token in 10 minutes, yet the SDK refreshes in every
thread and process that sees a token within 5 s of expiry. The store refreshes first instead: a
token within ``margin_seconds`` of expiry is locked (``row_lock``), re-read, refreshed once through
the SDK's own ``OAuthToken.refresh_access_token`` and saved; waiters then read the fresh token, so
the SDK never sees a stale one and never refreshes by itself.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Engine, Table, update
from sqlalchemy import exc as sa_exc
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from .errors import database_error, store_error
from .row_lock import LockWaitTimeout, locked_row
from .sdk_context import current_initializer
from .token_codec import token_from_row, token_values

#: The SDK refreshes a token whose expiry is less than this many milliseconds away (oauth_token.py).
SDK_REFRESH_MARGIN_MS: Final = 5000

#: Columns a refresh changes; everything else in the row stays as it was.
_REFRESHED_COLUMNS: Final = ("access_token", "expiry_time", "refresh_token", "api_domain")

Row = Mapping[Any, Any]

logger = logging.getLogger("zoho_tokenstore")


@dataclass(frozen=True)
class RefreshAhead:
    """How the store refreshes tokens ahead of the SDK (``SQLAlchemyTokenStore(refresh_ahead=...)``).

    Args:
        margin_seconds: refresh a token that expires within this many seconds. Must exceed the SDK's
            own 5 s, and stay well below the token lifetime (Zoho: 1 hour), or every read refreshes.
        lock_timeout_seconds: how long a worker waits for another one's refresh before failing.
            Keep it above ``request_timeout_seconds`` so a slow but healthy refresh is waited for.
        request_timeout_seconds: how long the refresher waits for Zoho's token endpoint (the SDK's
            request itself has no timeout); past it the refresh is abandoned and the lock released.
    """

    margin_seconds: float = 60.0
    lock_timeout_seconds: float = 15.0
    request_timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        if not self.margin_seconds * 1000 > SDK_REFRESH_MARGIN_MS:
            raise ValueError(
                "margin_seconds must exceed the SDK's own 5 s, or the SDK refreshes first"
            )
        if self.lock_timeout_seconds <= 0 or self.request_timeout_seconds <= 0:
            raise ValueError("lock_timeout_seconds and request_timeout_seconds must be positive")


class Refresher:
    """Brings a stored row up to date before the SDK sees it: at most one refresh per expiry."""

    def __init__(self, engine: Engine, table: Table, policy: RefreshAhead) -> None:
        self._engine = engine
        self._table = table
        self._policy = policy
        self._margin_ms = int(policy.margin_seconds * 1000)

    def fresh(self, row: Row) -> Row:
        """``row`` itself unless it is about to expire (no SQL, no HTTP); else the refreshed row.

        Refreshing needs an initialised SDK (for the accounts URL and its settings); without one,
        as in tools and plain store calls, the row is returned as read.
        """
        if not self._stale(row):
            return row
        sdk = _sdk_endpoint(row)
        if sdk is None:
            return row
        initializer, url = sdk
        try:
            return self._refresh_under_lock(row, initializer, url)
        except LockWaitTimeout as exc:
            waited = self._policy.lock_timeout_seconds
            return _usable_or_raise(
                row,
                store_error(
                    f"refresh-ahead: another worker held the token's lock for more than {waited:g} s",
                    cause=exc,
                ),
            )
        except SDKException as exc:
            # Zoho refused (e.g. invalid_code, throttling) or did not answer: nothing was saved.
            return _usable_or_raise(row, exc)
        except sa_exc.SQLAlchemyError as exc:
            raise database_error("refresh-ahead", exc) from exc

    def _refresh_under_lock(self, row: Row, initializer: Any, url: str) -> Row:
        """Lock the row, read it again, and refresh it unless another worker already has."""
        timeout = self._policy.lock_timeout_seconds
        with locked_row(self._engine, self._table, str(row["id"]), timeout) as (
            connection,
            current,
        ):
            if current is None:
                return row  # deleted meanwhile: let the SDK do what it would have done
            if not self._stale(current):
                return current  # another worker refreshed while we waited for the lock
            changes = self._request(current, initializer, url)
            connection.execute(
                update(self._table).where(self._table.c.id == current["id"]).values(changes)
            )
            return {**current, **changes}

    def _stale(self, row: Row) -> bool:
        """Refreshable (refresh token and client known) and without an access token or expiring."""
        if not (row["refresh_token"] and row["client_id"] and row["client_secret"]):
            return False
        if not row["access_token"]:
            return True
        left = _ms_left(row)
        return left is not None and left < self._margin_ms

    def _request(self, row: Row, initializer: Any, url: str) -> dict[str, str]:
        """Ask Zoho for a new access token with the SDK's own code, bounded in time."""
        token = token_from_row(row)
        outcome: list[BaseException | None] = []

        def run() -> None:
            # parse_response reads the SDK settings through the (thread-local) initializer.
            Initializer.LOCAL.init = initializer
            try:
                token.refresh_access_token(token, url)
                outcome.append(None)
            except BaseException as exc:  # noqa: BLE001  # handed to the waiting thread below
                outcome.append(exc)

        # A daemon thread, because requests.post in the SDK has no timeout and may never return.
        worker = threading.Thread(target=run, name="zoho-tokenstore-refresh", daemon=True)
        worker.start()
        worker.join(self._policy.request_timeout_seconds)
        if not outcome:
            seconds = self._policy.request_timeout_seconds
            raise store_error(
                f"refresh-ahead: Zoho's token endpoint did not answer within {seconds:g} s"
            )
        if outcome[0] is not None:
            raise outcome[0]
        values = token_values(token)
        return {c: v for c in _REFRESHED_COLUMNS if (v := values[c]) is not None}


def adopt_refreshed(token: OAuthToken, row: Row) -> None:
    """Give ``token`` the row's current access token and expiry, replacing any stale ones it carries."""
    token.set_access_token(row["access_token"] or None)
    token.set_expires_in(row["expiry_time"] or None)


def _sdk_endpoint(row: Row) -> tuple[Any, str] | None:
    """The SDK initializer of this lookup and its accounts URL, picked as get_token picks them.

    ``current_initializer`` rather than ``Initializer.get_initializer()``: on zohocrmsdk7_0 and 6_0,
    ``switch_user``'s first lookup would otherwise refresh with the previous user's environment.
    """
    initializer = current_initializer()
    if initializer is None:
        return None
    api_domain = row["api_domain"]
    environment = (DataCenter.get(api_domain) if api_domain else None) or initializer.environment
    if environment is None:
        return None
    return initializer, str(environment.accounts_url)


def _usable_or_raise(row: Row, error: SDKException) -> Row:
    """Fall back to the stored token while the SDK would still use it as is; otherwise raise.

    A token more than 5 s from expiry still works, so a failed early refresh costs nothing and is
    retried on the next read. An expired one cannot be used: returning it would make every worker
    retry the same refresh on its own (the burst this module exists to stop), so the error surfaces.
    """
    left = _ms_left(row)
    if row["access_token"] and left is not None and left >= SDK_REFRESH_MARGIN_MS:
        logger.warning("refresh-ahead failed; using the still valid token: %s", error.code)
        return row
    raise error


def _ms_left(row: Row) -> int | None:
    """Milliseconds until the row's access token expires, as the SDK computes it; None if unknown."""
    expiry = row["expiry_time"]
    if not expiry or not str(expiry).isdigit():
        return None
    return int(expiry) - int(time.time() * 1000)
