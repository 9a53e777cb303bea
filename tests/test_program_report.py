"""The program list in the advisor's tools: explain's per-program reasons, coverage's per-program counts."""

from __future__ import annotations

from generator.authoring.program_report import coverage_lines, explain_lines
from generator.decide.program_list import ProgramIndex
from tests.program_sheets import sheet
from tests.test_program_list import WORKED, facts_for


def test_explain_gives_every_program_its_decision_and_reason(strategy, tmp_path):
    index = ProgramIndex(sheet(tmp_path, *WORKED).programs, strategy.program_list)
    lines = explain_lines(facts_for(strategy, visa="j1", usce_months=3), index, "ready")
    assert lines[0].startswith("  program list: 7 of 11 programs (tier T2: 80–120, short of the minimum 80)")
    by_id = {line.split()[1]: line for line in lines[1:] if line.startswith("    ") and line.split()[0] in "✓·"}
    assert set(by_id) == {f"P{i}" for i in range(1, 12)}
    assert by_id["P2"].lstrip().startswith("·") and "left out: visa (J-1 no, H-1B yes; needs J-1)" in by_id["P2"]
    assert "left out: far_above (typical 252, more than 15 above score 236)" in by_id["P5"]
    assert "left out: graduation (at most 3 years since graduation; gap 5)" in by_id["P7"]
    assert "left out: min_score (minimum 240; score 236)" in by_id["P8"]
    assert by_id["P1"].lstrip().startswith("✓") and "likely: margin +6 against typical 230; silver signal" in by_id["P1"]
    assert "target: margin +0 against typical 236; gold signal, confirm visa" in by_id["P3"]
    assert "reach: IMG-rare (3% IMGs)" in by_id["P4"]
    assert "target: IMG-friendly (25% IMGs), no typical score; gold signal" in by_id["P9"]
    assert "likely: margin +5 against typical 231" in by_id["P11"] and "signal" not in by_id["P11"]


def test_explain_says_why_there_is_no_list(strategy, tmp_path):
    index = ProgramIndex(sheet(tmp_path, *WORKED).programs, strategy.program_list)
    pending = facts_for(strategy, step2=None)
    assert "band pending" in explain_lines(pending, index, "ready")[0]
    assert "no program spreadsheet" in explain_lines(pending, None, "no_spreadsheet")[0]
    assert "has errors" in explain_lines(pending, None, "spreadsheet_errors")[0]


def test_coverage_counts_each_programs_applicants_and_names_programs_nobody_gets(strategy, tmp_path):
    index = ProgramIndex(sheet(tmp_path, *WORKED).programs, strategy.program_list)
    cohort = [("a", facts_for(strategy, visa="j1", usce_months=3)), ("b", facts_for(strategy, visa="none", usce_months=3)),
              ("c", facts_for(strategy, step2=None))]
    lines = coverage_lines(cohort, index, "ready")
    assert lines[0] == "program list coverage: 2 of 3 applicants have a list; 8 of 11 programs are on at least one"
    rows = {line.split()[0]: line.split()[1:7] for line in lines[2:-1]}
    assert rows["P2"] == ["1", "0", "0", "1", "0", "1"]  # only the applicant who needs no visa: a likely, silver
    assert rows["P1"] == ["2", "0", "0", "2", "0", "2"]
    assert rows["P9"][:3] == ["2", "0", "2"] and rows["P9"][4] == "2"  # two targets, two gold signals
    assert lines[-1] == "on nobody's list (3): P5, P7, P8"
