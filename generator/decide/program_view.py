"""An applicant's program list as facts: plain dicts that section bodies and theme templates read (pure).

`facts.program_list` is None when there is no list; `facts.program_list_status` says why (see
docs/architecture.md for every key).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from generator.decide.program_list import REASONS, ProgramIndex, ProgramList, decide, visa_status
from generator.load.programs import Program

STATUSES = ("ready", "pending", "no_spreadsheet", "spreadsheet_errors")


def attach(facts: dict, index: ProgramIndex | None, status: str) -> ProgramList | None:
    """Decide the applicant's list (when there is a usable spreadsheet) and put it in the facts; return it."""
    decided = decide(facts, index) if index is not None and status == "ready" else None
    if status == "ready" and decided is None:
        status = "pending"
    facts["program_list_status"] = status
    facts["program_list"] = None if decided is None else view(decided, index, facts)  # type: ignore[arg-type]
    return decided


def number(value: Decimal | None) -> int | float | None:
    """A spreadsheet number for display: whole numbers without a decimal point."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def view(decided: ProgramList, index: ProgramIndex, facts: dict) -> dict:
    """The template-facing form of a decided list."""
    score = facts["basis"]["score"]
    rules = index.rules
    gold = {p.id for p in decided.gold}
    silver = {p.id for p in decided.silver}

    def entry(p: Program, category: str) -> dict:
        img = p.img_percent
        if img is not None and img < rules.img_rare_below:
            basis = "img_rare"
        elif p.step2_typical is not None and score is not None:
            basis = "margin"
        elif img is not None and img >= rules.img_friendly_from:
            basis = "img_friendly"
        else:
            basis = "other"
        status = visa_status(p, decided.need)
        return {
            "id": p.id, "name": p.name, "city": p.city, "state": p.state, "type": p.type,
            "visa_j1": p.visa_j1, "visa_h1b": p.visa_h1b, "visa": status,
            "img_percent": number(img), "step2_min": p.step2_min, "step2_typical": p.step2_typical,
            "website": p.website, "category": category, "basis": basis,
            "margin": None if p.step2_typical is None or score is None else score - p.step2_typical,
            "signal": "gold" if p.id in gold else "silver" if p.id in silver else None,
            "confirm_visa": status == "unknown",
        }

    groups = {c: [entry(p, c) for p in getattr(decided, c)] for c in ("reach", "target", "likely")}
    by_id = {e["id"]: e for c in groups.values() for e in c}
    costly = sorted(((n, REASONS.index(r), r) for r, n in decided.excluded.items() if n), key=lambda t: (-t[0], t[1]))
    return {
        "count": decided.count,
        "short": decided.short,
        "min": decided.min,
        "max": decided.max,
        "rows": decided.rows,
        "stayed": decided.stayed,
        "need": decided.need,
        "reach": groups["reach"],
        "target": groups["target"],
        "likely": groups["likely"],
        "programs": groups["target"] + groups["reach"] + groups["likely"],
        "signals": {
            "gold": [by_id[p.id] for p in decided.gold],
            "silver": [by_id[p.id] for p in decided.silver],
            "season": decided.signals_season,
            "gold_count": decided.signals_gold,
            "silver_count": decided.signals_silver,
        },
        "excluded": dict(decided.excluded),
        "excluded_total": sum(decided.excluded.values()),
        "exclusions": [{"reason": r, "count": n} for n, _, r in costly],
        "confirm_visa": [by_id[p.id] for p in decided.confirm_visa],
    }


def sample(strategy: Any) -> dict:
    """A list with every key and one program in each place: the shape rules and templates are checked against."""
    program = Program("P1", "Sample", "City", "NY", "community", "yes", "yes", Decimal(40), 220, 230, 5, "any",
                      False, True, "https://example.org", None, 2)
    index = ProgramIndex([program], strategy.program_list)
    decided = ProgramList(1, True, (program,), (program,), (program,), (program,), (program,),
                          dict.fromkeys(REASONS, 1), (program,), 1, 1, "j1", 80, 100, 2026, 3, 12)
    facts = {"basis": {"score": 230}}
    return view(decided, index, facts)
