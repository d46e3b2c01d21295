"""Asserts the store's one error shape: the SDK's ``SDKException`` with code ``TOKEN_STORE``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException


def token_store_error(call: Callable[[], Any]) -> SDKException:
    """Run ``call``; it must raise ``SDKException(code="TOKEN_STORE")``, which is returned."""
    with pytest.raises(SDKException) as raised:
        call()
    assert raised.value.code == "TOKEN_STORE"
    return raised.value
