"""Shared fixtures: the project's paths, the tests' own strategy data, a profile factory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from generator.load.profiles import Practice, Profile, Step1, Step2
from generator.load.strategy import load_strategy

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 11, 25)
# The unit tests' own strategy data: an advisor's edit of content/data/strategy.yaml cannot break them.
STRATEGY = ROOT / "tests" / "fixtures" / "strategy.yaml"


@pytest.fixture(scope="session")
def strategy():
    return load_strategy(STRATEGY, "tests/fixtures/strategy.yaml")


def make_profile(**kw) -> Profile:
    """A real, valid Profile; keyword overrides, `step1`/`step2` as dicts of their fields (`step2=None`: none)."""
    step1 = Step1(**{"result": "pass", "attempts": 1, "score": None, **kw.pop("step1", {})})
    step2 = kw.pop("step2", {"result": "pass", "score": 238, "attempts": 1})
    if step2 is not None:
        step2 = {"result": "pending", "score": None, "attempts": 0, "exam_date": None, "practice": (),
                 "qbank_percent": None, **step2}
        exams = (Practice(**{"name": None, **p}) for p in step2["practice"])
        step2 = Step2(**{**step2, "practice": tuple(sorted(exams, key=lambda exam: exam.date))})
    base = dict(id="t", name="Test Person", email="t@example.org", graduation_year=2024, cycle=2027,
                visa="j1", in_medical_school=False, usce_months=3, us_lors=1, research_items=0, target=None,
                oet_passed=True, ecfmg_certified=False, advisor=None, notes=None, country=None, medical_school=None,
                source="profiles/t.yaml", digest="x")
    base.update(kw)
    return Profile(step1=step1, step2_ck=step2, **base)
