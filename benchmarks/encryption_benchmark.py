"""Benchmark: what encryption at rest adds per lookup and per save, on each backend.

Two stores per backend, one without keys and one with a key, each on its own throwaway database
seeded with the same rows (the encrypted one rewritten with ``rewrite_rows``, as
``zoho-tokenstore encrypt`` does). Both are measured interleaved with the main benchmark's timing
(``bench_timing``), through the SDK's interface. ``--keys 2`` measures a store mid-rotation (two
keys: each lookup sends two hashes; rows read under the older key cost a failed MAC check first).

    python benchmarks/encryption_benchmark.py [--rows 10000] [--backends sqlite,postgresql,mysql]
"""

from __future__ import annotations

import argparse
import tempfile
import timeit
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

from cryptography.fernet import Fernet

import bench_data
from bench_targets import BY_ID, BY_REFRESH, BY_USER, SAVE_UPDATE, Target, sdk_operations
from bench_timing import Cell, calibrate, measure
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.database.engine import build_engine
from zoho_tokenstore.encryption.cipher import TokenCipher
from zoho_tokenstore.encryption.rotation import refresh_statistics, rewrite_rows

OPERATIONS = (BY_ID, BY_USER, BY_REFRESH, SAVE_UPDATE)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10000, help="table size (default 10000)")
    parser.add_argument("--backends", default="sqlite,postgresql,mysql")
    parser.add_argument("--keys", type=int, default=1, choices=(1, 2), help="keys configured")
    parser.add_argument("--repetitions", type=int, default=2000, help="most samples per cell")
    parser.add_argument("--blocks", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--cell-seconds", type=float, default=1.0, dest="budget")
    parser.add_argument(
        "--primitives-only", action="store_true", help="only the cryptographic steps (no database)"
    )
    return parser.parse_args(argv)


def target(
    backend: str, url: object, rows: Sequence[bench_data.Row], keys: list[bytes] | None
) -> Target:
    import random

    store = SQLAlchemyTokenStore(url, encryption_keys=keys)  # type: ignore[arg-type]
    name = "no keys" if keys is None else f"{len(keys)} key(s)"
    return Target(
        backend,
        name,
        len(rows),
        sdk_operations(store, rows, random.Random(1)),
        lambda: None,
        store.close,
    )


def primitive_costs(keys: list[bytes]) -> list[tuple[str, float]]:
    """The CPU cost of each cryptographic step on a Zoho-sized token (best of 7 runs, µs).

    The best run, not the median: on a loaded machine it is the closest to the undisturbed cost.
    """
    cipher = TokenCipher(keys)
    older = TokenCipher(list(reversed(keys)))
    value = "1000." + "a1b2c3d4" * 8 + "." + "e5f6a7b8" * 4  # the shape of a Zoho token
    stored = cipher.encrypt(value)
    stored_under_older = older.encrypt(value)
    steps = {
        "encrypt one value (newest key)": lambda: cipher.encrypt(value),
        "decrypt one value (newest key)": lambda: cipher.decrypt(stored),
        "lookup hashes of one value (all keys)": lambda: cipher.lookup_hashes(value),
    }
    if len(keys) > 1:
        steps["decrypt one value (older key)"] = lambda: cipher.decrypt(stored_under_older)
    results = []
    for name, step in steps.items():
        best = min(timeit.repeat(step, number=2000, repeat=7)) / 2000
        results.append((name, best * 1e6))
    return results


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    keys = [Fernet.generate_key() for _ in range(args.keys)]
    print(f"# Encryption at rest: the cryptographic steps, {args.keys} key(s)\n")
    print("| step | µs (best of 7) |\n|---|---:|")
    for name, micros in primitive_costs(keys):
        print(f"| {name} | {micros:.1f} |")
    print(
        "\nA lookup decrypts the 4 encrypted columns of the row it reads; a lookup by token also "
        "hashes the value once per key; a save encrypts the values it writes and hashes each "
        "credential once.\n"
    )
    if args.primitives_only:
        return
    rows = bench_data.fake_rows(args.rows, "uuid")
    print(f"# Encryption at rest: cost per call, {args.rows} rows, {args.keys} key(s)\n")
    print(
        "| backend | operation | no keys (µs, median) | with keys (µs, median) | added (µs) | p95 no keys / with keys |"
    )
    print("|---|---|---:|---:|---:|---:|")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as directory:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            cells: dict[tuple[str, str], Cell] = {}
            for keyed in (False, True):
                url = stack.enter_context(bench_data.throwaway_database(backend, Path(directory)))
                upgrade(url)
                bench_data.seed(backend, url, rows)
                if keyed:
                    # The oldest key first, so a two-key store reads every row after a failed try.
                    engine = build_engine(url)
                    rewrite_rows(engine, TokenCipher(list(reversed(keys))), batch_size=1000)
                    refresh_statistics(engine)  # as `zoho-tokenstore encrypt` does
                    engine.dispose()
                chosen = target(backend, url, rows, keys if keyed else None)
                stack.callback(chosen.close)
                for operation in OPERATIONS:
                    cell = Cell(chosen, operation)
                    calibrate(cell, budget_s=args.budget, minimum=20, repetitions=args.repetitions)
                    cells[(operation, chosen.store)] = cell
            measure(list(cells.values()), blocks=args.blocks)
            for operation in OPERATIONS:
                plain, keyed_cell = (
                    cells[(operation, "no keys")],
                    cells[(operation, f"{args.keys} key(s)")],
                )
                added = keyed_cell.median_us() - plain.median_us()
                print(
                    f"| {backend} | {operation} | {plain.median_us():.1f} | {keyed_cell.median_us():.1f} "
                    f"| {added:+.1f} | {plain.p95_us():.0f} / {keyed_cell.p95_us():.0f} |"
                )


if __name__ == "__main__":
    main()
