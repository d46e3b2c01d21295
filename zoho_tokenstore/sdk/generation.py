"""Which Zoho CRM SDK generation is installed: exactly one of zohocrmsdk8_0, 7_0 or 6_0 works.
All install ``zohocrmsdk``, so the package depends on none of them (docs/sdk-generations.md)."""

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

#: Supported distributions (normalized names) and the extra of this package that installs each.
EXTRAS: Final = {"zohocrmsdk8_0": "sdk8", "zohocrmsdk7_0": "sdk7", "zohocrmsdk6_0": "sdk6"}

#: Distributions named like this install ``zohocrmsdk`` (those whose top_level.txt says otherwise
#: do not: ``_installs_zohocrmsdk``).
_SDK_NAME: Final = re.compile(r"zohocrmsdk\d+_\d+")

_INSTALL_HINT: Final = (
    "install the generation your application uses with one of: "
    "pip install 'zoho-tokenstore[sdk8]' (zohocrmsdk8_0, CRM API v8), "
    "pip install 'zoho-tokenstore[sdk7]' (zohocrmsdk7_0, v7), "
    "pip install 'zoho-tokenstore[sdk6]' (zohocrmsdk6_0, v6)"
)


#: The 2.x SDK (package ``zcrmsdk``) alone is not enough: the store's core needs ``zohocrmsdk``.
_ZCRMSDK_HINT: Final = (
    "; an application on the 2.x SDK (zohocrmsdk2_1/2_0, package zcrmsdk) needs one of them "
    "beside it: pip install 'zoho-tokenstore[sdk8,sdk2_1]'"
)


class SdkGenerationWarning(UserWarning):
    """The installed Zoho SDK cannot work with the store (several generations, or an unsupported one)."""


@dataclass(frozen=True, order=True)
class SdkDistribution:
    """One installed ``zohocrmsdk*`` distribution: its normalized name and version."""

    name: str
    version: str

    @property
    def supported(self) -> bool:
        """Whether the store is built and tested for this generation."""
        return self.name in EXTRAS


def normalized_name(name: str) -> str:
    """A distribution name as pip compares them, with ``_`` for any run of ``-``, ``_`` or ``.``."""
    return re.sub(r"[-_.]+", "_", name).lower()


def sdk_distributions(path: Sequence[str] | None = None) -> list[SdkDistribution]:
    """The ``zohocrmsdk*`` distributions installed on ``path`` (default ``sys.path``), sorted."""
    found: dict[str, SdkDistribution] = {}
    dists: Iterable[importlib.metadata.Distribution] = (
        importlib.metadata.distributions()
        if path is None
        else importlib.metadata.distributions(path=list(path))
    )
    for dist in dists:
        name = normalized_name(dist.metadata["Name"] or "")
        if _SDK_NAME.fullmatch(name) and _installs_zohocrmsdk(dist):
            found.setdefault(name, SdkDistribution(name, dist.version))
    return sorted(found.values())


def _installs_zohocrmsdk(dist: importlib.metadata.Distribution) -> bool:
    """Whether ``dist``'s top-level package is ``zohocrmsdk``: zohocrmsdk2_1 and 2_0 install
    ``zcrmsdk`` instead (the ``zoho_tokenstore.zcrmsdk`` store), so they can sit beside one."""
    top_level = (dist.read_text("top_level.txt") or "").split()
    return not top_level or "zohocrmsdk" in top_level


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
            f"{names} is not supported by zoho-tokenstore (it calls the token store differently); "
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
    "SdkDistribution",
    "SdkGenerationWarning",
    "installed_sdk_distributions",
    "installed_sdk_problem",
    "normalized_name",
    "require_sdk",
    "sdk_distributions",
    "sdk_problem",
]
