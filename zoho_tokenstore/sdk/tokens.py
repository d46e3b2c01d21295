"""A blank ``OAuthToken`` for the store to fill from a row, built through the SDK's constructor
with a placeholder id it then clears; a reach-in (docs/sdk-generations.md lists why)."""

from __future__ import annotations

from typing import Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

#: Satisfies the constructor's "some credential or id" check; cleared before the token is returned.
_PLACEHOLDER_ID: Final = "placeholder"


def blank_token() -> OAuthToken:
    """An ``OAuthToken`` with every field unset, as the SDK's constructor leaves one."""
    token = OAuthToken(id=_PLACEHOLDER_ID)
    token.set_id(None)
    return token


__all__ = ["blank_token"]
