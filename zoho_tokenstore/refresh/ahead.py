"""Refresh-ahead: one refresh per token for every thread and process sharing the database, as
Zoho limits refreshes and the SDK would refresh in each of them (docs/refresh-coordination.md)."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from sqlalchemy import exc as sa_exc
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from ..core.codec import token_from_row, token_values
from ..core.errors import TokenStoreError, database_error, store_error
from ..core.expiry import parse_expiry
from ..core.model import OAuthTokenRow, TokenRow, token_row
from ..database.profile import EngineProfile
from ..sdk.http_timeout import TIMEOUT_ERRORS, request_timeout
from ..sdk.initializer import current_initializer
from ..sdk.token_request import request_refresh
from .lease import LeaseState, RefreshLeases

#: The SDK refreshes a token whose expiry is less than this many milliseconds away (oauth_token.py).
SDK_REFRESH_MARGIN_MS: Final = 5000

#: Columns a refresh changes; everything else in the row stays as it was.
_REFRESHED_COLUMNS: Final = ("access_token", "expiry_time", "refresh_token", "api_domain")

#: A lease outlives its holder's longest normal run (connect + response wait) by this much.
LEASE_SLACK_SECONDS: Final = 5.0

#: Waiting workers of other processes re-read the row this often, backing off to the maximum.
_POLL_FIRST_S: Final = 0.05
_POLL_MAX_S: Final = 0.25


logger = logging.getLogger("zoho_tokenstore")


class LeaseWaitTimeout(TokenStoreError):
    """Another worker refreshed the token for longer than the wait bound (``fresh`` reports it)."""


@dataclass(frozen=True)
class RefreshAhead:
    """How the store refreshes tokens ahead of the SDK (``SQLAlchemyTokenStore(refresh_ahead=...)``).

    Args:
        margin_seconds: refresh a token that expires within this many seconds. Must exceed the SDK's
            own 5 s, and stay well below the token lifetime (Zoho: 1 hour), or every read refreshes.
        lock_timeout_seconds: how long a worker waits for another one's refresh before failing.
            Keep it above ``request_timeout_seconds`` so a slow but healthy refresh is waited for.
        request_timeout_seconds: how long the refresher waits to connect to Zoho's token endpoint,
            and for each part of its answer (the SDK's request itself has no timeout); past it the
            refresh is abandoned and the lease released.
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

    @property
    def lease_seconds(self) -> float:
        """How long a claimed lease keeps others waiting if its holder dies: connect + answer + slack."""
        return 2 * self.request_timeout_seconds + LEASE_SLACK_SECONDS


class Refresher:
    """Brings a stored row up to date before the SDK sees it, at most one refresh per expiry; each
    statement is built from ``row_class`` (the store's mapped token class) and its lease class."""

    def __init__(
        self, profile: EngineProfile, row_class: type[OAuthTokenRow], policy: RefreshAhead
    ) -> None:
        self._leases = RefreshLeases(profile, row_class)
        self._policy = policy
        self._margin_ms = int(policy.margin_seconds * 1000)
        self._threads = _KeyedLocks()

    def fresh(self, row: TokenRow) -> TokenRow:
        """``row`` itself unless it is about to expire (no SQL, no HTTP), else the refreshed row;
        without an initialised SDK (tools, plain store calls) ``row`` is returned as read."""
        if not self._stale(row):
            return row
        url = _accounts_url(row)
        if url is None:
            return row
        try:
            return self._refresh_once(row, url)
        except LeaseWaitTimeout as exc:  # before `except SDKException`: it is one too
            waited = self._policy.lock_timeout_seconds
            return _usable_or_raise(
                row,
                store_error(
                    f"refresh-ahead: another worker held the token's refresh for more than {waited:g} s",
                    cause=exc,
                ),
            )
        except SDKException as exc:
            # Zoho refused (e.g. invalid_code, throttling) or did not answer: nothing was saved.
            return _usable_or_raise(row, exc)
        except sa_exc.SQLAlchemyError as exc:
            raise database_error("refresh-ahead", exc) from exc

    def _refresh_once(self, row: TokenRow, url: str) -> TokenRow:
        """One thread of this process at a time per token; the lease decides across processes."""
        deadline = time.monotonic() + self._policy.lock_timeout_seconds
        token_id = str(row["id"])
        with self._threads.hold(token_id, deadline) as waited:
            # A thread that queued behind another may find the token refreshed already.
            known = self._leases.read(token_id) if waited else None
            return self._across_processes(row, known, url, deadline)

    def _across_processes(
        self, row: TokenRow, known: LeaseState | None, url: str, deadline: float
    ) -> TokenRow:
        """Claim the lease and refresh, or wait for the holder; give up at ``deadline``."""
        token_id = str(row["id"])
        holder = uuid.uuid4().hex
        pause = _POLL_FIRST_S
        while True:
            take_over = None
            if known is not None:
                if known.row is None:
                    return row  # deleted meanwhile: let the SDK do what it would have done
                if not self._stale(known.row):
                    return known.row  # another worker refreshed while we waited
                if known.expires_at is not None and known.expires_at >= _now_ms():
                    known = self._wait(token_id, deadline, pause)
                    pause = min(2 * pause, _POLL_MAX_S)
                    continue
                take_over = known.holder  # expired: its holder died or overran
            lease_until = _now_ms() + int(self._policy.lease_seconds * 1000)
            claimed = self._leases.claim(token_id, holder, lease_until, take_over)
            if claimed is None:  # another worker claimed it first
                known = self._wait(token_id, deadline, pause)
                pause = min(2 * pause, _POLL_MAX_S)
                continue
            if claimed.row is None or not self._stale(claimed.row):
                self._leases.release(token_id, holder)
                return claimed.row if claimed.row is not None else row
            return self._refresh_claimed(claimed.row, holder, url)

    def _wait(self, token_id: str, deadline: float, pause: float) -> LeaseState:
        """Sleep (holding nothing), then read the row and its lease again."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise LeaseWaitTimeout("the token's refresh lease stayed held")
        time.sleep(min(pause, left))
        return self._leases.read(token_id)

    def _refresh_claimed(self, row: TokenRow, holder: str, url: str) -> TokenRow:
        """Ask Zoho with no connection held, then save and release; release alone on failure."""
        token_id = str(row["id"])
        try:
            changes = self._request(row, url)
        except BaseException:
            self._release_quietly(token_id, holder)
            raise
        self._leases.save_and_release(token_id, holder, changes)
        return token_row({**row, **changes})

    def _release_quietly(self, token_id: str, holder: str) -> None:
        """Release after a failed refresh; if the database fails too, the lease expires by itself."""
        try:
            self._leases.release(token_id, holder)
        except sa_exc.SQLAlchemyError as exc:
            logger.warning(
                "refresh-ahead: could not release the refresh lease (%s); it expires in %g s",
                type(exc).__name__,
                self._policy.lease_seconds,
            )

    def _stale(self, row: TokenRow) -> bool:
        """Refreshable (refresh token and client known) and without an access token or expiring."""
        if not (row["refresh_token"] and row["client_id"] and row["client_secret"]):
            return False
        if not row["access_token"]:
            return True
        left = _ms_left(row)
        return left is not None and left < self._margin_ms

    def _request(self, row: TokenRow, url: str) -> dict[str, str]:
        """Ask Zoho for a new access token with the SDK's own code, in this thread, time-bounded;
        the SDK parses the answer with the initializer ``find_token`` runs under, this thread's."""
        token = token_from_row(row, "refresh-ahead")
        seconds = self._policy.request_timeout_seconds
        try:
            with request_timeout(seconds):
                request_refresh(token, url)
        except SDKException as exc:
            if isinstance(exc.cause, TIMEOUT_ERRORS):
                raise store_error(
                    f"refresh-ahead: Zoho's token endpoint did not answer within {seconds:g} s",
                    cause=exc,
                ) from exc
            raise
        values = token_values(token)
        return {c: v for c in _REFRESHED_COLUMNS if (v := values[c]) is not None}


class _KeyedLocks:
    """One lock per token id, created when first wanted and dropped when no thread wants it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextmanager
    def hold(self, key: str, deadline: float) -> Iterator[bool]:
        """Hold ``key``'s lock in the block, yielding whether another thread held it first; raises
        ``LeaseWaitTimeout`` if it is not free by ``deadline`` (``time.monotonic()``)."""
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            waited = not lock.acquire(blocking=False)
            if waited and not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                raise LeaseWaitTimeout("another thread of this process kept refreshing the token")
            try:
                yield waited
            finally:
                lock.release()
        finally:
            with self._guard:
                users[0] -= 1
                if users[0] == 0:
                    del self._locks[key]


def adopt_refreshed(token: OAuthToken, row: TokenRow) -> None:
    """Give ``token`` the row's current access token and expiry, replacing any stale ones it carries."""
    token.set_access_token(row["access_token"] or None)
    token.set_expires_in(row["expiry_time"] or None)


def _accounts_url(row: TokenRow) -> str | None:
    """The accounts URL the SDK would refresh at, as get_token picks it; None without an SDK."""
    initializer = current_initializer()  # switch_user's new one on 7_0/6_0 too
    if initializer is None:
        return None
    api_domain = row["api_domain"]
    environment = (DataCenter.get(api_domain) if api_domain else None) or initializer.environment
    if environment is None:
        return None
    return str(environment.accounts_url)


def _usable_or_raise(row: TokenRow, error: SDKException) -> TokenRow:
    """Fall back to the stored token while the SDK would still use it (a failed early refresh
    costs nothing); raise for an expired one, lest every worker retry the refresh on its own."""
    left = _ms_left(row)
    if row["access_token"] and left is not None and left >= SDK_REFRESH_MARGIN_MS:
        logger.warning("refresh-ahead failed; using the still valid token: %s", error.code)
        return row
    raise error


def _now_ms() -> int:
    """Epoch milliseconds on this machine's clock, the SDK's unit for expiries."""
    return int(time.time() * 1000)


def _ms_left(row: TokenRow) -> int | None:
    """Milliseconds until the row's access token expires, as the SDK computes it; None if unknown."""
    expiry = parse_expiry(row["expiry_time"])
    return None if expiry is None else expiry - _now_ms()
