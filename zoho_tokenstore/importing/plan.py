"""The import plan: which source rows land, as inserts or updates, and which are set aside, skipped
or refused, by the rules docs/importing.md gives users (one row per user, the most recent wins)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from ..core.codec import Values, value_problem
from ..core.expiry import parse_expiry
from ..core.model import COLUMN_LENGTHS, COLUMN_NAMES, CREDENTIAL_COLUMNS, TokenRow, row_values
from ..store.token_store import new_token_id
from .rows import SourceRead, SourceRow, shown

#: Columns whose integers (a table with numeric ids or expiries) are read as the SDK's strings.
_NUMERIC_TEXT: Final = ("id", "expiry_time")


@dataclass(frozen=True)
class Write:
    """A row to write: its source label and final values (id included)."""

    label: str
    values: Values


@dataclass(frozen=True)
class Note:
    """A source row that is not written, and why."""

    label: str
    reason: str


@dataclass(frozen=True)
class Refusal:
    """One value the store refuses: the row, the column and the problem (never the value)."""

    label: str
    column: str
    problem: str


@dataclass(frozen=True)
class NewId:
    """A row whose id in the target differs from its id in the source."""

    label: str
    old: str
    new: str
    reason: str


@dataclass
class Plan:
    """What an import will do (or did); built by ``make_plan``, carried out by ``apply_plan``."""

    source: str
    rows_read: int
    inserts: list[Write] = field(default_factory=list)
    updates: list[Write] = field(default_factory=list)
    unchanged: list[Write] = field(default_factory=list)
    set_aside: list[Note] = field(default_factory=list)
    skipped: list[Note] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    new_ids: list[NewId] = field(default_factory=list)

    @property
    def refused_rows(self) -> int:
        """How many rows were refused (a row may have several refused values)."""
        return len({refusal.label for refusal in self.refused})

    @property
    def complete(self) -> bool:
        """True when no row was skipped or refused (set-aside rows are duplicates, not losses)."""
        return not self.skipped and not self.refused

    @property
    def changes(self) -> int:
        """How many rows the import writes."""
        return len(self.inserts) + len(self.updates)


@dataclass(frozen=True)
class _Candidate:
    row: SourceRow
    values: Values
    id_problem: str | None

    @property
    def rank(self) -> tuple[int, int, int]:
        return (
            _expiry(self.values),
            int(self.values["refresh_token"] is not None),
            self.row.position,
        )


def make_plan(read: SourceRead, target: Iterable[TokenRow]) -> Plan:
    """Plan importing ``read`` into a token table whose rows are ``target`` (read beforehand)."""
    plan = Plan(source=read.description, rows_read=len(read.rows) + len(read.unreadable))
    plan.skipped.extend(Note(row.label, row.reason) for row in read.unreadable)
    candidates = [c for row in read.rows if (c := _candidate(row, plan)) is not None]
    winners = [_winner(group, plan) for group in _by_user(candidates)]
    winners.sort(key=lambda c: c.row.position)
    _place(winners, [_text_row(row) for row in target], plan)
    return plan


def _candidate(row: SourceRow, plan: Plan) -> _Candidate | None:
    """The row's values as the store would hold them, or ``None`` (recorded) if it cannot land."""
    values: Values = {}
    refusals: list[Refusal] = []
    id_problem: str | None = None
    for column in COLUMN_NAMES:
        raw = row.values.get(column)
        if isinstance(raw, int) and not isinstance(raw, bool) and column in _NUMERIC_TEXT:
            raw = str(raw)
        if raw is None or raw == "":
            values[column] = None
            continue
        text = raw if isinstance(raw, str) else None
        if text is None:
            problem: str | None = f"is not text ({type(raw).__name__})"
        elif column != "expiry_time" and _plainly_storable(column, text):
            values[column] = text  # the common case, decided without value_problem's encode()
            continue
        else:
            problem = value_problem(column, text)
            if problem is None and column == "expiry_time" and parse_expiry(text) is None:
                problem = "is not a string of epoch milliseconds"
        if column == "id":
            id_problem = problem
            values[column] = text if problem is None else None
        elif problem is not None:
            refusals.append(Refusal(row.label, column, f"{column} {problem}"))
        else:
            values[column] = text
    if refusals:
        plan.refused.extend(refusals)
        return None
    if not any(values[column] for column in CREDENTIAL_COLUMNS):
        plan.skipped.append(Note(_labelled(row, values), "no refresh, grant or access token"))
        return None
    if id_problem is None and values["id"] is None:
        id_problem = "has no id"
    return _Candidate(row, values, id_problem)


def _by_user(candidates: list[_Candidate]) -> list[list[_Candidate]]:
    """Rows grouped by user: same user_name, or (without one) the same refresh token."""
    owner = {
        c.values["refresh_token"]: c.values["user_name"]
        for c in candidates
        if c.values["user_name"] is not None and c.values["refresh_token"] is not None
    }
    groups: dict[tuple[str, str], list[_Candidate]] = {}
    for c in candidates:
        user, refresh = c.values["user_name"], c.values["refresh_token"]
        if user is None and refresh is not None:
            user = owner.get(refresh)
        if user is not None:
            key = ("user", user)
        elif refresh is not None:
            key = ("refresh", refresh)
        else:
            key = ("row", str(c.row.position))
        groups.setdefault(key, []).append(c)
    return list(groups.values())


def _winner(group: list[_Candidate], plan: Plan) -> _Candidate:
    """The group's most recent row; the others are set aside (and listed)."""
    if len(group) == 1:
        return group[0]
    best = max(group, key=lambda c: c.rank)
    for other in group:
        if other is best:
            continue
        if _expiry(best.values) > _expiry(other.values):
            why = "a later expiry_time"
        elif best.values["refresh_token"] is not None and other.values["refresh_token"] is None:
            why = "the same expiry_time and a refresh token"
        else:
            why = "the same expiry_time, later in the source"
        plan.set_aside.append(
            Note(_labelled(other.row, other.values), f"{best.row.label} of the same user has {why}")
        )
    user = best.values["user_name"] or next(
        (c.values["user_name"] for c in group if c.values["user_name"] is not None), None
    )
    return _Candidate(best.row, {**best.values, "user_name": user}, best.id_problem)


def _place(winners: list[_Candidate], target: list[Values], plan: Plan) -> None:
    """Match each winner with the target's row for that user: unchanged, update, keep, or insert."""
    by_user: dict[str, Values] = {}
    for row in target:
        if row["user_name"] is not None:
            by_user[row["user_name"]] = row
    by_refresh: dict[str, Values] = {}
    by_access: dict[str, Values] = {}
    for row in target:
        if row["refresh_token"] is not None:
            by_refresh.setdefault(row["refresh_token"], row)
        if row["access_token"] is not None:
            by_access.setdefault(row["access_token"], row)
    used_ids = {str(row["id"]) for row in target}
    taken_by: dict[str, str] = {}  # id -> label of the source row that took it
    claimed: dict[str, str] = {}  # target id -> label of the source row matched with it
    for c in winners:
        values = c.values
        match = _target_match(values, by_user, by_refresh, by_access)
        label = c.row.label
        if match is not None:
            target_id = str(match["id"])
            if target_id in claimed:
                plan.set_aside.append(
                    Note(label, f"{claimed[target_id]} already updates the same target row")
                )
                continue
            claimed[target_id] = label
            planned = {**values, "id": target_id}
            if all(v is None or v == match[k] for k, v in planned.items()):
                plan.unchanged.append(Write(label, planned))
            elif _expiry(match) > _expiry(values):
                plan.set_aside.append(
                    Note(label, f"the target's row (id {shown(target_id)}) is more recent")
                )
                continue
            else:
                plan.updates.append(Write(label, planned))
            if values["id"] != target_id:
                why = "the target already holds this user under that id"
                plan.new_ids.append(NewId(label, _old_id(c), target_id, why))
            continue
        token_id: str | None = values["id"]
        reason = c.id_problem
        if token_id is not None and token_id in taken_by:
            reason = f"{taken_by[token_id]} has the same id"
        elif token_id is not None and token_id in used_ids:
            reason = "another user's row in the target has that id"
        if reason is not None:
            token_id = new_token_id()
            plan.new_ids.append(NewId(label, _old_id(c), token_id, reason))
        assert token_id is not None
        used_ids.add(token_id)
        taken_by[token_id] = label
        plan.inserts.append(Write(label, {**values, "id": token_id}))


def _target_match(
    values: Values,
    by_user: dict[str, Values],
    by_refresh: dict[str, Values],
    by_access: dict[str, Values],
) -> Values | None:
    if values["user_name"] is not None:
        return by_user.get(values["user_name"])
    if values["refresh_token"] is not None:
        return by_refresh.get(values["refresh_token"])
    if values["access_token"] is not None:
        return by_access.get(values["access_token"])
    return None


def _text_row(row: TokenRow) -> Values:
    """A target row as the plan compares values: an empty string is no value."""
    return {column: value or None for column, value in row_values(row).items()}


def _expiry(values: Values) -> int:
    """The row's expiry for ranking rows: the epoch milliseconds, or -1 when it has none."""
    expiry = parse_expiry(values["expiry_time"])
    return -1 if expiry is None else expiry


def _plainly_storable(column: str, text: str) -> bool:
    """A quick yes for short ASCII text without NUL; anything else goes to ``value_problem``."""
    return len(text) <= COLUMN_LENGTHS[column] and text.isascii() and "\x00" not in text


def _old_id(c: _Candidate) -> str:
    raw = c.row.values.get("id")
    if raw is None or raw == "":
        return "(none)"
    if c.id_problem is not None:
        return "(unusable)"
    return shown(raw)


def _labelled(row: SourceRow, values: Values) -> str:
    """The row's label, with its user when it has a storable one (user names are not secret)."""
    user = values.get("user_name")
    return f"{row.label}, user {shown(user)}" if user else row.label
