"""``revoke_token(id)``: what ``OAuthToken.revoke(id)`` does, on every SDK generation, as that
of 7_0, 6_0 and 5_0 fails before any store is asked (docs/sdk-generations.md)."""

from __future__ import annotations

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.util.constants import Constants


def revoke_token(token_id: str) -> bool:
    """Revoke the stored token ``token_id`` at Zoho, with the current initializer's store and
    accounts URL, raising as ``OAuthToken.revoke`` does; ``False`` if no refresh token is stored."""
    try:
        initializer = Initializer.get_initializer()
        if initializer is None:
            raise SDKException(
                Constants.SDK_UNINITIALIZATION_ERROR, Constants.SDK_UNINITIALIZATION_MESSAGE
            )
        probe = OAuthToken(id=token_id)  # id only: the store matches it by id, never refreshes
        initializer.store.find_token(probe)
        refresh_token = probe.get_refresh_token()
        if refresh_token is None:
            return False
        url = str(initializer.environment.accounts_url) + Constants.REVOKE_URL
        return bool(OAuthToken.revoke_refresh_token(refresh_token, url))
    except SDKException:
        raise
    except Exception as exc:  # the SDK's own revoke wraps every other failure the same way
        raise SDKException(cause=exc) from exc


__all__ = ["revoke_token"]
