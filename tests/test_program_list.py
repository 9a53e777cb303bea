"""The program-list rules (docs/program-list.md): exclusions, categories, ranking, size and mix, signals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from generator.decide.program_list import ProgramIndex, decide, quotas, reasons
from generator.decide.facts import derive
from tests.conftest import AS_OF, make_profile
from tests.program_sheets import row, sheet


def facts_for(strategy, score=236, **kw):
    kw.setdefault("step2", {"result": "pass", "score": score, "attempts": 1})
    kw.setdefault("graduation_year", 2022)
    return derive(make_profile(**kw), strategy, AS_OF)


def decide_for(strategy, tmp_path, rows, **kw):
    index = ProgramIndex(sheet(tmp_path, *rows).programs, strategy.program_list)
    facts = facts_for(strategy, **kw)
    return decide(facts, index), index, facts


WORKED = [
    row("P1", visa_j1="yes", img_percent=50, step2_typical=230),
    row("P2", visa_j1="no", img_percent=50, step2_typical=230),
    row("P3", visa_j1="unknown", img_percent=30, step2_typical=236),
    row("P4", visa_j1="yes", img_percent=3, step2_typical=220),
    row("P5", visa_j1="yes", img_percent=40, step2_typical=252),
    row("P6", visa_j1="yes", step2_typical=245),
    row("P7", visa_j1="yes", img_percent=40, step2_typical=230, max_years_since_graduation=3),
    row("P8", visa_j1="yes", img_percent=40, step2_min=240, step2_typical=230),
    row("P9", visa_j1="Yes", img_percent=25, usce_required="yes"),
    row("P10", visa_j1="yes", img_percent=10),
    row("P11", visa_j1="yes", img_percent=60, step2_typical=231, failed_attempts="none", signals="no"),
]


def test_the_specs_worked_example(strategy, tmp_path):
    result, index, facts = decide_for(strategy, tmp_path, WORKED, visa="j1", usce_months=3)
    assert (facts["gap"], facts["band"]["id"], facts["programs"]["tier"]) == (5, "solid", "T2")
    assert result.record() == {
        "count": 7, "short": True,
        "reach": ["P10", "P4", "P6"], "target": ["P9", "P3"], "likely": ["P11", "P1"],
        "signals": {"gold": ["P9", "P3", "P10"], "silver": ["P4", "P6", "P1"]},
        "excluded": {"visa": 1, "graduation": 1, "attempts": 0, "min_score": 1, "usce": 0, "far_above": 1},
        "confirm_visa": ["P3"],
    }
    why = {r.program.id: r for r in reasons(facts, index, result)}
    assert why["P2"].excluded == "visa" and why["P5"].excluded == "far_above"
    assert (why["P4"].category, why["P4"].basis) == ("reach", "img_rare")
    assert (why["P11"].category, why["P11"].margin) == ("likely", 5)
    assert why["P3"].confirm_visa and why["P9"].signal == "gold" and why["P1"].signal == "silver"


def listed(result):
    return {c: [p.id for p in getattr(result, c)] for c in ("reach", "target", "likely")}


def excluded_as(strategy, tmp_path, program, **kw):
    result, index, facts = decide_for(strategy, tmp_path, [program], **kw)
    reason = reasons(facts, index, result)[0].excluded
    assert result.excluded == {r: int(r == reason) for r in result.excluded}
    return reason


@pytest.mark.parametrize("cells,kw,reason", [
    ({"visa_j1": "no"}, {"visa": "j1"}, "visa"),
    ({"visa_h1b": "no"}, {"visa": "h1b"}, "visa"),
    ({"visa_j1": "no", "visa_h1b": "no"}, {"visa": "either"}, "visa"),
    ({"visa_j1": "no", "visa_h1b": "no"}, {"visa": None}, "visa"),
    ({"visa_j1": "no", "visa_h1b": "no"}, {"visa": "none"}, None),
    ({"visa_j1": "no"}, {"visa": "either"}, None),
    ({"visa_j1": "no"}, {"visa": "h1b"}, None),
    ({"max_years_since_graduation": 4}, {}, "graduation"),  # gap 5
    ({"max_years_since_graduation": 5}, {}, None),
    ({"failed_attempts": "none"}, {"step1": {"result": "pass", "attempts": 2}}, "attempts"),
    ({"failed_attempts": "one"}, {"step1": {"result": "pass", "attempts": 2}}, None),
    ({"failed_attempts": "one"}, {"step1": {"result": "pass", "attempts": 3}}, "attempts"),
    ({"failed_attempts": "none"}, {}, None),
    ({"step2_min": 237}, {}, "min_score"),
    ({"step2_min": 236}, {}, None),
    ({"usce_required": "yes"}, {"usce_months": 0}, "usce"),
    ({"usce_required": "yes"}, {"usce_months": 0.5}, None),
    ({"step2_typical": 252}, {}, "far_above"),  # 236 < 252 - 15
    ({"step2_typical": 251}, {}, None),  # margin -15 stays in
])
def test_each_exclusion(strategy, tmp_path, cells, kw, reason):
    assert excluded_as(strategy, tmp_path, row("X", **cells), **kw) == reason


@pytest.mark.parametrize("cells,kw,reason", [
    # every condition fails: the first in the rules' order is the one recorded, and so on down
    ({"visa_j1": "no", "max_years_since_graduation": 1, "failed_attempts": "none", "step2_min": 260,
      "usce_required": "yes", "step2_typical": 280}, {}, "visa"),
    ({"max_years_since_graduation": 1, "failed_attempts": "none", "step2_min": 260, "usce_required": "yes",
      "step2_typical": 280}, {}, "graduation"),
    ({"failed_attempts": "none", "step2_min": 260, "usce_required": "yes", "step2_typical": 280}, {}, "attempts"),
    ({"step2_min": 260, "usce_required": "yes", "step2_typical": 280}, {}, "min_score"),
    ({"usce_required": "yes", "step2_typical": 280}, {}, "usce"),
])
def test_exclusion_order(strategy, tmp_path, cells, kw, reason):
    kw = {"usce_months": 0, "step1": {"result": "pass", "attempts": 2}, **kw}
    assert excluded_as(strategy, tmp_path, row("X", **cells), **kw) == reason


@pytest.mark.parametrize("cells,category", [
    ({"step2_typical": 231}, "likely"),  # margin 5
    ({"step2_typical": 232}, "target"),  # margin 4
    ({"step2_typical": 241}, "target"),  # margin -5
    ({"step2_typical": 242}, "reach"),  # margin -6
    ({"step2_typical": 251}, "reach"),  # margin -15: still in
    ({"img_percent": "4.9", "step2_typical": 200}, "reach"),  # IMG-rare whatever the margin
    ({"img_percent": "5", "step2_typical": 200}, "likely"),
    ({"img_percent": "4.99"}, "reach"),
    ({"img_percent": "19.9"}, "reach"),
    ({"img_percent": "20"}, "target"),
    ({"img_percent": "20%"}, "target"),
    ({"img_percent": "100"}, "target"),
    ({}, "reach"),
    ({"img_percent": "19.9", "step2_typical": 236}, "target"),  # the margin comes before IMG-friendly
    ({"img_percent": "90", "step2_typical": 250}, "reach"),
])
def test_category_edges(strategy, tmp_path, cells, category):
    result, _, _ = decide_for(strategy, tmp_path, [row("X", **cells)])
    assert listed(result)[category] == ["X"]


def test_margins_and_shares_are_data(strategy, tmp_path):
    rules = strategy.program_list
    assert (rules.likely_margin, rules.target_margin, rules.far_above) == (5, -5, 15)
    assert (rules.img_rare_below, rules.img_friendly_from) == (Decimal(5), Decimal(20))
    assert rules.mix["T4"] == {"reach": Decimal("0.05"), "target": Decimal("0.35"), "likely": Decimal("0.6")}
    assert rules.signals_for(2028) == (2026, 3, 12)


def test_ranking_ties(strategy, tmp_path):
    rows = [
        row("D", img_percent=30),  # no typical: img decides, and D < E by id at equal img
        row("E", img_percent=30),
        row("C", img_percent=30, step2_typical=200),  # same img, higher typical first, blank typical last
        row("B", img_percent=30, step2_typical=210),
        row("A", visa_j1="unknown", img_percent=99, step2_typical=260),  # unknown visa after every confirmed one
        row("F", step2_typical=262),  # blank img last
        row("G", img_percent=31),
        row("H", visa_j1="unknown"),
    ]
    result, _, _ = decide_for(strategy, tmp_path, rows, score=300)
    assert [p.id for p in result.likely] == ["B", "C", "F", "A"]
    assert [p.id for p in result.target] == ["G", "D", "E"]
    assert [p.id for p in result.reach] == ["H"]
    assert [p.id for p in result.confirm_visa] == ["A", "H"]


@pytest.mark.parametrize("count,tier,expected", [
    (90, "T4", {"reach": 5, "target": 32, "likely": 53}),  # 90 x 0.35 = 31.5 exactly: 32 (a float gives 31)
    (10, "T1", {"reach": 3, "target": 5, "likely": 2}),  # 2.5 -> 3, 4.5 -> 5
    (7, "T2", {"reach": 1, "target": 3, "likely": 3}),
    (30, "T2", {"reach": 5, "target": 14, "likely": 11}),  # 4.5 -> 5, 13.5 -> 14
    (0, "T3", {"reach": 0, "target": 0, "likely": 0}),
    (1, "T1", {"reach": 0, "target": 0, "likely": 1}),
])
def test_quota_rounding_is_exact(strategy, count, tier, expected):
    assert 90 * 0.35 < 31.5  # the binary-float trap the rules avoid
    assert quotas(count, strategy.program_list.mix[tier]) == expected


def test_quota_half_through_a_whole_list(strategy, tmp_path):
    # T1 (score 250, gap 1), 10 programs in each category, max 100: L = 30; reach 7.5 -> 8, target 13.5 -> 14, likely 8.
    rows = [row(f"R{i:02}", img_percent=1) for i in range(10)] + [row(f"T{i:02}", img_percent=50) for i in range(20)]
    rows += [row(f"L{i:02}", step2_typical=200) for i in range(10)]
    result, _, facts = decide_for(strategy, tmp_path, rows, score=250, graduation_year=2026)
    assert facts["programs"]["tier"] == "T1"
    assert {c: len(v) for c, v in listed(result).items()} == {"reach": 10, "target": 20, "likely": 10}
    assert result.count == 40


def test_filling_when_a_category_runs_short(strategy, tmp_path):
    # T2, max 120: 200 targets and 1 likely. L = 120: quotas reach 18, target 54, likely 48; one likely only,
    # so the 47 + 18 slots left go likely first (none left), then to targets, then reaches (none).
    rows = [row(f"T{i:03}", img_percent=50) for i in range(200)] + [row("L1", step2_typical=200)]
    result, _, _ = decide_for(strategy, tmp_path, rows)
    assert result.count == 120 and not result.short
    assert listed(result)["likely"] == ["L1"] and listed(result)["reach"] == []
    assert listed(result)["target"] == [f"T{i:03}" for i in range(119)]


def test_filling_order_likely_then_target_then_reach(strategy, tmp_path):
    # T2 with max 120 and 130 programs: 20 reach, 20 target, 90 likely. Quotas 18 / 54 / 48:
    # take 18 reach, 20 target, 48 likely = 86; 34 slots left: likely first (42 left, takes 34).
    rows = [row(f"R{i:03}", img_percent=1) for i in range(20)] + [row(f"T{i:03}", img_percent=50) for i in range(20)]
    rows += [row(f"L{i:03}", step2_typical=200) for i in range(90)]
    result, _, _ = decide_for(strategy, tmp_path, rows)
    assert {c: len(v) for c, v in listed(result).items()} == {"reach": 18, "target": 20, "likely": 82}
    assert listed(result)["reach"] == [f"R{i:03}" for i in range(18)]


def test_short(strategy, tmp_path):
    result, _, facts = decide_for(strategy, tmp_path, [row(f"P{i}", img_percent=50) for i in range(79)])
    assert (result.count, result.short, facts["programs"]["min"]) == (79, True, 80)
    result, _, _ = decide_for(strategy, tmp_path, [row(f"P{i}", img_percent=50) for i in range(80)])
    assert (result.count, result.short) == (80, False)


def test_signals_skip_programs_that_take_none(strategy, tmp_path):
    rows = [row(f"T{i:02}", img_percent=50, signals="no" if i % 2 else "yes") for i in range(30)]
    rows += [row("R1", img_percent=1), row("L1", step2_typical=200)]
    result, _, _ = decide_for(strategy, tmp_path, rows)
    assert [p.id for p in result.gold] == ["T00", "T02", "T04"]
    assert [p.id for p in result.silver] == [f"T{i:02}" for i in range(6, 30, 2)]
    assert all(p.signals for p in result.gold + result.silver)
    few, _, _ = decide_for(strategy, tmp_path, [row("A", img_percent=1, signals="no"), row("B", step2_typical=200)])
    assert ([p.id for p in few.gold], few.silver) == (["B"], ())


def test_failed_step2_without_a_score_is_below_every_score(strategy, tmp_path):
    rows = [row("MIN", step2_min=1), row("TYP", step2_typical=16), row("FRIENDLY", img_percent=50),
            row("OTHER", img_percent=10), row("ATT", img_percent=50, failed_attempts="none")]
    result, index, facts = decide_for(strategy, tmp_path, rows, step2={"result": "fail", "score": None, "attempts": 1})
    assert (facts["band"]["id"], facts["programs"]["tier"], facts["basis"]["score"]) == ("very_low", "T4", None)
    assert result.excluded == {"visa": 0, "graduation": 0, "attempts": 1, "min_score": 1, "usce": 0, "far_above": 1}
    assert listed(result) == {"reach": ["OTHER"], "target": ["FRIENDLY"], "likely": []}


def test_pending_band_gets_no_list(strategy, tmp_path):
    result, _, facts = decide_for(strategy, tmp_path, [row("A")], step2=None)
    assert facts["band"]["id"] == "pending" and result is None


def test_practice_score_gives_a_list(strategy, tmp_path):
    practice = {"result": "pending", "practice": [{"date": AS_OF, "score": 240}]}
    result, _, _ = decide_for(strategy, tmp_path, [row("A", step2_typical=235)], step2=practice)
    assert listed(result)["likely"] == ["A"]


@pytest.mark.parametrize("visa,confirm,excluded", [
    ("j1", ["J1U", "UU"], ["H1U", "NN", "NY"]),
    ("h1b", ["H1U", "UU"], ["J1U", "NN", "YN"]),
    ("either", ["H1U", "J1U", "UU"], ["NN"]),  # one `yes` is enough; both `no` leaves it out
    (None, ["H1U", "J1U", "UU"], ["NN"]),  # absent = either
    ("none", [], []),  # no sponsorship needed: every program is open
])
def test_visa_needs(strategy, tmp_path, visa, confirm, excluded):
    rows = [row("J1U", visa_j1="unknown", visa_h1b="no"), row("H1U", visa_j1="no", visa_h1b="unknown"),
            row("UU", visa_j1="unknown", visa_h1b="unknown"), row("NN", visa_j1="no", visa_h1b="no"),
            row("YN", visa_j1="yes", visa_h1b="no"), row("NY", visa_j1="no", visa_h1b="yes")]
    result, index, facts = decide_for(strategy, tmp_path, rows, visa=visa)
    assert [p.id for p in result.confirm_visa] == confirm
    assert sorted(r.program.id for r in reasons(facts, index, result) if r.excluded == "visa") == excluded
    assert result.excluded["visa"] == len(excluded) and result.count == 6 - len(excluded)


def test_filling_goes_to_likely_before_target(strategy, tmp_path):
    # T2, max 120, no reach at all: quotas 18 / 54 / 48 take 0 / 54 / 48; the 18 slots left go to likely first.
    rows = [row(f"T{i:03}", img_percent=50) for i in range(100)] + [row(f"L{i:03}", step2_typical=200) for i in range(100)]
    result, _, _ = decide_for(strategy, tmp_path, rows)
    assert {c: len(v) for c, v in listed(result).items()} == {"reach": 0, "target": 54, "likely": 66}
    # and to target before reach: no likely at all, quotas take 18 / 54 / 0; 46 more targets, then 2 more reaches.
    rows = [row(f"R{i:03}", img_percent=1) for i in range(100)] + [row(f"T{i:03}", img_percent=50) for i in range(100)]
    result, _, _ = decide_for(strategy, tmp_path, rows)
    assert {c: len(v) for c, v in listed(result).items()} == {"reach": 20, "target": 100, "likely": 0}
