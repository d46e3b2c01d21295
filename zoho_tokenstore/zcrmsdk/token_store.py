"""``SQLAlchemyTokenStore`` for the 2.x SDK (``zcrmsdk``): its six-method contract on the main
store's table, engine, migrations, encryption and errors (docs/sdk-generations.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

from sqlalchemy import Engine, Table
from sqlalchemy.engine import URL
from zcrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zcrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore

from ..core.codec import require_id
from ..core.errors import store_error
from ..core.model import TABLE_NAME
from ..store.token_store import SQLAlchemyTokenStore as RowStore
from ..store.token_store import _shown
from .codec import fill_from_row, matches, require_token, token_from_row, token_values, user_mail
from .errors import zcrmsdk_errors


class SQLAlchemyTokenStore(TokenStore):  # type: ignore[misc]  # the SDK ships no type hints
    """Keeps the 2.x Zoho SDK's OAuth tokens in a SQL database; pass it as ``store=`` to
    ``zcrmsdk``'s ``Initializer.initialize``. One row per user email, on the main store's table.

    Args:
        url: a database URL or an existing ``Engine``, as for ``zoho_tokenstore.SQLAlchemyTokenStore``
            (the same URL handling, engine tuning and ``close()`` rules).
        auto_upgrade: migrate the database to the newest schema on construction (off by default).
        check_schema: verify on construction that the schema is the newest and lookups are exact.
        engine_options: extra ``create_engine`` arguments when ``url`` is a URL.
        table_name: the token table, ``oauthtoken`` by default (shared with the main store).
        encryption_keys: Fernet keys, newest first, as for the main store (docs/encryption.md).

    There is no ``refresh_ahead``: the 2.x SDK reads the store only for a token without an access
    token and refreshes the one it holds by itself (docs/sdk-generations.md).
    """

    def __init__(
        self,
        url: str | URL | Engine,
        *,
        auto_upgrade: bool = False,
        check_schema: bool = True,
        engine_options: Mapping[str, Any] | None = None,
        table_name: str = TABLE_NAME,
        encryption_keys: Sequence[bytes | str] | None = None,
    ) -> None:
        with zcrmsdk_errors():
            self._rows = RowStore(
                url,
                auto_upgrade=auto_upgrade,
                check_schema=check_schema,
                engine_options=engine_options,
                refresh_ahead=False,
                table_name=table_name,
                encryption_keys=encryption_keys,
            )

    @property
    def engine(self) -> Engine:
        """The engine the store runs on (for diagnostics and tests)."""
        return self._rows.engine

    @property
    def table(self) -> Table:
        """The store's own table (encrypting and decrypting with its keys)."""
        return self._rows.table

    @property
    def key_fingerprints(self) -> tuple[str, ...]:
        """Non-secret fingerprints of the encryption keys, newest first (empty without keys)."""
        return self._rows.key_fingerprints

    def __repr__(self) -> str:
        return repr(self._rows).replace("SQLAlchemyTokenStore", "zcrmsdk.SQLAlchemyTokenStore", 1)

    # -- the 2.x SDK's TokenStore interface --------------------------------------------------

    def get_token(self, user: Any, token: OAuthToken) -> OAuthToken | None:
        """The user's row, if it holds this token (same client, and grant token if set, else
        refresh token), filled into ``token`` in place and returned; else ``None``."""
        operation = "get_token"
        with zcrmsdk_errors():
            token = require_token(token, operation)
            row = self._rows._row_by_user(operation, user_mail(user, operation))
            if row is None or not matches(row, token):
                return None
            return fill_from_row(token, row, operation)

    def save_token(self, user: Any, token: OAuthToken) -> None:
        """Update the user's row (one per email) or insert one under a new random id, set on
        ``token`` with its ``user_mail``; ``None`` values erase nothing."""
        operation = "save_token"
        with zcrmsdk_errors():
            token = require_token(token, operation)
            email = user_mail(user, operation)
            row_id, _ = self._rows._save_values(operation, token_values(email, token))
            token.set_id(row_id)
            token.set_user_mail(email)

    def delete_token(self, token: OAuthToken) -> None:
        """Delete the row of ``token``'s ``user_mail`` if it holds this token (else, without a
        ``user_mail``, the row of its id); nothing stored is no error, as in the SDK's stores."""
        operation = "delete_token"
        with zcrmsdk_errors():
            token = require_token(token, operation)
            email, token_id = token.get_user_mail(), token.get_id()
            if isinstance(email, str) and email:
                row = self._rows._row_by_user(operation, email)
                found = row["id"] if row is not None and matches(row, token) else None
            elif token_id is not None:
                found = require_id(token_id, operation)
            else:
                raise store_error(f"{operation} needs a token with a user_mail or an id")
            if found is not None:
                self._rows._delete_row(operation, found)

    def get_tokens(self) -> list[OAuthToken]:
        """Every stored row as an ``OAuthToken``, ordered by id (the SDK never calls this)."""
        with zcrmsdk_errors():
            return [token_from_row(row, "get_tokens") for row in self._rows._all_rows("get_tokens")]

    def delete_tokens(self) -> None:
        """Delete every stored row (the table's, whichever SDK generation wrote it)."""
        with zcrmsdk_errors():
            self._rows.delete_tokens()

    def get_token_by_id(self, id: str, token: OAuthToken) -> OAuthToken:  # noqa: A002
        """The row with this id filled into ``token`` in place; an unknown id raises
        ``SDKException(TOKEN_STORE)``, as the SDK's FileStore does."""
        operation = "get_token_by_id"
        with zcrmsdk_errors():
            token = require_token(token, operation)
            token_id = require_id(id, operation)
            row = self._rows._row_by_id(operation, token_id)
            if row is None:
                raise store_error(f"{operation}: no stored token has the id {_shown(token_id)}")
            return fill_from_row(token, row, operation)

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release the store's pooled connections (the engine is disposed only if the store built it)."""
        self._rows.close()

    def __enter__(self) -> SQLAlchemyTokenStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


__all__ = ["SQLAlchemyTokenStore"]
