"""save_token: update or insert as the SDK expects, ids that never collide, nothing erased or duplicated."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from backends import require_backend
from databases import throwaway_database
from token_factory import VALID_FOR_SECONDS, fields_of, full_token, make_token, now_ms
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.core.model import COLUMN_LENGTHS, OAuthTokenRow

Rows = Callable[[], list[dict[str, object]]]


def test_first_login_inserts_one_row_and_sets_its_id(
    store: SQLAlchemyTokenStore, rows: Rows
) -> None:
    token = full_token(1)
    assert token.get_id() is None

    store.save_token(token)

    assert token.get_id() is not None
    [row] = rows()
    assert row == fields_of(token)


def test_new_ids_never_collide_past_ten_rows(store: SQLAlchemyTokenStore, rows: Rows) -> None:
    # DBStore and the blog sample compute max(id)+1 on a varchar column: "9" is the max of
    # "1".."10", so the 11th user collides. Ours are random UUIDs.
    tokens = [full_token(n) for n in range(1, 13)]
    for token in tokens:
        store.save_token(token)
    assert len({t.get_id() for t in tokens}) == 12
    assert len(rows()) == 12


def test_caller_supplied_id_is_kept(store: SQLAlchemyTokenStore, rows: Rows) -> None:
    token = full_token(1, id="777")
    store.save_token(token)
    assert token.get_id() == "777"
    assert [row["id"] for row in rows()] == ["777"]


def test_refresh_updates_the_row_by_id_without_erasing(
    store: SQLAlchemyTokenStore, rows: Rows
) -> None:
    token = full_token(1)
    store.save_token(token)
    later = str(now_ms(2 * VALID_FOR_SECONDS))
    refreshed = make_token(id=token.get_id(), access_token="1000.fresh", expiry_time=later)

    store.save_token(refreshed)

    [row] = rows()
    assert row == {**fields_of(token), "access_token": "1000.fresh", "expiry_time": later}
    # The caller's token learns what was stored, like FileStore's merge.
    assert refreshed.get_refresh_token() == token.get_refresh_token()


def test_re_consent_of_the_same_user_updates_that_users_row(
    store: SQLAlchemyTokenStore, rows: Rows
) -> None:
    first = full_token(1)
    store.save_token(first)
    again = full_token(1, grant_token="1000.grant-two", refresh_token="1000.refresh-two")

    store.save_token(again)

    assert again.get_id() == first.get_id()
    [row] = rows()
    assert row["refresh_token"] == "1000.refresh-two"
    assert row["grant_token"] == "1000.grant-two"


def test_save_by_refresh_token_on_restart_updates_the_row(
    store: SQLAlchemyTokenStore, rows: Rows
) -> None:
    first = full_token(1, user_name=None)
    store.save_token(first)
    restart = make_token(
        client_id=first.get_client_id(),
        client_secret=first.get_client_secret(),
        refresh_token=first.get_refresh_token(),
        access_token="1000.after-restart",
    )
    store.save_token(restart)
    assert restart.get_id() == first.get_id()
    assert [row["access_token"] for row in rows()] == ["1000.after-restart"]


def test_stale_id_of_an_existing_user_updates_that_users_row(
    store: SQLAlchemyTokenStore, rows: Rows
) -> None:
    token = full_token(1)
    store.save_token(token)
    stale = full_token(1, id="deleted-long-ago", access_token="1000.newest")

    store.save_token(stale)

    assert stale.get_id() == token.get_id()
    [row] = rows()
    assert row["access_token"] == "1000.newest"


def test_token_without_any_credential_is_refused(store: SQLAlchemyTokenStore, rows: Rows) -> None:
    with pytest.raises(SDKException) as raised:
        store.save_token(make_token(user_name="u@example.com:1", client_id="c"))
    assert raised.value.code == "TOKEN_STORE"
    assert "no refresh, grant or access token" in raised.value.error_message
    assert rows() == []


def test_empty_strings_are_stored_as_null(store: SQLAlchemyTokenStore, rows: Rows) -> None:
    store.save_token(full_token(1, redirect_url="", grant_token="", api_domain=""))
    [row] = rows()
    assert row["redirect_url"] is None and row["grant_token"] is None and row["api_domain"] is None


def test_expiry_round_trips_as_epoch_millisecond_string(store: SQLAlchemyTokenStore) -> None:
    expiry = str(now_ms(VALID_FOR_SECONDS))
    token = full_token(1, expiry_time=expiry)
    store.save_token(token)
    assert store.find_token_by_id(token.get_id()).get_expires_in() == expiry


def test_non_numeric_expiry_is_refused(store: SQLAlchemyTokenStore) -> None:
    with pytest.raises(SDKException, match="epoch milliseconds"):
        store.save_token(full_token(1, expiry_time="tomorrow"))


@pytest.mark.parametrize(
    ("column", "limit"),
    list(COLUMN_LENGTHS.items()),  # the value limits; encrypted columns are wider (ciphertext)
)
def test_over_long_values_are_refused_never_truncated(
    store: SQLAlchemyTokenStore, rows: Rows, column: str, limit: int
) -> None:
    value = "7" * (limit + 1)  # digits, so expiry_time fails on length and not on format
    with pytest.raises(SDKException) as raised:
        store.save_token(full_token(1, **{column: value}))
    assert raised.value.code == "TOKEN_STORE"
    assert f"{column} holds at most {limit}" in raised.value.error_message
    assert value not in str(raised.value)
    assert rows() == []
    # A value of exactly the limit fits.
    token = full_token(1, **{column: "7" * limit})
    store.save_token(token)
    assert fields_of(store.find_token_by_id(token.get_id()))[column] == "7" * limit


def test_the_database_itself_refuses_over_long_values(server_backend: str, tmp_path: Path) -> None:
    # Below the store's own check: PostgreSQL always, MariaDB only in strict mode (which the
    # store's engine sets on every connection), refuse rather than truncate. SQLite does not
    # enforce lengths at all, which is why the store validates first.
    with (
        throwaway_database(server_backend, tmp_path) as url,
        SQLAlchemyTokenStore(url, auto_upgrade=True) as store,
    ):
        _insert_over_long_value(store, server_backend)


def _insert_over_long_value(store: SQLAlchemyTokenStore, backend: str) -> None:
    if backend == "mysql":
        with store.engine.connect() as connection:
            mode = connection.exec_driver_sql("SELECT @@SESSION.sql_mode").scalar()
        assert "STRICT_ALL_TABLES" in str(mode)
    table = OAuthTokenRow.__table__
    with pytest.raises(sa.exc.DataError), store.engine.begin() as connection:
        too_long = "a" * (table.c.access_token.type.length + 1)
        connection.execute(sa.insert(table).values(id="x", access_token=too_long))


@pytest.mark.mysql
def test_mariadb_truncates_silently_unless_strict_which_the_store_forces(tmp_path: Path) -> None:
    # The hazard the strict mode guards against: a plain non-strict session stores a cut token.
    require_backend("mysql")
    with throwaway_database("mysql", tmp_path) as url:
        upgrade(url)
        _show_truncation_and_refusal(url)


def _show_truncation_and_refusal(db_url: URL) -> None:
    table = OAuthTokenRow.__table__
    plain = sa.create_engine(db_url)
    with plain.begin() as connection:
        connection.exec_driver_sql("SET SESSION sql_mode = ''")
        width = table.c.access_token.type.length
        connection.execute(sa.insert(table).values(id="cut", access_token="a" * (width + 88)))
        stored = connection.execute(sa.select(table.c.access_token)).scalar_one()
        connection.execute(sa.delete(table))
    plain.dispose()
    assert stored == "a" * width  # silently truncated
    # The store's own engine refuses the same insert even if the server default were non-strict,
    # because it sets STRICT_ALL_TABLES on each connection (see test above), and the store
    # validates lengths before any SQL.
    with (
        SQLAlchemyTokenStore(db_url) as store,
        pytest.raises(SDKException, match="holds at most 512"),
    ):
        store.save_token(full_token(1, access_token="a" * 600))


def test_two_writers_saving_the_same_new_user_leave_one_row(db_url: URL, rows: Rows) -> None:
    stores = [SQLAlchemyTokenStore(db_url) for _ in range(2)]
    for round_number in range(5):
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def login(
            store: SQLAlchemyTokenStore,
            n: int = round_number,
            barrier: threading.Barrier = barrier,
            errors: list[BaseException] = errors,
        ) -> None:
            token = full_token(n)
            barrier.wait(timeout=10)
            try:
                store.save_token(token)
            except BaseException as exc:  # noqa: BLE001  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=login, args=(s,)) for s in stores]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert errors == []
    names = [row["user_name"] for row in rows()]
    assert sorted(names) == sorted({*names})
    assert len(names) == 5
    for store in stores:
        store.close()


def test_an_insert_that_loses_the_race_becomes_an_update(
    server_backend: str, tmp_path: Path
) -> None:
    # Deterministic version of the race: right before the store inserts a new user, another
    # writer commits a row for the same user. The unique constraint rejects our insert and
    # the retry updates the other writer's row instead of failing or duplicating. (SQLite
    # writers hold the write lock from BEGIN IMMEDIATE, so there this interleaving cannot occur.)
    with (
        throwaway_database(server_backend, tmp_path) as url,
        SQLAlchemyTokenStore(url, auto_upgrade=True) as store,
    ):
        _lose_the_insert_race(store, url)


def _lose_the_insert_race(store: SQLAlchemyTokenStore, db_url: URL) -> None:
    rival = sa.create_engine(db_url)
    table = OAuthTokenRow.__table__
    fired: list[str] = []

    def rival_commits_first(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("INSERT") and not fired:
            fired.append(statement)
            with rival.begin() as connection:
                connection.execute(
                    sa.insert(table).values(
                        id="rival", user_name="user1@example.com:60001", access_token="rival"
                    )
                )

    sa.event.listen(store.engine, "before_cursor_execute", rival_commits_first)
    token = full_token(1)
    store.save_token(token)
    sa.event.remove(store.engine, "before_cursor_execute", rival_commits_first)
    rival.dispose()

    assert fired
    with store.engine.connect() as connection:
        [row] = [dict(r) for r in connection.execute(sa.select(table)).mappings()]
    assert row["id"] == "rival" == token.get_id()
    assert row["access_token"] == token.get_access_token()


def test_user_names_are_stored_verbatim_not_as_sql(store: SQLAlchemyTokenStore, rows: Rows) -> None:
    store.save_token(full_token(1))
    hostile = "x' OR '1'='1"
    token = full_token(2, user_name=hostile)
    store.save_token(token)
    assert sorted(str(row["user_name"]) for row in rows()) == sorted(
        [hostile, "user1@example.com:60001"]
    )


def test_a_row_deleted_between_select_and_update_is_never_reported_saved(
    store: SQLAlchemyTokenStore, rows: Rows, db_url: URL, backend: str
) -> None:
    # The store locates the user's row, then another transaction deletes it before the UPDATE:
    # the UPDATE matches nothing. The save must not report success for a write that did not
    # happen; it saves again in a new transaction. (SQLite writers hold the database's write
    # lock, so there the other writer cannot interleave: the row is deleted on the store's own
    # connection, just before its UPDATE.)
    first = full_token(1)
    store.save_token(first)
    again = full_token(1, access_token="1000.again")  # the same user logs in again: no id yet
    table = OAuthTokenRow.__table__
    rival = sa.create_engine(db_url)
    deleted: list[str] = []

    def delete_before_update(_conn: object, cursor: Any, statement: str, *_: object) -> None:
        if not statement.lstrip().upper().startswith("UPDATE") or deleted:
            return
        deleted.append(statement)
        if backend == "sqlite":
            cursor.connection.execute(f"DELETE FROM {table.name}")
            return
        with rival.begin() as connection:
            connection.execute(sa.delete(table))

    sa.event.listen(store.engine, "before_cursor_execute", delete_before_update)
    try:
        store.save_token(again)
    finally:
        sa.event.remove(store.engine, "before_cursor_execute", delete_before_update)
        rival.dispose()

    assert deleted
    [row] = rows()
    assert row["id"] == again.get_id()
    assert row["access_token"] == "1000.again"
    assert row["user_name"] == "user1@example.com:60001"
