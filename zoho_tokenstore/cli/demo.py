"""``demo``: the SDK offline against the stand-in Zoho (login, expiry, refresh) on a throwaway database."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..database.urls import usable_url
from .common import EXIT_OK, Commands, command_handler, example_epilog


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    demo = commands.add_parser(
        "demo",
        help="run the SDK offline against a stand-in Zoho: login, expiry, refresh",
        description="run the SDK offline against a stand-in Zoho: login, expiry, refresh",
        epilog=example_epilog("zoho-tokenstore demo --url sqlite:///zohooauth-demo.db"),
    )
    demo.add_argument(
        "--url", default=None, help="database URL (default: sqlite:///zohooauth-demo.db)"
    )
    demo.add_argument(
        "--encrypt",
        action="store_true",
        help=(
            "encrypt the tokens (keys from $ZOHO_TOKENSTORE_ENCRYPTION_KEYS, else a fresh key and "
            "a throwaway database) and show a row as the database holds it and as the SDK sees it"
        ),
    )
    demo.set_defaults(handler=_demo)


@command_handler
def _demo(args: argparse.Namespace) -> int:
    # Not $ZOHO_TOKENSTORE_URL: the demo must never write into the database an app is configured with.
    from .operations.demo import DEFAULT_DEMO_URL, run_demo

    if args.url is not None:
        usable_url(args.url)  # a mistyped URL is one line and exit status 2, as for every command
    if not args.encrypt:
        run_demo(args.url or DEFAULT_DEMO_URL)
        return EXIT_OK
    from ..encryption.cipher import generate_key, keys_from_environment

    keys = keys_from_environment()
    if keys:
        run_demo(args.url or DEFAULT_DEMO_URL, encryption_keys=keys)
        return EXIT_OK
    # A fresh key lives only as long as this run, so its rows go to a database that does too
    # (unless --url names one: then that database holds rows under a key nobody kept).
    print("No $ZOHO_TOKENSTORE_ENCRYPTION_KEYS: using a fresh key for this run only.\n")
    with tempfile.TemporaryDirectory(prefix="zoho-tokenstore-demo-") as directory:
        url = args.url or f"sqlite:///{Path(directory) / 'zohooauth-demo.db'}"
        run_demo(url, encryption_keys=[generate_key()])
    return EXIT_OK
