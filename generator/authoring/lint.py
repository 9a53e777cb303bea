"""Warnings `matchguide check` gives beyond errors: rules that test impossible values, placeholders left in profiles,
characters of a name that no installed font can print.

Warnings never stop a build; `check --strict` makes them fail the check.
"""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

from generator.authoring.placeholders import placeholder_warnings
from generator.decide.facts import value_domains
from generator.decide.rules import impossible_values
from generator.errors import Problem
from generator.load.profiles import Profile
from generator.project import Inputs
from generator.render.glyphs import glyph_warnings
from generator.decide.profile_dates import cohort_date_warnings


def rule_warnings(inputs: Inputs) -> list[Problem]:
    """Every comparison, in content and theme rules, of a fact with a value it never holds (`visa == 'J1'`)."""
    domains = value_domains(inputs.strategy)
    rules = [candidate.rule for candidate in inputs.rules.candidates]
    return [warning for rule in rules for warning in impossible_values(rule, domains)]


def check_warnings(inputs: Inputs, profiles: Sequence[Profile], profiles_dir: Path) -> list[Problem]:
    """The rule warnings, then one per placeholder value still in a profile, then the profile dates that cannot be
    right on the build date (future practice exams, results dated in the future), then one per character of a
    name no installed font can print."""
    return (rule_warnings(inputs) + placeholder_warnings(profiles, profiles_dir, inputs.as_of)
            + cohort_date_warnings(profiles, inputs.as_of) + glyph_warnings(profiles))
