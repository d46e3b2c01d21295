"""A host application with its own Alembic, built from the recipe in docs/host-alembic.md.

The model, ``env.py`` and revision are read from that page, so the documented recipe is what the
tests run. Alembic runs in-process (as ``alembic`` on the command line would run the same code).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from alembic.config import Config
from sqlalchemy.engine import URL

from doc_files import doc_files, write_files

HOST_PACKAGE: Final = "myapp"


def write_host_project(directory: Path) -> Path:
    """Write the host project of docs/host-alembic.md into ``directory``; returns it."""
    files = doc_files("host-alembic.md", "host project")
    assert set(files) == {
        "myapp/models.py",
        "migrations/env.py",
        "migrations/versions/0001_invoices_and_zoho_tokens.py",
    }, sorted(files)
    write_files(directory, {**files, f"{HOST_PACKAGE}/__init__.py": ""})
    return directory


@contextmanager
def host_importable(directory: Path) -> Iterator[None]:
    """Make the host's package importable (as its ``prepend_sys_path`` would), then forget it."""
    _forget_host_modules()
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        _forget_host_modules()


def host_config(directory: Path, url: URL) -> Config:
    """The host's Alembic config, as its alembic.ini would give it."""
    config = Config()
    config.set_main_option("script_location", str(directory / "migrations"))
    config.set_main_option("sqlalchemy.url", url.render_as_string(hide_password=False))
    return config


def _forget_host_modules() -> None:
    for name in [m for m in sys.modules if m == HOST_PACKAGE or m.startswith(HOST_PACKAGE + ".")]:
        del sys.modules[name]
