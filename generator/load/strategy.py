"""The strategy data file (`content/data/strategy.yaml`): bands, tiers, dates, the study plan."""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

from generator.load import yamlstrict
from generator.load.fields import Reader
from generator.errors import InputError, Problem

WEEKDAYS = {name.lower(): i for i, name in enumerate(calendar.day_name)}


@dataclass(frozen=True)
class Band:
    id: str
    label: str
    min: int | None
    max: int | None
    opens: str


@dataclass(frozen=True)
class Tier:
    id: str
    min: int | None
    programs: tuple[int, int]


@dataclass(frozen=True)
class Phase:
    id: str
    title: str
    first_week: int
    last_week: int
    questions: str
    focus: str


@dataclass(frozen=True)
class Fee:
    up_to: int | None  # the last program this price applies to; None: every program after
    fee: int


@dataclass(frozen=True)
class Season:
    """One ERAS season (named by its Match year): its dates and ERAS fee table. Signals: `program_list.signals`."""

    season: int
    opens: date
    submit_from: date
    programs_read_from: date
    rank_list_deadline: date
    match_day: date
    eras_fees: tuple[Fee, ...]
    expected: bool = False  # worked out from an earlier season, not published data
    based_on: int | None = None  # the season the dates were carried from


SEASON_DATES = ("opens", "submit_from", "programs_read_from", "rank_list_deadline", "match_day")


def carry_date(day: date, years: int) -> date:
    """The same weekday of the same week of the same month, `years` later ("the first Wednesday of September")."""
    nth = (day.day - 1) // 7
    year = day.year + years
    first = date(year, day.month, 1)
    first_same = 1 + (day.weekday() - first.weekday()) % 7
    last = calendar.monthrange(year, day.month)[1]
    while first_same + 7 * nth > last:  # a fifth week that this month lacks: take its last such weekday
        nth -= 1
    return first.replace(day=first_same + 7 * nth)


@dataclass(frozen=True)
class ProgramListRules:
    """The numbers that turn the program spreadsheet into one applicant's list (docs/program-list.md)."""

    far_above: int  # left out when the score is more than this below the program's typical score
    likely_margin: int  # score - typical at least this: likely
    target_margin: int  # at least this (and below likely_margin): target; below it: reach
    img_rare_below: Decimal  # img_percent below this: IMG-rare, a reach whatever the score
    img_friendly_from: Decimal  # img_percent at least this (and no typical score): a target
    mix: dict[str, dict[str, Decimal]]  # tier id -> {reach, target, likely} shares of the list
    signals: tuple[tuple[int, int, int], ...]  # (ERAS season, gold, silver), oldest first

    def signals_for(self, season: int) -> tuple[int, int, int]:
        """(season the numbers are from, gold, silver): that season's, else the latest season before it."""
        known = [s for s in self.signals if s[0] <= season] or list(self.signals[:1])
        return known[-1]


CATEGORIES = ("reach", "target", "likely")


@dataclass(frozen=True)
class Strategy:
    """Typed view of the strategy data; every number the rules use."""

    passing_standard: tuple[tuple[date, int], ...]
    bands: tuple[Band, ...]
    pending_band: Band
    tiers: tuple[Tier, ...]
    failure_min_tier: str
    long_gap_years: int
    delay_practice_below: int
    delay_qbank_below: float
    eras_month: int
    eras_day: int
    score_release_days: int
    match_month: int
    match_weekday: int
    match_nth: int
    match_year_offset: int
    step3_lead_weeks: int  # ECFMG certification to a Step 3 seat: FSMB application, approval, booking
    study_plan: tuple[Phase, ...]
    program_list: ProgramListRules
    digest: str
    seasons: tuple[Season, ...] = ()
    recovery_target: int | None = None

    @property
    def plan_weeks(self) -> int:
        """The full Step 2 CK plan's length: the last week of its last phase (0 with no plan)."""
        return max((phase.last_week for phase in self.study_plan), default=0)

    def season_for(self, cycle: int) -> Season:
        """The ERAS season of an applicant who applies in `cycle` (the season is cycle + 1).

        A season without its own entry takes the latest earlier one (else the earliest),
        moved to the same weekdays; with no entry at all, the `timing` defaults apply.
        """
        wanted = cycle + 1
        for season in self.seasons:
            if season.season == wanted:
                return season
        if self.seasons:
            earlier = [s for s in self.seasons if s.season < wanted]
            base = max(earlier, key=lambda s: s.season) if earlier else min(self.seasons, key=lambda s: s.season)
            years = wanted - base.season
            moved = {name: carry_date(getattr(base, name), years) for name in SEASON_DATES}
            return Season(season=wanted, eras_fees=base.eras_fees, expected=True, based_on=base.season, **moved)
        submit = date(cycle, self.eras_month, self.eras_day)
        match = self._nth_weekday(cycle + self.match_year_offset)
        return Season(season=wanted, opens=date(cycle, 6, 1), submit_from=submit, programs_read_from=submit,
                      rank_list_deadline=match, match_day=match, eras_fees=(), expected=True)

    def standard_on(self, day: date) -> int:
        """The Step 2 CK passing standard in force on `day`."""
        for start, score in self.passing_standard:
            if day >= start:
                return score
        return self.passing_standard[-1][1]

    def band_for(self, score: int) -> Band:
        """The band a Step 2 CK score falls in."""
        for band in self.bands:
            if band.min is None or score >= band.min:
                return band
        return self.bands[-1]

    def band_by_id(self, band_id: str) -> Band:
        """A band (including the pending one) by its id."""
        for band in (*self.bands, self.pending_band):
            if band.id == band_id:
                return band
        raise KeyError(band_id)

    def tier_index(self, score: int) -> int:
        """Index into `tiers` of the tier for a basis score."""
        for i, tier in enumerate(self.tiers):
            if tier.min is None or score >= tier.min:
                return i
        return len(self.tiers) - 1

    def eras_date(self, cycle: int) -> date:
        """The first day applicants can submit ERAS applications, for an applicant who applies in `cycle`."""
        return self.season_for(cycle).submit_from

    def match_day(self, cycle: int) -> date:
        """Match Day for an applicant who applies in `cycle`."""
        return self.season_for(cycle).match_day

    def _nth_weekday(self, year: int) -> date:
        first = date(year, self.match_month, 1)
        offset = (self.match_weekday - first.weekday()) % 7
        return date(year, self.match_month, 1 + offset + 7 * (self.match_nth - 1))


def load_strategy(path: Path, source: str | None = None) -> Strategy:
    """Read and check the strategy data file; raise InputError with every problem found."""
    source = source or str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(source, None, None, f"cannot read the strategy data file: {exc.strerror}")) from None
    doc = yamlstrict.load(raw, source)
    r = Reader(doc)

    standards = []
    for i, _ in enumerate(r.get(("passing_standard",), list) or []):
        start = r.get(("passing_standard", i, "from"), date)
        score = r.get(("passing_standard", i, "score"), int)
        if start is not None and score is not None:
            standards.append((start, score))
    standards.sort(reverse=True)
    if not standards:
        r.report(("passing_standard",), "needs at least one {from, score} entry")

    bands: list[Band] = []
    upper: int | None = None
    for i, _ in enumerate(r.get(("bands",), list) or []):
        low = r.get(("bands", i, "min"), int, optional=True)
        band = Band(
            id=r.get(("bands", i, "id"), str) or "",
            label=r.get(("bands", i, "label"), str) or "",
            min=low,
            max=None if upper is None else upper - 1,
            opens=r.get(("bands", i, "opens"), str) or "",
        )
        if upper is not None and low is not None and low >= upper:
            r.report(("bands", i, "min"), f"bands must go from the highest down; {low} is not below {upper}")
        bands.append(band)
        upper = low
    if bands and bands[-1].min is not None:
        r.report(("bands",), "the last band must have `min: null` (it takes every lower score)")
    pending = Band(
        id=r.get(("pending_band", "id"), str) or "pending",
        label=r.get(("pending_band", "label"), str) or "",
        min=None,
        max=None,
        opens=r.get(("pending_band", "opens"), str) or "",
    )

    tiers: list[Tier] = []
    for i, _ in enumerate(r.get(("tiers",), list) or []):
        programs = r.get(("tiers", i, "programs"), list) or []
        if len(programs) != 2 or not all(isinstance(p, int) and not isinstance(p, bool) for p in programs):
            r.report(("tiers", i, "programs"), "expected [min, max] as two integers")
            programs = [0, 0]
        tiers.append(Tier(r.get(("tiers", i, "id"), str) or "", r.get(("tiers", i, "min"), int, optional=True), tuple(programs)))
    tier_ids = [t.id for t in tiers]
    failure_min_tier = r.get(("modifiers", "failure_min_tier"), str) or ""
    if tiers and failure_min_tier not in tier_ids:
        r.report(("modifiers", "failure_min_tier"), f"expected one of {', '.join(tier_ids)}")

    plan: list[Phase] = []
    for i, _ in enumerate(r.get(("study_plan",), list) or []):
        weeks = r.get(("study_plan", i, "weeks"), list) or [1, 1]
        if len(weeks) != 2 or not all(isinstance(w, int) for w in weeks) or weeks[0] > weeks[1]:
            r.report(("study_plan", i, "weeks"), "expected [first week, last week]")
            weeks = [1, 1]
        plan.append(Phase(
            id=r.get(("study_plan", i, "id"), str) or "",
            title=r.get(("study_plan", i, "title"), str) or "",
            first_week=weeks[0],
            last_week=weeks[1],
            questions=r.get(("study_plan", i, "questions"), str) or "",
            focus=r.get(("study_plan", i, "focus"), str) or "",
        ))

    seasons = _read_seasons(r)
    weekday_name = (r.get(("timing", "match_day", "weekday"), str, optional=True) or "friday").lower()
    if weekday_name not in WEEKDAYS:
        r.report(("timing", "match_day", "weekday"), f"expected a weekday name, got {weekday_name!r}")
    lead_weeks = r.get(("timing", "step3_lead_weeks"), int, optional=True)
    strategy = Strategy(
        passing_standard=tuple(standards),
        bands=tuple(bands),
        pending_band=pending,
        tiers=tuple(tiers),
        failure_min_tier=failure_min_tier,
        long_gap_years=r.get(("modifiers", "long_gap_years"), int) or 0,
        delay_practice_below=r.get(("delay", "practice_below"), int) or 0,
        delay_qbank_below=r.get(("delay", "qbank_below"), (int, float)) or 0,
        eras_month=r.get(("timing", "eras", "month"), int, optional=True) or 9,
        eras_day=r.get(("timing", "eras", "day"), int, optional=True) or 1,
        score_release_days=r.get(("timing", "score_release_days"), int) or 0,
        match_month=r.get(("timing", "match_day", "month"), int, optional=True) or 3,
        match_weekday=WEEKDAYS.get(weekday_name, 4),
        match_nth=r.get(("timing", "match_day", "nth"), int, optional=True) or 3,
        match_year_offset=r.get(("timing", "match_day", "year_offset"), int, optional=True) or 1,
        step3_lead_weeks=8 if lead_weeks is None else lead_weeks,
        study_plan=tuple(plan),
        program_list=_program_list_rules(r, tier_ids),
        digest=hashlib.sha256(raw).hexdigest(),
        seasons=seasons,
        recovery_target=r.get(("recovery_target",), int, optional=True),
    )
    if r.problems:
        raise InputError(r.problems)
    return strategy


def _read_seasons(r: Reader) -> tuple[Season, ...]:
    """The `seasons:` list: dates in order, and a fee table whose last row is open-ended."""
    seasons: list[Season] = []
    for i, _ in enumerate(r.get(("seasons",), list, optional=True) or []):
        year = r.get(("seasons", i, "season"), int)
        days = {name: r.get(("seasons", i, name), date) for name in SEASON_DATES}
        fees = []
        rows = r.get(("seasons", i, "eras_fees"), list, optional=True) or []
        for j, _ in enumerate(rows):
            fees.append(Fee(r.get(("seasons", i, "eras_fees", j, "up_to"), int, optional=True),
                            r.get(("seasons", i, "eras_fees", j, "fee"), int) or 0))
        if fees and fees[-1].up_to is not None:
            r.report(("seasons", i, "eras_fees"), "the last row needs `up_to: null` (it prices every further program)")
        if year is None or any(d is None for d in days.values()):
            continue
        order = [days[name] for name in SEASON_DATES]
        if order != sorted(order):
            r.report(("seasons", i), "dates must come in order: " + ", ".join(SEASON_DATES))
        if any(s.season == year for s in seasons):
            r.report(("seasons", i, "season"), f"season {year} is listed twice")
        seasons.append(Season(season=year, eras_fees=tuple(fees), **days))
    return tuple(seasons)


def _program_list_rules(r: Reader, tier_ids: list[str]) -> ProgramListRules:
    """The `program_list` block: margins, IMG shares, the mix per tier (shares summing to 1), signals per season."""
    base = ("program_list",)

    def share(path: tuple) -> Decimal:
        value = r.get(base + path, (int, float))
        if value is None:
            return Decimal(0)
        # YAML gives a binary float; its shortest repr is exactly what the advisor typed (0.45, not 0.4500000001).
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
        if not 0 <= number <= 100:
            r.report(base + path, f"expected a number from 0 to 100, got {value!r}")
        return number

    mix: dict[str, dict[str, Decimal]] = {}
    for tier in tier_ids:
        shares = {c: share(("mix", tier, c)) for c in CATEGORIES}
        if all(isinstance(v, Decimal) for v in shares.values()) and sum(shares.values()) != 1 and tier_ids:
            r.report(base + ("mix", tier), f"the reach, target and likely shares must add up to 1, not {sum(shares.values())}")
        mix[tier] = shares
    for tier in (r.get(base + ("mix",), dict) or {}):
        if tier not in tier_ids:
            r.report(base + ("mix", tier), f"no tier {tier!r} in `tiers` ({', '.join(tier_ids)})")
    signals = []
    for i, _ in enumerate(r.get(base + ("signals",), list) or []):
        season = r.get(base + ("signals", i, "season"), int)
        gold = r.get(base + ("signals", i, "gold"), int)
        silver = r.get(base + ("signals", i, "silver"), int)
        if None not in (season, gold, silver):
            signals.append((season, gold, silver))
    if not signals:
        r.report(base + ("signals",), "needs at least one {season, gold, silver} entry")
    likely = r.get(base + ("margins", "likely"), int)
    target = r.get(base + ("margins", "target"), int)
    if likely is not None and target is not None and target > likely:
        r.report(base + ("margins", "target"), f"the target margin ({target}) must not be above the likely margin ({likely})")
    return ProgramListRules(
        far_above=r.get(base + ("far_above",), int) or 0,
        likely_margin=likely or 0,
        target_margin=target or 0,
        img_rare_below=share(("img_rare_below",)),
        img_friendly_from=share(("img_friendly_from",)),
        mix=mix,
        signals=tuple(sorted(signals)) or ((0, 0, 0),),
    )
