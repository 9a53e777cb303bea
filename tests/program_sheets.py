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


def write_xlsx(path: Path, rows: list[list[object]], *, formats: dict[str, str] | None = None,
               cached: dict[str, str] | None = None, keep_formulas: bool = False) -> Path:
    """An .xlsx with openpyxl: `formats` sets number formats by cell ('H2': '0%'); `cached` gives formula cells a
    saved value, as Excel would (openpyxl itself never computes one)."""
    import zipfile

    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    for values in rows:
        sheet.append(values)
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, str) and cell.value.startswith("=") and not keep_formulas:
                cell.data_type = "s"  # text that starts with `=`, as Excel keeps it when typed with a quote
    for ref, fmt in (formats or {}).items():
        sheet[ref].number_format = fmt
    book.save(path)
    if cached:
        with zipfile.ZipFile(path) as z:
            parts = {i.filename: z.read(i.filename) for i in z.infolist()}
        xml = parts["xl/worksheets/sheet1.xml"].decode()
        for ref, value in cached.items():
            start = xml.index(f'<c r="{ref}"')
            end = xml.index("</c>", start)
            xml = xml[:start] + xml[start:end].replace("<v />", f"<v>{value}</v>") + xml[end:]
        parts["xl/worksheets/sheet1.xml"] = xml.encode()
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in parts.items():
                z.writestr(name, data)
    return path
