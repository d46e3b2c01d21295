"""The import's rules, on every backend: one row per user, skipped and refused rows, ids, re-runs.

Sources are FileStore files written by Python's ``csv`` exactly as the SDK's FileStore writes them,
and ten-column tables filled directly, as an old store would have left them.
"""

from __future__ import annotations

import csv
import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from databases import url_arg
from legacy_stores import WIDE_TABLE_SQL, create_table, insert_rows, read_legacy_rows
from token_factory import FIELDS, fields_of, full_token, valid_expiry
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main
from zoho_tokenstore.database.migrations import head_revision
from zoho_tokenstore.importing import apply_plan, make_plan, read_filestore, target_rows
from zoho_tokenstore.importing.filestore import FILESTORE_HEADER, LEGACY_HEADER

Rows = Callable[[], list[dict[str, object]]]


#: One expiry for every row a test builds, so a row built twice compares equal.
EXPIRY = valid_expiry()


def row(n: int, **overrides: str | None) -> dict[str, str | None]:
    """User ``n``'s values as the SDK saves them after a login, with the id ``str(n)``."""
    return {**fields_of(full_token(n, id=str(n), expiry_time=EXPIRY)), **overrides}


def write_filestore(
    path: Path, rows: list[dict[str, Any]], header: tuple[str, ...] = FILESTORE_HEADER
) -> None:
    """A FileStore file as the SDK writes it: its header, csv quoting, ``None`` as empty, ``\\r\\n``."""
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle, delimiter=",", quotechar='"', quoting=csv.QUOTE_MINIMAL)
        writer.writerow(header)
        for values in rows:
            writer.writerow([values.get(c) for c in FIELDS][: len(header)])


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def stored(db_url: URL) -> dict[str, dict[str, str | None]]:
    with SQLAlchemyTokenStore(db_url) as store:
        return {str(t.get_id()): fields_of(t) for t in store.get_tokens()}


def test_values_with_commas_quotes_and_line_breaks_arrive_exact(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    file_store = FileStore(str(path))  # the SDK's own writer
    odd = {
        "client_secret": 'a,b"c',
        "refresh_token": "line1\r\nline2",
        "access_token": '"quoted"',
        "redirect_url": "https://example.com/cb?a=1,b=2",
        "grant_token": None,
        "api_domain": None,
    }
    tokens = [full_token(1, **odd), full_token(2)]
    for token in tokens:
        file_store.save_token(token)
    status, out, _ = run(capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path))
    assert status == 0, out
    # What the SDK itself reads back: its rewrite of the file (read in universal-newline mode)
    # already turned the \r\n inside the value into \n; the import keeps the file's bytes.
    served = {str(t.get_id()): fields_of(t) for t in file_store.get_tokens()}
    assert served["1"]["refresh_token"] == "line1\nline2"
    assert stored(db_url) == served


def test_one_row_per_user_the_most_recent_wins_and_the_others_are_listed(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bob_refresh = row(4)["refresh_token"]
    source = [
        row(1, user_name="alice:1", expiry_time="100"),
        row(2, user_name="alice:1", expiry_time="300"),  # the latest expiry wins
        row(3, user_name="alice:1", expiry_time="200"),
        row(4, user_name="bob:2", expiry_time="100"),
        # No user name, Bob's refresh token and a later expiry: Bob's newest row; it takes his name.
        row(5, user_name=None, refresh_token=bob_refresh, expiry_time="500"),
        row(6, user_name="carol:3", expiry_time="100", refresh_token=None),
        row(7, user_name="carol:3", expiry_time="100"),  # same expiry: the one with a refresh token
    ]
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, source)
    status, out, _ = run(capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path))
    assert status == 0, out  # set-aside rows are duplicates, not losses
    assert stored(db_url) == {
        "2": source[1],
        "5": {**source[4], "user_name": "bob:2"},
        "7": source[6],
    }
    assert "line 2, user 'alice:1': line 3 of the same user has a later expiry_time" in out
    assert "line 4, user 'alice:1': line 3 of the same user has a later expiry_time" in out
    assert "line 5, user 'bob:2': line 6 of the same user has a later expiry_time" in out
    assert (
        "line 7, user 'carol:3': line 8 of the same user has the same expiry_time and a "
        "refresh token" in out
    )
    assert "Summary: 7 row(s) read; 3 to insert, 0 to update, 0 unchanged, 4 set aside" in out


def test_rows_without_credentials_and_half_written_rows_are_skipped_and_listed(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(
        path,
        [row(1), row(2, refresh_token=None, access_token=None, grant_token=None), row(3)],
    )
    with path.open("a", newline="") as handle:
        handle.write("4,user4@example.com:60004,1000.CLIENT4\r\n")  # too few fields
        handle.write("5,user5@example.com:60005,1000.CLIENT5,secret,1000.refr")  # cut off mid-write
    before = path.read_bytes()
    status, out, err = run(
        capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path)
    )
    assert status == 3
    assert "exit status 3" in err
    assert set(stored(db_url)) == {"1", "3"}
    assert "line 3, user 'user2@example.com:60002': no refresh, grant or access token" in out
    assert "line 5: half-written or malformed: 3 of 10 fields" in out
    assert "line 6: half-written or malformed: 5 of 10 fields" in out
    assert "1000.refr" not in out
    assert "5 row(s) read; 2 to insert, 0 to update, 0 unchanged, 0 set aside, 3 skipped" in out
    assert path.read_bytes() == before


def test_a_last_row_without_line_end_is_half_written(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, [row(1), row(2)])
    path.write_bytes(path.read_bytes()[:-6])  # all ten fields, but the api_domain is cut short
    status, out, _ = run(capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path))
    assert status == 3
    assert "line 3: half-written: the file ends inside this row" in out
    assert set(stored(db_url)) == {"1"}


def test_files_of_older_sdks_without_api_domain_are_read(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, [row(1)], header=LEGACY_HEADER)
    status, out, _ = run(capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path))
    assert status == 0, out
    assert stored(db_url) == {"1": row(1, api_domain=None)}


def test_refused_values_are_listed_by_row_and_column_never_shown(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_refresh = "1000." + "R" * 600
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(
        path,
        [
            row(1, refresh_token=long_refresh, client_secret="secret\x00nul"),
            row(2, expiry_time="soon"),
            row(3),
        ],
    )
    status, out, err = run(
        capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path)
    )
    assert status == 3
    assert set(stored(db_url)) == {"3"}
    assert "line 2: client_secret contains a NUL character" in out
    assert "line 2: refresh_token is 605 characters long; refresh_token holds at most 512" in out
    assert "line 3: expiry_time is not a string of epoch milliseconds" in out
    assert "Refused (2 row(s))" in out
    for secret in (long_refresh, "RRRRRRRR", "secret\x00nul", "soon", row(3)["refresh_token"]):
        assert secret not in out + err


def test_ids_are_kept_when_usable_and_unique_else_a_new_one_is_listed(
    db_url: URL, empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        store.save_token(full_token(9, id="taken"))  # a user already in the target
    create_table(empty_db_url, sql=WIDE_TABLE_SQL)  # no primary key: ids may repeat
    source = [
        row(1, id="7"),
        row(2, id="7"),  # DBStore's max(id)+1 on text ids repeats ids without a primary key
        row(3, id="X" * 100),  # longer than any id the store keeps
        row(4, id="taken"),  # another user's id in the target
        row(5, id=None),
        row(6, id="' OR '1'='1"),  # odd, but a usable id: kept
    ]
    insert_rows(empty_db_url, source)
    status, out, _ = run(
        capsys, "import", "--url", url_arg(db_url), "--from-table", url_arg(empty_db_url)
    )
    assert status == 0, out
    rows = stored(db_url)
    by_user = {values["user_name"]: token_id for token_id, values in rows.items()}
    assert by_user[row(1)["user_name"]] == "7"
    assert by_user[row(6)["user_name"]] == "' OR '1'='1"
    assert by_user[row(9)["user_name"]] == "taken"
    for n, old, why in (
        (2, "'7'", "has the same id"),
        (3, "(unusable)", "is 100 characters long; id holds at most 64"),
        (4, "'taken'", "another user's row in the target has that id"),
        (5, "(none)", "has no id"),
    ):
        new = by_user[row(n)["user_name"]]
        assert new not in ("7", "taken") and len(new) == 32
        assert f": {old} -> {new!r} (" in out and why in out
        assert rows[new] == {**row(n), "id": new}


def test_dry_run_prints_the_plan_and_writes_nothing(
    db_url: URL, rows: Rows, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, [row(1), row(2, user_name=row(1)["user_name"], expiry_time="1")])
    args = ["import", "--url", url_arg(db_url), "--from-filestore", str(path), "--dry-run"]
    status, out, _ = run(capsys, *args)
    assert status == 0
    assert "1 to insert" in out and "1 set aside" in out
    assert "Dry run: nothing was written." in out
    assert rows() == []


def test_users_already_in_the_target_are_updated_or_kept_whichever_is_newer(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        store.save_token(full_token(1, id="a1", expiry_time="100"))  # older than the source
        store.save_token(full_token(2, id="b2", expiry_time="900"))  # newer than the source
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, [row(1, expiry_time="500"), row(2, expiry_time="500")])
    status, out, _ = run(capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path))
    assert status == 0, out
    assert stored(db_url) == {
        "a1": row(1, id="a1", expiry_time="500"),
        "b2": row(2, id="b2", expiry_time="900"),
    }
    assert "line 2: '1' -> 'a1' (the target already holds this user under that id)" in out
    assert "line 3, user 'user2@example.com:60002'" not in out  # not set aside as a duplicate
    assert "line 3: the target's row (id 'b2') is more recent" in out


def test_all_or_nothing_a_conflicting_write_leaves_the_target_as_it_was(
    db_url: URL, rows: Rows, tmp_path: Path
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, [row(n) for n in range(1, 2001)] + [row(2001)])
    with SQLAlchemyTokenStore(db_url) as store:
        plan = make_plan(read_filestore(path), target_rows(store))
        assert len(plan.inserts) == 2001
        # Another process saves user 2001 between planning and writing: the last batch collides.
        store.save_token(full_token(2001, id="elsewhere"))
        before = rows()
        with pytest.raises(SDKException) as raised:
            apply_plan(store, plan)
    assert raised.value.code == "TOKEN_STORE"
    assert "nothing was written" in raised.value.error_message
    assert rows() == before


def test_the_source_table_is_only_read(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "source").mkdir()
    source = tmp_path / "source" / "blog.db"
    source_url = URL.create("sqlite", database=str(source))
    create_table(source_url)
    insert_rows(source_url, [row(1), row(2)])
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    stat = source.stat()
    status, out, _ = run(
        capsys, "import", "--url", url_arg(db_url), "--from-table", url_arg(source_url)
    )
    assert status == 0, out
    assert hashlib.sha256(source.read_bytes()).hexdigest() == digest
    assert source.stat().st_mtime_ns == stat.st_mtime_ns
    assert [p.name for p in source.parent.iterdir()] == ["blog.db"]  # no -wal, no -journal
    assert set(stored(db_url)) == {"1", "2"}


def test_progress_is_shown_on_a_terminal(
    db_url: URL, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    write_filestore(path, [row(n) for n in range(1, 4002)])
    controller, terminal = os.openpty()
    with os.fdopen(terminal, "w") as tty:
        monkeypatch.setattr("sys.stderr", tty)
        status, out, _ = run(
            capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path)
        )
        monkeypatch.undo()
    shown = os.read(controller, 65536).decode()
    os.close(controller)
    assert status == 0, out
    assert "writing rows: 2,000 of 4,001" in shown
    assert "writing rows: 4,001 of 4,001" in shown
    assert "writing rows" not in out  # not on a pipe


def test_a_file_that_is_not_a_filestore_is_refused(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "other.csv"
    path.write_text("name,secret\nx,y\n")
    status, _, err = run(capsys, "import", "--url", url_arg(db_url), "--from-filestore", str(path))
    assert status == 1
    assert "not a FileStore header" in err


# -- adopt --------------------------------------------------------------------------------------


def test_adopt_refuses_a_table_that_is_already_ours(
    db_url: URL, rows: Rows, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "adopt", "--url", url_arg(db_url))
    assert status == 1
    assert f"already a zoho_tokenstore table (revision {head_revision()})" in err


def test_adopt_refuses_when_the_backup_name_is_taken_and_changes_nothing(
    empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    create_table(empty_db_url)
    create_table(empty_db_url, "oauthtoken_sdk_backup")
    insert_rows(empty_db_url, [row(1)])
    status, _, err = run(capsys, "adopt", "--url", url_arg(empty_db_url))
    assert status == 1
    assert "the backup name 'oauthtoken_sdk_backup' is taken" in err
    assert "--backup-table" in err
    assert read_legacy_rows(empty_db_url) == [row(1)]
    status, out, _ = run(
        capsys, "adopt", "--url", url_arg(empty_db_url), "--backup-table", "old_tokens"
    )
    assert status == 0, out
    assert read_legacy_rows(empty_db_url, "old_tokens") == [row(1)]
    assert stored(empty_db_url) == {"1": row(1)}


def test_adopt_refuses_a_missing_or_foreign_table(
    empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, "adopt", "--url", url_arg(empty_db_url))
    where = empty_db_url.render_as_string()
    if empty_db_url.get_backend_name() == "sqlite":  # not even a file: it cannot start (exit 2)
        assert status == 2
        assert f"no SQLite database file at {empty_db_url.database} (nothing was created)" in err
    else:
        assert status == 1
        assert f"{where} has no table 'oauthtoken' to adopt" in err
    create_table(empty_db_url, sql="CREATE TABLE {name} (id varchar(10), note varchar(20))")
    status, _, err = run(capsys, "adopt", "--url", url_arg(empty_db_url))
    assert status == 1
    assert "lacks the column(s) user_name, client_id" in err


def test_adopt_dry_run_changes_nothing(
    empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    create_table(empty_db_url)
    insert_rows(empty_db_url, [row(1), row(2)])
    database = empty_db_url.database if empty_db_url.get_backend_name() == "sqlite" else None
    before = Path(database).read_bytes() if database else b""
    status, out, _ = run(capsys, "adopt", "--url", url_arg(empty_db_url), "--dry-run")
    assert status == 0, out
    assert "Would rename table 'oauthtoken' to 'oauthtoken_sdk_backup'" in out
    assert "2 to insert" in out
    assert read_legacy_rows(empty_db_url) == [row(1), row(2)]
    if database:
        assert Path(database).read_bytes() == before  # not even the journal mode changed
    status, out, _ = run(capsys, "adopt", "--url", url_arg(empty_db_url), "--dry-run")
    assert status == 0, out  # still adoptable: nothing was renamed


def test_a_failed_adoption_is_undone(
    backend: str, empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    if backend == "mysql":
        pytest.skip("MySQL names indexes per table: an old index cannot collide with ours")
    create_table(empty_db_url)
    insert_rows(empty_db_url, [row(1)])
    # Another SQLAlchemy store's table may carry an index named like ours: creating ours fails.
    create_table(empty_db_url, sql="CREATE INDEX ix_{name}_access_token ON {name} (access_token)")
    status, _, err = run(capsys, "adopt", "--url", url_arg(empty_db_url))
    assert status == 1
    assert "creating the token table failed (" in err
    assert "the adoption was undone and the old table is 'oauthtoken' again" in err
    assert read_legacy_rows(empty_db_url) == [row(1)]
    engine = sa.create_engine(empty_db_url)
    assert set(sa.inspect(engine).get_table_names()) == {"oauthtoken"}
    engine.dispose()


def test_an_unreachable_source_is_reported_without_its_password(
    db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    source = "postgresql+psycopg://app:S3cretPw@127.0.0.1:9/tokens"
    status, out, err = run(capsys, "import", "--url", url_arg(db_url), "--from-table", source)
    assert status == 1
    assert err.startswith(
        "error: reading the source failed: nothing is listening at 127.0.0.1:9 (connection refused)"
    )
    assert "S3cretPw" not in out + err
