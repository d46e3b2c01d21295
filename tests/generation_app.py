"""One application run on whichever SDK generation's interpreter executes this file.

``python tests/generation_app.py '<json>'`` initializes the SDK with the token described in the
JSON (a grant code, a user name or a stored id), reads Leads from the stand-in Zoho through a
``SQLAlchemyTokenStore`` on the given database, and prints what it saw as one JSON line. The
test that shares one database between zohocrmsdk8_0, 7_0, 6_0 and 5_0 runs it in each generation's venv.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.logger import Logger
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from sdk_helpers import get_leads, lead_descriptions
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.sdk.environment import custom_environment
from zoho_tokenstore.sdk.generation import installed_sdk_distributions
from zoho_tokenstore.testing.sdk_log import recorded_sdk_log
from zoho_tokenstore.testing.standin_zoho import SDK_API_VERSION, SDK_TIMEOUT_S, TOKEN_PATH


def token_from(spec: dict[str, str]) -> OAuthToken:
    """The ``OAuthToken`` an application would configure: by grant code, user name or stored id."""
    if "grant_token" in spec:  # with a user name too on 5_0, which never asks Zoho for it
        named = UserSignature(spec["user_name"]) if "user_name" in spec else None
        return OAuthToken(
            client_id=spec["client_id"],
            client_secret=spec["client_secret"],
            grant_token=spec["grant_token"],
            user_signature=named,
        )
    if "user_name" in spec:
        return OAuthToken(user_signature=UserSignature(spec["user_name"]))
    return OAuthToken(id=spec["id"])


def run(request: dict[str, Any]) -> dict[str, Any]:
    """Initialize, read Leads once, and report the generation, the token's id and the caller."""
    base = request["base_url"]
    token = token_from(request["token"])
    resources = Path(request["workdir"]) / f"resources-{SDK_API_VERSION}"
    resources.mkdir(parents=True, exist_ok=True)
    with recorded_sdk_log() as log, SQLAlchemyTokenStore(request["db_url"]) as store:
        Initializer.initialize(
            environment=custom_environment(base, base + TOKEN_PATH, base),
            token=token,
            store=store,
            sdk_config=SDKConfig(
                auto_refresh_fields=False, read_timeout=SDK_TIMEOUT_S, connect_timeout=SDK_TIMEOUT_S
            ),
            resource_path=str(resources),
            logger=Logger.get_instance(Logger.Levels.NOTSET, None),
        )
        callers = lead_descriptions(get_leads())
    return {
        "api_version": SDK_API_VERSION,
        "distributions": [d.name for d in installed_sdk_distributions()],
        "id": token.get_id(),
        "callers": callers,
        "sdk_errors": log.describe_errors(),
    }


if __name__ == "__main__":
    print(json.dumps(run(json.loads(sys.argv[1]))))
