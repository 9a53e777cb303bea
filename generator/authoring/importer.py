"""`matchguide import`: an advisor's spreadsheet (.xlsx or CSV, one row per applicant) -> profiles/<id>.yaml.

Each row becomes profile YAML (generator.authoring.scaffold writes it) that is checked by
the profile loader itself, so an imported profile obeys exactly the rules of a
hand-written one. A row with any problem writes nothing; the other rows are
still written. Problems name the CSV row (the header is row 1) and column.

A row whose profile exists is merged into it: a field the sheet does not give
(no column, or an empty cell) keeps the profile's value, so hand edits survive.
A row that changes nothing is reported as unchanged and the file is left alone;
a row that would change fields names them, and only `overwrite` writes them.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from generator.authoring.columns import COLUMN_OF, COLUMNS, read_cell, read_header
from generator.authoring.scaffold import PLACEHOLDERS_MARK, check_text, dump, starter, write_profile
from generator.errors import InputError, Problem
from generator.load import yamlstrict
from generator.load.ids import ID_RE
from generator.load.profile_files import profile_ids
from generator.load.table import read_table
from generator.load.profiles import ROOT_FIELDS, STEP1_FIELDS, STEP2_FIELDS

# A loader problem's field -> the column it came from.
_COLUMN_OF = {".".join(path): column for path, column in COLUMN_OF.items()} | {
    "step1": "step1_result",
    "step2_ck": "step2_result",
}
_PRACTICE_FIELD = re.compile(r"step2_ck\.practice\[(\d+)\](?:\.(\w+))?")
_YAML_HINTS = ("; remove the quotes", "; quote it if it is meant as text")
_IMPORTED = "Imported by `matchguide import`"


@dataclass(frozen=True)
class Change:
    """One field an import sets: its column, the profile's value before (None: absent) and the sheet's."""

    column: str
    old: Any
    new: Any

    def __str__(self) -> str:
        def show(value: Any) -> str:
            if isinstance(value, list):
                return f"{len(value)} practice exam(s)"
            if not isinstance(value, str):
                return value.isoformat() if isinstance(value, dt.date) else str(value).lower() \
                    if isinstance(value, bool) else str(value)
            return repr(value[:40] + "…") if len(value) > 40 else repr(value)

        if self.old is None:
            return f"{self.column} (new: {show(self.new)})"
        return f"{self.column} ({show(self.old)} -> {show(self.new)})"


@dataclass
class RowOutcome:
    """What happened to one row's profile: `new`, `updated` or `unchanged`, and what changed or was kept."""

    row: int
    path: Path
    state: str
    changes: list[Change] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # columns with an empty cell whose profile value was kept
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        what = {"new": f"wrote {self.path}", "unchanged": f"{self.path} unchanged",
                "updated": f"updated {self.path}: " + ", ".join(map(str, self.changes))}[self.state]
        extra = [f"kept the profile's {', '.join(self.kept)} (empty in the sheet; to remove a field, edit the "
                 "profile)"] if self.kept else []
        return f"row {self.row}: {what}" + "".join(f"; {note}" for note in extra + self.notes)


@dataclass
class ImportResult:
    """What an import did, per row, and every problem by row and column."""

    outcomes: list[RowOutcome] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    rows: int = 0

    @property
    def ok(self) -> bool:
        """True when no row had a problem."""
        return not self.problems

    @property
    def written(self) -> list[tuple[int, Path]]:
        """(row, path) of every profile written: new or updated."""
        return [(o.row, o.path) for o in self.outcomes if o.state != "unchanged"]

    def count(self, state: str) -> int:
        """How many rows ended in `state`."""
        return sum(o.state == state for o in self.outcomes)

    def summary(self) -> str:
        """One line for the advisor."""
        failed = len({p.source for p in self.problems})
        return (f"imported {self.rows} row(s): {self.count('new')} new, {self.count('updated')} updated, "
                f"{self.count('unchanged')} unchanged, {failed} with problems (not written)")


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
    """Write or update the profile of every valid row (its existing file, else `<directory>/<id>.yaml`); raise
    InputError when the file is unusable."""
    source = source or str(csv_path)
    header, rows, decimal_comma, warnings, unreadable = read_rows(csv_path, source)
    result = ImportResult(warnings=warnings)
    checks = {"default_cycle": default_cycle, "passing_standard": passing_standard, "as_of": as_of}
    seen: dict[str, int] = {}
    files = profile_ids(directory)  # each id's existing file, whatever its name
    for number, cells in rows:
        result.rows += 1
        where = f"{source}:row {number}"
        data, problems = row_profile(header, cells, where, decimal_comma=decimal_comma)
        problems += [p for p in unreadable if p.source == where]
        applicant_id = data.get("id")
        first = seen.setdefault(applicant_id, number) if isinstance(applicant_id, str) else number
        if first != number:
            problems.append(Problem(where, None, "id", f"'{applicant_id}' is already used by row {first}"))
        if problems:
            result.problems += problems + _other_problems(data, problems, number, where, **checks)
            continue
        target = files.setdefault(applicant_id, directory / f"{applicant_id}.yaml")
        outcome, problems = _merge_row(directory, target, applicant_id, data, number, where, source, overwrite, checks)
        if problems:
            result.problems += problems
        elif outcome:
            result.outcomes.append(outcome)
    return result


def _merge_row(directory: Path, target: Path, applicant_id: str, data: dict, number: int, where: str, source: str,
               overwrite: bool, checks: dict) -> tuple[RowOutcome | None, list[Problem]]:
    """Write one valid row to `target`: new, merged into the existing profile, or nothing when it changes nothing."""
    existing, comments, inner = _existing(target, applicant_id, where) if ID_RE.match(applicant_id) else (None, [], [])
    if isinstance(existing, Problem):
        return None, [existing]
    merged, changes, kept = merge(existing, data, applicant_id)
    header = [f"{_IMPORTED} from {Path(source).name}, row {number}."]
    if existing is None:
        state = "new"
    elif not changes:
        return RowOutcome(number, target, "unchanged", kept=kept), []
    elif not overwrite:
        listed = ", ".join(map(str, changes))
        return None, [Problem(where, None, "id", f"{target} exists and the row would change {listed}; add --overwrite "
                              "to update these fields (fields the sheet leaves out or empty keep their values)")]
    else:
        state, header = "updated", [line for line in comments if _IMPORTED not in line] + header
    try:
        write_profile(directory, applicant_id, dump(merged, header=header), source=where, overwrite=state == "updated",
                      target=target, **checks)
    except InputError as exc:
        return None, [_located(p, where) for p in exc.problems]
    notes = [f"comments on line(s) {', '.join(map(str, inner))} of the old file are not kept (the file was rewritten)"
             ] if state == "updated" and inner else []
    return RowOutcome(number, target, state, changes if state == "updated" else [], kept, notes), []


def _existing(target: Path, applicant_id: str, where: str) -> tuple[dict | None | Problem, list[str], list[int]]:
    """The profile at `target` as data (None: no file), its leading comment lines to keep, and the line numbers of
    comments further down, which a rewrite cannot keep (the comments `new` writes are neither)."""
    try:
        raw = target.read_bytes()
    except FileNotFoundError:
        return None, [], []
    except OSError as exc:
        return Problem(where, None, "id", f"cannot read {target}: {exc.strerror or exc}"), [], []
    document, problems = yamlstrict.parse(raw, str(target))
    if problems or document is None or not isinstance(document.data, dict):
        first = f": {problems[0]}" if problems else ""
        return Problem(where, None, "id", f"{target} exists but cannot be read to merge the row into it{first}; "
                       "fix or delete it, then import again"), [], []
    text = raw.decode("utf-8-sig")
    lines = text.splitlines()
    ours = {comment for _, comment in _comments(starter(applicant_id, name="x", email="x@x.invalid",
                                                             graduation_year=2000))}
    leading: list[str] = []
    inner: list[int] = []
    for number, comment in _comments(text):
        if comment in ours or comment.startswith((PLACEHOLDERS_MARK, f"# {_IMPORTED}")):
            continue
        if all(not line.strip() or line.startswith("#") for line in lines[:number]):
            leading.append(comment[1:].strip())
        else:
            inner.append(number)
    return document.data, leading, inner


def _comments(text: str) -> list[tuple[int, str]]:
    """(line number, comment text from its `#`) of every YAML comment: a `#` outside every value."""
    spans = [(t.start_mark.index, t.end_mark.index) for t in yaml.scan(text, Loader=yaml.SafeLoader)
             if isinstance(t, yaml.ScalarToken)]
    found: dict[int, str] = {}
    for match in re.finditer(r"(?:^|(?<=\s))#.*$", text, flags=re.M):
        number = text.count("\n", 0, match.start()) + 1
        if number not in found and not any(start <= match.start() < end for start, end in spans):
            found[number] = match.group().rstrip()
    return sorted(found.items())


def merge(existing: dict | None, incoming: dict, applicant_id: str) -> tuple[dict, list[Change], list[str]]:
    """The profile with the row's values set: (merged data, the fields that change, columns kept from the profile).

    A value equal to the profile's (text compared without surrounding blanks) keeps the profile's
    spelling; a field the row does not give keeps the profile's value. `existing` None: a new profile.
    """
    old, new = _flatten(existing or {}), _flatten(incoming)
    if existing is not None and "id" not in existing and new.get(("id",)) == applicant_id:
        old[("id",)] = applicant_id  # the file name gave it; writing it down changes nothing
    merged = dict(old)
    for path, value in new.items():
        if path not in old or not _same(old[path], value):
            merged[path] = value
    result = _ordered(_unflatten(merged))
    step2 = result.get("step2_ck")
    if isinstance(step2, dict) and "result" not in step2 and "score" not in step2:
        step2["result"] = "pending"  # only practice, qbank or a planned date: not taken yet
        result = _ordered(result)
    final = _flatten(result)
    changes = [Change(COLUMN_OF.get(path, ".".join(map(str, path))), old.get(path), value)
               for path, value in final.items() if path not in old or not _same(old[path], value)]
    kept = [COLUMN_OF[path] for path in old if path not in new and path in COLUMN_OF and path in _given(incoming)]
    return result, changes, kept


def _given(incoming: dict) -> set[tuple]:
    """The fields whose column was in the sheet (with an empty cell, or a value)."""
    return set(incoming.get("__columns__", ()))


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(isinstance(x, dict) and isinstance(y, dict) and x.keys() == y.keys()
                                        and all(_same(x[k], y[k]) for k in x) for x, y in zip(a, b))
    return type(a) is type(b) and a == b or (isinstance(a, (int, float)) and isinstance(b, (int, float)) and a == b)


def _flatten(data: dict) -> dict[tuple, Any]:
    out: dict[tuple, Any] = {}
    for key, value in data.items():
        if key == "__columns__":
            continue
        if key in ("step1", "step2_ck") and isinstance(value, dict):
            out.update({(key, sub): v for sub, v in value.items()})
        else:
            out[(key,)] = value
    return out


def _unflatten(flat: dict[tuple, Any]) -> dict:
    out: dict[str, Any] = {}
    for path, value in flat.items():
        if len(path) == 1:
            out[path[0]] = value
        else:
            out.setdefault(path[0], {})[path[1]] = value
    return out


def _other_problems(data: dict, found: list[Problem], number: int, where: str, default_cycle: int,
                    passing_standard: Callable[[dt.date], int], as_of: dt.date) -> list[Problem]:
    """What the loader says about the rest of a row that already failed, so one pass shows every problem."""
    probe = {**{k: v for k, v in data.items() if k != "__columns__"}, "id": data.get("id", f"row-{number}")}
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


def read_rows(path: Path, source: str) -> tuple[list[str | None], list[tuple[int, list[str]]], bool, list[Problem],
                                               list[Problem]]:
    """The checked header, every non-blank row with its number as the spreadsheet shows it, whether numbers may
    use a decimal comma (a `;`-separated CSV), warnings about the header, and cells that could not be read.

    The file is read by generator.load.table: a .csv (`,`, `;` or tab between cells) or an .xlsx workbook.
    """
    table = read_table(Path(path), source)
    header = read_header(table.header, f"{source}:row {table.header_row}")
    if header.problems:
        raise InputError(header.problems)
    unreadable = [Problem(f"{source}:row {row}", None, header.columns[column] if column < len(header.columns) else None,
                          message) for row, column, message in table.cell_problems if row != table.header_row]
    return header.columns, table.rows, _semicolons(Path(path)), header.warnings, unreadable


def _semicolons(path: Path) -> bool:
    """True for a CSV whose header row splits into more cells on `;` than on `,` (Excel in many European locales)."""
    if path.suffix.lower() != ".csv":
        return False
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as handle:
        first = next((line for line in handle if line.strip() and not line.lstrip().startswith("#")), "")
    return len(next(csv.reader([first], delimiter=";"), [])) > len(next(csv.reader([first]), []))


def row_profile(header: list[str | None], cells: list[str], where: str, *,
                decimal_comma: bool = False) -> tuple[dict, list[Problem]]:
    """One row as a profile mapping (values typed where the text is unambiguous) and its problems.

    The mapping's `__columns__` holds the field paths whose column the sheet has, empty or not.
    """
    header = header + [""] * (len(cells) - len(header))  # cells past the header's last column have no header
    data: dict[str, Any] = {}
    problems: list[Problem] = []
    for column, cell in zip(header, cells):
        text = cell.strip()
        if not text or column is None:
            continue
        if not column:
            problems.append(Problem(where, None, None, f"the value {text[:40]!r} is in a column without a header"))
            continue
        value, message = read_cell(column, text, decimal_comma=decimal_comma)
        if message:
            problems.append(Problem(where, None, column, message))
            continue
        path = COLUMNS[column][0]
        target = data
        for part in path[:-1]:
            target = target.setdefault(part, {})
        target[path[-1]] = value
    if "id" not in data:
        problems.append(Problem(where, None, "id", "required: the profile is written to <dir>/<id>.yaml"))
    data = _ordered(data)
    data["__columns__"] = [COLUMNS[c][0] for c in header if c]
    return data, problems


def _ordered(data: dict) -> dict:
    """The profile's fields in the order of the profile format (unknown fields of a hand-written one last)."""
    out = {key: data[key] for key in ROOT_FIELDS if key in data}
    out |= {key: value for key, value in data.items() if key not in out and key != "__columns__"}
    for key, order in (("step1", STEP1_FIELDS), ("step2_ck", STEP2_FIELDS)):
        if isinstance(out.get(key), dict):
            out[key] = {f: out[key][f] for f in order if f in out[key]} | \
                       {f: v for f, v in out[key].items() if f not in order}
    return out


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
