"""The profile schema: every rule of shared/spec/profile-format.md, the sample cohort, cohort loading."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import pytest
import yaml

from generator.errors import InputError, Problem
from generator.load.profiles import Profile, Step1, Step2, load_profile, load_profiles

ROOT = Path(__file__).resolve().parents[1]
AS_OF = dt.date(2026, 11, 25)

VALID = """\
name: Aisha Rahman
email: aisha.rahman@example.org
graduation_year: 2020
step1:
  result: pass
  attempts: 1
step2_ck:
  result: pass
  score: 238
  attempts: 1
  exam_date: 2026-05-20
  practice:
    - {date: 2026-03-01, name: NBME 13, score: 224}
  qbank_percent: 61
visa: j1
"""


def passing_standard(on: dt.date) -> int:
    return 218 if on >= dt.date(2025, 7, 1) else 214


def load_text(tmp_path: Path, text: str, name: str = "aisha-rahman.yaml", as_of: dt.date = AS_OF) -> Profile:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_profile(path, source=f"profiles/{name}", default_cycle=2027, passing_standard=passing_standard, as_of=as_of)


def errors(tmp_path: Path, text: str, name: str = "aisha-rahman.yaml", as_of: dt.date = AS_OF) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_text(tmp_path, text, name, as_of)
    return [str(problem) for problem in caught.value.problems]


def error(tmp_path: Path, text: str, name: str = "aisha-rahman.yaml") -> str:
    found = errors(tmp_path, text, name)
    assert len(found) == 1, found
    return found[0]


def with_line(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


# --- a valid profile ------------------------------------------------------------


def test_valid_profile_loads_with_defaults(tmp_path: Path) -> None:
    profile = load_text(tmp_path, VALID)
    assert profile.id == "aisha-rahman"  # the file's stem
    assert profile.cycle == 2027  # the site's cycle
    assert profile.step1.result == "pass" and profile.step1.attempts == 1 and profile.step1.score is None
    assert profile.step2_ck is not None and profile.step2_ck.score == 238
    assert profile.step2_ck.practice[0].name == "NBME 13" and profile.step2_ck.practice[0].date == dt.date(2026, 3, 1)
    assert profile.in_medical_school is False
    assert profile.usce_months is None and profile.advisor is None and profile.notes is None
    assert profile.source == "profiles/aisha-rahman.yaml"
    assert profile.digest == hashlib.sha256(VALID.encode()).hexdigest()
    assert profile.line_of(("step2_ck", "score")) == 9


SPEC = Path("/work/shared/spec/profile-format.md")


@pytest.mark.skipif(not SPEC.exists(), reason="the shared spec is not on this machine")
def test_spec_example_loads(tmp_path: Path) -> None:
    example = SPEC.read_text(encoding="utf-8").split("```yaml\n", 1)[1].split("```", 1)[0]
    profile = load_text(tmp_path, example)
    assert profile.step1.score == 231 and profile.step2_ck.practice[0].score == 224
    assert profile.notes.startswith("Strong bedside manner") and profile.advisor == "Dr. Lee"


def test_step2_attempts_default_to_one_when_taken_and_zero_when_pending(tmp_path: Path) -> None:
    assert load_text(tmp_path, with_line(VALID, "  attempts: 1\n  exam_date", "  exam_date")).step2_ck.attempts == 1
    pending = VALID.replace("result: pass\n  score: 238\n  attempts: 1\n", "result: pending\n")
    assert load_text(tmp_path, pending).step2_ck.attempts == 0


def test_practice_is_sorted_by_date(tmp_path: Path) -> None:
    text = with_line(VALID, "    - {date: 2026-03-01", "    - {date: 2026-04-02, score: 236}\n    - {date: 2026-03-01")
    assert [p.score for p in load_text(tmp_path, text).step2_ck.practice] == [224, 236]


def test_optional_fields_may_be_null(tmp_path: Path) -> None:
    profile = load_text(tmp_path, VALID + "advisor:\ntarget: ~\n")
    assert profile.advisor is None and profile.target is None


def test_no_step2_block_means_none(tmp_path: Path) -> None:
    text = VALID.split("step2_ck:")[0] + "visa: none\n"
    assert load_text(tmp_path, text).step2_ck is None


def test_every_optional_field(tmp_path: Path) -> None:
    text = VALID + (
        "id: aisha\ncycle: 2026\nin_medical_school: true\nusce_months: 4.5\nus_lors: 2\nresearch_items: 0\n"
        "target: university-affiliated\noet_passed: true\necfmg_certified: false\nadvisor: Dr. Lee\nnotes: |\n  Line one.\n  Line two.\n"
    )
    profile = load_text(tmp_path, text)
    assert (profile.id, profile.cycle, profile.in_medical_school, profile.usce_months) == ("aisha", 2026, True, 4.5)
    assert (profile.us_lors, profile.research_items, profile.target) == (2, 0, "university-affiliated")
    assert (profile.oet_passed, profile.ecfmg_certified, profile.advisor) == (True, False, "Dr. Lee")
    assert profile.notes == "Line one.\nLine two.\n"


# --- one rule at a time, each with file:line: field: message ----------------------------


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("graduation_year: 2020", "graduation-year: 2020", "profiles/aisha-rahman.yaml:3: graduation-year: unknown field 'graduation-year'; did you mean 'graduation_year'?"),
        ("step2_ck:", "step2ck:", "profiles/aisha-rahman.yaml:7: step2ck: unknown field 'step2ck'; did you mean 'step2_ck'?"),
        ("  qbank_percent: 61", "  qbank_pct: 61", "profiles/aisha-rahman.yaml:14: step2_ck.qbank_pct: unknown field 'qbank_pct'; did you mean 'qbank_percent'?"),
        ("name: NBME 13", "nmae: NBME 13", "profiles/aisha-rahman.yaml:13: step2_ck.practice[0].nmae: unknown field 'nmae'; did you mean 'name'?"),
        ("  attempts: 1\nstep2_ck", "  attempts: 1\n  passed: true\nstep2_ck", "profiles/aisha-rahman.yaml:7: step1.passed: unknown field 'passed'; expected one of: result, attempts, score"),
    ],
)  # fmt: skip
def test_unknown_fields_suggest_the_near_miss(tmp_path: Path, old: str, new: str, expected: str) -> None:
    found = errors(tmp_path, with_line(VALID, old, new))
    assert expected in found


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("score: 238", "score: two hundred", "9: step2_ck.score: expected an integer from 1 to 300, got 'two hundred'"),
        ("score: 238", 'score: "238"', "9: step2_ck.score: expected an integer from 1 to 300, got '238'; remove the quotes"),
        ("score: 238", "score: 238.5", "9: step2_ck.score: expected an integer from 1 to 300, got 238.5"),
        ("score: 238", "score: 301", "9: step2_ck.score: expected an integer from 1 to 300, got 301"),
        ("score: 238", "score: 0", "9: step2_ck.score: expected an integer from 1 to 300, got 0"),
        ("score: 238", "score: true", "9: step2_ck.score: expected an integer from 1 to 300, got true"),
        ("  attempts: 1\n  exam", "  attempts: 1.5\n  exam", "10: step2_ck.attempts: expected an integer from 0 to 6, got 1.5"),
        ("  attempts: 1\n  exam", "  attempts: 7\n  exam", "10: step2_ck.attempts: expected an integer from 0 to 6, got 7"),
        ("  attempts: 1\nstep2", "  attempts: 2.0\nstep2", "6: step1.attempts: expected an integer from 0 to 6, got 2.0"),
        ("exam_date: 2026-05-20", "exam_date: June 2027", "11: step2_ck.exam_date: expected a date written as YYYY-MM-DD, got 'June 2027'"),
        ("exam_date: 2026-05-20", "exam_date: '2026-05-20'", "11: step2_ck.exam_date: expected a date written as YYYY-MM-DD, got '2026-05-20'; remove the quotes"),
        ("exam_date: 2026-05-20", "exam_date: 2026-02-30", "11: step2_ck.exam_date: '2026-02-30' is not a real date (YYYY-MM-DD)"),
        ("score: 224}", "score: 301}", "13: step2_ck.practice[0].score: expected an integer from 1 to 300, got 301"),
        ("{date: 2026-03-01, ", "{", "13: step2_ck.practice[0].date: required field is missing"),
        ("qbank_percent: 61", "qbank_percent: 100.5", "14: step2_ck.qbank_percent: expected a number from 0 to 100 (decimals allowed), got 100.5"),
        ("qbank_percent: 61", "qbank_percent: 61%", "14: step2_ck.qbank_percent: expected a number from 0 to 100 (decimals allowed), got '61%'"),
        ("result: pass\n  attempts: 1\nstep2", "result: passed\n  attempts: 1\nstep2", "5: step1.result: expected one of pass, fail, pending, got 'passed'; did you mean 'pass'?"),
        ("visa: j1", "visa: J1", "15: visa: expected one of j1, h1b, either, none, got 'J1'; did you mean 'j1'?"),
        ("visa: j1", "visa: no", "15: visa: 'no' is ambiguous in YAML; write 'none' or quote it"),
        ("visa: j1", "visa: Off", "15: visa: 'Off' is ambiguous in YAML; write 'none' or quote it"),
        ("visa: j1", "visa: yes", "15: visa: 'yes' is ambiguous in YAML; write one of j1, h1b, either, none"),
        ("graduation_year: 2020", "graduation_year: 2029", "3: graduation_year: expected an integer from 1950 to 2028, got 2029"),
        ("graduation_year: 2020", "graduation_year: 1949", "3: graduation_year: expected an integer from 1950 to 2028, got 1949"),
        ("graduation_year: 2020", "graduation_year: '2020'", "3: graduation_year: expected an integer from 1950 to 2028, got '2020'; remove the quotes"),
        ("email: aisha.rahman@example.org", "email: aisha.rahman", "2: email: expected an email address such as name@example.org, got 'aisha.rahman'"),
        ("email: aisha.rahman@example.org", "email: a@b@example.org", "2: email: expected an email address such as name@example.org, got 'a@b@example.org'"),
        ("email: aisha.rahman@example.org", 'email: "aisha rahman@example.org"', "2: email: expected an email address"),
        ("email: aisha.rahman@example.org", 'email: "aisha@example.org\\r\\nBcc: x@example.org"', "2: email: expected an email address"),
        ("email: aisha.rahman@example.org", "email: aisha@localhost", "2: email: expected an email address"),
        ("name: Aisha Rahman", 'name: "Aisha\\nRahman"', "1: name: must not contain control characters such as line breaks (found U+000A)"),
        ("name: Aisha Rahman", 'name: "Aisha\\0Rahman"', "1: name: must not contain control characters such as line breaks (found U+0000)"),
        ("name: Aisha Rahman", 'name: "Aisha\\rRahman"', "1: name: must not contain control characters such as line breaks (found U+000D)"),
        ("name: Aisha Rahman", 'name: "Aisha\\x1bRahman"', "1: name: must not contain control characters such as line breaks (found U+001B)"),
        ("name: Aisha Rahman", 'name: "Aisha\\u202eRahman"', "1: name: must not contain control characters such as line breaks (found U+202E)"),
        ("name: Aisha Rahman", 'name: "Aisha\\x85Rahman"', "1: name: must not contain control characters such as line breaks (found U+0085)"),
        ("name: Aisha Rahman", "name: " + "A" * 121, "1: name: expected at most 120 characters, got 121"),
        ("name: Aisha Rahman", "name: ''", "1: name: must not be blank"),
        ("name: Aisha Rahman", "name: 12345", "1: name: expected text of 1 to 120 characters, got 12345; quote it if it is meant as text"),
        ("name: Aisha Rahman", "name:", "1: name: required field is empty"),
    ],
)  # fmt: skip
def test_each_rule_has_a_located_message(tmp_path: Path, old: str, new: str, expected: str) -> None:
    found = error(tmp_path, with_line(VALID, old, new))
    assert found.startswith("profiles/aisha-rahman.yaml:" + expected), found


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("id: Aisha_Rahman\n", "16: id: expected an id of lowercase letters"),
        ("id: -aisha\n", "16: id: expected an id of lowercase letters"),
        ("id: " + "a" * 65 + "\n", "16: id: expected an id of lowercase letters"),
        ("cycle: 1999\n", "16: cycle: expected an integer from 2000 to 2100, got 1999"),
        ("usce_months: -1\n", "16: usce_months: expected a number of 0 or more (decimals allowed), got -1"),
        ("us_lors: 1.5\n", "16: us_lors: expected an integer of 0 or more, got 1.5"),
        ("research_items: many\n", "16: research_items: expected an integer of 0 or more, got 'many'"),
        ("target: academia\n", "16: target: expected one of academic, university-affiliated, community, got 'academia'; did you mean 'academic'?"),
        ("oet_passed: 'yes'\n", "16: oet_passed: expected true or false, got 'yes'"),
        ("oet_passed: 'true'\n", "16: oet_passed: expected true or false, got 'true'; remove the quotes"),
        ("ecfmg_certified: 1\n", "16: ecfmg_certified: expected true or false, got 1"),
        ("in_medical_school: no\n", "16: in_medical_school: 'no' is ambiguous in YAML (older readers take it as false); write false"),
        ("advisor: \"Dr. Lee\\nEvil\"\n", "16: advisor: must not contain control characters"),
        ("notes: \"ok\\0bad\"\n", "16: notes: must not contain control characters"),
        ("notes: " + "x" * 5001 + "\n", "16: notes: expected at most 5000 characters, got 5001"),
        ("step1_score: 231\n", "16: step1_score: unknown field 'step1_score'"),
    ],
)
def test_optional_field_rules(tmp_path: Path, extra: str, expected: str) -> None:
    found = error(tmp_path, VALID + extra)
    assert found.startswith("profiles/aisha-rahman.yaml:" + expected), found


def test_graduation_year_bound_follows_the_profiles_cycle(tmp_path: Path) -> None:
    assert load_text(tmp_path, VALID.replace("2020", "2031") + "cycle: 2030\n").graduation_year == 2031
    assert "expected an integer from 1950 to 2031, got 2032" in error(tmp_path, VALID.replace("2020", "2032") + "cycle: 2030\n")


def test_id_defaults_to_a_valid_stem_only(tmp_path: Path) -> None:
    found = error(tmp_path, VALID, name="Aisha Rahman.yaml")
    assert found.startswith("profiles/Aisha Rahman.yaml:1: id: the file name 'Aisha Rahman' is not a valid id")
    assert load_text(tmp_path, VALID + "id: aisha\n", name="Aisha Rahman.yaml").id == "aisha"


def test_missing_required_fields(tmp_path: Path) -> None:
    text = "name: Aisha Rahman\nstep2_ck:\n  score: 238\n"
    assert errors(tmp_path, text) == [
        "profiles/aisha-rahman.yaml:1: email: required field is missing",
        "profiles/aisha-rahman.yaml:1: graduation_year: required field is missing",
        "profiles/aisha-rahman.yaml:1: step1: required field is missing",
        "profiles/aisha-rahman.yaml:2: step2_ck.result: required field is missing",
    ]


def test_step1_needs_result_and_attempts(tmp_path: Path) -> None:
    found = errors(tmp_path, with_line(VALID, "  result: pass\n  attempts: 1\nstep2", "  score: 231\nstep2"))
    assert found == [
        "profiles/aisha-rahman.yaml:4: step1.result: required field is missing",
        "profiles/aisha-rahman.yaml:4: step1.attempts: required field is missing",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("step1: pass\n", "step1: expected a mapping of fields (indented lines below it), got 'pass'"),
        ("step1: [pass, 1]\n", "step1: expected a mapping of fields (indented lines below it), got a list"),
        ("step1: {result: pass, attempts: 1}\nstep2_ck: {result: pending, practice: {date: 2027-01-01}}\n", "step2_ck.practice: expected a list of practice exams, got a mapping"),
        ("step1: {result: pass, attempts: 1}\nstep2_ck: {result: pending, practice: [224]}\n", "step2_ck.practice[0]: expected a mapping with the fields date, score, name, got 224"),
    ],
)
def test_wrong_shapes(tmp_path: Path, text: str, expected: str) -> None:
    head = "name: A\nemail: a@example.org\ngraduation_year: 2020\n"
    found = error(tmp_path, head + text)
    assert found.split(": ", 1)[1] == expected, found


# --- consistency ------------------------------------------------------------------


def step_text(step1: str = "{result: pass, attempts: 1}", step2: str | None = None) -> str:
    text = f"name: A\nemail: a@example.org\ngraduation_year: 2020\nstep1: {step1}\n"
    return text + (f"step2_ck: {step2}\n" if step2 else "")


@pytest.mark.parametrize(
    ("step1", "step2", "expected"),
    [
        ("{result: pass, attempts: 0}", None, "4: step1.attempts: result pass needs at least 1 completed attempt, got 0"),
        ("{result: fail, attempts: 0}", None, "4: step1.attempts: result fail needs at least 1 completed attempt, got 0"),
        ("{result: pass, attempts: 1}", "{result: fail, attempts: 0}", "5: step2_ck.attempts: result fail needs at least 1 completed attempt, got 0"),
        ("{result: pass, attempts: 1}", "{result: pass, attempts: 1}", "5: step2_ck.score: required when result is pass"),
        ("{result: pass, attempts: 1}", "{result: pass, score: 217, exam_date: 2025-07-01}", "5: step2_ck.score: 217 is below the passing standard of 218 in force on 2025-07-01, but result is pass"),
        ("{result: pass, attempts: 1}", "{result: fail, score: 214, exam_date: 2025-06-30}", "5: step2_ck.score: 214 meets the passing standard of 214 in force on 2025-06-30, but result is fail"),
        ("{result: pass, attempts: 1}", "{result: pass, score: 217}", "5: step2_ck.score: 217 is below the passing standard of 218 in force on 2026-11-25, but result is pass"),
    ],
)  # fmt: skip
def test_consistency_rules(tmp_path: Path, step1: str, step2: str | None, expected: str) -> None:
    found = error(tmp_path, step_text(step1, step2))
    assert found == "profiles/aisha-rahman.yaml:" + expected


@pytest.mark.parametrize(
    ("step1", "step2"),
    [
        ("{result: pending, attempts: 0}", None),
        ("{result: pending, attempts: 1}", "{result: pending}"),
        ("{result: fail, attempts: 1}", None),
        ("{result: pass, attempts: 1}", "{result: pass, score: 216, exam_date: 2025-06-30}"),  # 214 then
        ("{result: pass, attempts: 1}", "{result: pass, score: 218, exam_date: 2025-07-01}"),
        ("{result: pass, attempts: 1}", "{result: fail, score: 213, exam_date: 2025-06-30}"),
        ("{result: pass, attempts: 1}", "{result: fail, score: 217, exam_date: 2025-07-01}"),
        ("{result: pass, attempts: 1}", "{result: fail}"),
        ("{result: pass, attempts: 1}", "{result: pending, score: 209, attempts: 1, exam_date: 2027-04-01}"),  # retake booked
        ("{result: pass, attempts: 1, score: 231}", "{result: pending, practice: []}"),
    ],
)  # fmt: skip
def test_consistent_profiles_load(tmp_path: Path, step1: str, step2: str | None) -> None:
    profile = load_text(tmp_path, step_text(step1, step2))
    assert (profile.id, profile.name, profile.graduation_year, profile.cycle) == ("aisha-rahman", "A", 2020, 2027)
    one = yaml.safe_load(step1)
    assert profile.step1 == Step1(one["result"], one["attempts"], one.get("score"))
    if step2 is None:
        assert profile.step2_ck is None
        return
    two = yaml.safe_load(step2)
    attempts = two.get("attempts", 0 if two["result"] == "pending" else 1)  # the attempt that gave the result
    assert profile.step2_ck == Step2(two["result"], two.get("score"), attempts, two.get("exam_date"), (), None)


def test_passing_standard_is_asked_for_the_exam_date_else_the_build_date(tmp_path: Path) -> None:
    asked: list[dt.date] = []

    def standard(on: dt.date) -> int:
        asked.append(on)
        return 200

    path = tmp_path / "a.yaml"
    for step2, expected in [("{result: pass, score: 201, exam_date: 2024-01-02}", dt.date(2024, 1, 2)), ("{result: pass, score: 201}", AS_OF)]:
        path.write_text(step_text(step2=step2), encoding="utf-8")
        load_profile(path, source="a.yaml", default_cycle=2027, passing_standard=standard, as_of=AS_OF)
        assert asked[-1] == expected


def test_every_problem_of_a_file_is_reported_together(tmp_path: Path) -> None:
    text = (
        "name: \"Bad\\tName\"\n"
        "email: bad@@example\n"
        "graduation-year: 2020\n"
        "step1:\n  result: passed\n  attempts: 1.5\n"
        "step2_ck:\n  result: pass\n  score: \"238\"\n  exam_date: June 2027\n"
        "  practice:\n    - {date: 2027-03-01, score: two hundred}\n"
        "visa: no\n"
        "visa: j1\n"
    )
    found = errors(tmp_path, text)
    fields = [message.split(": ")[1] for message in found]
    assert fields == [
        "name", "graduation_year", "email", "graduation-year", "step1.result", "step1.attempts",
        "step2_ck.score", "step2_ck.exam_date", "step2_ck.practice[0].score", "visa", "visa",
    ]  # fmt: skip
    lines = [int(message.split(":")[1]) for message in found]
    assert lines == sorted(lines) and lines[-1] == 14


def test_yaml_problems_are_profile_problems(tmp_path: Path) -> None:
    assert error(tmp_path, VALID + "us_lors: 0238\n").startswith("profiles/aisha-rahman.yaml:16: us_lors: '0238' has a leading zero")
    assert error(tmp_path, VALID + "name: Other\n") == "profiles/aisha-rahman.yaml:16: name: duplicate key 'name' (on line 1 and line 16)"
    assert "explicit tags ('!!python/object/apply:os.system')" in error(tmp_path, VALID + "notes: !!python/object/apply:os.system [ls]\n")
    assert error(tmp_path, "- a\n").endswith("found a list")
    assert error(tmp_path, "name: [\n").startswith("profiles/aisha-rahman.yaml:2: invalid YAML")


def test_unreadable_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read the file"):
        load_profile(tmp_path / "missing.yaml", source="profiles/missing.yaml", default_cycle=2027, passing_standard=passing_standard, as_of=AS_OF)


# --- cohorts ----------------------------------------------------------------------


def cohort(directory: Path, **kwargs) -> tuple[list[Profile], list[Problem]]:
    return load_profiles(directory, default_cycle=2027, passing_standard=passing_standard, as_of=AS_OF, **kwargs)


def test_a_broken_cohort_reports_every_problem_and_keeps_every_good_profile(tmp_path: Path) -> None:
    for stem in ("b-good", "d-good", "f-good"):
        text = VALID.replace("Aisha Rahman", stem.title()).replace("aisha.rahman", stem)
        (tmp_path / f"{stem}.yaml").write_text(text, encoding="utf-8")
    (tmp_path / "a-bad.yaml").write_text(with_line(VALID, "visa: j1", "visa: no"), encoding="utf-8")
    (tmp_path / "c-bad.yml").write_text(with_line(VALID, "score: 238", "score: 0238") + "step2ck: 1\n", encoding="utf-8")
    (tmp_path / "e-bad.yaml").write_bytes(b"\x00\x01binary")
    (tmp_path / "g-bad.yaml").write_text(VALID + "id: b-good\n", encoding="utf-8")  # duplicate of b-good.yaml
    (tmp_path / "notes.txt").write_text("not a profile", encoding="utf-8")
    (tmp_path / ".h-backup.yaml").write_text("broken: [", encoding="utf-8")
    profiles, problems = cohort(tmp_path)
    assert [p.id for p in profiles] == ["b-good", "d-good", "f-good"]
    assert [p.source for p in profiles] == ["profiles/b-good.yaml", "profiles/d-good.yaml", "profiles/f-good.yaml"]
    assert [str(p) for p in problems] == [
        "profiles/a-bad.yaml:15: visa: 'no' is ambiguous in YAML; write 'none' or quote it",
        "profiles/c-bad.yml:9: step2_ck.score: '0238' has a leading zero, which older YAML reads as an octal number; drop the zero, or quote it if you mean the text",
        "profiles/c-bad.yml:16: step2ck: unknown field 'step2ck'; did you mean 'step2_ck'?",
        "profiles/e-bad.yaml:1: file contains a NUL byte; is it a binary file?",
        "profiles/g-bad.yaml:16: id: duplicate id 'b-good': profiles/b-good.yaml already uses it",
        "profiles/notes.txt: not read: profile files end in .yaml or .yml; rename it, or move it out of the profiles folder",
    ]


def test_only_filters_after_checking_everything(tmp_path: Path) -> None:
    for stem in ("ann", "bob", "cem"):
        (tmp_path / f"{stem}.yaml").write_text(VALID, encoding="utf-8")
    (tmp_path / "dan.yaml").write_text("name: [", encoding="utf-8")
    profiles, problems = cohort(tmp_path, only=["cem", "ann", "nobody", "dan"], source_prefix="cohort")
    assert [p.id for p in profiles] == ["ann", "cem"]
    assert [p.source for p in profiles] == ["cohort/ann.yaml", "cohort/cem.yaml"]
    assert [str(p) for p in problems][-1] == "cohort: no profile has the id 'nobody'"
    assert [p.source for p in problems] == ["cohort/dan.yaml", "cohort"]


def test_missing_folder_is_a_problem(tmp_path: Path) -> None:
    assert cohort(tmp_path / "nope")[1][0].message.startswith("profiles folder not found")
    assert cohort(tmp_path) == ([], [])


# --- the shipped sample cohort and the article's examples --------------------------------


def band_and_flags(profile: Profile) -> tuple[str, set[str]]:
    """An independent reading of shared/spec/strategy-rules.md, to check what the samples cover."""

    def failures(result: str, attempts: int) -> int:
        return attempts - 1 if result == "pass" else attempts

    step2 = profile.step2_ck
    f1 = failures(profile.step1.result, profile.step1.attempts)
    f2 = failures(step2.result, step2.attempts) if step2 else 0
    undecided = step2 is None or step2.result == "pending"
    latest = step2.practice[-1].score if step2 and step2.practice else None
    if step2 and step2.result == "fail":
        band = "very_low"
    else:
        basis = step2.score if step2 and step2.result == "pass" else latest
        bands = [(250, "top"), (240, "strong"), (230, "solid"), (220, "low"), (0, "very_low")]
        band = "pending" if basis is None else next(name for low, name in bands if basis >= low)
    exam = step2.exam_date if step2 else None
    flags = {
        "step1_fail": f1 >= 1,
        "step2_fail": f2 >= 1,
        "multiple_attempts": f1 + f2 >= 2,
        "long_gap": profile.cycle - profile.graduation_year > 5,
        "projected": bool(step2 and step2.result == "pending" and step2.practice),
        "consider_delay": undecided and ((latest is not None and latest < 220) or (step2 is not None and step2.qbank_percent is not None and step2.qbank_percent < 55)),
        "score_after_eras": undecided and (exam is None or exam + dt.timedelta(days=28) > dt.date(profile.cycle, 9, 1)),
        "no_usce": not profile.usce_months,
        "needs_h1b": profile.visa == "h1b",
    }  # fmt: skip
    return band, {name for name, holds in flags.items() if holds}


def test_sample_cohort_loads_without_problems() -> None:
    profiles, problems = cohort(ROOT / "profiles")
    assert problems == []
    assert len(profiles) >= 12
    assert all(p.cycle == 2027 and p.email.endswith("@example.org") for p in profiles)
    assert len({p.name for p in profiles}) == len(profiles)


def test_sample_cohort_covers_every_band_and_flag() -> None:
    profiles, _ = cohort(ROOT / "profiles")
    bands, flags = set(), set()
    for profile in profiles:
        band, holds = band_and_flags(profile)
        bands.add(band)
        flags |= holds
    assert bands == {"top", "strong", "solid", "low", "very_low", "pending"}
    assert flags == {"step1_fail", "step2_fail", "multiple_attempts", "long_gap", "projected", "consider_delay", "score_after_eras", "no_usce", "needs_h1b"}


def test_sample_cohort_has_the_named_cases() -> None:
    profiles, _ = cohort(ROOT / "profiles")
    assert any(p.in_medical_school for p in profiles)
    assert any(p.step1.score is not None for p in profiles)
    assert any(p.step2_ck is None for p in profiles)
    assert any(p.advisor for p in profiles) and any(p.notes for p in profiles)
    projected = [p.step2_ck.exam_date for p in profiles if "projected" in band_and_flags(p)[1] and p.step2_ck.exam_date]
    compressed, full = dt.date(2027, 3, 1), dt.date(2026, 11, 25)
    assert any(dt.timedelta(weeks=9) <= d - compressed < dt.timedelta(weeks=12) for d in projected)
    assert any(d - full >= dt.timedelta(weeks=13) for d in projected)
    assert any(p.step2_ck and p.step2_ck.exam_date and p.step2_ck.exam_date > dt.date(2027, 9, 1) for p in profiles)


ARTICLE = {
    "example1": (252, 1, 2023, 3, 1, "top"),
    "example2": (238, 2, 2020, 4, 2, "solid"),
    "example3": (222, 1, 2018, 6, 2, "low"),
}


@pytest.mark.parametrize("stem", sorted(ARTICLE))
def test_article_examples(stem: str) -> None:
    path = ROOT / "tests" / "fixtures" / "article" / f"{stem}.yaml"
    profile = load_profile(path, source=f"article/{stem}.yaml", default_cycle=2027, passing_standard=passing_standard, as_of=dt.date(2025, 8, 1))
    score, step1_attempts, yog, usce, lors, band = ARTICLE[stem]
    assert (profile.step2_ck.score, profile.step1.attempts, profile.graduation_year) == (score, step1_attempts, yog)
    assert (profile.usce_months, profile.us_lors, profile.cycle, profile.step1.result) == (usce, lors, 2025, "pass")
    assert profile.step2_ck.exam_date < dt.date(2025, 7, 1)
    assert band_and_flags(profile)[0] == band
