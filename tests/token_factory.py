"""Builds SDK ``OAuthToken`` objects with exactly the fields a test names, as the SDK hands them over."""

from __future__ import annotations

import time

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from zoho_tokenstore.core.codec import token_values_unchecked

FIELDS = (
    "id",
    "user_name",
    "client_id",
    "client_secret",
    "refresh_token",
    "access_token",
    "grant_token",
    "expiry_time",
    "redirect_url",
    "api_domain",
)


#: How long a "valid" token from ``full_token`` has left: Zoho's access tokens live an hour.
VALID_FOR_SECONDS = 3600


def valid_expiry(seconds: float = VALID_FOR_SECONDS) -> str:
    """An expiry ``seconds`` from now, as the SDK stores it (epoch milliseconds as a string)."""
    return str(int((time.time() + seconds) * 1000))


def make_token(**fields: str | None) -> OAuthToken:
    """An ``OAuthToken`` whose fields are those given and ``None`` otherwise (no constructor rules)."""
    unknown = set(fields) - set(FIELDS)
    assert not unknown, f"unknown token fields {unknown}"
    token: OAuthToken = OAuthToken.__new__(OAuthToken)
    token.__init__(access_token="placeholder")  # sets every private attribute, incl. find_user
    for name in FIELDS:
        value = fields.get(name)
        if name == "user_name":
            token.set_user_signature(UserSignature(value) if value is not None else None)
        elif name == "expiry_time":
            token.set_expires_in(value)
        else:
            getattr(token, f"set_{name}")(value)
    return token


def fields_of(token: OAuthToken) -> dict[str, str | None]:
    """The token's ten values by column name, for comparing with rows."""
    return token_values_unchecked(token)


def full_token(n: int = 1, **overrides: str | None) -> OAuthToken:
    """A token like the one the SDK saves after a first login (id ``None``), for user ``n``."""
    fields: dict[str, str | None] = {
        "user_name": f"user{n}@example.com:6000{n}",
        "client_id": f"1000.CLIENT{n}",
        "client_secret": f"secret-{n}-0123456789abcdef",
        "refresh_token": f"1000.refresh{n}.0123456789abcdef",
        "access_token": f"1000.access{n}.0123456789abcdef",
        "grant_token": f"1000.grant{n}.0123456789abcdef",
        "expiry_time": valid_expiry(),
        "redirect_url": "https://example.com/callback",
        "api_domain": "https://www.zohoapis.com",
    }
    fields.update(overrides)
    return make_token(**fields)


def now_ms(plus_seconds: float = 0) -> int:
    """Epoch milliseconds ``plus_seconds`` from now: the SDK's unit for ``expiry_time``."""
    return int((time.time() + plus_seconds) * 1000)
