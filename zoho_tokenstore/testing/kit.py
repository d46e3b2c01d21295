"""``StandInKit``: a running stand-in Zoho plus what a test needs to point the SDK at it and look
back; ``zoho_standin`` gives one to each test, ``running_kit`` does so without pytest."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

from ..sdk.state import preserved_sdk_state
from .sdk_log import SdkLogEntry, SdkLogRecorder, recorded_sdk_log
from .standin_zoho import SDK_API_VERSION, StandInRequest, StandInUser, StandInZoho

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
        """An ``OAuthToken`` with the stand-in's client and a fresh grant code for ``email``."""
        return self.server.grant_token(email or self.user.email)

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


@contextmanager
def running_kit(workdir: Path) -> Iterator[StandInKit]:
    """A ``StandInKit`` on a clean SDK; afterwards the server is stopped and the SDK state restored."""
    with (
        preserved_sdk_state(),
        recorded_sdk_log() as sdk_log,
        StandInZoho() as server,
    ):
        yield StandInKit(server, workdir, sdk_log)
