"""The roster, the advisor's cockpit: delivery from a real send ledger, what changed, cohort figures, cohort.ics.

Everything goes through the real CLI (`matchguide build`, `matchguide email --send` to a real aiosmtpd
server on loopback), in a project folder laid out as an advisor's is.
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path

import icalendar
import pytest

from generator.cli import main
from generator.deliver.changes import differences, snapshot
from tests.conftest import ROOT
from tests.smtp_fixtures import Mailbox, start_server

AS_OF = "2026-11-25"
IDS = ["aisha-rahman", "ana-souza", "hiroshi-tanaka", "karim-haddad", "linh-nguyen"]


class RosterPage(HTMLParser):
    """The roster's applicant rows (data attributes and the text of each labelled cell) and its agenda."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: dict[str, dict] = {}
        self.agenda: list[str] = []
        self.text: list[str] = []
        self._row: dict | None = None
        self._cell: str | None = None
        self._item: list[str] | None = None
        self._in_agenda = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "tr" and (values.get("id") or "").startswith("a-"):
            self._row = {**values, "cells": {}}
            self.rows[values["id"][2:]] = self._row
        elif tag == "td" and self._row is not None:
            self._cell = values["data-label"]
            self._row["cells"][self._cell] = ""
        elif tag == "ul" and "agenda" in (values.get("class") or ""):
            self._in_agenda = True
        elif tag == "li" and self._in_agenda:
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "li" and self._item is not None:
            self.agenda.append(" ".join("".join(self._item).split()))
            self._item = None
        elif tag == "ul":
            self._in_agenda = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._row is not None and self._cell is not None:
            self._row["cells"][self._cell] += data
        if self._item is not None:
            self._item.append(data)

    def cell(self, applicant: str, label: str) -> str:
        return " ".join(self.rows[applicant]["cells"][label].split())

    @property
    def all_text(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An advisor's project folder: profiles (one still holding a placeholder address), content and theme."""
    (tmp_path / "profiles").mkdir()
    for pid in IDS:
        shutil.copy(ROOT / "profiles" / f"{pid}.yaml", tmp_path / "profiles")
    linh = tmp_path / "profiles" / "linh-nguyen.yaml"
    linh.write_text(linh.read_text().replace("linh.nguyen@example.org", "linh-nguyen@example.invalid"))
    shutil.copytree(ROOT / "content", tmp_path / "content")
    shutil.copytree(ROOT / "themes", tmp_path / "themes")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MATCHGUIDE_SITE_KEY", "roster-test-key-0123456789abcdef")
    monkeypatch.setenv("MATCHGUIDE_ALLOW_EXAMPLE_ADDRESSES", "1")
    return tmp_path


def build(*extra: str) -> int:
    return main(["build", "--as-of", AS_OF, "--quiet", *extra])


def roster(project: Path) -> RosterPage:
    return RosterPage((project / "output" / "roster.html").read_text("utf-8"))


def entries(project: Path) -> dict[str, dict]:
    return {e["id"]: e for e in json.loads((project / "output" / "manifest.json").read_text())["profiles"]}


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch):
    box = Mailbox()
    controller = start_server(box)
    for name, value in {"MATCHGUIDE_SMTP_HOST": "127.0.0.1", "MATCHGUIDE_SMTP_PORT": str(controller.port),
                        "MATCHGUIDE_SMTP_SECURITY": "none", "MATCHGUIDE_SMTP_FROM": "Dr. Lee <lee@example.org>",
                        "MATCHGUIDE_SITE_URL": "https://advisor.github.io/guides/",
                        "MATCHGUIDE_SMTP_TIMEOUT": "5"}.items():
        monkeypatch.setenv(name, value)
    yield box
    controller.stop()


@pytest.mark.slow
def test_roster_shows_delivery_from_the_ledger_and_what_changed(project: Path, smtp: Mailbox, capsys):
    assert build() == 0
    page = roster(project)
    assert {i: r["data-status"] for i, r in page.rows.items()} == {
        "aisha-rahman": "not sent", "ana-souza": "not sent", "hiroshi-tanaka": "not sent", "karim-haddad": "not sent",
        "linh-nguyen": "not ready"}
    assert "linh-nguyen@example.invalid is a placeholder" in page.cell("linh-nguyen", "Delivery")
    assert "held no record when this page was built" in page.all_text

    smtp.refuse.add("hiroshi.tanaka@example.org")  # refused: failed
    smtp.drop.add("ana.souza@example.org")  # stored, but the reply never comes: unknown
    assert main(["email", "--send", "--rate", "100000", "--max-retries", "0"]) == 1
    ledger = [json.loads(line) for line in (project / ".matchguide" / "ledger.jsonl").read_text().splitlines()]
    sending = {r["id"]: r for r in ledger if r["state"] == "sending"}
    assert sending["aisha-rahman"]["guide"]["band"] == "solid"  # the snapshot the roster compares against
    assert build() == 0  # nothing changed: every guide is kept, the roster is rewritten from the ledger
    page = roster(project)
    status = {i: r["data-status"] for i, r in page.rows.items()}
    assert status == {"aisha-rahman": "sent", "ana-souza": "unknown", "hiroshi-tanaka": "failed",
                      "karim-haddad": "sent", "linh-nguyen": "not ready"}
    sent_at = next(r["at"] for r in ledger if r["id"] == "aisha-rahman" and r["state"] == "sent")
    assert page.cell("aisha-rahman", "Delivery").startswith(f"sent {sent_at[:10]}")
    assert "550" in page.cell("hiroshi-tanaka", "Delivery") and "--retry-unknown" in page.cell("ana-souza", "Delivery")
    assert f"the latest at {max(r['at'] for r in ledger)}" in page.all_text

    # A better score moves Aisha up a band: the roster says what changed since the guide she was sent.
    before = entries(project)["aisha-rahman"]
    profile = project / "profiles" / "aisha-rahman.yaml"
    profile.write_text(profile.read_text().replace("score: 238", "score: 252"))
    assert build() == 0
    after = entries(project)["aisha-rahman"]
    assert after["band"] != before["band"]
    page = roster(project)
    assert page.rows["aisha-rahman"]["data-status"] == "changed" and page.rows["karim-haddad"]["data-status"] == "sent"
    delivery = page.cell("aisha-rahman", "Delivery")
    assert f"score band: {before['band'].replace('_', ' ')} → {after['band'].replace('_', ' ')}" in delivery
    if before["programs"] != after["programs"]:
        assert (f"programs to apply to: {before['programs']['min']}–{before['programs']['max']} → "
                f"{after['programs']['min']}–{after['programs']['max']}") in delivery
    assert "--resend-changed" in delivery

    # --resend-changed puts the same summary in the message.
    capsys.readouterr()
    assert main(["email", "--send", "--resend-changed", "--only", "aisha-rahman", "--rate", "100000"]) == 0
    message = [m for m in smtp.messages() if m["To"].addresses[0].addr_spec == "aisha.rahman@example.org"][-1]
    assert "updated" in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert f"since the version we sent on {sent_at[:10]}" in text
    assert f"- score band: {before['band'].replace('_', ' ')} → {after['band'].replace('_', ' ')}" in text
    html = message.get_body(("html",)).get_content()
    assert "What changed:" in html and "score band:" in html
    assert build() == 0
    assert roster(project).rows["aisha-rahman"]["data-status"] == "sent"


def test_roster_figures_next_weeks_and_cohort_calendar(project: Path):
    exam = date.fromisoformat(AS_OF) + timedelta(days=30)
    (project / "profiles" / "zoe-test.yaml").write_text(
        "name: Zoe Test\nemail: zoe.test@example.org\ngraduation_year: 2024\nstep1: {result: pass, attempts: 1}\n"
        f"step2_ck: {{result: pending, exam_date: {exam.isoformat()}}}\n")
    (project / ".matchguide").mkdir()
    (project / ".matchguide" / "ledger.jsonl").write_text('{"id": "aisha-rahman", "pdf_sha2')  # torn by a crash
    assert build("--no-pdf") == 0
    out = project / "output"
    page = roster(project)
    doc = entries(project)
    assert set(page.rows) == {*IDS, "zoe-test"}
    assert all(r["data-status"] == "not ready" for r in page.rows.values())  # no PDF to send in an HTML-only build
    assert "ignored an incomplete last record" in page.all_text
    text = page.all_text
    for flag, label in (("score_after_eras", "Step 2 CK score expected after ERAS opens"),
                        ("no_usce", "No US clinical experience"), ("needs_h1b", "Needs an H-1B visa")):
        holders = [e["name"] for e in doc.values() if flag in e["flags"]]
        assert f"{label} {len(holders)} flag {flag}" + "".join(f" {n}" for n in holders) in text
    listed = {i: e["program_list"] for i, e in doc.items() if e.get("program_list")}
    assert listed, "the sample program spreadsheet gives lists"  # content/data/programs.csv, copied with content/
    for applicant, plist in listed.items():
        cell = page.cell(applicant, "Program list")
        assert cell.startswith(f"{plist['count']} programs") and ("short" in cell) == plist["short"]
        assert (f"{len(plist['confirm_visa'])} visa to confirm" in cell) == bool(plist["confirm_visa"])
    for applicant in set(doc) - set(listed):
        assert page.cell(applicant, "Program list") == "—"
    assert (f"Program lists {len(listed)} {sum(p['short'] for p in listed.values())} short list"
            in text)
    assert "Profiles with placeholders 1 Linh Nguyen: linh-nguyen@example.invalid is a placeholder" in text
    for band in {e["band"] for e in doc.values()}:
        assert page.rows[next(i for i, e in doc.items() if e["band"] == band)]["data-band"] == band

    # The next 8 weeks: every dated item in the window, in date order, and the same items in cohort.ics.
    calendar = icalendar.Calendar.from_ical((out / "cohort.ics").read_bytes())
    events = [(e.decoded("dtstart"), str(e["summary"])) for e in calendar.walk("VEVENT")]
    start = date.fromisoformat(AS_OF)
    assert events and all(start <= day < start + timedelta(days=56) for day, _ in events)
    assert events == sorted(events, key=lambda e: e[0])
    assert len(page.agenda) == len(events)
    for (day, summary), shown in zip(events, page.agenda):
        assert shown.startswith(day.strftime("%a %d %b %Y")) and summary in shown
    exam = start + timedelta(days=30)
    assert (exam, "Zoe Test: USMLE Step 2 CK exam") in events  # the profile written for this test, below
    assert any(line.startswith(exam.strftime("%a %d %b %Y")) and "Zoe Test: USMLE Step 2 CK exam" in line
               for line in page.agenda)
    assert len({str(e["uid"]) for e in calendar.walk("VEVENT")}) == len(events)
    assert not list((out / "site").rglob("*cohort*")) and not list((out / "site").rglob("roster*"))
    first = (out / "cohort.ics").read_bytes()
    assert build("--no-pdf", "--force") == 0 and (out / "cohort.ics").read_bytes() == first  # byte-identical


def test_an_unreadable_ledger_leaves_the_roster_built_and_says_so(project: Path):
    (project / ".matchguide").mkdir()
    (project / ".matchguide" / "ledger.jsonl").write_text('not json\n{"id": "x"}\n')
    assert build("--no-pdf") == 0
    assert "the send ledger could not be read when this page was built" in roster(project).all_text


def test_the_privacy_check_refuses_a_roster_or_cohort_calendar_under_site(project: Path, strategy):
    from generator.errors import BuildError
    from generator.load.profiles import load_profiles
    from generator.write.privacy import check

    assert build("--no-pdf") == 0
    out = project / "output"
    doc = json.loads((out / "manifest.json").read_text())
    profiles, _ = load_profiles(project / "profiles", default_cycle=2027, passing_standard=strategy.standard_on,
                                as_of=date.fromisoformat(AS_OF))
    for name in ("roster.html", "cohort.ics"):
        leak = out / "site" / name
        shutil.copy(out / name, leak)
        with pytest.raises(BuildError) as caught:
            check(out, profiles, doc["profiles"])
        assert all(str(p).startswith(f"site/{name}: published file exposes") for p in caught.value.problems)
        leak.unlink()


def test_changes_are_a_short_human_diff():
    before = snapshot({"band": "solid", "programs": {"min": 120, "max": 160}, "sections": ["a", "b"],
                       "program_list": {"count": 3, "short": False, "reach": ["P1"], "target": ["P2"], "likely": ["P3"],
                                        "confirm_visa": []}}, {"a": "Alpha", "b": "Beta"})
    after = snapshot({"band": "strong", "programs": {"min": 80, "max": 100}, "sections": ["a", "c"],
                      "program_list": {"count": 2, "short": True, "reach": [], "target": ["P2", "P4"], "likely": [],
                                       "confirm_visa": ["P4"]}}, {"a": "Alpha", "c": "Gamma"})
    diff = differences(before, after)
    assert diff["lines"] == ["score band: solid → strong", "programs to apply to: 120–160 → 80–100",
                             "new sections: Gamma", "sections no longer in the guide: Beta",
                             "program list: 3 → 2 programs, 1 added, 2 removed, now short, visa to confirm: 0 → 1"]
    assert diff["program_list_changed"] and diff["known"]
    same = differences(before, before)
    assert same["lines"] == ["the wording or dates changed; band, programs, sections and program list are the same"]
    assert not same["program_list_changed"]
    assert differences(None, after)["known"] is False
    assert differences({**before, "program_list": None}, after)["lines"][-1] == "program list: new, 2 programs (short)"
    assert differences(before, {**after, "program_list": None})["lines"][-1] == "program list: no longer in the guide"


def test_program_list_figures_and_a_manifest_without_lists():
    from generator.write.cohort import figures, list_figures

    listed = {"id": "a", "name": "A", "source": "profiles/a.yaml", "band": "solid", "flags": [],
              "program_list": {"count": 80, "short": True, "reach": [], "target": [], "likely": [],
                               "confirm_visa": ["P1", "P2"]}}
    unlisted = {"id": "b", "name": "B", "source": "profiles/b.yaml", "band": "pending", "flags": [], "program_list": None}
    older = {"id": "c", "name": "C", "source": "profiles/c.yaml", "band": "top", "flags": ["no_usce"]}  # no key at all
    assert list_figures(listed) == {"count": 80, "short": True, "confirm_visa": 2}
    assert list_figures(unlisted) is None and list_figures(older) is None
    found = figures([listed, unlisted, older], [], [], [("top", "Top"), ("solid", "Solid"), ("pending", "Pending")])
    assert found["lists"] == {"count": 1, "short": 1, "confirm_visa": 2}
    assert [b["count"] for b in found["by_band"]] == [1, 1, 1]
    assert found["flags"][1] == {"flag": "no_usce", "label": "no US clinical experience", "who": ["C"]}
    assert figures([unlisted], [], [], [("pending", "Pending")])["lists"] == {"count": 0, "short": 0, "confirm_visa": 0}
