"""`output/roster.html`: the advisor's private view of a build (never published)."""

from __future__ import annotations

from typing import Any

from generator.errors import printable
from generator.render.html import Renderer

NAME = "roster.html"
TEMPLATE = "roster.html"


def render(doc: dict, renderer: Renderer) -> str:
    """Every applicant with band, program range, flags and links, and every error of the build."""
    template = renderer.theme_env.get_template(TEMPLATE)
    # Errors are shown as the terminal shows them: control and bidi characters escaped, one line each.
    errors = [{k: printable(v) if isinstance(v, str) else v for k, v in e.items()} for e in doc.get("errors", [])]
    return template.render(manifest={**doc, "errors": errors},
                           page={**renderer.site, "title": "Cohort roster", "lang": "en"})


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
