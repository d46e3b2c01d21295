"""Docstrings say what and why in a line or two; design reasoning lives in docs/store-design.md."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "zoho_tokenstore"
MAX_LINES = 2


def _long_docstrings() -> list[str]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        nodes: list[ast.AST] = [tree]
        nodes += [
            n
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
        ]
        for node in nodes:
            doc = ast.get_docstring(node, clean=True)  # type: ignore[arg-type]
            if doc is None or "Args:" in doc:  # a constructor documents every argument
                continue
            if len(doc.splitlines()) > MAX_LINES:
                name = getattr(node, "name", "module")
                found.append(f"{path.relative_to(PACKAGE.parent)}:{name}")
    return found


def test_every_docstring_is_one_or_two_lines() -> None:
    assert _long_docstrings() == []
