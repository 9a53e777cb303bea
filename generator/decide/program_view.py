"""An applicant's program list as facts: plain dicts that section bodies and theme templates read (pure).

`facts.program_list` is None when there is no list; `facts.program_list_status` says why (see
docs/architecture.md for every key).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from generator.decide.program_list import REASONS, ProgramIndex, ProgramList, decide
from generator.load.programs import Program

STATUSES = ("ready", "pending", "no_spreadsheet", "spreadsheet_errors")


def attach(facts: dict, index: ProgramIndex | None, status: str) -> ProgramList | None:
    """Decide the applicant's list (when there is a usable spreadsheet) and put it in the facts; return it."""
    decided = decide(facts, index) if index is not None and status == "ready" else None
    if status == "ready" and decided is None:
        status = "pending"
    facts["program_list_status"] = status
    facts["program_list"] = None if decided is None else ListView(decided, index, facts["basis"]["score"])
    return decided


class ListView(Mapping):
    """`facts.program_list`: the view of a decided list, made when first read (rendering, or a rule that reads it)
    and dropped again by `release()` once the guide is rendered, so a cohort's facts stay small."""

    __slots__ = ("_decided", "_index", "_score", "_view")

    def __init__(self, decided: ProgramList, index: Any, score: int | None):
        self._decided, self._index, self._score, self._view = decided, index, score, None

    def _made(self) -> dict:
        if self._view is None:
            self._view = view(self._decided, self._index, {"basis": {"score": self._score}})
        return self._view

    def release(self) -> None:
        """Forget the made view (it is made again if read again)."""
        self._view = None

    def __getitem__(self, key: str) -> Any:
        return self._made()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._made())

    def __len__(self) -> int:
        return len(self._made())

    def __bool__(self) -> bool:
        return True


def number(value: Decimal | None) -> int | float | None:
    """A spreadsheet number for display: whole numbers without a decimal point."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


class Entry(dict):
    """One listed program as templates see it: the program's own values (`base`, kept once per program) and this
    applicant's category, reason, margin, signal and visa doubt (`visa`: `unknown` when it must be confirmed,
    else `yes`). Its keys read as attributes too (`p.name`). A plain dict underneath, so templates read it at
    dict speed; made when a guide is rendered and dropped after (`ListView.release`)."""

    __slots__ = ()
    OWN = ("category", "basis", "margin", "signal", "confirm_visa", "visa")

    def __init__(self, base: dict, category: str, basis: str, margin: int | None, signal: str | None,
                 confirm_visa: bool):
        super().__init__(base)
        self.update(category=category, basis=basis, margin=margin, signal=signal, confirm_visa=confirm_visa,
                    visa="unknown" if confirm_visa else "yes")

    def __getattr__(self, key: str) -> Any:
        try:
            return self[key]
        except KeyError:
            raise AttributeError(key) from None


def base(program: Program) -> dict:
    """What the view shows of a program whoever the applicant is (kept once per program in the index)."""
    return {
        "id": program.id, "name": program.name, "city": program.city, "state": program.state, "type": program.type,
        "visa_j1": program.visa_j1, "visa_h1b": program.visa_h1b, "img_percent": number(program.img_percent),
        "step2_min": program.step2_min, "step2_typical": program.step2_typical, "website": program.website,
    }


def view(decided: ProgramList, index: ProgramIndex, facts: dict) -> dict:
    """The template-facing form of a decided list."""
    score = facts["basis"]["score"]
    rules = index.rules
    bases = index.__dict__.setdefault("view_bases", {})
    gold = {p.id for p in decided.gold}
    silver = {p.id for p in decided.silver}
    unknown = {p.id for p in decided.confirm_visa}

    def entry(p: Program, category: str) -> Entry:
        shown = bases.get(p.id)
        if shown is None:
            shown = bases[p.id] = base(p)
        img, typical = p.img_percent, p.step2_typical
        if img is not None and img < rules.img_rare_below:
            basis = "img_rare"
        elif typical is not None and score is not None:
            basis = "margin"
        elif img is not None and img >= rules.img_friendly_from:
            basis = "img_friendly"
        else:
            basis = "other"
        return Entry(shown, category, basis, None if typical is None or score is None else score - typical,
                     "gold" if p.id in gold else "silver" if p.id in silver else None, p.id in unknown)

    groups = {c: [entry(p, c) for p in getattr(decided, c)] for c in ("reach", "target", "likely")}
    by_id = {e["id"]: e for c in groups.values() for e in c}
    costly = sorted(((n, REASONS.index(r), r) for r, n in decided.excluded.items() if n), key=lambda t: (-t[0], t[1]))
    return {
        "invented": index.invented,
        "rules": {"far_above": rules.far_above, "likely_margin": rules.likely_margin,
                  "target_margin": rules.target_margin, "img_rare_below": number(rules.img_rare_below),
                  "img_friendly_from": number(rules.img_friendly_from)},
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


def list_summary(decided: ProgramList | None, status: str) -> str:
    """One line for the advisor's tools: `112 programs (short: fewer than 120), 9 to confirm visa`."""
    if decided is None:
        return {"pending": "none yet (no Step 2 CK score)", "no_spreadsheet": "none (no program spreadsheet)",
                "spreadsheet_errors": "none (the program spreadsheet has errors)"}.get(status, status)
    short = f" (short: fewer than {decided.min})" if decided.short else ""
    return (f"{decided.count} programs{short}: {len(decided.reach)} reach, {len(decided.target)} target, "
            f"{len(decided.likely)} likely; {len(decided.confirm_visa)} to confirm visa")
