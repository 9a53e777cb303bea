"""Events: the one reporting path. The library reports what it does; the CLI (or a test) decides how to show it.

`build`, `serve` and `email` report to the same `Reporter`; generator/console.py shows the events in a
terminal, `BufferReporter` keeps them for tests. The kinds, with their data:

- build: `start` (guides, pdf), `guide` (id, band), `kept` (id), `pdf` (id, pages), `stale` (id),
  `problem` (problem), `done` (built, problems)
- serve: `serving` (url, root, index), `changed` (paths), `rebuilt` (number, built, kept, problems),
  `build_failed` (number), `stopped`
- email: `email_start` (applicants, send), `note` (text), `message` (id, outcome, detail, to) once per
  applicant, `limited` (limit, left), `connected` (host, port, security, messages), `retry` (what, error,
  delay), `nothing_due`, `email_done`. A message's outcome is written, sent, skipped, changed, unknown,
  refused, failed, not_ready or stopped.
"""

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
