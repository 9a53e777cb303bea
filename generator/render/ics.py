"""One applicant's milestones as an iCalendar file (RFC 5545): study phases, exams, ERAS, Match Day.

Every event is an all-day event. UIDs are hashes of the applicant id and the
event id, and DTSTAMP is the build date, so the same inputs give the same bytes.
The file carries the applicant's name (in the calendar's title) but never the
email address, the id or the advisor's notes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, timedelta


from generator import GENERATOR
from generator.load.profiles import Profile

UID_DOMAIN = "matchguide.invalid"


@dataclass(frozen=True)
class Milestone:
    """One all-day event: `first` to `last`, both inclusive."""

    id: str
    summary: str
    first: date
    last: date
    description: str


def milestones(facts: dict, profile: Profile) -> list[Milestone]:
    """Every dated milestone of one applicant, in date order."""
    dates = facts["dates"]
    found = [
        Milestone(f"phase-{phase['id']}", f"Step 2 CK plan, {_weeks(phase['weeks'])}: {phase['title']}",
                  phase["start"], phase["end"], f"{_sentence(phase['questions'])} {_sentence(phase['focus'])}")
        for phase in facts["plan"]["phases"]
    ]
    practice = profile.step2_ck.practice if profile.step2_ck else ()
    for index, exam in enumerate(sorted(practice, key=lambda p: p.date), start=1):
        title = f"Practice exam: {exam.name}" if exam.name else "Practice exam"
        found.append(Milestone(f"practice-{index}-{exam.date.isoformat()}", title, exam.date, exam.date,
                               f"Predicted Step 2 CK score: {exam.score}."))
    if dates["exam"]:
        taken = facts["step2"]["taken"]
        found.append(Milestone("step2-exam", "USMLE Step 2 CK exam", dates["exam"], dates["exam"],
                               "The day of your Step 2 CK exam." if not taken else "The day you took Step 2 CK."))
    if dates["score_release"]:
        margin = dates["release_margin_days"]
        timing = (f"{margin} days before you can send applications." if margin > 0
                  else "the day you can first send applications." if margin == 0
                  else f"{-margin} days after you can first send applications.")
        release = dates["score_release"]
        days = (release - dates["exam"]).days
        found.append(Milestone("step2-score", "Step 2 CK score expected", release, release,
                               f"Scores usually arrive about {days} days after the exam: {timing}"))
    season = facts["season"]
    expected = " (expected date)" if season["expected"] else ""
    found.append(Milestone("eras-opens", f"{season['name']} season: applications can be sent", dates["eras"], dates["eras"],
                           f"From this day you can send your ERAS application to programs{expected}."))
    found.append(Milestone("programs-read", f"{season['name']} season: programs start reading",
                           dates["programs_read_from"], dates["programs_read_from"],
                           f"Programs can start reading applications from this day{expected}."))
    found.append(Milestone("rank-list-deadline", "NRMP rank order list deadline", dates["rank_list_deadline"],
                           dates["rank_list_deadline"],
                           f"Certify your rank order list by 9 p.m. US Eastern time{expected}. ECFMG must have "
                           "confirmed your exams and OET to the NRMP by this day."))
    found.append(Milestone("match-day", "Match Day", dates["match_day"], dates["match_day"],
                           f"Residency match results are released{expected}."))
    return sorted(found, key=lambda m: (m.first, m.id))


def _weeks(label: str) -> str:
    return f"week {label}" if label.isdigit() else f"weeks {label}"


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


def uid(applicant_id: str, event_id: str) -> str:
    """A stable, opaque event UID: the same applicant and event always give the same one."""
    digest = hashlib.sha256(f"{applicant_id}\0{event_id}".encode()).hexdigest()[:32]
    return f"{digest}@{UID_DOMAIN}"


def ics_for(facts: dict, profile: Profile) -> bytes:
    """The applicant's milestones as iCalendar (RFC 5545) bytes; identical inputs give identical bytes.

    Written directly: the format is a few fixed lines, and icalendar's general serializer
    cost a quarter of an HTML-only build. The tests read every file back with icalendar.
    """
    title = f"Residency application {facts['cycle']}: {facts['name']}"
    events = [(uid(profile.id, m.id), m) for m in milestones(facts, profile)]
    return calendar(title, events, facts["dates"]["as_of"])


def calendar(title: str, events: list[tuple[str, Milestone]], stamp: date) -> bytes:
    """A calendar of all-day events, each with its UID; DTSTAMP is the build date, so the bytes are stable."""
    name = _escape(title)
    lines = ["BEGIN:VCALENDAR", f"PRODID:-//matchguide//{GENERATOR}//EN", "VERSION:2.0", "CALSCALE:GREGORIAN",
             "METHOD:PUBLISH", f"NAME:{name}", f"X-WR-CALNAME:{name}"]
    for event_uid, milestone in events:
        lines += [
            "BEGIN:VEVENT",
            f"SUMMARY:{_escape(milestone.summary)}",
            f"DTSTART;VALUE=DATE:{milestone.first:%Y%m%d}",
            f"DTEND;VALUE=DATE:{milestone.last + timedelta(days=1):%Y%m%d}",  # all-day DTEND is exclusive
            f"DTSTAMP:{stamp:%Y%m%d}T000000Z",
            f"UID:{event_uid}",
            f"DESCRIPTION:{_escape(milestone.description)}",
            "TRANSP:TRANSPARENT",  # a milestone does not make the day busy
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return b"".join(_fold(line) for line in lines)


def _escape(text: str) -> str:
    """A TEXT value (RFC 5545 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n")


def _fold(line: str) -> bytes:
    """One content line, folded at 75 octets without splitting a character, ending in CRLF."""
    data = line.encode("utf-8")
    out, limit = [], 75
    while len(data) > limit:
        cut = limit
        while cut > 0 and (data[cut] & 0xC0) == 0x80:  # not inside a UTF-8 sequence
            cut -= 1
        out.append(data[:cut])
        data = data[cut:]
        limit = 74  # continuation lines start with a space
    out.append(data)
    return b"\r\n ".join(out) + b"\r\n"
