"""Season data, the facts drawn from it, examples chosen by closeness, and future-dated profile entries."""

from __future__ import annotations

import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from generator.decide import season as season_mod
from generator.decide.facts import derive
from generator.decide.profile_dates import date_warnings
from generator.decide.selection import distance, matches_record
from generator.errors import InputError
from generator.load.strategy import carry_date, load_strategy
from tests.conftest import ROOT, make_profile
from tests.payloads import cli_env

DATA = ROOT / "content" / "data" / "strategy.yaml"


def test_a_listed_season_is_used_as_published(strategy):
    season = strategy.season_for(2025)  # applies in 2025: the ERAS 2026 season
    assert season.season == 2026 and not season.expected
    assert (season.opens, season.submit_from, season.programs_read_from) == (
        date(2025, 6, 4), date(2025, 9, 3), date(2025, 9, 24))
    assert season.match_day == date(2026, 3, 20)


def test_a_later_season_carries_the_same_weekdays_and_is_expected(strategy):
    season = strategy.season_for(2027)  # the ERAS 2028 season
    assert season.expected and season.based_on == 2026
    assert season.submit_from == date(2027, 9, 1)  # first Wednesday of September
    assert season.programs_read_from == date(2027, 9, 22)  # fourth Wednesday
    assert season.rank_list_deadline == date(2028, 3, 1)  # first Wednesday of March
    assert season.match_day == date(2028, 3, 17)  # third Friday of March, as the spec's default
    assert strategy.eras_date(2027) == season.submit_from


def test_carry_date_keeps_a_fifth_week_inside_the_month():
    assert carry_date(date(2025, 9, 30), 1) == date(2026, 9, 29)  # a fifth Tuesday stays the last Tuesday
    assert carry_date(date(2026, 3, 20), 2).weekday() == 4


def test_fees_follow_the_fee_table(strategy):
    season = strategy.season_for(2027)
    assert season_mod.eras_fee(season, 140) == 3630 and season_mod.eras_fee(season, 180) == 4830
    assert season_mod.eras_fee(season, 30) == 330 and season_mod.eras_fee(season, 43) == 720
    facts = derive(make_profile(step2={"result": "pass", "score": 238, "attempts": 1}), strategy, date(2026, 12, 3))
    assert (facts["fees"]["min_total"], facts["fees"]["max_total"]) == (1830, 3030)  # 80 to 120 programs


def test_signals_come_from_the_program_list_numbers(strategy):
    facts = derive(make_profile(), strategy, date(2026, 12, 3))
    assert facts["signals"] == {"gold": 3, "silver": 12, "total": 15, "from_season": 2026, "expected": True}


def test_the_exam_decision_dates(strategy):
    profile = make_profile(step2={"result": "pending", "exam_date": date(2027, 9, 14)})
    timing = derive(profile, strategy, date(2026, 12, 3))["exam_timing"]
    assert timing["latest"] == date(2027, 8, 25) and timing["decide_by"] == date(2027, 6, 2)
    assert not timing["on_time"] and timing["late_days"] == 20 and not timing["second_attempt_fits"]
    early = derive(make_profile(step2={"result": "pending", "exam_date": date(2027, 3, 15)}), strategy, date(2026, 12, 3))
    assert early["exam_timing"]["on_time"] and early["exam_timing"]["second_attempt_fits"]


def test_the_h1b_chain(strategy):
    as_of = date(2026, 12, 3)
    chain = derive(make_profile(visa="h1b", ecfmg_certified=True), strategy, as_of)["visa_chain"]
    assert chain["h1b_status"] == "open" and chain["step3_by"] == date(2028, 2, 2)
    assert derive(make_profile(visa="h1b"), strategy, as_of)["visa_chain"]["h1b_status"] == "conditional"
    no_step1 = make_profile(visa="h1b", step1={"result": "pending", "attempts": 0})
    assert derive(no_step1, strategy, as_of)["visa_chain"]["h1b_blocked_by"] == "step1"
    student = make_profile(visa="either", graduation_year=2028, in_medical_school=True)
    assert derive(student, strategy, as_of)["visa_chain"]["h1b_blocked_by"] == "degree"


def test_the_ecfmg_facts(strategy):
    facts = derive(make_profile(oet_passed=False, step2={"result": "pending"}), strategy, date(2026, 12, 3))
    assert facts["ecfmg"]["missing"] == ["step2", "oet"] and facts["ecfmg"]["deadline"] == date(2028, 3, 1)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "strategy.yaml"
    path.write_text(text)
    return path


def test_season_dates_out_of_order_are_a_located_error(tmp_path):
    raw = DATA.read_text().replace("programs_read_from: 2025-09-24", "programs_read_from: 2025-08-24")
    with pytest.raises(InputError) as caught:
        load_strategy(_write(tmp_path, raw))
    assert any(p.field == "seasons[0]" and p.line and "in order" in p.message for p in caught.value.problems)


def test_a_fee_table_without_an_open_last_row_is_an_error(tmp_path):
    raw = DATA.read_text().replace("- {up_to: null, fee: 30}", "- {up_to: 60, fee: 30}")
    with pytest.raises(InputError) as caught:
        load_strategy(_write(tmp_path, raw))
    assert any("up_to: null" in p.message for p in caught.value.problems)


def test_examples_are_ranked_by_closeness(strategy):
    clean = derive(make_profile(), strategy, date(2026, 12, 3))
    assert distance({"failures": 0, "gap": 3}, clean) < distance({"failures": 1, "gap": 3}, clean)
    assert matches_record({"failures": 0}, clean) and not matches_record({"failures": 1}, clean)
    h1b = derive(make_profile(visa="h1b"), strategy, date(2026, 12, 3))
    assert distance({"visa": "h1b"}, h1b) == 0 and distance({"visa": "j1"}, h1b) == 2


def one_section_content(tmp_path: Path) -> Path:
    """A content folder with the shipped strategy data, one section for everyone and no examples yet."""
    content = tmp_path / "content"
    for kind in ("sections", "examples", "faq"):
        (content / kind).mkdir(parents=True)
    (content / "data").mkdir()
    (content / "data" / "strategy.yaml").write_text(DATA.read_text())
    (content / "sections" / "10-a.md").write_text("---\nid: a\ntitle: A\norder: 10\nwhen: \"true\"\n---\nHello.\n")
    return content

def test_coverage_reports_an_applicant_whose_only_example_does_not_fit(tmp_path):
    content = one_section_content(tmp_path)
    (content / "examples" / "x.md").write_text(
        "---\nid: ex-fail\ntitle: X\nband: solid\norder: 1\nrecord: {failures: 1}\n---\nAfter a failure.\n")
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "clean.yaml").write_text("name: Clean Person\nemail: c@example.org\ngraduation_year: 2023\n"
                                         "step1: {result: pass, attempts: 1}\n"
                                         "step2_ck: {result: pass, score: 233, attempts: 1, exam_date: 2026-06-01}\n")
    run = subprocess.run([sys.executable, "-m", "generator", "check", "--as-of", "2026-12-03", "--coverage", "--quiet",
                          "--profiles", str(profiles), "--content", str(content)], cwd=ROOT, capture_output=True,
                         text=True, env=cli_env(), timeout=120)
    assert (f"{profiles}/clean.yaml: its only example does not match its record (no failed attempt): ex-fail"
            in run.stderr), run.stderr


def test_future_dated_practice_and_results_are_located_warnings_and_strict_errors(tmp_path):
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "ahead.yaml").write_text(
        "name: Ahead Person\nemail: a@example.org\ngraduation_year: 2023\nstep1: {result: pass, attempts: 1}\n"
        "step2_ck:\n  result: pending\n  exam_date: 2027-06-01\n  practice:\n"
        "    - {date: 2026-11-01, score: 225}\n    - {date: 2027-01-15, score: 231}\n")
    (profiles / "result.yaml").write_text(
        "name: Result Person\nemail: r@example.org\ngraduation_year: 2023\nstep1: {result: pass, attempts: 1}\n"
        "step2_ck: {result: pass, score: 240, attempts: 1, exam_date: 2027-02-01}\n")
    args = [sys.executable, "-m", "generator", "check", "--as-of", "2026-12-03", "--quiet", "--profiles", str(profiles)]
    plain = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, env=cli_env(), timeout=120)
    assert plain.returncode == 0, plain.stderr
    assert f"{profiles}/ahead.yaml:10: step2_ck.practice[1].date: 2027-01-15 is after the build date 2026-12-03" in plain.stderr
    assert f"{profiles}/result.yaml:5: step2_ck.exam_date: the result is 'pass' but the exam date 2027-02-01" in plain.stderr
    assert "practice[0]" not in plain.stderr and "2 warning(s)" in plain.stdout
    strict = subprocess.run([*args, "--strict"], cwd=ROOT, capture_output=True, text=True, env=cli_env(), timeout=120)
    assert strict.returncode == 1


def test_date_warnings_leave_the_band_alone(strategy):
    profile = make_profile(step2={"result": "pending", "practice": [
        {"date": date(2026, 11, 1), "score": 225, "index": 0}, {"date": date(2027, 1, 15), "score": 231, "index": 1}]})
    assert [w.field for w in date_warnings(profile, date(2026, 12, 3))] == ["step2_ck.practice[1].date"]
    assert derive(profile, strategy, date(2026, 12, 3))["basis"]["score"] == 231  # the latest by date still counts


def test_a_bad_example_record_is_a_located_error(tmp_path):
    content = one_section_content(tmp_path)
    (content / "examples" / "x.md").write_text(
        "---\nid: ex\ntitle: X\nband: solid\norder: 1\nrecord: {failures: one}\n---\nText.\n")
    run = subprocess.run([sys.executable, "-m", "generator", "check", "--as-of", "2026-12-03", "--quiet",
                          "--content", str(content)], cwd=ROOT, capture_output=True, text=True, env=cli_env(), timeout=120)
    assert run.returncode == 1
    assert f"{content}/examples/x.md:6: record: failures: expected a number, got 'one'" in run.stderr, run.stderr


def test_signals_name_the_programs_of_the_applicants_list(strategy):
    from generator.decide.program_view import sample
    from generator.decide.selection import select
    from generator.project import BuildOptions, load_inputs
    from generator.render.html import Page

    inputs = load_inputs(BuildOptions(profiles=ROOT / "profiles", content=ROOT / "content",
                                      theme=ROOT / "themes" / "default", as_of=date(2026, 12, 3)))
    facts = derive(make_profile(), inputs.strategy, inputs.as_of)
    without = inputs.renderer.render_guide(facts, select(facts, inputs.rules), Page("T", "", ""))
    assert "When your advisor adds a program list" in without
    facts["program_list"] = sample(inputs.strategy)
    page = inputs.renderer.render_guide(facts, select(facts, inputs.rules), Page("T", "", ""))
    signals = page.split('id="program-signals"')[1].split("</section>")[0]
    assert "Your program list, in the next section, suggests" in signals and "Sample" not in signals
    # The names are given once, in the program list that follows, not a second time in the signals section.
    listed = page.split('id="program-list"')[1].split("</section>")[0]
    assert page.index('id="program-signals"') < page.index('id="program-list"')
    assert "Your program signals" in listed and "Sample" in listed.split("Your program signals")[1].split("<h3")[0]


def test_explain_words_the_plan_start_apart_from_the_weeks_to_the_exam(strategy):
    from generator.authoring.explain import key_facts

    profile = make_profile(step2={"result": "pending", "exam_date": date(2027, 6, 15)})
    plan = dict(key_facts(derive(profile, strategy, date(2026, 12, 3))))["plan"]
    assert plan.startswith("12-week plan starts 2027-03-23") and "the exam is 27 weeks after the build date 2026-12-03" in plan
    assert "weeks to the exam, from" not in plan


def test_the_study_plan_bullets_follow_the_advisors_phases(tmp_path):
    """An advisor who lengthens the plan in strategy.yaml sees the new weeks in the section's prose too."""
    content = tmp_path / "content"
    shutil.copytree(ROOT / "content", content)
    data = content / "data" / "strategy.yaml"
    text = data.read_text()
    for old, new in (("weeks: [1, 4]", "weeks: [1, 6]"), ("weeks: [5, 8]", "weeks: [7, 10]"),
                     ("weeks: [9, 11]", "weeks: [11, 13]"), ("weeks: [12, 12]", "weeks: [14, 14]")):
        assert old in text
        text = text.replace(old, new)
    data.write_text(text)
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "dana.yaml").write_text("name: Dana Osei\nemail: dana@example.org\ngraduation_year: 2023\n"
                                        "step1: {result: pass, attempts: 1}\nstep2_ck: {result: pending, attempts: 0}\n")
    out = tmp_path / "output"
    run = subprocess.run([sys.executable, "-m", "generator", "build", "--no-pdf", "--quiet", "--as-of", "2026-12-03",
                          "--profiles", str(profiles), "--content", str(content), "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, env=cli_env(), timeout=300)
    assert run.returncode == 0, run.stderr
    page = next(out.glob("site/g/*/index.html")).read_text("utf-8")
    for label in ("Weeks 1–6, foundation.", "Weeks 7–10, more pressure.", "Weeks 11–13, practice for exam day.",
                  "Week 14, slow down.", "count back 14 weeks"):
        assert label in page
    assert "Weeks 1–4" not in page and "Week 12," not in page
