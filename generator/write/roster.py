"""`output/roster.html` and `output/cohort.ics`: the advisor's private cockpit of a build (never published).

Per applicant: band, programs, program list, flags, where delivery stands in the
send ledger, what changed since the guide last sent, and the next date. Above
the table: the cohort's figures, one chart, and the next 8 weeks (also written
as `cohort.ics`). The ledger is read once, read-only, when the build ends; the
page says so, because sending does not rewrite it.
"""

from __future__ import annotations

import hashlib
import os
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence

from generator.authoring.placeholders import placeholder_warnings
from generator.decide.facts import derive
from generator.deliver import ledger
from generator.deliver.addresses import ALLOW_EXAMPLE_ENV, undeliverable
from generator.deliver.changes import differences, snapshot
from generator.errors import DeliveryError, printable
from generator.load.profiles import Profile
from generator.project import display
from generator.render.cohort_chart import STATES, delivery_by_band
from generator.render.html import Renderer
from generator.write import cohort
from generator.write.writer import StagedOutput

NAME = "roster.html"
ICS_NAME = "cohort.ics"
TEMPLATE = "roster.html"


def write(staged: StagedOutput, doc: dict, renderer: Renderer, profiles: Sequence[Profile],
          ledger_path: Path | None = None, facts: Mapping[str, dict] | None = None) -> None:
    """Write the roster and the cohort calendar into the staged output, beside the manifest.

    `facts` are the build's, by applicant id; an applicant without them (a guide an `--only` build
    carried over, a merge) has them derived here.
    """
    as_of = date.fromisoformat(doc["as_of"])
    path = ledger_path or ledger.default_path(staged.out_dir)
    history, ledger_info = read_ledger(path)
    valid = {p.id: p for p in profiles}
    known = facts or {}
    people = cohort.people([valid[e["id"]] for e in doc["profiles"] if e["id"] in valid],
                           lambda p: known.get(p.id) or derive(p, renderer.strategy, as_of))
    upcoming = cohort.next_dates(people, as_of)
    bands = [(b.id, b.label) for b in renderer.strategy.bands] + [(renderer.strategy.pending_band.id,
                                                                   renderer.strategy.pending_band.label)]
    rank = {band: n for n, (band, _label) in enumerate(bands)}
    rows = [row(e, valid.get(e["id"]), history, staged.path, doc, upcoming.get(e["id"]), rank) for e in doc["profiles"]]
    events = cohort.agenda(people, as_of)
    built = [valid[e["id"]] for e in doc["profiles"] if e["id"] in valid]
    warnings = placeholder_warnings(built, Path(built[0].source).parent, as_of) if built else []
    figures = cohort.figures(doc["profiles"], warnings, doc["errors"], bands)
    page = {**renderer.site, "title": "Cohort roster", "lang": "en"}
    template = renderer.theme_env.get_template(TEMPLATE)
    # Errors are shown as the terminal shows them: control and bidi characters escaped, one line each.
    errors = [{k: printable(v) if isinstance(v, str) else v for k, v in e.items()} for e in doc.get("errors", [])]
    staged.write_text(NAME, template.render(
        manifest={**doc, "errors": errors}, page=page, rows=rows, figures=figures, events=events, ledger=ledger_info,
        chart=delivery_by_band(figures["by_band"], rows), window_end=as_of + timedelta(days=cohort.WINDOW_DAYS - 1),
        flags=sorted({f for e in doc["profiles"] for f in e["flags"]}), ics=ICS_NAME,
        states=[(state, label) for state, label, _ in STATES]))
    staged.write_bytes(ICS_NAME, cohort.cohort_ics(events, doc["cycle"], as_of))


def read_ledger(path: Path) -> tuple[ledger.History, dict]:
    """The send ledger's history, tolerant of a missing or torn file, and what the page says about it."""
    info: dict = {"path": display(path), "records": 0, "latest": "", "notes": [], "problem": None}
    try:
        records, notes = ledger.read(path)
    except DeliveryError as exc:
        info["problem"] = str(exc)
        return ledger.History(), info
    history = ledger.History(records)
    info.update(records=len(records), latest=history.latest, notes=notes)
    return history, info


# The order "Delivery" sorts in: what needs the advisor first.
STATUS_ORDER = ("failed", "unknown", "changed", "not ready", "not sent", "sent")


def row(entry: dict, profile: Profile | None, history: ledger.History, path_of: Any, doc: dict, upcoming: Any,
        band_rank: dict[str, int]) -> dict:
    """One applicant's line: the manifest entry, its program list, delivery, changes and next date."""
    band = entry["band"]
    delivery, changes = _delivery(entry, profile, history, path_of, doc)
    as_of = date.fromisoformat(doc["as_of"])
    return {
        "entry": entry,
        "band": band,
        "band_rank": band_rank.get(band, len(band_rank)),
        "projected": entry["basis"]["kind"] == "practice",
        "list": cohort.list_figures(entry),
        "delivery": delivery,
        "status_rank": STATUS_ORDER.index(delivery["state"]),
        "changes": changes,
        "next": None if upcoming is None else {"date": upcoming.first.isoformat(), "summary": upcoming.summary,
                                               "days": (upcoming.first - as_of).days},
    }


def _delivery(entry: dict, profile: Profile | None, history: ledger.History, path_of: Any, doc: dict) -> tuple[dict, list[str]]:
    """Where this guide stands: state, a short label, why; and what changed since the guide last sent."""
    pdf = entry.get("pdf")
    if not isinstance(pdf, str) or not path_of(pdf).is_file():
        return {"state": "not ready", "label": "not ready", "detail": "no PDF in this build (built with --no-pdf?)"}, []
    # hash the PDF only for an applicant the ledger knows
    found = history.delivery(entry["id"], _sha256(path_of(pdf))) if history.knows(entry["id"]) else ledger.Delivery("not sent")
    if found.state == "sent":
        return {"state": "sent", "label": f"sent {found.at[:10]}", "detail": f"sent at {found.at}"}, []
    if found.state == "unknown":
        return {"state": "unknown", "label": "unknown", "detail": f"the attempt at {found.at} ended without a known "
                "outcome; check the mailbox, then `email --send --retry-unknown`"}, []
    if found.state == "changed":
        lines = differences(found.sent_guide, snapshot(entry, doc.get("section_titles")))["lines"]
        detail = f"sent {found.sent_at[:10]}; this guide is newer (`email --send --resend-changed` sends it)"
        return {"state": "changed", "label": "changed since sent",
                "detail": detail + (f"; {found.detail}" if found.detail else "")}, lines
    why = _not_ready(profile)
    if why:
        return {"state": "not ready", "label": "not ready", "detail": why}, []
    if found.state == "failed":
        return {"state": "failed", "label": "failed", "detail": f"{found.detail} at {found.at}"}, []
    return {"state": "not sent", "label": "not sent yet", "detail": None}, []


def _not_ready(profile: Profile | None) -> str | None:
    if profile is None:
        return "the profile did not load in this build"
    if not profile.email:
        return "no email address in the profile"
    # as `email` judges the address in this environment
    return undeliverable(profile.email, allow_example=os.environ.get(ALLOW_EXAMPLE_ENV, "").strip() == "1")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def summary_rows(doc: dict) -> list[dict[str, Any]]:
    """One row per applicant, as the CLI summary table and the roster show them."""
    rows = []
    for e in doc["profiles"]:
        programs = e["programs"]
        rows.append({
            "id": e["id"],
            "band": e["band"] + (" (projected)" if e["basis"]["kind"] == "practice" else ""),
            "score": "—" if e["basis"]["score"] is None else str(e["basis"]["score"]),
            "programs": "—" if programs is None else f"{programs['min']}–{programs['max']}",
            "flags": ", ".join(e["flags"]) or "—",
        })
    return rows


__all__ = ["ICS_NAME", "NAME", "read_ledger", "row", "summary_rows", "write"]
