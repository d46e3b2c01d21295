"""``keygen``, ``encrypt``, ``decrypt``: make keys and rewrite the stored tokens under them. Keys
come from ``$ZOHO_TOKENSTORE_ENCRYPTION_KEYS``, not the command line (shell history, ``ps``)."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from ..core.errors import store_error
from ..encryption.cipher import (
    KEYS_ENVIRONMENT_VARIABLE,
    TokenCipher,
    generate_key,
    keys_from_environment,
)
from ..encryption.rotation import (
    DEFAULT_BATCH_SIZE,
    RewriteProgress,
    refresh_statistics,
    rewrite_rows,
    scrub_sqlite,
)
from .common import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    Commands,
    add_database_options,
    command_handler,
    example_epilog,
    open_database,
    require_schema,
    table_of,
    where,
)


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    commands.add_parser(
        "keygen",
        help="print a new encryption key (Fernet)",
        description=(
            "print a new random Fernet key; put it first in "
            f"${KEYS_ENVIRONMENT_VARIABLE} (comma-separated, newest first)"
        ),
        epilog=example_epilog("zoho-tokenstore keygen"),
    ).set_defaults(handler=_keygen)
    for name, decrypt, summary in (
        ("encrypt", False, "rewrite every stored token under the newest key (encrypt or rotate)"),
        ("decrypt", True, "rewrite every stored token in plaintext (to turn encryption off)"),
    ):
        parser = add_database_options(
            commands.add_parser(
                name,
                help=summary,
                description=(
                    f"{summary}; keys from ${KEYS_ENVIRONMENT_VARIABLE}. Safe while applications "
                    "use the table; works in batches, can be interrupted and re-run."
                ),
                epilog=example_epilog(
                    f"zoho-tokenstore {name} --url sqlite:///zohooauth.db --batch-size 500"
                ),
            )
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"rows per transaction (default: {DEFAULT_BATCH_SIZE})",
        )
        parser.set_defaults(handler=_rewrite, decrypt=decrypt)


@command_handler
def _keygen(_args: argparse.Namespace) -> int:
    print(generate_key())
    return EXIT_OK


@command_handler
def _rewrite(args: argparse.Namespace) -> int:
    keys = keys_from_environment()
    if not keys:
        raise store_error(
            f"no encryption keys: set ${KEYS_ENVIRONMENT_VARIABLE} to your keys, newest first "
            "(comma-separated; `zoho-tokenstore keygen` makes one)"
        )
    cipher = TokenCipher(keys)
    verb = "decrypt" if args.decrypt else "encrypt"
    engine = open_database(args, read_only=False)
    display = _Progress(sys.stderr, verb)
    try:
        require_schema(engine, args)
        try:
            progress = rewrite_rows(
                engine,
                cipher,
                table_name=table_of(args),
                decrypt=args.decrypt,
                batch_size=args.batch_size,
                on_batch=display.update,
            )
        except KeyboardInterrupt:
            display.finish()
            print(
                f"{verb}: interrupted after {display.last.rewritten if display.last else 0} "
                "row(s) were rewritten (each finished batch is committed); run it again to finish",
                file=sys.stderr,
            )
            return EXIT_INTERRUPTED
        display.finish()
        refresh_statistics(engine, table_of(args))
        scrubbed = scrub_sqlite(engine)
    finally:
        engine.dispose()
    target = "in plaintext" if args.decrypt else f"under key {cipher.fingerprints[0]}"
    print(
        f"{where(args)}: {progress.checked} row(s) checked, {progress.rewritten} rewritten "
        f"{target}, {progress.checked - progress.rewritten - len(progress.left_ids)} already so"
    )
    if scrubbed is False:
        print(
            f"{verb}: another connection kept reading, so SQLite's WAL may still hold old values; "
            f"run `zoho-tokenstore {verb}` again when no application uses the database",
            file=sys.stderr,
        )
    elif scrubbed:
        print("SQLite: freed pages and the WAL were cleared of the old values (VACUUM, checkpoint)")
    if progress.left_ids:
        print(
            f"{len(progress.left_ids)} row(s) kept changing while being rewritten; run "
            f"`zoho-tokenstore {verb}` again: {', '.join(progress.left_ids)}",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return EXIT_OK


class _Progress:
    """A one-line progress display on a terminal; silent when stderr is a file or a pipe."""

    def __init__(self, out: TextIO, verb: str) -> None:
        self._out = out
        self._verb = verb
        self._shown = False
        self.last: RewriteProgress | None = None

    def update(self, progress: RewriteProgress) -> None:
        self.last = progress
        if not self._out.isatty():
            return
        percent = 100 * progress.checked // progress.total if progress.total else 100
        self._out.write(
            f"\r{self._verb}: {progress.checked}/{progress.total} rows ({percent}%), "
            f"{progress.rewritten} rewritten"
        )
        self._out.flush()
        self._shown = True

    def finish(self) -> None:
        if self._shown:
            self._out.write("\n")
            self._out.flush()
            self._shown = False
