"""Users who logged in through the SDK's FileStore, DBStore or the blog's store keep working after import.

The real SDK logs users in against the stand-in Zoho through the old store; ``zoho-tokenstore import``
(or ``adopt``) moves the tokens; then the SDK, now with our store, serves each user's API call
initialized by refresh token, by user and by id, with no grant exchange at all (nobody consents
again), and ``revoke(id)`` revokes the right user's refresh token. A second import changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.api.authenticator.store.token_store import TokenStore
from zohocrmsdk.src.com.zoho.crm.api.user_signature import UserSignature

from backends import require_backend
from databases import throwaway_database, url_arg
from legacy_stores import BlogStyleStore, create_table, db_store, read_legacy_rows
from sdk_generations import SDK_REVOKE_BROKEN, sdk_has_no_find_user
from sdk_helpers import get_leads, init_sdk, lead_descriptions
from token_factory import fields_of
from zoho_tokenstore import SQLAlchemyTokenStore, revoke_token, upgrade
from zoho_tokenstore.cli import main
from zoho_tokenstore.sdk.state import reset_sdk_state
from zoho_tokenstore.testing.standin_zoho import StandInZoho

ALICE, BOB, CAROL = "alice@example.com", "bob@example.com", "carol@example.com"
NAMES = {ALICE: f"{ALICE}:701", BOB: f"{BOB}:702", CAROL: f"{CAROL}:703"}


@pytest.fixture
def zoho() -> Iterator[StandInZoho]:
    """The stand-in with three users, on a frozen clock (issued access tokens stay valid)."""
    with StandInZoho(clock=lambda: 0.0) as server:
        for email, name in NAMES.items():
            server.add_user(email, zgid=name.rsplit(":", 1)[1])
        yield server


def log_in_everyone(zoho: StandInZoho, store: TokenStore, workdir: Path) -> None:
    """Each user consents once, through the old store."""
    for email in NAMES:
        init_sdk(zoho, zoho.grant_token(email), store, workdir)
    reset_sdk_state()


def leads_caller() -> str:
    [description] = lead_descriptions(get_leads())
    return description.removeprefix("fetched by ")


def assert_everyone_served_without_consent(
    zoho: StandInZoho,
    url: URL,
    before: dict[str, dict[str, str | None]],
    workdir: Path,
    encryption_keys: list[bytes] | None = None,
) -> None:
    """Init by refresh token, by user and by id: every call served, no grant exchanged; revoke(id).

    ``encryption_keys``: the keys of the SDK's store, for a target the import encrypted.
    """
    zoho.reset_counts()
    with SQLAlchemyTokenStore(url, encryption_keys=encryption_keys) as store:
        stored = {fields_of(t)["user_name"]: fields_of(t) for t in store.get_tokens()}
        assert set(stored) == set(NAMES.values())
        alice, bob, carol = (before[NAMES[e]] for e in (ALICE, BOB, CAROL))
        by_refresh = OAuthToken(
            client_id=alice["client_id"],
            client_secret=alice["client_secret"],
            refresh_token=alice["refresh_token"],
        )
        init_sdk(zoho, by_refresh, store, workdir)
        assert leads_caller() == NAMES[ALICE]
        reset_sdk_state()
        init_sdk(zoho, OAuthToken(user_signature=UserSignature(NAMES[BOB])), store, workdir)
        assert leads_caller() == NAMES[BOB]
        reset_sdk_state()
        by_id = OAuthToken(id=carol["id"])
        init_sdk(zoho, by_id, store, workdir)
        assert leads_caller() == NAMES[CAROL]
        assert zoho.calls["token:authorization_code"] == 0
        assert zoho.calls["records"] == 3

        # The SDK's own revoke where it works; 7_0/6_0's fails before reaching any store.
        assert (revoke_token(bob["id"]) if SDK_REVOKE_BROKEN else by_id.revoke(bob["id"])) is True
        assert zoho.revoked_refresh_tokens == [bob["refresh_token"]]
        reset_sdk_state()


def import_twice(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the import, then again: the second run must write nothing and say so."""
    assert main(args) == 0, capsys.readouterr()
    first = capsys.readouterr().out
    assert "Imported in one transaction: 3 inserted" in first
    assert main(args) == 0
    second = capsys.readouterr().out
    assert "Nothing to change" in second
    assert "0 to insert, 0 to update, 3 unchanged" in second
    return first


@sdk_has_no_find_user
def test_filestore_users_keep_working_after_import(
    zoho: StandInZoho, db_url: URL, clean_sdk: object, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = tmp_path / "sdk_tokens.csv"
    file_store = FileStore(str(path))
    log_in_everyone(zoho, file_store, tmp_path)
    # Carol consents again from a second app that does not look users up (find_user=False): the
    # FileStore gets a second row for her, without user name, which the SDK names on its next
    # refresh by id. Now two rows carry her name; the newer one is the one the app uses.
    zoho.expires_in = 1  # her new access token expires at once, so the next use refreshes it
    again = OAuthToken(
        client_id=zoho.DEFAULT_CLIENT_ID,
        client_secret=zoho.DEFAULT_CLIENT_SECRET,
        grant_token=zoho.issue_grant_code(CAROL),
        find_user=False,
    )
    init_sdk(zoho, again, file_store, tmp_path)
    zoho.expires_in = 3600
    reset_sdk_state()
    init_sdk(zoho, OAuthToken(id=again.get_id()), file_store, tmp_path)  # refreshes, names her
    reset_sdk_state()
    tokens = [fields_of(t) for t in file_store.get_tokens()]
    assert [t["user_name"] for t in tokens].count(NAMES[CAROL]) == 2
    before = {t["user_name"]: t for t in tokens if t["id"] != "3"}  # id 3: Carol's older row
    assert before[NAMES[CAROL]]["id"] == again.get_id()
    source = path.read_bytes()

    args = ["import", "--url", url_arg(db_url), "--from-filestore", str(path)]
    first = import_twice(args, capsys)
    assert "line 4, user 'carol@example.com:703': line 5 of the same user has" in first

    assert path.read_bytes() == source  # only read
    with SQLAlchemyTokenStore(db_url) as store:
        assert {fields_of(t)["user_name"]: fields_of(t) for t in store.get_tokens()} == before
    assert_everyone_served_without_consent(zoho, db_url, before, tmp_path)


def test_blog_sqlite_users_keep_working_after_import(
    zoho: StandInZoho, db_url: URL, clean_sdk: object, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    with throwaway_database("sqlite", tmp_path, prefix="blog") as blog_url:
        blog = BlogStyleStore(blog_url)
        log_in_everyone(zoho, blog, tmp_path)
        blog.close()
        source = read_legacy_rows(blog_url)
        args = ["import", "--url", url_arg(db_url), "--from-table", url_arg(blog_url)]
        import_twice(args, capsys)
        assert read_legacy_rows(blog_url) == source
    before = {row["user_name"]: row for row in source}
    assert_everyone_served_without_consent(zoho, db_url, before, tmp_path)


@pytest.mark.mysql
def test_dbstore_users_keep_working_after_import(
    zoho: StandInZoho, db_url: URL, clean_sdk: object, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    require_backend("mysql")
    with throwaway_database("mysql", tmp_path, prefix="dbstore") as dbstore_url:
        create_table(dbstore_url)
        log_in_everyone(zoho, db_store(dbstore_url), tmp_path)
        source = read_legacy_rows(dbstore_url)
        args = ["import", "--url", url_arg(db_url), "--from-table", url_arg(dbstore_url)]
        import_twice(args, capsys)
        assert read_legacy_rows(dbstore_url) == source
    before = {row["user_name"]: row for row in source}
    assert_everyone_served_without_consent(zoho, db_url, before, tmp_path)


@pytest.mark.mysql
def test_dbstore_table_is_adopted_in_place(
    zoho: StandInZoho, clean_sdk: object, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    require_backend("mysql")
    with throwaway_database("mysql", tmp_path, prefix="adopt") as url:
        create_table(url)
        log_in_everyone(zoho, db_store(url), tmp_path)
        source = read_legacy_rows(url)
        assert main(["adopt", "--url", url_arg(url)]) == 0, capsys.readouterr()
        out = capsys.readouterr().out
        assert "Kept the old table as 'oauthtoken_sdk_backup'" in out
        assert "DROP TABLE oauthtoken_sdk_backup;" in out
        assert read_legacy_rows(url, "oauthtoken_sdk_backup") == source
        before = {row["user_name"]: row for row in source}
        assert_everyone_served_without_consent(zoho, url, before, tmp_path)
        assert main(["adopt", "--url", url_arg(url)]) == 1
        assert "already a zoho_tokenstore table" in capsys.readouterr().err


def test_blog_table_is_adopted_in_place_on_every_backend(
    zoho: StandInZoho, empty_db_url: URL, clean_sdk: object, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    blog = BlogStyleStore(empty_db_url)
    log_in_everyone(zoho, blog, tmp_path)
    blog.close()
    source = read_legacy_rows(empty_db_url)
    assert main(["adopt", "--url", url_arg(empty_db_url)]) == 0, capsys.readouterr()
    assert "3 to insert" in capsys.readouterr().out
    assert read_legacy_rows(empty_db_url, "oauthtoken_sdk_backup") == source
    before = {row["user_name"]: row for row in source}
    assert_everyone_served_without_consent(zoho, empty_db_url, before, tmp_path)
    # The backup stays importable, and importing it again changes nothing.
    again = ["import", "--url", url_arg(empty_db_url), "--from-table", url_arg(empty_db_url)]
    assert main([*again, "--source-table", "oauthtoken_sdk_backup"]) == 0
    assert "Nothing to change" in capsys.readouterr().out


def test_upgrade_is_needed_before_import_into_a_new_database(
    empty_db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    FileStore(str(path))
    assert main(["import", "--url", url_arg(empty_db_url), "--from-filestore", str(path)]) == 1
    assert "zoho-tokenstore upgrade" in capsys.readouterr().err
    upgrade(empty_db_url)
    assert main(["import", "--url", url_arg(empty_db_url), "--from-filestore", str(path)]) == 0
