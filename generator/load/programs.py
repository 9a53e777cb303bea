"""The advisor's program spreadsheet: its columns, checked cell by cell (docs/program-list.md).

Every bad cell is one located problem, `path:ROW: COLUMN: message`, with ROW as a spreadsheet shows it;
all of them are reported together. An unknown column is a warning. A sheet with any error gives no
programs: lists are only made from a spreadsheet that is right everywhere.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from urllib.parse import urlsplit

from generator.errors import InputError, Problem
from generator.load.table import Table, read_table

STATES = frozenset(
    "AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK "
    "OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC PR".split()
)
TYPES = ("academic", "university-affiliated", "community")
VISA = ("yes", "no", "unknown")
ATTEMPTS = ("none", "one", "any")
YES_NO = ("yes", "no")
REQUIRED = ("program_id", "name", "city", "state", "type", "visa_j1", "visa_h1b")
OPTIONAL = ("img_percent", "step2_min", "step2_typical", "max_years_since_graduation", "failed_attempts",
            "usce_required", "signals", "website", "notes")
COLUMNS = REQUIRED + OPTIONAL
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Program:
    """One row of the spreadsheet, typed. `notes` is the advisor's and never reaches an applicant."""

    id: str
    name: str
    city: str
    state: str
    type: str
    visa_j1: str
    visa_h1b: str
    img_percent: Decimal | None
    step2_min: int | None
    step2_typical: int | None
    max_years_since_graduation: int | None
    failed_attempts: str
    usce_required: bool
    signals: bool
    website: str | None
    notes: str | None
    row: int


@dataclass(frozen=True)
class ProgramSheet:
    """A read spreadsheet: its programs (empty when it has errors), errors and warnings, and a digest."""

    source: str
    programs: tuple[Program, ...]
    errors: tuple[Problem, ...]
    warnings: tuple[Problem, ...]
    digest: str
    comments: tuple[str, ...] = ()  # the comment rows above the header

    @property
    def invented(self) -> bool:
        """A sample sheet: a comment row above the header says its programs are invented."""
        return any("invented" in c.lower() for c in self.comments)

    @property
    def ok(self) -> bool:
        """True when lists can be made from it."""
        return not self.errors


def load_programs(path: Path, source: str | None = None) -> ProgramSheet:
    """Read and check a program spreadsheet; never raises for bad content, which comes back as `errors`."""
    source = source or path.as_posix()
    try:
        table = read_table(path, source)
    except InputError as exc:
        return ProgramSheet(source, (), tuple(exc.problems), (), "")
    return check_table(table)


def check_table(table: Table) -> ProgramSheet:
    """Check every cell of a read table against the columns; collect every problem."""
    source = table.source
    errors: list[Problem] = []
    warnings: list[Problem] = []
    index: dict[str, int] = {}
    names: list[str] = []
    for i, raw in enumerate(table.header):
        name = raw.strip().lower()
        names.append(name)
        if not name:
            continue
        if name in index:
            errors.append(Problem(source, table.header_row, name, f"the column appears twice (columns {index[name] + 1} "
                                                                  f"and {i + 1})"))
        elif name not in COLUMNS:
            near = difflib.get_close_matches(name.replace(" ", "_"), COLUMNS, n=1, cutoff=0.75)
            hint = f" (did you mean `{near[0]}`?)" if near else ""
            warnings.append(Problem(source, table.header_row, raw.strip(), f"unknown column, ignored{hint}"))
        else:
            index[name] = i
    for column in REQUIRED:
        if column not in index:
            errors.append(Problem(source, table.header_row, column, "the required column is missing"))
    for row, column, message in table.cell_problems:
        label = names[column] if column < len(names) and names[column] else f"column {column + 1}"
        # A cell no list is made from (the advisor's notes, their own columns) cannot spoil the lists.
        (errors if label in COLUMNS and label != "notes" else warnings).append(Problem(source, row, label, message))
    if errors and any(p.line == table.header_row for p in errors):
        return _sheet(source, (), errors, warnings, table.comments)
    bad_cells = {(row, names[column]) for row, column, _ in table.cell_problems if column < len(names)}
    programs: list[Program] = []
    seen: dict[str, int] = {}
    id_column = index["program_id"]
    for row, cells in table.rows:
        program = _program(source, row, cells, index, errors, bad_cells)
        key = cells[id_column] if id_column < len(cells) else ""
        if key and key in seen:
            errors.append(Problem(source, row, "program_id", f"duplicate program_id {key!r} (also in row {seen[key]})"))
        elif key:
            seen[key] = row
        if program is not None:
            programs.append(program)
    return _sheet(source, tuple(programs), errors, warnings, table.comments)


def _sheet(source: str, programs: tuple[Program, ...], errors: list[Problem], warnings: list[Problem],
           comments: list[str]) -> ProgramSheet:
    h = hashlib.sha256()
    for p in programs:
        h.update(repr(program_fields(p)).encode())
    ordered = sorted(errors, key=lambda p: (p.line or 0, p.field or "", p.message))
    h.update(repr(comments).encode())
    return ProgramSheet(source, () if errors else programs, tuple(ordered), tuple(warnings), h.hexdigest(),
                        tuple(comments))


def program_fields(p: Program) -> tuple:
    """Every value of a program an applicant may see (not `notes`, not the row number)."""
    return (p.id, p.name, p.city, p.state, p.type, p.visa_j1, p.visa_h1b, None if p.img_percent is None else format(p.img_percent.normalize(), "f"), p.step2_min,
            p.step2_typical, p.max_years_since_graduation, p.failed_attempts, p.usce_required, p.signals, p.website)


class _Row:
    """Typed access to one row's cells, recording a problem per bad cell."""

    def __init__(self, source: str, row: int, cells: list[str], index: dict[str, int], errors: list[Problem],
                 bad: set[tuple[int, str]]):
        self.source, self.row, self.cells, self.index, self.errors, self.bad = source, row, cells, index, errors, bad
        self.ok = True

    def raw(self, column: str) -> str:
        i = self.index.get(column)
        return self.cells[i] if i is not None and i < len(self.cells) else ""

    def fail(self, column: str, message: str) -> None:
        self.ok = False
        if (self.row, column) not in self.bad:  # a cell the reader could not read is reported once, already
            self.errors.append(Problem(self.source, self.row, column, message))

    def text(self, column: str, limit: int, required: bool = True) -> str | None:
        value = self.raw(column)
        if not value:
            if required:
                self.fail(column, "is required")
            return None
        if _CONTROL.search(value):
            self.fail(column, "must be one line of text (no line breaks or control characters)")
        elif len(value) > limit:
            self.fail(column, f"at most {limit} characters, got {len(value)}")
        return value

    def word(self, column: str, allowed: tuple[str, ...], blank: str | None = None) -> str | None:
        value = self.raw(column).lower()
        if not value:
            if blank is None:
                self.fail(column, f"is required: {_choices(allowed)}")
            return blank
        if value not in allowed:
            near = difflib.get_close_matches(value, allowed, n=1, cutoff=0.6)
            hint = f" (did you mean {near[0]!r}?)" if near else ""
            self.fail(column, f"expected {_choices(allowed)}, got {self.raw(column)!r}{hint}")
            return None
        return value

    def integer(self, column: str, low: int, high: int) -> int | None:
        value = self.raw(column)
        if not value:
            return None
        try:
            number = Decimal(value)
            if not number.is_finite() or number != number.to_integral_value() or not low <= number <= high:
                raise ValueError
        except (InvalidOperation, ValueError):
            self.fail(column, f"expected a whole number from {low} to {high}, got {value!r}")
            return None
        return int(number)

    def percent(self, column: str) -> Decimal | None:
        value = self.raw(column)
        if not value:
            return None
        try:
            number = Decimal(value[:-1].strip() if value.endswith("%") else value)
            if not number.is_finite() or not 0 <= number <= 100:
                raise ValueError
        except (InvalidOperation, ValueError):
            self.fail(column, f"expected a percent from 0 to 100, got {value!r}")
            return None
        return number


def _choices(allowed: tuple[str, ...]) -> str:
    return ", ".join(allowed[:-1]) + f" or {allowed[-1]}"


def _program(source: str, row: int, cells: list[str], index: dict[str, int], errors: list[Problem],
             bad: set[tuple[int, str]]) -> Program | None:
    r = _Row(source, row, cells, index, errors, bad)
    program_id = r.text("program_id", 40)
    if program_id is not None and r.ok and not _ID.fullmatch(program_id):
        r.fail("program_id", f"expected letters, digits, `.`, `_` or `-` (starting with a letter or digit, "
                             f"at most 40), got {program_id!r}")
    name = r.text("name", 150)
    city = r.text("city", 80)
    state = r.raw("state").upper()
    if not state:
        r.fail("state", "is required: a two-letter USPS code of a state, DC or PR")
    elif state not in STATES:
        r.fail("state", f"expected the two-letter USPS code of one of the 50 states, DC or PR, got {r.raw('state')!r}")
    kind = r.word("type", TYPES)
    visa_j1 = r.word("visa_j1", VISA)
    visa_h1b = r.word("visa_h1b", VISA)
    img = r.percent("img_percent")
    step2_min = r.integer("step2_min", 1, 300)
    step2_typical = r.integer("step2_typical", 1, 300)
    max_years = r.integer("max_years_since_graduation", 0, 60)
    attempts = r.word("failed_attempts", ATTEMPTS, blank="any")
    usce = r.word("usce_required", YES_NO, blank="no")
    signals = r.word("signals", YES_NO, blank="yes")
    website = r.raw("website") or None
    if website is not None and not _is_web_address(website):
        r.fail("website", f"expected an http:// or https:// address, got {website!r}")
    notes = r.raw("notes") or None
    if not r.ok:
        return None
    return Program(program_id, name, city, state, kind, visa_j1, visa_h1b, img, step2_min, step2_typical, max_years,
                   attempts, usce == "yes", signals == "yes", website, notes, row)


def _is_web_address(value: str) -> bool:
    if _CONTROL.search(value) or " " in value or len(value) > 2000:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
