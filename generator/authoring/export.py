"""`matchguide export`: the cohort written back to the spreadsheet columns `matchguide import` reads.

Only what each profile file says is written (no defaults filled in), so importing
the exported file again changes nothing. Only valid profiles are exported; the
others are reported, as `check` reports them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from generator.load import yamlstrict
from generator.authoring.columns import COLUMN_OF, COLUMNS, practice_round_trips, write_cell
from generator.errors import InputError, Problem
from generator.load.profiles import load_profiles
from generator.write.writer import atomic_write


@dataclass
class ExportResult:
    """The applicants written (in row order), the problems of the profiles left out, and where the file is."""

    ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every profile was exported."""
        return not self.problems


def export_csv(directory: Path, *, default_cycle: int, passing_standard: Callable[[dt.date], int], as_of: dt.date,
               source_prefix: str = "profiles") -> tuple[str, ExportResult]:
    """The cohort as CSV text (a header row, then one row per valid profile, sorted by id)."""
    profiles, problems = load_profiles(directory, default_cycle=default_cycle, passing_standard=passing_standard,
                                       as_of=as_of, source_prefix=source_prefix)
    result = ExportResult(problems=list(problems))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(list(COLUMNS))
    for profile in profiles:
        path = Path(directory) / Path(profile.source).name
        data = yamlstrict.load(path.read_bytes(), profile.source).data
        practice = (data.get("step2_ck") or {}).get("practice") or []
        if not practice_round_trips(practice):
            result.problems.append(Problem(profile.source, profile.line_of(("step2_ck", "practice")), "practice",
                                           "a practice exam name holds ';' or a line break, which the practice "
                                           "column cannot keep; rename it"))
            continue
        cells = {COLUMN_OF[(key,)]: value for key, value in data.items() if (key,) in COLUMN_OF}
        for block in ("step1", "step2_ck"):
            for key, value in (data.get(block) or {}).items():
                cells[COLUMN_OF[(block, key)]] = value
        cells["id"] = profile.id
        writer.writerow([write_cell(cells.get(column)) for column in COLUMNS])
        result.ids.append(profile.id)
    return buffer.getvalue(), result


def export_file(directory: Path, out: Path, *, content: Path = Path("content"), as_of: dt.date | None = None,
                cycle: int | None = None) -> ExportResult:
    """Write the cohort to `out` as CSV UTF-8 (with the byte-order mark Excel looks for), replacing it atomically."""
    from generator.load.strategy import load_strategy
    from generator.project import default_cycle, display

    as_of = as_of or dt.date.today()
    data = content / "data" / "strategy.yaml"
    strategy = load_strategy(data, display(data))
    text, result = export_csv(directory, default_cycle=cycle or default_cycle(strategy, as_of),
                              passing_standard=strategy.standard_on, as_of=as_of, source_prefix=display(directory))
    if not Path(directory).is_dir():
        raise InputError(result.problems)
    atomic_write(out, text.encode("utf-8-sig"))
    result.path = out
    return result
