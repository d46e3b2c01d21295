"""Markdown report: the latency table, the ratios the issue sets targets for, and plain verdicts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bench_round_trips import RoundTrips
from bench_targets import (
    GET_TOKENS,
    LOOKUPS,
    OPERATIONS,
    SAVE_INSERT,
    SAVE_UPDATE,
)
from bench_timing import Cell

OURS = "ours"
RAW = "raw driver"
RAW_UNPREPARED = "raw driver, unprepared"
FLOOR = "SQLAlchemy floor"
PLAIN_FLOOR = "SQLAlchemy floor, default engine"
DBSTORE = "SDK DBStore"
FILESTORE = "SDK FileStore"
NORMAL = "ours, synchronous=NORMAL"
SESSION = "ours via ORM Session"
SDK_CALLS = (*LOOKUPS, SAVE_UPDATE, SAVE_INSERT)
#: The table size at which the targets against other stores are set.
TARGET_ROWS = 10_000
SQLITE_TARGET = 6.0
#: The guards of the package's layout change: SQLite lookups within 8x of raw sqlite3 and at least
#: 2x faster than the blog sample, both measured in the same run.
SQLITE_GUARD = 8.0
BLOG_GUARD = 2.0
BLOG = "Kaizen blog sample"
SERVER_TARGET = 1.5
DBSTORE_TARGET = 5.0
SCALING_TARGET = 1.3

LATENCY_HEADER = "| backend | store | operation |"


def size_label(rows: int) -> str:
    return f"{rows // 1000}k" if rows >= 1000 and rows % 1000 == 0 else str(rows)


def micros(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


class Report:
    """Looks up medians by (backend, store, operation, rows) and renders the markdown."""

    def __init__(
        self, cells: Iterable[Cell], sizes: Sequence[int], round_trips: RoundTrips | None = None
    ) -> None:
        self.cells = {cell.key: cell for cell in cells if cell.samples}
        self.sizes = sorted(sizes)
        self.round_trips = round_trips or {}
        #: Where the 10k-row targets are judged: 10k if measured, else the largest size.
        self.target_rows = TARGET_ROWS if TARGET_ROWS in self.sizes else self.sizes[-1]

    def median(self, backend: str, store: str, operation: str, rows: int) -> float | None:
        cell = self.cells.get((backend, store, operation, rows))
        return cell.median_us() if cell else None

    def ratio(
        self, top: tuple[str, str], bottom: tuple[str, str], operation: str, rows: int
    ) -> float | None:
        a = self.median(*top, operation, rows)
        b = self.median(*bottom, operation, rows)
        return a / b if a is not None and b else None

    def latency_table(self) -> list[str]:
        head = " | ".join(f"{size_label(n)} rows" for n in self.sizes)
        lines = [f"{LATENCY_HEADER} {head} |", "|---|---|---|" + "---:|" * len(self.sizes)]
        seen: list[tuple[str, str, str]] = []
        for backend, store, operation, _ in self.cells:
            if (backend, store, operation) not in seen:
                seen.append((backend, store, operation))
        order = {op: i for i, op in enumerate(OPERATIONS)}
        seen.sort(key=lambda k: (_backend_rank(k[0]), _store_rank(k[1]), order[k[2]]))
        for backend, store, operation in seen:
            values = []
            for rows in self.sizes:
                cell = self.cells.get((backend, store, operation, rows))
                values.append(
                    f"{micros(cell.median_us())} / {micros(cell.p95_us())} ({len(cell.samples)})"
                    if cell
                    else "-"
                )
            lines.append(f"| {backend} | {store} | {operation} | {' | '.join(values)} |")
        return lines

    def ratio_table(
        self,
        title: str,
        pairs: Sequence[tuple[str, tuple[str, str], tuple[str, str]]],
        ops: Sequence[str],
    ) -> list[str]:
        head = " | ".join(f"{size_label(n)}" for n in self.sizes)
        lines = [
            f"**{title}**",
            "",
            f"| backend | operation | {head} |",
            "|---|---|" + "---:|" * len(self.sizes),
        ]
        for label, top, bottom in pairs:
            for operation in ops:
                values = [self.ratio(top, bottom, operation, n) for n in self.sizes]
                if all(v is None for v in values):
                    continue
                shown = " | ".join(f"{v:.2f}x" if v is not None else "-" for v in values)
                lines.append(f"| {label} | {operation} | {shown} |")
        return [*lines, ""]

    def render(self, backends: Sequence[str]) -> list[str]:
        small, large = self.sizes[0], self.sizes[-1]
        out = ["## Latency in µs: median / p95 (samples)", "", *self.latency_table(), ""]
        out += ["## Ratios (medians)", ""]
        out += self.ratio_table(
            f"ours ÷ raw driver (lower is better; targets for lookups at {size_label(TARGET_ROWS)} "
            f"rows: SQLite ≤ {SQLITE_TARGET:g}x, PostgreSQL and MariaDB ≤ {SERVER_TARGET:g}x)",
            [(b, (b, OURS), (b, RAW)) for b in backends],
            OPERATIONS,
        )
        out += self.ratio_table(
            "ours ÷ raw driver without prepared statements (PostgreSQL: the store does not prepare, "
            "so that PgBouncer's transaction pooling can route it; context for the ratio above)",
            [("postgresql", ("postgresql", OURS), ("postgresql", RAW_UNPREPARED))],
            LOOKUPS,
        )
        out += self.ratio_table(
            "Where a lookup's time goes: SQLAlchemy's own execution with create_engine's defaults "
            "(default floor ÷ raw driver), with the store's engine settings (floor ÷ raw driver), "
            "and the store itself: SDK token, refresh check, held connection (ours ÷ floor)",
            [
                *((f"{b}: default floor ÷ raw", (b, PLAIN_FLOOR), (b, RAW)) for b in backends),
                *((f"{b}: floor ÷ raw", (b, FLOOR), (b, RAW)) for b in backends),
                *((f"{b}: ours ÷ floor", (b, OURS), (b, FLOOR)) for b in backends),
            ],
            LOOKUPS,
        )
        scaling = [
            f"**ours at {size_label(large)} rows ÷ ours at {size_label(small)} rows "
            "(target for lookups: ≤ 1.3x)**",
            "",
            "| backend | operation | ratio |",
            "|---|---|---:|",
        ]
        for backend in backends:
            for operation in OPERATIONS:
                a = self.median(backend, OURS, operation, large)
                b = self.median(backend, OURS, operation, small)
                if a is not None and b:
                    scaling.append(f"| {backend} | {operation} | {a / b:.2f}x |")
        out += [*scaling, ""]
        out += self.ratio_table(
            "SDK DBStore ÷ ours on MariaDB (how many times faster ours is; target ≥ 5x)",
            [("mysql", ("mysql", DBSTORE), ("mysql", OURS))],
            OPERATIONS,
        )
        out += self.ratio_table(
            "ours via ORM Session ÷ ours (the store runs on a Connection; this is what a Session "
            "per call would cost)",
            [(b, (b, SESSION), (b, OURS)) for b in backends],
            LOOKUPS,
        )
        out += self.ratio_table(
            "Kaizen blog sample ÷ ours on SQLite (how many times faster ours is; guard ≥ 2x)",
            [("sqlite", ("sqlite", BLOG), ("sqlite", OURS))],
            LOOKUPS,
        )
        out += self.ratio_table(
            "SDK FileStore ÷ ours on SQLite (how many times faster ours is)",
            [("sqlite", ("CSV file", FILESTORE), ("sqlite", OURS))],
            OPERATIONS,
        )
        out += self.ratio_table(
            "SQLite save_token: synchronous=FULL (ours) ÷ synchronous=NORMAL (what FULL costs)",
            [("sqlite", ("sqlite", OURS), ("sqlite", NORMAL))],
            (SAVE_UPDATE, SAVE_INSERT),
        )
        out += self.round_trip_table()
        return [*out, "## Verdicts", "", *self.verdicts(backends)]

    def round_trip_table(self) -> list[str]:
        """Round trips per call on the servers, as counted on the wire (median of a few calls)."""
        if not self.round_trips:
            return []
        stores = sorted(
            {(b, s) for b, s, _ in self.round_trips},
            key=lambda k: (_backend_rank(k[0]), _store_rank(k[1])),
        )
        lines = [
            f"## Network round trips per call (counted on the wire, {size_label(self.sizes[0])} rows)",
            "",
            "| backend | store | " + " | ".join(SDK_CALLS) + " |",
            "|---|---|" + "---:|" * len(SDK_CALLS),
        ]
        for backend, store in stores:
            counts = [self.round_trips.get((backend, store, op)) for op in SDK_CALLS]
            shown = " | ".join(f"{c:g}" if c is not None else "-" for c in counts)
            lines.append(f"| {backend} | {store} | {shown} |")
        return [*lines, ""]

    def verdicts(self, backends: Sequence[str]) -> list[str]:
        lines: list[str] = []
        small, large = self.sizes[0], self.sizes[-1]
        at = self.target_rows
        for backend in backends:
            target = SQLITE_TARGET if backend == "sqlite" else SERVER_TARGET
            ratios = [
                (v, op)
                for op in LOOKUPS
                if (v := self.ratio((backend, OURS), (backend, RAW), op, at))
            ]
            if ratios:
                worst = max(ratios)
                lines.append(
                    f"- {backend} lookups at {size_label(at)} rows within {target:g}x of the raw "
                    f"driver: **{_verdict(worst[0] <= target)}** (worst {worst[0]:.2f}x, {worst[1]})"
                )
        if "sqlite" in backends:
            raw_ratios = [
                (v, op)
                for op in LOOKUPS
                if (v := self.ratio(("sqlite", OURS), ("sqlite", RAW), op, at))
            ]
            blog_ratios = [
                (v, op)
                for op in LOOKUPS
                if (v := self.ratio(("sqlite", BLOG), ("sqlite", OURS), op, at))
            ]
            if raw_ratios and blog_ratios:
                worst, least = max(raw_ratios), min(blog_ratios)
                met = worst[0] <= SQLITE_GUARD and least[0] >= BLOG_GUARD
                lines.append(
                    f"- sqlite lookups at {size_label(at)} rows within {SQLITE_GUARD:g}x of raw "
                    f"sqlite3 and at least {BLOG_GUARD:g}x faster than the blog sample: "
                    f"**{_verdict(met)}** (worst {worst[0]:.2f}x of raw, {worst[1]}; blog sample "
                    f"least {least[0]:.2f}x slower, {least[1]})"
                )
        if large != small:
            worst_scale, where = 0.0, ""
            for backend in backends:
                for operation in LOOKUPS:
                    a = self.median(backend, OURS, operation, large)
                    b = self.median(backend, OURS, operation, small)
                    if a is not None and b and a / b > worst_scale:
                        worst_scale, where = a / b, f"{backend} {operation}"
            lines.append(
                f"- Every lookup at {size_label(large)} rows within {SCALING_TARGET:g}x of "
                f"{size_label(small)} rows: **{_verdict(worst_scale <= SCALING_TARGET)}** "
                f"(worst {worst_scale:.2f}x, {where})"
            )
        if "mysql" in backends:
            ratios3 = [
                (v, op)
                for op in SDK_CALLS
                if (v := self.ratio(("mysql", DBSTORE), ("mysql", OURS), op, at)) is not None
            ]
            if ratios3:
                least = min(ratios3)
                lines.append(
                    f"- At least {DBSTORE_TARGET:g}x faster than DBStore on MariaDB for every call "
                    f"the SDK makes, at {size_label(at)} rows: "
                    f"**{_verdict(least[0] >= DBSTORE_TARGET)}** (least {least[0]:.1f}x, {least[1]}; "
                    "get_tokens, which the SDK never calls, is in the table)"
                )
        for backend in backends:
            lookups = [self.round_trips.get((backend, OURS, op)) for op in LOOKUPS]
            update = self.round_trips.get((backend, OURS, SAVE_UPDATE))
            if update is not None and all(c is not None for c in lookups):
                most = max(c for c in lookups if c is not None)
                lines.append(
                    f"- {backend}: one round trip per lookup, at most 3 per save_token (update): "
                    f"**{_verdict(most <= 1 and update <= 3)}** ({most:g} and {update:g})"
                )
        full = self.median("sqlite", OURS, SAVE_UPDATE, large)
        normal = self.median("sqlite", NORMAL, SAVE_UPDATE, large)
        if full and normal:
            lines.append(
                f"- Durability: SQLite save_token (update) at {size_label(large)} rows costs "
                f"{micros(full)} µs with synchronous=FULL vs {micros(normal)} µs with NORMAL "
                f"({full / normal:.1f}x); the store keeps FULL."
            )
        return lines


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


def _backend_rank(backend: str) -> int:
    return ["sqlite", "postgresql", "mysql", "CSV file"].index(backend)


def _store_rank(store: str) -> int:
    stores = [
        OURS,
        NORMAL,
        SESSION,
        FLOOR,
        PLAIN_FLOOR,
        RAW,
        RAW_UNPREPARED,
        BLOG,
        DBSTORE,
        FILESTORE,
    ]
    return stores.index(store)


__all__ = ["GET_TOKENS", "LATENCY_HEADER", "Report", "size_label"]
