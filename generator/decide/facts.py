"""Profile + strategy data + build date -> the facts a guide is built from (pure)."""

from __future__ import annotations

from datetime import date, timedelta

from generator.decide import season as season_mod
from generator.load.profiles import Practice, Profile, Step1, Step2
from generator.load.strategy import Strategy

FLAGS = (
    "step1_fail",
    "step2_fail",
    "multiple_attempts",
    "long_gap",
    "projected",
    "consider_delay",
    "score_after_eras",
    "no_usce",
    "needs_h1b",
)


def failures(result: str, attempts: int) -> int:
    """Failed attempts: attempts - 1 after a pass, else every attempt."""
    return max(attempts - 1, 0) if result == "pass" else attempts


def derive(profile: Profile, strategy: Strategy, as_of: date) -> dict:
    """Every fact the rules and section bodies may use, for one profile."""
    s1 = profile.step1
    s2 = profile.step2_ck
    s2_result = s2.result if s2 else "none"
    s2_attempts = s2.attempts if s2 else 0
    s1_failures = failures(s1.result, s1.attempts)
    s2_failures = failures(s2_result, s2_attempts) if s2 else 0
    practice = sorted(s2.practice, key=lambda p: p.date) if s2 else []
    latest = practice[-1] if practice else None
    exam = s2.exam_date if s2 else None
    qbank = s2.qbank_percent if s2 else None
    gap = profile.cycle - profile.graduation_year
    not_taken = s2_result in ("pending", "none")

    basis = _basis(s2, latest)
    band = _band(strategy, basis, s2_result)
    programs = _programs(strategy, basis, band, s2_result == "fail", s1_failures + s2_failures, gap)

    season = strategy.season_for(profile.cycle)
    eras = season.submit_from
    release = exam + timedelta(days=strategy.score_release_days) if exam and not_taken else None
    by_practice = bool(not_taken and latest and latest.score < strategy.delay_practice_below)
    by_qbank = bool(not_taken and qbank is not None and qbank < strategy.delay_qbank_below)
    flags = {
        "step1_fail": s1_failures >= 1,
        "step2_fail": s2_failures >= 1,
        "multiple_attempts": s1_failures + s2_failures >= 2,
        "long_gap": gap > strategy.long_gap_years,
        "projected": s2_result == "pending" and latest is not None,
        "consider_delay": by_practice or by_qbank,
        "score_after_eras": not_taken and (exam is None or release > eras),
        "no_usce": not profile.usce_months,
        "needs_h1b": profile.visa == "h1b",
    }
    ecfmg = season_mod.ecfmg_facts(profile, season, s2_result, as_of)
    return {
        "name": profile.name,
        "advisor": profile.advisor,
        "cycle": profile.cycle,
        "graduation_year": profile.graduation_year,
        "gap": gap,
        "in_medical_school": bool(profile.in_medical_school),
        "visa": profile.visa,
        "target": profile.target,
        "usce_months": profile.usce_months or 0,
        "us_lors": profile.us_lors or 0,
        "research_items": profile.research_items or 0,
        "oet_passed": profile.oet_passed,
        "ecfmg_certified": profile.ecfmg_certified,
        "country": profile.country,
        "medical_school": profile.medical_school,
        "step1": {
            "result": s1.result,
            "attempts": s1.attempts,
            "failures": s1_failures,
            "score": s1.score,
            "passed": s1.result == "pass",
        },
        "step2": {
            "result": s2_result,
            "taken": s2_result in ("pass", "fail"),
            "attempts": s2_attempts,
            "failures": s2_failures,
            "score": s2.score if s2 else None,
            "exam_date": exam,
            "practice_count": len(practice),
            "latest_practice_score": latest.score if latest else None,
            "latest_practice_name": latest.name if latest else None,
            "latest_practice_date": latest.date if latest else None,
            "qbank_percent": qbank,
            "passing_standard": strategy.standard_on(exam or as_of),
        },
        "basis": basis,
        "band": band,
        "programs": programs,
        "failures_total": s1_failures + s2_failures,
        "flags": flags,
        "flag_list": sorted(name for name, on in flags.items() if on),
        "delay": {
            "practice_below": strategy.delay_practice_below,
            "qbank_below": strategy.delay_qbank_below,
            "by_practice": by_practice,
            "by_qbank": by_qbank,
        },
        "season": season_mod.season_facts(season),
        "signals": season_mod.signal_facts(strategy, season),
        "fees": season_mod.fee_facts(season, programs),
        "exam_timing": season_mod.exam_facts(strategy, season, exam if not_taken else None, as_of, not_taken or s2_result == "fail"),
        "ecfmg": ecfmg,
        "visa_chain": season_mod.visa_facts(profile, season, ecfmg, strategy),
        "dates": {
            "as_of": as_of,
            "eras": eras,
            "opens": season.opens,
            "submit_from": season.submit_from,
            "programs_read_from": season.programs_read_from,
            "rank_list_deadline": season.rank_list_deadline,
            "match_day": season.match_day,
            "exam": exam,
            "score_release": release,
            "release_margin_days": (eras - release).days if release else None,
            "days_to_exam": (exam - as_of).days if exam else None,
            "last_exam_for_eras": eras - timedelta(days=strategy.score_release_days),
            "last_exam_for_reading": season.programs_read_from - timedelta(days=strategy.score_release_days),
        },
        "plan": _plan(strategy, exam, as_of, not_taken),
        "modifiers": _modifiers(strategy),
        "recovery_target": strategy.recovery_target,
        "passing_standards": [{"from": start, "score": score} for start, score in strategy.passing_standard],
        "bands": [{"id": b.id, "label": b.label, "min": b.min, "max": b.max, "opens": b.opens} for b in strategy.bands],
        "tiers": _tier_table(strategy),
        # Set by the build from the program spreadsheet (generator/decide/program_view.py).
        "program_list": None,
        "program_list_status": "no_spreadsheet",
    }


def _tier_table(strategy: Strategy) -> list[dict]:
    table, upper = [], None
    for tier in strategy.tiers:
        table.append({"id": tier.id, "min": tier.min, "max": None if upper is None else upper - 1,
                      "programs_min": tier.programs[0], "programs_max": tier.programs[1]})
        upper = tier.min
    return table


def _modifiers(strategy: Strategy) -> dict:
    floor = next((t for t in strategy.tiers if t.id == strategy.failure_min_tier), strategy.tiers[-1])
    return {"failure_min": floor.programs[0], "failure_max": floor.programs[1],
            "long_gap_years": strategy.long_gap_years}


def _basis(s2: Step2 | None, latest: Practice | None) -> dict:
    if s2 and s2.result in ("pass", "fail"):
        return {"kind": "official", "score": s2.score, "date": s2.exam_date}
    if latest is not None:
        return {"kind": "practice", "score": latest.score, "date": latest.date}
    return {"kind": "none", "score": None, "date": None}


def _band(strategy: Strategy, basis: dict, s2_result: str) -> dict:
    if s2_result == "fail":
        band = strategy.bands[-1]
    elif basis["score"] is None:
        band = strategy.pending_band
    else:
        band = strategy.band_for(basis["score"])
    return {
        "id": band.id,
        "label": band.label,
        "opens": band.opens,
        "min": band.min,
        "max": band.max,
        "projected": basis["kind"] == "practice",
    }


def _programs(strategy: Strategy, basis: dict, band: dict, step2_failed: bool, failures_total: int, gap: int) -> dict:
    if band["id"] == strategy.pending_band.id:
        return {"tier": None, "base_tier": None, "min": None, "max": None, "raised_by": []}
    tiers = strategy.tiers
    last = len(tiers) - 1
    # A failed Step 2 CK is the lowest tier whatever the number.
    base = last if step2_failed else strategy.tier_index(basis["score"])
    index = base
    raised_by = []
    floor = next(i for i, t in enumerate(tiers) if t.id == strategy.failure_min_tier)
    if failures_total >= 1 and index < floor:
        index = floor
        raised_by.append("failure")
    if gap > strategy.long_gap_years and index < last:
        index += 1
        raised_by.append("long_gap")
    tier = tiers[index]
    return {
        "tier": tier.id,
        "base_tier": tiers[base].id,
        "min": tier.programs[0],
        "max": tier.programs[1],
        "raised_by": raised_by,
    }


def _plan(strategy: Strategy, exam: date | None, as_of: date, not_taken: bool) -> dict:
    full = strategy.plan_weeks
    # The full plan's weeks by phase, with or without an exam date: "weeks 1–4", "week 12".
    phase_weeks = {p.id: f"weeks {p.first_week}–{p.last_week}" if p.first_week != p.last_week else f"week {p.first_week}"
                   for p in strategy.study_plan}
    if not (not_taken and exam and exam > as_of and full):
        return {"available": False, "weeks": 0, "full_weeks": full, "compressed": False, "start": None, "phases": [],
                "phase_weeks": phase_weeks}
    weeks = (exam - as_of).days // 7
    compressed = weeks < full
    start = as_of if compressed else exam - timedelta(weeks=full)
    total_days = (exam - start).days
    phases = []
    for phase in strategy.study_plan:
        # A full plan keeps the weeks as written; a compressed one shrinks each phase in proportion.
        first = start + timedelta(days=round(total_days * (phase.first_week - 1) / full))
        end = start + timedelta(days=round(total_days * phase.last_week / full) - 1)
        if end < first:
            continue
        label = f"{phase.first_week}–{phase.last_week}" if phase.first_week != phase.last_week else str(phase.first_week)
        phases.append({
            "id": phase.id,
            "title": phase.title,
            "weeks": label,
            "start": first,
            "end": end,
            "days": (end - first).days + 1,
            "questions": phase.questions,
            "focus": phase.focus,
        })
    return {"available": True, "weeks": weeks, "full_weeks": full, "compressed": compressed, "start": start,
            "phases": phases, "phase_weeks": phase_weeks}


def schema(strategy: Strategy) -> dict:
    """Facts of a reference profile with every field set: the names and types rules may use."""
    practice = Practice(date=date(2027, 3, 1), name="NBME", score=230)
    profile = Profile(
        id="reference", name="Reference", email="reference@example.org", advisor="Advisor", cycle=2027,
        graduation_year=2020, visa="j1", in_medical_school=False, usce_months=1, us_lors=1, research_items=1,
        target="community", oet_passed=True, ecfmg_certified=True, notes=None, country="Country",
        medical_school="School", source="reference", digest="",
        step1=Step1(result="pass", attempts=1, score=230),
        step2_ck=Step2(result="pending", score=230, attempts=0, exam_date=date(2027, 6, 1),
                       practice=(practice,), qbank_percent=60.0),
    )
    facts = derive(profile, strategy, date(2027, 1, 1))
    # Keep lists non-empty so `plan.phases[0].start` can be checked.
    facts["programs"].update(tier="T1", base_tier="T1", min=0, max=0, raised_by=["failure"])
    from generator.decide.program_view import sample

    facts["program_list"] = sample(strategy)
    return facts


def value_domains(strategy: Strategy) -> dict[str, tuple]:
    """Every value a fact with a fixed set of values can hold (for a list fact: every item), by dotted name."""
    from generator.load.profiles import RESULTS, TARGETS, VISAS

    tiers = tuple(t.id for t in strategy.tiers)
    return {
        "visa": (*VISAS, None),
        "target": (*TARGETS, None),
        "step1.result": RESULTS,
        "step2.result": (*RESULTS, "none"),
        "basis.kind": ("official", "practice", "none"),
        "band.id": (*(b.id for b in strategy.bands), strategy.pending_band.id),
        "programs.tier": (*tiers, None),
        "programs.base_tier": (*tiers, None),
        "programs.raised_by": ("failure", "long_gap"),
        "flag_list": FLAGS,
    }
