"""The roster in real headless Chromium: filtering and sorting work, it fits a phone, axe finds nothing serious."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterator

import pytest

from generator.build import BuildOptions, build
from tests.conftest import AS_OF, ROOT
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, PHONE, browser  # noqa: F401  (the browser fixture)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (Debian package `chromium`)"),
]
SENT, WITH_PDF = "aisha-rahman", ["aisha-rahman", "karim-haddad"]


@pytest.fixture(scope="module")
def roster(tmp_path_factory) -> Iterator[tuple[Path, dict]]:
    """The sample cohort's roster: two guides with PDFs, one of them sent according to the ledger."""
    root = tmp_path_factory.mktemp("roster-browser")
    mp = pytest.MonkeyPatch()
    mp.setenv("MATCHGUIDE_ALLOW_EXAMPLE_ADDRESSES", "1")  # the sample cohort's example.org addresses
    common = dict(profiles=ROOT / "profiles", content=ROOT / "content", theme=ROOT / "themes" / "default",
                  out=root / "output", state=root / "state", as_of=AS_OF)
    assert build(BuildOptions(pdf=False, **common)).ok
    assert build(BuildOptions(pdf=True, jobs=1, only=WITH_PDF, **common)).ok
    doc = json.loads((root / "output" / "manifest.json").read_text())
    pdf = next(e["pdf"] for e in doc["profiles"] if e["id"] == SENT)
    sha = hashlib.sha256((root / "output" / pdf).read_bytes()).hexdigest()
    (root / ".matchguide").mkdir()
    (root / ".matchguide" / "ledger.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (
        {"id": SENT, "pdf_sha256": sha, "message_id": "<a@example.org>", "state": "sending", "at": "2026-11-24T09:00:00+00:00"},
        {"id": SENT, "pdf_sha256": sha, "message_id": "<a@example.org>", "state": "sent", "at": "2026-11-24T09:00:01+00:00"})))
    assert build(BuildOptions(pdf=True, jobs=1, only=WITH_PDF, **common)).ok  # the roster reads the ledger
    mp.undo()
    yield root / "output" / "roster.html", {e["id"]: e for e in doc["profiles"]}


def visible(page) -> list[dict]:
    """The rows shown, in order, with their data attributes."""
    return page.evaluate("""() => [...document.querySelectorAll('#roster tbody tr')].filter(r => !r.hidden)
        .map(r => ({id: r.id.slice(2), ...r.dataset}))""")


def test_filter_and_sort_the_roster(roster, browser):  # noqa: F811
    path, entries = roster
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    rows = visible(page)
    assert len(rows) == len(entries) and page.text_content("#shown") == f"{len(entries)} of {len(entries)} shown"
    assert {r["id"]: r["status"] for r in rows if r["id"] in WITH_PDF} == {SENT: "sent", "karim-haddad": "not sent"}

    page.select_option('[data-filter="band"]', "strong")
    shown = visible(page)
    assert {r["id"] for r in shown} == {i for i, e in entries.items() if e["band"] == "strong"}
    assert page.text_content("#shown") == f"{len(shown)} of {len(entries)} shown"
    page.select_option('[data-filter="flag"]', "no_usce")
    assert {r["id"] for r in visible(page)} == {i for i, e in entries.items()
                                                 if e["band"] == "strong" and "no_usce" in e["flags"]}
    page.select_option('[data-filter="band"]', "")
    page.select_option('[data-filter="flag"]', "")
    page.select_option('[data-filter="status"]', "sent")
    assert [r["id"] for r in visible(page)] == [SENT]
    page.select_option('[data-filter="status"]', "")
    page.select_option('[data-filter="next"]', "56")
    soon = visible(page)
    assert soon and len(soon) < len(entries) and all(r["days"] != "" and int(r["days"]) < 56 for r in soon)
    page.select_option('[data-filter="next"]', "")

    page.click('th button[data-sort="next"]')
    dates = [r["next"] or "9999" for r in visible(page)]
    assert dates == sorted(dates) and page.get_attribute('th:has(button[data-sort="next"])', "aria-sort") == "ascending"
    page.click('th button[data-sort="next"]')
    dates = [r["next"] or "9999" for r in visible(page)]
    assert dates == sorted(dates, reverse=True)
    page.click('th button[data-sort="band"]')
    ranks = [int(r["bandRank"]) for r in visible(page)]
    assert ranks == sorted(ranks) and len(set(ranks)) > 2
    page.select_option("[data-sort-by]", "status")
    order = [int(r["statusRank"]) for r in visible(page)]
    assert order == sorted(order)
    page.select_option("[data-sort-by]", "name")
    names = [r["name"] for r in visible(page)]
    assert names == sorted(names, key=str.lower)
    assert errors == []
    page.close()


def test_the_roster_fits_a_phone_and_passes_axe(roster, browser):  # noqa: F811
    from axe_playwright_python.sync_playwright import Axe

    path, _ = roster
    page = browser.new_page(viewport=PHONE)
    page.goto(path.as_uri())
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    results = Axe().run(page)
    serious = [f"{v['id']}: {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
               for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    assert serious == []
    page.close()
