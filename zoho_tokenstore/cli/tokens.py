"""``tokens``: list the stored tokens, secrets masked."""

from __future__ import annotations

import argparse

from ..encryption import keys_from_environment
from ..masking import mask
from ..store import SQLAlchemyTokenStore
from .common import Commands, add_database_options, table_of, url_of, where


def register(commands: Commands) -> None:
    """Add this module's commands to the top-level parser."""
    add_database_options(
        commands.add_parser(
            "tokens",
            help="list the stored tokens with secrets masked",
            description="list the stored tokens with secrets masked",
        )
    ).set_defaults(handler=_tokens)


def _tokens(args: argparse.Namespace) -> int:
    keys = (
        keys_from_environment() or None
    )  # encrypted tokens read with $ZOHO_TOKENSTORE_ENCRYPTION_KEYS
    with SQLAlchemyTokenStore(
        url_of(args), table_name=table_of(args), encryption_keys=keys
    ) as store:
        tokens = store.get_tokens()
    print(f"{len(tokens)} stored token(s) in {where(args)}")
    for token in tokens:
        signature = token.get_user_signature()
        print(
            f"- id={token.get_id()} user={signature.get_name() if signature else '-'}"
            f" client_id={token.get_client_id() or '-'} client_secret={mask(token.get_client_secret())}"
            f" refresh={mask(token.get_refresh_token())} access={mask(token.get_access_token())}"
            f" expiry={token.get_expires_in() or '-'} api_domain={token.get_api_domain() or '-'}"
        )
    return 0
