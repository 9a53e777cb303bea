"""The shipped guide, read as an applicant reads it: personalized numbers, dates and rows in real builds."""

from __future__ import annotations

import html
import json
import re
from datetime import date

import pytest

from generator.build import BuildOptions, build, check
from generator.decide.facts import derive
from generator.decide.selection import select
from tests.conftest import ROOT

AS_OF = date(2026, 11, 25)

PROFILES = {
    "plan-person": """
name: Plan Person
email: plan@example.org
graduation_year: 2023
step1: {result: pass, attempts: 1}
step2_ck:
  result: pending
  exam_date: 2027-06-14
  practice:
    - {date: 2026-10-01, name: NBME 11, score: 219}
    - {date: 2026-11-01, name: NBME 12, score: 226}
  qbank_percent: 58
usce_months: 2
""",
    "late-person": """
name: Late Person
email: late@example.org
graduation_year: 2024
step1: {result: pass, attempts: 1}
step2_ck: {result: pending, exam_date: 2027-08-20}
""",
    "solid-person": """
name: Solid Person
email: solid@example.org
graduation_year: 2021
step1: {result: pass, attempts: 2}
step2_ck: {result: pass, score: 238, attempts: 1, exam_date: 2026-07-01}
usce_months: 4
""",
    "soon-person": """
name: Soon Person
email: soon@example.org
graduation_year: 2025
step1: {result: pass, attempts: 1}
step2_ck: {result: pending, exam_date: 2027-01-20}
""",
}


def text_of(page: str) -> str:
    """The visible text of an HTML page, whitespace folded."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


@pytest.fixture(scope="module")
def guides(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cohort")
    (root / "profiles").mkdir()
    for pid, text in PROFILES.items():
        (root / "profiles" / f"{pid}.yaml").write_text(text.lstrip())
    out = root / "output"
    result = build(BuildOptions(profiles=root / "profiles", content=ROOT / "content", theme=ROOT / "themes/default",
                                out=out, state=root / "state", pdf=False, as_of=AS_OF))
    assert result.ok, result.problems
    doc = json.loads((out / "manifest.json").read_text())
    return {e["id"]: (out / e["html"]).read_text() for e in doc["profiles"]}


def test_twelve_week_plan_dates(guides):
    text = text_of(guides["plan-person"])
    # Exam 14 June 2027: week 1 starts 12 weeks earlier, on 22 March.
    for phase in ("22 Mar 2027 to 18 Apr 2027", "19 Apr 2027 to 16 May 2027", "17 May 2027 to 6 Jun 2027",
                  "7 Jun 2027 to 13 Jun 2027"):
        assert phase in text
    assert "14 June 2027" in text and "The plan counts back 12 weeks from your exam" in text
    assert "weeks remain before your exam" not in text  # a full plan: no warning


def test_compressed_plan_warns(guides):
    text = text_of(guides["soon-person"])
    assert "Only 8 weeks remain before your exam" in text


def test_release_date_warning(guides):
    late = text_of(guides["late-person"])
    assert "17 September 2027" in late and "1 September 2027" in late
    assert "comes 16 days after that" in late
    assert "days after that" not in text_of(guides["plan-person"])


def test_program_range_and_highlighted_row(guides):
    solid = text_of(guides["solid-person"])
    assert "120 to 160" in solid or "120–160" in solid
    assert "Solid ← you" in solid and "Solid ← you (projected)" not in solid
    projected = text_of(guides["plan-person"])
    assert "Low ← you (projected)" in projected
    assert 'id="step1-recovery"' in guides["solid-person"] and 'id="step1-recovery"' not in guides["plan-person"]


def test_projected_band_is_labelled(guides):
    text = text_of(guides["plan-person"])
    assert "projected" in text.lower() and "226" in text


def test_every_item_reaches_a_sample_profile():
    inputs, guides, problems = check(BuildOptions(profiles=ROOT / "profiles", content=ROOT / "content",
                                                    theme=ROOT / "themes/default", as_of=AS_OF))
    assert not problems
    received: set[tuple[str, str]] = set()
    layouts: set[str] = set()
    for guide in guides:
        sel = guide.selection
        received |= {(i.kind, i.id) for i in sel.items()}
        layouts.add(sel.layout.id)
    unreachable = {(i.kind, i.id) for i in inputs.content.items()} - received
    assert not unreachable, f"no sample profile receives: {sorted(unreachable)}"
    assert layouts == {lay.id for lay in inputs.theme.layouts}
    bands = {b.id for b in inputs.strategy.bands} | {"pending"}
    assert bands <= {i.band for i in inputs.content.examples}, "every band has a worked example"
