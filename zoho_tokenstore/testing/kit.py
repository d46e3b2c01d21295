"""``StandInKit``: a running stand-in Zoho plus what a test needs to point the SDK at it and look
back; ``zoho_standin`` gives one to each test, ``running_kit`` does so without pytest."""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

from ..sdk.state import preserved_sdk_state
from .sdk_log import SdkLogEntry, SdkLogRecorder, recorded_sdk_log
from .standin_zoho import (
    SDK_API_VERSION,
    ZCRMSDK_API_VERSIONS,
    StandInRequest,
    StandInUser,
    StandInZoho,
)

DEFAULT_EMAIL: Final = "user@example.com"
DEFAULT_ZGID: Final = "10000001"


class StandInKit:
    """A running ``StandInZoho`` (``server``) with one registered user and the SDK's log recorded;
    ``initialize_sdk`` points the real SDK at it, ``requests`` and ``calls`` show what it got."""

    def __init__(self, server: StandInZoho, workdir: Path, sdk_log: SdkLogRecorder) -> None:
        self.server = server
        self.workdir = workdir
        self.user: StandInUser = server.add_user(DEFAULT_EMAIL, zgid=DEFAULT_ZGID)
        self._sdk_log = sdk_log

    @property
    def api_version(self) -> str:
        """The CRM API version the stand-in answers: the installed SDK's (``v8`` for 8_0, ...)."""
        return SDK_API_VERSION

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``: accounts, CRM API and api_domain all live here."""
        return self.server.base_url

    def grant_token(self, email: str | None = None) -> OAuthToken:
        """An ``OAuthToken`` with the stand-in's client and a fresh grant code for ``email``; on
        zohocrmsdk5_0 it names the user too (``StandInZoho.grant_token``)."""
        token: OAuthToken = self.server.grant_token(email or self.user.email)
        return token

    def refresh_token(self, refresh_token: str) -> OAuthToken:
        """An ``OAuthToken`` as a restarted app builds it: the stand-in's client and a refresh token."""
        return self.server.refresh_token(refresh_token)

    def initialize_sdk(
        self, store: Any, token: OAuthToken | None = None, *, logger: Any = None
    ) -> OAuthToken:
        """``Initializer.initialize`` against the stand-in with ``store`` (``token``: by default
        a first login for ``user``); field metadata goes under ``workdir``. Returns the token."""
        token = token if token is not None else self.grant_token()
        resources = self.workdir / "sdk-resources"
        resources.mkdir(parents=True, exist_ok=True)
        self.server.initialize_sdk(token, store, str(resources), logger)
        return token

    @property
    def requests(self) -> list[StandInRequest]:
        """Every request the stand-in answered, in order: method, path, status."""
        return self.server.requests

    @property
    def calls(self) -> Counter[str]:
        """Requests per endpoint: ``token:authorization_code``, ``token:refresh_token``, ``records``..."""
        return self.server.calls

    @property
    def sdk_log(self) -> SdkLogRecorder:
        """Every call the SDK made to its logger during the test (``entries``, ``errors``)."""
        return self._sdk_log

    @property
    def sdk_errors(self) -> list[SdkLogEntry]:
        """Errors the SDK logged and nobody took yet; a failing ``save_token`` shows up only here."""
        return self._sdk_log.errors

    def take_sdk_errors(self) -> list[SdkLogEntry]:
        """Return and forget the SDK's logged errors, for a test that expects them."""
        return self._sdk_log.take_errors()

    def initialize_zcrmsdk(self, store: Any, token: Any = None, email: str | None = None) -> Any:
        """The 2.x SDK's ``Initializer.initialize`` against the stand-in for ``email`` (default:
        ``user``) with ``store`` (``token``: by default a first login). Returns the token."""
        from .zcrmsdk_standin import initialize_zcrmsdk, zcrmsdk_grant_token  # needs zcrmsdk

        email = email or self.user.email
        token = token if token is not None else zcrmsdk_grant_token(self.server, email)
        resources = self.workdir / "zcrmsdk-resources"
        resources.mkdir(parents=True, exist_ok=True)
        initialize_zcrmsdk(self.server, email, token, store, str(resources))
        return token


@contextmanager
def running_kit(workdir: Path) -> Iterator[StandInKit]:
    """A ``StandInKit`` on a clean SDK (and 2.x SDK, where installed), answering both; afterwards
    the server is stopped and the SDKs' state restored."""
    with (
        preserved_sdk_state(),
        _preserved_zcrmsdk_state(),
        recorded_sdk_log() as sdk_log,
        StandInZoho(api_versions=(SDK_API_VERSION, *ZCRMSDK_API_VERSIONS)) as server,
    ):
        yield StandInKit(server, workdir, sdk_log)


@contextmanager
def _preserved_zcrmsdk_state() -> Iterator[None]:
    """``preserved_zcrmsdk_state`` where the 2.x SDK is installed, else nothing to preserve."""
    if importlib.util.find_spec("zcrmsdk") is None:
        yield
        return
    from .zcrmsdk_standin import preserved_zcrmsdk_state

    with preserved_zcrmsdk_state():
        yield
