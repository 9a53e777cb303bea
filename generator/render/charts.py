"""Inline SVG pictures for a guide: the score scale and the timeline (pure).

Kept to rect, line, polygon and text with presentation attributes, so that
Chromium and WeasyPrint draw them the same; no random ids, no CSS variables.
"""

from __future__ import annotations

import functools
import itertools
import math
from datetime import date, timedelta
from typing import Any, NamedTuple

from markupsafe import Markup, escape

from generator.load.chart_style import ChartStyle

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
# Colours are the theme's (generator/load/chart_style.py): names of its stylesheet's custom properties.
PHASE_FILLS = ("accent", "chart-phase-alt")  # both >= 4.5:1 against white text
EVENT_COLOURS = {
    "as_of": "muted",
    "exam": "alert",
    "score_release": "chart-release",
    "eras": "accent",
    "match_day": "chart-match",
}
EVENTS = (  # key in facts['dates'], label on the chart, words for the text alternative
    ("exam", "Exam", "Step 2 CK exam"),
    ("score_release", "Score", "Expected score release"),
    ("eras", "Apply", "Applications can be sent (ERAS)"),
    ("match_day", "Match Day", "Match Day"),
)
CHAR_WIDTH = 0.62  # of the font size: a generous average for DejaVu Sans


def score_scale(facts: dict, bands: list[dict], style: ChartStyle) -> Markup:
    """A horizontal Step 2 CK score scale with the bands, the applicant's band shaded and a marker."""
    width, left, right = 440, 12, 428
    c = style.colour
    ink, muted, paper, alert = c("ink"), c("muted"), c("paper"), c("alert")
    basis, band, step2 = facts["basis"], facts["band"], facts["step2"]
    score = basis.get("score")
    failed = step2.get("result") == "fail"
    passing = step2.get("passing_standard")
    lo, hi = style.score_axis
    for value in (score, passing):
        if value is not None:
            lo = min(lo, math.floor((value - 5) / 10) * 10)
            hi = max(hi, math.ceil((value + 5) / 10) * 10)

    def x(value: float) -> float:
        return left + (value - lo) / (hi - lo) * (right - left)

    bar_top, bar_h = 40, 36
    segments = _segments(bands, lo, hi)
    # One size for every band name: the largest at which each fits its whole segment.
    size = min((_fit(str(b.get("label", "")), x(end) - x(start) - 8, (14, 12, 10.5))[1]
                for b, start, end in segments), default=14)
    parts: list[str] = []
    for b, start, end in segments:
        mine = b.get("id") == band.get("id")
        x0, x1 = x(start), x(end)
        kind = "band current" if mine else "band"
        parts.append(f'<g class="{kind}" data-band="{escape(b.get("id", ""))}">')
        parts.append(_rect(x0, bar_top, x1 - x0, bar_h, c("accent") if mine else c("chart-band"), stroke=paper))
        label, fitted = _fit(str(b.get("label", "")), x1 - x0 - 8, (size,))
        if label:
            parts.append(_text((x0 + x1) / 2, bar_top + bar_h / 2 + fitted * 0.36, label, size=fitted,
                               fill=paper if mine else muted, weight="bold" if mine else None))
        parts.append("</g>")

    axis_y = bar_top + bar_h
    parts.append('<g class="ticks">')
    for value in range(lo, hi + 1, 10):
        parts.append(_line(x(value), axis_y, x(value), axis_y + 6, c("chart-tick")))
        parts.append(_text(x(value), axis_y + 20, str(value), size=13, fill=muted))
    parts.append("</g>")

    marker_label = None
    if score is not None:
        if failed:
            marker_label = f"Failed: {score}"
        elif band.get("projected"):
            marker_label = f"Projected: {score}"
        else:
            marker_label = f"You: {score}"
        mx = x(score)
        dash = "4 3" if band.get("projected") else None
        # A pointer onto the bar's edge and a tick under it: nothing crosses the band names.
        parts.append('<g class="marker">')
        parts.append(_line(mx, 22, mx, bar_top - 8, ink, width=2.5, dash=dash))
        parts.append(f'<polygon points="{mx - 7:.1f},{bar_top - 10} {mx + 7:.1f},{bar_top - 10} {mx:.1f},{bar_top}" '
                     f'fill="{ink}"/>')
        parts.append(_line(mx, axis_y, mx, axis_y + 9, ink, width=3))
        parts.append(_text_clamped(mx, 17, marker_label, size=15, width=width, fill=ink, weight="bold"))
        parts.append("</g>")
    else:
        note = "Failed attempt: score not given" if failed else "No score yet"
        parts.append(_text(width / 2, 20, note, size=15, fill=muted, weight="bold"))

    if passing is not None and lo <= passing <= hi:
        px = x(passing)
        parts.append('<g class="passing">')
        # Above and below the bar only, so it never crosses a band name.
        parts.append(_line(px, bar_top - 8, px, bar_top, alert, width=2))
        parts.append(_line(px, axis_y, px, axis_y + 8, alert, width=2))
        near_marker = score is not None and abs(px - x(score)) < 90
        label_y = axis_y + 40 if near_marker or score is None else 28
        parts.append(_text_clamped(px, label_y, f"Pass: {passing}", size=13, width=width, fill=alert))
        parts.append("</g>")

    height = axis_y + 46
    summary = _scale_summary(facts, bands, marker_label)
    return _svg("chart-score", width, height, summary, parts)


def timeline(facts: dict, style: ChartStyle) -> Markup:
    """The months from the build date to Match Day: study phases, exam, score release, ERAS, Match Day."""
    width, left, right = 520, 10, 510
    c = style.colour
    tick, paper = c("chart-tick"), c("paper")
    dates = facts["dates"]
    start: date = dates["as_of"]
    end: date = dates["match_day"]
    if end <= start:
        end = start + timedelta(days=30)
    span = (end - start).days

    def x(day: date) -> float:
        return left + (day - start).days / span * (right - left)

    parts: list[str] = []
    axis_y = 32
    parts.append(_line(left, axis_y, right, axis_y, tick, width=1.5))
    for month, label in _month_ticks(start, end):
        parts.append(_line(x(month), axis_y - 6, x(month), axis_y, tick))
        parts.append(_text_clamped(x(month), axis_y - 10, label, size=13, width=width, fill=c("muted")))

    phases = [p for p in facts["plan"]["phases"] if p["end"] >= start and p["start"] <= end]
    bar_top, bar_h = axis_y + 10, 28 if phases else 0
    for i, phase in enumerate(phases):
        first = max(phase["start"], start)
        last = min(phase["end"] + timedelta(days=1), end)
        x0, x1 = x(first), x(last)
        parts.append(f'<g class="phase" data-phase="{escape(phase["id"])}"><title>{escape(_phase_text(phase))}</title>')
        parts.append(_rect(x0, bar_top, max(x1 - x0, 1.5), bar_h, c(PHASE_FILLS[i % 2]), stroke=paper))
        # The name when it fits whole, else the phase number (the guide's plan table numbers them too).
        label, size = _fit(_phase_name(phase), x1 - x0 - 6, (13, 11.5), shorten=False)
        if not label:
            label, size = _fit(str(i + 1), x1 - x0 - 2, (13, 11.5), shorten=False)
        if label:
            parts.append(_text((x0 + x1) / 2, bar_top + bar_h / 2 + size * 0.36, label, size=size, fill=paper))
        parts.append("</g>")

    events = sorted((e for e in _events(facts) if start <= e[1] <= end), key=lambda e: (e[1], e[0]))
    rows_top = bar_top + bar_h + (26 if phases else 16)
    flags = [_flag(x(day), f"{name} {_short(day)}", 14, width) for _, day, name, _ in events]
    rows = _rows(flags)
    for (key, *_), flag, row in zip(events, flags, rows):
        label_y = rows_top + row * 19
        colour = c(EVENT_COLOURS.get(key, "ink"))
        dash = "4 3" if key in ("score_release", "as_of") else None
        parts.append(f'<g class="event" data-event="{key}">')
        parts.append(_line(flag.line_x, axis_y - 2, flag.line_x, label_y + 3, colour, width=2, dash=dash))
        parts.append(_text(flag.text_x, label_y, flag.text, size=14, fill=colour, anchor=flag.anchor, weight="bold"))
        parts.append("</g>")

    height = rows_top + max(rows, default=0) * 19 + 8
    return _svg("chart-timeline", width, height, _timeline_summary(facts, start, end), parts)


def _segments(bands: list[dict], lo: int, hi: int) -> list[tuple[dict, int, int]]:
    """Each band that has a place on the scale, with its start and (exclusive) end score."""
    found = []
    for b in bands:
        if b.get("min") is None and b.get("max") is None:
            continue  # the pending band has no place on a scale
        start = max(lo, b["min"] if b.get("min") is not None else lo)
        end = min(hi, b["max"] + 1 if b.get("max") is not None else hi)
        if end > start:
            found.append((b, start, end))
    return found


def _events(facts: dict) -> list[tuple[str, date, str, str]]:
    dates = facts["dates"]
    found = [("as_of", dates["as_of"], "As of", "Guide date")]
    found += [(key, dates[key], short, long) for key, short, long in EVENTS if dates.get(key) is not None]
    return found


def _timeline_summary(facts: dict, start: date, end: date) -> str:
    said = [f"Timeline from {_long(start)} to {_long(end)}."]
    for phase in facts["plan"]["phases"]:
        said.append(_phase_text(phase) + ".")
    for _, day, _, name in _events(facts)[1:]:
        outside = "" if start <= day <= end else " (outside this timeline)"
        said.append(f"{name}: {_long(day)}{outside}.")
    return " ".join(said)


def _scale_summary(facts: dict, bands: list[dict], marker_label: str | None) -> str:
    ranges = []
    for b in bands:
        if b.get("min") is None and b.get("max") is None:
            continue
        if b.get("min") is None:
            ranges.append(f"{b['label']} below {b['max'] + 1}")
        elif b.get("max") is None:
            ranges.append(f"{b['label']} {b['min']} and above")
        else:
            ranges.append(f"{b['label']} {b['min']} to {b['max']}")
    said = ["Step 2 CK score scale. Bands: " + "; ".join(ranges) + "."]
    if marker_label:
        said.append(f"{marker_label}, in the {facts['band']['label']} band.")
    else:
        said.append("No score yet.")
    return " ".join(said)


def _month_ticks(start: date, end: date) -> list[tuple[date, str]]:
    months = (end.year - start.year) * 12 + end.month - start.month
    step = 1 if months <= 10 else 2 if months <= 20 else 3
    ticks = []
    year, month = start.year, start.month
    first = True
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = date(year, month, 1)
        if day > end:
            break
        if (month - 1) % step == 0:
            label = MONTHS[month - 1]
            if first or month == 1:
                label += f" \u2019{year % 100:02d}"
            ticks.append((day, label))
            first = False
    return ticks


def _phase_name(phase: dict) -> str:
    title = str(phase.get("title") or phase.get("id") or "")
    return title.split(" and ")[0]


def _phase_text(phase: dict) -> str:
    title = phase.get("title") or phase.get("id")
    return f"Weeks {phase['weeks']}, {title}: {_long(phase['start'])} to {_long(phase['end'])}"


def _short(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]}"


def _long(day: date) -> str:
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def _fit(label: str, room: float, sizes: tuple[float, ...], *, shorten: bool = True) -> tuple[str, float]:
    """The label at the largest size that fits `room`, else shortened with an ellipsis, else ''."""
    for size in sizes:
        if len(label) * size * CHAR_WIDTH <= room:
            return label, size
    size = sizes[-1]
    chars = int(room / (size * CHAR_WIDTH)) - 1
    if shorten and chars >= 5:
        return label[:chars].rstrip() + "\u2026", size
    return "", size


class _Flag(NamedTuple):
    """A date's label hanging beside its line; `start`..`end` is the label's horizontal extent."""

    line_x: float
    anchor: str
    text_x: float
    text: str
    start: float
    end: float


def _flag(line_x: float, text: str, size: float, width: float) -> _Flag:
    """The label to the right of its line, or to the left near the end of the picture."""
    w = len(text) * size * CHAR_WIDTH
    if line_x + 5 + w <= width - 2:
        return _Flag(line_x, "start", line_x + 5, text, line_x, line_x + 5 + w)
    return _Flag(line_x, "end", line_x - 5, text, line_x - 5 - w, line_x)


def _rows(flags: list[_Flag]) -> list[int]:
    """Label rows for the flags: no two labels overlap, and no date's line runs through another's label."""
    return list(_rows_for(tuple((f.start, f.end, f.line_x) for f in flags)))


@functools.lru_cache(maxsize=4096)
def _rows_for(spans: tuple[tuple[float, float, float], ...]) -> tuple[int, ...]:
    """The row search for label spans (start, end, line x); many guides share the same dates.

    A line runs from the axis down to its own label, so a label must sit below every line
    inside its span. There are at most five dates, so the shallowest clean assignment is
    found by trying them all, fewest rows first; if none is clean, the fewest clashes win.
    """
    n = len(spans)
    # Only the pairs that can clash are looked at: labels that overlap, and a line crossing a label.
    overlap = [(i, j) for i, f in enumerate(spans) for j, g in enumerate(spans)
               if i != j and f[0] < g[1] + 8 and g[0] < f[1] + 8]
    crossed = [(i, j) for i, f in enumerate(spans) for j, g in enumerate(spans)
               if i != j and f[0] - 3 <= g[2] <= f[1] + 3]

    def clashes(rows: tuple[int, ...]) -> int:
        count = 0
        for i, j in overlap:
            count += rows[i] == rows[j]
        for i, j in crossed:
            count += rows[j] > rows[i]
        return count

    for depth in range(1, n + 1):
        clean = [rows for rows in itertools.product(range(depth), repeat=n) if not clashes(rows)]
        if clean:
            return min(clean, key=lambda rows: (sum(rows), rows))
    everything = itertools.product(range(n), repeat=n)
    return min(everything, key=lambda rows: (clashes(rows), max(rows), sum(rows), rows))


def _place(cx: float, text: str, size: float, width: float) -> tuple[str, float, float, float]:
    """Anchor, x and horizontal extent of a label centred on cx, kept inside the picture."""
    w = len(text) * size * CHAR_WIDTH
    if cx - w / 2 < 2:
        a = max(cx - 2, 2)
        return "start", a, a, a + w
    if cx + w / 2 > width - 2:
        b = min(cx + 2, width - 2)
        return "end", b, b - w, b
    return "middle", cx, cx - w / 2, cx + w / 2


def _text_clamped(cx: float, y: float, text: str, *, size: float, width: float, **kw: Any) -> str:
    anchor, tx, _, _ = _place(cx, text, size, width)
    return _text(tx, y, text, size=size, anchor=anchor, **kw)


def _text(x: float, y: float, text: str, *, size: float = 12, fill: str, anchor: str = "middle",
          weight: str | None = None) -> str:
    bold = f' font-weight="{weight}"' if weight else ""
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:g}" fill="{fill}" '
            f'text-anchor="{anchor}"{bold}>{escape(text)}</text>')


def _rect(x: float, y: float, w: float, h: float, fill: str, *, stroke: str | None = None) -> str:
    edge = f' stroke="{stroke}" stroke-width="1"' if stroke else ""
    return f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" fill="{fill}"{edge}/>'


def _line(x1: float, y1: float, x2: float, y2: float, colour: str, *, width: float = 1,
          dash: str | None = None) -> str:
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    return (f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}" stroke-width="{width:g}"{dashed}/>')


def _svg(name: str, width: float, height: float, summary: str, parts: list[str]) -> Markup:
    label = escape(summary)
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {name}" role="img" '
            f'aria-labelledby="{name}-title" viewBox="0 0 {width:g} {height:g}" '
            f'width="{width:g}" height="{height:g}" preserveAspectRatio="xMidYMid meet" '
            f'font-family="{FONT}">')
    return Markup(head + f'<title id="{name}-title">{label}</title>' + "".join(parts) + "</svg>")
