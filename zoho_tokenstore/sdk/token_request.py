"""``request_refresh(token, url)``: the SDK's own refresh request, filling ``token`` and saving
nothing, on every generation; zohocrmsdk5_0's saves through a store it is handed."""

from __future__ import annotations

import inspect
from typing import Final

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

#: 5_0: ``refresh_access_token(self, store, url)`` saves ``self`` through ``store``; 8_0-6_0 take
#: ``(oauth_token, url)`` and fill ``oauth_token``, leaving the save to ``get_token``.
_SAVES_ITSELF: Final = "store" in inspect.signature(OAuthToken.refresh_access_token).parameters


class _NoStore:
    """The store handed to 5_0's refresh: its save is the caller's business, done later."""

    def save_token(self, token: OAuthToken) -> None:
        """Keep nothing."""


def request_refresh(token: OAuthToken, url: str) -> None:
    """Post ``token``'s refresh token to ``url`` with the SDK's code and put the answer (access
    token, expiry, maybe refresh token and API domain) into ``token``; raises as the SDK does."""
    if _SAVES_ITSELF:
        token.refresh_access_token(_NoStore(), url)
    else:
        token.refresh_access_token(token, url)


__all__ = ["request_refresh"]
