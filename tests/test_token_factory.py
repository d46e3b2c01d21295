"""The test suite's "valid" tokens stay valid whenever the suite runs (no fixed expiry date)."""

from __future__ import annotations

import time

from token_factory import full_token

#: The SDK refreshes a token with less than this left (oauth_token.py); the store's default
#: refresh-ahead margin is 60 s. A valid test token must be far from both.
SDK_MARGIN_MS = 5000


def test_a_full_token_expires_about_an_hour_from_now() -> None:
    left_ms = int(full_token(1).get_expires_in()) - int(time.time() * 1000)
    assert 50 * 60 * 1000 < left_ms <= 60 * 60 * 1000
    assert left_ms > SDK_MARGIN_MS
