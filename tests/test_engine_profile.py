"""What the store knows about its engine is read once from the engine itself (``EngineProfile``),
and using the store adds nothing to the engine: no listener per call, on every backend."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from sqlalchemy.pool import StaticPool

from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore, create_shared_engine, upgrade
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.database.profile import EngineProfile

#: How each backend's engines built here begin a write transaction (the driver does not).
BEGIN_SQL = {"sqlite": "BEGIN IMMEDIATE", "postgresql": None, "mysql": "BEGIN"}


def _listeners(engine: sa.Engine) -> tuple[int, int, int]:
    return (
        len(list(engine.dispatch.begin)),
        len(list(engine.dispatch.before_cursor_execute)),
        len(list(engine.pool.dispatch.connect)),
    )


def _calls(store: SQLAlchemyTokenStore) -> None:
    token = full_token(1)
    store.save_token(token)
    store.save_token(token)  # the save by id
    store.find_token_by_id(str(token.get_id()))
    store.get_tokens()
    store.delete_token(str(token.get_id()))


def _record_listeners(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Record (target, event) of every ``event.listen``/``listens_for`` until ``monkeypatch.undo``."""
    added: list[object] = []
    for name in ("listen", "listens_for"):
        real = getattr(sa.event.api, name)

        def spy(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            added.append(args[:2])
            return _real(*args, **kwargs)

        monkeypatch.setattr(sa.event, name, spy)
        monkeypatch.setattr(sa.event.api, name, spy)
    return added


def test_a_store_adds_no_listener_to_its_engine_however_many_calls(
    db_url: URL, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_shared_engine(db_url)
    try:
        before = _listeners(engine)
        with SQLAlchemyTokenStore(engine) as store, SQLAlchemyTokenStore(db_url) as own:
            added = _record_listeners(monkeypatch)  # anywhere, a throwaway engine copy too
            for _ in range(3):
                _calls(store)
                _calls(own)
            monkeypatch.undo()
            assert added == []
        upgrade(engine)
        assert _listeners(engine) == before
    finally:
        engine.dispose()


def test_the_profile_of_an_engine_built_here(db_url: URL, backend: str) -> None:
    engine = build_engine(db_url)
    try:
        profile = EngineProfile.of(engine)
        assert profile.begin_sql == BEGIN_SQL[backend]
        assert profile.lone_statements_commit and profile.holds_a_connection
        assert profile.recycle_seconds is None
        assert EngineProfile.of(build_engine(db_url, pool_recycle=30)).recycle_seconds == 30
        one = EngineProfile.of(build_engine(db_url, pool_size=1, max_overflow=0))
        assert not one.holds_a_connection  # the store's transactions need the pool's only one
    finally:
        engine.dispose()


def test_the_profile_of_an_applications_own_engine(db_url: URL, backend: str) -> None:
    engine = sa.create_engine(db_url)  # no settings of ours: statements need not commit alone
    try:
        profile = EngineProfile.of(engine, shared=True)
        assert profile.begin_sql is None
        assert profile.lone_statements_commit == (backend == "postgresql")
        assert not profile.holds_a_connection  # its pool settings are not ours to read
        assert profile.engine.hide_parameters
    finally:
        engine.dispose()


@pytest.mark.sqlite
def test_a_static_pool_lends_no_connection(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'static.db'}", poolclass=StaticPool)
    try:
        assert not EngineProfile.of(engine).holds_a_connection  # its one connection is shared
    finally:
        engine.dispose()
