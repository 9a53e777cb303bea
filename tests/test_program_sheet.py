"""Reading the program spreadsheet: CSV and XLSX as Excel and Google Sheets save them, every bad cell located."""

from __future__ import annotations

import zipfile
from decimal import Decimal

import pytest

from generator.load import table
from generator.load.programs import load_programs
from tests.program_sheets import FIELDS, HEADER, row, write_sheet, write_xlsx


def messages(sheet):
    return [str(p) for p in sheet.errors]


def test_csv_as_excel_saves_it(tmp_path):
    text = ("\ufeffProgram_ID , Name,city,STATE,type,visa_j1,visa_h1b,img_percent\r\n"
            ' P1 ,"Lakeview Medical Center, Internal Medicine", Dayton ,oh,Community, Yes ,YES,45%\r\n'
            "\r\n"
            "P2,Second,Akron,OH,academic,no,unknown,12.5\r\n")
    path = tmp_path / "p.csv"
    path.write_bytes(text.encode())
    sheet = load_programs(path)
    assert sheet.ok and not sheet.warnings, messages(sheet)
    p1, p2 = sheet.programs
    assert (p1.id, p1.name, p1.city, p1.state, p1.type) == ("P1", "Lakeview Medical Center, Internal Medicine",
                                                            "Dayton", "OH", "community")
    assert (p1.visa_j1, p1.visa_h1b, p1.img_percent, p1.row) == ("yes", "yes", Decimal(45), 2)
    assert (p2.row, p2.img_percent, p2.failed_attempts, p2.usce_required, p2.signals) == (4, Decimal("12.5"), "any",
                                                                                          False, True)


def test_semicolon_csv_and_a_comment_row(tmp_path):
    lines = ["# Invented programs, for the tests", HEADER.replace(",", ";"), row("A").replace(",", ";")]
    path = tmp_path / "p.csv"
    path.write_text("\n".join(lines) + "\n")
    sheet = load_programs(path)
    assert sheet.ok and [p.id for p in sheet.programs] == ["A"] and sheet.programs[0].row == 3


def test_a_quoted_line_break_keeps_spreadsheet_row_numbers(tmp_path):
    path = write_sheet(tmp_path, row("A", notes='"two\nlines"'), row("B", state="ZZ"))
    assert messages(load_programs(path)) == [f"{path}:3: state: expected the two-letter USPS code of one of the 50 "
                                             "states, DC or PR, got 'ZZ'"]


@pytest.mark.parametrize("rows,message", [
    pytest.param([row("A1"), row("A1")], "3: program_id: duplicate program_id 'A1' (also in row 2)", id="duplicate-id"),
    pytest.param([row("A1", state="XY")], "2: state: expected the two-letter USPS code of one of the 50 states, DC or PR, "
                 "got 'XY'", id="unknown-state"),
    pytest.param([row("A1", img_percent="120")], "2: img_percent: expected a percent from 0 to 100, got '120'",
                 id="percent-over-100"),
    pytest.param([row("A1", step2_typical="two hundred")], "2: step2_typical: expected a whole number from 1 to 300, "
                 "got 'two hundred'", id="score-in-words"),
    pytest.param([row("A1", website="javascript:alert(1)")], "2: website: expected an http:// or https:// address, got "
                 "'javascript:alert(1)'", id="javascript-website"),
])
def test_each_bad_cell(tmp_path, rows, message):
    path = write_sheet(tmp_path, *rows)
    sheet = load_programs(path)
    assert messages(sheet) == [f"{path}:{message}"] and sheet.programs == ()


def test_every_bad_cell_is_located_and_reported_together(tmp_path):
    path = write_sheet(
        tmp_path,
        row("A1"),
        row("A1"),
        row("B1", state="XY"),
        row("C1", img_percent="120"),
        row("D1", step2_typical="two hundred"),
        row("E1", website="javascript:alert(1)"),
        row("F 1", type="hospital", visa_h1b="maybe", failed_attempts="two"),
        row("G1", name=""),
        row("H1", step2_min="230.5", max_years_since_graduation="61"),
    )
    sheet = load_programs(path)
    assert not sheet.ok and sheet.programs == ()
    assert messages(sheet) == [
        f"{path}:3: program_id: duplicate program_id 'A1' (also in row 2)",
        f"{path}:4: state: expected the two-letter USPS code of one of the 50 states, DC or PR, got 'XY'",
        f"{path}:5: img_percent: expected a percent from 0 to 100, got '120'",
        f"{path}:6: step2_typical: expected a whole number from 1 to 300, got 'two hundred'",
        f"{path}:7: website: expected an http:// or https:// address, got 'javascript:alert(1)'",
        f"{path}:8: failed_attempts: expected none, one or any, got 'two'",
        f"{path}:8: program_id: expected letters, digits, `.`, `_` or `-` (starting with a letter or digit, at most 40), "
        "got 'F 1'",
        f"{path}:8: type: expected academic, university-affiliated or community, got 'hospital'",
        f"{path}:8: visa_h1b: expected yes, no or unknown, got 'maybe'",
        f"{path}:9: name: is required",
        f"{path}:10: max_years_since_graduation: expected a whole number from 0 to 60, got '61'",
        f"{path}:10: step2_min: expected a whole number from 1 to 300, got '230.5'",
    ]


def test_missing_required_column_and_unknown_column(tmp_path):
    header = HEADER.replace("visa_h1b,", "").replace("notes", "my notes") + ",visa j1"
    path = write_sheet(tmp_path, header=header)
    sheet = load_programs(path)
    assert messages(sheet) == [f"{path}:1: visa_h1b: the required column is missing"]
    assert [str(p) for p in sheet.warnings] == [f"{path}:1: my notes: unknown column, ignored (did you mean `notes`?)",
                                                f"{path}:1: visa j1: unknown column, ignored (did you mean `visa_j1`?)"]


def test_unknown_column_alone_is_a_warning(tmp_path):
    sheet = load_programs(write_sheet(tmp_path, row("A") + ",blue", header=HEADER + ",color"))
    assert sheet.ok and len(sheet.programs) == 1 and len(sheet.warnings) == 1


@pytest.mark.parametrize("content,message", [
    pytest.param(b"", "the file is empty: row 1 must be the header", id="empty"),
    pytest.param(b"\r\n\r\n", "the file is empty: row 1 must be the header", id="blank-lines"),
    pytest.param(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "this is not a CSV file: it is a PDF document", id="pdf-renamed"),
    pytest.param(b"program_id,name\nP1,Caf\xe9\n", "the file is not UTF-8 text", id="not-utf8"),
    pytest.param(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "this is not a CSV file: it is an encrypted",
                 id="xls-renamed"),
])
def test_files_that_are_not_a_csv(tmp_path, content, message):
    path = tmp_path / "programs.csv"
    path.write_bytes(content)
    sheet = load_programs(path)
    assert not sheet.ok and message in str(sheet.errors[0]) and str(sheet.errors[0]).startswith(f"{path}:")


def test_a_file_over_the_size_limit_is_not_read(tmp_path, monkeypatch):
    monkeypatch.setattr(table, "MAX_BYTES", 1000)
    path = write_sheet(tmp_path, *[row(f"P{i}") for i in range(50)])
    assert "spreadsheets over" in messages(load_programs(path))[0]


def test_xlsx_numbers_stay_numbers(tmp_path):
    header = FIELDS[:10]
    path = write_xlsx(tmp_path / "p.xlsx", [
        header,
        [1400100001, "Harbor View", "Erie", "PA", "community", "yes", True, 0.45, 220.0, 231],
        ["1400100002", "Second", "Erie", "PA", "academic", "no", "unknown", 12.5, None, None],
    ], formats={"H2": "0%"})
    sheet = load_programs(path)
    assert sheet.ok, messages(sheet)
    a, b = sheet.programs
    assert (a.id, a.visa_h1b, a.img_percent, a.step2_min, a.step2_typical) == ("1400100001", "yes", Decimal(45), 220, 231)
    assert (b.id, b.img_percent, b.step2_min) == ("1400100002", Decimal("12.5"), None)


def test_xlsx_formula_cells_use_the_saved_value_or_are_reported(tmp_path):
    header = FIELDS[:9]
    rows = [header, ["A", "First", "Erie", "PA", "community", "yes", "yes", "=40+5", None],
            ["B", "Second", "Erie", "PA", "community", "yes", "yes", "=10*2", "=200+1"]]
    saved = load_programs(write_xlsx(tmp_path / "saved.xlsx", rows, cached={"H2": "45", "H3": "20", "I3": "201"},
                                  keep_formulas=True))
    assert saved.ok and [(p.img_percent, p.step2_min) for p in saved.programs] == [(45, None), (20, 201)]
    path = write_xlsx(tmp_path / "unsaved.xlsx", rows, cached={"H2": "45"}, keep_formulas=True)
    assert messages(load_programs(path)) == [
        f"{path}:3: img_percent: a formula with no saved value: matchguide never runs formulas; "
        "open and save the file in Excel, or type the value",
        f"{path}:3: step2_min: a formula with no saved value: matchguide never runs formulas; "
        "open and save the file in Excel, or type the value",
    ]


def test_a_formula_in_the_notes_is_only_a_warning(tmp_path):
    rows = [FIELDS, ["A", "First", "Erie", "PA", "community", "yes", "yes"] + [None] * 8 + ["=B2"]]
    sheet = load_programs(write_xlsx(tmp_path / "p.xlsx", rows, keep_formulas=True))
    assert sheet.ok and len(sheet.programs) == 1
    assert [p.field for p in sheet.warnings] == ["notes"]
    assert load_programs(write_xlsx(tmp_path / "q.xlsx", rows)).programs[0].notes == "=B2"


def _good(tmp_path):
    return write_xlsx(tmp_path / "good.xlsx", [FIELDS[:7], ["A", "N", "C", "NY", "community", "yes", "yes"]])


def _renamed(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(_good(tmp_path).read_bytes())
    return path


def _with_part(tmp_path, name, data):
    path = _renamed(tmp_path, "book.xlsx")
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, data)
    return path


def _bytes(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("make,message", [
    pytest.param(lambda t: _renamed(t, "book.xlsm"), ".xlsm files can carry macros and are not read", id="xlsm"),
    pytest.param(lambda t: _with_part(t, "xl/vbaProject.bin", b"\0" * 100), "holds macros (vbaProject.bin)",
                 id="macro-enabled"),
    pytest.param(lambda t: _bytes(t, "locked.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600),
                 "this workbook is encrypted (password-protected)", id="encrypted"),
    pytest.param(lambda t: _with_part(t, "xl/media/padding.bin", b"\0" * (20 * 1024 * 1024)),
                 "(a zip bomb, or far too large); it is not read", id="zip-bomb"),
    pytest.param(lambda t: _bytes(t, "renamed.xlsx", b"%PDF-1.4\n"), "it is a PDF document", id="pdf-as-xlsx"),
    pytest.param(lambda t: _bytes(t, "programs.ods", b"PK"), "expected a .csv or .xlsx file", id="other-format"),
])
def test_refused_workbooks(tmp_path, make, message):
    assert load_programs(_good(tmp_path)).ok
    path = make(tmp_path)
    assert path.stat().st_size < 200_000
    errors = messages(load_programs(path))
    assert len(errors) == 1 and errors[0].startswith(f"{path}:1: ") and message in errors[0], errors


def test_csv_and_xlsx_read_the_same(tmp_path):
    rows = [row("P1", img_percent="33.3", step2_typical=240, website="https://example.org/im"),
            row("1400100001", visa_j1="unknown", failed_attempts="one", usce_required="yes", signals="no")]
    csv_sheet = load_programs(write_sheet(tmp_path, *rows))
    values = [[c for c in line.split(",")] for line in (HEADER, *rows)]
    values = [[int(c) if c.isdigit() else c or None for c in line] for line in values]
    xlsx_sheet = load_programs(write_xlsx(tmp_path / "p.xlsx", values))
    assert xlsx_sheet.programs == csv_sheet.programs and csv_sheet.ok
