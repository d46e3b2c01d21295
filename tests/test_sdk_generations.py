"""SDK generations: one installed SDK, clear messages otherwise, and one database shared by all four.

The suite runs on zohocrmsdk8_0 (``make test``) and again on 7_0, 6_0 and 5_0 in their own venvs
(``make test-sdk7``, ``make test-sdk6``, ``make test-sdk5``). The test that shares one database between applications
on every generation runs from the 8_0 run and starts the other generations' venvs.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from refresh_setup import ALICE_NAME, expire, log_in
from refresh_workers import environment
from sdk_generations import DISTRIBUTIONS, SDK_DISTRIBUTION, SDK_SAVE_ERRORS_PROPAGATE
from sdk_helpers import get_leads, lead_descriptions
from zoho_tokenstore import SQLAlchemyTokenStore, revoke_token
from zoho_tokenstore.core.errors import store_error
from zoho_tokenstore.sdk.generation import (
    EXTRAS,
    SdkDistribution,
    SdkGenerationWarning,
    installed_sdk_distributions,
    require_sdk,
    sdk_distributions,
    sdk_problem,
)
from zoho_tokenstore.testing.sdk_log import SdkLogRecorder
from zoho_tokenstore.testing.standin_zoho import SDK_API_VERSION, StandInZoho

REPO = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: The venvs `make sdk-venvs` builds for the older generations.
OLDER_GENERATIONS = {v: REPO / f".venv-sdk{v[1:]}" for v in ("v7", "v6", "v5")}
APP = Path(__file__).with_name("generation_app.py")
CAROL, DAVE, ERIN = "carol@example.com", "dave@example.com", "erin@example.com"
CAROL_NAME, DAVE_NAME, ERIN_NAME = f"{CAROL}:555", f"{DAVE}:555", f"{ERIN}:555"


def fake_dist_info(site: Path, name: str, version: str = "1.0.0") -> None:
    """The metadata ``pip install`` leaves for distribution ``name`` (spelled as on PyPI)."""
    info = site / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


@pytest.fixture
def installed_beside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Call with distribution names: their metadata goes on ``sys.path`` beside the real SDK."""

    def install(*names: str) -> None:
        for name in names:
            fake_dist_info(tmp_path / "site", name)
        monkeypatch.syspath_prepend(str(tmp_path / "site"))
        installed_sdk_distributions.cache_clear()

    yield install
    monkeypatch.undo()
    installed_sdk_distributions.cache_clear()


@pytest.fixture
def other_sdk_installed(installed_beside: Any) -> str:
    """A second ``zohocrmsdk`` generation's metadata on ``sys.path``, as a second install leaves it."""
    other = "zohocrmsdk7_0" if SDK_API_VERSION != "v7" else "zohocrmsdk6_0"
    installed_beside(other)
    return other


def test_this_run_has_exactly_one_sdk_generation_installed() -> None:
    # `pip install -e .[test,sdk7]` must not have pulled zohocrmsdk8_0 in beside zohocrmsdk7_0.
    [installed] = installed_sdk_distributions()
    assert installed.name == SDK_DISTRIBUTION
    expected = os.environ.get("ZOHO_TOKENSTORE_EXPECT_SDK")
    if expected is not None:  # set by `make test-sdk7` / `test-sdk6` / `test-sdk5`
        assert installed.name == expected


def test_a_second_sdk_generation_is_reported_at_import_and_refused_by_the_store(
    other_sdk_installed: str, db_url: URL
) -> None:
    with pytest.warns(SdkGenerationWarning) as warned:
        require_sdk()
    message = str(warned[0].message)
    assert message.startswith("2 Zoho CRM SDK distributions are installed (")
    assert f"{other_sdk_installed} 1.0.0" in message
    assert f"{SDK_DISTRIBUTION} " in message  # and the real one, with its version
    assert "overwrite each other" in message
    with pytest.raises(SDKException) as raised:
        SQLAlchemyTokenStore(db_url)
    assert raised.value.code == "TOKEN_STORE"
    assert f"pip uninstall -y {' '.join(sorted([other_sdk_installed, SDK_DISTRIBUTION]))}" in str(
        raised.value
    )


def test_distribution_names_are_normalized_and_other_packages_ignored(tmp_path: Path) -> None:
    for name in [
        "zohocrmsdk7-0",  # how zohocrmsdk7_0 spells itself
        "zohocrmsdk5_0",
        "zohocrmsdk2-1",  # the 2.x generations install `zcrmsdk`: no conflict with `zohocrmsdk`
        "zohocrmsdk2_0",
        "zcrmsdk",  # the old SDK: package `zcrmsdk` too
        "zohocrm-python",  # someone else's package
    ]:
        fake_dist_info(tmp_path, name, "1")
    assert sdk_distributions([str(tmp_path)]) == [
        SdkDistribution("zohocrmsdk5_0", "1"),
        SdkDistribution("zohocrmsdk7_0", "1"),
    ]
    assert [d.name for d in sdk_distributions([str(tmp_path)], package="zcrmsdk")] == [
        "zcrmsdk",
        "zohocrmsdk2_0",
        "zohocrmsdk2_1",
    ]


def test_the_2x_generations_installed_beside_this_one_are_no_conflict(
    installed_beside: Any, db_url: URL
) -> None:
    # zohocrmsdk2_1/2_0 install `zcrmsdk`, so pip can put one beside any `zohocrmsdk` generation.
    installed_beside("zohocrmsdk2_1", "zohocrmsdk2-0")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SdkGenerationWarning)
        require_sdk()
    assert [d.name for d in installed_sdk_distributions()] == [SDK_DISTRIBUTION]
    with SQLAlchemyTokenStore(db_url) as store:
        assert store.get_tokens() == []


def test_every_zohocrmsdk_generation_is_supported_and_an_unknown_one_gets_the_install_lines() -> (
    None
):
    for distribution in ("zohocrmsdk8_0", "zohocrmsdk7_0", "zohocrmsdk6_0", "zohocrmsdk5_0"):
        assert sdk_problem([SdkDistribution(distribution, "1")]) is None, distribution
    future = sdk_problem([SdkDistribution("zohocrmsdk9_0", "1.0.0")])
    assert future is not None and future.startswith("zohocrmsdk9_0 1.0.0 is not supported")
    missing = sdk_problem([], importable=False)
    assert missing is not None and missing.startswith("zoho-tokenstore needs the Zoho CRM")
    for problem in (future, missing):
        for distribution, extra in EXTRAS.items():
            assert f"pip install 'zoho-tokenstore[{extra}]' ({distribution}, CRM API v" in problem
    assert set(EXTRAS.values()) == {"sdk8", "sdk7", "sdk6", "sdk5"}
    assert sdk_problem([], importable=True) is None  # an SDK copied in without metadata


def test_importing_without_any_sdk_fails_with_the_install_lines() -> None:
    # -S: no site-packages, so neither the SDK nor its metadata; only this checkout is importable.
    script = f"import sys; sys.path.insert(0, {str(REPO)!r}); import zoho_tokenstore"
    result = subprocess.run(
        [sys.executable, "-S", "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: zoho-tokenstore needs the Zoho CRM Python SDK"), last
    assert "pip install 'zoho-tokenstore[sdk7]' (zohocrmsdk7_0, CRM API v7)" in last


def closed_port_url() -> str:
    """A loopback URL nobody listens on: requests to it are refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_switch_user_refreshes_ahead_with_the_new_users_environment(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    # zohocrmsdk7_0/6_0 make switch_user's initializer current only after its first token lookup;
    # refresh-ahead must still refresh at the new environment's accounts server, not the old one.
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        expire(standin_zoho, db_url, token_id)
        # The application's current user lives where nothing answers (another data center).
        Initializer.get_initializer().environment = environment(
            standin_zoho.base_url, closed_port_url()
        )
        try:
            Initializer.switch_user(
                environment=environment(standin_zoho.base_url), token=OAuthToken(id=token_id)
            )
            assert lead_descriptions(get_leads()) == [f"fetched by {ALICE_NAME}"]
        finally:
            Initializer.LOCAL.init = None
        assert standin_zoho.calls["token:refresh_token"] == 1
        assert int(store.find_token_by_id(token_id).get_expires_in()) > int(1e12)


def test_revoke_token_without_a_stored_refresh_token_or_an_sdk(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, db_url: URL, tmp_path: Path
) -> None:
    with pytest.raises(SDKException) as raised:  # before Initializer.initialize
        revoke_token("1")
    assert raised.value.code == "SDK UNINITIALIZED ERROR"
    with SQLAlchemyTokenStore(db_url) as store:
        token_id = log_in(standin_zoho, store, tmp_path)
        assert revoke_token(token_id + "-unknown") is False
        assert standin_zoho.calls["revoke"] == 0
        assert revoke_token(token_id) is True
        assert revoke_token(token_id) is False  # Zoho no longer knows that refresh token
        assert standin_zoho.calls["revoke"] == 2
        assert [t.get_id() for t in store.get_tokens()] == [token_id]  # the row stays


@pytest.fixture
def generation_pythons() -> dict[str, str]:
    """The interpreter of each SDK generation: this one (8_0) and the `make sdk-venvs` venvs."""
    if SDK_API_VERSION != "v8":
        pytest.skip("runs once, from the zohocrmsdk8_0 run (`make test`), which drives every venv")
    missing = [str(path) for path in OLDER_GENERATIONS.values() if not path.exists()]
    if missing:
        message = f"no venv {', '.join(missing)}: run `make sdk-venvs` first"
        if IN_CI:
            pytest.fail(f"CI must show the shared database on every generation: {message}")
        pytest.skip(message)
    return {
        "v8": sys.executable,
        **{version: str(path / "bin" / "python") for version, path in OLDER_GENERATIONS.items()},
    }


def test_one_database_serves_applications_on_5_0_6_0_7_0_and_8_0(
    backend: str,
    db_url: URL,
    tmp_path: Path,
    generation_pythons: dict[str, str],
    rows: Any,
) -> None:
    url = db_url.render_as_string(hide_password=False)
    with StandInZoho(api_versions=("v5", "v6", "v7", "v8")) as zoho:
        for email in (CAROL, DAVE, ERIN):
            zoho.add_user(email, zgid="555")

        def app(version: str, token: dict[str, str]) -> dict[str, Any]:
            request = {"db_url": url, "base_url": zoho.base_url, "workdir": str(tmp_path)}
            result = subprocess.run(
                [generation_pythons[version], str(APP), json.dumps({**request, "token": token})],
                capture_output=True,
                text=True,
                timeout=120,
                cwd=tmp_path,
            )
            assert result.returncode == 0, result.stderr[-3000:]
            seen: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
            assert (seen["api_version"], seen["distributions"]) == (
                version,
                [DISTRIBUTIONS[version]],
            )
            assert seen["sdk_errors"] == ""
            return seen

        def grant(email: str) -> dict[str, str]:
            code = zoho.issue_grant_code(email)
            return {"client_id": zoho.DEFAULT_CLIENT_ID, "client_secret": zoho.DEFAULT_CLIENT_SECRET, "grant_token": code}  # fmt: skip

        carol = app("v6", grant(CAROL))  # first login on 6_0 stores Carol's token
        assert carol["callers"] == [f"fetched by {CAROL_NAME}"]
        # A 7_0 application finds it by the same user name; no new exchange, no refresh.
        assert app("v7", {"user_name": CAROL_NAME})["id"] == carol["id"]
        assert zoho.calls["token:authorization_code"] == 1
        assert "token:refresh_token" not in zoho.calls

        expire(zoho, db_url, carol["id"])
        # 8_0 refreshes ahead once; 6_0 and 5_0 then use that refreshed token without refreshing.
        assert app("v8", {"id": carol["id"]})["callers"] == [f"fetched by {CAROL_NAME}"]
        for version in ("v6", "v5"):
            seen = app(version, {"user_name": CAROL_NAME})
            assert (seen["id"], seen["callers"]) == (carol["id"], [f"fetched by {CAROL_NAME}"])
        assert zoho.calls["token:refresh_token"] == 1

        dave = app("v7", grant(DAVE))  # Dave logs in on 7_0; 8_0, 6_0 and 5_0 use his row
        for version in ("v8", "v6", "v5"):
            seen = app(version, {"user_name": DAVE_NAME})
            assert (seen["id"], seen["callers"]) == (dave["id"], [f"fetched by {DAVE_NAME}"])

        # Erin logs in on 5_0, which never asks Zoho who she is: its application names her.
        erin = app("v5", {**grant(ERIN), "user_name": ERIN_NAME})
        assert erin["callers"] == [f"fetched by {ERIN_NAME}"]
        assert zoho.calls["token:authorization_code"] == 2  # Dave's and Erin's logins
        assert set(zoho.api_version_calls) == {"v5", "v6", "v7", "v8"}
        assert "not_found" not in zoho.calls

        expire(zoho, db_url, erin["id"])
        # 5_0 refreshes her expired token ahead, once; 8_0, 7_0 and 6_0 find it by her name.
        assert app("v5", {"id": erin["id"]})["callers"] == [f"fetched by {ERIN_NAME}"]
        for version in ("v8", "v7", "v6"):
            seen = app(version, {"user_name": ERIN_NAME})
            assert (seen["id"], seen["callers"]) == (erin["id"], [f"fetched by {ERIN_NAME}"])
        assert zoho.calls["token:refresh_token"] == 1
        assert "token:authorization_code" not in zoho.calls

    stored = {row["user_name"]: row for row in rows()}
    assert set(stored) == {CAROL_NAME, DAVE_NAME, ERIN_NAME}  # one row per user, one name on all
    assert [stored[name]["id"] for name in (CAROL_NAME, DAVE_NAME, ERIN_NAME)] == [
        carol["id"],
        dave["id"],
        erin["id"],
    ]


class _SaveFails(FileStore):  # type: ignore[misc]
    """A store whose every save fails as ours does (a ``TokenStoreError``)."""

    def save_token(self, token: OAuthToken) -> None:
        raise store_error("save_token failed: the disk is full")


def test_a_failing_save_is_logged_by_8_0_to_6_0_and_raised_by_5_0(
    standin_zoho: StandInZoho, clean_sdk: SdkLogRecorder, tmp_path: Path
) -> None:
    standin_zoho.add_user(CAROL)
    store = _SaveFails(str(tmp_path / "t.csv"))
    token = standin_zoho.grant_token(CAROL)
    if SDK_SAVE_ERRORS_PROPAGATE:  # 5_0 saves inside generate_access_token's try
        with pytest.raises(SDKException) as raised:  # re-raised as it is: it is an SDKException
            standin_zoho.initialize_sdk(token, store, str(tmp_path))
        cause = raised.value
        assert clean_sdk.take_errors() == []
    else:  # 8_0-6_0 save after it, in a try that only logs
        standin_zoho.initialize_sdk(token, store, str(tmp_path))
        [error] = clean_sdk.take_errors()
        [cause] = error.args
    assert isinstance(cause, SDKException) and cause.code == "TOKEN_STORE"
    assert cause.error_message == "save_token failed: the disk is full"


def test_the_2x_generation_installs_zcrmsdk_so_it_is_no_second_zohocrmsdk(tmp_path: Path) -> None:
    for folder, name, top_level in [
        ("zohocrmsdk8_0-7.0.0.dist-info", "zohocrmsdk8_0", "zohocrmsdk"),
        ("zohocrmsdk2_1-3.0.0.dist-info", "zohocrmsdk2_1", "zcrmsdk"),  # zoho_tokenstore.zcrmsdk
        ("zohocrmsdk2_0-6.0.0.dist-info", "zohocrmsdk2_0", "zcrmsdk"),
    ]:
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "METADATA").write_text(f"Name: {name}\nVersion: 1\n")
        (tmp_path / folder / "top_level.txt").write_text(f"{top_level}\n")
    assert sdk_distributions([str(tmp_path)]) == [SdkDistribution("zohocrmsdk8_0", "1")]


def test_a_missing_sdk_tells_a_2x_application_to_install_one_beside_zcrmsdk() -> None:
    missing = sdk_problem([], importable=False)
    assert missing is not None and "pip install 'zoho-tokenstore[sdk8,sdk2_1]'" in missing
