"""A spreadsheet (.csv or .xlsx) as a header and rows of text, each row with the number a spreadsheet shows.

Reading is bounded and never runs anything: the file size is limited, an .xlsx is refused when it would
unzip to far more than it weighs (a zip bomb), macro-enabled, encrypted and mislabelled files are refused
with a message, and a formula cell is read as the value Excel saved for it (or reported), never evaluated.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from generator.errors import InputError, Problem

MAX_BYTES = 20 * 1024 * 1024  # a spreadsheet larger than this is refused unread
MAX_UNZIPPED = 200 * 1024 * 1024  # the most an .xlsx may unpack to
MAX_RATIO = 100  # an .xlsx part that unpacks to more than this many times its packed size is a zip bomb
MAX_ROWS = 50_000
MAX_COLUMNS = 200

_MAGIC = {
    b"%PDF": "a PDF document",
    b"\xd0\xcf\x11\xe0": "an encrypted (password-protected) or old-style .xls Excel file",
    b"PK\x03\x04": "an Excel .xlsx workbook (a zip file)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"{\\rtf": "a Word (RTF) document",
}
_MACRO_SUFFIXES = (".xlsm", ".xltm", ".xlam", ".xlsb")
_FORMULA_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?f[\s/>]")


@dataclass
class Table:
    """A sheet's header (row `header_row`) and its non-blank data rows as `(row number, cells)`."""

    source: str
    header: list[str]
    header_row: int
    rows: list[tuple[int, list[str]]]
    comments: list[str] = field(default_factory=list)  # the `# ...` rows above the header
    # Cells that cannot be read (a formula without a saved value, an error value): (row, column index, message).
    cell_problems: list[tuple[int, int, str]] = field(default_factory=list)


def read_table(path: Path, source: str | None = None) -> Table:
    """Read a .csv or .xlsx file; raise InputError (located at row 1) when the file cannot be read at all."""
    source = source or path.as_posix()
    suffix = path.suffix.lower()
    if suffix in _MACRO_SUFFIXES:
        _refuse(source, f"{suffix} files can carry macros and are not read; save the sheet as .xlsx "
                        "(Excel Workbook) or .csv (CSV UTF-8)")
    if suffix == ".xls":
        _refuse(source, "old .xls files are not read; save the sheet as .xlsx (Excel Workbook) or .csv (CSV UTF-8)")
    if suffix not in (".csv", ".xlsx"):
        _refuse(source, f"expected a .csv or .xlsx file, got {path.name!r}")
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            _refuse(source, f"the file is {size / 1048576:.1f} MB; spreadsheets over {MAX_BYTES // 1048576} MB are not read")
        raw = path.read_bytes()
    except OSError as exc:
        _refuse(source, f"cannot read the file: {exc.strerror}")
    if suffix == ".csv":
        return _read_csv(raw, source)
    return _read_xlsx(raw, source)


def _refuse(source: str, message: str, line: int | None = 1) -> None:
    raise InputError(Problem(source, line, None, message))


# --- CSV ---------------------------------------------------------------------------------------------------


def _read_csv(raw: bytes, source: str) -> Table:
    if not raw.strip():
        _refuse(source, "the file is empty: row 1 must be the header (program_id, name, city, ...)")
    for magic, what in _MAGIC.items():
        if raw.startswith(magic):
            hint = "; rename it .xlsx" if magic == b"PK\x03\x04" else "; export the sheet as CSV UTF-8"
            _refuse(source, f"this is not a CSV file: it is {what}{hint}")
    if b"\0" in raw[:65536]:
        _refuse(source, "this is not a CSV file: it holds binary data (NUL bytes); export the sheet as CSV UTF-8")
    try:
        text = codecs.decode(raw, "utf-8-sig")
    except UnicodeDecodeError as exc:
        row = raw[:exc.start].count(b"\n") + 1
        _refuse(source, "the file is not UTF-8 text (byte "
                        f"0x{raw[exc.start]:02x}); in Excel use File > Save As > CSV UTF-8", row)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=False)
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            # The row number a spreadsheet shows is the record's number; a quoted cell may span lines.
            rows.append((len(rows) + 1, cells))
            if len(rows) > MAX_ROWS + 1:
                _refuse(source, f"more than {MAX_ROWS:,} rows; split the spreadsheet", len(rows))
    except csv.Error as exc:
        _refuse(source, f"cannot read the CSV: {exc}", reader.line_num)
    return _table(source, rows)


def _delimiter(text: str) -> str:
    """`,` unless the header row splits into more cells on `;` or a tab (Excel in many European locales)."""
    first = next((line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    best, width = ",", len(next(csv.reader([first], delimiter=","), []))
    for candidate in (";", "\t"):
        cells = len(next(csv.reader([first], delimiter=candidate), []))
        if cells > width:
            best, width = candidate, cells
    return best


# --- XLSX --------------------------------------------------------------------------------------------------


def _read_xlsx(raw: bytes, source: str) -> Table:
    if raw.startswith(b"\xd0\xcf\x11\xe0"):
        _refuse(source, "this workbook is encrypted (password-protected) or an old-style .xls; "
                        "remove the password and save it as .xlsx")
    if not raw.startswith(b"PK"):
        what = next((w for m, w in _MAGIC.items() if raw.startswith(m)), None)
        _refuse(source, f"this is not an .xlsx workbook{f': it is {what}' if what else ''}")
    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        _refuse(source, f"this is not a readable .xlsx workbook ({exc})")
    total = sum(info.file_size for info in infos)
    bomb = [i for i in infos if i.file_size > 1_048_576 and i.file_size > MAX_RATIO * max(i.compress_size, 1)]
    if total > MAX_UNZIPPED or bomb:
        _refuse(source, f"this workbook would unpack to {total / 1048576:,.0f} MB from {len(raw) / 1048576:,.1f} MB "
                        "(a zip bomb, or far too large); it is not read")
    names = {info.filename.lower() for info in infos}
    if any(name.endswith("vbaproject.bin") for name in names):
        _refuse(source, "this workbook holds macros (vbaProject.bin) and is not read; "
                        "save it as a plain .xlsx (Excel Workbook) without macros")
    if "xl/workbook.xml" not in names and not any(n.endswith("/workbook.xml") for n in names):
        _refuse(source, "this is not an .xlsx workbook: it has no xl/workbook.xml")
    import openpyxl  # here: it takes a moment to import, and most projects keep a .csv

    try:
        book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
        sheet = book.worksheets[0]
        formulas = _formula_cells(raw, archive, getattr(sheet, "_worksheet_path", ""))
        sheet.reset_dimensions()  # the saved dimensions can be wrong; read every cell that is there
        rows, problems = _xlsx_rows(sheet, source, formulas)
        book.close()
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many kinds for a damaged file; each is a bad input here
        _refuse(source, f"cannot read this .xlsx workbook: {type(exc).__name__}: {exc}")
    table = _table(source, rows)
    table.cell_problems = problems
    return table


def _formula_cells(raw: bytes, archive: zipfile.ZipFile, sheet_path: str) -> set[tuple[int, int]]:
    """(row, column) of every formula cell of the sheet; read again without cached values only if there is one."""
    try:
        xml = archive.read(sheet_path)
    except KeyError:
        return set()
    if not _FORMULA_TAG.search(xml):
        return set()
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(raw), read_only=True, data_only=False)
    sheet = book.worksheets[0]
    sheet.reset_dimensions()
    found = {(cell.row, cell.column) for row in sheet.iter_rows() for cell in row
             if getattr(cell, "data_type", None) == "f"}
    book.close()
    return found


def _xlsx_rows(sheet: Any, source: str, formulas: set[tuple[int, int]]
               ) -> tuple[list[tuple[int, list[str]]], list[tuple[int, int, str]]]:
    rows: list[tuple[int, list[str]]] = []
    problems: list[tuple[int, int, str]] = []
    for number, row in enumerate(sheet.iter_rows(), start=1):
        if number > MAX_ROWS + 1:
            _refuse(source, f"more than {MAX_ROWS:,} rows; split the spreadsheet", number)
        cells: list[str] = []
        for column, cell in enumerate(row, start=1):
            if column > MAX_COLUMNS:
                break
            value = cell.value
            if (number, column) in formulas and value is None:
                problems.append((number, column - 1, "a formula with no saved value: matchguide never runs formulas; "
                                 "open and save the file in Excel, or type the value"))
            elif getattr(cell, "data_type", None) == "e":
                problems.append((number, column - 1, f"the cell holds the spreadsheet error {value}"))
                value = None
            cells.append(cell_text(value, getattr(cell, "number_format", "General") or "General"))
        rows.append((number, cells))
    return rows, problems


def cell_text(value: Any, number_format: str = "General") -> str:
    """An Excel cell's value as the text a person typed: whole numbers without `.0`, percents as percents."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if "%" in number_format:
            number *= 100  # Excel keeps 45% as 0.45
        if number == number.to_integral_value():
            return str(int(number))
        return format(number.normalize(), "f")
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value)


# --- Both --------------------------------------------------------------------------------------------------


def _table(source: str, rows: list[tuple[int, list[str]]]) -> Table:
    """Strip cells, skip comment rows before the header and blank rows after it; check the shape."""
    cleaned = [(n, [c.strip() for c in cells]) for n, cells in rows]
    start = 0
    while start < len(cleaned) and _is_comment_or_blank(cleaned[start][1]):
        start += 1
    if start == len(cleaned):
        _refuse(source, "the file is empty: row 1 must be the header (program_id, name, city, ...)")
    header_row, header = cleaned[start]
    comments = [cells[0].lstrip("#").strip() for _, cells in cleaned[:start] if cells and cells[0]]
    while header and not header[-1]:
        header.pop()
    if len(header) > MAX_COLUMNS:
        _refuse(source, f"more than {MAX_COLUMNS} columns", header_row)
    data = [(n, cells) for n, cells in cleaned[start + 1:] if any(cells)]
    return Table(source, header, header_row, data, comments)


def _is_comment_or_blank(cells: list[str]) -> bool:
    """A blank row, or a comment row above the header: `# ...` in the first cell and nothing else."""
    return not any(cells) or (cells[0].startswith("#") and not any(cells[1:]))
