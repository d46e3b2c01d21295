"""Every reach-in past a public API, one named test each: a new SDK, Alembic or SQLAlchemy fails here.

The package touches private names of the Zoho SDK only in ``zoho_tokenstore/sdk/`` (one small
function per shim) and of Alembic and SQLAlchemy only in ``database/alembic_nesting.py`` and
``database/log_safety.py``. Each test checks what its shim relies on and that the shim still works.
SQLite only, so the 7_0 and 6_0 runs (``make test-sdk7``, ``make test-sdk6``) cover every generation.
"""

from __future__ import annotations

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken

from zoho_tokenstore.core.codec import token_values_unchecked
from zoho_tokenstore.core.model import COLUMN_NAMES
from zoho_tokenstore.sdk.tokens import blank_token

# -- sdk/tokens.py ---------------------------------------------------------------------------------


def test_blank_token_has_every_field_the_sdk_reads_and_none_set() -> None:
    token = blank_token()
    constructed = OAuthToken(client_id="id", client_secret="secret", refresh_token="refresh")
    # merge_objects copies every private field of a stored token: all must exist on ours.
    assert set(vars(token)) == set(vars(constructed))
    assert token_values_unchecked(token) == dict.fromkeys(COLUMN_NAMES)
    # get_token reads find_user on what the store returns; the constructor's default is True.
    assert vars(token)["_OAuthToken__find_user"] is True
    probe = OAuthToken(id="1")
    OAuthToken.merge_objects(probe, token)  # find_token_by_id's path: raises if a field is missing
    assert probe.get_id() == "1"
