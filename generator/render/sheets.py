"""An applicant's program list as a spreadsheet they download and fill in: .csv and .xlsx (pure).

Program names come from a spreadsheet someone else typed, so every cell that a spreadsheet program could
run as a formula (OWASP "CSV injection": a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage
return) is written as text, with a leading `'`. The .xlsx holds only plain values, never a formula. The
advisor's `notes` are not among the columns. The same list gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from functools import lru_cache
from typing import Any, Callable, Iterable
from xml.sax.saxutils import escape

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# The applicant's program list to download, in their own guide folder (the capability URL, never guessable).
SHEET_CSV, SHEET_XLSX = "program-list.csv", "program-list.xlsx"
FILL_IN = ("applied", "signal_sent", "interview")  # empty columns the applicant fills in
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: Any) -> str:
    """A cell's text, made inert: one that a spreadsheet would read as a formula gets a leading `'`."""
    return _inert("" if value is None else value if isinstance(value, str) else str(value))


@lru_cache(maxsize=1 << 14)  # a cohort's lists share most of their cells (program names, cities, websites)
def _inert(text: str) -> str:
    # Control characters (other than tab, CR, LF) have no place in a cell; Excel refuses some of them.
    text = _CONTROL.sub("", text)
    return "'" + text if text.lstrip(" ").startswith(FORMULA_START) else text


def rows(program_list: dict, columns: dict[str, str], why: Callable[[dict], str]) -> list[list[Any]]:
    """The header and one row per listed program, in the list's order (target, reach, likely)."""
    out: list[list[Any]] = [list(columns.values())]
    keys = list(columns)
    for p in program_list["programs"]:
        special = {"program_id": p["id"], "confirm_visa": "yes" if p["confirm_visa"] else "",
                   "signal": p["signal"] or "", "why": why(p)}
        out.append([None if key in FILL_IN else special[key] if key in special else p.get(key) for key in keys])
    return out


def to_csv(table: Iterable[list[Any]]) -> bytes:
    """CSV as Excel opens it: UTF-8 with a byte-order mark, CRLF, every text cell neutralised."""
    return ("\ufeff" + "".join(_csv_line(tuple(line)) for line in table)).encode("utf-8")


@lru_cache(maxsize=1 << 13)  # a cohort's lists share most of their rows: each is written once
def _csv_line(line: tuple) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerow([neutralise(v) for v in line])
    return buffer.getvalue()


def to_xlsx(table: list[list[Any]], sheet_name: str = "Program list") -> bytes:
    """A minimal .xlsx: one sheet of plain values (numbers as numbers, text as inline text), no formulas."""
    width = max((len(line) for line in table), default=1)
    body = "".join(f'<row r="{r}">' + _xlsx_cells(tuple(line)).replace(_ROW, str(r)) + "</row>"
                   for r, line in enumerate(table, start=1))
    sheet = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN}">'
             f'<dimension ref="A1:{_column(width - 1)}{max(len(table), 1)}"/>'
             '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" state="frozen"/>'
             f'</sheetView></sheetViews><sheetData>{body}</sheetData></worksheet>')
    parts = {
        "[Content_Types].xml": _CONTENT_TYPES,
        "_rels/.rels": _ROOT_RELS,
        "xl/workbook.xml": _WORKBOOK.format(name=escape(sheet_name, {'"': "&quot;"})),
        "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS,
        "xl/worksheets/sheet1.xml": sheet,
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, text in parts.items():
            info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed: the same list, the same bytes
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, text.encode("utf-8"), compresslevel=1)
    return buffer.getvalue()


_ROW = "\x01"  # stands for the row number in a remembered row (no cell holds it: neutralise drops it)


@lru_cache(maxsize=1 << 13)
def _xlsx_cells(line: tuple) -> str:
    """A row's cells, the row number left as `_ROW`; empty cells are left out."""
    return "".join(f'<c r="{_column(c)}{_ROW}"{_cell(value)}</c>' for c, value in enumerate(line)
                   if value is not None and value != "")


def _cell(value: Any) -> str:
    """A cell's type and value, from just after its reference to its closing tag."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"><v>{value}</v>"
    return _text_cell(neutralise(value))


@lru_cache(maxsize=1 << 14)
def _text_cell(text: str) -> str:
    text = escape(text, {"\r": "&#13;"})  # XML would read a bare CR as LF
    return f' t="inlineStr"><is><t xml:space="preserve">{text}</t></is>'


def _column(index: int) -> str:
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    f'<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
    '<sheet name="{name}" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)
