"""SQLAlchemy-backed token store for the Zoho CRM Python SDK (``zohocrmsdk8_0``).

``store=SQLAlchemyTokenStore("sqlite:///zohooauth.db")`` at ``Initializer.initialize`` keeps the
SDK's OAuth tokens in SQLite, PostgreSQL or MySQL/MariaDB; ``zoho-tokenstore upgrade`` creates the
schema from the Alembic migrations that ship with the package.
"""

from .engine import create_shared_engine
from .migration import downgrade, upgrade
from .model import OAuthTokenRow
from .refresh import RefreshAhead
from .store import SQLAlchemyTokenStore

__all__ = [
    "OAuthTokenRow",
    "RefreshAhead",
    "SQLAlchemyTokenStore",
    "create_shared_engine",
    "downgrade",
    "upgrade",
]
