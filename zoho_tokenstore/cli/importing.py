"""``import`` and ``adopt``: bring another store's tokens in without asking any user to consent again."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url

from ..core.errors import TokenStoreError, database_error
from ..core.model import TABLE_NAME
from ..database.connect_errors import connection_error
from ..database.engine import build_engine, masked_url
from ..database.existing import open_existing
from ..encryption.cipher import TokenCipher, keys_from_environment
from ..importing import (
    AdoptionRefusedError,
    Plan,
    apply_plan,
    check_adoptable,
    default_backup_name,
    make_plan,
    read_filestore,
    read_table,
    take_over,
    target_rows,
)
from ..importing.adopt import drop_backup_hint, undo_adoption
from ..importing.report import plan_lines, summary_line
from ..importing.rows import SourceRead
from ..store.token_store import SQLAlchemyTokenStore
from .common import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    Commands,
    add_database_options,
    command_handler,
    example_epilog,
    open_database,
    shown_url,
    table_of,
    url_of,
    where,
)


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    text = "import the tokens of the SDK's FileStore, DBStore or another oauthtoken table"
    example = (
        "zoho-tokenstore import --url sqlite:///zohooauth.db --from-filestore sdk_tokens.csv "
        "--dry-run"
    )
    imp = add_database_options(
        commands.add_parser("import", help=text, description=text, epilog=example_epilog(example))
    )
    source = imp.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--from-filestore", metavar="PATH", help="the SDK FileStore's CSV file (only read)"
    )
    source.add_argument(
        "--from-table",
        metavar="SOURCE_URL",
        help="database URL of a table with DBStore's ten columns (only read)",
    )
    imp.add_argument(
        "--source-table",
        default=TABLE_NAME,
        metavar="NAME",
        help=f"the table to read with --from-table (default: {TABLE_NAME})",
    )
    imp.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")
    imp.set_defaults(handler=_import)

    text = "take over the old store's table in this database: keep it as a backup, import it"
    example = "zoho-tokenstore adopt --url sqlite:///zohooauth.db --table oauthtoken --dry-run"
    adopt = add_database_options(
        commands.add_parser("adopt", help=text, description=text, epilog=example_epilog(example))
    )
    adopt.add_argument(
        "--backup-table",
        metavar="NAME",
        default=None,
        help="name to keep the old table under (default: <table>_sdk_backup)",
    )
    adopt.add_argument("--dry-run", action="store_true", help="print the plan and change nothing")
    adopt.set_defaults(handler=_adopt)


def open_target_store(args: argparse.Namespace) -> SQLAlchemyTokenStore:
    """The store the import writes through, built only here: with keys in the environment it
    encrypts what it writes, as the applications' store will (docs/importing.md, "Encryption")."""
    return SQLAlchemyTokenStore(
        url_of(args),
        table_name=table_of(args),
        refresh_ahead=False,
        encryption_keys=_environment_keys(),
    )


def _environment_keys() -> list[str] | None:
    """The keys from the environment, checked (a malformed one raises ``SDKException``), or ``None``."""
    keys = keys_from_environment()
    if not keys:
        return None
    TokenCipher(keys)  # names a bad key by position, never by its text
    return keys


@command_handler
def _import(args: argparse.Namespace) -> int:
    try:
        if args.from_filestore is not None:
            read = read_filestore(args.from_filestore)
        else:
            # Opened as every command opens a database: a bad URL or driver exits 2, as upgrade's.
            source = open_existing(args.from_table, read_only=True)
            try:
                read = read_table(source, args.source_table, shown_url(args.from_table))
            finally:
                source.dispose()
    except sa_exc.SQLAlchemyError as exc:
        # By kind and code, or the cause of a failed connection: names from the URL, never its
        # password (not the one main() masks).
        if args.from_table is None:
            raise database_error("reading the source", exc) from exc
        raise connection_error("reading the source", exc, make_url(args.from_table)) from exc
    with open_target_store(args) as store:
        return _run(args, store, read, dry_run=args.dry_run)


@command_handler
def _adopt(args: argparse.Namespace) -> int:
    table = table_of(args)
    backup = args.backup_table or default_backup_name(table)
    _environment_keys()  # a malformed key stops the adoption before anything is renamed
    # Checking and the dry run only read: on SQLite through a read-only connection, so not even the
    # journal mode of the old database changes before the adoption really starts.
    looking = open_database(args, read_only=True)
    try:
        check_adoptable(looking, table, backup, masked_url(url_of(args)))
        if args.dry_run:
            read = read_table(looking, table, shown_url(url_of(args)))
            print(f"Would rename table {table!r} to {backup!r} and create the token table.")
            return _report(make_plan(read, []), dry_run=True, wrote=False)
    except AdoptionRefusedError as exc:
        raise _refusal(exc) from exc
    finally:
        looking.dispose()
    engine = build_engine(url_of(args))
    try:
        take_over(engine, table, backup)  # refused: it undid itself and says so
        print(f"Kept the old table as {backup!r}; created the token table {table!r}.")
        try:
            read = read_table(url_of(args), backup)
            with open_target_store(args) as store:
                status = _run(args, store, read, dry_run=False)
        except BaseException:
            undo_adoption(engine, table, backup)
            print(f"Undone: the old table is {table!r} again.", file=sys.stderr)
            raise
    finally:
        engine.dispose()
    print(
        f"Once every application works with the new table, drop the backup: "
        f"{drop_backup_hint(backup)}"
    )
    return status


def _refusal(exc: TokenStoreError) -> AdoptionRefusedError:
    """The refusal to report when adoption cannot start: nothing was renamed or created."""
    return AdoptionRefusedError(f"refusing to adopt: {exc.error_message}")


def _run(
    args: argparse.Namespace, store: SQLAlchemyTokenStore, read: SourceRead, *, dry_run: bool
) -> int:
    print(f"Importing from {read.description} into {where(args)}")
    plan = make_plan(read, target_rows(store))
    if not dry_run:
        apply_plan(store, plan, _progress_printer(sys.stderr))
    return _report(plan, dry_run=dry_run, wrote=not dry_run)


def _report(plan: Plan, *, dry_run: bool, wrote: bool) -> int:
    for line in [*plan_lines(plan), summary_line(plan)]:
        print(line)
    if dry_run:
        print("Dry run: nothing was written.")
    elif not plan.changes:
        print("Nothing to change: the target already holds every importable row.")
    elif wrote:
        print(
            f"Imported in one transaction: {len(plan.inserts)} inserted, "
            f"{len(plan.updates)} updated."
        )
    if plan.complete:
        return EXIT_OK
    print(
        f"Not every row was imported (see Skipped/Refused above): exit status {EXIT_INCOMPLETE}.",
        file=sys.stderr,
    )
    return EXIT_INCOMPLETE


def _progress_printer(stream: TextIO) -> _Progress | None:
    """Progress on a terminal only; logs and pipes get the summary alone."""
    return _Progress(stream) if stream.isatty() else None


class _Progress:
    """Rewrites one terminal line with the rows written so far."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def __call__(self, done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        self._stream.write(f"\rwriting rows: {done:,} of {total:,}{end}")
        self._stream.flush()
