"""A blank ``OAuthToken`` for the store to fill from a row, built through the SDK's constructor.

The constructor refuses a token without a credential or id, yet it is the only public way to get
every field the SDK reads back (``merge_objects`` copies them all, ``get_token`` reads ``find_user``).
So this passes a placeholder id and clears it: every field unset, ``find_user`` at its default.
"""

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
