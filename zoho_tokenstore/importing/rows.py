"""What every import source yields: raw rows of DBStore's ten columns, and rows it could not read;
judging the values is the plan's job, so a FileStore file and a table meet the same rules."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

#: Longest id or user name a report quotes; ids and user names are not secret, but may be huge.
_SHOWN_MAX: Final = 60


@dataclass(frozen=True)
class SourceRow:
    """One row of the source: its 1-based position in reading order, a label, and raw values."""

    position: int
    label: str
    values: dict[str, object]


@dataclass(frozen=True)
class UnreadableRow:
    """A row the source holds but cannot give whole (half-written, wrong number of fields)."""

    label: str
    reason: str


@dataclass(frozen=True)
class SourceRead:
    """Everything read from one source: what it is, its rows and the rows it could not read."""

    description: str
    rows: list[SourceRow] = field(default_factory=list)
    unreadable: list[UnreadableRow] = field(default_factory=list)


def shown(value: object) -> str:
    """A non-secret value (an id, a user name) as a report may quote it: repr, cut when long."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > _SHOWN_MAX:
        return repr(text[:_SHOWN_MAX]) + "…"
    return repr(text)


def id_order(value: object) -> tuple[int, int, str]:
    """Sort key for source ids: the SDK's numeric ids by number (``"9"`` before ``"10"``), then others."""
    text = value if isinstance(value, str) else "" if value is None else str(value)
    if text.isascii() and text.isdigit() and len(text) <= 30:
        return (0, int(text), "")
    return (1, 0, text)
