"""Facts + content + theme -> what one guide contains, and why (pure).

`compile_rules` checks and compiles every `when` of the content and the theme once per project.
`select` applies them to one applicant's facts and returns the `Decisions`: the chosen layout and
items, and a `Decision` for every candidate, chosen or not, naming its rule (text, file, line) and
the fact values that decided it. `explain` and `coverage` only format these decisions.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from generator.decide.rules import Rule, RuleError, parse_rule
from generator.errors import InputError, Problem
from generator.load.content import ALWAYS, Content, Item, Layout, Theme

KINDS = ("section", "example", "faq", "layout")
MAX_EXAMPLES = 2  # worked examples per guide: the closest ones of the applicant's band


@dataclass(frozen=True)
class Candidate:
    """One item or layout with its compiled rule, where the rule is written, and the field coverage names."""

    kind: str
    id: str
    rule: Rule
    source: str
    line: int | None
    field: str  # `when`, `band` for an example (its band decides first), `layouts[i].when` for a layout
    item: Item | None = None
    layout: Layout | None = None

    @property
    def band(self) -> str | None:
        """The band an example is written for; None for anything else."""
        return self.item.band if self.item is not None and self.kind == "example" else None


@dataclass(frozen=True)
class Rulebook:
    """The project's content and theme with every rule compiled: what `select` chooses from."""

    content: Content
    theme: Theme
    candidates: tuple[Candidate, ...]  # sections, examples, FAQ entries, layouts; each in guide order


def compile_rules(content: Content, theme: Theme, schema: dict) -> tuple[Rulebook, list[Problem]]:
    """Check every `when` against the facts schema; (the rulebook of the good ones, the located problems)."""
    problems: list[Problem] = []
    candidates: list[Candidate] = []

    def add(kind: str, ident: str, when: str, source: str, line: int | None, field: str, **what: Any) -> None:
        try:
            rule = parse_rule(when, schema=schema, source=source, line=line)
        except InputError as exc:
            problems.extend(exc.problems)
            return
        candidates.append(Candidate(kind, ident, rule, source, line, field, **what))

    for item in content.items():
        add(item.kind, item.id, item.when, item.source, item.when_line, "band" if item.kind == "example" else "when",
            item=item)
    for layout in theme.layouts:
        add("layout", layout.id, layout.when, layout.source, layout.when_line, f"layouts[{layout.index}].when",
            layout=layout)
    return Rulebook(content, theme, tuple(candidates)), problems


@dataclass(frozen=True)
class Decision:
    """One item or layout for one applicant: whether it was chosen, by which rule, on which fact values."""

    kind: str
    id: str
    selected: bool
    rule: str  # the `when` text
    source: str  # the file the rule is written in
    line: int | None  # and its line there
    holds: bool | None  # None when the rule could not be evaluated (see `error`)
    values: dict[str, Any]  # every fact the rule reads, with its value for this applicant
    band: str | None = None  # examples: the band the example is written for
    band_matches: bool | None = None
    applicant_band: str | None = None
    note: str | None = None  # layouts: why a layout whose rule holds was not chosen
    error: str | None = None

    @property
    def always(self) -> bool:
        """The rule is literally `true`."""
        return self.rule.strip() == ALWAYS

    @property
    def where(self) -> str:
        """`file:line` of the rule."""
        return f"{self.source}:{self.line}" if self.line else self.source


@dataclass(frozen=True)
class Decisions:
    """What one guide contains (layout and items, in guide order) and every decision behind it."""

    layout: Layout
    chosen: tuple[Item, ...]  # the items the guide shows, in guide order: sections, then examples, then FAQ
    decisions: tuple[Decision, ...]  # every candidate, chosen or not, in rulebook order

    sections = property(lambda self: self.shown("section"))
    examples = property(lambda self: self.shown("example"))
    faq = property(lambda self: self.shown("faq"))

    def items(self) -> tuple[Item, ...]:
        """Every selected item, sections first."""
        return self.chosen

    def shown(self, kind: str) -> tuple[Item, ...]:
        """The items of one kind (`section`, `example`, `faq`) the guide shows, in guide order."""
        return tuple(item for item in self.chosen if item.kind == kind)

    def of_kind(self, kind: str) -> list[Decision]:
        """The decisions about one kind of thing (`section`, `example`, `faq`, `layout`), in guide order."""
        return [d for d in self.decisions if d.kind == kind]

    def selected(self, kind: str) -> list[str]:
        """The ids chosen of one kind, in guide order."""
        return [d.id for d in self.of_kind(kind) if d.selected]


def select(facts: dict, rules: Rulebook) -> Decisions:
    """Every item whose rule holds, and the first layout whose rule holds (the last layout when none does);
    each decision with the values that made it. Examples: of the applicant's band, rule holding, the
    MAX_EXAMPLES closest to the applicant's record (ties: content order), shown in content order."""
    band = facts["band"]["id"]
    closest = _closest_examples(facts, rules, band)
    decisions: list[Decision] = []
    layouts: list[Layout] = []
    items: list[Item] = []
    for c in rules.candidates:
        try:
            holds, error = c.rule.evaluate(facts), None
        except RuleError as exc:
            holds, error = None, str(exc)
        extra: dict[str, Any] = {}
        if c.kind == "example":
            extra = {"band": c.band, "band_matches": c.band == band, "applicant_band": band}
            selected = c.id in closest
            if c.band == band and holds and not selected:
                extra["note"] = f"closer examples of the band were chosen (at most {MAX_EXAMPLES})"
        elif c.kind == "layout":
            first = layouts[0].id if layouts else None
            selected = bool(holds) and first is None
            extra = {"note": f"an earlier layout, {first}, was chosen"} if holds and first else {}
        else:
            selected = bool(holds)
        if selected:
            if c.kind == "layout":
                layouts.append(c.layout)
            else:
                items.append(c.item)
        decisions.append(Decision(c.kind, c.id, selected, c.rule.text, c.source, c.line, holds, c.rule.values(facts),
                                  error=error, **extra))
    if not layouts:  # the theme's last layout is the fallback
        layouts.append(rules.theme.layouts[-1])
        last = max(i for i, d in enumerate(decisions) if d.kind == "layout")
        decisions[last] = replace(decisions[last], selected=True, note="no layout rule holds; the last one is used")
    return Decisions(layouts[0], tuple(items), tuple(decisions))


def _closest_examples(facts: dict, rules: Rulebook, band: str) -> set[str]:
    """The ids of the examples a guide shows: band and rule first, then closeness of the record."""
    fitting = []
    for c in rules.candidates:
        if c.kind != "example" or c.band != band or c.item is None:
            continue
        try:
            if not c.rule.evaluate(facts):
                continue
        except RuleError:
            continue
        fitting.append(c.item)
    ranked = sorted(fitting, key=lambda item: (distance(item.record, facts), item.order, item.id))
    return {item.id for item in ranked[:MAX_EXAMPLES]}


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
