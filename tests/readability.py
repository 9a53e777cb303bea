"""Plain-language check: Flesch-Kincaid grade of the guide's prose under content/.

Run `python -m tests.readability [content_dir]` for a per-file report; it exits
non-zero when the word-weighted grade is above MAX_MEAN_GRADE or one file is
above MAX_FILE_GRADE. The test in tests/test_readability.py uses the same code.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator
from unittest import mock

import textstat
import yaml

MAX_MEAN_GRADE = 9.0
MAX_FILE_GRADE = 11.0
CONTENT_KINDS = ("sections", "examples", "faq")
# Front matter fields that readers see as text.
VISIBLE_FIELDS = ("title", "question")
# What a printed value `{{ ... }}` counts as: one short word.
PLACEHOLDER = "it"

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n---[ \t]*(?:\n|\Z)", re.DOTALL)
_JINJA_COMMENT = re.compile(r"\{#.*?#\}", re.DOTALL)
_JINJA_TAG = re.compile(r"\{%.*?%\}", re.DOTALL)
_JINJA_EXPR = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?[\s:|-]+\|?\s*$")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|`)")
_END = (".", "!", "?")


@dataclass(frozen=True)
class FileScore:
    """The readability of one content file."""

    path: Path
    words: int
    grade: float


def split_front_matter(text: str) -> tuple[dict, str]:
    """Return (front matter mapping, body) of a content file."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    meta = yaml.safe_load(match.group(1)) or {}
    return (meta if isinstance(meta, dict) else {}), text[match.end():]


def _sentence(unit: str) -> str:
    """Inline Markdown removed; ends with a full stop, as a reader takes it."""
    unit = _LINK.sub(r"\1", unit)
    unit = _EMPHASIS.sub("", unit).replace("\\", "").strip()
    if not unit:
        return ""
    if not unit.endswith(_END):
        unit = unit.rstrip(":;,") + "."
    return unit


def prose(body: str) -> str:
    """The reader-visible prose of a Markdown+Jinja body, one unit per line.

    Jinja tags go, printed values become one short word, and each heading, list
    item, table cell and paragraph becomes a sentence of its own. Every branch
    of an `{% if %}` is kept: the file is measured as its author wrote it.
    """
    text = _JINJA_COMMENT.sub("", body)
    text = _JINJA_TAG.sub("", text)
    text = _JINJA_EXPR.sub(PLACEHOLDER, text)
    units: list[str] = []
    current: list[str] = []

    def flush() -> None:
        if current:
            units.append(" ".join(current))
            current.clear()

    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith(":::"):
            flush()
            continue
        if stripped.startswith("|"):
            flush()
            if not _TABLE_SEPARATOR.match(stripped):
                units.extend(cell for cell in stripped.strip("|").split("|"))
            continue
        if _HEADING.match(line):
            flush()
            units.append(_HEADING.sub("", line))
            continue
        if _LIST_ITEM.match(line):
            flush()
            current.append(_LIST_ITEM.sub("", line).strip())
            continue
        current.append(stripped)
    flush()
    return "\n".join(s for s in (_sentence(u) for u in units) if s)


@contextmanager
def _pyphen_syllables() -> Iterator[None]:
    """Count syllables with pyphen, textstat's own fallback, so no download is needed.

    textstat 0.7.6+ looks words up in NLTK's cmudict, which it fetches from the
    network on first use; offline that fails. Forcing the lookup to None makes
    every machine use the same offline counter.
    """
    target = "textstat.backend.counts._count_syllables"
    if importlib.util.find_spec(target) is None:  # older 0.7.x: pyphen only already
        yield
        return
    with mock.patch(f"{target}.get_cmudict", return_value=None):
        yield


def score_text(path: Path, text: str) -> FileScore:
    """Word count and FK grade of one content file's text."""
    meta, body = split_front_matter(text)
    parts = [_sentence(str(meta[key])) for key in VISIBLE_FIELDS if meta.get(key)]
    parts.append(prose(body))
    plain = "\n".join(p for p in parts if p)
    with _pyphen_syllables():
        words = textstat.lexicon_count(plain)
        grade = float(textstat.flesch_kincaid_grade(plain)) if words else 0.0
    return FileScore(path, words, grade)


def content_files(content_dir: Path) -> list[Path]:
    """The Markdown files of sections, examples and FAQ, in a stable order."""
    return [p for kind in CONTENT_KINDS for p in sorted((content_dir / kind).glob("*.md"))]


def score_tree(content_dir: Path) -> list[FileScore]:
    """Score every content file under `content_dir`."""
    return [score_text(p, p.read_text(encoding="utf-8")) for p in content_files(content_dir)]


def weighted_grade(scores: list[FileScore]) -> float:
    """The word-weighted mean FK grade over files (0.0 when there are no words)."""
    total = sum(s.words for s in scores)
    return sum(s.grade * s.words for s in scores) / total if total else 0.0


def problems(scores: list[FileScore]) -> list[str]:
    """What breaks the plain-language limits; empty when all is well."""
    found = [f"{s.path}: grade {s.grade:.1f} is above {MAX_FILE_GRADE}" for s in scores if s.grade > MAX_FILE_GRADE]
    mean = weighted_grade(scores)
    if mean > MAX_MEAN_GRADE:
        found.append(f"word-weighted grade {mean:.2f} is above {MAX_MEAN_GRADE}")
    if not scores:
        found.append("no content files found")
    return found


def report(scores: list[FileScore], root: Path | None = None) -> str:
    """A per-file table: grade, words, path; then the weighted mean."""
    lines = [f"{'grade':>6} {'words':>6}  file"]
    for s in scores:
        name = s.path.relative_to(root) if root else s.path
        lines.append(f"{s.grade:6.1f} {s.words:6d}  {name}")
    total = sum(s.words for s in scores)
    lines.append(f"{weighted_grade(scores):6.2f} {total:6d}  word-weighted mean (limit {MAX_MEAN_GRADE}, per file {MAX_FILE_GRADE})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Print the report for a content folder; return 1 when a limit is broken."""
    args = sys.argv[1:] if argv is None else argv
    content_dir = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "content"
    scores = score_tree(content_dir)
    print(report(scores, content_dir))
    found = problems(scores)
    for problem in found:
        print(f"readability: {problem}", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
