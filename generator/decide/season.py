"""The applicant's ERAS season: its named dates, signals, fees, the exam-date decision,
the visa chain and the ECFMG deadline (pure).

Every number comes from the strategy data (`content/data/strategy.yaml`); the
content only prints these facts.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from generator.load.strategy import Season, Strategy

# Residency starts on 1 July of the Match year (NRMP: applicants must be able to start then).
START_MONTH, START_DAY = 7, 1


def season_facts(season: Season) -> dict:
    """The season as the AAMC names it, with its dates and whether they are published or expected."""
    return {
        "year": season.season,
        "name": f"ERAS {season.season}",
        "apply_year": season.submit_from.year,
        "expected": season.expected,
        "based_on": season.based_on,
        "opens": season.opens,
        "submit_from": season.submit_from,
        "programs_read_from": season.programs_read_from,
        "rank_list_deadline": season.rank_list_deadline,
        "match_day": season.match_day,
        "residency_start": date(season.season, START_MONTH, START_DAY),
        "next": f"ERAS {season.season + 1}",
    }


def signal_facts(strategy: Strategy, season: Season) -> dict:
    """Internal medicine program signals of the season, from `program_list.signals` (the latest earlier
    season's numbers when the season has none; `expected` then says so)."""
    source, gold, silver = strategy.program_list.signals_for(season.season)
    if not gold and not silver:
        return {"gold": None, "silver": None, "total": None, "from_season": None, "expected": False}
    return {"gold": gold, "silver": silver, "total": gold + silver, "from_season": source,
            "expected": source != season.season}


def eras_fee(season: Season, count: int) -> int | None:
    """ERAS application fees for `count` programs in one specialty, from the season's fee table."""
    if not season.eras_fees:
        return None
    total, done = 0, 0
    for row in season.eras_fees:
        upto = count if row.up_to is None else min(row.up_to, count)
        if upto > done:
            total += (upto - done) * row.fee
            done = upto
    return total


def fee_facts(season: Season, programs: dict) -> dict:
    """The fee table as rows, and the totals for the applicant's program range (None while pending)."""
    rows, start = [], 1
    for row in season.eras_fees:
        rows.append({"first": start, "last": row.up_to, "fee": row.fee})
        start = (row.up_to or start) + 1
    low, high = programs.get("min"), programs.get("max")
    return {
        "rows": rows,
        "min_total": eras_fee(season, low) if low is not None else None,
        "max_total": eras_fee(season, high) if high is not None else None,
        "known": bool(rows),
    }


def exam_facts(strategy: Strategy, season: Season, exam: date | None, as_of: date, open_exam: bool) -> dict:
    """One decision about the Step 2 CK date: the latest on-time date, when to decide, and the cost of waiting."""
    release = timedelta(days=strategy.score_release_days)
    plan = timedelta(weeks=strategy.plan_weeks)
    latest = season.programs_read_from - release
    decide_by = latest - plan
    release_day = exam + release if exam else None
    # A second attempt fits when a failed first one, its score, the full plan's weeks of study and the new score
    # all come before programs start reading.
    retake_fits = bool(open_exam and exam and exam + release + plan + release <= season.programs_read_from)
    return {
        "applies": open_exam,
        "latest": latest,
        "latest_for_submit": season.submit_from - release,
        "decide_by": decide_by,
        "decide_passed": as_of > decide_by,
        "on_time": bool(exam and release_day <= season.programs_read_from),
        "late_days": (release_day - season.programs_read_from).days if release_day and release_day > season.programs_read_from else 0,
        "second_attempt_fits": retake_fits,
        "latest_with_second_attempt": season.programs_read_from - release - plan - release,
        "release_weeks": round(strategy.score_release_days / 7),  # "about N weeks" in the prose
    }


def ecfmg_facts(profile: Any, season: Season, s2_result: str, as_of: date) -> dict:
    """What ECFMG must confirm to the NRMP by the rank list deadline, and what this applicant still lacks."""
    missing = []
    if profile.step1.result != "pass":
        missing.append("step1")
    if s2_result != "pass":
        missing.append("step2")
    if not profile.oet_passed:
        missing.append("oet")
    certified = bool(profile.ecfmg_certified)
    return {
        "deadline": season.rank_list_deadline,
        "certified": certified,
        "missing": [] if certified else missing,
        "diploma_pending": not certified and (bool(profile.in_medical_school) or profile.graduation_year > as_of.year),
    }


def visa_facts(profile: Any, season: Season, ecfmg: dict, strategy: Strategy) -> dict:
    """The dated H-1B chain (degree and ECFMG certification, then Step 3, then the petition) and whether it fits."""
    release = timedelta(days=strategy.score_release_days)
    step3_by = season.rank_list_deadline - release
    certify_by = step3_by - timedelta(weeks=strategy.step3_lead_weeks)  # Step 3 comes after certification
    degree_late = profile.graduation_year >= season.season
    if profile.step1.result != "pass":
        status, reason = "blocked", "step1"
    elif degree_late:
        status, reason = "blocked", "degree"
    elif ecfmg["certified"]:
        status, reason = "open", None
    else:
        status, reason = "conditional", "certification"
    return {
        "h1b_wanted": profile.visa in ("h1b", "either"),
        "step3_by": step3_by,
        "step3_result_by": season.rank_list_deadline,
        "certify_by": certify_by,
        "petition_before": date(season.season, START_MONTH, START_DAY),
        "h1b_status": status,
        "h1b_blocked_by": reason,
    }
