"""The applicant's program list to download: .csv and .xlsx, inert cells, no advisor notes."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from generator.render.sheets import neutralise, to_csv, to_xlsx
from tests.conftest import ROOT
from tests.program_sheets import row, write_sheet
from tests.test_build_e2e import AS_OF, run

NASTY = ["=HYPERLINK(\"https://evil.example\",\"x\")", "+1+1", "-2+3", "@SUM(A1:A2)", "\tTabbed", "\rReturn",
         " =spaced", "\uff1dfullwidth"]


@pytest.mark.parametrize("text", NASTY)
def test_cells_that_start_a_formula_get_a_quote(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["Lakeview", "St. Ann's", "", None, 42, "a=b", "Health-Care"])
def test_other_cells_are_left_alone(text):
    assert neutralise(text) == ("" if text is None else str(text))


def test_formula_injection_is_neutralised_in_every_cell():
    table = [["Program", "City"], *[[name, name] for name in NASTY], [245, "ok"]]
    rows = list(csv.reader(io.StringIO(to_csv(table).decode("utf-8-sig"), newline="")))
    assert rows[0] == ["Program", "City"]
    for cells, name in zip(rows[1:], NASTY):
        assert cells == ["'" + name] * 2
    path = io.BytesIO(to_xlsx(table))
    book = openpyxl.load_workbook(path, data_only=False)
    cells = [c for r in book.active.iter_rows() for c in r]
    assert not [c for c in cells if c.data_type == "f"]
    assert [c.value for c in book.active["A"]][1:len(NASTY) + 1] == ["'" + n for n in NASTY]
    assert book.active["A10"].value == 245  # numbers stay numbers
    assert to_xlsx(table) == to_xlsx(table)  # the same list, the same bytes


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    for name in ("profiles", "content", "themes"):
        shutil.copytree(ROOT / name, tmp_path / name)
    rows = [row(f"P{i:03}", name=f"Harbor {i} Medical Center", img_percent=60, step2_typical=200 + i % 40,
                notes="ADVISOR-SECRET-NOTE") for i in range(150)]
    rows.append(row("EVIL", name='"=HYPERLINK(""https://evil.example"",""click"")"', img_percent=99,
                    step2_typical=230, website="https://evil.example/x"))
    write_sheet(tmp_path / "content" / "data", *rows)
    return tmp_path


def guide_folder(out: Path, applicant: str) -> tuple[Path, dict]:
    doc = json.loads((out / "manifest.json").read_text())
    entry = next(e for e in doc["profiles"] if e["id"] == applicant)
    return (out / entry["html"]).parent, entry


def test_the_downloaded_list_reopens_in_csv_and_openpyxl_with_no_formula_and_no_notes(project: Path):
    proc = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out", cwd=project)
    assert proc.returncode == 0, proc.stderr
    folder, entry = guide_folder(project / "out", "aisha-rahman")
    listed = entry["program_list"]
    ids = listed["target"] + listed["reach"] + listed["likely"]
    assert "EVIL" in ids
    with (folder / "program-list.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    assert header[-3:] == ["Applied (date)", "Signal sent", "Interview"]
    assert [r[header.index("Program code")] for r in rows[1:]] == ids
    assert all(r[-3:] == ["", "", ""] for r in rows[1:])
    evil = next(r for r in rows if r[header.index("Program code")] == "EVIL")
    assert evil[header.index("Program")] == "'=HYPERLINK(\"https://evil.example\",\"click\")"
    book = openpyxl.load_workbook(folder / "program-list.xlsx", data_only=False)
    sheet = book.worksheets[0]
    assert not [c for r in sheet.iter_rows() for c in r if c.data_type == "f"]
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    assert values[0] == header and [v[1] for v in values[1:]] == ids
    everything = (folder / "program-list.csv").read_text("utf-8-sig") + json.dumps(values)
    assert "ADVISOR-SECRET-NOTE" not in everything
    assert "ADVISOR-SECRET-NOTE" not in (folder / "index.html").read_text()
    pending, entry = guide_folder(project / "out", "fatima-benali")
    assert entry["program_list"] is None and not (pending / "program-list.csv").exists()


@pytest.mark.slow
def test_the_pdf_shows_the_gold_programs_and_the_appendix(project: Path):
    proc = run("build", "--as-of", AS_OF, "--out", "out", "--only", "aisha-rahman", cwd=project)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((project / "out" / "manifest.json").read_text())
    entry = doc["profiles"][0]
    names = {f"P{i:03}": f"Harbor {i} Medical Center" for i in range(150)}
    reader = PdfReader(project / "out" / entry["pdf"])
    text = " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)
    assert "Gold signals (3)" in text and "Appendix: your program list" in text
    for pid in entry["program_list"]["signals"]["gold"]:
        assert names.get(pid, "HYPERLINK") in text
    assert "ADVISOR-SECRET-NOTE" not in text
    outline = [item.title for item in reader.outline if not isinstance(item, list)]
    assert "Appendix: your program list" in outline
