"""Every SQLite URL the store accepts is safe to share between threads; the others are refused.

Plain paths and ``file:`` URIs name a file: pooled connections, WAL, concurrent saves all land.
In-memory and temporary databases live inside one connection, so the store refuses them by name.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from sdk_helpers import run_at_once
from token_factory import full_token
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade

pytestmark = pytest.mark.sqlite

THREADS = 8
ROUNDS = 5


def file_urls(directory: Path) -> dict[str, str]:
    """Each form of URL that names a SQLite file."""
    absolute = directory / "plain.db"
    spaced = directory / "with space.db"
    return {
        "plain path": f"sqlite:///{absolute}",
        "file: URI": f"sqlite:///file:{directory / 'uri.db'}?uri=true",
        "file:/// URI, escaped": f"sqlite:///file://{quote(str(spaced))}?uri=true&mode=rwc",
    }


@pytest.mark.parametrize("form", ["plain path", "file: URI", "file:/// URI, escaped"])
def test_eight_threads_saving_at_once_all_land_every_time(form: str, tmp_path: Path) -> None:
    url = file_urls(tmp_path)[form]
    upgrade(url)
    with SQLAlchemyTokenStore(url) as store:
        for round_number in range(ROUNDS):
            tokens = [full_token(round_number * THREADS + n) for n in range(THREADS)]
            run_at_once(THREADS, lambda n, tokens=tokens: store.save_token(tokens[n]))
            for token in tokens:
                found = store.find_token_by_id(token.get_id())
                assert found.get_refresh_token() == token.get_refresh_token()
        assert len(store.get_tokens()) == THREADS * ROUNDS


@pytest.mark.parametrize("form", ["plain path", "file: URI", "file:/// URI, escaped"])
def test_every_file_url_gets_wal_and_a_private_file(form: str, tmp_path: Path) -> None:
    url = file_urls(tmp_path)[form]
    upgrade(url)
    with SQLAlchemyTokenStore(url) as store:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            [(_, _, path)] = connection.exec_driver_sql("PRAGMA database_list").all()
        assert Path(path).parent == tmp_path  # the file the URL names, not a copy in memory
        assert Path(path).stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    "url",
    [
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite+pysqlite:///:memory:",
        "sqlite:///file::memory:?uri=true",
        "sqlite:///file::memory:?cache=shared&uri=true",
        "sqlite:///file:tokens?mode=memory&cache=shared&uri=true",
        "sqlite:///file:/tokens?vfs=memdb&uri=true",
        "sqlite:///file:?uri=true",
    ],
)
def test_in_memory_and_temporary_databases_are_refused_clearly(url: str) -> None:
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(url, auto_upgrade=True)
    assert raised.value.code == "TOKEN_STORE"
    message = raised.value.error_message
    assert "in-memory" in message and "between threads" in message
    assert "sqlite:///zohooauth.db" in message  # the fix: a file


def test_a_file_uri_opened_read_write_only_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///file:{tmp_path / 'absent.db'}?mode=rw&uri=true"
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(url)
    assert raised.value.code == "TOKEN_STORE"
    assert not (tmp_path / "absent.db").exists()


def test_the_engine_pools_real_connections_for_a_file_uri(tmp_path: Path) -> None:
    url = file_urls(tmp_path)["file: URI"]
    upgrade(url)
    with SQLAlchemyTokenStore(url) as store:
        assert isinstance(store.engine.pool, sa.pool.QueuePool)
        with store.engine.connect() as first, store.engine.connect() as second:
            assert first.connection.dbapi_connection is not second.connection.dbapi_connection
