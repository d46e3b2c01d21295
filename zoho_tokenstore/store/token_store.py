"""``SQLAlchemyTokenStore``: the SDK's ``TokenStore`` on SQLite, PostgreSQL or MySQL/MariaDB, each
call a short transaction so threads can share it (docs/store-design.md, sdk-contract-notes.md)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, cast

from sqlalchemy import (
    Connection,
    Engine,
    Select,
    Table,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from ..core.codec import (
    Values,
    check_stored_expiry,
    fill_empty_fields,
    require_id,
    require_token,
    token_from_row,
    token_values,
    token_values_unchecked,
    value_problem,
)
from ..core.errors import store_error
from ..core.model import (
    COLUMN_NAMES,
    CREDENTIAL_COLUMNS,
    HASHED_COLUMNS,
    TABLE_NAME,
    OAuthTokenRow,
    TokenRow,
    token_row,
    token_row_class,
)
from ..database.connect_errors import connection_error
from ..database.engine import build_engine, masked_url
from ..database.exact_match import exact_match_problem
from ..database.held_connection import HeldConnection
from ..database.migrations import schema_problem, upgrade, upgrade_command
from ..database.profile import EngineProfile
from ..database.urls import DatabaseURLError
from ..encryption.cipher import TokenCipher, UnreadableValue, unreadable_row_error
from ..encryption.columns import (
    credential_match,
    credential_params,
    keyed_row_class,
    unreadable_row_id,
    with_lookup_hashes,
)
from ..refresh.ahead import RefreshAhead, Refresher, adopt_refreshed
from ..sdk.generation import installed_sdk_problem
from .transactions import RowVanished, read, write, write_alone


def new_token_id() -> str:
    """A collision-free id (random UUID), unlike the ``max(id)+1`` of the SDK's stores."""
    return uuid.uuid4().hex


class SQLAlchemyTokenStore(TokenStore):  # type: ignore[misc]  # the SDK ships no type hints
    """Keeps the Zoho SDK's OAuth tokens in a SQL database; pass it as ``store=`` at SDK init.

    Args:
        url: a database URL (``sqlite:///zohooauth.db``, ``postgresql+psycopg://…``,
            ``mysql+pymysql://…``) or an existing ``Engine``. With a URL the store builds and owns a
            tuned engine (see ``zoho_tokenstore.database.engine``); an ``Engine`` is used as given (build
            one to share with ``create_shared_engine``; see docs/engines.md for what an engine of
            your own keeps and loses) and is not disposed by ``close()``. A URL the store cannot
            use (unparsable, unknown scheme, missing driver or directory, in-memory SQLite) raises
            ``SDKException(TOKEN_STORE)`` naming the fix.
        auto_upgrade: migrate the database to the newest schema on construction. Off by default:
            schema changes should be a deliberate step (``zoho-tokenstore upgrade``).
        check_schema: verify on construction that the database is at the newest schema, failing
            with a message that names the upgrade command, and that its lookups are exact (case
            and trailing spaces count; see ``exact_match``). With ``auto_upgrade`` only the latter.
        engine_options: extra ``create_engine`` arguments (pool size, timeouts) when ``url`` is a URL.
        table_name: the token table, ``oauthtoken`` by default; another name keeps a separate set of
            tokens (and its own migration history) in the same database. Upgrade it with
            ``zoho-tokenstore upgrade --table NAME`` or ``upgrade(url, table_name=NAME)``.
        refresh_ahead: refresh a token about to expire once, before the SDK sees it: threads of a
            process queue on an in-process lock, processes on a short-lived lease row, and nothing
            is held in the database while Zoho answers (see ``zoho_tokenstore.refresh.ahead``).
            ``True`` (default) uses ``RefreshAhead()``; ``False`` leaves refreshing to the SDK; a
            ``RefreshAhead(...)`` sets the margin and timeouts.
        encryption_keys: a list of Fernet keys (``zoho-tokenstore keygen``, bytes or text), newest
            first; ``keys_from_environment()`` reads them from ``$ZOHO_TOKENSTORE_ENCRYPTION_KEYS``.
            Anything else, or a malformed key, fails here (``SDKException``), showing no key.
            With keys, tokens and the client secret are stored encrypted under the newest key and
            found through keyed hashes; rows under an older key or written without keys still read
            (``zoho-tokenstore encrypt`` rewrites them). Without keys values are stored as given,
            and a table holding encrypted values is refused rather than handed to the SDK. See
            ``docs/encryption.md``.
    """

    def __init__(
        self,
        url: str | URL | Engine,
        *,
        auto_upgrade: bool = False,
        check_schema: bool = True,
        engine_options: Mapping[str, Any] | None = None,
        refresh_ahead: RefreshAhead | bool = True,
        table_name: str = TABLE_NAME,
        encryption_keys: Sequence[bytes | str] | None = None,
    ) -> None:
        sdk_problem = installed_sdk_problem()
        if sdk_problem is not None:  # several SDK generations, or an unsupported one
            raise store_error(f"SQLAlchemyTokenStore: {sdk_problem}")
        try:
            token_row_class(table_name)  # refuses a name that is not a plain identifier
        except ValueError as exc:
            raise store_error(f"SQLAlchemyTokenStore: {exc}") from exc
        self._cipher = TokenCipher(encryption_keys) if encryption_keys is not None else None
        # The store's own class, derived from the model: its encrypted columns carry its keys.
        self._row_class: type[OAuthTokenRow] = keyed_row_class(table_name, self._cipher)
        self._table_name = table_name
        self._owns_engine = not isinstance(url, Engine)
        try:
            self._profile = (
                EngineProfile.of(url, shared=True)
                if isinstance(url, Engine)
                else EngineProfile.of(build_engine(url, **(engine_options or {})))
            )
        except DatabaseURLError as exc:
            raise store_error(f"SQLAlchemyTokenStore: {exc.error_message}", cause=exc) from exc
        self._engine = self._profile.engine
        self._held = HeldConnection(self._profile) if self._profile.holds_a_connection else None
        self._closed = False
        self._pid = os.getpid()
        policy = RefreshAhead() if refresh_ahead is True else refresh_ahead or None
        self._refresher = Refresher(self._profile, self._row_class, policy) if policy else None
        row = self._row_class
        # The token's own columns: lookup hashes only find rows, so no lookup fetches them (each
        # fetched column costs the driver a column description to parse, on every call).
        token_columns = self._token_columns = [getattr(row, name) for name in COLUMN_NAMES]
        self._by_id = select(*token_columns).where(row.id == bindparam("value"))
        self._by_column: dict[str, Select[Any]] = {
            "user_name": select(*token_columns).where(row.user_name == bindparam("value")).limit(1)
        }
        table = self._table = cast(Table, row.__table__)
        for name in HASHED_COLUMNS:
            # Credentials are matched by keyed hash (and as written before encryption).
            match = credential_match(table, name, "value")
            self._by_column[name] = select(*token_columns).where(match).limit(1)
        grant_match = credential_match(table, "grant_token", "grant")
        refresh_match = credential_match(table, "refresh_token", "refresh")
        self._by_grant_or_refresh = (
            select(*token_columns)
            .where(or_(grant_match, refresh_match))
            .order_by(case((grant_match, 0), else_=1))  # a grant-token match wins, as in FileStore
            .limit(1)
        )
        try:
            self._prepare_schema(auto_upgrade=auto_upgrade, check_schema=check_schema)
        except BaseException:
            self.close()
            raise

    @property
    def engine(self) -> Engine:
        """The engine the store runs on (for diagnostics and tests)."""
        return self._engine

    @property
    def table(self) -> Table:
        """The store's own table: statements built on it encrypt and decrypt with the store's keys
        (the import writes its batches through it)."""
        return self._table

    def __repr__(self) -> str:
        keys = f", keys={list(self._cipher.fingerprints)}" if self._cipher is not None else ""
        return f"SQLAlchemyTokenStore(url={masked_url(self._engine)!r}{keys})"

    @property
    def key_fingerprints(self) -> tuple[str, ...]:
        """Non-secret fingerprints of the encryption keys, newest first (empty without keys)."""
        return self._cipher.fingerprints if self._cipher is not None else ()

    # -- the SDK's TokenStore interface -----------------------------------------------------

    def find_token(self, token: OAuthToken) -> OAuthToken | None:
        """Find the stored row for ``token`` and fill its empty fields in place; ``token`` itself,
        as the SDK needs, or ``None`` (match order: docs/sdk-contract-notes.md)."""
        token = require_token(token, "find_token")
        query = self._lookup(token_values_unchecked(token))
        if query is None:
            return None
        row = self._read_one("find_token", *query)
        if row is None:
            return None
        # Only get_token passes an id-less token; revoke() passes an id and must not refresh.
        fresh = self._fresh("find_token", row) if token.get_id() is None else row
        if fresh is not row:
            adopt_refreshed(token, fresh)
        fill_empty_fields(token, fresh, "find_token")
        return token

    def find_token_by_id(self, id: str) -> OAuthToken:  # noqa: A002  # the SDK's parameter name
        """The complete stored token with this id; an unknown id raises ``SDKException(TOKEN_STORE)``."""
        token_id = require_id(id, "find_token_by_id")
        row = self._read_one("find_token_by_id", self._by_id, {"value": token_id})
        if row is None:
            raise store_error(f"find_token_by_id: no stored token has the id {_shown(token_id)}")
        return token_from_row(self._fresh("find_token_by_id", row), "find_token_by_id")

    def save_token(self, token: OAuthToken) -> None:
        """Update the token's row (by id, else as ``find_token`` matches) or insert one with a new
        random id set on ``token``; ``None`` erases nothing; a same-user race becomes an update."""
        operation = "save_token"
        token = require_token(token, operation)
        self._check_open()
        row_id, stored = self._save_values(operation, token_values(token))
        token.set_id(row_id)
        if stored is not None:
            fill_empty_fields(token, stored, operation)

    def delete_token(self, id: str) -> None:  # noqa: A002  # the SDK's parameter name
        """Delete the row with this id; an unknown id raises ``SDKException(TOKEN_STORE)``."""
        token_id = require_id(id, "delete_token")
        if self._delete_row("delete_token", token_id) == 0:
            raise store_error(f"delete_token: no stored token has the id {_shown(token_id)}")

    def get_tokens(self) -> list[OAuthToken]:
        """Every stored token, complete, ordered by id (the SDK never calls this; tools do)."""
        return [token_from_row(row, "get_tokens") for row in self._all_rows("get_tokens")]

    def delete_tokens(self) -> None:
        """Delete every stored token."""
        row = self._row_class
        self._write("delete_tokens", delete(row), gone=select(func.count()).select_from(row))

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Release the store's pooled connections (the engine is disposed only if the store built it)."""
        self._closed = True
        if self._held is not None:
            self._held.close()
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> SQLAlchemyTokenStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- rows: what the methods above and zoho_tokenstore.zcrmsdk's store read and write -------

    def _row_by_id(self, operation: str, token_id: str) -> TokenRow | None:
        """The row with this id, or ``None``."""
        return self._read_one(operation, self._by_id, {"value": token_id})

    def _row_by_user(self, operation: str, user_name: str) -> TokenRow | None:
        """The row of this user name (exact match), or ``None``."""
        return self._read_one(operation, self._by_column["user_name"], {"value": user_name})

    def _all_rows(self, operation: str) -> list[TokenRow]:
        """Every row, ordered by id."""
        self._check_open()
        everything = select(*self._token_columns).order_by(self._row_class.id)

        def every_row(connection: Connection) -> list[TokenRow]:
            try:
                return [token_row(row) for row in connection.execute(everything).mappings()]
            except UnreadableValue as exc:
                raise self._unreadable(operation, connection, exc, None, {}) from exc

        return read(self._profile, operation, every_row, self._held)

    def _save_values(self, operation: str, values: Values) -> Saved:
        """Save checked ``values`` (``save_token``'s rules): the row's id, and the stored row if
        the token may be filled from it."""
        self._check_open()
        if not any(values[column] for column in CREDENTIAL_COLUMNS):
            raise store_error(
                f"{operation}: refusing to save a token with no refresh, grant or access token"
            )
        update_first, retry_lost = True, True
        if values["id"] is not None and self._held is not None:
            # The SDK's save after a refresh: one UPDATE by id that commits by itself.
            updated = self._update_alone(operation, values)
            if updated:
                return str(values["id"]), None
            if updated is None:  # lost with its connection: run once more, in the transaction
                retry_lost = False
            else:  # it matched nothing (or met a conflict): the transaction locates the row
                update_first = False
        return write(
            self._profile,
            operation,
            lambda connection: self._save_in(connection, values, update_first),
            lambda connection, saved: self._holds(connection, saved[0], values),
            retry_lost=retry_lost,
        )

    def _delete_row(self, operation: str, token_id: str) -> int:
        """Delete the row with this id; how many rows went (0 or 1)."""
        row = self._row_class
        return self._write(
            operation,
            delete(row).where(row.id == token_id),
            gone=select(func.count()).select_from(row).where(row.id == token_id),
        )

    # -- internals ------------------------------------------------------------------------------

    def _prepare_schema(self, *, auto_upgrade: bool, check_schema: bool) -> None:
        try:
            if auto_upgrade:
                upgrade(self._engine, table_name=self._table_name)
                problem = None
            else:
                problem = (
                    schema_problem(self._engine, self._table_name, fix=self._schema_fix())
                    if check_schema
                    else None
                )
            if problem is None and (auto_upgrade or check_schema):
                # A table at the newest revision can still compare inexactly (say, made by hand).
                with self._engine.connect() as connection:
                    problem = exact_match_problem(connection, self._table_name)
        except sa_exc.SQLAlchemyError as exc:
            raise connection_error("opening the token store", exc, self._engine.url) from exc
        if problem is not None:
            raise store_error(f"The token store cannot be used yet: {problem}")

    def _schema_fix(self) -> str:
        """What a Python caller can do about a schema that is not at the newest revision."""
        table = "" if self._table_name == TABLE_NAME else f", table_name={self._table_name!r}"
        command = upgrade_command(masked_url(self._engine), self._table_name)
        return (
            f"pass auto_upgrade=True, or migrate once with zoho_tokenstore.upgrade(url{table}) "
            f"or `{command}`"
        )

    def _check_open(self) -> None:
        if self._closed:
            raise store_error("the token store is closed")
        if os.getpid() != self._pid:
            self._after_fork()

    def _after_fork(self) -> None:
        """In a forked child: never touch the parent's connections (SQLAlchemy's fork recipe)."""
        self._pid = os.getpid()
        if self._held is not None:
            self._held.forget()
        if self._owns_engine:
            self._engine.dispose(close=False)

    def _fresh(self, operation: str, row: TokenRow) -> TokenRow:
        """The row, refreshed first if it is about to expire and refresh-ahead is on."""
        if self._refresher is None:
            return row
        try:
            return self._refresher.fresh(row)
        except UnreadableValue as exc:  # the row changed under an unknown key while we waited
            raise unreadable_row_error(operation, str(row["id"]), exc.fingerprints) from exc

    def _unreadable(
        self,
        operation: str,
        connection: Connection,
        error: UnreadableValue,
        where: Any,
        params: Mapping[str, Any],
    ) -> SDKException:
        """Name the row no configured key opens (found with a raw re-read: the error path only)."""
        try:
            row_id = unreadable_row_id(connection, self._table, where, params)
        except sa_exc.SQLAlchemyError:
            row_id = None
        return unreadable_row_error(operation, row_id, error.fingerprints)

    def _lookup(self, values: Values) -> tuple[Select[Any], dict[str, Any]] | None:
        """The one query that finds the row for these values, or ``None`` if nothing can match."""
        has_client = values["client_id"] is not None and values["client_secret"] is not None
        no_client = values["client_id"] is None and values["client_secret"] is None
        if _searchable(values, "id"):
            return self._by_id, {"value": values["id"]}
        if _searchable(values, "user_name"):
            return self._by_column["user_name"], {"value": values["user_name"]}
        table = self._table
        if no_client and _searchable(values, "access_token"):
            access = str(values["access_token"])
            return self._by_column["access_token"], credential_params(table, "value", access)
        if not has_client:
            return None
        grant = values["grant_token"] if _searchable(values, "grant_token") else None
        refresh = values["refresh_token"] if _searchable(values, "refresh_token") else None
        if grant is not None and refresh is not None:
            params = credential_params(table, "grant", grant)
            params.update(credential_params(table, "refresh", refresh))
            return self._by_grant_or_refresh, params
        if grant is not None:
            return self._by_column["grant_token"], credential_params(table, "value", grant)
        if refresh is not None:
            return self._by_column["refresh_token"], credential_params(table, "value", refresh)
        return None

    def _update_alone(self, operation: str, values: Values) -> bool | None:
        """The save by id as one UPDATE that commits by itself (see ``transactions.write_alone``):
        whether it updated the row, ``None`` if its connection was lost and it did not land."""
        statement = self._update_if_nothing_to_fill(values)
        return write_alone(
            self._profile,
            self._held,
            operation,
            lambda connection: connection.execute(statement).rowcount == 1,
            lambda connection: self._holds(connection, str(values["id"]), values),
        )

    def _update_if_nothing_to_fill(self, values: Values) -> Any:
        """UPDATE of the row ``values["id"]``, matching only if every column the token leaves empty
        is NULL in the row too, so that a match means the row has nothing to fill the token with."""
        row = self._row_class
        empty = [getattr(row, k).is_(None) for k, v in values.items() if v is None]
        return update(row).where(row.id == values["id"], *empty).values(self._changes(values))

    def _changes(self, values: Values) -> dict[str, Any]:
        """The columns a save writes: its non-empty values, and the keyed hashes of credentials
        (``with_lookup_hashes``; NULL without keys)."""
        given = {k: v for k, v in values.items() if v is not None and k != "id"}
        return with_lookup_hashes(self._table, given)

    def _save_in(self, connection: Connection, values: Values, update_first: bool) -> Saved:
        """Within the caller's write transaction: update the token's row (first by id alone, unless
        ``update_first`` is false; else once located) or insert one (docs/store-design.md)."""
        row = self._row_class
        changes = self._changes(values)
        token_id = values["id"]
        if (
            token_id is not None
            and update_first
            and connection.execute(self._update_if_nothing_to_fill(values)).rowcount == 1
        ):
            return token_id, None
        stored: TokenRow | None = None
        for query, params in self._save_targets(values):
            try:
                found = connection.execute(query, params).first()
            except UnreadableValue as exc:
                where = query.whereclause
                raise self._unreadable("save_token", connection, exc, where, params) from exc
            if found is not None:
                stored = token_row(found._mapping)
                break
        if stored is None:
            row_id = token_id or new_token_id()
            new_row = with_lookup_hashes(self._table, {**values, "id": row_id})
            connection.execute(insert(row).values(new_row))
            return row_id, None
        if values["expiry_time"] is None:  # the token gets the stored one: refuse before writing
            check_stored_expiry(stored, "save_token")
        located = update(row).where(row.id == stored["id"]).values(changes)
        if connection.execute(located).rowcount != 1:
            raise RowVanished  # deleted meanwhile by another transaction: retried in a new one
        return str(stored["id"]), stored

    def _holds(self, connection: Connection, row_id: str, values: Values) -> bool:
        """Whether the row ``row_id`` holds every non-empty value of ``values`` (a save landed)."""
        found = connection.execute(self._by_id, {"value": row_id}).first()
        if found is None:
            return False
        stored = found._mapping
        return all(stored[k] == v for k, v in values.items() if v is not None and k != "id")

    def _save_targets(self, values: Values) -> list[tuple[Select[Any], dict[str, Any]]]:
        """Where a saved token's row may be, in order: by id (else by user name), else as find_token."""
        if values["id"] is None:
            query = self._lookup(values)
            return [query] if query is not None else []
        targets = [(self._by_id, {"value": values["id"]})]
        if values["user_name"] is not None:
            # The id's row may be gone while the user has one: update it, never add a second.
            targets.append((self._by_column["user_name"], {"value": values["user_name"]}))
        return targets

    def _read_one(
        self, operation: str, query: Select[Any], params: Mapping[str, Any]
    ) -> TokenRow | None:
        """The first row of ``query``: one SELECT, retried once if the pooled connection was dead."""
        self._check_open()

        def first(connection: Connection) -> TokenRow | None:
            # .first() and the row's own mapping: a MappingResult per call costs ~5% here.
            try:
                row = connection.execute(query, params).first()
            except UnreadableValue as exc:
                where = query.whereclause
                raise self._unreadable(operation, connection, exc, where, params) from exc
            return token_row(row._mapping) if row is not None else None

        return read(self._profile, operation, first, self._held)

    def _write(self, operation: str, statement: Any, gone: Select[Any]) -> int:
        """Run one DELETE in a transaction; ``gone`` counts what should be left (0 if it landed)."""
        self._check_open()
        return write(
            self._profile,
            operation,
            lambda connection: int(connection.execute(statement).rowcount),
            lambda connection, _: connection.execute(gone).scalar() == 0,
        )


#: What a save did for one token: the row's id, and the stored row if the token may be filled from it.
Saved = tuple[str, TokenRow | None]


def _searchable(values: Values, column: str) -> bool:
    """Whether ``values[column]`` can be looked up; a value that could never be stored matches nothing."""
    value = values[column]
    if value is None or value == "":
        return False
    if not isinstance(value, str):
        raise store_error(f"find_token: {column} must be a str, got {type(value).__name__}")
    return value_problem(column, value) is None


def _shown(token_id: str) -> str:
    """An id as it may appear in a message: ids are not secret, but a hostile one can be huge."""
    return repr(token_id if len(token_id) <= 64 else token_id[:64] + "…")


__all__ = ["SQLAlchemyTokenStore", "new_token_id"]
