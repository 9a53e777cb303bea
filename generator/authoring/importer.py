"""`matchguide import`: an advisor's spreadsheet (CSV, one row per applicant) -> profiles/<id>.yaml.

Each row becomes profile YAML (generator.authoring.scaffold writes it) that is checked by
the profile loader itself, so an imported profile obeys exactly the rules of a
hand-written one. A row with any problem writes nothing; the other rows are
still written. Problems name the CSV row (the header is row 1) and column.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from generator.load.ids import ID_RE
from generator.errors import InputError, Problem
from generator.load.profiles import ROOT_FIELDS, STEP1_FIELDS, STEP2_FIELDS
from generator.authoring.scaffold import Plain, check_text, dump, write_profile

# column -> (where it goes in the profile, how its text is read)
COLUMNS: dict[str, tuple[tuple[str, ...], str]] = {
    "id": (("id",), "text"),
    "name": (("name",), "text"),
    "email": (("email",), "text"),
    "graduation_year": (("graduation_year",), "integer"),
    "cycle": (("cycle",), "integer"),
    "step1_result": (("step1", "result"), "choice"),
    "step1_attempts": (("step1", "attempts"), "integer"),
    "step1_score": (("step1", "score"), "integer"),
    "step2_result": (("step2_ck", "result"), "choice"),
    "step2_score": (("step2_ck", "score"), "integer"),
    "step2_attempts": (("step2_ck", "attempts"), "integer"),
    "step2_exam_date": (("step2_ck", "exam_date"), "date"),
    "practice": (("step2_ck", "practice"), "practice"),
    "qbank_percent": (("step2_ck", "qbank_percent"), "number"),
    "visa": (("visa",), "choice"),
    "in_medical_school": (("in_medical_school",), "boolean"),
    "usce_months": (("usce_months",), "number"),
    "us_lors": (("us_lors",), "integer"),
    "research_items": (("research_items",), "integer"),
    "target": (("target",), "choice"),
    "oet_passed": (("oet_passed",), "boolean"),
    "ecfmg_certified": (("ecfmg_certified",), "boolean"),
    "advisor": (("advisor",), "text"),
    "notes": (("notes",), "text"),
}
REQUIRED_COLUMNS = ("id", "name", "email", "graduation_year", "step1_result", "step1_attempts")
# A loader problem's field -> the column it came from.
_COLUMN_OF = {".".join(path): column for column, (path, _) in COLUMNS.items()} | {
    "step1": "step1_result",
    "step2_ck": "step2_result",
}
_PRACTICE_FIELD = re.compile(r"step2_ck\.practice\[(\d+)\](?:\.(\w+))?")
_YAML_HINTS = ("; remove the quotes", "; quote it if it is meant as text")
_INTEGER = re.compile(r"[-+]?[0-9]+(?:\.0*)?")  # `238.0`, as some spreadsheets export integers, is 238
_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}
MAX_BYTES = 16 * 1024 * 1024


@dataclass
class ImportResult:
    """What an import did: the profiles written (row, path) and every problem, by row and column."""

    written: list[tuple[int, Path]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        """True when every row was written."""
        return not self.problems


def import_csv(
    csv_path: Path,
    directory: Path,
    *,
    default_cycle: int,
    passing_standard: Callable[[dt.date], int],
    as_of: dt.date,
    overwrite: bool = False,
    source: str | None = None,
) -> ImportResult:
    """Write `<directory>/<id>.yaml` for every valid row; raise InputError when the file itself is unusable."""
    source = source or str(csv_path)
    header, rows = read_rows(csv_path, source)
    result = ImportResult()
    seen: dict[str, int] = {}
    for number, cells in rows:
        result.rows += 1
        where = f"{source}:row {number}"
        data, problems = row_profile(header, cells, where)
        applicant_id = data.get("id")
        first = seen.setdefault(applicant_id, number) if isinstance(applicant_id, str) else number
        if first != number:
            problems.append(Problem(where, None, "id", f"'{applicant_id}' is already used by row {first}"))
        elif isinstance(applicant_id, str) and ID_RE.match(applicant_id) and not overwrite:
            existing = directory / f"{applicant_id}.yaml"
            if existing.exists():
                problems.append(Problem(where, None, "id", f"{existing} already exists; use --overwrite to replace it"))
        if problems:
            result.problems += problems + _other_problems(data, problems, number, where, default_cycle,
                                                          passing_standard, as_of)
            continue
        text = dump(data, header=[f"Imported by `matchguide import` from {Path(source).name}, row {number}."])
        try:
            _, path = write_profile(directory, applicant_id, text, source=where, overwrite=overwrite,
                                    default_cycle=default_cycle, passing_standard=passing_standard, as_of=as_of)
        except InputError as exc:
            result.problems += [_located(p, where) for p in exc.problems]
            continue
        result.written.append((number, path))
    return result


def _other_problems(data: dict, found: list[Problem], number: int, where: str, default_cycle: int,
                    passing_standard: Callable[[dt.date], int], as_of: dt.date) -> list[Problem]:
    """What the loader says about the rest of a row that already failed, so one pass shows every problem."""
    probe = {**data, "id": data.get("id", f"row-{number}")}
    try:
        check_text(dump(_ordered(probe)), source=where, default_cycle=default_cycle, passing_standard=passing_standard,
                   as_of=as_of)
    except InputError as exc:
        reported = {p.field for p in found}
        return [p for p in map(lambda q: _located(q, where), exc.problems) if p.field not in reported]
    return []


def import_file(csv_path: Path, directory: Path, *, content: Path = Path("content"), as_of: dt.date | None = None,
                cycle: int | None = None, overwrite: bool = False) -> ImportResult:
    """Import a CSV file with the site's strategy data (passing standard) and cycle, as `build` would use them."""
    from generator.project import default_cycle, display
    from generator.load.strategy import load_strategy

    as_of = as_of or dt.date.today()
    data = content / "data" / "strategy.yaml"
    strategy = load_strategy(data, display(data))
    return import_csv(csv_path, directory, default_cycle=cycle or default_cycle(strategy, as_of),
                      passing_standard=strategy.standard_on, as_of=as_of, overwrite=overwrite, source=str(csv_path))


def read_rows(csv_path: Path, source: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The checked header and every non-blank row with its number (the header is row 1)."""
    try:
        raw = Path(csv_path).read_bytes()
    except OSError as exc:
        raise InputError(Problem(source, None, None, f"cannot read the file: {exc.strerror or exc}")) from None
    if len(raw) > MAX_BYTES:
        raise InputError(Problem(source, None, None, f"file is larger than {MAX_BYTES} bytes"))
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        message = f"not UTF-8 text (byte {exc.start}); save it as 'CSV UTF-8'"
        raise InputError(Problem(source, None, None, message)) from None
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    except csv.Error as exc:
        raise InputError(Problem(source, None, None, f"not a readable CSV file: {exc}")) from None
    if not records or not any(cell.strip() for cell in records[0]):
        message = f"no header row; expected columns such as {', '.join(REQUIRED_COLUMNS)}"
        raise InputError(Problem(source, 1, None, message))
    header = [cell.strip().lower() for cell in records[0]]
    _check_header(header, f"{source}:row 1")
    rows = [(number, cells) for number, cells in enumerate(records[1:], start=2) if any(c.strip() for c in cells)]
    return header, rows


def _check_header(header: list[str], where: str) -> None:
    problems = []
    for index, column in enumerate(header):
        if not column:
            continue  # a trailing empty column, as spreadsheets often export; a value under it is a row problem
        if column not in COLUMNS:
            near = difflib.get_close_matches(column.replace("-", "_").replace(" ", "_"), COLUMNS, n=1, cutoff=0.6)
            hint = f"; did you mean '{near[0]}'?" if near else "; see docs/advisors.md for the columns"
            problems.append(Problem(where, None, column, f"unknown column{hint}"))
        elif header.index(column) != index:
            problems.append(Problem(where, None, column, "column appears twice"))
    for column in REQUIRED_COLUMNS:
        if column not in header:
            problems.append(Problem(where, None, column, "required column is missing"))
    if problems:
        raise InputError(problems)


def row_profile(header: list[str], cells: list[str], where: str) -> tuple[dict, list[Problem]]:
    """One row as a profile mapping (values typed where the text is unambiguous) and its problems."""
    if len(cells) > len(header):
        return {}, [Problem(where, None, None, f"has {len(cells)} cells but the header has {len(header)} columns")]
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for column, cell in zip(header, cells):
        text = cell.strip()
        if not text:
            continue
        if not column:
            problems.append(Problem(where, None, None, f"the value {text[:40]!r} is in a column without a header"))
            continue
        path, kind = COLUMNS[column]
        if kind == "practice":
            value, message = _practice(text)
            if message:
                problems.append(Problem(where, None, column, message))
                continue
        else:
            value = _READERS[kind](text)
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    if "id" not in data:
        problems.append(Problem(where, None, "id", "required: the profile is written to <dir>/<id>.yaml"))
    step2 = data.get("step2_ck")
    if step2 is not None and "result" not in step2 and "score" not in step2:
        step2["result"] = "pending"  # only practice, qbank or a planned date: not taken yet
    return _ordered(data), problems


def _ordered(data: dict) -> dict:
    """The profile's fields in the order of the profile format."""
    out = {key: data[key] for key in ROOT_FIELDS if key in data}
    for key, order in (("step1", STEP1_FIELDS), ("step2_ck", STEP2_FIELDS)):
        if key in out:
            out[key] = {field: out[key][field] for field in order if field in out[key]}
    return out


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


def _located(problem: Problem, where: str) -> Problem:
    """A loader problem about the generated YAML, said about the CSV row and column instead."""
    message = problem.message
    for hint in _YAML_HINTS:
        message = message.replace(hint, "")
    column = problem.field
    match = _PRACTICE_FIELD.fullmatch(column or "")
    if match:
        entry, sub = int(match.group(1)) + 1, match.group(2)
        column, message = "practice", f"entry {entry}{' ' + sub if sub else ''}: {message}"
    elif column in _COLUMN_OF:
        column = _COLUMN_OF[column]
    if problem.source != where:  # about another file, e.g. the target written meanwhile by someone else
        message = f"{problem.source}: {message}"
    return Problem(where, None, column, message)
