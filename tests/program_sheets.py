"""Small hand-written program spreadsheets for the program-list tests."""

from __future__ import annotations

from pathlib import Path

from generator.load.programs import ProgramSheet, load_programs

HEADER = ("program_id,name,city,state,type,visa_j1,visa_h1b,img_percent,step2_min,step2_typical,"
          "max_years_since_graduation,failed_attempts,usce_required,signals,website,notes")
FIELDS = HEADER.split(",")


def row(program_id: str, **cells: object) -> str:
    """One CSV line: defaults for the required columns, blanks elsewhere, keyword overrides."""
    values = {"program_id": program_id, "name": f"Program {program_id}", "city": "Springfield", "state": "IL",
              "type": "community", "visa_j1": "yes", "visa_h1b": "yes"}
    values.update({k: "" if v is None else str(v) for k, v in cells.items()})
    unknown = set(values) - set(FIELDS)
    assert not unknown, unknown
    return ",".join(values.get(f, "") for f in FIELDS)


def write_sheet(folder: Path, *rows: str, name: str = "programs.csv", header: str = HEADER) -> Path:
    """Write a CSV spreadsheet with the given lines under the header; return its path."""
    path = folder / name
    path.write_text("\n".join((header, *rows)) + "\n", encoding="utf-8")
    return path


def sheet(folder: Path, *rows: str) -> ProgramSheet:
    """Write and read a spreadsheet; it must have no errors."""
    loaded = load_programs(write_sheet(folder, *rows))
    assert loaded.ok, [str(p) for p in loaded.errors]
    return loaded
