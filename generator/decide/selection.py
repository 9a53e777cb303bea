"""Facts + content + theme -> what one guide contains (pure)."""

from __future__ import annotations

from dataclasses import dataclass

from generator.load.content import Content, Item, Layout, Theme


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
    """Choose the layout (first rule that holds) and every item whose rule holds."""
    layout = next((lay for lay in theme.layouts if lay.rule.evaluate(facts)), theme.layouts[-1])
    band = facts["band"]["id"]
    return Selection(
        layout=layout,
        sections=tuple(item for item in content.sections if item.rule.evaluate(facts)),
        examples=tuple(item for item in content.examples if item.band == band and item.rule.evaluate(facts)),
        faq=tuple(item for item in content.faq if item.rule.evaluate(facts)),
    )
