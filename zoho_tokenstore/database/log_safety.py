"""Keeps tokens out of SQLAlchemy's engine log, even when an application logs everything at DEBUG.

``hide_parameters=True`` hides bound values, but at DEBUG (``echo="debug"`` or a ``sqlalchemy.engine``
logger set to DEBUG) SQLAlchemy also logs every result row as ``Row (...)``: for this table, every
stored token in clear. Our engines log statements (INFO) as configured, but never rows.

Reach-in: SQLAlchemy has no public switch for row logging, and a ``logging.Filter`` on the logger
an engine shares with the application's could not tell the store's rows from the application's
without changing their text (``logging_token``); so the store's engines get their own
``sqlalchemy.log.InstanceLogger`` (what ``echo`` sets as ``engine.logger``) with DEBUG shut off.
"""

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
