"""Asserts the store's one error shape: the SDK's ``SDKException`` with code ``TOKEN_STORE``, of
the package's one error class ``TokenStoreError``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from zoho_tokenstore.core.errors import TokenStoreError


def token_store_error(call: Callable[[], Any]) -> SDKException:
    """Run ``call``; it must raise ``SDKException(code="TOKEN_STORE")``, which is returned."""
    with pytest.raises(SDKException) as raised:
        call()
    assert raised.value.code == "TOKEN_STORE"
    assert isinstance(raised.value, TokenStoreError)
    return raised.value
