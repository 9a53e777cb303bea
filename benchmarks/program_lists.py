"""The program-list measurements of `make bench`: deciding lists, rendering them, reading .xlsx against .csv.

Run from benchmarks/bench.py (its child processes call `child_lists` and `child_read`).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Callable

AS_OF_TEXT = "2026-11-25"
PROGRAM_ROWS = 2000  # the program spreadsheet the list measurements decide against


def options(project: Path, out: Path, **extra: Any) -> Any:
    """Build options for a bench project laid out as bench.py lays it out."""
    from datetime import date

    from generator.project import BuildOptions

    return BuildOptions(profiles=project / "profiles", content=project / "content", theme=project / "theme",
                        out=out, state=project / "state", as_of=date.fromisoformat(AS_OF_TEXT), **extra)


def child_lists(spec: dict) -> dict:
    """Decide every applicant's list, and only that: the facts are derived first, outside the clock."""
    from generator.decide.facts import derive
    from generator.decide.program_view import attach
    from generator.project import load_cohort, load_inputs

    opts = options(Path(spec["project"]), Path(spec["project"]) / "unused", programs=Path(spec["programs"]))
    inputs = load_inputs(opts)
    profiles, _ = load_cohort(opts, inputs)
    cohort = [derive(p, inputs.strategy, inputs.as_of) for p in profiles]
    start = time.perf_counter()
    lists = sum(attach(facts, inputs.program_index, inputs.program_status) is not None for facts in cohort)
    return {"decide_seconds": time.perf_counter() - start, "lists": lists, "guides": len(cohort)}


def child_read(spec: dict) -> dict:
    """Read and check the same program rows from .csv and from .xlsx, best of three each."""
    from generator.load.programs import load_programs

    best = {}
    for name in ("csv", "xlsx"):
        times = []
        for _ in range(3):
            start = time.perf_counter()
            sheet = load_programs(Path(spec[name]))
            times.append(time.perf_counter() - start)
            if not sheet.ok or len(sheet.programs) != spec["rows"]:
                raise RuntimeError(f"{name}: {len(sheet.programs)} programs, {[str(e) for e in sheet.errors[:3]]}")
        best[name] = min(times)
    return {"csv_seconds": best["csv"], "xlsx_seconds": best["xlsx"]}


def program_sheets(folder: Path, rows: int) -> tuple[Path, Path]:
    """The same invented spreadsheet of `rows` programs as .csv and as .xlsx (numbers kept as numbers)."""
    import csv

    import openpyxl
    from openpyxl.cell import WriteOnlyCell

    from benchmarks.programs_sample import csv_text, rows as sample_rows

    folder.mkdir(parents=True, exist_ok=True)
    text = csv_text(sample_rows(rows))
    csv_path = folder / f"programs-{rows}.csv"
    csv_path.write_text(text, "utf-8")
    book = openpyxl.Workbook(write_only=True)
    sheet = book.create_sheet()
    for line in csv.reader(text.splitlines()):
        cells = []
        for cell in line:
            if cell.isdigit():
                cells.append(int(cell))
            elif cell.replace(".", "", 1).isdigit():
                cells.append(float(cell))
            elif cell.startswith("="):  # text typed with a leading quote in Excel: text, not a formula
                text = WriteOnlyCell(sheet, value=cell)
                text.data_type = "s"
                cells.append(text)
            else:
                cells.append(cell or None)
        sheet.append(cells)
    xlsx_path = folder / f"programs-{rows}.xlsx"
    book.save(xlsx_path)
    return csv_path, xlsx_path


def compare(root: Path, project: Path, guides: int, jobs: int, *, build: Callable[..., dict],
            run_child: Callable[[str, dict], dict], write_cohort: Callable[[Path, int], list[str]]) -> dict:
    """HTML-only builds of `guides` applicants without and with a 2,000-program spreadsheet; the decision alone;
    .xlsx against .csv reading; the build's peak memory with lists at `guides` and at half of them."""
    lists = root / "lists"
    shutil.copytree(project / "content", lists / "content")
    shutil.copytree(project / "theme", lists / "theme")
    (lists / "content" / "data" / "programs.csv").unlink(missing_ok=True)
    ids = write_cohort(lists / "profiles", guides)
    csv_path, xlsx_path = program_sheets(root / "sheets", PROGRAM_ROWS)
    spec = {"project": str(lists), "jobs": jobs, "pdf": False, "only": None}
    without = build(lists, root / "lists-none", jobs=jobs, pdf=False)
    with_lists = run_child("build", {**spec, "out": str(root / "lists-csv"), "programs": str(csv_path)})
    half = run_child("build", {**spec, "out": str(root / "lists-half"), "programs": str(csv_path),
                                "only": ids[: max(1, guides // 2)]})
    decide = run_child("lists", {"project": str(lists), "programs": str(csv_path)})
    read = run_child("read", {"csv": str(csv_path), "xlsx": str(xlsx_path), "rows": PROGRAM_ROWS})
    for step in (with_lists, half):
        if step["problems"]:
            raise RuntimeError(f"build had problems: {step['problems'][:3]}")
    return {"guides": guides, "rows": PROGRAM_ROWS, "without": without, "with": with_lists, "half": half,
            "decide": decide, "read": read}
