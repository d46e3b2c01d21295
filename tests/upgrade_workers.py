"""Work that ``test_concurrent_upgrades.py`` runs in worker processes (``worker_context``): each entry point that upgrades
the schema, released together by a barrier. Every worker returns an error text or ``None``, never raises.
"""

from __future__ import annotations

import io
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import alembic.config

from process_workers import error_text, wait_at_barrier
from zoho_tokenstore import SQLAlchemyTokenStore, upgrade
from zoho_tokenstore.cli import main

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


def open_store_with_auto_upgrade(url: str) -> str | None:
    """A replica starting: a store with ``auto_upgrade=True``, which then serves a read."""
    wait_at_barrier()
    try:
        with SQLAlchemyTokenStore(url, auto_upgrade=True, refresh_ahead=False) as store:
            store.get_tokens()
    except Exception as exc:  # noqa: BLE001  # reported to the parent, which asserts
        return error_text(exc)
    return None


def upgrade_from_the_command_line(url: str) -> str | None:
    """``zoho-tokenstore upgrade --url URL``, as a release job runs it."""
    wait_at_barrier()
    return upgrade_now(url)


def upgrade_now(url: str, table: str = "oauthtoken") -> str | None:
    """``zoho-tokenstore upgrade --url URL --table TABLE`` without waiting for the others."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        status = main(["upgrade", "--url", url, "--table", table])
    return None if status == 0 else f"exit {status}: {err.getvalue().strip()}"


def upgrade_with_the_function(url: str) -> str | None:
    """The public ``zoho_tokenstore.upgrade(url)``."""
    wait_at_barrier()
    try:
        upgrade(url)
    except Exception as exc:  # noqa: BLE001  # reported to the parent, which asserts
        return error_text(exc)
    return None


def upgrade_with_alembic(url: str) -> str | None:
    """``alembic -c alembic.ini -x url=URL upgrade head``, as the ``alembic`` command runs it."""
    wait_at_barrier()
    try:
        alembic.config.main(argv=["-c", str(ALEMBIC_INI), "-x", f"url={url}", "upgrade", "head"])
    except BaseException as exc:  # noqa: BLE001  # SystemExit too: reported to the parent
        return error_text(exc)
    return None
