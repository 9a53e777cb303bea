"""The spreadsheet columns of a cohort: which profile field each holds, and how a cell is read and written.

`matchguide import` reads cells with `read_cell`, `matchguide export` writes them
with `write_cell`; the two are inverses for every value a valid profile holds,
so a cohort exported and imported again is unchanged.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from generator.errors import Problem
from generator.authoring.scaffold import Plain


def _fields(block: str | None = None, prefix: str = "", **kinds: str) -> dict[str, tuple[tuple[str, ...], str]]:
    """Columns for the fields of one profile block (None: the top level), each named `prefix` + its field."""
    return {prefix + name: ((block, name) if block else (name,), kind) for name, kind in kinds.items()}


# column -> (where it goes in the profile, how its text is read), in the order export writes them
COLUMNS = {
    **_fields(id="text", name="text", email="text", graduation_year="integer", cycle="integer"),
    **_fields("step1", "step1_", result="choice", attempts="integer", score="integer"),
    **_fields("step2_ck", "step2_", result="choice", score="integer", attempts="integer", exam_date="date"),
    **_fields("step2_ck", practice="practice", qbank_percent="number"),
    **_fields(visa="choice", in_medical_school="boolean", usce_months="number", us_lors="integer",
              research_items="integer", target="choice", oet_passed="boolean", ecfmg_certified="boolean"),
    **_fields(advisor="text", notes="text", country="text", medical_school="text"),
}
REQUIRED_COLUMNS = ("id", "name", "email", "graduation_year", "step1_result", "step1_attempts")
ALIASES = {"school": "medical_school"}  # names advisors use for a column we know
COLUMN_OF = {path: column for column, (path, _) in COLUMNS.items()}
# A column whose name is this close to a real one is a typo, and its values would be lost: stop.
_TYPO_CUTOFF = 0.8

_INTEGER = re.compile(r"[-+]?[0-9]+(?:\.0*)?")  # `238.0`, as some spreadsheets export integers, is 238
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_DECIMAL_COMMA = re.compile(r"[0-9]+,[0-9]+")  # `4,5` in a `;`-separated file from a European Excel
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}
# A cell starting like a formula runs as one when a spreadsheet opens the file (CSV injection):
# export writes it behind a `'`, and import takes that `'` away again.
_FORMULA_START = re.compile(r"'*[=+\-@\t\r]")


@dataclass
class Header:
    """The header row read: each position's column (None: not imported) and what was said about it."""

    columns: list[str | None]
    problems: list[Problem] = field(default_factory=list)  # stop the import: nothing is written
    warnings: list[Problem] = field(default_factory=list)  # reported once; the import goes on


def normal(name: str) -> str:
    """A header cell as a column name: not case-sensitive; spaces and hyphens are underscores."""
    return re.sub(r"[\s-]+", "_", name.strip().lower())


def read_header(cells: list[str], where: str) -> Header:
    """Check the header row: required columns, repeats, typos (problems) and columns we do not import (warnings)."""
    header = Header([])
    ignored: list[str] = []
    for cell in cells:
        name = normal(cell)
        column = ALIASES.get(name, name)
        if not name:
            header.columns.append("")  # a trailing empty column, as spreadsheets export; a value under it is a row problem
        elif column in COLUMNS:
            if column in header.columns:
                header.problems.append(Problem(where, None, cell.strip(), "column appears twice"))
            header.columns.append(column)
        else:
            near = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=_TYPO_CUTOFF)
            if near:
                header.problems.append(Problem(where, None, cell.strip(), f"unknown column; did you mean '{near[0]}'? "
                                               "(its values would be lost)"))
            ignored.append(cell.strip())
            header.columns.append(None)
    for column in REQUIRED_COLUMNS:
        if column not in header.columns:
            header.problems.append(Problem(where, None, column, "required column is missing"))
    typos = {p.field for p in header.problems}
    ignored = [name for name in ignored if name not in typos]
    if ignored:
        header.warnings.append(Problem(where, None, ", ".join(ignored),
                                       f"{'column is' if len(ignored) == 1 else 'columns are'} not imported "
                                       f"(not a profile field); the columns read are: {', '.join(COLUMNS)}"))
    if header.problems:
        header.problems.append(Problem(where, None, None, f"the columns read are: {', '.join(COLUMNS)} "
                                       f"(required: {', '.join(REQUIRED_COLUMNS)}); see docs/advisors.md"))
    return header


def read_cell(column: str, text: str, *, decimal_comma: bool = False) -> tuple[Any, str | None]:
    """A stripped, non-empty cell as a profile value (left as text when unclear: the loader says why), or a message."""
    kind = COLUMNS[column][1]
    if kind == "practice":
        return _practice(text)
    if decimal_comma and kind in ("integer", "number") and _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    if kind == "text" and _FORMULA_START.match(text) and text.startswith("'"):
        text = text[1:]
    return _READERS[kind](text), None


def write_cell(value: Any) -> str:
    """A profile value as the cell text `read_cell` reads back as the same value."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return "; ".join(" ".join(str(part) for part in (write_cell(e.get("date")), e.get("name"), e.get("score"))
                                  if part is not None) for e in value)
    text = str(value)
    return "'" + text if _FORMULA_START.match(text) else text


def _integer(text: str) -> Any:
    if _INTEGER.fullmatch(text):
        return int(float(text)) if "." in text else int(text)
    return _number(text)


def _number(text: str) -> Any:
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    return text  # left as text: the loader reports it with its own message


def _boolean(text: str) -> Any:
    low = text.lower()
    return True if low in _TRUE else False if low in _FALSE else text


def _date(text: str) -> Any:
    if _DATE.fullmatch(text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return Plain(text)  # shaped like a date, not a real one: the YAML layer says so
    return text


_READERS: dict[str, Callable[[str], Any]] = {
    "text": lambda text: text,
    "choice": str.lower,
    "integer": _integer,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
}


def _practice(text: str) -> tuple[list[dict], str | None]:
    """`2027-03-01 NBME 13 224; 2027-04-01 UWSA2 231` -> practice entries, or a message."""
    entries = []
    for index, entry in enumerate((e.strip() for e in text.split(";") if e.strip()), start=1):
        parts = entry.split()
        if len(parts) < 2:
            return [], f"entry {index} '{entry}': expected 'YYYY-MM-DD [name] score', e.g. '2027-03-01 NBME 13 224'"
        item: dict[str, Any] = {"date": _date(parts[0])}
        if len(parts) > 2:
            item["name"] = " ".join(parts[1:-1])
        item["score"] = _integer(parts[-1])
        entries.append(item)
    return entries, None


def practice_round_trips(entries: list[dict]) -> bool:
    """True when every practice name survives the `;`-separated cell (no `;`, no line break, not blank)."""
    return all(" ".join(str(e.get("name", "x")).split()) == e.get("name", "x") and ";" not in str(e.get("name", ""))
               for e in entries)
