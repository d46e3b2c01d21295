"""The ``zoho-tokenstore`` command: migrate a database and inspect what it stores (secrets masked)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Final

from sqlalchemy.engine import make_url
from zohocrmsdk.src.com.zoho.crm.api.exception.sdk_exception import SDKException

from .engine import build_engine, masked_url
from .masking import mask
from .migration import current_revision, downgrade, head_revision, upgrade
from .model import TABLE_NAME
from .store import SQLAlchemyTokenStore

DEFAULT_URL: Final = "sqlite:///zohooauth.db"
URL_ENVIRONMENT_VARIABLE: Final = "ZOHO_TOKENSTORE_URL"
TABLE_ENVIRONMENT_VARIABLE: Final = "ZOHO_TOKENSTORE_TABLE"


def default_url() -> str:
    """``$ZOHO_TOKENSTORE_URL`` if set, else an embedded SQLite file in the current directory."""
    return os.environ.get(URL_ENVIRONMENT_VARIABLE) or DEFAULT_URL


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args))
    except SDKException as exc:
        print(f"error: {exc.error_message}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001  # a CLI reports, it does not dump tracebacks with SQL
        print(f"error: {type(exc).__name__}: {_safe_text(exc, args)}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="zoho-tokenstore", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.add_argument(
            "--url",
            default=None,
            help=f"database URL (default: ${URL_ENVIRONMENT_VARIABLE}, else {DEFAULT_URL})",
        )
        sub.add_argument(
            "--table",
            default=None,
            help=f"token table (default: ${TABLE_ENVIRONMENT_VARIABLE}, else {TABLE_NAME})",
        )
        return sub

    up = command("upgrade", "create or upgrade the token table (Alembic migrations)")
    up.add_argument("--revision", default="head", help="target revision (default: head)")
    up.set_defaults(handler=_upgrade)
    down = command("downgrade", "downgrade the token table; 'base' drops it")
    down.add_argument("--revision", required=True, help="target revision, e.g. base")
    down.set_defaults(handler=_downgrade)
    command("current", "show the schema revision of the database").set_defaults(handler=_current)
    command("tokens", "list the stored tokens with secrets masked").set_defaults(handler=_tokens)
    demo = commands.add_parser(
        "demo", help="run the SDK offline against a stand-in Zoho: login, expiry, refresh"
    )
    demo.add_argument(
        "--url", default=None, help="database URL (default: sqlite:///zohooauth-demo.db)"
    )
    demo.set_defaults(handler=_demo)
    return parser


def _url(args: argparse.Namespace) -> str:
    return str(args.url or default_url())


def _table(args: argparse.Namespace) -> str:
    return str(args.table or os.environ.get(TABLE_ENVIRONMENT_VARIABLE) or TABLE_NAME)


def _where(args: argparse.Namespace) -> str:
    """The database and, when not the default, the table: what a message is about."""
    table = _table(args)
    return masked_url(_url(args)) + ("" if table == TABLE_NAME else f" (table {table})")


def _upgrade(args: argparse.Namespace) -> int:
    upgrade(_url(args), args.revision, table_name=_table(args))
    print(f"{_where(args)} is at revision {_revision_of(args)}")
    return 0


def _downgrade(args: argparse.Namespace) -> int:
    downgrade(_url(args), args.revision, table_name=_table(args))
    print(f"{_where(args)} is at revision {_revision_of(args)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    print(f"{_where(args)}: revision {_revision_of(args)} (newest known: {head_revision()})")
    return 0


def _tokens(args: argparse.Namespace) -> int:
    with SQLAlchemyTokenStore(_url(args), table_name=_table(args)) as store:
        tokens = store.get_tokens()
    print(f"{len(tokens)} stored token(s) in {_where(args)}")
    for token in tokens:
        signature = token.get_user_signature()
        print(
            f"- id={token.get_id()} user={signature.get_name() if signature else '-'}"
            f" client_id={token.get_client_id() or '-'} client_secret={mask(token.get_client_secret())}"
            f" refresh={mask(token.get_refresh_token())} access={mask(token.get_access_token())}"
            f" expiry={token.get_expires_in() or '-'} api_domain={token.get_api_domain() or '-'}"
        )
    return 0


def _demo(args: argparse.Namespace) -> int:
    # Not $ZOHO_TOKENSTORE_URL: the demo must never write into the database an app is configured with.
    from .demo import DEFAULT_DEMO_URL, run_demo

    run_demo(args.url or DEFAULT_DEMO_URL)
    return 0


def _revision_of(args: argparse.Namespace) -> str:
    engine = build_engine(_url(args))
    try:
        return current_revision(engine, _table(args)) or "none (no schema)"
    finally:
        engine.dispose()


def _safe_text(exc: Exception, args: argparse.Namespace) -> str:
    """The error text with the database password, if any, masked out."""
    text = str(exc)
    url = getattr(args, "url", None) or default_url()
    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001  # an unparsable URL has no password to hide
        password = None
    return text.replace(str(password), "***") if password else text


if __name__ == "__main__":
    raise SystemExit(main())
