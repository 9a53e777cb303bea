"""The charts' settings, from the theme: the score axis and the colours.

theme.yaml's `charts` block gives the score range the scale shows (`score_axis`) and
the stylesheet whose `:root` custom properties are the theme's colours (`colours`).
The charts are inline SVG drawn with presentation attributes (no CSS variables, so
Chromium and WeasyPrint draw them alike); they take their colours from that one
stylesheet, so a colour is written once, in the theme's CSS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from generator.errors import Problem
from generator.load.yamlstrict import Document

# The custom properties the charts draw with: the guide's own colours, plus a few only the charts use.
CHART_COLOURS = ("ink", "muted", "paper", "accent", "alert", "chart-band", "chart-tick", "chart-phase-alt",
                 "chart-release", "chart-match")
_ROOT = re.compile(r":root\s*\{(?P<body>[^}]*)\}")
_PROPERTY = re.compile(r"--(?P<name>[a-z0-9-]+)\s*:\s*(?P<value>#[0-9a-fA-F]{3,8})\s*;")


@dataclass(frozen=True)
class ChartStyle:
    """The score axis (lowest and highest score shown) and the colours, by custom property name."""

    score_axis: tuple[int, int]
    colours: tuple[tuple[str, str], ...]

    def colour(self, name: str) -> str:
        """The colour of one custom property, e.g. `accent` -> `#1b56a0`."""
        return dict(self.colours)[name]


def read_chart_style(root: Path, doc: Document, source: str, prefix: str) -> tuple[ChartStyle | None, list[Problem]]:
    """The `charts` block of a theme's theme.yaml (`doc`, at `source`) and the colours of its stylesheet."""
    charts = doc.data.get("charts")
    if not isinstance(charts, dict):
        return None, [Problem(source, doc.line_of(("charts",)), "charts",
                              "expected {score_axis: [lowest, highest], colours: the stylesheet with the colours}")]
    problems: list[Problem] = []
    axis = charts.get("score_axis")
    if not (isinstance(axis, list) and len(axis) == 2 and all(type(v) is int for v in axis) and axis[0] < axis[1]):
        problems.append(Problem(source, doc.line_of(("charts", "score_axis")), "charts.score_axis",
                                "expected [lowest, highest] scores, lowest first, such as [200, 270]"))
    sheet = charts.get("colours")
    colours: dict[str, str] = {}
    if not isinstance(sheet, str) or not (root / sheet).is_file() \
            or not (root / sheet).resolve().is_relative_to(root.resolve()):
        problems.append(Problem(source, doc.line_of(("charts", "colours")), "charts.colours",
                                f"{sheet!r} is not a stylesheet inside {prefix}"))
    else:
        colours, found = stylesheet_colours((root / sheet).read_text("utf-8", "replace"), f"{prefix}/{sheet}")
        problems += found
    if problems:
        return None, problems
    return ChartStyle((axis[0], axis[1]), tuple((name, colours[name]) for name in CHART_COLOURS)), []


def stylesheet_colours(css: str, source: str) -> tuple[dict[str, str], list[Problem]]:
    """The `--name: #hex;` custom properties of a stylesheet's first `:root` block; a problem per chart colour missing."""
    block = _ROOT.search(css)
    if block is None:
        return {}, [Problem(source, None, ":root", "no :root block with the theme's colours")]
    colours = {m["name"]: m["value"].lower() for m in _PROPERTY.finditer(block["body"])}
    line = css.count("\n", 0, block.start()) + 1
    return colours, [Problem(source, line, f"--{name}", "the charts need this colour (a #hex value) in the :root block")
                     for name in CHART_COLOURS if name not in colours]
