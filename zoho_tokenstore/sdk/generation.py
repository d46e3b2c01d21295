"""Which Zoho CRM SDK generation is installed: exactly one of the ``zohocrmsdk`` generations in
``GENERATIONS`` works; the package depends on none of them (docs/sdk-generations.md)."""

from __future__ import annotations

# Standard library only: this runs before anything imports zohocrmsdk.
import functools
import importlib.metadata
import importlib.util
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

#: The import package of the generations this store serves (``SQLAlchemyTokenStore``).
ZOHOCRMSDK: Final = "zohocrmsdk"


@dataclass(frozen=True)
class Generation:
    """One Zoho CRM SDK distribution on PyPI: the package it installs, its CRM API version and
    the extra of this package that installs it (``None``: not served)."""

    distribution: str
    import_package: str
    api_version: str
    extra: str | None


#: Every Zoho CRM Python SDK distribution on PyPI (normalized names), newest first: the one table.
GENERATIONS: Final = (
    Generation("zohocrmsdk8_0", ZOHOCRMSDK, "v8", "sdk8"),
    Generation("zohocrmsdk7_0", ZOHOCRMSDK, "v7", "sdk7"),
    Generation("zohocrmsdk6_0", ZOHOCRMSDK, "v6", "sdk6"),
    Generation("zohocrmsdk5_0", ZOHOCRMSDK, "v5", "sdk5"),
    Generation("zohocrmsdk2_1", "zcrmsdk", "v2.1", "sdk2_1"),  # zoho_tokenstore.zcrmsdk
    Generation("zohocrmsdk2_0", "zcrmsdk", "v2", "sdk2_0"),
    Generation("zcrmsdk", "zcrmsdk", "v2", None),  # the archived 3.x SDK: out of scope
)

_BY_NAME: Final = {generation.distribution: generation for generation in GENERATIONS}

#: Supported ``zohocrmsdk`` distributions and the extra of this package that installs each.
EXTRAS: Final = {
    g.distribution: g.extra for g in GENERATIONS if g.import_package == ZOHOCRMSDK and g.extra
}

#: A name like this that ``GENERATIONS`` does not know (a future generation) installs ``zohocrmsdk``.
_SDK_NAME: Final = re.compile(r"zohocrmsdk\d+_\d+")

_INSTALL_HINT: Final = "install the generation your application uses with one of: " + ", ".join(
    f"pip install 'zoho-tokenstore[{g.extra}]' ({g.distribution}, CRM API {g.api_version})"
    for g in GENERATIONS
    if g.distribution in EXTRAS
)


#: The 2.x SDK (package ``zcrmsdk``) alone is not enough: the store's core needs ``zohocrmsdk``.
_ZCRMSDK_HINT: Final = (
    "; an application on the 2.x SDK (zohocrmsdk2_1/2_0, package zcrmsdk) needs one of them "
    "beside it: pip install 'zoho-tokenstore[sdk8,sdk2_1]'"
)


def import_package(distribution: str) -> str | None:
    """The top-level package a Zoho SDK distribution (normalized name) installs; ``None``: not an SDK."""
    known = _BY_NAME.get(distribution)
    if known is not None:
        return known.import_package
    return ZOHOCRMSDK if _SDK_NAME.fullmatch(distribution) else None


class SdkGenerationWarning(UserWarning):
    """The installed Zoho SDK cannot work with the store (several generations, or an unsupported one)."""


@dataclass(frozen=True, order=True)
class SdkDistribution:
    """One installed Zoho SDK distribution: its normalized name and version."""

    name: str
    version: str

    @property
    def supported(self) -> bool:
        """Whether the store is built and tested for this generation."""
        return self.name in EXTRAS


def normalized_name(name: str) -> str:
    """A distribution name as pip compares them, with ``_`` for any run of ``-``, ``_`` or ``.``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def sdk_distributions(
    path: Sequence[str] | None = None, package: str = ZOHOCRMSDK
) -> list[SdkDistribution]:
    """The SDK distributions installing ``package`` on ``path`` (default ``sys.path``), sorted."""
    found: dict[str, SdkDistribution] = {}
    dists: Iterable[importlib.metadata.Distribution] = (
        importlib.metadata.distributions()
        if path is None
        else importlib.metadata.distributions(path=list(path))
    )
    for dist in dists:
        name = normalized_name(dist.metadata["Name"] or "")
        if import_package(name) == package and _top_level_has(dist, package):
            found.setdefault(name, SdkDistribution(name, dist.version))
    return sorted(found.values())


def _top_level_has(dist: importlib.metadata.Distribution, package: str) -> bool:
    """Whether ``dist``'s top_level.txt lists ``package`` (or is absent): the installed files
    have the last word over ``GENERATIONS``."""
    top_level = (dist.read_text("top_level.txt") or "").split()
    return not top_level or package in top_level


@functools.lru_cache(maxsize=1)
def installed_sdk_distributions() -> tuple[SdkDistribution, ...]:
    """``sdk_distributions()`` of this process, read once (``cache_clear()`` to read again)."""
    return tuple(sdk_distributions())


def sdk_problem(distributions: Sequence[SdkDistribution], *, importable: bool = True) -> str | None:
    """Why the store cannot run with these SDK distributions, or ``None`` if it can; ``importable``:
    whether ``zohocrmsdk`` imports at all (an SDK copied in without metadata is accepted)."""
    names = ", ".join(f"{d.name} {d.version}" for d in distributions)
    if len(distributions) > 1:
        return (
            f"{len(distributions)} Zoho CRM SDK distributions are installed ({names}). They all "
            "install the package `zohocrmsdk`, so their files overwrite each other and neither "
            "works reliably. Keep only the one your application uses: pip uninstall -y "
            + " ".join(d.name for d in distributions)
            + ", then install that one again"
        )
    if distributions and not distributions[0].supported:
        return (
            f"{names} is not supported by zoho-tokenstore (not a generation it is built and tested for); "
            + _INSTALL_HINT
        )
    if not distributions and not importable:
        return (
            "zoho-tokenstore needs the Zoho CRM Python SDK, and none is installed: "
            + _INSTALL_HINT
            + _ZCRMSDK_HINT
        )
    return None


def installed_sdk_problem() -> str | None:
    """``sdk_problem`` for this process's environment."""
    importable = importlib.util.find_spec("zohocrmsdk") is not None
    return sdk_problem(installed_sdk_distributions(), importable=importable)


def require_sdk() -> None:
    """At import: fail with install lines if no SDK is installed; only warn if it cannot work, so
    the command line still starts to diagnose it (constructing a store raises: ``check_sdk``)."""
    problem = installed_sdk_problem()
    if problem is None:
        return
    if importlib.util.find_spec("zohocrmsdk") is None:
        raise ImportError(problem)
    warnings.warn(problem, SdkGenerationWarning, stacklevel=3)


__all__ = [
    "EXTRAS",
    "GENERATIONS",
    "ZOHOCRMSDK",
    "Generation",
    "SdkDistribution",
    "SdkGenerationWarning",
    "import_package",
    "installed_sdk_distributions",
    "installed_sdk_problem",
    "normalized_name",
    "require_sdk",
    "sdk_distributions",
    "sdk_problem",
]
