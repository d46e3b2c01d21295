"""Files shown in the docs, written out for a test to run: the documented code is the tested code.

A page marks each file with ``<!-- <project> file: <relative path> -->`` right above its fenced
Python block.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Final

DOCS: Final = Path(__file__).resolve().parents[1] / "docs"


def doc_files(page: str, project: str) -> dict[str, str]:
    """The files of ``project`` on ``docs/<page>``: relative path -> source."""
    block = re.compile(
        rf"<!-- {re.escape(project)} file: (\S+) -->\s*```python\n(.*?)```", re.DOTALL
    )
    files = dict(block.findall((DOCS / page).read_text()))
    assert files, f"docs/{page} shows no {project} files"
    return files


def write_files(directory: Path, files: dict[str, str]) -> Path:
    """Write ``files`` under ``directory`` (created as needed); returns ``directory``."""
    for relative, source in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return directory
