"""The stores teams run before moving to us, to produce real import sources in tests.

- ``BlogStyleStore``: the ``TokenStore`` of Zoho's Kaizen blog post (``CustomStoreSQLite``), on any
  SQLAlchemy URL, with its ten-column table and its lookups, but with bound parameters (the blog
  concatenates values into SQL). Its ids are ``max(id)+1`` like DBStore's.
- ``create_dbstore_table`` / ``db_store``: the SDK's own ``DBStore`` on its documented MySQL table.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.db_store import DBStore
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from token_factory import FIELDS, fields_of

#: The table of the blog post and of the SDK's README for DBStore: only the primary key.
TEN_COLUMN_TABLE_SQL = (
    "CREATE TABLE {name} (id varchar(10) NOT NULL, user_name varchar(255), "
    "client_id varchar(255), client_secret varchar(255), refresh_token varchar(255), "
    "access_token varchar(255), grant_token varchar(255), expiry_time varchar(20), "
    "redirect_url varchar(255), api_domain varchar(255), primary key (id))"
)

#: The same columns as unbounded text, for sources holding values our store refuses (too long).
WIDE_TABLE_SQL = (
    "CREATE TABLE {name} (id text, user_name text, client_id text, client_secret text, "
    "refresh_token text, access_token text, grant_token text, expiry_time text, "
    "redirect_url text, api_domain text)"
)


def create_table(url: URL, name: str = "oauthtoken", sql: str = TEN_COLUMN_TABLE_SQL) -> None:
    """Create a ten-column token table in the database at ``url``."""
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.exec_driver_sql(sql.format(name=name))
    engine.dispose()


def insert_rows(url: URL, rows: list[dict[str, Any]], name: str = "oauthtoken") -> None:
    """Insert rows (dicts by column) directly, as an old store would have left them."""
    table = sa.table(name, *(sa.column(c) for c in FIELDS))
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        for row in rows:
            connection.execute(sa.insert(table).values({c: row.get(c) for c in FIELDS}))
    engine.dispose()


def read_legacy_rows(url: URL, name: str = "oauthtoken") -> list[dict[str, Any]]:
    """Every row of a ten-column table, sorted, to compare before and after."""
    table = sa.table(name, *(sa.column(c) for c in FIELDS))
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        rows = [dict(r) for r in connection.execute(sa.select(table)).mappings()]
    engine.dispose()
    return sorted(rows, key=lambda r: str(r["id"]))


def db_store(url: URL) -> DBStore:
    """The SDK's ``DBStore`` on the MariaDB database of ``url`` (its table created beforehand)."""
    return DBStore(
        host=url.host,
        database_name=url.database,
        user_name=url.username,
        password=url.password or "",
        port_number=str(url.port or 3306),
    )


class BlogStyleStore(TokenStore):  # type: ignore[misc]
    """The blog's custom store on SQLAlchemy: one connection per call, lookups as the blog does them."""

    def __init__(self, url: URL, table: str = "oauthtoken") -> None:
        self.engine = sa.create_engine(url)
        self.table = sa.table(table, *(sa.column(c) for c in FIELDS))
        if not sa.inspect(self.engine).has_table(table):
            create_table(url, table)

    def close(self) -> None:
        self.engine.dispose()

    def _where(self, token: OAuthToken) -> Any:
        c = self.table.c
        signature = token.get_user_signature()
        if signature is not None and signature.get_name():
            return c.user_name == signature.get_name()
        if token.get_access_token() and token.get_client_id() is None:
            return c.access_token == token.get_access_token()
        if token.get_client_id() is not None and token.get_client_secret() is not None:
            if token.get_grant_token():
                return c.grant_token == token.get_grant_token()
            if token.get_refresh_token():
                return c.refresh_token == token.get_refresh_token()
        return None

    def find_token(self, token: OAuthToken) -> OAuthToken | None:
        where = self._where(token)
        if where is None:
            return None
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(self.table).where(where).limit(1)).first()
        if row is None:
            return None
        DBStore.set_merge_data(token, list(row))
        return token

    def save_token(self, token: OAuthToken) -> None:
        where = self._where(token)
        values = {k: v for k, v in fields_of(token).items() if k != "id"}
        with self.engine.begin() as connection:
            if where is not None:
                changes = {k: v for k, v in values.items() if v is not None}
                if connection.execute(sa.update(self.table).where(where).values(changes)).rowcount:
                    return
            if token.get_id() is None:
                top = connection.execute(sa.select(sa.func.max(self.table.c.id))).scalar()
                token.set_id(str(int(top) + 1 if top is not None else 1))
            connection.execute(sa.insert(self.table).values(id=token.get_id(), **values))

    def find_token_by_id(self, id: str) -> OAuthToken:  # noqa: A002
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(self.table).where(self.table.c.id == id)).first()
        if row is None:
            raise SDKException("TOKEN_STORE", "no token with that id")
        token: OAuthToken = object.__new__(OAuthToken)
        DBStore.set_oauth_token(token)
        DBStore.set_merge_data(token, list(row))
        return token

    def delete_token(self, id: str) -> None:  # noqa: A002
        with self.engine.begin() as connection:
            connection.execute(sa.delete(self.table).where(self.table.c.id == id))

    def get_tokens(self) -> list[OAuthToken]:
        with self.engine.connect() as connection:
            ids = [r[0] for r in connection.execute(sa.select(self.table.c.id))]
        return [self.find_token_by_id(i) for i in ids]

    def delete_tokens(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(self.table))
