"""A host application with its own Alembic, built from the recipe in docs/host-alembic.md.

The model, ``env.py`` and revision are read from that page, so the documented recipe is what the
tests run. Alembic runs in-process (as ``alembic`` on the command line would run the same code).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from alembic.config import Config
from sqlalchemy.engine import URL

REPO: Final = Path(__file__).resolve().parents[1]
RECIPE: Final = REPO / "docs" / "host-alembic.md"
HOST_PACKAGE: Final = "myapp"

_FILE_BLOCK = re.compile(r"<!-- host project file: (\S+) -->\s*```python\n(.*?)```", re.DOTALL)


def recipe_files() -> dict[str, str]:
    """The host project's files as the docs show them: relative path -> source."""
    files = dict(_FILE_BLOCK.findall(RECIPE.read_text()))
    assert set(files) == {
        "myapp/models.py",
        "migrations/env.py",
        "migrations/versions/0001_invoices_and_zoho_tokens.py",
    }, sorted(files)
    return files


def write_host_project(directory: Path) -> Path:
    """Write the host project into ``directory``; returns it."""
    for relative, source in recipe_files().items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    (directory / HOST_PACKAGE / "__init__.py").write_text("")
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
