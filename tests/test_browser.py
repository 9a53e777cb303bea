"""The built sample site in real headless Chromium: loads cleanly, links resolve, fits a phone, passes axe, prints."""

from __future__ import annotations

import threading
from functools import partial
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

import pytest

from generator.write import manifest
from generator.build import BuildOptions, build
from tests.conftest import AS_OF, ROOT

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PDF_GUIDE = "aisha-rahman"
PHONE = {"width": 375, "height": 812}
# axe's color-contrast rule is ~90% of its time; it runs on every page that shows markup no other page has shown
WITHOUT_CONTRAST = {"rules": {"color-contrast": {"enabled": False}}, "resultTypes": ["violations"]}

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (Debian package `chromium`)"),
]


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class Site:
    """A built output folder whose `site/` is served on a loopback port, as a static host would."""

    def __init__(self, out: Path):
        self.out = out
        self.root = out / "site"
        self.doc = manifest.read(out)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(self.root)))
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def covering(self) -> set[str]:
        """Applicant ids whose guides between them show every layout, band, section, example and FAQ."""
        parts = {e["id"]: {f"layout:{e['layout']}", f"band:{e['band']}", *e["sections"], *e["examples"],
                           *(f"faq:{f}" for f in e["faq"])} for e in self.doc["profiles"]}
        chosen: set[str] = set()
        left = set().union(*parts.values())
        while left:
            best = max(sorted(parts), key=lambda i: len(parts[i] & left))
            chosen.add(best)
            left -= parts[best]
        return chosen

    def guides(self) -> list[tuple[str, str]]:
        """(applicant id, URL) of every guide."""
        return [(e["id"], self.base + e["html"].removeprefix("site/")) for e in self.doc["profiles"]]

    def pages(self) -> list[tuple[str, str]]:
        """(name, URL) of the landing page, the 404 page and every guide."""
        return [("landing", self.base), ("404", self.base + "404.html"), *self.guides()]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> Iterator[tuple[Site, Site]]:
    """The whole sample cohort without PDFs, and one guide with its PDF; both served."""
    root = tmp_path_factory.mktemp("browser")
    common = dict(profiles=ROOT / "profiles", content=ROOT / "content", theme=ROOT / "themes" / "default",
                  state=root / "state", as_of=AS_OF)
    html_only = build(BuildOptions(out=root / "html" / "output", pdf=False, **common))
    with_pdf = build(BuildOptions(out=root / "pdf" / "output", pdf=True, jobs=1, only=[PDF_GUIDE], **common))
    assert html_only.ok and with_pdf.ok, html_only.problems + with_pdf.problems
    served = Site(root / "html" / "output"), Site(root / "pdf" / "output")
    yield served
    for site in served:
        site.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def visits(sites: tuple[Site, Site], browser) -> dict[str, dict]:
    """Every page opened once at phone width: what went wrong while loading, the overflow, axe's findings."""
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    context = browser.new_context(viewport=PHONE, bypass_csp=True)
    page = context.new_page()
    found: dict[str, dict] = {}
    current: dict = {}
    page.on("console", lambda m: m.type == "error" and current["errors"].append(f"console: {m.text}"))
    page.on("pageerror", lambda e: current["errors"].append(f"page error: {e}"))
    page.on("requestfailed", lambda r: current["errors"].append(f"failed: {r.url} ({r.failure})"))
    page.on("response", lambda r: r.status >= 400 and current["errors"].append(f"HTTP {r.status}: {r.url}"))
    html_site, pdf_site = sites
    full_audit = {"landing", "404", *html_site.covering()}
    for name, url in [*html_site.pages(), *((f"{n} (with PDF)", u) for n, u in pdf_site.guides())]:
        current = found[name] = {"url": url, "errors": []}
        page.goto(url, wait_until="load")
        current["overflow"] = page.evaluate("""() => {
            const width = document.documentElement.clientWidth;
            if (document.documentElement.scrollWidth <= width) return null;
            const wide = [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > width + 0.5);
            return {scrollWidth: document.documentElement.scrollWidth, width,
                    elements: wide.slice(0, 5).map(e => e.outerHTML.slice(0, 120))};
        }""")
        results = axe.run(page) if name in full_audit else axe.run(page, options=WITHOUT_CONTRAST)
        current["axe"] = [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
                          for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
    context.close()
    return found


def test_every_page_loads_without_console_errors_or_failed_requests(visits):
    assert len(visits) >= 3 + 2
    assert {name: v["errors"] for name, v in visits.items() if v["errors"]} == {}


def test_no_horizontal_scroll_at_phone_width(visits):
    assert {name: v["overflow"] for name, v in visits.items() if v["overflow"]} == {}


def test_axe_finds_no_serious_or_critical_violations(visits):
    assert {name: v["axe"] for name, v in visits.items() if v["axe"]} == {}


class _Links(HTMLParser):
    """Every href/src of a page and every id (and a/@name) it defines."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for key, value in attrs:
            if value is None:
                continue
            if key in ("href", "src", "xlink:href", "poster", "data"):
                self.links.append(value)
            elif key == "srcset":
                self.links += [part.split()[0] for part in value.split(",") if part.strip()]
            elif key == "id" or (key == "name" and tag == "a"):
                self.ids.add(value)


def _parse(path: Path) -> _Links:
    parser = _Links()
    parser.feed(path.read_text("utf-8"))
    return parser


def test_every_internal_link_and_asset_resolves(sites: tuple[Site, Site]):
    checked = 0
    broken: list[str] = []
    for site in sites:
        pages = {p: _parse(p) for p in site.root.rglob("*.html")}
        for page, parsed in pages.items():
            for link in parsed.links:
                parts = urlsplit(link)
                if parts.scheme in ("http", "https", "mailto", "data") or link.startswith("//"):
                    continue
                assert not parts.scheme, f"{page}: unexpected link {link}"
                target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
                if target.is_dir():
                    target = target / "index.html"
                checked += 1
                if not target.is_relative_to(site.root.resolve()) or not target.is_file():
                    broken.append(f"{page.relative_to(site.root)}: {link} (no such file)")
                elif parts.fragment and target.suffix == ".html":
                    ids = (pages.get(target) or _parse(target)).ids
                    if unquote(parts.fragment) not in ids and parts.fragment != "top":
                        broken.append(f"{page.relative_to(site.root)}: {link} (no id {parts.fragment!r})")
    assert checked > 100 and broken == []


def test_the_pdf_link_downloads_the_pdf(sites: tuple[Site, Site], browser):
    _, pdf_site = sites
    (_, url), = pdf_site.guides()
    context = browser.new_context()
    page = context.new_page()
    page.goto(url)
    links = page.locator("a[href$='.pdf']")
    assert links.count() >= 1
    for i in range(links.count()):
        response = page.request.get(links.nth(i).evaluate("a => a.href"))
        assert response.status == 200 and response.headers["content-type"] == "application/pdf"
        assert response.body().startswith(b"%PDF-")
    context.close()


def test_print_hides_screen_only_parts_and_shows_the_cover_note(sites: tuple[Site, Site], browser):
    html_site, pdf_site = sites
    context = browser.new_context()
    page = context.new_page()
    for _, url in [html_site.guides()[0], *pdf_site.guides()]:
        page.goto(url)
        screen_only, print_only = page.locator(".screen-only"), page.locator(".cover .print-only")
        assert screen_only.count() >= 1 and print_only.count() == 1
        assert page.locator(".actions, .footer-links").first.is_visible() and not print_only.is_visible()
        page.emulate_media(media="print")
        hidden = [screen_only.nth(i).is_visible() for i in range(screen_only.count())]
        assert not any(hidden), [screen_only.nth(i).evaluate("e => e.outerHTML.slice(0, 80)")
                                 for i, shown in enumerate(hidden) if shown]
        assert print_only.is_visible()
        page.emulate_media(media="screen")
    context.close()


def test_serve_reloads_the_open_page_and_shows_a_build_error(tmp_path: Path, browser, monkeypatch):
    from generator.authoring.serve import serve
    from tests.test_serve import KEY, Recorder, guide_url, project_copy

    monkeypatch.setenv("MATCHGUIDE_SITE_KEY", KEY)
    options = project_copy(tmp_path)
    recorder, stop = Recorder(), threading.Event()
    thread = threading.Thread(target=serve, args=(options,), daemon=True,
                              kwargs=dict(host="127.0.0.1", port=0, reporter=recorder, stop_event=stop, poll=0.1))
    thread.start()
    context = browser.new_context()
    try:
        url, _ = guide_url(recorder.wait_for("serving")[0]["url"], options, "aisha-rahman")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(url)
        profile = options.profiles / "aisha-rahman.yaml"
        profile.write_text(profile.read_text().replace("name: Aisha Rahman", "name: Aisha Rahman-Reloaded"))
        page.wait_for_function("document.querySelector('.cover-name').textContent.includes('Reloaded')", timeout=15000)
        bad = options.content / "sections" / "99-broken.md"
        bad.write_text("---\nid: broken\ntitle: Broken\norder: 99\nwhen: \"no_such_fact\"\n---\nText.\n")
        banner = page.locator(".matchguide-serve-error")
        banner.wait_for(timeout=15000)
        assert "99-broken.md" in banner.text_content() and page.get_attribute(".matchguide-serve-error", "role") == "alert"
        page.evaluate("window.beforeTheFix = true")
        bad.unlink()
        page.wait_for_function("!window.beforeTheFix && !document.querySelector('.matchguide-serve-error')",
                               timeout=15000)  # a new page, without the banner
        assert "Reloaded" in page.locator(".cover-name").text_content() and errors == []
    finally:
        context.close()
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
