"""The roster's one chart: applicants per score band, each bar split by where their guide's delivery stands (pure).

A table gives the counts; the bars show at a glance which bands still wait for
a guide, or need one re-sent. Inline SVG with presentation attributes only.
"""

from __future__ import annotations

from markupsafe import Markup, escape

FONT = "DejaVu Sans, Liberation Sans, Arial, Helvetica, sans-serif"
INK = "#1d2433"
# Every state's colour keeps 4.5:1 against white text and is told apart by the legend's words, not only hue.
STATES = (
    ("sent", "sent", "#23672a"),
    ("changed", "changed since sent", "#8a5300"),
    ("not sent", "not sent yet", "#4f5869"),
    ("not ready", "not ready", "#6b3fa0"),
    ("failed", "failed", "#a1251b"),
    ("unknown", "unknown", "#1b56a0"),
)
LABEL_W, BAR_W, ROW_H, BAR_H = 150.0, 420.0, 28.0, 18.0


def delivery_by_band(bands: list[dict], rows: list[dict]) -> Markup:
    """A stacked bar per band (rows: dicts with `band` and `delivery.state`); empty markup for no applicants."""
    if not rows:
        return Markup("")
    counts = {b["id"]: {s: 0 for s, _, _ in STATES} for b in bands}
    for row in rows:
        counts.setdefault(row["band"], {s: 0 for s, _, _ in STATES})[row["delivery"]["state"]] += 1
    widest = max(sum(c.values()) for c in counts.values()) or 1
    unit = BAR_W / widest
    parts: list[str] = []
    y = 8.0
    for band in bands:
        per = counts[band["id"]]
        total = sum(per.values())
        parts.append(_text(LABEL_W - 8, y + BAR_H - 4, band["label"], anchor="end"))
        x = LABEL_W
        for state, label, colour in STATES:
            if per[state]:
                width = per[state] * unit
                parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{BAR_H:.1f}" fill="{colour}">'
                             f'<title>{escape(band["label"])}: {per[state]} {escape(label)}</title></rect>')
                if width >= 16:
                    parts.append(_text(x + width / 2, y + BAR_H - 5, str(per[state]), anchor="middle", fill="#ffffff"))
                x += width
        parts.append(_text(x + 6, y + BAR_H - 4, str(total)))
        y += ROW_H
    legend_y = y + 10
    x = 8.0
    for _state, label, colour in STATES:
        parts.append(f'<rect x="{x:.1f}" y="{legend_y:.1f}" width="12" height="12" fill="{colour}"/>')
        parts.append(_text(x + 16, legend_y + 10, label, size=11))
        x += 22 + 6.4 * len(label)
    height = legend_y + 22
    width = max(LABEL_W + BAR_W + 40, x)
    summary = "; ".join(f"{b['label']}: " + (", ".join(f"{counts[b['id']][s]} {label}" for s, label, _ in STATES
                                                      if counts[b["id"]][s]) or "none") for b in bands)
    return Markup(
        f'<svg class="chart" role="img" aria-labelledby="delivery-chart-title" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" xmlns="http://www.w3.org/2000/svg" font-family="{FONT}">'
        f'<title id="delivery-chart-title">Applicants per band and delivery: {escape(summary)}</title>'
        + "".join(parts) + "</svg>")


def _text(x: float, y: float, text: str, *, anchor: str = "start", size: float = 12, fill: str = INK) -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{fill}" text-anchor="{anchor}">'
            f"{escape(text)}</text>")
