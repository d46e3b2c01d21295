"""What every ``zoho-tokenstore`` command shares: the database URL and table options, masked text."""

from __future__ import annotations

import argparse
import os
from typing import Final, TypeAlias

from sqlalchemy.engine import make_url

from ..engine import masked_url
from ..model import TABLE_NAME

DEFAULT_URL: Final = "sqlite:///zohooauth.db"
URL_ENVIRONMENT_VARIABLE: Final = "ZOHO_TOKENSTORE_URL"
TABLE_ENVIRONMENT_VARIABLE: Final = "ZOHO_TOKENSTORE_TABLE"

#: The ``add_parser`` callable of the top-level subparsers, handed to each command module.
Commands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"


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
    return masked_url(url_of(args)) + ("" if table == TABLE_NAME else f" (table {table})")


def safe_text(exc: BaseException, args: argparse.Namespace) -> str:
    """The error text with the database password, if any, masked out."""
    text = str(exc)
    try:
        password = make_url(url_of(args)).password
    except Exception:  # noqa: BLE001  # an unparsable URL has no password to hide
        password = None
    return text.replace(str(password), "***") if password else text
