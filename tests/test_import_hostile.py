"""Hostile strings placed in a source arrive byte-exact, or are reported by row and column, unquoted.

Every hostile string goes into every field of its own row: of a FileStore file written by the SDK's
own ``FileStore``, and of a ten-column table on each backend (as far as that backend can hold it:
PostgreSQL keeps no NUL, and no backend keeps a lone surrogate). After the import each row is in
the target with every value unchanged, or it is listed as refused (the id: given a new one).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore

from databases import url_arg
from hostile_strings import HOSTILE, ODD_DIGITS
from legacy_stores import WIDE_TABLE_SQL, create_table, insert_rows
from test_hostile_input import unstorable
from token_factory import FIELDS, fields_of, full_token
from zoho_tokenstore import SQLAlchemyTokenStore
from zoho_tokenstore.cli import main

Placed = dict[str, tuple[str, str]]  # user_name -> (field, value)


def _surrogate(value: str) -> bool:
    return any(0xD800 <= ord(c) <= 0xDFFF for c in value)


def hostile_rows(keep: object = lambda value: True) -> tuple[list[dict[str, str | None]], Placed]:
    """One row per (field, hostile value) that ``keep`` accepts; each row its own user."""
    rows: list[dict[str, str | None]] = []
    placed: Placed = {}
    n = 0
    for field in FIELDS:
        for value in HOSTILE + (ODD_DIGITS if field == "expiry_time" else ()):
            if not keep(value):  # type: ignore[operator]
                continue
            n += 1
            values = fields_of(full_token(n, id=f"h{n}"))
            values[field] = value
            key = values["user_name"] if field != "user_name" else f"h{n}"
            placed[str(key)] = (field, value)
            rows.append(values)
    return rows, placed


def assert_exact_or_reported(db_url: URL, placed: Placed, out: str) -> None:
    with SQLAlchemyTokenStore(db_url) as store:
        landed = [fields_of(t) for t in store.get_tokens()]
    by_key = {}
    for values in landed:
        by_key[str(values["user_name"])] = values
        by_key[str(values["id"])] = values  # rows whose hostile value is the user name
    refused_lines = [
        line for line in out.splitlines() if line.startswith("  - ") and "Refused" not in line
    ]
    expected_refusals = 0
    repeated = Counter(placed.values())
    for key, (field, value) in placed.items():
        refused = unstorable(field, value) and field != "id"
        if refused:
            expected_refusals += 1
            assert key not in by_key or by_key[key][field] != value
            if len(value.strip()) >= 2:
                assert value not in out, f"a refused {field} was printed"
            continue
        if key not in by_key and field == "user_name" and repeated[(field, value)] > 1:
            assert "Set aside" in out  # two rows of one user (FileStore turned \r\n into \n)
            continue
        values = by_key[key]
        if field == "id" and values["id"] != value:  # a new id (unusable or repeated), listed
            assert len(str(values["id"])) == 32
            assert f"-> {values['id']!r} (" in out
            continue
        assert values[field] == value, f"{field} changed"
    refusals = [line for line in refused_lines if line.split(": ", 1)[1].split(" ", 1)[0] in FIELDS]
    assert len(refusals) >= expected_refusals
    assert f"{expected_refusals} refused." in out or expected_refusals == 0


def test_hostile_values_in_a_filestore(
    db_url: URL, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "sdk_tokens.csv"
    file_store = FileStore(str(path))
    rows, placed = hostile_rows(lambda value: not _surrogate(value))  # the SDK cannot write them
    for values in rows:
        token = full_token(0, **values)
        file_store.save_token(token)
    status = main(["import", "--url", url_arg(db_url), "--from-filestore", str(path)])
    out = capsys.readouterr().out
    assert status == 3  # some rows are refused
    # The SDK's own rewrites read the file in universal-newline mode: a lone \r becomes \n there.
    served = {str(t.get_id()): fields_of(t) for t in file_store.get_tokens()}
    for key, (field, _) in list(placed.items()):
        row = next((v for v in served.values() if key in (v["user_name"], v["id"])), None)
        if row is None:  # FileStore itself merged it into another row (id "\r\n" read as "\n")
            del placed[key]
            continue
        placed[key] = (field, str(row[field]))
    assert_exact_or_reported(db_url, placed, out)


def test_hostile_values_in_a_table_on_every_backend(
    backend: str, db_url: URL, empty_db_url: URL, capsys: pytest.CaptureFixture[str]
) -> None:
    def storable_in_source(value: str) -> bool:
        return not _surrogate(value) and not (backend == "postgresql" and "\x00" in value)

    create_table(empty_db_url, sql=WIDE_TABLE_SQL)
    rows, placed = hostile_rows(storable_in_source)
    insert_rows(empty_db_url, rows)
    status = main(["import", "--url", url_arg(db_url), "--from-table", url_arg(empty_db_url)])
    out = capsys.readouterr().out
    assert status == 3
    assert_exact_or_reported(db_url, placed, out)
