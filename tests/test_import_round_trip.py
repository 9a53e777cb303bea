"""Import is a round trip: hand edits survive, identical rows are unchanged, export -> import changes nothing."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from generator.authoring.columns import COLUMNS
from generator.authoring.export import export_csv
from generator.errors import InputError
from generator.authoring.importer import import_csv
from generator.load.profiles import load_profile, load_profiles
from generator.authoring.scaffold import dump
from tests.conftest import AS_OF, ROOT
from tests.test_import import load, row, run, standard, write_csv

CHECKS = {"default_cycle": 2027, "passing_standard": standard, "as_of": AS_OF}


def profile_values(profile) -> dict:
    """The profile's values; text compared without surrounding blanks (a cell keeps no trailing line break)."""
    values = {f.name: getattr(profile, f.name) for f in fields(profile) if f.name not in ("source", "digest", "lines")}
    return {k: v.strip() if isinstance(v, str) else v for k, v in values.items()}


def test_a_field_the_sheet_does_not_give_keeps_its_hand_written_value(tmp_path):
    assert run(tmp_path, [row(usce_months="2", notes="from the sheet")]).ok
    path = tmp_path / "profiles" / "ana-souza.yaml"
    text = path.read_text()
    path.write_text("# Met at the Lahore fair.\n" + text.replace("usce_months: 2", "usce_months: 6  # observership")
                    + "visa: h1b\n")
    # The sheet has no `visa` column and an empty usce_months cell: both keep the hand-written values.
    source = write_csv(tmp_path / "cohort.csv", [row(usce_months="", notes="new note")],
                       header=[c for c in COLUMNS if c != "visa"])
    refused = import_csv(source, tmp_path / "profiles", source="cohort.csv", **CHECKS)
    assert [p.message.split(";")[0] for p in refused.problems] == [
        f"{path} exists and the row would change notes ('from the sheet' -> 'new note')"]
    merged = import_csv(source, tmp_path / "profiles", source="cohort.csv", overwrite=True, **CHECKS)
    assert merged.ok and [o.state for o in merged.outcomes] == ["updated"]
    profile = load(path)
    assert (profile.visa, profile.usce_months, profile.notes) == ("h1b", 6, "new note")
    outcome = str(merged.outcomes[0])
    assert "kept the profile's usce_months (empty in the sheet" in outcome
    assert "comments on line(s) " in outcome and "are not kept" in outcome
    assert path.read_text().startswith("# Met at the Lahore fair.\n# Imported by `matchguide import` from cohort.csv")



@pytest.mark.parametrize("name", ["ana-souza.yml", "ana-souza.YAML", "souza-2024.yaml"])
def test_a_row_updates_the_file_that_holds_its_id_whatever_its_name(tmp_path, name):
    assert run(tmp_path, [row(notes="first")]).ok
    profiles = tmp_path / "profiles"
    hand = profiles / name
    (profiles / "ana-souza.yaml").rename(hand)
    assert "id: ana-souza" in hand.read_text()  # so a file named otherwise still says whose profile it is
    source = write_csv(tmp_path / "cohort.csv", [row(notes="second")])
    result = import_csv(source, profiles, source="cohort.csv", overwrite=True, **CHECKS)
    assert result.ok and [(o.state, o.path) for o in result.outcomes] == [("updated", hand)]
    assert sorted(p.name for p in profiles.iterdir()) == [name]  # no second file with the same id
    assert load(hand).notes == "second"
    unchanged = import_csv(source, profiles, source="cohort.csv", **CHECKS)
    assert [o.state for o in unchanged.outcomes] == ["unchanged"]

def test_rows_identical_to_the_profiles_are_unchanged_and_not_problems(tmp_path):
    rows = [row(), row(id="bo-li", name="Bo Li", email="bo@example.org", notes="two\nlines", usce_months="4.5")]
    assert run(tmp_path, rows).ok
    before = {p: p.read_bytes() for p in (tmp_path / "profiles").iterdir()}
    for overwrite in (False, True):
        again = run(tmp_path, rows, overwrite=overwrite)
        assert again.ok and [o.state for o in again.outcomes] == ["unchanged", "unchanged"]
        assert again.summary() == "imported 2 row(s): 0 new, 0 updated, 2 unchanged, 0 with problems (not written)"
        assert {p: p.read_bytes() for p in (tmp_path / "profiles").iterdir()} == before


def test_extra_columns_warn_once_and_country_and_school_are_kept(tmp_path):
    header = ["id", "name", "email", "graduation_year", "step1_result", "step1_attempts", "Country", "School",
              "called on", "Phone"]
    source = write_csv(tmp_path / "c.csv", [row(Country="Egypt", School="Cairo University", **{"called on": "Mon"},
                                                 Phone="123"), row(id="b", Country="Peru")], header=header)
    result = import_csv(source, tmp_path / "p", source="c.csv", **CHECKS)
    assert result.ok and result.count("new") == 2
    [warning] = result.warnings
    assert str(warning).startswith("c.csv:row 1: called on, Phone: columns are not imported (not a profile field); "
                                   "the columns read are: id, name, email,")
    assert "country, medical_school" in warning.message
    profile = load(tmp_path / "p" / "ana-souza.yaml")
    assert (profile.country, profile.medical_school) == ("Egypt", "Cairo University")


def test_a_semicolon_file_with_decimal_commas_is_read(tmp_path):
    source = tmp_path / "c.csv"
    source.write_bytes("\ufeffid;name;email;graduation_year;step1_result;step1_attempts;usce_months;practice\r\n"
                       'ana;Ana, MD;ana@example.org;2021;pass;1;4,5;"2027-03-01 NBME 13 224; 2027-04-01 UWSA2 231"\r\n'
                       .encode("utf-8"))
    result = import_csv(source, tmp_path / "p", **CHECKS)
    assert result.ok, result.problems
    profile = load(tmp_path / "p" / "ana.yaml")
    assert (profile.name, profile.usce_months, len(profile.step2_ck.practice)) == ("Ana, MD", 4.5, 2)


def test_a_day_first_date_says_how_to_write_it(tmp_path):
    result = run(tmp_path, [row(step2_result="pending", step2_exam_date="15/06/2027")])
    assert [str(p) for p in result.problems] == [
        "cohort.csv:row 2: step2_exam_date: expected a date written as YYYY-MM-DD, got '15/06/2027'"]


def test_export_then_import_changes_nothing(tmp_path):
    profiles = tmp_path / "profiles"
    shutil.copytree(ROOT / "profiles", profiles)
    text, exported = export_csv(profiles, **CHECKS)
    assert exported.ok and len(exported.ids) == len(list(profiles.glob("*.yaml"))) >= 10
    sheet = tmp_path / "cohort.csv"
    sheet.write_text(text, encoding="utf-8")
    before = {p.name: p.read_bytes() for p in profiles.iterdir()}
    back = import_csv(sheet, profiles, overwrite=True, **CHECKS)
    assert back.ok and back.count("unchanged") == len(exported.ids), [str(o) for o in back.outcomes if o.changes]
    assert {p.name: p.read_bytes() for p in profiles.iterdir()} == before
    # Into an empty folder, the export rebuilds every profile with the same values.
    fresh = import_csv(sheet, tmp_path / "fresh", **CHECKS)
    assert fresh.ok and fresh.count("new") == len(exported.ids)
    for path in sorted(profiles.glob("*.yaml")):
        original = load_profile(path, source=path.name, **CHECKS)
        again = load_profile(tmp_path / "fresh" / path.name, source=path.name, **CHECKS)
        assert profile_values(again) == profile_values(original), path.name


@pytest.mark.parametrize("name", ["=HYPERLINK(\"http://x\")", "+1", "-x", "@SUM(A1)", "'=quoted", "''=two"])
def test_cells_that_a_spreadsheet_would_run_are_exported_inert_and_read_back(tmp_path, name):
    (tmp_path / "profiles").mkdir()
    (tmp_path / "profiles" / "ana-souza.yaml").write_text(dump({"name": name, "email": "ana@example.org",
                                                              "graduation_year": 2022,
                                                              "step1": {"result": "pass", "attempts": 1},
                                                              "advisor": name}))
    text, result = export_csv(tmp_path / "profiles", **CHECKS)
    assert result.ok
    [cells] = list(csv.reader(io.StringIO(text)))[1:]
    assert cells[1] == cells[-4] == "'" + name
    assert not any(cell[:1] in "=+-@" for cell in cells if cell)
    (tmp_path / "out.csv").write_text(text)
    again = import_csv(tmp_path / "out.csv", tmp_path / "profiles", **CHECKS)
    assert again.ok and again.count("unchanged") == 1
    assert load(tmp_path / "profiles" / "ana-souza.yaml").name == name


def test_export_reports_invalid_profiles_and_leaves_them_out(tmp_path):
    assert run(tmp_path, [row()]).ok
    (tmp_path / "profiles" / "bad.yaml").write_text("name: Bad\n")
    text, result = export_csv(tmp_path / "profiles", **CHECKS)
    assert result.ids == ["ana-souza"] and len(text.splitlines()) == 2
    assert any(p.field == "email" and p.source.endswith("bad.yaml") for p in result.problems)


def test_a_profile_that_cannot_be_parsed_is_never_overwritten(tmp_path):
    assert run(tmp_path, [row()]).ok
    path = tmp_path / "profiles" / "ana-souza.yaml"
    path.write_text("name: [broken\n")
    result = run(tmp_path, [row()], overwrite=True)
    assert not result.ok and "cannot be read to merge the row into it" in result.problems[0].message
    assert path.read_text() == "name: [broken\n"
    with pytest.raises(InputError):
        load(path)
    assert load_profiles(tmp_path / "profiles", **CHECKS)[0] == []


def test_importing_over_a_new_profile_drops_only_what_new_wrote(tmp_path):
    from generator.authoring.scaffold import scaffold

    path = scaffold(tmp_path / "profiles", "ana-souza")
    assert "# Placeholders from `matchguide new`: name, email, graduation_year" in path.read_text()
    result = run(tmp_path, [row()], overwrite=True)
    assert result.ok and [o.state for o in result.outcomes] == ["updated"]
    assert result.outcomes[0].notes == []  # the template's own comments are not the advisor's
    text = path.read_text()
    assert "Placeholders" not in text and "# Fill in the required fields" not in text
    assert load(path).email == "ana@example.org"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_export_then_import_is_unchanged_and_hand_edits_survive(tmp_path):
    shutil.copytree(ROOT / "profiles", tmp_path / "profiles")
    shutil.copytree(ROOT / "content", tmp_path / "content")
    count = len(list((tmp_path / "profiles").glob("*.yaml")))
    done = cli("export", "cohort.csv", "--as-of", "2026-11-25", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"exported {count} profile(s) to cohort.csv"
    assert (tmp_path / "cohort.csv").read_bytes().startswith(b"\xef\xbb\xbfid,name,email,")
    again = cli("import", "cohort.csv", "--as-of", "2026-11-25", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"imported {count} row(s): 0 new, 0 updated, {count} unchanged, 0 with problems (not written)" in again.stdout
    # A hand edit, then an import of the old sheet: the edit is named, kept without --overwrite ...
    profile = tmp_path / "profiles" / "aisha-rahman.yaml"
    profile.write_text(profile.read_text().replace("usce_months: 4", "usce_months: 7"))
    refused = cli("import", "cohort.csv", "--as-of", "2026-11-25", cwd=tmp_path)
    assert refused.returncode == 1
    assert "cohort.csv:row 2: id: profiles/aisha-rahman.yaml exists and the row would change usce_months (7 -> 4)" \
        in refused.stderr
    assert "usce_months: 7" in profile.read_text()
    # ... and a sheet without that column never touches it, even with --overwrite.
    rows = list(csv.reader(io.StringIO((tmp_path / "cohort.csv").read_text("utf-8-sig"), newline="")))
    column = rows[0].index("usce_months")
    with open(tmp_path / "partial.csv", "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([cell for i, cell in enumerate(r) if i != column] for r in rows)
    merged = cli("import", "partial.csv", "--overwrite", "--as-of", "2026-11-25", cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert f"{count} unchanged" in merged.stdout
    assert "usce_months: 7" in profile.read_text()


def test_cli_import_says_how_to_write_a_day_first_date(tmp_path):
    shutil.copytree(ROOT / "content", tmp_path / "content")
    (tmp_path / "c.csv").write_text("id;name;email;graduation_year;step1_result;step1_attempts;step2_exam_date\n"
                                    "ana;Ana;ana@example.org;2021;pass;1;15/06/2027\n"
                                    "bo;Bo;bo@example.org;2021;pass;1;2027-06-15\n", encoding="utf-8")
    done = cli("import", "c.csv", "--as-of", "2026-11-25", cwd=tmp_path)
    assert done.returncode == 1
    assert "error: c.csv:row 2: step2_exam_date: expected a date written as YYYY-MM-DD, got '15/06/2027'" in done.stderr
    assert "row 3: wrote profiles/bo.yaml" in done.stdout and not (tmp_path / "profiles" / "ana.yaml").exists()


def test_cli_import_warns_about_extra_columns_and_reads_semicolons(tmp_path):
    shutil.copytree(ROOT / "content", tmp_path / "content")
    (tmp_path / "c.csv").write_text("id;name;email;graduation_year;step1_result;step1_attempts;Country;called on\n"
                                    "ana;Ana;ana@example.org;2021;pass;1;Brazil;Monday\n", encoding="utf-8")
    done = cli("import", "c.csv", "--as-of", "2026-11-25", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("warning: c.csv:row 1: called on: column is not imported (not a profile field); "
                             "the columns read are: id, name, email, graduation_year,") == 1
    assert "row 2: wrote profiles/ana.yaml" in done.stdout
    assert 'country: Brazil' in (tmp_path / "profiles" / "ana.yaml").read_text()


def test_cli_imports_an_excel_workbook_with_typed_cells(tmp_path):
    import openpyxl

    shutil.copytree(ROOT / "content", tmp_path / "content")
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["ID", "Name", "Email", "Graduation Year", "step1_result", "step1_attempts", "step2_result",
                  "step2_exam_date", "usce_months", "in_medical_school", "called on"])
    sheet.append(["ana-lima", "Ana Lima", "ana@example.org", 2021, "Pass", 1, "pending", dt.datetime(2027, 6, 15),
                  4.5, False, "Monday"])
    book.save(tmp_path / "cohort.xlsx")
    done = cli("import", "cohort.xlsx", "--as-of", "2026-11-25", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "row 2: wrote profiles/ana-lima.yaml" in done.stdout
    assert "warning: cohort.xlsx:row 1: called on: column is not imported" in done.stderr
    profile = load(tmp_path / "profiles" / "ana-lima.yaml")
    assert (profile.graduation_year, profile.step2_ck.exam_date, profile.usce_months, profile.in_medical_school) == (
        2021, dt.date(2027, 6, 15), 4.5, False)
    again = cli("import", "cohort.xlsx", "--as-of", "2026-11-25", cwd=tmp_path)
    assert again.returncode == 0 and "1 unchanged" in again.stdout


# --- property: any valid profile survives export -> import -------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp", "Cf")), min_size=1, max_size=30).filter(
    lambda s: s.strip() and "=?" not in s)
_TRICKY = st.sampled_from(["=1+1", "+49 30", "-x", "@home", "'quoted'", "a, b; c", 'say "hi"', "0238", "yes", "No",
                           "2027-01-01", "  padded  ", "Zoë Ağaoğlu", "# not a comment", "null"])
_WORDS = st.lists(st.sampled_from(["NBME", "UWSA", "13", "Free", "120", "Form"]), min_size=1, max_size=3).map(" ".join)


@st.composite
def valid_profile(draw: st.DrawFn) -> dict:
    text = st.one_of(_TEXT, _TRICKY)
    data: dict = {"name": draw(text), "email": "a.b@example.org", "graduation_year": draw(st.integers(2000, 2026)),
                  "step1": {"result": "pass", "attempts": draw(st.integers(1, 3))}}
    if draw(st.booleans()):
        data["step1"]["score"] = draw(st.integers(180, 260))
    if draw(st.booleans()):
        exams = draw(st.lists(st.tuples(st.dates(dt.date(2026, 1, 1), dt.date(2027, 8, 1)),
                                        st.one_of(st.none(), _WORDS), st.integers(150, 280)), max_size=3))
        data["step2_ck"] = {"result": "pending", "practice": [
            {"date": d, **({"name": n} if n else {}), "score": s} for d, n, s in exams],
            "qbank_percent": draw(st.integers(0, 1000)) / 10}
        if not exams:
            del data["step2_ck"]["practice"]
    optional = {"visa": st.sampled_from(["j1", "h1b", "either", "none"]), "in_medical_school": st.booleans(),
                "usce_months": st.integers(0, 48).map(lambda n: n / 2), "us_lors": st.integers(0, 5),
                "target": st.sampled_from(["academic", "community"]), "oet_passed": st.booleans(),
                "advisor": text, "country": text, "medical_school": text,
                "notes": st.lists(text, min_size=1, max_size=3).map("\n".join)}
    for key, values in optional.items():
        if draw(st.booleans()):
            data[key] = draw(values)
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(profiles=st.lists(valid_profile(), min_size=1, max_size=3))
def test_any_valid_cohort_survives_export_then_import(tmp_path_factory, profiles):
    folder = tmp_path_factory.mktemp("cohort")
    ids = []
    for i, data in enumerate(profiles):
        path = folder / "profiles" / f"p-{i}.yaml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(dump(data), encoding="utf-8")
        try:
            load_profile(path, source=path.name, **CHECKS)
        except InputError:
            path.unlink()
            continue
        ids.append(f"p-{i}")
    assume(ids)
    text, exported = export_csv(folder / "profiles", **CHECKS)
    assert exported.ok and exported.ids == ids
    (folder / "c.csv").write_bytes(text.encode("utf-8-sig"))
    before = {p.name: p.read_bytes() for p in (folder / "profiles").iterdir()}
    back = import_csv(folder / "c.csv", folder / "profiles", overwrite=True, **CHECKS)
    assert back.ok and back.count("unchanged") == len(ids), [str(o) for o in back.outcomes] + back.problems
    assert {p.name: p.read_bytes() for p in (folder / "profiles").iterdir()} == before
    fresh = import_csv(folder / "c.csv", folder / "fresh", **CHECKS)
    assert fresh.ok and fresh.count("new") == len(ids), fresh.problems
    for name in ids:
        original = load_profile(folder / "profiles" / f"{name}.yaml", source=name, **CHECKS)
        again = load_profile(folder / "fresh" / f"{name}.yaml", source=name, **CHECKS)
        assert profile_values(again) == profile_values(original)
