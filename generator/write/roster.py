"""`output/roster.html`: the advisor's private view of a build (never published)."""

from __future__ import annotations

from typing import Any

from generator.render.html import Renderer

NAME = "roster.html"
TEMPLATE = "roster.html"


def render(doc: dict, renderer: Renderer) -> str:
    """Every applicant with band, program range, flags and links, and every error of the build."""
    template = renderer.theme_env.get_template(TEMPLATE)
    return template.render(manifest=doc, page={**renderer.site, "title": "Cohort roster", "lang": "en"})


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
