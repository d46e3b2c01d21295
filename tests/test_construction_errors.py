"""A store that cannot be built says why as ``SDKException(TOKEN_STORE)``, with the fix, no password.

Before: a missing directory escaped as ``FileNotFoundError``, a missing driver as
``ModuleNotFoundError``, an unknown scheme as ``NoSuchModuleError``, a bad URL as ``ArgumentError``
quoting the whole URL, password included.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.database.urls import DatabaseURLError

PASSWORD = "S3cret-Pw"


def refusal(url: str) -> str:
    """The store's error message for ``url``, after checking it hides the password everywhere."""
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(url)
    error = raised.value
    assert error.code == "TOKEN_STORE"
    chain: list[BaseException] = []
    cause: BaseException | None = error
    while cause is not None:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for link in chain:
        assert PASSWORD not in str(link) and PASSWORD not in repr(link)
    return str(error.error_message)


def test_a_missing_directory_names_the_directory(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "there"
    message = refusal(f"sqlite:///{missing / 'tokens.db'}")
    assert "does not exist" in message and str(missing) in message
    assert "mkdir" in message
    assert not missing.exists()


def test_the_missing_directory_fix_is_the_one_engines_md_shows_and_it_works(
    tmp_path: Path,
) -> None:
    """docs/engines.md's row for a missing directory is the message, and its ``mkdir -p`` fixes it."""
    missing = tmp_path / "dir with space" / "sub"
    url = f"sqlite:///{missing / 'tokens.db'}"
    message = refusal(url)
    page = (Path(__file__).resolve().parents[1] / "docs" / "engines.md").read_text(encoding="utf-8")
    [row] = [line for line in page.splitlines() if line.startswith("| Missing directory |")]
    shown = row.split("`")[1].replace("'/srv/app/data'", repr(str(missing)))
    assert shown.split("…")[0] in message
    fix = message.split("(mkdir -p ", 1)[1].split(")", 1)[0]
    subprocess.run(f"mkdir -p {fix}", shell=True, check=True, timeout=30)
    with SQLAlchemyTokenStore(url, auto_upgrade=True) as store:
        assert store.get_tokens() == []


def test_a_missing_directory_in_a_file_uri_names_it_too(tmp_path: Path) -> None:
    missing = tmp_path / "absent"
    message = refusal(f"sqlite:///file:{missing / 'tokens.db'}?uri=true")
    assert str(missing) in message and "does not exist" in message


def test_a_directory_given_as_the_database_file_is_named(tmp_path: Path) -> None:
    message = refusal(f"sqlite:///{tmp_path}")
    assert "is a directory" in message


@pytest.mark.parametrize(
    ("module", "url", "extra"),
    [
        ("psycopg", f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:9/db", "postgresql"),
        ("pymysql", f"mysql+pymysql://app:{PASSWORD}@127.0.0.1:9/db", "mysql"),
        ("pymysql", f"mariadb+pymysql://app:{PASSWORD}@127.0.0.1:9/db", "mysql"),
    ],
)
def test_a_missing_driver_names_the_extra_to_install(
    module: str, url: str, extra: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An environment without the driver: importing it fails as it would if never installed.
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)
    message = refusal(url)
    assert f"pip install 'zoho-tokenstore[{extra}]'" in message
    assert module in message


@pytest.mark.parametrize(
    ("url", "module", "advice"),
    [
        # mysql:// means mysqlclient to SQLAlchemy; psycopg2 is the older PostgreSQL driver.
        (f"mysql://app:{PASSWORD}@127.0.0.1:9/db", "MySQLdb", "mysql+pymysql://"),
        (
            f"postgresql+psycopg2://app:{PASSWORD}@127.0.0.1:9/db",
            "psycopg2",
            "postgresql+psycopg://",
        ),
    ],
)
def test_a_driver_we_do_not_install_names_the_scheme_and_extra_we_do(
    url: str, module: str, advice: str
) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    message = refusal(url)
    assert f"write {advice}" in message and "pip install 'zoho-tokenstore[" in message


@pytest.mark.parametrize(
    ("url", "advice"),
    [
        (f"postgres://app:{PASSWORD}@127.0.0.1/db", "write postgresql+psycopg://"),
        (f"oracle://app:{PASSWORD}@127.0.0.1/db", "SQLite, PostgreSQL and MySQL/MariaDB"),
        (f"nosuchdb+x://app:{PASSWORD}@127.0.0.1/db", "SQLite, PostgreSQL and MySQL/MariaDB"),
        (f"postgresql+nosuchdriver://app:{PASSWORD}@127.0.0.1/db", "use postgresql+psycopg://"),
    ],
)
def test_an_unknown_scheme_names_the_one_to_use(url: str, advice: str) -> None:
    message = refusal(url)
    assert advice in message


@pytest.mark.parametrize(
    "url",
    [
        f"not a url with {PASSWORD}",
        f"postgresql+psycopg://app:{PASSWORD}@127.0.0.1:notaport/db",
        f"://app:{PASSWORD}@host/db",
    ],
)
def test_a_bad_url_is_refused_without_repeating_it(url: str) -> None:
    message = refusal(url)
    assert "could not be parsed" in message and "postgresql+psycopg://" in message


def test_upgrade_refuses_the_same_urls_with_the_same_message(tmp_path: Path) -> None:
    with pytest.raises(DatabaseURLError, match="does not exist"):
        upgrade(f"sqlite:///{tmp_path / 'none' / 'x.db'}")
