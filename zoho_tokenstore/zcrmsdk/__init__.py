"""``SQLAlchemyTokenStore`` for the 2.x SDK generation (zohocrmsdk2_1, 2_0: package ``zcrmsdk``),
on the main store's table, migrations and rules (docs/sdk-generations.md)."""

from .token_store import SQLAlchemyTokenStore

__all__ = ["SQLAlchemyTokenStore"]
