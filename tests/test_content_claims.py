"""Numbers that live in the data file never appear typed into the content, and every claim has a source.

An advisor who edits `content/data/strategy.yaml` (a new season's fees, a new
passing score, other program counts) must not leave a stale number in the prose:
content bodies print those numbers from the facts.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from generator.load.strategy import load_strategy
from tests.conftest import ROOT

CONTENT = ROOT / "content"
BODY_FILES = sorted(p for kind in ("sections", "examples", "faq") for p in (CONTENT / kind).glob("*.md"))
_FRONT = re.compile(r"\A---\n.*?\n---\n", re.S)
_JINJA = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.S)


def body_text(path: Path) -> str:
    """A content file's body with its front matter and every Jinja tag and expression removed."""
    return _JINJA.sub(" ", _FRONT.sub("", path.read_text("utf-8")))


def date_spellings(day: date) -> list[str]:
    """How a date could be typed into prose."""
    return [day.isoformat(), f"{day.day} {day:%B %Y}", f"{day.day} {day:%b %Y}", f"{day:%B} {day.day}, {day.year}",
            f"{day.day} {day:%B}", f"{day:%B} {day.day}"]


@pytest.fixture(scope="module")
def held():
    """The scores, program counts, fees, signal counts and dates the data file holds."""
    strategy = load_strategy(CONTENT / "data" / "strategy.yaml")
    scores = {score for _, score in strategy.passing_standard}
    scores |= {b.min for b in strategy.bands if b.min is not None} | {t.min for t in strategy.tiers if t.min is not None}
    scores |= {strategy.delay_practice_below} | ({strategy.recovery_target} if strategy.recovery_target else set())
    scores |= {b.max + 1 for b in strategy.bands if b.max is not None}
    counts = {n for t in strategy.tiers for n in t.programs}
    fees = {row.fee for s in strategy.seasons for row in s.eras_fees}
    signals = {(gold, silver) for _, gold, silver in strategy.program_list.signals}
    dates = {start for start, _ in strategy.passing_standard}
    dates |= {getattr(s, name) for s in strategy.seasons for name in
              ("opens", "submit_from", "programs_read_from", "rank_list_deadline", "match_day")}
    return {"scores": scores, "counts": counts, "fees": fees, "signals": signals, "dates": dates,
            "qbank": strategy.delay_qbank_below, "gap": strategy.long_gap_years}


@pytest.mark.parametrize("path", BODY_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_number_from_the_data_file_is_typed_into_a_body(path: Path, held):
    text = body_text(path)
    found = []
    for number in re.findall(r"(?<![\d.,$])(\d{2,3})(?![\d,])", text):
        value = int(number)
        if value in held["scores"]:
            found.append(f"score {value}")
        if value in held["counts"]:
            found.append(f"program count {value}")
    found += [f"fee {m}" for m in re.findall(r"\$\s?\d[\d,]*", text)]
    for gold, silver in held["signals"]:
        if re.search(rf"\b{gold}\s+gold\b", text) or re.search(rf"\b{silver}\s+silver\b", text):
            found.append(f"signals {gold}/{silver}")
    if re.search(rf"\b{int(held['qbank'])}\s*%", text):
        found.append(f"question-bank threshold {held['qbank']}%")
    if re.search(rf"\bthan {held['gap']} years\b", text):
        found.append(f"gap threshold {held['gap']} years")
    for day in held["dates"]:
        found += [f"date {s!r}" for s in date_spellings(day) if s in text]
    assert not found, f"{path.parent.name}/{path.name} types in numbers the data file holds: {found}; print them from the facts"


def test_the_check_finds_a_typed_in_number(tmp_path: Path, held):
    """The test above is not vacuous: a body with a typed fee, count, score and date fails it."""
    bad = tmp_path / "bad.md"
    bad.write_text("---\nid: x\n---\nApply to 140 programs; $11 each; aim for 245; it opens 3 September 2025. "
                   "{{ programs.min }} is fine.\n")
    text = body_text(bad)
    assert "140" in text and "$11" in text and "245" in text and "3 September 2025" in text
    assert "programs.min" not in text
    with pytest.raises(AssertionError):
        test_no_number_from_the_data_file_is_typed_into_a_body(bad, held)


def test_every_season_names_its_sources():
    raw = (CONTENT / "data" / "strategy.yaml").read_text("utf-8")
    seasons = raw.split("\nseasons:\n", 1)[1].split("\n\n", 1)[0]
    for block in re.split(r"\n  - season: ", seasons)[1:]:
        comments = " ".join(re.findall(r"#\s*(.*)", block))
        for source in ("AAMC", "NRMP", "Fees for"):
            assert source in comments, f"season {block.split()[0]} names no {source} source"
    assert "AAIM" in raw.rsplit("\n  signals:", 1)[0][-400:], "program signals name their AAIM source"


def test_the_claims_register_covers_the_content():
    register = (ROOT / "docs" / "claims.md").read_text("utf-8")
    for needed in ("ERAS 2028 season", "submit from 3 September 2025", "3 gold and 12 silver", "$11 per program",
                   "rank order list deadline", "two-year home-residence", "Step 3 needs", "Fee Assistance", "SOAP",
                   "218 for exams from 1 July 2025"):
        assert needed in register, needed
    # Every content file that the register names exists, and every new section is named.
    for path in sorted((CONTENT / "sections").glob("*.md")):
        number = path.name.split("-")[0]
        if number in {"80", "84", "92", "93", "94", "96", "98"}:
            assert f"sections/{number}" in register, path.name
