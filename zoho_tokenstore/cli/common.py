"""What every ``zoho-tokenstore`` command shares: options, exit statuses, URL checks, masked text,
and the boundary where what the libraries raise becomes a ``TokenStoreError``."""

from __future__ import annotations

import argparse
import functools
import os
import re
import shlex
import sys
import textwrap
from collections.abc import Callable
from typing import Final, NoReturn, Protocol, TypeAlias
from urllib.parse import quote, quote_plus, unquote

from alembic.util import CommandError
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from ..core.errors import TokenStoreError, UsageError, database_error
from ..core.model import TABLE_NAME, token_table
from ..database.connect_errors import connection_error
from ..database.engine import build_engine, masked_url
from ..database.existing import open_existing
from ..database.migrations import schema_problem, upgrade_command
from ..database.urls import database_file, usable_url
from ..encryption.cipher import KEYS_ENVIRONMENT_VARIABLE

DEFAULT_URL: Final = "sqlite:///zohooauth.db"
URL_ENVIRONMENT_VARIABLE: Final = "ZOHO_TOKENSTORE_URL"
TABLE_ENVIRONMENT_VARIABLE: Final = "ZOHO_TOKENSTORE_TABLE"

EXIT_OK: Final = 0
#: The command ran and failed: the database refused or is unreachable, nothing matched, a check failed.
EXIT_FAILED: Final = TokenStoreError.exit_status
#: The command could not start: the command line (option, URL, driver, file, table name) is wrong.
EXIT_USAGE: Final = UsageError.exit_status
#: ``import`` or ``adopt`` ran (or, with --dry-run, planned) but skipped or refused some rows.
EXIT_INCOMPLETE: Final = 3
EXIT_INTERRUPTED: Final = 130
#: Standard output was a pipe whose reader closed it early (``| head``): 128 + SIGPIPE, what the
#: shell reports for a program that SIGPIPE ends, so ``set -o pipefail`` sees it as it would for one.
EXIT_OUTPUT_CLOSED: Final = 141

#: Every status a command can end with, and its meaning: the ``--help`` epilog is rendered from this
#: table and docs/cli.md lists the same statuses (tests/test_docs.py checks both).
EXIT_STATUSES: Final[tuple[tuple[int, str], ...]] = (
    (EXIT_OK, "done (doctor: every check passed)"),
    (
        EXIT_FAILED,
        "the command ran and failed: database unreachable or refusing, no schema, no token "
        "matched, a doctor check failed, deletion not confirmed, an import source that is not "
        "a token store, an adoption refused",
    ),
    (
        EXIT_USAGE,
        "the command could not start: unknown command or option, malformed URL, unknown scheme, "
        "driver not installed, no such SQLite file, bad table name, unknown --revision, "
        f"a malformed key in ${KEYS_ENVIRONMENT_VARIABLE}, "
        "a confirmation needed but no terminal to ask on (pass --yes)",
    ),
    (
        EXIT_INCOMPLETE,
        "import, adopt: done (with --dry-run: planned), except for the rows skipped or refused "
        "(listed above the summary)",
    ),
    (EXIT_INTERRUPTED, "interrupted (Ctrl-C)"),
    (
        EXIT_OUTPUT_CLOSED,
        "the output's reader closed the pipe early (| head): the rest is not printed, no error "
        "line; what the command changed stays changed",
    ),
)


def _exit_status_help(statuses: tuple[tuple[int, str], ...]) -> str:
    """The ``exit status:`` epilog: one entry per status, meanings wrapped under each other."""
    lines = ["exit status:"]
    for status, meaning in statuses:
        lines += textwrap.wrap(
            meaning, width=79, initial_indent=f"  {status:<4} ", subsequent_indent=" " * 7
        )
    return "\n".join(lines) + "\n"


#: The top-level ``--help`` epilog; a command's ``--help`` points here (``example_epilog``).
EXIT_STATUS_HELP: Final = _exit_status_help(EXIT_STATUSES)


def example_epilog(example: str) -> str:
    """A command's ``--help`` epilog: one example command line, and where the exit statuses are."""
    return f"example: {example}\n\nexit statuses: zoho-tokenstore --help\n"


#: Passwords shorter than this are masked only where they stand in a URL's ``user:password@``:
#: replacing every "a" of a message would mangle it, and no driver message quotes a password.
_MASK_ANYWHERE_FROM: Final = 4
_USERINFO_PASSWORD: Final = re.compile(r"://[^/@:?#]*:([^/@?#]*)@")


class Commands(Protocol):
    """The top-level subparsers each command module adds its commands to (``add_subparsers()``);
    a protocol, because the standard library names that class only privately."""

    def add_parser(
        self,
        name: str,
        *,
        help: str | None = ...,  # noqa: A002  # argparse's own keyword
        description: str | None = ...,
        epilog: str | None = ...,
    ) -> argparse.ArgumentParser:
        """Add the command ``name`` and return its parser."""


#: What a command runs: its parsed arguments in, its exit status out.
Handler: TypeAlias = Callable[[argparse.Namespace], int]


def command_handler(handler: Handler) -> Handler:
    """``handler`` raising only ``TokenStoreError`` for what Alembic, SQLAlchemy, a driver or the SDK
    raise, so ``main`` reports every failure alike; each command's handler is wrapped in it."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except TokenStoreError:
            raise
        except CommandError as exc:  # Alembic: an unknown --revision
            raise UsageError(str(exc)) from exc
        except (sa_exc.ArgumentError, ImportError) as exc:  # a URL taken unchecked (demo)
            usable_url(url_of(args))  # the UsageError saying what is wrong with it, if that is it
            raise TokenStoreError(f"{type(exc).__name__}: {exc}") from exc
        except sa_exc.SQLAlchemyError as exc:
            raise command_database_error(args, exc) from exc
        except SDKException as exc:  # the SDK's own: its message, without "Caused By"
            raise TokenStoreError(exc.error_message, cause=exc) from exc

    return run


def command_database_error(
    args: argparse.Namespace, exc: sa_exc.SQLAlchemyError
) -> TokenStoreError:
    """A command's database failure by kind and code; a failure to connect names its cause and fix
    (``connection_error``), as the store's constructor does."""
    operation = f"{args.command} on {where(args)}"
    try:
        url = make_url(url_of(args))
    except sa_exc.ArgumentError:
        return database_error(operation, exc)
    return connection_error(operation, exc, url)


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose mistakes are one line (not usage plus error) and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def default_url() -> str:
    """``$ZOHO_TOKENSTORE_URL`` if set, else an embedded SQLite file in the current directory."""
    return os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL


def add_database_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Give a command the ``--url`` and ``--table`` options every database command takes."""
    parser.add_argument(
        "--url",
        default=None,
        help=f"database URL (default: ${URL_ENVIRONMENT_VARIABLE}, else {DEFAULT_URL})",
    )
    parser.add_argument(
        "--table",
        default=None,
        help=f"token table (default: ${TABLE_ENVIRONMENT_VARIABLE}, else {TABLE_NAME})",
    )
    return parser


def url_of(args: argparse.Namespace) -> str:
    """The database URL a command works on."""
    return str(getattr(args, "url", None) or default_url())


def table_of(args: argparse.Namespace) -> str:
    """The token table a command works on."""
    return str(
        getattr(args, "table", None) or os.environ.get(TABLE_ENVIRONMENT_VARIABLE) or TABLE_NAME
    )


def where(args: argparse.Namespace) -> str:
    """The database and, when not the default, the table: what a message is about."""
    table = table_of(args)
    return shown_url(url_of(args)) + ("" if table == TABLE_NAME else f" (table {table})")


def shown_url(url: str) -> str:
    """``url`` with its password masked; a URL too malformed to parse still loses its password."""
    try:
        return masked_url(url)
    except sa_exc.ArgumentError:
        return _USERINFO_PASSWORD.sub(lambda m: m.group(0).replace(m.group(1), "***"), url)


def safe_text(exc: BaseException | str, args: argparse.Namespace) -> str:
    """The text on one line with the database password masked, in every form it can be written."""
    return redact(" ".join(str(exc).split()), url_of(args))


def redact(text: str, url: str) -> str:
    """``text`` without the password of ``url``, as typed, percent-encoded or decoded, so no message
    leaks it; a short one only inside ``user:password@`` (see ``_MASK_ANYWHERE_FROM``)."""
    forms = _password_forms(url)
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(f":{form}@", ":***@")
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= _MASK_ANYWHERE_FROM:
            text = text.replace(form, "***")
    return text


def _password_forms(url: str) -> set[str]:
    passwords: set[str] = set()
    typed = _USERINFO_PASSWORD.search(url)
    if typed and typed.group(1):
        passwords |= {typed.group(1), unquote(typed.group(1))}
    try:
        parsed = make_url(url).password
    except Exception:  # noqa: BLE001  # an unparsable URL has only the typed form
        parsed = None
    if parsed:
        passwords.add(str(parsed))
    forms = set(passwords)
    for password in passwords:
        forms |= {quote(password, safe=""), quote_plus(password), quote(password)}
    return {form for form in forms if form and form != "***"}


def database_url(args: argparse.Namespace) -> URL:
    """The command's URL and table, checked as the store checks them (``usable_url``: a
    ``DatabaseURLError`` is a ``UsageError``, exit 2); a bad table name exits 2 too."""
    url = usable_url(url_of(args))
    try:
        token_table(table_of(args))
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    return url


def open_database(args: argparse.Namespace, *, read_only: bool) -> Engine:
    """The engine on the existing database a command works on (``open_existing``: nothing created;
    ``read_only`` keeps a SQLite file unchanged while inspected), after the table name's check."""
    return open_existing(database_url(args), read_only=read_only)


def writable_database(args: argparse.Namespace) -> Engine:
    """The engine for a command that may create the database (``upgrade``): a new SQLite file only
    in a directory that exists."""
    url = database_url(args)
    path = database_file(url)  # an in-memory database: a DatabaseURLError, so a UsageError
    directory = os.path.dirname(os.path.abspath(path)) if path is not None else None
    if directory is not None and not os.path.isdir(directory):
        raise UsageError(
            f"no directory for the SQLite file {path}: create it first "
            f"(mkdir -p {shlex.quote(directory)})"
        )
    return build_engine(url)


def require_schema(engine: Engine, args: argparse.Namespace) -> None:
    """Fail (exit 1) with the fixing command unless the token table is at the newest revision."""
    # The engine may be a read-only view of the file: the fix names the URL the user gave.
    fix = f"run `{upgrade_command(shown_url(url_of(args)), table_of(args))}`"
    problem = schema_problem(engine, table_of(args), fix=fix)
    if problem is not None:
        raise TokenStoreError(f"{where(args)}: {problem}")


def confirm(question: str) -> bool:
    """Ask on the terminal; without one, refuse (exit 2) rather than guess."""
    if not sys.stdin.isatty():
        raise UsageError(f"{question} needs a yes, and there is no terminal to ask on: pass --yes")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")
