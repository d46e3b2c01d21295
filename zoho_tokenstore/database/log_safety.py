"""Keeps tokens out of SQLAlchemy's engine log: the store's engines never log result rows, even
at DEBUG where SQLAlchemy logs each one; a reach-in (docs/sdk-generations.md lists why)."""

from __future__ import annotations

import logging
from typing import Any, Literal, TypeAlias

from sqlalchemy import Engine
from sqlalchemy.log import InstanceLogger

#: The values of ``create_engine(echo=...)`` and ``Engine.echo``.
EchoFlag: TypeAlias = bool | Literal["debug"] | None


class RowlessEngineLogger(InstanceLogger):
    """SQLAlchemy's per-engine logger with its DEBUG level, where result rows are logged, shut off."""

    __slots__ = ()

    def __init__(self, echo: EchoFlag, logger: logging.Logger) -> None:
        # Not InstanceLogger.__init__: for echo=None it would attach a stdout handler of its own.
        self.echo = echo
        self.logger = logger

    def log(self, level: int, msg: str, *args: Any, **kwargs: Any) -> None:
        if level > logging.DEBUG:
            super().log(level, msg, *args, **kwargs)

    def getEffectiveLevel(self) -> int:  # logging's camelCase name
        return max(super().getEffectiveLevel(), logging.INFO)


def hide_result_rows(engine: Engine) -> Engine:
    """Make ``engine`` (or an ``execution_options`` copy of it) never log result rows; returns it."""
    current = engine.logger
    if not isinstance(current, RowlessEngineLogger):
        inner = current.logger if isinstance(current, InstanceLogger) else current
        engine.logger = RowlessEngineLogger(engine.echo, inner)
    return engine
