"""Operator tasks on the token table (list, delete, purge dead tokens), for the command and for
applications' housekeeping; each delete re-checks what was read, so a row changed since stays."""

from __future__ import annotations

import time
from typing import Final

from sqlalchemy import Engine, and_, delete, false, or_, select
from sqlalchemy import exc as sa_exc

from ...core.expiry import parse_expiry
from ...core.model import TABLE_NAME, TokenRow, token_row, token_table
from ...database.connect_errors import connection_error
from ...database.profile import EngineProfile

Row = TokenRow

#: What makes a row impossible to use again, for ``--help`` and the docs.
DEAD_ROW_RULE: Final = (
    "no refresh token, and either an access token whose expiry has passed or no credential at all"
)


def list_rows(engine: Engine, table_name: str = TABLE_NAME, user: str | None = None) -> list[Row]:
    """Every row ordered by id, or only ``user``'s (an exact user name match)."""
    table = token_table(table_name)
    query = select(table).order_by(table.c.id)
    if user is not None:
        query = query.where(table.c.user_name == user)
    try:
        with EngineProfile.of(engine).connect() as connection:
            return [token_row(row) for row in connection.execute(query).mappings()]
    except sa_exc.SQLAlchemyError as exc:
        raise connection_error("listing the tokens", exc, engine.url) from exc


def find_row(
    engine: Engine,
    table_name: str = TABLE_NAME,
    *,
    token_id: str | None = None,
    user: str | None = None,
) -> Row | None:
    """The row with this id, or this user's row; ``None`` if there is none."""
    table = token_table(table_name)
    column, value = (table.c.id, token_id) if token_id is not None else (table.c.user_name, user)
    try:
        with EngineProfile.of(engine).connect() as connection:
            row = connection.execute(select(table).where(column == value)).mappings().first()
    except sa_exc.SQLAlchemyError as exc:
        raise connection_error("looking up the token", exc, engine.url) from exc
    return token_row(row) if row is not None else None


def delete_row(engine: Engine, row: Row, table_name: str = TABLE_NAME) -> bool:
    """Delete the row the caller was shown (same id and user); ``False`` if it is gone already."""
    table = token_table(table_name)
    user = table.c.user_name
    same_user = user.is_(None) if row["user_name"] is None else user == row["user_name"]
    statement = delete(table).where(table.c.id == row["id"], same_user)
    try:
        with EngineProfile.of(engine).begin() as connection:
            return connection.execute(statement).rowcount == 1
    except sa_exc.SQLAlchemyError as exc:
        raise connection_error("deleting the token", exc, engine.url) from exc


def is_dead(row: Row, now_ms: int) -> bool:
    """True for a row nothing can use again (``DEAD_ROW_RULE``), so ``purge`` deletes it; what it
    keeps, and why, is in docs/cli.md ("purge")."""
    if row["refresh_token"]:
        return False
    if not row["access_token"]:
        # An unused grant code may still be exchanged; the row does not say when it was issued.
        return not row["grant_token"]
    expiry = parse_expiry(row["expiry_time"])
    # No expiry, or one that cannot be read: nothing shows the access token expired, so it stays.
    return expiry is not None and expiry < now_ms


def purge(
    engine: Engine,
    table_name: str = TABLE_NAME,
    *,
    dry_run: bool = False,
    now_ms: int | None = None,
) -> list[Row]:
    """Delete the dead rows (or, with ``dry_run``, only find them) and return them, in one
    transaction that keeps a row refreshed or re-saved meanwhile."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    table = token_table(table_name)
    candidates = select(table).where(table.c.refresh_token.is_(None)).order_by(table.c.id)
    try:
        with EngineProfile.of(engine).begin() as connection:
            rows = [token_row(r) for r in connection.execute(candidates).mappings()]
            dead = [row for row in rows if is_dead(row, now)]
            if dry_run:
                return dead
            removed = []
            for row in dead:
                # The conditions again, on the values read: a row refreshed or re-saved meanwhile
                # no longer matches, so it is kept and not reported.
                unchanged = [table.c[name] == row[name] for name in ("access_token", "expiry_time")]
                statement = delete(table).where(
                    table.c.id == row["id"],
                    table.c.refresh_token.is_(None),
                    or_(
                        and_(table.c.access_token.is_(None), table.c.grant_token.is_(None)),
                        and_(*unchanged) if row["access_token"] else false(),
                    ),
                )
                if connection.execute(statement).rowcount == 1:
                    removed.append(row)
            return removed
    except sa_exc.SQLAlchemyError as exc:
        raise connection_error("purging dead tokens", exc, engine.url) from exc
