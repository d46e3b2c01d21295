"""Moves values between the SDK's ``OAuthToken`` and table rows, validating them before any SQL
so every backend refuses the same values the same way (docs/store-design.md)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from ..sdk.tokens import blank_token
from .errors import store_error
from .expiry import parse_expiry
from .model import COLUMN_LENGTHS, COLUMN_NAMES, TokenRow, row_values

Values = dict[str, str | None]


def require_token(token: object, operation: str) -> OAuthToken:
    """The argument as an ``OAuthToken``, or a clear error naming what was passed instead."""
    if not isinstance(token, OAuthToken):
        raise store_error(f"{operation} expects an OAuthToken, got {type(token).__name__}")
    return token


def require_id(token_id: object, operation: str) -> str:
    """The argument as a valid id string, or a clear error (the SDK's ids are always ``str``)."""
    if not isinstance(token_id, str):
        raise store_error(
            f"{operation} expects the token id as a str, got {type(token_id).__name__}"
        )
    problem = value_problem("id", token_id)
    if problem:
        raise store_error(f"{operation}: the id {problem}")
    return token_id


def value_problem(column: str, value: str) -> str | None:
    """Why ``value`` cannot be stored in ``column`` (never quoting it), or ``None`` if it can."""
    limit = COLUMN_LENGTHS[column]
    if len(value) > limit:
        return f"is {len(value)} characters long; {column} holds at most {limit}"
    if "\x00" in value:
        return "contains a NUL character, which PostgreSQL cannot store"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text (it contains a lone surrogate)"
    return None


def token_values(token: OAuthToken) -> Values:
    """Every column's value from ``token``, empty strings as ``None``, validated for storage."""
    return checked_values(token_values_unchecked(token))


def checked_values(raw: Mapping[str, object]) -> Values:
    """Every column's value of ``raw`` (any generation's token), empty strings as ``None``,
    validated for storage."""
    values: Values = {}
    for column, value in raw.items():
        if value is None or value == "":
            values[column] = None
            continue
        if not isinstance(value, str):
            raise store_error(f"save_token: {column} must be a str, got {type(value).__name__}")
        problem = value_problem(column, value)
        if problem:
            raise store_error(f"save_token: {column} {problem}")
        values[column] = value
    expiry = values["expiry_time"]
    if expiry is not None and parse_expiry(expiry) is None:
        raise store_error("save_token: expiry_time must be a string of epoch milliseconds")
    return values


def check_stored_expiry(row: TokenRow, operation: str) -> None:
    """Raise ``SDKException(TOKEN_STORE)`` naming the row if its ``expiry_time`` is set but is not an
    expiry (``parse_expiry``): the SDK would fail on it with a bare ``ValueError``."""
    expiry = row["expiry_time"]
    if expiry and parse_expiry(expiry) is None:
        raise store_error(
            f"{operation}: the stored token with id {row['id']!r} has an expiry_time that is not "
            "epoch milliseconds (ASCII digits), which the SDK cannot read: set it to NULL or to "
            "epoch milliseconds, or delete the row (`zoho-tokenstore delete --id ID`)"
        )


def fill_empty_fields(token: OAuthToken, row: TokenRow, operation: str) -> None:
    """Copy stored values into the unset fields of ``token``, as the SDK's own stores do; a
    stored expiry that is not an expiry raises (``check_stored_expiry``)."""
    current = token_values_unchecked(token)
    values = row_values(row)
    for column, set_field in _SETTERS.items():
        stored = values[column]
        if current[column] in (None, "") and stored not in (None, ""):
            if column == "expiry_time":
                check_stored_expiry(row, operation)
            set_field(token, stored)


def token_from_row(row: TokenRow, operation: str) -> OAuthToken:
    """A complete ``OAuthToken`` with every private field set, as ``merge_objects`` requires;
    a stored ``expiry_time`` that is not an expiry raises (``check_stored_expiry``)."""
    check_stored_expiry(row, operation)
    token = blank_token()
    values = row_values(row)
    for column, set_field in _SETTERS.items():
        set_field(token, values[column] or None)  # a stored "" reads as unset, as the SDK's own
    return token


def token_values_unchecked(token: OAuthToken) -> Values:
    """The token's current values without validation, for deciding which fields are empty."""
    signature = token.get_user_signature()
    return {
        "id": token.get_id(),
        "user_name": signature.get_name() if signature is not None else None,
        "client_id": token.get_client_id(),
        "client_secret": token.get_client_secret(),
        "refresh_token": token.get_refresh_token(),
        "access_token": token.get_access_token(),
        "grant_token": token.get_grant_token(),
        "expiry_time": token.get_expires_in(),
        "redirect_url": token.get_redirect_url(),
        "api_domain": token.get_api_domain(),
    }


def _set_user_name(token: OAuthToken, value: str | None) -> None:
    token.set_user_signature(UserSignature(value) if value is not None else None)


def _setter(column: str) -> Callable[[OAuthToken, str | None], None]:
    """The SDK's own setter of the token field that ``column`` holds."""
    if column == "user_name":
        return _set_user_name
    if column == "expiry_time":
        return OAuthToken.set_expires_in  # type: ignore[no-any-return]
    return getattr(OAuthToken, f"set_{column}")  # type: ignore[no-any-return]


#: Each column's setter, looked up once: a token is built from a row on every lookup.
_SETTERS: Final = {column: _setter(column) for column in COLUMN_NAMES}
