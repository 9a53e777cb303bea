"""The cohort at a glance, for the roster: figures, the next weeks' dates, and the advisor's cohort calendar (pure).

Everything here is computed from the manifest entries, the valid profiles and
their facts; nothing is read or written. The calendar goes to `output/cohort.ics`,
beside the roster and, like it, never published.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable, Iterable

from generator.render.ics import Milestone, calendar, milestones, uid

WINDOW_DAYS = 56  # the next 8 weeks
COHORT_UID = "cohort"  # the UID namespace of season dates: distinct from every applicant's own calendar
FLAG_FIGURES = (  # manifest flags the advisor acts on, with how the roster names them
    ("score_after_eras", "Step 2 CK score expected after ERAS opens"),
    ("no_usce", "no US clinical experience"),
    ("needs_h1b", "needs an H-1B visa"),
)


@dataclass(frozen=True)
class Event:
    """One dated item of the cohort's next weeks: an applicant's milestone, or a season date for everyone."""

    day: date
    kind: str  # "plan", "practice", "exam", "score" or "season"
    summary: str
    applicant: str | None  # id; None for a season date
    name: str | None
    milestone: Milestone
    uid: str


def figures(entries: list[dict], placeholders: list[Any], errors: list[dict], bands: list[tuple[str, str]]) -> dict:
    """Counts the advisor acts on: per band, per flag, placeholders (`check`'s warnings), errors, program lists."""
    by_band = [{"id": band, "label": label, "count": sum(1 for e in entries if e.get("band") == band)}
               for band, label in bands]
    flagged = [{"flag": flag, "label": label, "who": [e["name"] for e in entries if flag in (e.get("flags") or [])]}
               for flag, label in FLAG_FIGURES]
    names = {e["source"]: e["name"] for e in entries}
    marked = [{"name": names.get(w.source, w.source), "why": w.message} for w in placeholders]
    lists = [e["program_list"] for e in entries if isinstance(e.get("program_list"), dict)]
    return {
        "guides": len(entries),
        "by_band": by_band,
        "flags": flagged,
        "placeholders": marked,
        "placeholder_profiles": len({w.source for w in placeholders}),
        "errors": len(errors),
        "error_files": len({err.get("source") for err in errors}),
        "lists": {"count": len(lists), "short": sum(1 for p in lists if p.get("short")),
                  "confirm_visa": sum(len(p.get("confirm_visa") or []) for p in lists)},
    }


def list_figures(entry: dict) -> dict | None:
    """One applicant's program list in three numbers (None when the manifest has no list for them)."""
    plist = entry.get("program_list")
    if not isinstance(plist, dict):
        return None
    return {"count": plist.get("count"), "short": bool(plist.get("short")),
            "confirm_visa": len(plist.get("confirm_visa") or [])}


def agenda(people: Iterable[tuple[Any, dict, list[Milestone]]], as_of: date, days: int = WINDOW_DAYS) -> list[Event]:
    """Every exam, practice exam, plan start and expected score of the cohort from `as_of` for `days` days,
    and the season's dates (ERAS opens, the last exam date with a score by then, Match Day) once per cycle."""
    end = as_of + timedelta(days=days)
    found: dict[str, Event] = {}
    for profile, facts, dated in people:
        for m in dated:
            kind = _kind(m.id)
            if kind == "season":
                key = f"{m.id}-{facts['cycle']}"
                found[key] = Event(m.first, kind, m.summary, None, None, m, uid(COHORT_UID, key))
                continue
            first = Milestone(m.id, m.summary, m.first, m.first, m.description)  # a plan phase: the day it starts
            summary = f"{profile.name}: " + (f"starts {m.summary}" if kind == "plan" else m.summary)
            found[f"{profile.id}\0{m.id}"] = Event(m.first, kind, summary, profile.id, profile.name,
                                                   first, uid(COHORT_UID, f"{profile.id}\0{m.id}"))
        last = facts["dates"]["last_exam_for_eras"]
        key = f"last-exam-{facts['cycle']}"
        text = f"Last Step 2 CK date with a score by the day ERAS opens ({facts['cycle']} cycle)"
        found[key] = Event(last, "season", text, None, None,
                           Milestone(key, text, last, last, "A later exam's score comes after ERAS opens."),
                           uid(COHORT_UID, key))
    due = [e for e in found.values() if as_of <= e.day < end]
    return sorted(due, key=lambda e: (e.day, e.applicant is not None, e.summary, e.uid))


def people(profiles: Iterable[Any], facts: Callable[[Any], dict]) -> list[tuple[Any, dict, list[Milestone]]]:
    """(profile, facts, milestones) of each applicant: the dates are worked out once for the whole roster."""
    found = []
    for profile in profiles:
        known = facts(profile)
        found.append((profile, known, milestones(known, profile)))
    return found


def next_dates(people: Iterable[tuple[Any, dict, list[Milestone]]], as_of: date) -> dict[str, Milestone]:
    """Each applicant's next dated milestone on or after `as_of`, by id."""
    upcoming = {}
    for profile, _facts, dated in people:
        later = [m for m in dated if m.first >= as_of]
        if later:
            upcoming[profile.id] = later[0]
    return upcoming


def cohort_ics(events: list[Event], cycle: int, as_of: date) -> bytes:
    """The advisor's calendar of the cohort's next weeks (output/cohort.ics; never published)."""
    shown = [(e.uid, Milestone(e.milestone.id, e.summary, e.milestone.first, e.milestone.last,
                               e.milestone.description)) for e in events]
    return calendar(f"Cohort dates, {cycle} cycle (advisor)", shown, as_of)


def _kind(milestone_id: str) -> str:
    if milestone_id.startswith("phase-"):
        return "plan"
    if milestone_id.startswith("practice-"):
        return "practice"
    return {"step2-exam": "exam", "step2-score": "score"}.get(milestone_id, "season")
