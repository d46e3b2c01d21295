"""``upgrade``, ``downgrade``, ``current``: the token table's Alembic migrations from the command line."""

from __future__ import annotations

import argparse

from ..engine import build_engine
from ..migration import current_revision, downgrade, head_revision, upgrade
from .common import Commands, add_database_options, table_of, url_of, where


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    up = add_database_options(
        commands.add_parser(
            "upgrade",
            help="create or upgrade the token table (Alembic migrations)",
            description="create or upgrade the token table (Alembic migrations)",
        )
    )
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(handler=_upgrade)
    down = add_database_options(
        commands.add_parser(
            "downgrade",
            help="downgrade the token table; 'base' drops it",
            description="downgrade the token table; 'base' drops it",
        )
    )
    down.add_argument("--revision", required=True, help="target revision, e.g. base")
    down.set_defaults(handler=_downgrade)
    add_database_options(
        commands.add_parser(
            "current",
            help="show the schema revision of the database",
            description="show the schema revision of the database",
        )
    ).set_defaults(handler=_current)


def _upgrade(args: argparse.Namespace) -> int:
    upgrade(url_of(args), args.revision, table_name=table_of(args))
    print(f"{where(args)} is at revision {_revision_of(args)}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    downgrade(url_of(args), args.revision, table_name=table_of(args))
    print(f"{where(args)} is at revision {_revision_of(args)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    print(f"{where(args)}: revision {_revision_of(args)} (newest known: {head_revision()})")
    return 0


def _revision_of(args: argparse.Namespace) -> str:
    engine = build_engine(url_of(args))
    try:
        return current_revision(engine, table_of(args)) or "none (no schema)"
    finally:
        engine.dispose()
