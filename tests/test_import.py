"""`matchguide import` (CSV -> profiles) and `matchguide new`: YAML the strict loader reads back exactly."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from generator.load import yamlstrict
from generator.cli import main
from generator.errors import InputError
from generator.authoring.importer import COLUMNS, import_csv
from generator.load.profiles import load_profile, load_profiles
from generator.authoring.scaffold import dump, quote, scaffold
from tests.conftest import AS_OF, ROOT

HEADER = list(COLUMNS)


def standard(day: date) -> int:
    return 218 if day >= date(2025, 7, 1) else 214


def write_csv(path: Path, rows: list[dict], header: list[str] = HEADER) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=header, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def row(**cells) -> dict:
    base = {"id": "ana-souza", "name": "Ana Souza", "email": "ana@example.org", "graduation_year": "2022",
            "step1_result": "pass", "step1_attempts": "1"}
    return {**base, **cells}


def run(tmp_path: Path, rows: list[dict], **kw):
    source = write_csv(tmp_path / "cohort.csv", rows)
    return import_csv(source, tmp_path / "profiles", default_cycle=2027, passing_standard=standard, as_of=AS_OF,
                      source="cohort.csv", **kw)


def load(path: Path):
    return load_profile(path, source=path.name, default_cycle=2027, passing_standard=standard, as_of=AS_OF)


def test_a_full_row_becomes_a_profile(tmp_path):
    result = run(tmp_path, [row(
        cycle="2027", step1_score="231", step2_result="Pending", step2_attempts="0", step2_exam_date="2027-05-20",
        practice="2027-04-01 UWSA2 231; 2027-03-01 NBME 13 224", qbank_percent="61.5", visa="J1",
        in_medical_school="FALSE", usce_months="4.5", us_lors="2", research_items="1", target="community",
        oet_passed="yes", ecfmg_certified="no", advisor="Dr. Lee, MD", notes='Line one: "quoted"\nline two # not a comment',
    )])
    assert result.ok and result.rows == 1
    [(number, path)] = result.written
    assert (number, path.name) == (2, "ana-souza.yaml")
    p = load(path)
    assert (p.id, p.name, p.email, p.graduation_year, p.cycle) == ("ana-souza", "Ana Souza", "ana@example.org", 2022, 2027)
    assert (p.step1.result, p.step1.attempts, p.step1.score) == ("pass", 1, 231)
    assert (p.step2_ck.result, p.step2_ck.exam_date, p.step2_ck.qbank_percent) == ("pending", date(2027, 5, 20), 61.5)
    assert [(x.date, x.name, x.score) for x in p.step2_ck.practice] == [
        (date(2027, 3, 1), "NBME 13", 224), (date(2027, 4, 1), "UWSA2", 231)]
    assert (p.visa, p.in_medical_school, p.usce_months, p.oet_passed, p.ecfmg_certified) == ("j1", False, 4.5, True, False)
    assert p.advisor == "Dr. Lee, MD"
    assert p.notes == 'Line one: "quoted"\nline two # not a comment'
    assert path.read_text().startswith("# Imported by `matchguide import` from cohort.csv, row 2.\n")


@pytest.mark.parametrize("name", ["No", "0238", "yes", "null", "~", "- x", "# hash", "a: b", '"quoted"', "back\\slash",
                                  "Zoë Ağaoğlu", "[x](https://evil.example)", "2027-01-01", "12:30:00", "!tag",
                                  "&anchor", "*alias", "@at", "%pct", "`tick`", "'single'", "{a: 1}", "O'Brien, Jr.",
                                  "1e5", ".inf", "0x1F", "true", "on", "N"])
def test_names_that_yaml_would_mangle_round_trip_as_strings(tmp_path, name):
    result = run(tmp_path, [row(name=name, advisor=name)])
    assert result.ok, result.problems
    profile = load(result.written[0][1])
    assert (profile.name, profile.advisor) == (name, name)


def test_bad_rows_are_reported_by_row_and_column_and_write_nothing(tmp_path):
    result = run(tmp_path, [
        row(id="good-one"),
        row(id="bad-score", step2_result="pass", step2_score="abc"),
        row(id="good-two", name="No"),
        row(id="many", step1_attempts="1.5", visa="no", oet_passed="maybe", step2_exam_date="2027-02-30",
            step2_result="pending", email="not-an-email"),
        row(id="bad-practice", practice="2027-03-01 NBME 13 224; 2027-04-01", us_lors="-1"),
        row(id="good-one", name="Second Good One"),
        row(id="../escape"),
        row(id="no-name", name=""),
        row(id="low-pass", step2_result="pass", step2_score="210", step2_exam_date="2026-01-10"),
        row(id="practice-score", practice="2027-03-01 NBME x"),
    ])
    assert sorted(p.name for _, p in result.written) == ["good-one.yaml", "good-two.yaml"]
    assert sorted(f.name for f in (tmp_path / "profiles").iterdir()) == ["good-one.yaml", "good-two.yaml"]
    assert [str(p) for p in result.problems] == [
        "cohort.csv:row 3: step2_score: expected an integer from 1 to 300, got 'abc'",
        "cohort.csv:row 5: email: expected an email address such as name@example.org, got 'not-an-email'",
        "cohort.csv:row 5: step1_attempts: expected an integer from 0 to 6, got 1.5",
        "cohort.csv:row 5: step2_exam_date: '2027-02-30' is not a real date (YYYY-MM-DD)",
        "cohort.csv:row 5: visa: expected one of j1, h1b, either, none, got 'no'; did you mean 'none'?",
        "cohort.csv:row 5: oet_passed: expected true or false, got 'maybe'",
        "cohort.csv:row 6: practice: entry 2 '2027-04-01': expected 'YYYY-MM-DD [name] score', e.g. '2027-03-01 NBME 13 224'",
        "cohort.csv:row 6: us_lors: expected an integer of 0 or more, got -1",
        "cohort.csv:row 7: id: 'good-one' is already used by row 2",
        "cohort.csv:row 8: id: expected an id of lowercase letters, digits and hyphens, starting with a letter or digit, "
        "at most 64 characters, got '../escape'",
        "cohort.csv:row 9: name: required field is missing",
        "cohort.csv:row 10: step2_score: 210 is below the passing standard of 218 in force on 2026-01-10, but result is pass",
        "cohort.csv:row 11: practice: entry 1 score: expected an integer from 1 to 300, got 'x'",
    ]
    assert not (tmp_path / "escape.yaml").exists()
    assert load_profiles(tmp_path / "profiles", default_cycle=2027, passing_standard=standard, as_of=AS_OF)[1] == []


def test_existing_profiles_change_only_with_overwrite_and_the_change_is_named(tmp_path):
    first = run(tmp_path, [row(name="First")])
    assert first.ok
    again = run(tmp_path, [row(name="Second")])
    assert [str(p) for p in again.problems] == [
        f"cohort.csv:row 2: id: {tmp_path / 'profiles' / 'ana-souza.yaml'} exists and the row would change "
        "name ('First' -> 'Second'); add --overwrite to update these fields (fields the sheet leaves out or empty "
        "keep their values)"]
    assert load(tmp_path / "profiles" / "ana-souza.yaml").name == "First"
    replaced = run(tmp_path, [row(name="Second")], overwrite=True)
    assert replaced.ok and load(tmp_path / "profiles" / "ana-souza.yaml").name == "Second"
    assert [str(o) for o in replaced.outcomes] == [
        f"row 2: updated {tmp_path / 'profiles' / 'ana-souza.yaml'}: name ('First' -> 'Second')"]


def test_header_problems_stop_the_whole_file(tmp_path):
    source = write_csv(tmp_path / "c.csv", [{"id": "a", "name": "A"}], header=["id", "name", "Step2Score"])
    with pytest.raises(InputError) as caught:
        import_csv(source, tmp_path / "profiles", default_cycle=2027, passing_standard=standard, as_of=AS_OF,
                   source="c.csv")
    messages = [str(p) for p in caught.value.problems]
    assert "c.csv:row 1: Step2Score: unknown column; did you mean 'step2_score'? (its values would be lost)" in messages
    assert "c.csv:row 1: email: required column is missing" in messages
    assert not (tmp_path / "profiles").exists()


def test_excel_csv_with_bom_and_only_some_columns(tmp_path):
    text = "\ufeffId,Name,Email,Graduation_Year,Step1_Result,Step1_Attempts,practice\r\n" \
           "zoe,Zoë,zoe@example.org,2021,pass,1,2027-03-01 NBME 13 224\r\n,,,,,,\r\n"
    source = tmp_path / "c.csv"
    source.write_bytes(text.encode("utf-8"))
    result = import_csv(source, tmp_path / "p", default_cycle=2027, passing_standard=standard, as_of=AS_OF)
    assert result.ok and result.rows == 1
    profile = load(tmp_path / "p" / "zoe.yaml")
    assert profile.name == "Zoë" and profile.step2_ck.result == "pending"  # practice only: not taken yet


def test_cli_import_reports_and_exits_1(tmp_path, capsys):
    source = write_csv(tmp_path / "cohort.csv", [row(), row(id="bad", step2_result="pass", step2_score="abc")])
    code = main(["import", str(source), "--dir", str(tmp_path / "profiles"), "--content", str(ROOT / "content"),
                 "--as-of", "2026-11-25"])
    out, err = capsys.readouterr()
    assert code == 1
    assert f"row 2: wrote {tmp_path / 'profiles' / 'ana-souza.yaml'}" in out
    assert f"error: {source}:row 3: step2_score: expected an integer from 1 to 300, got 'abc'" in err
    assert "imported 2 row(s): 1 new, 0 updated, 0 unchanged, 1 with problems (not written)" in out
    assert main(["import", str(write_csv(tmp_path / "ok.csv", [row(id="ok")])), "--dir", str(tmp_path / "profiles"),
                 "--content", str(ROOT / "content"), "--as-of", "2026-11-25"]) == 0


# Any text the strict loader accepts: no lone surrogates, controls (but tab and line breaks) or noncharacters.
text_values = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Cn"), whitelist_characters="\t\n\r"),
                      max_size=40)


@settings(max_examples=300, deadline=None)
@given(text_values)
def test_quote_round_trips_any_text_through_the_strict_loader(value):
    document, problems = yamlstrict.parse(f"k: {quote(value)}\n", "t")
    assert problems == [] and document.data == {"k": value}


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x85", "\ufffe", "\U0001ffff", "\ufdd0"])
def test_quote_never_smuggles_a_character_the_loader_refuses(char):
    _, problems = yamlstrict.parse(f"k: {quote('a' + char + 'b')}\n", "t")
    assert len(problems) == 1 and f"U+{ord(char):04X}" in problems[0].message and problems[0].line == 1


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["name", "advisor", "notes", "visa"]), text_values, min_size=1))
def test_dump_round_trips_mappings(values):
    data = {**values, "nested": {"n": 1, "x": 2.5, "d": date(2027, 1, 2), "items": [{"name": v} for v in values.values()]}}
    document, problems = yamlstrict.parse(dump(data, header=["a comment"]), "t")
    assert problems == [] and document.data == data


def test_new_writes_a_valid_profile_and_never_overwrites(tmp_path):
    path = scaffold(tmp_path, "aisha-rahman", name="No", email=None, graduation_year=2026)
    profile = load(path)
    assert (profile.id, profile.name, profile.email) == ("aisha-rahman", "No", "aisha-rahman@example.invalid")
    text = path.read_text()
    assert "# step2_ck:" in text and "# notes: |" in text
    before = path.read_bytes()
    with pytest.raises(InputError, match="already exists"):
        scaffold(tmp_path, "aisha-rahman", name="Other", graduation_year=2026)
    assert path.read_bytes() == before
    assert load(scaffold(tmp_path, "wei", graduation_year=2026)).name == "Wei"



def test_new_refuses_an_id_already_held_by_a_yml_or_otherwise_named_file(tmp_path):
    yml = tmp_path / "aisha-rahman.yml"
    scaffold(tmp_path, "aisha-rahman", graduation_year=2026).rename(yml)
    with pytest.raises(InputError, match=f"{yml}: already exists"):
        scaffold(tmp_path, "aisha-rahman", graduation_year=2026)
    other = tmp_path / "wei-2024.yaml"
    other.write_text(scaffold(tmp_path, "wei", graduation_year=2026).read_text())
    (tmp_path / "wei.yaml").unlink()
    with pytest.raises(InputError, match=f"{other}: already exists"):
        scaffold(tmp_path, "wei", graduation_year=2026)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aisha-rahman.yml", "wei-2024.yaml"]

def test_new_refuses_bad_input_and_writes_nothing(tmp_path):
    with pytest.raises(InputError, match="email: expected an email address"):
        scaffold(tmp_path, "x", email="not an email", graduation_year=2026)
    with pytest.raises(InputError, match="id: expected lowercase letters"):
        scaffold(tmp_path, "../x", graduation_year=2026)
    assert list(tmp_path.iterdir()) == []


def test_cli_new(tmp_path, capsys):
    assert main(["new", "mei-lin", "--name", "Mei: Lin #1", "--email", "mei@example.org", "--dir", str(tmp_path)]) == 0
    assert "wrote" in capsys.readouterr().out
    assert load(tmp_path / "mei-lin.yaml").name == "Mei: Lin #1"
    assert main(["new", "mei-lin", "--dir", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_trailing_empty_columns_are_ignored_but_not_their_values(tmp_path):
    text = "id,name,email,graduation_year,step1_result,step1_attempts,,\r\n" \
           "a,A,a@example.org,2021,pass,1,,\r\n" \
           "b,B,b@example.org,2021,pass,1,,stray\r\n"
    source = tmp_path / "c.csv"
    source.write_text(text)
    result = import_csv(source, tmp_path / "p", default_cycle=2027, passing_standard=standard, as_of=AS_OF,
                        source="c.csv")
    assert [p.name for _, p in result.written] == ["a.yaml"]
    assert [str(p) for p in result.problems] == ["c.csv:row 3: the value 'stray' is in a column without a header"]
