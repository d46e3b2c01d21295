"""``upgrade``, ``downgrade``, ``current``: the token table's Alembic migrations from the command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sqlalchemy import Engine

from ..database.migrations import current_revision, downgrade, head_revision, upgrade
from .common import (
    EXIT_OK,
    Commands,
    add_database_options,
    command_handler,
    example_epilog,
    open_database,
    table_of,
    where,
    writable_database,
)


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    up = add_database_options(
        commands.add_parser(
            "upgrade",
            help="create or upgrade the token table (Alembic migrations)",
            description="Create or upgrade the token table (Alembic migrations). A new SQLite "
            "file is created with mode 0600.",
            epilog=example_epilog("zoho-tokenstore upgrade --url sqlite:///zohooauth.db"),
        )
    )
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(handler=_upgrade)
    down = add_database_options(
        commands.add_parser(
            "downgrade",
            help="downgrade the token table; 'base' drops it",
            description="Downgrade the token table; --revision base drops it.",
            epilog=example_epilog(
                "zoho-tokenstore downgrade --url sqlite:///zohooauth.db --revision base"
            ),
        )
    )
    down.add_argument("--revision", required=True, help="target revision, e.g. base")
    down.set_defaults(handler=_downgrade)
    add_database_options(
        commands.add_parser(
            "current",
            help="show the schema revision of the database (read-only)",
            description="Show the schema revision of the database. Creates and changes nothing.",
            epilog=example_epilog("zoho-tokenstore current --url sqlite:///zohooauth.db"),
        )
    ).set_defaults(handler=_current)


@command_handler
def _upgrade(args: argparse.Namespace) -> int:
    return _migrate(args, writable_database(args), upgrade)


@command_handler
def _downgrade(args: argparse.Namespace) -> int:
    return _migrate(args, open_database(args, read_only=False), downgrade)


def _migrate(args: argparse.Namespace, engine: Engine, step: Callable[..., None]) -> int:
    """Run ``upgrade`` or ``downgrade`` to ``--revision`` and say where the table is now."""
    try:
        step(engine, args.revision, table_name=table_of(args))
        print(f"{where(args)} is at revision {_revision_of(engine, args)}")
    finally:
        engine.dispose()
    return EXIT_OK


@command_handler
def _current(args: argparse.Namespace) -> int:
    engine = open_database(args, read_only=True)
    try:
        revision = _revision_of(engine, args)
    finally:
        engine.dispose()
    print(f"{where(args)}: revision {revision} (newest known: {head_revision()})")
    return EXIT_OK


def _revision_of(engine: Engine, args: argparse.Namespace) -> str:
    return current_revision(engine, table_of(args)) or "none (no schema)"
