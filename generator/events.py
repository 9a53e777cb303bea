"""Build events: the library reports what it does; the CLI (or a test) decides how to show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class Reporter:
    """Receives build events; the base class ignores them."""

    def event(self, kind: str, **data: Any) -> None:
        """One event, e.g. `guide` (id=..., pages=...) or `problem` (problem=...)."""


@dataclass
class BufferReporter(Reporter):
    """Records events, for tests."""

    events: list[tuple[str, dict]] = field(default_factory=list)

    def event(self, kind: str, **data: Any) -> None:
        self.events.append((kind, data))

    def kinds(self, kind: str) -> list[dict]:
        """The data of every event of one kind."""
        return [data for k, data in self.events if k == kind]
