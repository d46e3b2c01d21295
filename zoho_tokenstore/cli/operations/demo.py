"""``zoho-tokenstore demo``: the whole token lifecycle in seconds, offline, with the real Zoho SDK
and a stand-in Zoho, so a newcomer sees the store work without an account (docs/demo.md)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TextIO

from sqlalchemy import select
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.record import ResponseWrapper as RecordsWrapper
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from ...core.errors import TokenStoreError
from ...core.model import ENCRYPTED_COLUMNS, hash_column, token_table
from ...database.engine import build_engine, masked_url
from ...database.migrations import current_revision, upgrade
from ...examples import real_zoho_init
from ...sdk.records import get_records
from ...sdk.state import preserved_sdk_state, reset_sdk_state
from ...sdk.tokens import SDK_FINDS_USER
from ...store.token_store import SQLAlchemyTokenStore
from ...testing.sdk_log import SdkLogRecorder, recorded_sdk_log
from ...testing.standin_zoho import StandInZoho
from .display import token_line

#: Where the demo keeps its tokens unless ``--url`` says otherwise: a file in the current directory.
DEFAULT_DEMO_URL: Final = "sqlite:///zohooauth-demo.db"
DEMO_EMAIL: Final = "newcomer@example.com"
DEMO_ZGID: Final = "20240001"
#: What the demo's last line suggests next: the example that ships inside the package.
REAL_ZOHO_COMMAND: Final = f"python -m {real_zoho_init.__name__}"
DEMO_USER_NAME: Final = f"{DEMO_EMAIL}:{DEMO_ZGID}"


#: What the demo says when zohocrmsdk5_0 finds the demo user's row of an earlier run.
EARLIER_ROW_DELETED: Final = (
    "zohocrmsdk5_0 would use an earlier run's row (found by user name) instead of the new grant "
    "code, and that stand-in is gone: the row was deleted"
)


class DemoError(TokenStoreError, RuntimeError):
    """A step did not do what the demo expected; the message says which and why."""


@dataclass
class DemoReport:
    """What the demo stored, for tests: the demo user's row after login and after the refresh."""

    url: str
    reused_row: bool = False
    after_login: dict[str, str | None] = field(default_factory=dict)
    after_refresh: dict[str, str | None] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)


def run_demo(
    url: str = DEFAULT_DEMO_URL,
    out: TextIO | None = None,
    encryption_keys: Sequence[str | bytes] | None = None,
) -> DemoReport:
    """Migrate ``url``, then log in, call the API, expire, refresh and restart against the stand-in;
    with ``encryption_keys`` the login step also shows the row as stored (ciphertext, hashes)."""
    say = _Printer(out)
    report = DemoReport(url=masked_url(url))
    keys = list(encryption_keys) if encryption_keys else None
    say(
        "Zoho token store demo: the real Zoho CRM SDK keeps its OAuth tokens in your database.\n"
        "It talks to a local stand-in for Zoho, so no account and no internet are needed.\n"
    )
    upgrade(url)
    say.step(
        "Migrate",
        f"{report.url} is at schema revision {_revision(url)}",
        "(zoho_tokenstore.upgrade: the Alembic migrations, same as `zoho-tokenstore upgrade`)",
    )
    with (
        tempfile.TemporaryDirectory(prefix="zoho-tokenstore-demo-") as workdir,
        StandInZoho() as zoho,
        preserved_sdk_state(),  # the caller's SDK state is back when the demo is done
        recorded_sdk_log(swallow_errors=True) as sdk_errors,
    ):
        zoho.add_user(DEMO_EMAIL, zgid=DEMO_ZGID)
        say.step(
            "Stand-in",
            f"a stand-in Zoho server listens on {zoho.base_url}",
            f"(accounts + CRM API, one user {DEMO_EMAIL}; SDK files go to a temp dir)",
        )
        with SQLAlchemyTokenStore(url, encryption_keys=keys) as store:
            _login(zoho, store, Path(workdir), report, say, sdk_errors)
            if keys:
                _show_encrypted_row(store, url, say)
            say.step(
                "API call",
                _get_leads(sdk_errors),
                "the SDK read the token from the store (find_token_by_id) before the request;",
                "it is valid, so nothing was refreshed or written",
            )
            _expire_and_refresh(zoho, store, report, say, sdk_errors)
        _restart(zoho, url, keys, Path(workdir), report, say, sdk_errors)
        report.calls = dict(sorted(zoho.calls.items()))
    with SQLAlchemyTokenStore(url, encryption_keys=keys) as store:
        row = _require_row(store, "at the end")
        others = len(store.get_tokens()) - 1
    say("\nWhat is stored now (secrets masked):\n  " + _describe(row))
    if others:
        say(f"  (and {others} other row(s), not the demo's, left untouched)")
    say(
        "\nRequests the stand-in Zoho received: "
        + ", ".join(f"{name} {count}" for name, count in report.calls.items())
    )
    say(
        f"\nRun it again: the same row is updated. Inspect it: zoho-tokenstore tokens --url "
        f"'{report.url}'\nWith a real Zoho account: {REAL_ZOHO_COMMAND} (it names the settings it needs)."
    )
    return report


# -- the steps ------------------------------------------------------------------------------------


def _login(
    zoho: StandInZoho,
    store: SQLAlchemyTokenStore,
    workdir: Path,
    report: DemoReport,
    say: _Printer,
    sdk_errors: SdkLogRecorder,
) -> None:
    earlier = _demo_row(store)
    report.reused_row = earlier is not None
    if earlier is not None and not SDK_FINDS_USER:
        # 5_0 would take the earlier row by the user name instead of exchanging the new grant
        # code, and that row's tokens came from an earlier run's stand-in, which is gone.
        store.delete_token(str(earlier.get_id()))
        deleted = f"{EARLIER_ROW_DELETED} (id {earlier.get_id()})"
        earlier = None
    else:
        deleted = None
    token = OAuthToken(
        client_id=zoho.DEFAULT_CLIENT_ID,
        client_secret=zoho.DEFAULT_CLIENT_SECRET,
        grant_token=zoho.issue_grant_code(DEMO_EMAIL),
        # zohocrmsdk5_0 never asks Zoho who the user is: its application names the user.
        user_signature=None if SDK_FINDS_USER else UserSignature(DEMO_USER_NAME),
    )
    resources = workdir / "sdk-resources"
    resources.mkdir()
    zoho.initialize_sdk(token, store, str(resources))
    _check(sdk_errors, "logging in")
    row = _require_row(store, "after logging in")
    report.after_login = _values(row)
    again = (
        f"a row from an earlier run (id {earlier.get_id()}) was updated, not duplicated"
        if earlier is not None and earlier.get_id() == row.get_id()
        else "a new row was inserted"
    )
    say.step(
        "Login",
        "Initializer.initialize(token=OAuthToken(client_id, client_secret, grant_token), store=store)",
        "the SDK exchanged the one-time grant code for a refresh + access token, "
        + ("asked Zoho who" if SDK_FINDS_USER else "was told who"),
        f"the user is ({DEMO_USER_NAME}) and called store.save_token:",
        *([deleted] if deleted else []),
        f"{again}:",
        "  " + _describe(row),
    )


def _get_leads(sdk_errors: SdkLogRecorder) -> str:
    """One ``get_records`` call through the SDK, described in a line."""
    response = get_records("Leads")
    _check(sdk_errors, "calling the API")
    body = response.get_object() if response is not None else None
    if (
        response is None
        or response.get_status_code() != 200
        or not isinstance(body, RecordsWrapper)
    ):
        status = response.get_status_code() if response is not None else "no response"
        raise DemoError(f"get_records('Leads') failed: {status}")
    leads = [str(record.get_key_value("Description")) for record in body.get_data()]
    return f"RecordOperations('Leads').get_records() -> {leads}"


def _expire_and_refresh(
    zoho: StandInZoho,
    store: SQLAlchemyTokenStore,
    report: DemoReport,
    say: _Printer,
    sdk_errors: SdkLogRecorder,
) -> None:
    row = _require_row(store, "before expiring it")
    # As if an hour had passed: the stored expiry is in the past and Zoho forgot the access token.
    row.set_expires_in(str(int(time.time() * 1000) - 1))
    store.save_token(row)
    zoho.invalidate_access_tokens()
    say.step(
        "Expire",
        "the stored expiry_time is now in the past and the stand-in forgot the old access token",
        "(as if an hour had passed)",
    )
    refreshes = zoho.calls["token:refresh_token"]
    leads = _get_leads(sdk_errors)
    refreshed = _require_row(store, "after the refresh")
    report.after_refresh = _values(refreshed)
    if zoho.calls["token:refresh_token"] != refreshes + 1 or (
        report.after_refresh["access_token"] == report.after_login["access_token"]
    ):
        raise DemoError("the expired token was not refreshed into the stored row")
    say.step(
        "Refresh",
        leads,
        "the store saw the stored expiry before the SDK did (refresh-ahead): under its refresh lease it",
        "made 1 refresh request through the SDK's own token code and saved it into the same row,",
        "so the SDK got a fresh token and did not refresh by itself (one refresh for all workers):",
        "  " + _describe(refreshed),
    )


def _restart(
    zoho: StandInZoho,
    url: str,
    keys: list[str | bytes] | None,
    workdir: Path,
    report: DemoReport,
    say: _Printer,
    sdk_errors: SdkLogRecorder,
) -> None:
    reset_sdk_state()  # as a new process starts
    before = dict(zoho.calls)
    with SQLAlchemyTokenStore(url, encryption_keys=keys) as store:
        token = OAuthToken(
            client_id=zoho.DEFAULT_CLIENT_ID,
            client_secret=zoho.DEFAULT_CLIENT_SECRET,
            refresh_token=report.after_refresh["refresh_token"],
        )
        zoho.initialize_sdk(token, store, str(workdir / "sdk-resources"))
        _check(sdk_errors, "restarting")
        leads = _get_leads(sdk_errors)
        after = dict(zoho.calls)
    token_requests = sum(
        after.get(k, 0) - before.get(k, 0)
        for k in ("token:authorization_code", "token:refresh_token")
    )
    if token_requests != 0 or token.get_id() != report.after_refresh["id"]:
        raise DemoError("the restarted SDK did not reuse the stored token")
    say.step(
        "Restart",
        leads,
        "as a restarted app: a new store object and OAuthToken(client_id, client_secret,",
        "refresh_token); find_token matched the row by its refresh token, so the SDK used the",
        "stored access token: no login, no refresh, nothing written",
    )


def _show_encrypted_row(store: SQLAlchemyTokenStore, url: str, say: _Printer) -> None:
    """The demo user's row twice: as the database holds it, and as the SDK gets it from the store."""
    table = token_table()
    engine = build_engine(url)
    try:
        with engine.connect() as connection:
            held = (
                connection.execute(select(table).where(table.c.user_name == DEMO_USER_NAME))
                .mappings()
                .one()
            )
    finally:
        engine.dispose()
    token = _require_row(store, "after logging in")
    lines = [
        f"the store encrypts under key {store.key_fingerprints[0]} (a fingerprint, not the key):",
        "  as the database holds it (what a stolen dump or backup shows):",
    ]
    for column in ENCRYPTED_COLUMNS:
        lines.append(f"    {column:<18} {_clipped(held[column])}")
    refresh_hash = hash_column("refresh_token")
    lines.append(f"    {refresh_hash:<18} {_clipped(held[refresh_hash])}  (HMAC, for lookups)")
    lines.append(
        f"    {'user_name':<18} {held['user_name']}  (user, client id, expiry, URLs stay readable)"
    )
    lines.append("  as the SDK gets it from the store (decrypted; masked here):")
    lines.append("    " + token_line(token))
    say.step("Encrypted", *lines)


def _clipped(value: str | None) -> str:
    """A stored value shortened for display (ciphertext is not secret, but it is long)."""
    if value is None:
        return "NULL"
    return value if len(value) <= 40 else f"{value[:32]}... ({len(value)} characters)"


# -- helpers --------------------------------------------------------------------------------------


class _Printer:
    """Prints to ``out`` (stdout by default) and numbers the steps."""

    def __init__(self, out: TextIO | None) -> None:
        self._out = out
        self._step = 0

    def __call__(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    def step(self, title: str, *lines: str) -> None:
        self._step += 1
        head, *rest = lines
        self(f"[{self._step}] {title:<8} {head}")
        for line in rest:
            self(f"             {line}")


def _check(sdk_log: SdkLogRecorder, during: str) -> None:
    """Raise if the SDK logged errors during the step (it swallows store failures)."""
    errors = sdk_log.take_errors()
    if errors:
        found = "; ".join(e.describe() for e in errors)
        raise DemoError(f"the SDK reported an error while {during}: {found}")


def _demo_row(store: SQLAlchemyTokenStore) -> OAuthToken | None:
    return store.find_token(OAuthToken(user_signature=UserSignature(DEMO_USER_NAME)))


def _require_row(store: SQLAlchemyTokenStore, when: str) -> OAuthToken:
    row = _demo_row(store)
    if row is None or row.get_id() is None:
        raise DemoError(f"no row for {DEMO_USER_NAME} is stored {when}")
    return row


def _values(token: OAuthToken) -> dict[str, str | None]:
    return {
        "id": token.get_id(),
        "refresh_token": token.get_refresh_token(),
        "access_token": token.get_access_token(),
        "grant_token": token.get_grant_token(),
        "client_secret": token.get_client_secret(),
        "expiry_time": token.get_expires_in(),
    }


def _describe(token: OAuthToken) -> str:
    """One stored row, secrets masked: what the user can safely see (as ``zoho-tokenstore tokens``)."""
    return token_line(token)


def _revision(url: str) -> str:
    engine = build_engine(url)
    try:
        return current_revision(engine) or "none"
    finally:
        engine.dispose()


__all__ = ["DEFAULT_DEMO_URL", "DemoError", "DemoReport", "run_demo"]
