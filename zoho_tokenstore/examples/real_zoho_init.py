"""The SDK's classic ``init()`` against real Zoho (US) with tokens in a database, then one
``get_records("Leads")``: ``python -m zoho_tokenstore.examples.real_zoho_init`` (docs/real-zoho.md)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.dc import USDataCenter
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.record import GetRecordsParam, RecordOperations
from zohocrmsdk.src.com.zoho.crm.api.record import ResponseWrapper as RecordsWrapper
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig

from zoho_tokenstore import SQLAlchemyTokenStore

REQUIRED: Final = ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_GRANT_TOKEN")
DEFAULT_DATABASE_URL: Final = "sqlite:///zohooauth.db"
#: Where the SDK caches module field metadata (it would otherwise use the working directory).
RESOURCE_DIR: Final = Path("zoho-sdk-resources")
CONNECT_TIMEOUT_S: Final = 10.0
READ_TIMEOUT_S: Final = 30.0


class MissingSettingsError(ValueError):
    """Required environment variables are unset; the message names them (never their values)."""


@dataclass(frozen=True)
class Settings:
    """What ``init`` needs; built from environment variables by ``settings_from_env``."""

    client_id: str
    client_secret: str
    grant_token: str
    redirect_url: str | None
    database_url: str


def settings_from_env(environ: Mapping[str, str] = os.environ) -> Settings:
    """Read the settings, or raise ``MissingSettingsError`` naming every missing variable."""
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        raise MissingSettingsError(
            "set these environment variables first: "
            + ", ".join(missing)
            + " (create a self client and a grant token at https://api-console.zoho.com)"
        )
    return Settings(
        client_id=environ["ZOHO_CLIENT_ID"],
        client_secret=environ["ZOHO_CLIENT_SECRET"],
        grant_token=environ["ZOHO_GRANT_TOKEN"],
        redirect_url=environ.get("ZOHO_REDIRECT_URL") or None,
        database_url=environ.get("ZOHO_TOKENSTORE_URL") or DEFAULT_DATABASE_URL,
    )


def init(settings: Settings) -> OAuthToken:
    """``Initializer.initialize`` on Zoho's US production data center with the database store."""
    token = OAuthToken(
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        grant_token=settings.grant_token,
        redirect_url=settings.redirect_url,
    )
    RESOURCE_DIR.mkdir(exist_ok=True)
    Initializer.initialize(
        environment=USDataCenter.PRODUCTION(),
        token=token,
        store=SQLAlchemyTokenStore(settings.database_url),
        sdk_config=SDKConfig(
            auto_refresh_fields=True,
            pick_list_validation=False,
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
        ),
        resource_path=str(RESOURCE_DIR.resolve()),
        logger=Logger.get_instance(Logger.Levels.INFO, "zoho_sdk.log"),
    )
    # The SDK swallows a failing save_token (it only logs it); a token without an id was not stored.
    if token.get_id() is None:
        raise RuntimeError("the SDK logged in but did not store the token: see zoho_sdk.log")
    return token


def first_leads() -> list[str]:
    """One ``get_records("Leads")`` call; Zoho's v8 API requires the fields to return."""
    params = ParameterMap()
    params.add(GetRecordsParam.fields, "Last_Name,Company,Email")
    response = RecordOperations("Leads").get_records(params)
    if response is None or response.get_status_code() == 204:
        return []
    body = response.get_object()
    if not isinstance(body, RecordsWrapper):
        raise RuntimeError(f"get_records failed with HTTP {response.get_status_code()}")
    return [str(record.get_key_value("Last_Name")) for record in body.get_data()]


def main(argv: Sequence[str] | None = None) -> int:
    """Initialize, fetch Leads and print their last names; exit status 2 for missing settings."""
    del argv  # no options: everything comes from the environment
    try:
        settings = settings_from_env()
    except MissingSettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        init(settings)
        print("\n".join(first_leads()) or "no leads")
    except SDKException as exc:
        print(f"error: {exc.code}: {exc.error_message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
