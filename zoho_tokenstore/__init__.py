"""SQLAlchemy-backed token store for the Zoho CRM Python SDK (``zohocrmsdk8_0``, 7_0 or 6_0).
Pass ``SQLAlchemyTokenStore(url)`` as ``store=`` to ``Initializer.initialize`` (docs/usage.md)."""

from .sdk.generation import require_sdk

require_sdk()  # before anything imports zohocrmsdk: a missing SDK fails with the install lines

from .core.model import OAuthTokenRow  # noqa: E402
from .database.engine import create_shared_engine  # noqa: E402
from .database.migrations import downgrade, upgrade  # noqa: E402
from .encryption.cipher import keys_from_environment  # noqa: E402
from .refresh.ahead import RefreshAhead  # noqa: E402
from .sdk.revoke import revoke_token  # noqa: E402
from .store.token_store import SQLAlchemyTokenStore  # noqa: E402

__all__ = [
    "OAuthTokenRow",
    "RefreshAhead",
    "SQLAlchemyTokenStore",
    "create_shared_engine",
    "downgrade",
    "keys_from_environment",
    "revoke_token",
    "upgrade",
]
