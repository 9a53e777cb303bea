"""Facts + the program spreadsheet -> one applicant's program list, with a reason for every program (pure).

The rules are docs/program-list.md; every number comes from `program_list` in content/data/strategy.yaml.
A cohort shares one spreadsheet, so it is prepared once (`ProgramIndex`): each condition of the rules
becomes a bit mask over the programs in ranking order, and deciding one applicant's list is a few mask
operations and one pass over the programs it lists, not a pass over the whole spreadsheet.
`reasons()` decides program by program, as the rules read; the tests check that both always agree.
"""

from __future__ import annotations

import hashlib
import json
from bisect import bisect_right
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any, Sequence

from generator.load.programs import Program, program_fields
from generator.load.strategy import CATEGORIES, ProgramListRules

REASONS = ("visa", "graduation", "attempts", "min_score", "usce", "far_above")
NEEDS = ("j1", "h1b", "either", "none")
HALF = Decimal("0.5")


def visa_need(visa: str | None) -> str:
    """The sponsorship an applicant needs: their `visa`, or `either` when the profile does not say."""
    return visa if visa in NEEDS else "either"


def visa_status(program: Program, need: str) -> str:
    """`yes` (sponsored, or none needed), `no` or `unknown` for the visa this applicant needs."""
    if need == "none":
        return "yes"
    if need == "j1":
        return program.visa_j1
    if need == "h1b":
        return program.visa_h1b
    pair = (program.visa_j1, program.visa_h1b)
    return "yes" if "yes" in pair else "no" if pair == ("no", "no") else "unknown"


def rank_key(program: Program) -> tuple:
    """The ranking inside a category, after visa status: higher IMG share, higher typical score, blanks last; id."""
    img, typical = program.img_percent, program.step2_typical
    return (img is None, -(img or 0), typical is None, -(typical or 0), program.id)


class _Threshold:
    """The programs whose value in one column is at most x, as a bit mask, for any x."""

    def __init__(self, pairs: list[tuple[Any, int]]):
        pairs.sort(key=lambda p: p[0])
        self.values = [v for v, _ in pairs]
        self.prefix = [0]
        for _, bit in pairs:
            self.prefix.append(self.prefix[-1] | bit)
        self.set = self.prefix[-1]

    def at_most(self, x: Any) -> int:
        return self.prefix[bisect_right(self.values, x)]


class ProgramIndex:
    """A spreadsheet prepared once for deciding every applicant's list; programs held in ranking order."""

    def __init__(self, programs: Sequence[Program], rules: ProgramListRules, *, invented: bool = False):
        self.rules = rules
        self.invented = invented  # a sample sheet whose programs are made up: the guides say so
        self.programs: tuple[Program, ...] = tuple(sorted(programs, key=rank_key))
        self.rows = len(self.programs)
        self.all = (1 << self.rows) - 1
        bits = [1 << i for i in range(self.rows)]
        ps = list(zip(self.programs, bits))

        def mask(test: Any) -> int:
            out = 0
            for p, b in ps:
                if test(p):
                    out |= b
            return out

        self.visa_ok = {n: mask(lambda p, n=n: visa_status(p, n) != "no") for n in NEEDS}
        self.visa_known = {n: mask(lambda p, n=n: visa_status(p, n) == "yes") for n in NEEDS}
        self.years = _Threshold([(-p.max_years_since_graduation, b) for p, b in ps if p.max_years_since_graduation is not None])
        self.attempts_ok = (self.all, mask(lambda p: p.failed_attempts != "none"), mask(lambda p: p.failed_attempts == "any"))
        self.minimum = _Threshold([(p.step2_min, b) for p, b in ps if p.step2_min is not None])
        self.no_usce_ok = mask(lambda p: not p.usce_required)
        self.typical = _Threshold([(p.step2_typical, b) for p, b in ps if p.step2_typical is not None])
        self.rare = mask(lambda p: p.img_percent is not None and p.img_percent < rules.img_rare_below)
        self.friendly = mask(lambda p: p.img_percent is not None and p.img_percent >= rules.img_friendly_from)
        self.signals = mask(lambda p: p.signals)

    def stayed_in(self, applicant: Applicant) -> tuple[int, dict[str, int]]:
        """The programs no exclusion leaves out, and how many each reason left out (first reason only)."""
        score = applicant.score
        conditions = (
            ("visa", self.visa_ok[applicant.need]),
            ("graduation", self.all & ~self.years.set | self.years.at_most(-applicant.gap)),
            ("attempts", self.attempts_ok[min(max(applicant.failures, 0), 2)]),
            ("min_score", self.all & ~self.minimum.set | (self.minimum.at_most(score) if score is not None else 0)),
            ("usce", self.all if applicant.usce else self.no_usce_ok),
            ("far_above", self.all & ~self.typical.set
             | (self.typical.at_most(score + self.rules.far_above) if score is not None else 0)),
        )
        rest, excluded = self.all, {}
        for reason, ok in conditions:
            excluded[reason] = (rest & ~ok).bit_count()
            rest &= ok
        return rest, excluded

    def categories(self, stayed: int, score: int | None) -> dict[str, int]:
        """The programs that stayed in, split into reach, target and likely."""
        r = self.rules
        with_typical = self.typical.set & ~self.rare
        likely = target_or_better = 0
        if score is not None:
            likely = self.typical.at_most(score - r.likely_margin) & with_typical
            target_or_better = self.typical.at_most(score - r.target_margin) & with_typical
        no_typical = self.all & ~self.typical.set & ~self.rare
        return {
            "reach": stayed & (self.rare | (with_typical & ~target_or_better) | (no_typical & ~self.friendly)),
            "target": stayed & ((target_or_better & ~likely) | (no_typical & self.friendly)),
            "likely": stayed & likely,
        }


@dataclass(frozen=True)
class Applicant:
    """What the rules read from one applicant's facts."""

    need: str
    gap: int
    failures: int
    usce: bool
    score: int | None
    tier: str
    min: int
    max: int
    season: int

    @classmethod
    def from_facts(cls, facts: dict) -> Applicant | None:
        """None for an applicant without a list: band pending (no basis score, no failed Step 2 CK)."""
        programs = facts["programs"]
        if programs["tier"] is None or programs["max"] is None:
            return None
        # A failed Step 2 CK without a score counts as below every score: `None` here.
        return cls(visa_need(facts["visa"]), facts["gap"], facts["failures_total"], bool(facts["usce_months"]),
                   facts["basis"]["score"], programs["tier"], programs["min"], programs["max"], facts["cycle"] + 1)


@dataclass(frozen=True)
class ProgramList:
    """One applicant's list: the categories in ranking order, signals, exclusions, programs to confirm."""

    count: int
    short: bool
    reach: tuple[Program, ...]
    target: tuple[Program, ...]
    likely: tuple[Program, ...]
    gold: tuple[Program, ...]
    silver: tuple[Program, ...]
    excluded: dict[str, int]
    confirm_visa: tuple[Program, ...]
    stayed: int
    rows: int
    need: str
    min: int
    max: int
    signals_season: int
    signals_gold: int
    signals_silver: int

    def record(self) -> dict:
        """The manifest's `program_list` (docs/program-list.md)."""
        ids = lambda programs: [p.id for p in programs]  # noqa: E731
        return {
            "count": self.count,
            "short": self.short,
            "reach": ids(self.reach),
            "target": ids(self.target),
            "likely": ids(self.likely),
            "signals": {"gold": ids(self.gold), "silver": ids(self.silver)},
            "excluded": dict(self.excluded),
            "confirm_visa": ids(self.confirm_visa),
        }


def quotas(count: int, shares: dict[str, Decimal]) -> dict[str, int]:
    """Reach and target: floor(L x share + 1/2), exactly; likely: the rest."""
    reach = int((count * shares["reach"] + HALF).to_integral_value(ROUND_FLOOR))
    target = int((count * shares["target"] + HALF).to_integral_value(ROUND_FLOOR))
    reach = min(reach, count)
    target = min(target, count - reach)
    return {"reach": reach, "target": target, "likely": count - reach - target}


def _first(mask: int, n: int) -> list[int]:
    """The positions of the first n set bits of a mask, lowest first."""
    if n <= 0 or not mask:
        return []
    digits = bin(mask)[:1:-1]  # digits[i] is bit i
    out, i = [], digits.find("1")
    while i >= 0 and len(out) < n:
        out.append(i)
        i = digits.find("1", i + 1)
    return out


def decide(facts: dict, index: ProgramIndex) -> ProgramList | None:
    """The applicant's program list, or None when their band is pending."""
    applicant = Applicant.from_facts(facts)
    if applicant is None:
        return None
    stayed, excluded = index.stayed_in(applicant)
    cats = index.categories(stayed, applicant.score)
    known = index.visa_known[applicant.need]
    available = {c: cats[c].bit_count() for c in CATEGORIES}
    total = stayed.bit_count()
    count = min(applicant.max, total)
    quota = quotas(count, index.rules.mix[applicant.tier])
    taken = {c: min(quota[c], available[c]) for c in CATEGORIES}
    left = count - sum(taken.values())
    for c in ("likely", "target", "reach"):
        more = min(left, available[c] - taken[c])
        taken[c] += more
        left -= more
    programs = index.programs
    listed: dict[str, tuple[Program, ...]] = {}
    unknown: list[Program] = []
    for c in CATEGORIES:
        ranked = _first(cats[c] & known, taken[c])
        doubtful = _first(cats[c] & ~known, taken[c] - len(ranked))  # stayed in, so `unknown`, not `no`
        listed[c] = tuple(programs[i] for i in ranked + doubtful)
        unknown += (programs[i] for i in doubtful)
    season, gold_n, silver_n = index.rules.signals_for(applicant.season)
    candidates: list[Program] = []
    for c in ("target", "reach", "likely"):
        candidates += (p for p in listed[c] if p.signals)
        if len(candidates) >= gold_n + silver_n:
            break
    return ProgramList(
        count=count, short=count < applicant.min, reach=listed["reach"], target=listed["target"],
        likely=listed["likely"], gold=tuple(candidates[:gold_n]), silver=tuple(candidates[gold_n:gold_n + silver_n]),
        excluded=excluded, confirm_visa=tuple(sorted(unknown, key=lambda p: p.id)), stayed=total, rows=index.rows,
        need=applicant.need, min=applicant.min, max=applicant.max, signals_season=season, signals_gold=gold_n,
        signals_silver=silver_n,
    )


@dataclass(frozen=True)
class ProgramReason:
    """Why one program is or is not on an applicant's list."""

    program: Program
    excluded: str | None  # the first exclusion reason that applies, or None
    category: str | None  # reach, target or likely for a program that stayed in
    basis: str | None  # img_rare, margin, img_friendly or other: which category rule applied
    margin: int | None  # score - step2_typical, when the typical score is known
    listed: bool
    signal: str | None  # gold, silver or None
    confirm_visa: bool


def exclusion(program: Program, applicant: Applicant, rules: ProgramListRules) -> str | None:
    """The first exclusion reason that applies to a program, in the rules' order, or None."""
    score = applicant.score  # None: a failed Step 2 CK without a score, below every score
    if visa_status(program, applicant.need) == "no":
        return "visa"
    years = program.max_years_since_graduation
    if years is not None and applicant.gap > years:
        return "graduation"
    if (program.failed_attempts == "none" and applicant.failures >= 1) or \
            (program.failed_attempts == "one" and applicant.failures >= 2):
        return "attempts"
    if program.step2_min is not None and (score is None or score < program.step2_min):
        return "min_score"
    if program.usce_required and not applicant.usce:
        return "usce"
    if program.step2_typical is not None and (score is None or score < program.step2_typical - rules.far_above):
        return "far_above"
    return None


def category(program: Program, score: int | None, rules: ProgramListRules) -> tuple[str, str, int | None]:
    """(category, which rule decided it, margin) for a program that stayed in."""
    img, typical = program.img_percent, program.step2_typical
    if img is not None and img < rules.img_rare_below:
        return "reach", "img_rare", None if typical is None or score is None else score - typical
    if typical is not None and score is not None:
        margin = score - typical
        if margin >= rules.likely_margin:
            return "likely", "margin", margin
        return ("target" if margin >= rules.target_margin else "reach"), "margin", margin
    if img is not None and img >= rules.img_friendly_from:
        return "target", "img_friendly", None
    return "reach", "other", None


def reasons(facts: dict, index: ProgramIndex, decided: ProgramList | None = None) -> list[ProgramReason]:
    """Every program's reason, program by program as the rules read, in spreadsheet row order."""
    applicant = Applicant.from_facts(facts)
    if applicant is None:
        return []
    decided = decided or decide(facts, index)
    assert decided is not None
    listed = {p.id for p in (*decided.reach, *decided.target, *decided.likely)}
    gold = {p.id for p in decided.gold}
    silver = {p.id for p in decided.silver}
    out = []
    for program in sorted(index.programs, key=lambda p: p.row):
        reason = exclusion(program, applicant, index.rules)
        cat, basis, margin = (None, None, None) if reason else category(program, applicant.score, index.rules)
        out.append(ProgramReason(
            program, reason, cat, basis, margin, program.id in listed,
            "gold" if program.id in gold else "silver" if program.id in silver else None,
            program.id in listed and visa_status(program, applicant.need) == "unknown",
        ))
    return out


def digest_of(decided: ProgramList | None) -> str:
    """A digest of everything a guide shows of an applicant's list: equal digests, equal list pages and sheets."""
    if decided is None:
        return "none"
    h = hashlib.sha256(json.dumps(decided.record(), sort_keys=True).encode())
    h.update(repr((decided.stayed, decided.rows, decided.min, decided.max, decided.need, decided.signals_season,
                   decided.signals_gold, decided.signals_silver)).encode())
    for program in (*decided.reach, *decided.target, *decided.likely):
        h.update(repr(program_fields(program)).encode())
    return h.hexdigest()
