"""``doctor``: is this database set up the way the store needs it? One line per check."""

from __future__ import annotations

import argparse

from .common import (
    EXIT_FAILED,
    EXIT_OK,
    Commands,
    add_database_options,
    command_handler,
    database_url,
    example_epilog,
    table_of,
)
from .operations.diagnostics import diagnose


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    add_database_options(
        commands.add_parser(
            "doctor",
            help="check the database: connection, schema, model, backend settings (read-only)",
            description="Check that the store can use the database: it connects; the schema is "
            "at the newest revision; the table matches the model; which users must consent "
            "again (warn); on MySQL/MariaDB an exact-match collation and strict mode; on SQLite "
            "the WAL journal and file mode 0600. One line per check; exit status 0 only when all "
            "pass or warn. Creates and changes nothing.",
            epilog=example_epilog("zoho-tokenstore doctor --url sqlite:///zohooauth.db"),
        )
    ).set_defaults(handler=_doctor)


@command_handler
def _doctor(args: argparse.Namespace) -> int:
    checks = diagnose(database_url(args), table_of(args))
    for check in checks:
        print(check.line())
    return EXIT_OK if all(check.passed for check in checks) else EXIT_FAILED
