"""Every published page carries a Content-Security-Policy that allows only what the page needs (issue 13, item 11).

The first tests read the files the real CLI writes; the browser tests open them in headless Chromium with the
policy enforced and listen for violations (a page the policy breaks shows them in the console).
"""

from __future__ import annotations

import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from generator.authoring.serve import inject
from generator.render import csp
from tests.payloads import Project

CHROMIUM = Path("/usr/bin/chromium")
META = re.compile(r'<meta http-equiv="Content-Security-Policy" content="([^"]*)">')


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Project:
    """The mini site built by the real CLI, with a section holding an aligned Markdown table."""
    site = Project(tmp_path_factory.mktemp("csp") / "site")
    site.write("content/sections/45-table.md", "---\nid: table\ntitle: Table\norder: 45\nwhen: \"true\"\n---\n"
                                               "| exam | score |\n|:--|--:|\n| NBME | {{ step2.latest_practice_score or 0 }} |\n")
    done = site.cli("--no-pdf")
    assert done.returncode == 0, done.stderr
    return site


def policies(site: Project) -> dict[str, str]:
    """The policy of every HTML file the build wrote, by path."""
    found = {}
    for path in sorted((site.out / "site").rglob("*.html")):
        metas = META.findall(path.read_text("utf-8"))
        found[path.relative_to(site.out).as_posix()] = metas[0] if len(metas) == 1 else f"{len(metas)} policies"
    return found


def test_every_page_has_one_policy_that_denies_by_default(built: Project) -> None:
    found = policies(built)
    assert "site/index.html" in found and "site/404.html" in found
    assert sum(1 for rel in found if rel.startswith("site/g/")) == 3
    for rel, policy in found.items():
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'", rel
        assert "script-src" not in directives and "connect-src" not in directives, rel
        assert "'unsafe-inline'" not in policy and "*" not in policy and "http" not in policy, rel
        assert directives["img-src"] == "data:", rel


def test_the_policy_comes_first_and_names_only_what_the_page_uses(built: Project) -> None:
    guide = next((built.out / "site" / "g").rglob("index.html")).read_text()
    head = guide.split("<head>", 1)[1]
    assert head.lstrip().startswith('<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy"')
    assert "style-src 'self';" in META.search(guide).group(1)  # its stylesheet; no inline style
    page_404 = (built.out / "site" / "404.html").read_text()
    inline = re.search(r"<style>(.*?)</style>", page_404, re.S).group(1)
    assert f"style-src {csp.source_hash(inline)};" in META.search(page_404).group(1)  # exactly its own style


def test_no_page_uses_what_the_policy_blocks(built: Project) -> None:
    for path in (built.out / "site").rglob("*.html"):
        text = path.read_text("utf-8")
        assert not re.search(r"\sstyle=|<script|\son[a-z]+=|javascript:", text, re.I), path
    guide = next((built.out / "site" / "g").rglob("index.html")).read_text()
    assert '<th class="align-left">exam</th>' in guide and '<td class="align-right">' in guide


def test_serve_allows_its_reload_script_and_nothing_else(built: Project) -> None:
    guide = next((built.out / "site" / "g").rglob("index.html")).read_bytes()
    served = inject(guide, 7).decode()
    policy = META.search(served).group(1)
    script = re.search(r"<script>(.*?)</script>", served, re.S).group(1)
    assert policy.endswith(f"; script-src {csp.source_hash(script)}; connect-src 'self'")
    assert policy.startswith("default-src 'none'") and len(META.findall(served)) == 1
    assert META.search(guide.decode()).group(1) + "; script-src" in policy  # the rest is unchanged


# --- in Chromium, with the policy enforced ------------------------------------------------------------------------

class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _violations(browser, urls: list[str]) -> dict[str, list[str]]:
    """Each page's CSP violations and console errors, loaded with the policy enforced."""
    context = browser.new_context()
    context.add_init_script("window.__violations = [];"
                            "document.addEventListener('securitypolicyviolation', e => window.__violations.push("
                            "e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sample || '')));")
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    found = {}
    for url in urls:
        errors.clear()
        page.goto(url, wait_until="load")
        page.wait_for_timeout(50)
        found[url] = page.evaluate("window.__violations") + list(errors)
        found[url + " (styled)"] = page.evaluate("getComputedStyle(document.body).marginTop")
    context.close()
    return found


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (Debian package `chromium`)")
    from playwright.sync_api import sync_playwright

    from tests.test_browser import CHROMIUM_ARGS

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.mark.browser
def test_published_pages_load_with_no_policy_violation(built: Project, browser) -> None:
    root = built.out / "site"
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    try:
        pages = ["", "404.html"] + [p.relative_to(root).parent.as_posix() + "/"
                                                     for p in (root / "g").rglob("index.html")]
        found = _violations(browser, [base + p for p in pages] + [(root / "index.html").as_uri()])
    finally:
        server.shutdown()
        server.server_close()
    problems = {url: v for url, v in found.items() if not url.endswith("(styled)") and v}
    assert problems == {}
    unstyled = {url: margin for url, margin in found.items() if url.endswith("(styled)") and margin == "8px"}
    assert unstyled == {}, "the stylesheet did not apply (8px is the browser's default margin)"


@pytest.mark.browser
def test_the_browser_check_sees_a_violation(tmp_path: Path, browser) -> None:
    site = Project(tmp_path / "site")
    layout = site.theme / "layouts" / "guide.html"
    layout.write_text(layout.read_text().replace('<main id="main">', '<main id="main" style="color: red">'))
    assert site.cli("--no-pdf").returncode == 0
    page = next((site.out / "site" / "g").rglob("index.html"))
    found = _violations(browser, [page.as_uri()])
    assert any("style-src" in v for v in found[page.as_uri()]), found
