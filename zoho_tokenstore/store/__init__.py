"""``SQLAlchemyTokenStore``, the SDK's ``TokenStore`` (``token_store``), and how its reads and
writes run and retry (``transactions``)."""

from .token_store import SQLAlchemyTokenStore, new_token_id

__all__ = ["SQLAlchemyTokenStore", "new_token_id"]
