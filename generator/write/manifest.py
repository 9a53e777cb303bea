"""`output/manifest.json`: what was built for whom and why (docs/manifest.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from generator import GENERATOR
from generator.errors import Problem
from generator.decide.selection import Decisions
from generator.load.profiles import Profile

NAME = "manifest.json"


def entry(profile: Profile, facts: dict, selection: Decisions, *, html: str, pdf: str | None,
          program_list: dict | None = None) -> dict:
    """One applicant's manifest record."""
    return {
        "id": profile.id,
        "name": profile.name,
        "source": profile.source,
        "band": facts["band"]["id"],
        "basis": {"kind": facts["basis"]["kind"], "score": facts["basis"]["score"]},
        "programs": None if facts["programs"]["min"] is None
        else {"min": facts["programs"]["min"], "max": facts["programs"]["max"]},
        "flags": list(facts["flag_list"]),
        "sections": [s.id for s in selection.sections],
        "examples": [e.id for e in selection.examples],
        "faq": [f.id for f in selection.faq],
        "layout": selection.layout.id,
        "html": html,
        "pdf": pdf,
        "program_list": program_list,
    }


def document(cycle: int, as_of: str, entries: list[dict], problems: list[Problem], **extra: Any) -> dict:
    """The whole manifest, entries sorted by id and errors by place."""
    return {
        "generator": GENERATOR,
        "cycle": cycle,
        "as_of": as_of,
        "profiles": sorted(entries, key=lambda e: e["id"]),
        "errors": [p.as_dict() for p in sorted(set(problems), key=_problem_order)],
        **extra,
    }


def _problem_order(p: Problem) -> tuple:
    return (p.source, p.line or 0, p.field or "", p.message)


def dumps(doc: dict) -> str:
    """Stable JSON text: the same build gives the same bytes."""
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def read(out_dir: Path) -> dict | None:
    """The manifest of a previous build, or None when there is none or it is unreadable."""
    try:
        return json.loads((out_dir / NAME).read_text("utf-8"))
    except (OSError, ValueError):
        return None
