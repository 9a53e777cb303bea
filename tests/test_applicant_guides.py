"""The sample cohort's guides, built by the real CLI, read as each applicant reads them (issue 11).

One build of the 16 sample profiles (HTML only) on 2026-12-03; every test reads the
visible text of one or more guides.
"""

from __future__ import annotations

import html
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.payloads import cli_env

AS_OF = "2026-12-03"
GLOSSARY = ("ERAS", "NRMP", "ECFMG", "OET", "USCE", "LoR", "MSPE", "SOAP", "NBME", "UWSA", "qbank", "J-1", "H-1B",
            "Categorical", "Preliminary", "Transitional year")
# Terms the prose must define where a reader first meets them: "TERM (…)" or "… (TERM)".
DEFINED_AT_FIRST_USE = ("NRMP", "ECFMG", "OET", "USCE", "MSPE", "SOAP", "NBME", "UWSA", "qbank", "LoRs", "J-1", "H-1B")


def visible(page: str) -> str:
    """The visible text of an HTML page, whitespace folded."""
    page = re.sub(r"<(script|style|svg)\b.*?</\1>", " ", page, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def prose(page: str) -> str:
    """The text of the section bodies only (no cover, contents, summary box or headings), in guide order."""
    page = page.split('<section id="glossary"')[0]  # the glossary defines every term; the prose before it must too
    bodies = re.findall(r'<div class="prose">(.*?)</div>\s*</section>', page, flags=re.S)
    text = " ".join(re.sub(r"<h[1-6][^>]*>.*?</h[1-6]>", " ", b, flags=re.S) for b in bodies)
    return visible(text)


def section(page: str, ident: str) -> str:
    """The visible text of one section, or '' when the guide does not have it."""
    found = re.search(rf'<section id="{ident}"(.*?)</section>', page, flags=re.S)
    return visible(found.group(1)) if found else ""


@pytest.fixture(scope="module")
def guides(tmp_path_factory) -> dict[str, str]:
    out = tmp_path_factory.mktemp("cohort") / "output"
    run = subprocess.run([sys.executable, "-m", "generator", "build", "--as-of", AS_OF, "--no-pdf", "--quiet",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, env=cli_env(), timeout=600)
    assert run.returncode == 0, run.stderr
    doc = json.loads((out / "manifest.json").read_text())
    return {e["id"]: (out / e["html"]).read_text() for e in doc["profiles"]}


def test_every_guide_names_the_season_as_the_aamc_does(guides):
    for pid, page in guides.items():
        text = visible(page)
        assert "ERAS 2028 season: you apply in September 2027; Match Day is expected on 17 March 2028" in text, pid
        assert "application cycle" not in text and "this cycle" not in text and "this year" not in text, pid
        assert "Tier T" not in text, pid


def test_every_guide_names_both_application_dates_and_the_rank_list_deadline(guides):
    for pid, page in guides.items():
        timeline = section(page, "timeline")
        assert "You can send your application to programs 1 September 2027 (expected)" in timeline, pid
        assert "Programs start reading applications 22 September 2027 (expected)" in timeline, pid
        assert "NRMP rank order list deadline 1 March 2028 (expected)" in timeline, pid
        assert not re.search(r"(?<!My)ERAS opens", visible(page)), pid


def test_every_guide_shows_signals_fees_and_a_glossary(guides):
    for pid, page in guides.items():
        signals, costs, words = section(page, "program-signals"), section(page, "costs"), section(page, "glossary")
        assert "3 gold and 12 silver program signals" in signals, pid
        assert "$11" in costs and "$30" in costs and "USMLE transcript fee" in costs and "NRMP" in costs, pid
        assert "Fee Assistance Program" in costs and "ECFMG's own fees" in costs, pid
        for term in GLOSSARY:
            assert re.search(rf"\b{re.escape(term)}\b", words), (pid, term)


def test_fees_follow_the_applicants_range(guides):
    assert "For your 140 to 180 programs , ERAS fees come to $3,630 to $4,830" in section(guides["ana-souza"], "costs")
    assert "For your 80 to 100 programs , ERAS fees come to $1,830 to $2,430" in section(guides["tomas-herrera"], "costs")
    assert "your fee is not set either" in section(guides["linh-nguyen"], "costs")


def test_terms_are_defined_at_first_use(guides):
    for pid, page in guides.items():
        text = prose(page)
        for term in DEFINED_AT_FIRST_USE:
            first = re.search(rf"\b{re.escape(term)}\b", text)
            if first is None:
                continue
            around = text[max(0, first.start() - 6):first.end() + 2]
            assert "(" in around, (pid, term, text[max(0, first.start() - 80):first.end() + 80])


def test_a_projected_very_low_applicant_gets_no_record_or_backup_talk(guides):
    page = guides["ana-souza"]  # projected 213 from a practice exam, exam 21 June 2027
    text = visible(page.split('id="worked-examples"')[0])  # the examples are other people's stories
    for said in ("your record", "exam record", "Backup options", "backup plan", "lower than most programs would like",
                 "How to present your record", "This applies to you. See the section on backup"):
        assert said not in text, said
    assert 'id="imperfect-record"' not in page and 'id="backup-options"' not in page
    targets = section(page, "score-targets")
    assert "What your practice score predicts" in targets and "no Step 2 CK score is on your USMLE transcript" in targets
    assert "take the exam by 25 August 2027" in targets
    assert "a real way in" not in section(page, "after-applying")


def test_delay_advice_is_one_instruction_with_the_right_dates(guides):
    # Ana: exam 21 June 2027 is on time; decide by 2 June 2027 (12 weeks before 25 August 2027).
    ana = visible(guides["ana-souza"])
    assert ("Decide by 2 June 2027. Keep 21 June 2027 if your practice scores reach your target by then. If they do "
            "not, move the exam, but to no later than 25 August 2027.") in ana
    # Fatima: exam 14 September 2027 is already after the last on-time date.
    fatima = visible(guides["fatima-benali"])
    assert "Decide by 2 June 2027." in fatima
    assert "Your exam on 14 September 2027 is already after 25 August 2027." in fatima
    for page in (ana, fatima):
        assert len(re.findall(r"Decide (?:by|this week)", page)) == 2  # the glance action and the section, same dates
        for old in ("Decide this week", "think about a later", "keep the later date", "Move the exam earlier only"):
            assert old not in page
        assert "a better score against a later application" in page
        assert "cost you the ERAS 2028 season" in page
        assert "leave some time for a second attempt" not in page
    assert "leaves no time for a second attempt" in fatima or "no time for a second attempt" in ana


def test_second_attempt_advice_only_when_the_dates_allow(guides):
    # Karim's exam (15 March 2027) leaves room for a failed attempt, a score, 12 weeks and a second score.
    assert "also leaves time for a second attempt" in section(guides["karim-haddad"], "step2-strategy")
    assert "also leaves time for a second attempt" not in section(guides["ana-souza"], "step2-strategy")


def test_the_h1b_chain_is_dated_and_says_when_it_cannot_finish(guides):
    karim = section(guides["karim-haddad"], "visa")  # H-1B, not certified yet, Step 2 CK pending
    assert "The H-1B visa: a chain of steps" in karim
    assert "Aim to be certified by 8 December 2027" in karim and "Take it by 2 February 2028" in karim
    assert "can finish in time only if each step keeps to its date" in karim
    tomas = section(guides["tomas-herrera"], "visa")  # H-1B, certified
    assert "the chain is open" in tomas and "cannot finish" not in tomas
    lucia = section(guides["lucia-fernandez"], "visa")  # either visa, Step 1 not taken, graduates 2028
    assert "This chain cannot finish in time for the ERAS 2028 season" in lucia and "You have not passed Step 1 yet" in lucia
    assert "two-year home-residence rule" in lucia and "Conrad 30" in lucia
    ana = section(guides["ana-souza"], "visa")  # J-1 only
    assert "two-year home-residence rule" in ana and "Waivers exist" in ana and "H-1B visa: a chain" not in ana
    assert section(guides["sofia-petrovic"], "visa") == ""  # no visa needed


def test_h1b_text_agrees_with_the_program_count(guides):
    karim = visible(guides["karim-haddad"])
    assert "A wide list matters even more" not in karim
    assert "Your H-1B need does not change this number" in karim


def test_the_ecfmg_deadline_is_dated_with_what_is_missing(guides):
    ana = section(guides["ana-souza"], "timeline")
    assert "The NRMP deadline for rank order lists is 1 March 2028 (expected)" in ana
    assert "You still need: a Step 2 CK pass, an OET pass." in ana
    assert "before interviews" not in visible(guides["ana-souza"])
    dmitri = section(guides["dmitri-volkov"], "timeline")  # Step 2 CK failed, retake pending
    assert "You still need: a Step 2 CK pass." in dmitri
    assert "ECFMG certified. This deadline is already met." in section(guides["tomas-herrera"], "timeline")


def test_step1_not_passed_explains_the_timeline(guides):
    lucia = section(guides["lucia-fernandez"], "timeline")
    assert "You have not passed Step 1 yet" in lucia and "ERAS 2029 season" in lucia
    assert "You have not passed Step 1 yet, and you apply in September 2027" in visible(guides["lucia-fernandez"])


def test_a_pass_under_the_old_standard_is_told_it_is_a_pass(guides):
    rania = section(guides["rania-khalil"], "low-step2")  # 216 on 15 May 2025, when the standard was 214
    assert "That is a pass: on your exam date, 15 May 2025, the passing score was 214." in rania
    assert "It became 218 for exams from 1 July 2025" in rania


def test_the_student_example_goes_to_students_only(guides):
    assert "Example: a student with no score yet" in visible(guides["lucia-fernandez"])
    for pid in ("linh-nguyen", "fatima-benali"):
        text = visible(guides[pid])
        assert "Example: a student with no score yet" not in text
        assert "Example: a graduate with no Step 2 CK score yet" in text


def test_examples_fit_the_record(guides):
    # A clean solid applicant sees the clean solid example; the Step 1 failure one is not the only one.
    aisha = visible(guides["aisha-rahman"])
    assert "Example: a solid Step 2 CK and a clean record" in aisha
    assert "Example: a low practice score, with the exam still ahead" in visible(guides["ana-souza"])


def test_the_two_score_tables_do_not_read_as_a_contradiction(guides):
    count = section(guides["aisha-rahman"], "program-count")
    assert "← your score" not in count and "your starting row" in count
    assert "They are not the score bands from earlier in this guide" in count


def test_before_and_after_applying_for_everyone(guides):
    for pid, page in guides.items():
        before, after = section(page, "before-applying"), section(page, "after-applying")
        for said in ("personal statement", "Letters of recommendation (LoRs)", "MSPE", "CV", "geographic"):
            assert said.lower() in before.lower(), (pid, said)
        for said in ("Interview invitations", "Virtual interviews", "rank order list", "Match Week", "SOAP"):
            assert said.lower() in after.lower(), (pid, said)
        assert "FREIDA" in section(page, "program-mix"), pid
