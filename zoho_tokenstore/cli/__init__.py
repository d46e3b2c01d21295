"""The ``zoho-tokenstore`` command: one module per command group, each with a ``register()``.

A new command group is a new module here plus one line in ``COMMAND_MODULES``, so parallel work on
different commands never edits the same file.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Final

from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from . import demo, importing, schema, tokens
from .common import DEFAULT_URL, default_url, safe_text

#: The command groups, in the order ``--help`` lists them.
COMMAND_MODULES: Final = (
    schema,
    tokens,
    demo,
    importing,
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command group's subcommands."""
    parser = argparse.ArgumentParser(
        prog="zoho-tokenstore",
        description="Migrate a zoho_tokenstore database and inspect what it stores (secrets masked).",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except SDKException as exc:
        print(f"error: {exc.error_message}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001  # a CLI reports, it does not dump tracebacks with SQL
        print(f"error: {type(exc).__name__}: {safe_text(exc, args)}", file=sys.stderr)
        return 1


__all__ = ["DEFAULT_URL", "build_parser", "default_url", "main"]
