"""The ``zoho-tokenstore`` command: one module per command group, each with a ``register()``,
so work on different commands never edits the same file (docs/store-design.md, "Layers")."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from typing import Final

from ..core.errors import TokenStoreError
from . import demo, doctor, importing, keys, schema, tokens
from .common import (
    DEFAULT_URL,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OUTPUT_CLOSED,
    EXIT_STATUS_HELP,
    EXIT_USAGE,
    OneLineParser,
    default_url,
    safe_text,
)

#: The command groups, in the order ``--help`` lists them.
COMMAND_MODULES: Final = (
    schema,
    tokens,
    doctor,
    demo,
    importing,
    keys,
)


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command group's subcommands."""
    parser = OneLineParser(
        prog="zoho-tokenstore",
        description="Migrate a zoho_tokenstore database, inspect and clean up what it stores "
        "(secrets masked), check its setup, or run the offline demo.",
        epilog=EXIT_STATUS_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"zoho-tokenstore {version('zoho-tokenstore')}",
        help="print the installed version and exit",
    )
    commands = parser.add_subparsers(required=True, metavar="COMMAND", dest="command")
    for module in COMMAND_MODULES:
        module.register(commands)
    for command in commands.choices.values():
        # Each module gives its commands an example_epilog(); keep its lines as written.
        command.formatter_class = argparse.RawDescriptionHelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    try:
        status = _run(argv)
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
    except BrokenPipeError:  # ``... | head``: stop quietly, as Python's docs recommend for SIGPIPE
        _discard_output()
        return EXIT_OUTPUT_CLOSED
    return status


def _run(argv: Sequence[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a mistake on the command line (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return int(args.handler(args))
    except TokenStoreError as exc:
        return _fail(safe_text(exc.error_message, args), exc.exit_status)
    except KeyboardInterrupt:
        return _fail("interrupted", EXIT_INTERRUPTED)
    except BrokenPipeError:
        raise  # not a failure to report: nobody reads the output any more (see ``main``)
    except Exception as exc:  # noqa: BLE001  # last resort: a CLI reports, it never dumps a traceback
        return _fail(f"{type(exc).__name__}: {safe_text(exc, args)}", EXIT_FAILED)


def _discard_output() -> None:
    """Point standard output's file descriptor at devnull: the exit's own flush then writes nowhere."""
    try:
        descriptor = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's capture): nothing flushes into a pipe
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, descriptor)
    os.close(devnull)


def _fail(message: str, status: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return status


__all__ = ["DEFAULT_URL", "build_parser", "default_url", "main"]
