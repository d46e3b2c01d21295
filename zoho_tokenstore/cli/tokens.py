"""``tokens``, ``delete``, ``purge``: what is stored, secrets masked, and removing what is not wanted."""

from __future__ import annotations

import argparse
import json

from ..core.errors import TokenStoreError
from .common import (
    EXIT_OK,
    Commands,
    add_database_options,
    command_handler,
    confirm,
    example_epilog,
    open_database,
    require_schema,
    table_of,
    where,
)
from .operations.display import masked_fields, shown_failure, token_line
from .operations.maintenance import (
    DEAD_ROW_RULE,
    delete_row,
    find_row,
    list_rows,
    purge,
    refresh_failures,
)


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    tokens = add_database_options(
        commands.add_parser(
            "tokens",
            help="list the stored tokens with secrets masked (read-only)",
            description="List the stored tokens with secrets masked, each with its last failed "
            "refresh if one is remembered. Creates and changes nothing.",
            epilog=example_epilog("zoho-tokenstore tokens --url sqlite:///zohooauth.db --json"),
        )
    )
    tokens.add_argument("--user", default=None, help="only the token of this user name (exact)")
    tokens.add_argument(
        "--json", action="store_true", help="print a JSON array of the rows (secrets masked)"
    )
    tokens.set_defaults(handler=_tokens)

    remove = add_database_options(
        commands.add_parser(
            "delete",
            help="delete one token, by id or by user name (asks first)",
            description="Delete one stored token, by id or by user name. Shows it and asks "
            "for confirmation on the terminal unless --yes is given.",
            epilog=example_epilog(
                "zoho-tokenstore delete --url sqlite:///zohooauth.db "
                "--user someone@example.com:20240001"
            ),
        )
    )
    which = remove.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", dest="token_id", metavar="ID", help="the token's id")
    which.add_argument("--user", metavar="NAME", help="the token's user name (exact)")
    remove.add_argument("--yes", action="store_true", help="delete without asking")
    remove.set_defaults(handler=_delete)

    dead = add_database_options(
        commands.add_parser(
            "purge",
            help="delete the tokens that can never work again",
            description=f"Delete the tokens that can never work again: {DEAD_ROW_RULE}. "
            "Prints each one it removes, secrets masked.",
            epilog=example_epilog("zoho-tokenstore purge --url sqlite:///zohooauth.db --dry-run"),
        )
    )
    dead.add_argument(
        "--dry-run", action="store_true", help="only print what would be removed; change nothing"
    )
    dead.set_defaults(handler=_purge)


@command_handler
def _tokens(args: argparse.Namespace) -> int:
    engine = open_database(args, read_only=True)
    try:
        require_schema(engine, args)
        rows = list_rows(engine, table_of(args), user=args.user)
        failures = refresh_failures(engine, table_of(args))
    finally:
        engine.dispose()
    if args.json:
        shown = [
            {**masked_fields(row), "refresh_failure": shown_failure(failures.get(row["id"]))}
            for row in rows
        ]
        print(json.dumps(shown, indent=2))
        return EXIT_OK
    user = f" for user {args.user}" if args.user is not None else ""
    print(f"{len(rows)} stored token(s){user} in {where(args)}")
    for row in rows:
        print(f"- {token_line(row, failure=failures.get(row['id']))}")
    return EXIT_OK


@command_handler
def _delete(args: argparse.Namespace) -> int:
    engine = open_database(args, read_only=False)
    try:
        require_schema(engine, args)
        row = find_row(engine, table_of(args), token_id=args.token_id, user=args.user)
        if row is None:
            key = (
                f"the id {args.token_id!r}" if args.token_id is not None else f"user {args.user!r}"
            )
            raise TokenStoreError(f"no stored token has {key} in {where(args)}")
        print(f"  {token_line(row)}")
        if not args.yes and not confirm("delete this token?"):
            raise TokenStoreError("not deleted: not confirmed")
        if not delete_row(engine, row, table_of(args)):
            raise TokenStoreError(f"not deleted: the token with id {row['id']!r} is gone already")
    finally:
        engine.dispose()
    print(f"deleted the token with id {row['id']} from {where(args)}")
    return EXIT_OK


@command_handler
def _purge(args: argparse.Namespace) -> int:
    engine = open_database(args, read_only=False)
    try:
        require_schema(engine, args)
        rows = purge(engine, table_of(args), dry_run=args.dry_run)
    finally:
        engine.dispose()
    verb = "would remove" if args.dry_run else "removed"
    print(f"{verb} {len(rows)} token(s) that can never work again from {where(args)}")
    for row in rows:
        print(f"- {token_line(row)}")
    return EXIT_OK
