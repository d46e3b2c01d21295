"""Print pip constraints pinning every dependency pyproject.toml declares to its declared floor.

CI installs the package with these (`make test-floors`), so a `>=` bound is a tested claim."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import tomllib

#: "name[extras] >=1.2, <2" -> name and the floor; pip constraints take no extras.
REQUIREMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(?P<spec>.*)$"
)
FLOOR = re.compile(r">=\s*(?P<version>[0-9][0-9A-Za-z.]*)")


def floors(pyproject: Path) -> dict[str, str]:
    """Each declared requirement's name and its `>=` floor; exits if one declares none."""
    project = tomllib.loads(pyproject.read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements.extend(extra)
    pinned: dict[str, str] = {}
    for requirement in requirements:
        match = REQUIREMENT.match(requirement)
        if match is None:
            sys.exit(f"cannot read requirement {requirement!r}")
        name = match["name"].lower().replace("_", "-")
        if name == project["name"]:
            continue  # an extra naming other extras of this package
        floor = FLOOR.search(match["spec"])
        if floor is None:
            sys.exit(f"{requirement!r} declares no floor (>=): CI can only test declared floors")
        if pinned.setdefault(name, floor["version"]) != floor["version"]:
            sys.exit(f"{name} has two floors: {pinned[name]} and {floor['version']}")
    return pinned


if __name__ == "__main__":
    for name, version in sorted(
        floors(Path(__file__).resolve().parent.parent / "pyproject.toml").items()
    ):
        print(f"{name}=={version}")
