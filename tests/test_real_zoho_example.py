"""``python -m zoho_tokenstore.examples.real_zoho_init`` cannot reach Zoho here; without its settings it
must fail clearly."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

VARIABLES = (
    "ZOHO_CLIENT_ID",
    "ZOHO_CLIENT_SECRET",
    "ZOHO_GRANT_TOKEN",
    "ZOHO_REDIRECT_URL",
    "ZOHO_TOKENSTORE_URL",
)


@pytest.fixture(scope="module")
def example() -> ModuleType:
    """The example as the package ships it."""
    return importlib.import_module("zoho_tokenstore.examples.real_zoho_init")


def test_missing_variables_are_all_named(example: ModuleType) -> None:
    with pytest.raises(example.MissingSettingsError) as raised:
        example.settings_from_env({})
    message = str(raised.value)
    for name in ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_GRANT_TOKEN"):
        assert name in message
    assert "ZOHO_REDIRECT_URL" not in message  # optional


def test_only_the_missing_ones_are_named_and_no_value_is_shown(example: ModuleType) -> None:
    environ = {
        "ZOHO_CLIENT_ID": "1000.CLIENT",
        "ZOHO_CLIENT_SECRET": "s3cret-value",
        "ZOHO_GRANT_TOKEN": "",
    }
    with pytest.raises(example.MissingSettingsError) as raised:
        example.settings_from_env(environ)
    message = str(raised.value)
    assert "ZOHO_GRANT_TOKEN" in message
    assert "ZOHO_CLIENT_ID" not in message and "ZOHO_CLIENT_SECRET" not in message
    assert "s3cret-value" not in message and "1000.CLIENT" not in message


def test_settings_default_to_an_embedded_sqlite_database(example: ModuleType) -> None:
    environ = {"ZOHO_CLIENT_ID": "1000.C", "ZOHO_CLIENT_SECRET": "s", "ZOHO_GRANT_TOKEN": "1000.g"}
    settings = example.settings_from_env(environ)
    assert (settings.database_url, settings.redirect_url) == ("sqlite:///zohooauth.db", None)
    url = "postgresql+psycopg://app@db/crm"
    settings = example.settings_from_env(
        {**environ, "ZOHO_TOKENSTORE_URL": url, "ZOHO_REDIRECT_URL": "https://example.com/cb"}
    )
    assert (settings.database_url, settings.redirect_url) == (url, "https://example.com/cb")


def test_main_without_settings_exits_2_before_touching_the_sdk(
    example: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clean_sdk: object,
) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert example.main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: set these environment variables first: ZOHO_CLIENT_ID")
    assert Initializer.initializer is None  # no attempt to reach Zoho
    assert list(tmp_path.iterdir()) == []  # no database, log or resource folder created
