"""Records the SQL statements a store runs, for round-trip assertions (the ``statements`` fixture)."""

from __future__ import annotations


class StatementLog:
    """The SQL statements an engine executed while recording, for round-trip assertions."""

    def __init__(self) -> None:
        self.statements: list[str] = []
        self.recording = False

    def record(self, *args: object) -> None:
        """A ``before_cursor_execute`` listener."""
        if self.recording:
            self.statements.append(str(args[2]))
