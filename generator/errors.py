"""One error family: every problem carries the file, line and field it is about."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """A located problem in an input file: `source:line: field: message`."""

    source: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"

    def as_dict(self) -> dict:
        """The manifest form of this problem."""
        return {"source": self.source, "line": self.line, "field": self.field, "message": self.message}


class MatchguideError(Exception):
    """Base of every error matchguide reports to its user; carries one or more problems."""

    def __init__(self, problems: Problem | list[Problem] | str):
        if isinstance(problems, str):
            problems = [Problem("matchguide", None, None, problems)]
        elif isinstance(problems, Problem):
            problems = [problems]
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InputError(MatchguideError):
    """A profile, content file, data file or template is invalid."""


class BuildError(MatchguideError):
    """The build could not run or finish (lock held, output unwritable, PDF failed)."""


class DeliveryError(MatchguideError):
    """Email or publishing failed."""

