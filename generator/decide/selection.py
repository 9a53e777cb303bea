"""Facts + content + theme -> what one guide contains (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from generator.load.content import Content, Item, Layout, Theme

MAX_EXAMPLES = 2  # worked examples per guide: the closest ones of the applicant's band


@dataclass(frozen=True)
class Selection:
    """The layout and the items, in guide order, that one applicant's guide contains."""

    layout: Layout
    sections: tuple[Item, ...]
    examples: tuple[Item, ...]
    faq: tuple[Item, ...]

    def items(self) -> tuple[Item, ...]:
        """Every selected item, sections first."""
        return (*self.sections, *self.examples, *self.faq)


def select(facts: dict, content: Content, theme: Theme) -> Selection:
    """Choose the layout (first rule that holds), every section and FAQ entry whose rule holds,
    and the closest examples of the applicant's band whose rule holds (at most MAX_EXAMPLES; ties go to
    the content order), shown in content order."""
    layout = next((lay for lay in theme.layouts if lay.rule.evaluate(facts)), theme.layouts[-1])
    band = facts["band"]["id"]
    candidates = [item for item in content.examples if item.band == band and item.rule.evaluate(facts)]
    closest = sorted(candidates, key=lambda item: (distance(item.record, facts), item.order, item.id))[:MAX_EXAMPLES]
    return Selection(
        layout=layout,
        sections=tuple(item for item in content.sections if item.rule.evaluate(facts)),
        examples=tuple(sorted(closest, key=lambda item: (item.order, item.id))),  # shown in content order
        faq=tuple(item for item in content.faq if item.rule.evaluate(facts)),
    )


def distance(record: dict | None, facts: dict) -> int:
    """How far an example's fictional applicant is from this applicant: failures weigh most,
    then a projected score and being a student, then the H-1B need, then the gap and US experience."""
    if not record:
        return 0
    gap_limit = facts["modifiers"]["long_gap_years"]
    checks = (
        ("failures", 4, lambda v: (v > 0) == (facts["failures_total"] > 0)),
        ("projected", 3, lambda v: v == facts["band"]["projected"]),
        ("student", 3, lambda v: v == facts["in_medical_school"]),
        ("visa", 2, lambda v: (v == "h1b") == (facts["visa"] == "h1b")),
        ("gap", 1, lambda v: (v > gap_limit) == (facts["gap"] > gap_limit)),
        ("usce_months", 1, lambda v: (v == 0) == (facts["usce_months"] == 0)),
    )
    return sum(weight for key, weight, same in checks if key in record and not same(record[key]))


def matches_record(record: dict | None, facts: dict) -> bool:
    """Whether an example's fictional record agrees with the applicant's on exam failures."""
    return not record or "failures" not in record or (record["failures"] > 0) == (facts["failures_total"] > 0)
