"""A local stand-in for Zoho's accounts and CRM servers on 127.0.0.1, for tests (yours too) and
the offline demo: never a real Zoho, but shaped like one so the real SDK drives it unchanged."""

from __future__ import annotations

import json
import secrets
import select
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, urlsplit

# The SDK ships no type hints. `unused-ignore` keeps --strict quiet if a config later ignores it.
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import (  # type: ignore[import-untyped, unused-ignore]
    DataCenter,
)
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants

from ..refresh.failure import ZOHO_REFRESH_WINDOW_SECONDS
from ..sdk.environment import custom_environment
from ..sdk.tokens import SDK_FINDS_USER

__all__ = ["StandInRequest", "StandInUser", "StandInZoho"]

DEFAULT_CLIENT_ID = "1000.STANDINCLIENTID0000000000000"
DEFAULT_CLIENT_SECRET = "standin0secret0000000000000000000000000000"
DEFAULT_EXPIRES_IN = 3600

TOKEN_PATH = "/oauth/v2/token"
# The SDK posts to ``accounts_url + "/revoke"`` (oauth_token.py, Constants.REVOKE_URL).
REVOKE_PATH = TOKEN_PATH + "/revoke"
#: The CRM API version the installed SDK calls: ``v8`` (zohocrmsdk8_0), ``v7``, ``v6`` or ``v5``.
SDK_API_VERSION: str = str(Constants.API_VERSION)
#: The CRM API versions of the 2.x SDK generation (zohocrmsdk2_1, 2_0: package ``zcrmsdk``).
ZCRMSDK_API_VERSIONS = ("v2.1", "v2")
#: CRM endpoints below ``/crm/<version>/``, and the name each is counted under in ``calls``.
_CRM_ENDPOINTS = {"users": "users", "org": "org", "settings/fields": "fields", "Leads": "records"}
USERS_PATH = f"/crm/{SDK_API_VERSION}/users"
ORG_PATH = f"/crm/{SDK_API_VERSION}/org"
FIELDS_PATH = f"/crm/{SDK_API_VERSION}/settings/fields"
LEADS_PATH = f"/crm/{SDK_API_VERSION}/Leads"

#: Zoho's answer (HTTP 200) to a refresh past its limit per refresh token (SDK-GENERATIONS.md).
THROTTLED_ANSWER: dict[str, str] = {
    "error": "Access Denied",
    "error_description": "You have made too many requests continuously. "
    "Please try again after some time.",
    "status": "failure",
}

_AUTH_PREFIX = "Zoho-oauthtoken "
_MAX_BODY = 64 * 1024
_REQUEST_TIMEOUT_S = 10.0
#: The SDK's CRM read/connect timeouts when pointed at the stand-in (its OAuth calls have none).
SDK_TIMEOUT_S = 10.0
_JOIN_TIMEOUT_S = 10.0

# Zoho's field metadata for the few Leads fields the stand-in returns; "text" maps to String.
_LEAD_FIELDS: list[dict[str, Any]] = [
    {
        "api_name": name,
        "data_type": "text",
        "json_type": "string",
        "id": str(5000 + i),
        "system_mandatory": name == "Last_Name",
        "custom_field": False,
    }
    for i, name in enumerate(["Last_Name", "Company", "Email", "Description"])
]


@dataclass(frozen=True)
class StandInUser:
    """A CRM user the stand-in knows; the SDK names it ``"<email>:<zgid>"``."""

    email: str
    zgid: str
    user_id: str
    org_id: str

    @property
    def user_name(self) -> str:
        """The user_name the SDK's ``Utility.get_user_name`` builds for this user."""
        return f"{self.email}:{self.zgid}"


@dataclass(frozen=True)
class StandInRequest:
    """One request the stand-in answered. No query string or body: those can carry tokens."""

    method: str
    path: str
    status: int


@dataclass(frozen=True)
class _Grant:
    email: str
    client_id: str


@dataclass(frozen=True)
class _Access:
    email: str
    refresh_token: str | None
    expires_at: float


def _new_token() -> str:
    """Return a random token shaped like Zoho's (``1000.<32 hex>.<32 hex>``)."""
    return f"1000.{secrets.token_hex(16)}.{secrets.token_hex(16)}"


class _Server(ThreadingHTTPServer):
    """The HTTP server, carrying a reference back to the state it serves."""

    daemon_threads = True
    # socketserver's default backlog of 5 drops bursts of connects, and each retry costs 1 s.
    request_queue_size = 128

    def __init__(self, zoho: StandInZoho) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.zoho = zoho

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Count a crashed request instead of printing a traceback to stderr."""
        self.zoho._count("server_error")


class _Handler(BaseHTTPRequestHandler):
    """Routes each request to ``StandInZoho``; HTTP/1.0 so no connection outlives a response."""

    timeout = _REQUEST_TIMEOUT_S
    server_version = "StandInZoho/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  # the base class names it
        """Silence request logging: request lines can carry tokens in query strings."""

    def do_GET(self) -> None:
        """Serve the CRM read endpoints."""
        self._dispatch("GET")

    def do_POST(self) -> None:
        """Serve the accounts (OAuth) endpoints."""
        self._dispatch("POST")

    def _dispatch(self, method: str) -> None:
        zoho = cast(_Server, self.server).zoho
        parts = urlsplit(self.path)
        params = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if method == "POST":
            declared = self.headers.get("Content-Length") or "0"
            if not declared.isdigit() or int(declared) > _MAX_BODY:
                self._send(HTTPStatus.BAD_REQUEST, {"error": "invalid_request"})
                return
            body = self.rfile.read(int(declared)).decode("utf-8", "replace")
            params.update({k: v[0] for k, v in parse_qs(body).items()})
        if method == "POST" and parts.path.rstrip("/") == TOKEN_PATH and not self._delay(zoho):
            return  # the client hung up while the token endpoint kept it waiting: no answer
        status, payload = zoho._handle(
            method, parts.path.rstrip("/"), params, self.headers.get("Authorization")
        )
        zoho._record(StandInRequest(method, parts.path, int(status)))
        self._send(status, payload)

    def _delay(self, zoho: StandInZoho) -> bool:
        """Wait ``zoho.token_delay_seconds`` (re-read meanwhile) before answering; False if the
        client hangs up first."""
        if zoho.token_delay_seconds <= 0:
            return True
        zoho._count("token:delayed")
        started = time.monotonic()
        while time.monotonic() - started < zoho.token_delay_seconds and not zoho._stopped:
            readable, _, _ = select.select([self.connection], [], [], 0.05)
            if readable and not self.connection.recv(1, socket.MSG_PEEK):
                zoho._count("token:unanswered")
                self.close_connection = True
                return False
        return True

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _crm_error(code: str, message: str) -> dict[str, Any]:
    """Zoho CRM's error body shape."""
    return {"code": code, "details": {}, "message": message, "status": "error"}


class StandInZoho:
    """A thread-safe local stand-in for Zoho accounts + CRM, for tests and the offline demo; tests
    usually get one from the ``zoho_standin`` fixture (``StandInKit.server``).

    Args:
        clock: returns seconds and decides access-token expiry; tests may pass a fake one.
        api_versions: the CRM API versions answered (default: the installed SDK's only), so
            applications on several SDK generations can share one stand-in.
    """

    DEFAULT_CLIENT_ID = DEFAULT_CLIENT_ID
    DEFAULT_CLIENT_SECRET = DEFAULT_CLIENT_SECRET

    def __init__(
        self,
        clock: Callable[[], float] = time.monotonic,
        api_versions: Iterable[str] = (SDK_API_VERSION,),
    ) -> None:
        self._clock = clock
        self._api_versions = frozenset(api_versions)
        self._version_calls: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._base_url: str | None = None
        self._thread: threading.Thread | None = None
        self._stopped = False
        self._expires_in = DEFAULT_EXPIRES_IN
        self._clients: dict[str, str] = {DEFAULT_CLIENT_ID: DEFAULT_CLIENT_SECRET}
        self._users: dict[str, StandInUser] = {}
        self._next_user_id = 4_000_001
        self._codes: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        self._refresh_owner: dict[str, str] = {}
        self._access: dict[str, _Access] = {}
        self._calls: Counter[str] = Counter()
        self._revoked: list[str] = []
        self._token_requests: list[str] = []
        self._token_delay_s = 0.0
        self._requests: list[StandInRequest] = []
        self._refresh_limit: int | None = None
        self._issued: dict[str, list[float]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    def start(self) -> StandInZoho:
        """Bind 127.0.0.1 on a free port and serve from a daemon thread."""
        with self._lock:
            if self._server is not None or self._stopped:
                raise RuntimeError("StandInZoho can be started once")
            self._server = _Server(self)
            host, port = self._server.server_address[:2]
            self._base_url = f"http://{host!s}:{port}"
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="standin-zoho",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close the socket and join the thread; safe to call twice."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread, self._stopped = None, None, True
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(_JOIN_TIMEOUT_S)
            if thread.is_alive():
                raise RuntimeError("StandInZoho server thread did not stop")

    def __enter__(self) -> StandInZoho:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``; the CRM API, accounts and api_domain all live here."""
        if self._base_url is None:
            raise RuntimeError("StandInZoho has not been started")
        return self._base_url

    def environment(self) -> DataCenter.Environment:
        """An SDK Environment pointing at this server (``DataCenter.get`` returns None for it)."""
        base = self.base_url
        return custom_environment(base, base + TOKEN_PATH, base)

    def initialize_sdk(
        self, token: Any, store: Any, resource_path: str, logger: Any = None
    ) -> None:
        """``Initializer.initialize`` pointed at this stand-in, with bounded CRM timeouts; field
        metadata goes under ``resource_path``, and by default ``logger`` writes no file."""
        Initializer.initialize(
            environment=self.environment(),
            token=token,
            store=store,
            sdk_config=SDKConfig(
                auto_refresh_fields=False,
                read_timeout=SDK_TIMEOUT_S,
                connect_timeout=SDK_TIMEOUT_S,
            ),
            resource_path=resource_path,
            logger=logger
            if logger is not None
            else Logger.get_instance(Logger.Levels.NOTSET, None),
        )

    # -- users, clients and codes -------------------------------------------------------------

    def add_user(self, email: str, zgid: str = "10000001") -> StandInUser:
        """Register a CRM user in org ``zgid``; registering the same email again replaces it."""
        with self._lock:
            user = StandInUser(
                email=email,
                zgid=zgid,
                user_id=str(self._next_user_id),
                org_id=zgid,
            )
            self._next_user_id += 1
            self._users[email] = user
            return user

    def add_client(self, client_id: str, client_secret: str) -> None:
        """Register an OAuth client (the default client is always registered)."""
        with self._lock:
            self._clients[client_id] = client_secret

    def issue_grant_code(
        self,
        email: str,
        client_id: str = DEFAULT_CLIENT_ID,
        client_secret: str = DEFAULT_CLIENT_SECRET,
    ) -> str:
        """Return a new random single-use authorization code for ``email`` and that client."""
        with self._lock:
            if email not in self._users:
                raise KeyError(f"unknown stand-in user {email!r}; call add_user first")
            known = self._clients.setdefault(client_id, client_secret)
            if known != client_secret:
                raise ValueError("client_id is registered with a different secret")
            code = _new_token()
            self._codes[code] = _Grant(email=email, client_id=client_id)
            return code

    def grant_token(self, email: str) -> OAuthToken:
        """An ``OAuthToken`` with the default client and a fresh grant code for ``email``; on
        zohocrmsdk5_0, which never asks Zoho who logged in, it names the user, as its apps must."""
        with self._lock:
            user = self._users.get(email)
        return OAuthToken(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            grant_token=self.issue_grant_code(email),
            user_signature=None
            if SDK_FINDS_USER or user is None
            else UserSignature(user.user_name),
        )

    # -- instrumentation ------------------------------------------------------------------------

    def refresh_token(self, refresh_token: str) -> OAuthToken:
        """An ``OAuthToken`` as a restarted app builds it: the default client and a refresh token."""
        return OAuthToken(
            client_id=DEFAULT_CLIENT_ID,
            client_secret=DEFAULT_CLIENT_SECRET,
            refresh_token=refresh_token,
        )

    @property
    def calls(self) -> Counter[str]:
        """A copy of the per-endpoint request counts (``token:refresh_token``, ``records``...)."""
        with self._lock:
            return Counter(self._calls)

    def reset_counts(self) -> None:
        """Zero the counts and forget recorded requests (all, refresh and revoke)."""
        with self._lock:
            self._calls.clear()
            self._version_calls.clear()
            self._revoked.clear()
            self._token_requests.clear()
            self._requests.clear()

    @property
    def requests(self) -> list[StandInRequest]:
        """A copy of every request answered so far, in order (``reset_counts`` forgets them)."""
        with self._lock:
            return list(self._requests)

    @property
    def api_version_calls(self) -> Counter[str]:
        """A copy of the CRM request counts per API version (``v8``, ``v7``...), answered or not."""
        with self._lock:
            return Counter(self._version_calls)

    @property
    def expires_in(self) -> int:
        """Lifetime in seconds of access tokens issued from now on; 0 or less issues expired."""
        with self._lock:
            return self._expires_in

    @expires_in.setter
    def expires_in(self, seconds: int) -> None:
        with self._lock:
            self._expires_in = int(seconds)

    @property
    def token_delay_seconds(self) -> float:
        """Seconds the token endpoint waits before answering (``math.inf`` holds answers, a change
        applies to waiting requests too); a client hanging up is issued nothing (``token:unanswered``)."""
        with self._lock:
            return self._token_delay_s

    @token_delay_seconds.setter
    def token_delay_seconds(self, seconds: float) -> None:
        with self._lock:
            self._token_delay_s = float(seconds)

    @property
    def refresh_limit(self) -> int | None:
        """Access tokens one refresh token may get per 10 minutes of ``clock`` (Zoho: 10), then
        "Access Denied" (``token:throttled``); ``None`` (default): no limit, 0: always throttled."""
        with self._lock:
            return self._refresh_limit

    @refresh_limit.setter
    def refresh_limit(self, limit: int | None) -> None:
        with self._lock:
            self._refresh_limit = None if limit is None else int(limit)

    def revoke_user(self, email: str) -> int:
        """Delete ``email``'s refresh tokens and their access tokens (Zoho on a revoke or password
        change), so refreshes answer ``invalid_code``; returns how many were deleted."""
        with self._lock:
            doomed = [t for t, grant in self._refresh.items() if grant.email == email]
            for token in doomed:
                del self._refresh[token]
            for access in [t for t, a in self._access.items() if a.refresh_token in doomed]:
                del self._access[access]
            return len(doomed)

    @property
    def revoked_refresh_tokens(self) -> list[str]:
        """A copy of the tokens the revoke endpoint received, known or not, in order."""
        with self._lock:
            return list(self._revoked)

    @property
    def token_requests(self) -> list[str]:
        """A copy of the refresh tokens carried by each refresh request, valid or not, in order."""
        with self._lock:
            return list(self._token_requests)

    def refresh_token_owner(self, refresh_token: str) -> str | None:
        """The email a refresh token was ever issued to (even if revoked since), else None."""
        with self._lock:
            return self._refresh_owner.get(refresh_token)

    def invalidate_access_tokens(self, email: str | None = None) -> int:
        """Make every access token (or only ``email``'s) unknown; return how many were dropped."""
        with self._lock:
            doomed = [t for t, a in self._access.items() if email is None or a.email == email]
            for token in doomed:
                del self._access[token]
            return len(doomed)

    # -- request handling (called on server threads) --------------------------------------------

    def _record(self, request: StandInRequest) -> None:
        with self._lock:
            self._requests.append(request)

    def _count(self, name: str) -> None:
        with self._lock:
            self._calls[name] += 1

    def _handle(
        self, method: str, path: str, params: dict[str, str], authorization: str | None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one request; returns the HTTP status and JSON body."""
        with self._lock:
            if method == "POST" and path == TOKEN_PATH:
                return HTTPStatus.OK, self._token(params)  # OAuth errors too, as Zoho answers
            if method == "POST" and path == REVOKE_PATH:
                return HTTPStatus.OK, self._revoke(params)
            name = self._crm_endpoint(path) if method == "GET" else None
            if name is None:
                self._calls["not_found"] += 1
                return HTTPStatus.NOT_FOUND, _crm_error(
                    "INVALID_URL_PATTERN",
                    "Please check if the URL trying to access is a correct one",
                )
            self._calls[name] += 1
            user = self._authenticate(authorization)
            if user is None:
                self._calls["unauthorized"] += 1
                return HTTPStatus.UNAUTHORIZED, _crm_error("INVALID_TOKEN", "invalid oauth token")
            return self._crm(name, user, params)

    def _crm_endpoint(self, path: str) -> str | None:
        """The endpoint's name for ``/crm/<version>/<endpoint>`` in an answered version, else None."""
        prefix, _, rest = path.partition("/crm/")
        version, _, endpoint = rest.partition("/")
        if prefix or not version:
            return None
        self._version_calls[version] += 1
        return _CRM_ENDPOINTS.get(endpoint) if version in self._api_versions else None

    def _token(self, params: dict[str, str]) -> dict[str, Any]:
        grant_type = params.get("grant_type", "")
        if grant_type not in ("authorization_code", "refresh_token"):
            self._calls["token:unsupported"] += 1
            return {"error": "unsupported_grant_type"}
        self._calls[f"token:{grant_type}"] += 1
        if grant_type == "refresh_token":
            self._token_requests.append(params.get("refresh_token", ""))
        client_id = params.get("client_id", "")
        if client_id not in self._clients or self._clients[client_id] != params.get(
            "client_secret"
        ):
            return {"error": "invalid_client"}
        if grant_type == "authorization_code":
            code = params.get("code", "")
            grant = self._codes.get(code)
            if grant is None or grant.client_id != client_id or grant.email not in self._users:
                return {"error": "invalid_code"}
            del self._codes[code]
            refresh = _new_token()
            self._refresh[refresh] = grant
            self._refresh_owner[refresh] = grant.email
            return {**self._issue_access(grant.email, refresh), "refresh_token": refresh}
        refresh = params.get("refresh_token", "")
        grant = self._refresh.get(refresh)
        if grant is None or grant.client_id != client_id:
            return {"error": "invalid_code"}
        if self._throttled(refresh):
            self._calls["token:throttled"] += 1
            return dict(THROTTLED_ANSWER)
        return self._issue_access(grant.email, refresh)

    def _throttled(self, refresh: str) -> bool:
        """Whether ``refresh`` got ``refresh_limit`` access tokens in the last 10 minutes."""
        now = self._clock()
        recent = [t for t in self._issued.get(refresh, []) if t > now - ZOHO_REFRESH_WINDOW_SECONDS]
        self._issued[refresh] = recent
        return self._refresh_limit is not None and len(recent) >= self._refresh_limit

    def _issue_access(self, email: str, refresh: str) -> dict[str, Any]:
        self._issued.setdefault(refresh, []).append(self._clock())
        access = _new_token()
        self._access[access] = _Access(email, refresh, self._clock() + self._expires_in)
        return {
            "access_token": access,
            "scope": "ZohoCRM.modules.ALL ZohoCRM.users.READ ZohoCRM.org.READ",
            "api_domain": self.base_url,
            "token_type": "Bearer",
            "expires_in": self._expires_in,
        }

    def _revoke(self, params: dict[str, str]) -> dict[str, Any]:
        self._calls["revoke"] += 1
        token = params.get("token", "")
        self._revoked.append(token)
        if self._refresh.pop(token, None) is None:
            return {"status": "failure", "error": "invalid_token"}
        for access in [t for t, a in self._access.items() if a.refresh_token == token]:
            del self._access[access]
        return {"status": "success"}

    def _authenticate(self, authorization: str | None) -> StandInUser | None:
        if authorization is None or not authorization.startswith(_AUTH_PREFIX):
            return None
        access = self._access.get(authorization[len(_AUTH_PREFIX) :])
        if access is None or self._clock() >= access.expires_at:
            return None
        return self._users.get(access.email)

    def _crm(self, name: str, user: StandInUser, params: dict[str, str]) -> tuple[int, Any]:
        if name == "users":
            users = [user] if params.get("type") == "CurrentUser" else list(self._users.values())
            body = {
                "users": [self._user_json(u) for u in users],
                "info": {"per_page": 200, "count": len(users), "page": 1, "more_records": False},
            }
            return HTTPStatus.OK, body
        if name == "org":
            org = {"id": user.org_id, "zgid": user.zgid, "company_name": f"Stand-in {user.zgid}"}
            return HTTPStatus.OK, {"org": [org]}
        if name == "fields":
            if params.get("module") != "Leads":
                return HTTPStatus.BAD_REQUEST, _crm_error("INVALID_MODULE", "the module is invalid")
            return HTTPStatus.OK, {"fields": _LEAD_FIELDS}
        lead = {
            "id": str(6_000_000 + int(user.user_id) % 1_000_000),
            "Last_Name": "Stand-in lead",
            "Company": f"Stand-in {user.zgid}",
            "Email": user.email,
            "Description": f"fetched by {user.user_name}",
        }
        info = {"per_page": 200, "count": 1, "page": 1, "more_records": False}
        return HTTPStatus.OK, {"data": [lead], "info": info}

    @staticmethod
    def _user_json(user: StandInUser) -> dict[str, Any]:
        return {
            "id": user.user_id,
            "email": user.email,
            "full_name": user.email.split("@")[0],
            "status": "active",
            "confirm": True,
        }
