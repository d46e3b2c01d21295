"""The public names listed in docs/usage.md keep working wherever the modules behind them move."""

from __future__ import annotations

import importlib
import importlib.metadata
import re
from pathlib import Path

import pytest

import zoho_tokenstore
from zcrmsdk_support import require_zcrmsdk

USAGE = Path(__file__).resolve().parents[1] / "docs" / "usage.md"

#: Each public module and the names it must offer (the table in docs/usage.md, section "Public names").
PUBLIC: dict[str, tuple[str, ...]] = {
    "zoho_tokenstore": (
        "SQLAlchemyTokenStore",
        "OAuthTokenRow",
        "RefreshAhead",
        "RefreshFailedError",
        "create_shared_engine",
        "upgrade",
        "downgrade",
        "revoke_token",
        "keys_from_environment",
    ),
    "zoho_tokenstore.store": ("SQLAlchemyTokenStore",),
    "zoho_tokenstore.zcrmsdk": ("SQLAlchemyTokenStore",),
    "zoho_tokenstore.migration": (
        "include_name",
        "include_name_for",
        "upgrade",
        "downgrade",
        "current_revision",
        "head_revision",
        "version_table",
        "VERSION_TABLE",
    ),
    "zoho_tokenstore.testing": ("StandInZoho", "StandInKit", "running_kit"),
    "zoho_tokenstore.testing.pytest_plugin": ("zoho_standin", "fail_on_sdk_errors"),
    "zoho_tokenstore.cli.operations.maintenance": (
        "list_rows",
        "find_row",
        "delete_row",
        "purge",
        "is_dead",
        "refresh_failures",
    ),
    "zoho_tokenstore.cli.operations.diagnostics": ("diagnose", "Check"),
    "zoho_tokenstore.examples.real_zoho_init": ("main",),  # what the demo's last line runs
}


#: Public modules that import the 2.x SDK (``zcrmsdk``): skipped by ``make test``, run by test-sdk2_1.
NEED_ZCRMSDK = {"zoho_tokenstore.zcrmsdk"}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_every_public_name_imports(module: str) -> None:
    if module in NEED_ZCRMSDK:
        require_zcrmsdk()
    imported = importlib.import_module(module)
    missing = [name for name in PUBLIC[module] if not hasattr(imported, name)]
    assert missing == []


def test_the_package_exports_exactly_its_public_names() -> None:
    assert sorted(zoho_tokenstore.__all__) == sorted(PUBLIC["zoho_tokenstore"])


def test_every_public_module_and_name_is_documented_on_the_usage_page() -> None:
    section = USAGE.read_text(encoding="utf-8")  # the table, and the housekeeping list above it
    for module, names in PUBLIC.items():
        assert f"`{module}" in section, module
        for name in names:
            assert re.search(rf"\b{re.escape(name)}\b", section), (module, name)


def test_the_console_script_and_the_pytest_plugin_are_registered() -> None:
    entry_points = importlib.metadata.entry_points()
    scripts = {e.name: e.value for e in entry_points.select(group="console_scripts")}
    plugins = {e.name: e.value for e in entry_points.select(group="pytest11")}
    assert scripts["zoho-tokenstore"] == "zoho_tokenstore.cli:main"
    assert plugins["zoho_tokenstore"] == "zoho_tokenstore.testing.pytest_plugin"
