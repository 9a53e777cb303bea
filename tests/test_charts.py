"""The inline SVG charts: marker placement, pending and projected scores, timeline contents."""

from __future__ import annotations

import re
import shutil
import xml.etree.ElementTree as ET
from datetime import date, timedelta

import pytest
from markupsafe import Markup

from generator.errors import InputError
from generator.load.chart_style import CHART_COLOURS, ChartStyle
from generator.load.content import load_theme
from generator.render import charts
from tests.conftest import ROOT

SVG = "{http://www.w3.org/2000/svg}"
# The test's own theme colours: each name a distinct value, so a test can tell which one was used.
STYLE = ChartStyle((200, 270), tuple((name, f"#0000{i:02x}") for i, name in enumerate(CHART_COLOURS)))
BANDS = [
    {"id": "top", "label": "Top", "min": 250, "max": None},
    {"id": "strong", "label": "Strong", "min": 240, "max": 249},
    {"id": "solid", "label": "Solid", "min": 230, "max": 239},
    {"id": "low", "label": "Low", "min": 220, "max": 229},
    {"id": "very_low", "label": "Very low", "min": None, "max": 219},
    {"id": "pending", "label": "Not yet known", "min": None, "max": None},
]


def band_for(score: int | None) -> dict:
    if score is None:
        return BANDS[-1]
    return next(b for b in BANDS if b["min"] is None or score >= b["min"])


def make_facts(*, score: int | None = 238, kind: str = "official", result: str = "pass",
               as_of: date = date(2026, 11, 25), exam: date | None = date(2026, 8, 3),
               release: date | None = None, phases: list[dict] | None = None) -> dict:
    """The parts of the facts dict (docs/architecture.md) the charts read."""
    band = band_for(score) if result != "fail" else BANDS[4]
    return {
        "name": "Test Applicant",
        "basis": {"kind": kind, "score": score},
        "band": {**{k: band[k] for k in ("id", "label", "min", "max")}, "projected": kind == "practice"},
        "step2": {"result": result, "passing_standard": 218},
        "dates": {"as_of": as_of, "eras": date(2027, 9, 1), "match_day": date(2028, 3, 17),
                  "exam": exam, "score_release": release},
        "plan": {"phases": phases or []},
    }


def plan(exam: date) -> list[dict]:
    start = exam - timedelta(weeks=12)
    spans = [("foundation", "Foundation and question bank start", 0, 4), ("intensification", "Intensification", 4, 8),
             ("refinement", "Refinement and simulation", 8, 11), ("taper", "Taper and targeted review", 11, 12)]
    return [{"id": pid, "title": title, "weeks": f"{a + 1}–{b}", "start": start + timedelta(weeks=a),
             "end": start + timedelta(weeks=b, days=-1), "questions": "60 a day", "focus": "x"}
            for pid, title, a, b in spans]


def parse(svg: Markup) -> ET.Element:
    assert isinstance(svg, Markup)
    return ET.fromstring(str(svg))


def texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in root.iter(f"{SVG}text")]


def group(root: ET.Element, cls: str) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def tick_x(root: ET.Element, value: int) -> float:
    (ticks,) = group(root, "ticks")
    return next(float(t.get("x")) for t in ticks.iter(f"{SVG}text") if t.text == str(value))


@pytest.mark.parametrize("score", [201, 219, 220, 226, 238, 249, 250, 268])
def test_marker_lands_at_the_score(score):
    root = parse(charts.score_scale(make_facts(score=score), BANDS, STYLE))
    (marker,) = group(root, "marker")
    line = marker.find(f"{SVG}line")
    x = float(line.get("x1"))
    low = score // 10 * 10
    expected = tick_x(root, low) + (score - low) / 10 * (tick_x(root, low + 10) - tick_x(root, low))
    assert x == pytest.approx(expected, abs=0.2)
    (current,) = group(root, "current")
    assert current.get("data-band") == band_for(score)["id"]
    rect = current.find(f"{SVG}rect")
    assert float(rect.get("x")) <= x <= float(rect.get("x")) + float(rect.get("width"))
    assert f"You: {score}" in texts(root)


def test_score_outside_the_usual_range_widens_the_scale():
    root = parse(charts.score_scale(make_facts(score=182, result="fail"), BANDS, STYLE))
    assert "180" in texts(root)
    x = float(group(root, "marker")[0].find(f"{SVG}line").get("x1"))
    assert x == pytest.approx(tick_x(root, 180) + 0.2 * (tick_x(root, 190) - tick_x(root, 180)), abs=0.2)
    assert "Failed: 182" in texts(root)


def test_pending_has_no_marker_and_says_so():
    root = parse(charts.score_scale(make_facts(score=None, kind="none", result="pending", exam=None), BANDS, STYLE))
    assert group(root, "marker") == []
    assert group(root, "current") == []
    assert "No score yet" in texts(root)
    assert not any(t.startswith(("You:", "Projected:")) for t in texts(root))


def test_projected_score_is_labelled_projected():
    root = parse(charts.score_scale(make_facts(score=226, kind="practice", result="pending"), BANDS, STYLE))
    assert "Projected: 226" in texts(root)
    assert "You: 226" not in texts(root)
    assert group(root, "marker")[0].find(f"{SVG}line").get("stroke-dasharray")


def test_failed_step2_marks_its_score_or_says_it_is_unknown():
    root = parse(charts.score_scale(make_facts(score=209, result="fail"), BANDS, STYLE))
    assert "Failed: 209" in texts(root)
    assert group(root, "current")[0].get("data-band") == "very_low"
    root = parse(charts.score_scale(make_facts(score=None, result="fail"), BANDS, STYLE))
    assert group(root, "marker") == []
    assert "Failed attempt: score not given" in texts(root)


def test_every_band_and_the_passing_standard_appear():
    root = parse(charts.score_scale(make_facts(score=238), BANDS, STYLE))
    assert [g.get("data-band") for g in group(root, "band")] == ["top", "strong", "solid", "low", "very_low"]
    assert "Pass: 218" in texts(root)
    title = root.find(f"{SVG}title").text
    assert "Low 220 to 229" in title and "You: 238, in the Solid band" in title
    assert root.get("role") == "img" and root.get("aria-labelledby") == "chart-score-title"


def test_text_is_escaped():
    bands = [dict(b) for b in BANDS]
    bands[2]["label"] = "<script>alert(1)</script> & co"
    facts = make_facts(score=235)
    facts["band"]["label"] = bands[2]["label"]
    svg = str(charts.score_scale(facts, bands, STYLE))
    assert "<script>" not in svg
    assert "&lt;script&gt;" in svg
    parse(Markup(svg))


def timeline_facts() -> dict:
    exam = date(2027, 5, 20)
    return make_facts(score=226, kind="practice", result="pending", exam=exam,
                      release=exam + timedelta(days=28), phases=plan(exam))


def test_timeline_shows_every_phase_and_date():
    facts = timeline_facts()
    root = parse(charts.timeline(facts, STYLE))
    assert [g.get("data-phase") for g in group(root, "phase")] == ["foundation", "intensification", "refinement", "taper"]
    for g, phase in zip(group(root, "phase"), facts["plan"]["phases"]):
        assert phase["title"] in g.find(f"{SVG}title").text
    events = {g.get("data-event"): g.find(f"{SVG}text").text for g in group(root, "event")}
    assert events == {"as_of": "As of 25 Nov", "exam": "Exam 20 May", "score_release": "Score 17 Jun",
                      "eras": "Apply 1 Sep", "match_day": "Match Day 17 Mar"}
    xs = {g.get("data-event"): float(g.find(f"{SVG}line").get("x1")) for g in group(root, "event")}
    assert xs["as_of"] < xs["exam"] < xs["score_release"] < xs["eras"] < xs["match_day"]
    # The exam is the day after the last phase ends.
    taper = group(root, "phase")[-1].find(f"{SVG}rect")
    assert float(taper.get("x")) + float(taper.get("width")) == pytest.approx(xs["exam"], abs=0.3)


def label_span(text: ET.Element) -> tuple[float, float]:
    """The horizontal extent of a label, by the same generous width estimate the charts use."""
    w = len(text.text) * float(text.get("font-size")) * charts.CHAR_WIDTH
    x = float(text.get("x"))
    return {"start": (x, x + w), "end": (x - w, x), "middle": (x - w / 2, x + w / 2)}[text.get("text-anchor")]


@pytest.mark.parametrize("exam", [date(2027, 5, 20), date(2027, 8, 20), date(2027, 9, 14), date(2028, 2, 1)])
def test_date_labels_neither_overlap_nor_get_crossed_by_lines(exam):
    facts = make_facts(score=None, kind="none", result="pending", exam=exam, release=exam + timedelta(days=28),
                       phases=plan(exam))
    root = parse(charts.timeline(facts, STYLE))
    width = float(root.get("viewBox").split()[2])
    events = []
    for g in group(root, "event"):
        line, text = g.find(f"{SVG}line"), g.find(f"{SVG}text")
        events.append((float(line.get("x1")), float(line.get("y2")), float(text.get("y")), label_span(text)))
    assert len(events) == (5 if exam < date(2028, 3, 17) - timedelta(days=28) else 4)
    for i, (_, _, y, (a, b)) in enumerate(events):
        assert 0 <= a and b <= width
        for j, (xj, bottom, yj, (aj, bj)) in enumerate(events):
            if i == j:
                continue
            if y == yj:
                assert b <= aj or bj <= a, "two labels in one row overlap"
            if a <= xj <= b:
                assert bottom < y - 10, "a date's line runs through another date's label"


def test_timeline_omits_past_dates_and_clips_phases():
    facts = timeline_facts()
    facts["dates"]["as_of"] = date(2027, 3, 1)   # mid-plan: the first phase began earlier
    facts["dates"]["eras"] = date(2027, 9, 1)
    root = parse(charts.timeline(facts, STYLE))
    first = group(root, "phase")[0].find(f"{SVG}rect")
    as_of_x = float(next(g for g in group(root, "event") if g.get("data-event") == "as_of").find(f"{SVG}line").get("x1"))
    assert float(first.get("x")) == pytest.approx(as_of_x, abs=0.2)

    past = make_facts(score=238, exam=date(2026, 8, 3))   # exam already taken
    root = parse(charts.timeline(past, STYLE))
    assert "exam" not in {g.get("data-event") for g in group(root, "event")}
    assert "Step 2 CK exam: 3 Aug 2026 (outside this timeline)" in root.find(f"{SVG}title").text
    assert group(root, "phase") == []


def test_timeline_survives_a_build_date_after_match_day():
    facts = make_facts(as_of=date(2028, 4, 1), exam=None)
    root = parse(charts.timeline(facts, STYLE))
    assert {g.get("data-event") for g in group(root, "event")} == {"as_of"}


def test_charts_are_deterministic_and_use_plain_svg():
    facts = timeline_facts()
    assert charts.timeline(facts, STYLE) == charts.timeline(timeline_facts(), STYLE)
    assert charts.score_scale(facts, BANDS, STYLE) == charts.score_scale(timeline_facts(), BANDS, STYLE)
    allowed = {"svg", "title", "g", "rect", "line", "polygon", "text"}
    for svg in (charts.timeline(facts, STYLE), charts.score_scale(facts, BANDS, STYLE)):
        root = parse(svg)
        assert {el.tag.removeprefix(SVG) for el in root.iter()} <= allowed
        assert "var(" not in svg and "style=" not in svg


def test_the_colours_and_the_axis_are_the_themes():
    colour = STYLE.colour
    root = parse(charts.score_scale(make_facts(score=238), BANDS, STYLE))
    fills = {g.get("data-band"): g.find(f"{SVG}rect").get("fill") for g in group(root, "band")}
    assert fills == {"top": colour("chart-band"), "strong": colour("chart-band"), "solid": colour("accent"),
                     "low": colour("chart-band"), "very_low": colour("chart-band")}
    (passing,) = group(root, "passing")
    assert {line.get("stroke") for line in passing.iter(f"{SVG}line")} == {colour("alert")}
    ticks = [t.text for t in group(root, "ticks")[0].iter(f"{SVG}text")]
    assert ticks == [str(v) for v in range(200, 271, 10)]
    wide = ChartStyle((180, 300), STYLE.colours)
    ticks = [t.text for t in group(parse(charts.score_scale(make_facts(score=238), BANDS, wide)), "ticks")[0]
             .iter(f"{SVG}text")]
    assert ticks == [str(v) for v in range(180, 301, 10)]
    timeline = parse(charts.timeline(timeline_facts(), STYLE))
    phases = [g.find(f"{SVG}rect").get("fill") for g in group(timeline, "phase")]
    assert phases == [colour("accent"), colour("chart-phase-alt")] * 2
    events = {g.get("data-event"): g.find(f"{SVG}text").get("fill") for g in group(timeline, "event")}
    assert events["eras"] == colour("accent") and events["match_day"] == colour("chart-match")
    every = str(charts.score_scale(make_facts(score=238), BANDS, STYLE)) + str(charts.timeline(timeline_facts(), STYLE))
    assert set(re.findall(r'(?:fill|stroke)="(#[0-9a-f]+)"', every)) <= set(dict(STYLE.colours).values())


def test_the_default_theme_writes_each_chart_colour_once_in_its_stylesheet():
    theme = load_theme(ROOT / "themes" / "default")
    css = (ROOT / "themes" / "default" / "assets" / "style.css").read_text()
    for name, value in theme.charts.colours:
        assert css.count(f"--{name}: {value};") == 1, name
    assert theme.charts.score_axis == (200, 270)


def test_a_missing_colour_or_a_bad_axis_is_located(tmp_path):
    theme = tmp_path / "theme"
    shutil.copytree(ROOT / "themes" / "default", theme)
    css = theme / "assets" / "style.css"
    text = css.read_text()
    css.write_text(text.replace("  --chart-band: #e6ebf2;\n", ""))
    yaml_text = (theme / "theme.yaml").read_text()
    (theme / "theme.yaml").write_text(yaml_text.replace("score_axis: [200, 270]", "score_axis: [270, 200]"))
    with pytest.raises(InputError) as err:
        load_theme(theme, source_prefix="theme")
    root_line = text[:text.index(":root")].count("\n") + 1
    axis_line = yaml_text.splitlines().index("  score_axis: [200, 270]") + 1
    assert sorted(map(str, err.value.problems)) == [
        f"theme/assets/style.css:{root_line}: --chart-band: the charts need this colour (a #hex value) in the :root block",
        f"theme/theme.yaml:{axis_line}: charts.score_axis: expected [lowest, highest] scores, lowest first, "
        "such as [200, 270]"]
