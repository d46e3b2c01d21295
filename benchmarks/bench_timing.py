"""Timing: calibrated sample counts per cell, interleaved batches, median and p95.

Every (store, operation, table size) cell gets a sample count from a warm-up: as many calls as fit in
its time budget, at least ``minimum`` and at most ``repetitions``. The samples are then taken in
``blocks`` rounds; each round runs one batch of every cell, in an order rotated per round, so drift
of the machine (other processes, CPU frequency, the servers' background work) hits all stores alike.

The garbage collector is collected before and disabled during each timed batch of lookups and
saves: they allocate a handful of objects per call, so a collection inside them would mostly be
paying for garbage left by other cells (a 100k-token ``get_tokens``). ``get_tokens`` keeps the
collector on, because collecting its own 100k objects is part of its real cost.
"""

from __future__ import annotations

import gc
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from bench_targets import GET_TOKENS, SAVE_INSERT, Operation, Target


@dataclass
class Cell:
    """One store's operation at one table size, and the latencies measured for it (ns)."""

    target: Target
    operation: str
    samples: list[int] = field(default_factory=list)
    planned: int = 0

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.target.backend, self.target.store, self.operation, self.target.rows)

    def median_us(self) -> float:
        return statistics.median(self.samples) / 1000

    def p95_us(self) -> float:
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] / 1000  # nearest rank


def timed_batch(cell: Cell, count: int) -> list[int]:
    """Run ``count`` timed calls of the cell's operation and return their latencies in ns."""
    operation: Operation = cell.target.operations[cell.operation]
    arguments = operation.prepare(count)
    call = operation.call
    samples: list[int] = []
    gc.collect()
    keep_gc = cell.operation == GET_TOKENS
    if not keep_gc:
        gc.disable()
    try:
        for argument in arguments:
            started = time.perf_counter_ns()
            call(argument)
            samples.append(time.perf_counter_ns() - started)
    finally:
        gc.enable()
    if cell.operation == SAVE_INSERT:
        cell.target.remove_inserted()  # keep the table at its nominal size
    return samples


def calibrate(cell: Cell, *, budget_s: float, minimum: int, repetitions: int) -> None:
    """Warm the cell up (caches, prepared statements, pools) and plan how many samples it gets."""
    warmup: list[int] = []
    started = time.perf_counter()
    while len(warmup) < 5 and (not warmup or time.perf_counter() - started < budget_s / 4):
        warmup.extend(timed_batch(cell, 1))
    per_call_s = statistics.median(warmup) / 1e9
    cell.planned = max(minimum, min(repetitions, int(budget_s / max(per_call_s, 1e-9))))


def measure(
    cells: Sequence[Cell], *, blocks: int, progress: Callable[[str], None] = lambda _: None
) -> None:
    """Take every cell's planned samples in ``blocks`` interleaved, rotated rounds."""
    for block in range(blocks):
        shift = block * len(cells) // blocks
        order = list(cells[shift:]) + list(cells[:shift])
        if block % 2:
            order.reverse()
        for cell in order:
            remaining = cell.planned - len(cell.samples)
            share = math.ceil(cell.planned / blocks)
            if remaining > 0:
                cell.samples.extend(timed_batch(cell, min(share, remaining)))
        progress(f"round {block + 1}/{blocks} done")
