"""Facts per shared/spec/strategy-rules.md: bands, basis, program tiers, modifiers, flags, dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from generator.decide.facts import FLAGS, derive, schema
from generator.load.strategy import load_strategy
from tests.conftest import AS_OF, STRATEGY, make_profile


def facts_for(strategy, as_of=AS_OF, **kw):
    return derive(make_profile(**kw), strategy, as_of)


@pytest.mark.parametrize("score,band", [
    (219, "very_low"), (220, "low"), (229, "low"), (230, "solid"), (239, "solid"),
    (240, "strong"), (244, "strong"), (245, "strong"), (249, "strong"), (250, "top"), (280, "top"), (1, "very_low"),
])
def test_band_edges(strategy, score, band):
    f = facts_for(strategy, step2={"result": "pass", "score": score, "attempts": 1})
    assert f["band"]["id"] == band
    assert f["basis"] == {"kind": "official", "score": score, "date": None}
    assert f["band"]["projected"] is False


@pytest.mark.parametrize("score,programs", [
    (219, (140, 180)), (220, (120, 160)), (234, (120, 160)), (235, (80, 120)),
    (244, (80, 120)), (245, (80, 100)), (260, (80, 100)),
])
def test_tier_edges(strategy, score, programs):
    f = facts_for(strategy, step2={"result": "pass", "score": score, "attempts": 1})
    assert (f["programs"]["min"], f["programs"]["max"]) == programs
    assert f["programs"]["raised_by"] == []


def test_article_examples(strategy):
    ex1 = facts_for(strategy, cycle=2025, graduation_year=2023, step2={"result": "pass", "score": 252, "attempts": 1})
    ex2 = facts_for(strategy, cycle=2025, graduation_year=2020, step1={"result": "pass", "attempts": 2},
                    step2={"result": "pass", "score": 238, "attempts": 1})
    ex3 = facts_for(strategy, cycle=2025, graduation_year=2018, step2={"result": "pass", "score": 222, "attempts": 1})
    assert (ex1["band"]["id"], ex1["programs"]["min"], ex1["programs"]["max"]) == ("top", 80, 100)
    assert (ex2["band"]["id"], ex2["programs"]["min"], ex2["programs"]["max"]) == ("solid", 120, 160)
    assert ex2["programs"]["raised_by"] == ["failure"] and ex2["flags"]["step1_fail"]
    assert (ex3["band"]["id"], ex3["programs"]["min"], ex3["programs"]["max"]) == ("low", 140, 180)
    assert ex3["programs"]["raised_by"] == ["long_gap"] and ex3["flags"]["long_gap"]


def test_failure_raises_to_t3_but_not_lower(strategy):
    top_fail = facts_for(strategy, step1={"result": "pass", "attempts": 2}, step2={"result": "pass", "score": 255, "attempts": 1})
    assert top_fail["programs"]["tier"] == "T3" and top_fail["programs"]["base_tier"] == "T1"
    t4_fail = facts_for(strategy, step1={"result": "pass", "attempts": 2}, step2={"result": "pass", "score": 219, "attempts": 1})
    assert t4_fail["programs"]["tier"] == "T4" and t4_fail["programs"]["raised_by"] == []


def test_long_gap_edge_and_cap(strategy):
    five = facts_for(strategy, graduation_year=2022, step2={"result": "pass", "score": 250, "attempts": 1})
    six = facts_for(strategy, graduation_year=2021, step2={"result": "pass", "score": 250, "attempts": 1})
    assert five["gap"] == 5 and not five["flags"]["long_gap"] and five["programs"]["tier"] == "T1"
    assert six["gap"] == 6 and six["flags"]["long_gap"] and six["programs"]["tier"] == "T2"
    capped = facts_for(strategy, graduation_year=2010, step2={"result": "pass", "score": 210, "attempts": 1})
    assert capped["programs"]["tier"] == "T4" and capped["programs"]["raised_by"] == []


def test_both_modifiers_in_order(strategy):
    f = facts_for(strategy, graduation_year=2015, step1={"result": "pass", "attempts": 2},
                  step2={"result": "pass", "score": 250, "attempts": 1})
    assert f["programs"]["tier"] == "T4" and f["programs"]["raised_by"] == ["failure", "long_gap"]


def test_failed_step2_is_very_low_t4_whatever_the_number(strategy):
    f = facts_for(strategy, step2={"result": "fail", "score": 216, "attempts": 1, "exam_date": date(2026, 8, 1)})
    assert f["band"]["id"] == "very_low" and f["programs"]["tier"] == "T4"
    assert f["basis"]["kind"] == "official" and f["basis"]["score"] == 216
    assert f["flags"]["step2_fail"] and not f["flags"]["multiple_attempts"]
    unknown = facts_for(strategy, step2={"result": "fail", "attempts": 1})
    assert unknown["basis"]["score"] is None and unknown["band"]["id"] == "very_low"
    assert (unknown["programs"]["min"], unknown["programs"]["max"]) == (140, 180)


def test_projected_from_latest_practice_by_date(strategy):
    practice = [{"date": date(2027, 3, 1), "score": 241}, {"date": date(2027, 1, 5), "score": 212}]
    f = facts_for(strategy, step2={"result": "pending", "practice": practice, "exam_date": date(2027, 6, 1)})
    assert f["basis"]["kind"] == "practice" and f["basis"]["score"] == 241
    assert f["band"]["id"] == "strong" and f["band"]["projected"]
    assert f["flags"]["projected"] and not f["flags"]["consider_delay"]


def test_pending_without_practice_has_no_programs(strategy):
    f = facts_for(strategy, step2=None)
    assert f["band"]["id"] == "pending" and f["basis"] == {"kind": "none", "score": None, "date": None}
    assert f["programs"]["min"] is None and f["programs"]["tier"] is None
    assert f["flags"]["score_after_eras"] and not f["flags"]["projected"]


@pytest.mark.parametrize("practice,qbank,delay", [
    (219, None, True), (220, None, False), (None, 54.9, True), (None, 55, False), (230, 50, True),
])
def test_consider_delay_thresholds(strategy, practice, qbank, delay):
    p = [{"date": date(2027, 1, 1), "score": practice}] if practice else []
    f = facts_for(strategy, step2={"result": "pending", "practice": p, "qbank_percent": qbank})
    assert f["flags"]["consider_delay"] is delay


def test_consider_delay_only_before_the_exam(strategy):
    f = facts_for(strategy, step2={"result": "pass", "score": 215, "attempts": 1, "qbank_percent": 40})
    assert not f["flags"]["consider_delay"] and not f["flags"]["score_after_eras"]


@pytest.mark.parametrize("exam,after", [
    (None, True), (date(2027, 8, 4), False), (date(2027, 8, 5), True), (date(2027, 6, 1), False),
])
def test_score_after_eras_edge(strategy, exam, after):
    # ERAS 2027-09-01; release = exam + 28 days; 2027-08-04 + 28 = 2027-09-01 is not after it.
    f = facts_for(strategy, step2={"result": "pending", "exam_date": exam})
    assert f["flags"]["score_after_eras"] is after
    if exam:
        assert f["dates"]["score_release"] == date.fromordinal(exam.toordinal() + 28)


def test_other_flags(strategy):
    f = facts_for(strategy, usce_months=0, visa="h1b", step1={"result": "fail", "attempts": 2}, step2=None)
    assert f["flags"]["no_usce"] and f["flags"]["needs_h1b"] and f["flags"]["step1_fail"]
    assert f["flags"]["multiple_attempts"] and f["step1"]["failures"] == 2
    assert f["flag_list"] == sorted(f["flag_list"]) and set(f["flag_list"]) <= set(FLAGS)
    absent = facts_for(strategy, usce_months=None)
    assert absent["flags"]["no_usce"]
    multi = facts_for(strategy, step1={"result": "pass", "attempts": 2}, step2={"result": "pass", "score": 230, "attempts": 2})
    assert multi["flags"]["multiple_attempts"] and multi["failures_total"] == 2


def test_dates_and_full_plan(strategy):
    exam = date(2027, 6, 14)
    f = facts_for(strategy, step2={"result": "pending", "exam_date": exam})
    assert f["dates"]["eras"] == date(2027, 9, 1)
    assert f["dates"]["match_day"] == date(2028, 3, 17)  # third Friday of March 2028
    plan = f["plan"]
    assert plan["available"] and not plan["compressed"]
    assert plan["start"] == date(2027, 3, 22)
    assert [(p["weeks"], p["start"], p["end"]) for p in plan["phases"]] == [
        ("1–4", date(2027, 3, 22), date(2027, 4, 18)),
        ("5–8", date(2027, 4, 19), date(2027, 5, 16)),
        ("9–11", date(2027, 5, 17), date(2027, 6, 6)),
        ("12", date(2027, 6, 7), date(2027, 6, 13)),
    ]


def test_each_phase_names_its_weeks_with_or_without_an_exam_date(strategy):
    weeks = {"foundation": "weeks 1–4", "intensification": "weeks 5–8", "refinement": "weeks 9–11", "taper": "week 12"}
    assert facts_for(strategy, step2={"result": "pending", "exam_date": date(2027, 6, 14)})["plan"]["phase_weeks"] == weeks
    assert facts_for(strategy, step2={"result": "pending", "exam_date": None})["plan"]["phase_weeks"] == weeks


def test_compressed_plan(strategy):
    f = facts_for(strategy, as_of=date(2027, 3, 1), step2={"result": "pending", "exam_date": date(2027, 5, 10)})
    plan = f["plan"]
    assert plan["compressed"] and plan["weeks"] == 10 and plan["start"] == date(2027, 3, 1)
    assert plan["phases"][0]["start"] == date(2027, 3, 1) and plan["phases"][-1]["end"] == date(2027, 5, 9)
    assert all(a["end"] < b["start"] for a, b in zip(plan["phases"], plan["phases"][1:]))


def test_no_plan_after_the_exam_or_when_taken(strategy):
    assert not facts_for(strategy, step2={"result": "pending", "exam_date": date(2026, 11, 1)})["plan"]["available"]
    assert not facts_for(strategy)["plan"]["available"]


def test_passing_standard_by_exam_date(strategy):
    assert facts_for(strategy, step2={"result": "pass", "score": 230, "attempts": 1, "exam_date": date(2025, 6, 30)})["step2"]["passing_standard"] == 214
    assert facts_for(strategy, step2={"result": "pass", "score": 230, "attempts": 1, "exam_date": date(2025, 7, 1)})["step2"]["passing_standard"] == 218
    assert facts_for(strategy, step2=None)["step2"]["passing_standard"] == 218


def test_schema_has_every_flag(strategy):
    s = schema(strategy)
    assert set(s["flags"]) == set(FLAGS)
    assert s["plan"]["phases"], "the schema must let rules reach plan.phases[0]"


def test_the_h1b_chain_counts_back_the_step3_lead_time_of_the_data(strategy, tmp_path):
    profile = {"visa": "h1b", "step2": {"result": "pass", "score": 240, "attempts": 1}}
    chain = facts_for(strategy, **profile)["visa_chain"]
    assert chain["step3_by"] - chain["certify_by"] == timedelta(weeks=8)  # the shipped estimate
    data = tmp_path / "strategy.yaml"
    data.write_text(STRATEGY.read_text().replace("  score_release_days: 28", "  score_release_days: 28\n  step3_lead_weeks: 12", 1))
    longer = facts_for(load_strategy(data, "strategy.yaml"), **profile)["visa_chain"]
    assert longer["step3_by"] == chain["step3_by"] and longer["certify_by"] == chain["certify_by"] - timedelta(weeks=4)
