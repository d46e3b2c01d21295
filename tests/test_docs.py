"""The docs keep up with the code: every CLI command and option is documented in docs/cli.md, each
in its command's section, and every relative link in the README and docs/ leads somewhere that exists."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from zoho_tokenstore.cli import build_parser

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PAGES = [REPO / "README.md", *sorted(DOCS.glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")

pytestmark = pytest.mark.sqlite  # no database: runs with the quick selection


def _commands(
    parser: argparse.ArgumentParser, prefix: str = "zoho-tokenstore"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """Every command (``zoho-tokenstore tokens``, and deeper levels if any) with its parser."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield f"{prefix} {name}", sub
                yield from _commands(sub, f"{prefix} {name}")


def _options(parser: argparse.ArgumentParser) -> list[str]:
    return [
        option
        for action in parser._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    ]


def _cli_sections() -> dict[str, str]:
    """docs/cli.md's ``##`` sections by heading, backticks dropped (``## `--version` `` is ``--version``)."""
    page = (DOCS / "cli.md").read_text(encoding="utf-8")
    parts = re.split(r"^## (.+)$", page, flags=re.MULTILINE)
    return {
        heading.strip().strip("`"): body
        for heading, body in zip(parts[1::2], parts[2::2], strict=True)
    }


def _mentions(text: str, option: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", text) is not None


def test_every_command_and_option_is_documented_in_its_own_section_of_cli_md() -> None:
    """From the parser, so a new command or option fails here until docs/cli.md describes it."""
    parser = build_parser()
    sections = _cli_sections()
    commands = dict(_commands(parser))
    assert len(commands) >= 13
    undocumented = [
        f"--help section {option}" for option in _options(parser) if option not in sections
    ]
    for command, sub in commands.items():
        name = command.removeprefix("zoho-tokenstore ")
        section = sections.get(name)
        if section is None:
            undocumented.append(f"## {name}")
            continue
        if command not in section:  # an example of the command itself
            undocumented.append(f"{command} (no example)")
        undocumented += [f"{command} {o}" for o in _options(sub) if not _mentions(section, o)]
    assert undocumented == []


def test_the_top_level_options_have_a_section_with_their_command_line() -> None:
    sections = _cli_sections()
    for option in _options(build_parser()):
        assert f"zoho-tokenstore {option}" in sections[option]


def test_the_exit_statuses_in_help_are_the_documented_ones() -> None:
    """The code's one table of statuses is what ``--help`` renders and what docs/cli.md lists."""
    from zoho_tokenstore.cli.common import EXIT_STATUS_HELP, EXIT_STATUSES

    statuses = [str(status) for status, _ in EXIT_STATUSES]
    assert len(set(statuses)) == len(statuses) and "0" in statuses
    assert re.findall(r"^  (\d+) ", EXIT_STATUS_HELP, re.MULTILINE) == statuses
    cli_page = (DOCS / "cli.md").read_text(encoding="utf-8")
    section = cli_page.split("## Exit statuses", 1)[1].split("\n## ", 1)[0]
    assert re.findall(r"^\| (\d+) \| ", section, re.MULTILINE) == statuses


def _anchors(page: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces as hyphens."""
    headings = re.findall(r"^#+ (.+)$", page.read_text(encoding="utf-8"), re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_relative_link_resolves() -> None:
    broken = []
    for page in PAGES:
        for target in LINK.findall(page.read_text(encoding="utf-8")):
            if re.match(r"[a-z]+:", target):
                continue  # https:, mailto:
            path_part, _, anchor = target.partition("#")
            resolved = (page.parent / path_part).resolve() if path_part else page
            if not resolved.exists():
                broken.append(f"{page.relative_to(REPO)}: {target}")
                continue
            if anchor and resolved.suffix == ".md" and anchor not in _anchors(resolved):
                broken.append(f"{page.relative_to(REPO)}: {target} (no such heading)")
    assert broken == []


def test_the_readme_stays_a_front_page() -> None:
    """What it is, install, the two commands, a quickstart and the map; the reference is in docs/."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for heading in (
        "## Two commands",
        "## Install",
        "## Quickstart with the SDK",
        "## Documentation",
    ):
        assert heading in readme
    assert "make demo" in readme and "make test" in readme
    linked = {Path(target).name for target in LINK.findall(readme) if target.startswith("docs/")}
    assert {page.name for page in DOCS.glob("*.md")} <= linked  # every page is on the map
    assert len(readme.encode()) < 10_000


def test_every_make_target_a_skip_asks_for_is_in_the_readme() -> None:
    """A skip that says "run `make X` first" sends the reader to a README that mentions ``make X``."""
    asked = {
        target
        for test in (REPO / "tests").glob("*.py")
        for target in re.findall(r"run `make ([a-z0-9-]+)` first", test.read_text(encoding="utf-8"))
    }
    assert asked  # the SDK-generation tests ask for `make sdk-venvs`
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert {target for target in asked if f"make {target}" not in readme} == set()
