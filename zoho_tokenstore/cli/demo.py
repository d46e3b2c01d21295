"""``demo``: the SDK offline against the stand-in Zoho (login, expiry, refresh) on a throwaway database."""

from __future__ import annotations

import argparse

from .common import Commands


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    demo = commands.add_parser(
        "demo",
        help="run the SDK offline against a stand-in Zoho: login, expiry, refresh",
        description="run the SDK offline against a stand-in Zoho: login, expiry, refresh",
    )
    demo.add_argument(
        "--url", default=None, help="database URL (default: sqlite:///zohooauth-demo.db)"
    )
    demo.set_defaults(handler=_demo)


def _demo(args: argparse.Namespace) -> int:
    # Not $ZOHO_TOKENSTORE_URL: the demo must never write into the database an app is configured with.
    from ..demo import DEFAULT_DEMO_URL, run_demo

    run_demo(args.url or DEFAULT_DEMO_URL)
    return 0
