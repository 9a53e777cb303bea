"""One error family: every problem carries the file, line and field it is about."""

from __future__ import annotations

import re
from dataclasses import dataclass

# What would break the one-line `path:line: field: message` shape, or reorder it on screen: C0 and C1 controls,
# line and paragraph separators, bidi embeddings, overrides and isolates. Shown as `\n`, `\t` or `\u202e`.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def printable(text: str) -> str:
    """`text` with every control, line-separator and bidi character escaped, so it prints on one line as is."""
    return _UNPRINTABLE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), text)


@dataclass(frozen=True, order=True)
class Problem:
    """A located problem in an input file: `source:line: field: message`."""

    source: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        source, message = printable(self.source), printable(self.message)
        where = source if self.line is None else f"{source}:{self.line}"
        return f"{where}: {printable(self.field)}: {message}" if self.field else f"{where}: {message}"

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

