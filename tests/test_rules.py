"""Rules: only allowlisted expressions over known facts; located errors; booleans only."""

from __future__ import annotations

import pytest

from generator.errors import InputError
from generator.decide.facts import derive, schema
from generator.decide.rules import parse_rule
from tests.conftest import AS_OF, make_profile


@pytest.fixture(scope="module")
def facts_schema(strategy):
    return schema(strategy)


def rule(text, facts_schema, line=7):
    return parse_rule(text, schema=facts_schema, source="content/sections/x.md", line=line)


@pytest.mark.parametrize("text,expected", [
    ("true", True),
    ("band.id == 'solid'", True),
    ("band.id in ['low', 'very_low']", False),
    ("band.id not in ['low', 'very_low']", True),
    ("flags.step1_fail or step2.score >= 235", True),
    ("not flags.long_gap and gap <= 5", True),
    ("step1.score > 200", False),  # None: an ordering comparison with None is false
    ("step2.exam_date == none", True),
    ("230 <= step2.score < 240", True),
    ("plan.phases[0].id == 'foundation' or not plan.available", True),
    ("in_medical_school", False),
])
def test_evaluates(strategy, facts_schema, text, expected):
    facts = derive(make_profile(), strategy, AS_OF)
    assert rule(text, facts_schema).evaluate(facts) is expected


@pytest.mark.parametrize("text,message", [
    ("band.idd == 'low'", "unknown fact 'band.idd'"),
    ("flags.step3_fail", "unknown fact 'flags.step3_fail'"),
    ("bandid == 'low'", "unknown fact 'bandid'"),
    ("band.id.__class__ == 1", "unknown fact"),
    ("name.upper() == 'X'", "calls are not allowed"),
    ("band.id | upper == 'LOW'", "filters are not allowed"),
    ("step2.score is none", "tests"),
    ("step2.score + 1 > 2", "not allowed"),
    ("lipsum(1)", "calls are not allowed"),
    ("band.id == ", "syntax error"),
    ("band.id == 'low' flags.step1_fail", "unexpected"),
    ("band.id", "must be a comparison"),
    ("step2.score", "must be a comparison"),
    ("'a' ~ 'b' == 'ab'", "not allowed"),
    ("", "expected a rule"),
    (12, "expected a rule"),
])
def test_rejected_with_location(facts_schema, text, message):
    with pytest.raises(InputError) as err:
        rule(text, facts_schema)
    problem = err.value.problems[0]
    assert message in problem.message
    assert problem.source == "content/sections/x.md" and problem.field == "when" and problem.line == 7


def test_syntax_error_line_is_in_the_file(facts_schema):
    with pytest.raises(InputError) as err:
        rule("band.id == 'low' and\n  (flags.step1_fail or", facts_schema, line=10)
    assert err.value.problems[0].line in (10, 11)


def test_yaml_booleans_are_rules(strategy, facts_schema):
    facts = derive(make_profile(), strategy, AS_OF)
    assert rule(True, facts_schema).evaluate(facts) is True
    assert rule(False, facts_schema).evaluate(facts) is False


def test_names_recorded_for_explain(strategy, facts_schema):
    r = rule("flags.step1_fail or band.id == 'low'", facts_schema)
    assert r.names == ("flags.step1_fail", "band.id")
    facts = derive(make_profile(), strategy, AS_OF)
    assert r.values(facts) == {"flags.step1_fail": False, "band.id": "solid"}
