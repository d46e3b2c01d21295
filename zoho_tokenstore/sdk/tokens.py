"""A blank ``OAuthToken`` for the store to fill from a row, built through the SDK's constructor
with a placeholder id it then clears; a reach-in (docs/sdk-generations.md lists why)."""

from __future__ import annotations

import inspect
from typing import Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

#: Satisfies the constructor's "some credential or id" check; cleared before the token is returned.
_PLACEHOLDER_ID: Final = "placeholder"


#: Whether ``get_token`` asks Zoho whose token it saves (``find_user``, 8_0-6_0); zohocrmsdk5_0
#: never does: its rows name a user only if the application's token carries a ``user_signature``.
SDK_FINDS_USER: Final = "find_user" in inspect.signature(OAuthToken.__init__).parameters


def blank_token() -> OAuthToken:
    """An ``OAuthToken`` with every field unset, as the SDK's constructor leaves one."""
    token = OAuthToken(id=_PLACEHOLDER_ID)
    token.set_id(None)
    return token


__all__ = ["SDK_FINDS_USER", "blank_token"]
