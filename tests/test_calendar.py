"""The per-applicant calendar (RFC 5545): milestones and dates, stable bytes, escaping, and the build's guide.ics."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from icalendar import Calendar

from generator.write import manifest
from generator.build import BuildOptions, build
from generator.render.ics import ics_for, milestones
from generator.decide.facts import derive
from tests.conftest import AS_OF, ROOT, make_profile

PLANNED = {"result": "pending", "exam_date": date(2027, 6, 21), "qbank_percent": 58.0,
           "practice": [{"date": date(2027, 2, 16), "score": 213, "name": "NBME 11"}, {"date": date(2027, 1, 12), "score": 205}]}


def planned(**kw):
    """A profile with a planned exam and two practice exams, the later one named."""
    return make_profile(step2=PLANNED, **kw)


def unescape(text: str) -> str:
    """RFC 5545 3.3.11 TEXT unescaping (icalendar leaves X- and RFC 7986 properties raw)."""
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def events(data: bytes) -> dict[str, dict]:
    """Events by summary: start, exclusive end, uid, description, dtstamp."""
    out = {}
    for event in Calendar.from_ical(data).walk("VEVENT"):
        out[str(event["SUMMARY"])] = {
            "start": event.decoded("DTSTART"), "end": event.decoded("DTEND"), "uid": str(event["UID"]),
            "description": str(event["DESCRIPTION"]), "stamp": event.decoded("DTSTAMP"),
        }
    return out


def test_milestones_of_a_planned_exam(strategy):
    profile = planned(id="ana-souza", email="ana@example.org", notes="private note")
    facts = derive(profile, strategy, AS_OF)
    got = events(ics_for(facts, profile))
    phases = facts["plan"]["phases"]
    assert len(phases) == 4
    for phase in phases:
        event = next(e for s, e in got.items() if s.endswith(phase["title"]))
        assert (event["start"], event["end"]) == (phase["start"], phase["end"] + timedelta(days=1))
    assert got["Step 2 CK plan, weeks 1–4: Foundation and question bank start"]["start"] == date(2027, 3, 29)
    assert "Step 2 CK plan, week 12: Taper and targeted review" in got
    assert got["Practice exam: NBME 11"]["start"] == date(2027, 2, 16)
    assert got["Practice exam"]["start"] == date(2027, 1, 12)
    assert got["USMLE Step 2 CK exam"]["start"] == date(2027, 6, 21)
    release = got["Step 2 CK score expected"]
    assert (release["start"], release["end"]) == (date(2027, 7, 19), date(2027, 7, 20))
    assert "44 days before you can send applications" in release["description"]
    assert got["ERAS 2028 season: applications can be sent"]["start"] == date(2027, 9, 1)
    assert got["ERAS 2028 season: programs start reading"]["start"] == date(2027, 9, 22)
    assert got["NRMP rank order list deadline"]["start"] == date(2028, 3, 1)
    assert "expected date" in got["ERAS 2028 season: applications can be sent"]["description"]
    assert got["Match Day"]["start"] == date(2028, 3, 17)
    assert len(got) == 4 + 2 + 3 + 3
    for event in got.values():
        assert type(event["start"]) is date and type(event["end"]) is date  # all-day: VALUE=DATE
        assert event["stamp"] == datetime(2026, 11, 25, tzinfo=timezone.utc)
        assert event["uid"].endswith("@matchguide.invalid") and "ana" not in event["uid"]
    assert len({e["uid"] for e in got.values()}) == len(got)


def test_bytes_are_stable_and_private(strategy):
    profile = planned(id="ana-souza", email="ana@example.org", notes="private note")
    first = ics_for(derive(profile, strategy, AS_OF), profile)
    assert first == ics_for(derive(profile, strategy, AS_OF), profile)
    assert first.startswith(b"BEGIN:VCALENDAR\r\n") and b"VERSION:2.0\r\n" in first
    for secret in (b"ana@example.org", b"private note", b"ana-souza"):
        assert secret not in first
    later = ics_for(derive(profile, strategy, AS_OF + timedelta(days=1)), profile)
    assert b"DTSTAMP:20261126T000000Z" in later  # the build date is the only clock


def test_uids_are_per_applicant(strategy):
    one = planned(id="one")
    two = planned(id="two")
    uids = [{e["uid"] for e in events(ics_for(derive(p, strategy, AS_OF), p)).values()} for p in (one, two)]
    assert not uids[0] & uids[1]


def test_name_is_escaped(strategy):
    name = 'Ana, "Bee"; C\\D ' + "Ağaoğlu-Überlänge " * 3
    profile = make_profile(name=name)
    data = ics_for(derive(profile, strategy, AS_OF), profile)
    assert b'Ana\\, "Bee"\\; C\\\\D' in data
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))  # long lines are folded
    parsed = Calendar.from_ical(data)
    title = f"Residency application 2027: {name}"
    assert unescape(parsed["X-WR-CALNAME"].to_ical().decode()) == title
    assert unescape(parsed["NAME"].to_ical().decode()) == title


def test_no_exam_gives_only_the_fixed_dates(strategy):
    profile = make_profile(step2=None)
    found = milestones(derive(profile, strategy, AS_OF), profile)
    assert [m.id for m in found] == ["eras-opens", "programs-read", "rank-list-deadline", "match-day"]


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory):
    root = tmp_path_factory.mktemp("ics")
    outputs = []
    for run in ("a", "b"):
        options = BuildOptions(profiles=ROOT / "profiles", content=ROOT / "content", theme=ROOT / "themes" / "default",
                               out=root / run / "output", state=root / "state", only=["ana-souza", "aisha-rahman"],
                               pdf=False, as_of=AS_OF)
        result = build(options)
        assert result.ok, result.problems
        outputs.append(options)
    return outputs


def guide_folder(out: Path, applicant_id: str) -> Path:
    entry = next(e for e in manifest.read(out)["profiles"] if e["id"] == applicant_id)
    return (out / entry["html"]).parent


def test_build_writes_guide_ics_next_to_the_page(two_builds):
    first, second = (o.out for o in two_builds)
    folder = guide_folder(first, "ana-souza")
    ics = (folder / "guide.ics").read_bytes()
    assert "USMLE Step 2 CK exam" in events(ics)
    assert 'href="guide.ics"' in (folder / "index.html").read_text()
    for applicant in ("ana-souza", "aisha-rahman"):
        assert (guide_folder(first, applicant) / "guide.ics").read_bytes() == \
            (guide_folder(second, applicant) / "guide.ics").read_bytes()


def test_unchanged_guides_keep_their_calendar(two_builds):
    options = two_builds[0]
    before = (guide_folder(options.out, "ana-souza") / "guide.ics").read_bytes()
    result = build(options)
    assert sorted(result.kept) == ["aisha-rahman", "ana-souza"]
    assert (guide_folder(options.out, "ana-souza") / "guide.ics").read_bytes() == before
    (guide_folder(options.out, "ana-souza") / "guide.ics").unlink()
    result = build(options)  # a missing calendar means the guide is rebuilt, not kept without one
    assert result.rebuilt == ["ana-souza"]
    assert (guide_folder(options.out, "ana-souza") / "guide.ics").read_bytes() == before
