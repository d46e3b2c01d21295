"""The 2.x SDK (``zcrmsdk``: zohocrmsdk2_1, 2_0) pointed at the stand-in Zoho, which answers its
CRM API versions too (``ZCRMSDK_API_VERSIONS``); imported only where ``zcrmsdk`` is installed."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zcrmsdk.src.com.zoho.api.logger import Logger
from zcrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zcrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zcrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zcrmsdk.src.com.zoho.crm.api.user_signature import UserSignature
from zcrmsdk.src.com.zoho.crm.api.util.constants import Constants
from zcrmsdk.src.com.zoho.crm.api.util.utility import Utility

from ..sdk.state import UTILITY_DEFAULTS
from .standin_zoho import SDK_TIMEOUT_S, TOKEN_PATH, StandInZoho

#: The CRM API version in the paths the installed 2.x SDK calls: 2_1's ``Constants.API_VERSION``
#: is ``v2.1``, 2_0's is ``2.0`` while its paths say ``/crm/v2/``.
ZCRMSDK_API_VERSION: Final = {"2.0": "v2"}.get(
    str(Constants.API_VERSION), str(Constants.API_VERSION)
)

#: The environment name the SDK puts in its token ids (``python_<local part>_<name>_<last 4>``).
ENVIRONMENT_NAME: Final = "standin"


def zcrmsdk_environment(server: StandInZoho) -> DataCenter.Environment:
    """A 2.x SDK Environment pointing at ``server`` (CRM API, accounts and uploads)."""
    base = server.base_url
    return DataCenter.Environment(base, base + TOKEN_PATH, base, ENVIRONMENT_NAME)


def zcrmsdk_grant_token(server: StandInZoho, email: str) -> OAuthToken:
    """A 2.x ``OAuthToken`` with the stand-in's client and a fresh grant code for ``email``."""
    return OAuthToken(
        client_id=server.DEFAULT_CLIENT_ID,
        client_secret=server.DEFAULT_CLIENT_SECRET,
        grant_token=server.issue_grant_code(email),
    )


def zcrmsdk_refresh_token(server: StandInZoho, refresh_token: str) -> OAuthToken:
    """A 2.x ``OAuthToken`` as a restarted app builds it: the stand-in's client, a refresh token."""
    return OAuthToken(
        client_id=server.DEFAULT_CLIENT_ID,
        client_secret=server.DEFAULT_CLIENT_SECRET,
        refresh_token=refresh_token,
    )


def initialize_zcrmsdk(
    server: StandInZoho, email: str, token: OAuthToken, store: Any, resource_path: str
) -> None:
    """The 2.x ``Initializer.initialize`` for ``email`` against ``server``, with bounded CRM
    timeouts, field metadata under ``resource_path`` and no log file."""
    Initializer.initialize(
        user=UserSignature(email),
        environment=zcrmsdk_environment(server),
        token=token,
        store=store,
        sdk_config=SDKConfig(
            auto_refresh_fields=False,
            pick_list_validation=False,
            read_timeout=SDK_TIMEOUT_S,
            connect_timeout=SDK_TIMEOUT_S,
        ),
        resource_path=resource_path,
        logger=Logger.get_instance(Logger.Levels.NOTSET, None),
    )


@contextmanager
def preserved_zcrmsdk_state() -> Iterator[None]:
    """Run the block on a freshly reset 2.x SDK (initializers, module caches), then put the
    caller's back: the 2.x counterpart of ``preserved_sdk_state``."""
    saved = (Initializer.initializer, getattr(Initializer.LOCAL, "init", None))
    caches = {name: getattr(Utility, name) for name in UTILITY_DEFAULTS}
    _set_state(None, None, UTILITY_DEFAULTS)
    try:
        yield
    finally:
        _set_state(*saved, caches)


def _set_state(shared: Any, local: Any, caches: dict[str, Any]) -> None:
    """The reach-in: the 2.x SDK has no public way to reset what ``initialize`` keeps."""
    Initializer.initializer = shared
    Initializer.LOCAL.init = local
    for name, value in caches.items():
        setattr(Utility, name, dict(value) if isinstance(value, dict) else value)


__all__ = [
    "ZCRMSDK_API_VERSION",
    "initialize_zcrmsdk",
    "preserved_zcrmsdk_state",
    "zcrmsdk_environment",
    "zcrmsdk_grant_token",
    "zcrmsdk_refresh_token",
]
