"""The program list end to end, through the real CLI: manifests, incremental builds, bad spreadsheets."""

from __future__ import annotations

import csv
import json
import re
import shutil
from pathlib import Path

import pytest

from generator.decide.facts import derive
from generator.decide.program_list import ProgramIndex, decide, digest_of
from generator.load.profiles import load_profiles
from generator.load.programs import load_programs
from generator.load.strategy import load_strategy
from tests.conftest import ROOT
from tests.program_sheets import write_xlsx
from tests.test_build_e2e import AS_OF, run

SAMPLE = ROOT / "content" / "data" / "programs.csv"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of the project's inputs, its program spreadsheet included."""
    for name in ("profiles", "content", "themes"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


def manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def built_count(stdout: str) -> tuple[int, int]:
    m = re.search(r"built (\d+) guide\(s\), (\d+) unchanged", stdout)
    assert m, stdout
    return int(m.group(1)), int(m.group(2))


def as_xlsx(source: Path, target: Path) -> Path:
    """The same spreadsheet as Excel keeps it: numbers as numbers, the comment row first."""
    with source.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))

    def cell(text: str) -> object:
        if re.fullmatch(r"-?[0-9]+", text):
            return int(text)
        if re.fullmatch(r"-?[0-9]+\.[0-9]+", text):
            return float(text)
        return text or None

    return write_xlsx(target, [[cell(c) for c in r] for r in rows])


def test_csv_and_xlsx_give_identical_manifests(project: Path):
    xlsx = as_xlsx(project / "content/data/programs.csv", project / "programs.xlsx")
    a = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out-csv", cwd=project)
    b = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out-xlsx", "--programs", str(xlsx), cwd=project)
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    csv_doc, xlsx_doc = manifest(project / "out-csv"), manifest(project / "out-xlsx")
    assert csv_doc == xlsx_doc
    lists = [e["program_list"] for e in csv_doc["profiles"]]
    assert sum(1 for pl in lists if pl) >= 10 and any(pl and pl["short"] for pl in lists)
    for entry in csv_doc["profiles"]:
        assert (entry["program_list"] is None) == (entry["band"] == "pending")


def test_no_spreadsheet_builds_guides_without_lists(project: Path):
    (project / "content/data/programs.csv").unlink()
    proc = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out", cwd=project)
    assert proc.returncode == 0, proc.stderr
    doc = manifest(project / "out")
    assert doc["errors"] == [] and all(e["program_list"] is None for e in doc["profiles"])
    missing = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out", "--programs", "nowhere.csv", cwd=project)
    assert missing.returncode == 1 and "nowhere.csv:1: cannot read the file" in missing.stderr


def test_a_bad_spreadsheet_gives_located_errors_and_guides_without_lists(project: Path):
    path = project / "content/data/programs.csv"
    lines = path.read_text().splitlines()
    lines[5] = lines[5].replace(",community,", ",clinic,").replace(",academic,", ",clinic,").replace(
        ",university-affiliated,", ",clinic,")
    lines[9] = lines[9].split(",", 1)[0] + ",Name,Town,ZZ," + lines[9].split(",", 4)[4]
    path.write_text("\n".join(lines) + "\n")
    proc = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out", cwd=project)
    assert proc.returncode == 1
    assert "content/data/programs.csv:6: type: expected academic, university-affiliated or community, got 'clinic'" \
        in proc.stderr
    doc = manifest(project / "out")
    assert {(e["source"], e["line"], e["field"]) for e in doc["errors"]} == {
        ("content/data/programs.csv", 6, "type"), ("content/data/programs.csv", 10, "state")}
    assert len(doc["profiles"]) == 16 and all(e["program_list"] is None for e in doc["profiles"])
    html = (project / "out" / doc["profiles"][0]["html"]).read_text()
    assert "Your program list" in html


def test_check_strict_fails_on_an_unknown_column(project: Path):
    path = project / "content/data/programs.csv"
    lines = path.read_text().splitlines()
    lines = [lines[0], lines[1] + ",favourite", *(line + ",x" for line in lines[2:])]
    path.write_text("\n".join(lines) + "\n")
    loose = run("check", "--as-of", AS_OF, "--quiet", cwd=project)
    assert loose.returncode == 0 and "content/data/programs.csv:2: favourite: unknown column, ignored" in loose.stderr
    strict = run("check", "--as-of", AS_OF, "--quiet", "--strict", cwd=project)
    assert strict.returncode == 1


def test_one_changed_program_rebuilds_exactly_the_guides_whose_list_changed(project: Path):
    first = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out", cwd=project)
    assert first.returncode == 0, first.stderr
    path = project / "content/data/programs.csv"
    before = load_programs(path)
    doc = manifest(project / "out")
    # The program that is on the most lists, and needed as a J-1 program: flip its J-1 column to `no`.
    counts: dict[str, int] = {}
    for e in doc["profiles"]:
        for c in ("reach", "target", "likely"):
            for pid in (e["program_list"] or {}).get(c, []):
                counts[pid] = counts.get(pid, 0) + 1
    target = next(p for p in sorted(before.programs, key=lambda p: -counts.get(p.id, 0)) if p.visa_j1 == "yes")
    text = path.read_text().splitlines()
    i = next(n for n, line in enumerate(text) if line.startswith(target.id + ","))
    cells = next(csv.reader([text[i]]))
    cells[5] = "no"
    text[i] = ",".join(f'"{c}"' if "," in c else c for c in cells)
    path.write_text("\n".join(text) + "\n")
    after = load_programs(path)
    assert after.ok

    strategy = load_strategy(project / "content/data/strategy.yaml")
    profiles, _ = load_profiles(project / "profiles", default_cycle=2027, passing_standard=strategy.standard_on,
                                as_of=__import__("datetime").date.fromisoformat(AS_OF))
    old, new = (ProgramIndex(s.programs, strategy.program_list) for s in (before, after))
    changed = set()
    for profile in profiles:
        facts = derive(profile, strategy, __import__("datetime").date.fromisoformat(AS_OF))
        if digest_of(decide(facts, old)) != digest_of(decide(facts, new)):
            changed.add(profile.id)
    assert 0 < len(changed) < len(profiles)

    second = run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out", cwd=project)
    assert second.returncode == 0, second.stderr
    assert built_count(second.stdout) == (len(changed), len(profiles) - len(changed))
    doc2 = manifest(project / "out")
    moved = {e["id"] for e, f in zip(doc["profiles"], doc2["profiles"]) if e["program_list"] != f["program_list"]}
    assert moved <= changed
    assert all(target.id not in (e["program_list"] or {}).get("target", []) for e in doc2["profiles"]
               if e["id"] in changed and profiles and next(p for p in profiles if p.id == e["id"]).visa == "j1")


def test_email_notices_a_spreadsheet_changed_since_the_build(project: Path):
    from generator.deliver.sending import EmailOptions, stale_program_sheet

    assert run("build", "--no-pdf", "--as-of", AS_OF, "--out", "out", cwd=project).returncode == 0
    doc = manifest(project / "out")
    assert doc["program_sheet"]["programs"] == 320 and doc["program_sheet"]["errors"] == 0
    options = EmailOptions(out_dir=project / "out", theme_dir=project / "themes/default", ledger_path=project / "l")
    import os

    here = os.getcwd()
    os.chdir(project)
    try:
        assert stale_program_sheet(doc, options) is None
        path = project / "content/data/programs.csv"
        path.write_text(path.read_text().replace(",community,", ",academic,", 1))
        stale = stale_program_sheet(doc, options)
        assert stale and "changed since the last build" in stale.message
    finally:
        os.chdir(here)
    dry = run("email", "--out", "out", cwd=project)
    assert "the program spreadsheet changed since the last build" in dry.stderr + dry.stdout


def test_serve_watches_a_spreadsheet_given_by_path(tmp_path: Path):
    from generator.authoring.serve import changes, snapshot

    sheet = tmp_path / "elsewhere" / "programs.xlsx"
    sheet.parent.mkdir()
    sheet.write_bytes(b"one")
    before = snapshot([tmp_path / "content-missing", sheet])
    assert list(before) == [str(sheet)]
    sheet.write_bytes(b"a longer one")
    assert changes(before, snapshot([sheet])) == [str(sheet)]


def test_explain_and_coverage_show_every_program():
    only = run("explain", "aisha-rahman", "--as-of", AS_OF, "--programs-only", cwd=ROOT)
    assert only.returncode == 0, only.stderr
    lines = only.stdout.splitlines()
    assert lines[0].startswith("aisha-rahman: Aisha Rahman") and "program list: 160 of 320 programs" in lines[1]
    marked = [line for line in lines if line.startswith(("    ✓ ", "    · "))]
    assert len(marked) == 320 and sum(line.startswith("    ✓ ") for line in marked) == 160
    assert all("left out:" in line or ": " in line for line in marked)
    full = run("explain", "aisha-rahman", "--as-of", AS_OF, cwd=ROOT)
    assert "band " in full.stdout and "program list: 160 of 320 programs" in full.stdout
    cov = run("check", "--as-of", AS_OF, "--quiet", "--coverage", cwd=ROOT)
    assert cov.returncode == 0, cov.stderr
    assert "program list coverage: 13 of 16 applicants have a list" in cov.stdout
    assert "on nobody's list (" in cov.stdout
