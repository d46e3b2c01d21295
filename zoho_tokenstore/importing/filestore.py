"""Reads the SDK's ``FileStore`` CSV exactly as the SDK wrote it, without changing the file; a row
a crash or a concurrent writer cut short is listed as unreadable, never imported truncated."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Final

from ..core.errors import TokenStoreError
from ..core.model import COLUMN_NAMES
from .rows import SourceRead, SourceRow, UnreadableRow

#: The FileStore header: DBStore's columns, except that the SDK names ``redirect_url`` ``redirect_uri``.
FILESTORE_HEADER: Final = tuple("redirect_uri" if c == "redirect_url" else c for c in COLUMN_NAMES)
#: The header of files written before the SDK added ``api_domain`` (the SDK itself still reads them).
LEGACY_HEADER: Final = FILESTORE_HEADER[:-1]


class NotAFileStoreError(TokenStoreError, ValueError):
    """The file is not a FileStore CSV (no recognisable header)."""


def read_filestore(path: str | Path) -> SourceRead:
    """Every row of the FileStore file at ``path``, with the line each starts on."""
    file_path = Path(path)
    # newline="": values keep their own \r\n; surrogateescape: invalid UTF-8 becomes lone
    # surrogates, which the plan refuses by row and column instead of failing the whole file.
    with file_path.open(encoding="utf-8", errors="surrogateescape", newline="") as handle:
        text = handle.read()
    read = SourceRead(description=f"FileStore {file_path}")
    reader = csv.reader(io.StringIO(text))
    header: tuple[str, ...] | None = None
    records: list[tuple[int, list[str]]] = []
    line = 1
    for record in reader:
        start, line = line, reader.line_num + 1
        if not record:
            continue  # the SDK skips empty lines too
        if header is None:
            header = _header(record)
            continue
        records.append((start, record))
    if header is None:
        if text.strip():
            raise NotAFileStoreError(f"{file_path} has no FileStore header")
        return read  # an empty file: the SDK's FileStore before its first save
    complete = text.endswith(("\n", "\r"))
    for index, (start, record) in enumerate(records):
        label = f"line {start}"
        if len(record) != len(header):
            reason = f"half-written or malformed: {len(record)} of {len(header)} fields"
            read.unreadable.append(UnreadableRow(label, reason))
        elif index == len(records) - 1 and not complete:
            reason = "half-written: the file ends inside this row"
            read.unreadable.append(UnreadableRow(label, reason))
        else:
            values: dict[str, object] = dict(zip(COLUMN_NAMES, record, strict=False))
            if len(record) < len(COLUMN_NAMES):
                values["api_domain"] = None  # the legacy nine-column file
            read.rows.append(SourceRow(position=len(read.rows) + 1, label=label, values=values))
    return read


def _header(record: list[str]) -> tuple[str, ...]:
    names = tuple(name.strip().lower() for name in record)
    if names in (FILESTORE_HEADER, LEGACY_HEADER):
        return names
    raise NotAFileStoreError(
        f"the first line is not a FileStore header (expected {', '.join(FILESTORE_HEADER)})"
    )
