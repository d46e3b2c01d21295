"""Moves values between the 2.x SDK's ``OAuthToken`` and the main store's rows: ``user_mail`` is
the table's ``user_name``, there is no ``api_domain``, and absent values are ``None``."""

from __future__ import annotations

from typing import Final

from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

from ..core.codec import Values, check_stored_expiry, checked_values
from ..core.errors import store_error
from ..core.model import TokenRow

#: An expiry long past: a row with a refresh token but no access token reads with it, so the
#: SDK's own check refreshes it (it would otherwise send the header "Zoho-oauthtoken None").
EXPIRED: Final = "0"


def require_token(token: object, operation: str) -> OAuthToken:
    """The argument as the 2.x SDK's ``OAuthToken``, or a clear error naming what was passed."""
    if not isinstance(token, OAuthToken):
        raise store_error(f"{operation} expects a zcrmsdk OAuthToken, got {type(token).__name__}")
    return token


def user_mail(user: object, operation: str) -> str:
    """The email of the 2.x SDK's ``UserSignature`` (the row's ``user_name``), or a clear error."""
    email = getattr(user, "get_email", lambda: None)()
    if not isinstance(email, str) or not email:
        raise store_error(f"{operation} expects a UserSignature with an email")
    return email


def token_values(email: str, token: OAuthToken) -> Values:
    """The row's values for ``token`` saved under ``email``, validated; no id: the store keys
    2.x rows by user, never by the SDK's id, which two users can share."""
    return checked_values(
        {
            "id": None,
            "user_name": email,
            "client_id": token.get_client_id(),
            "client_secret": token.get_client_secret(),
            "refresh_token": token.get_refresh_token(),
            "access_token": token.get_access_token(),
            "grant_token": token.get_grant_token(),
            "expiry_time": token.get_expires_in(),
            "redirect_url": token.get_redirect_url(),
            "api_domain": None,
        }
    )


def matches(row: TokenRow, token: OAuthToken) -> bool:
    """Whether ``row`` is the stored form of ``token``, as the SDK's stores match: the same
    client, and the same grant token if it has one, else the same refresh token."""
    if row["client_id"] != token.get_client_id():
        return False
    grant: str | None = token.get_grant_token()
    if grant:
        return row["grant_token"] == grant
    refresh: str | None = token.get_refresh_token()
    return bool(refresh) and row["refresh_token"] == refresh


def fill_from_row(token: OAuthToken, row: TokenRow, operation: str) -> OAuthToken:
    """Set every field of ``token`` from ``row`` (as the SDK's stores do) and return it; a row
    with a refresh token but no access token reads as expired, so the SDK refreshes it."""
    check_stored_expiry(row, operation)
    expiry = row["expiry_time"] or None
    if not row["access_token"] and row["refresh_token"]:
        expiry = EXPIRED
    token.set_id(row["id"])
    token.set_user_mail(row["user_name"] or None)
    token.set_client_id(row["client_id"] or None)
    token.set_client_secret(row["client_secret"] or None)
    token.set_refresh_token(row["refresh_token"] or None)
    token.set_access_token(row["access_token"] or None)
    token.set_grant_token(row["grant_token"] or None)
    token.set_expires_in(expiry)
    token.set_redirect_url(row["redirect_url"] or None)
    return token


def token_from_row(row: TokenRow, operation: str) -> OAuthToken:
    """A new ``OAuthToken`` holding the row as stored (``get_tokens``): unset values are ``None``."""
    check_stored_expiry(row, operation)
    token = OAuthToken(id=row["id"])
    fill_from_row(token, row, operation)
    token.set_expires_in(row["expiry_time"] or None)
    return token


__all__ = [
    "fill_from_row",
    "matches",
    "require_token",
    "token_from_row",
    "token_values",
    "user_mail",
]
