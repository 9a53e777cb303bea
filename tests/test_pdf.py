"""Real PDFs from guide-like HTML with the theme CSS, and the fetcher that keeps them to the asset folders."""

from __future__ import annotations

import http.server
import io
import logging
import re
import shutil
import struct
import subprocess
import sys
import threading
import zlib
from datetime import date
from pathlib import Path

import pytest
import weasyprint
from pypdf import PdfReader

from generator.errors import BuildError
from generator.render.pdf import AssetFetcher, RefusedURL, render_pdf

ROOT = Path(__file__).resolve().parent.parent
THEME_CSS = ROOT / "themes" / "default" / "assets" / "style.css"
CANARY = "CANARY-7f3e9c"
CREATED = date(2026, 11, 25)


def guide_html(extra: str = "") -> str:
    """A small guide shaped like the theme's output: cover, contents, two parts."""
    filler = "<p>" + "Programs review applications in order, so plan your letters early. " * 12 + "</p>"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>ignored</title>
<link rel="stylesheet" href="../../assets/style.css"></head>
<body class="guide layout-standard">
<header class="cover"><p class="brand">matchguide</p>
  <h1 class="cover-title">Your residency application guide</h1>
  <p class="cover-name">Test Applicant</p>
  <p class="print-only">Printed cover note</p>
  <p class="screen-only">Screen-only download link</p>
</header>
<nav class="toc" aria-labelledby="toc-title"><h2 id="toc-title">Contents</h2><ol>
  <li><a href="#first">First part</a></li><li><a href="#second">Second part</a></li></ol></nav>
<main id="main">
  <section id="first" class="part"><h2>First part</h2><p>alpha body</p><h3>First detail</h3>{filler}
    <table><thead><tr><th scope="col">Band</th><th scope="col">Programs</th></tr></thead>
    <tbody><tr><th scope="row">Solid</th><td>120–160</td></tr></tbody></table></section>
  <section id="second" class="part"><h2>Second part</h2><p>beta body</p>{filler}{extra}</section>
</main></body></html>"""


@pytest.fixture
def site(tmp_path: Path) -> dict:
    """An output-like tree: site/assets (the theme CSS) and site/guides/x/, plus a secret outside the assets."""
    assets = tmp_path / "site" / "assets"
    guide = tmp_path / "site" / "guides" / "x"
    assets.mkdir(parents=True)
    guide.mkdir(parents=True)
    shutil.copy(THEME_CSS, assets / "style.css")
    secret_css = tmp_path / "site" / "secret.css"
    secret_css.write_text(f'.part::before {{ content: "{CANARY}"; }}')
    (tmp_path / "outside.css").write_text(f'.part::before {{ content: "{CANARY}"; }}')
    (assets / "leak.css").symlink_to(tmp_path / "outside.css")
    return {"assets": assets, "guide": guide, "base_url": guide.as_uri() + "/", "tmp": tmp_path}


def render(site: dict, html: str, name: str = "guide.pdf", author: str | None = "Dr. Lee") -> Path:
    target = site["tmp"] / name
    render_pdf(html, base_url=site["base_url"], asset_roots=[site["assets"]], target=target,
               title="Match guide for Test Applicant", author=author, created=CREATED)
    return target


def pdf_text(path_or_bytes: Path | bytes) -> str:
    data = path_or_bytes.read_bytes() if isinstance(path_or_bytes, Path) else path_or_bytes
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def outline_titles(reader: PdfReader) -> list[str]:
    def walk(items: list) -> list[str]:
        found = []
        for item in items:
            found += walk(item) if isinstance(item, list) else [item.title]
        return found
    return walk(reader.outline)


def test_renders_a_real_pdf_with_cover_contents_and_page_numbers(site):
    target = site["tmp"] / "guide.pdf"
    pages = render_pdf(guide_html(), base_url=site["base_url"], asset_roots=[site["assets"]], target=target,
                       title="Match guide for Test Applicant", author="Dr. Lee", created=CREATED)
    reader = PdfReader(target)
    assert pages == len(reader.pages) >= 3  # cover, contents, the parts
    texts = [page.extract_text() for page in reader.pages]
    assert "Test Applicant" in texts[0] and "Printed cover note" in texts[0]
    assert "page 1 of" in texts[0] and f"page {pages} of {pages}" in texts[-1]
    assert "Screen-only download link" not in "".join(texts)
    # The contents page gives the real page of each part.
    for title, body in (("First part", "alpha body"), ("Second part", "beta body")):
        number = int(re.search(rf"{title}[ .]*(\d+)", texts[1]).group(1))
        assert body in texts[number - 1]
    assert outline_titles(reader) == ["Contents", "First part", "First detail", "Second part"]
    meta = reader.metadata
    assert meta.title == "Match guide for Test Applicant"
    assert meta.author == "Dr. Lee"
    assert meta["/CreationDate"] == meta["/ModDate"] == "D:20261125000000Z"
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == "en"
    assert catalog["/MarkInfo"]["/Marked"] and "/StructTreeRoot" in catalog  # tagged for screen readers


def test_author_defaults_to_matchguide(site):
    assert PdfReader(render(site, guide_html(), author=None)).metadata.author == "matchguide"


def test_identical_input_gives_identical_bytes(site):
    first = render(site, guide_html(), "one.pdf").read_bytes()
    second = render(site, guide_html(), "two.pdf").read_bytes()
    assert first == second
    # A fresh process (new font configuration, different clock) gives the same bytes too.
    script = (
        "import sys; from datetime import date; from pathlib import Path; from generator.render.pdf import render_pdf;"
        "render_pdf(sys.stdin.read(), base_url=sys.argv[1], asset_roots=[Path(sys.argv[2])], target=Path(sys.argv[3]),"
        " title='Match guide for Test Applicant', author='Dr. Lee', created=date(2026, 11, 25))"
    )
    third = site["tmp"] / "three.pdf"
    subprocess.run([sys.executable, "-c", script, site["base_url"], str(site["assets"]), str(third)],
                   input=guide_html(), text=True, check=True, cwd=ROOT)
    assert third.read_bytes() == first


def test_data_urls_and_files_inside_the_assets_are_allowed(site):
    (site["assets"] / "dot.svg").write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="120" height="20"><rect width="10" height="10"/>'
        '<text x="12" y="14" font-size="10">SVGMARK</text></svg>')
    (site["assets"] / "block.png").write_bytes(png(2, 3))
    pixel = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk"
             "YPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
    extra = (f'<img src="../../assets/dot.svg" alt="dot"><img src="../../assets/block.png" alt="block">'
             f'<img src="{pixel}" alt="pixel">')
    path = render(site, guide_html(extra))
    sizes = {image.image.size for page in PdfReader(path).pages for image in page.images}
    assert {(1, 1), (2, 3)} <= sizes  # the data URL's pixel and the asset file, as image XObjects
    assert "SVGMARK" in pdf_text(path)  # the SVG asset is drawn (as vectors and text, not as an image)


def png(width: int, height: int) -> bytes:
    """A small black PNG of this size."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\0" + b"\0\0\0" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
def canary_server():
    """A loopback HTTP server that would serve the canary stylesheet, and counts requests."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            body = f'.part::before {{ content: "{CANARY}"; }}'.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/css")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()
    server.server_close()


REFUSED = {
    "absolute path": ('<img src="/etc/passwd" alt="">', "file:///etc/passwd"),
    "file url": ('<img src="file:///etc/hostname" alt="">', "file:///etc/hostname"),
    "attachment link": ('<link rel="attachment" href="file:///etc/passwd">', "file:///etc/passwd"),
    "attachment anchor": ('<a rel="attachment" href="file:///etc/passwd">x</a>', "file:///etc/passwd"),
    "dot-dot escape": ('<link rel="stylesheet" href="../../assets/../secret.css">', "secret.css"),
    "symlink out": ('<link rel="stylesheet" href="../../assets/leak.css">', "assets/leak.css"),
    "missing asset": ('<img src="../../assets/nothing-here.png" alt="">', "nothing-here.png"),
    "css background": ('<div style="background: url(file:///etc/hostname)">x</div>', "file:///etc/hostname"),
    "css import": ('<style>@import url("../../secret.css");</style>', "secret.css"),
    "font face": ('<style>@font-face { font-family: X; src: url(file:///etc/passwd); } p { font-family: X; }</style>',
                  "file:///etc/passwd"),
    "svg image": ('<svg width="10" height="10"><image href="/etc/hostname" width="10" height="10"/></svg>',
                  "file:///etc/hostname"),
}


@pytest.mark.parametrize("snippet, named", REFUSED.values(), ids=REFUSED.keys())
def test_reading_outside_the_assets_fails_the_pdf(site, snippet, named):
    target = site["tmp"] / "guide.pdf"
    with pytest.raises(BuildError) as caught:
        render_pdf(guide_html(snippet), base_url=site["base_url"], asset_roots=[site["assets"]], target=target,
                   title="t", author=None, created=CREATED)
    assert named in str(caught.value)
    assert str(target) in str(caught.value)
    assert not target.exists()


def test_http_is_refused_without_a_request(site, canary_server):
    url, hits = canary_server
    target = site["tmp"] / "guide.pdf"
    snippet = f'<link rel="stylesheet" href="{url}/style.css"><img src="{url}/pixel.png" alt="">'
    with pytest.raises(BuildError) as caught:
        render_pdf(guide_html(snippet), base_url=site["base_url"], asset_roots=[site["assets"]], target=target,
                   title="t", author=None, created=CREATED)
    assert f"{url}/style.css" in str(caught.value) and f"{url}/pixel.png" in str(caught.value)
    assert hits == []
    assert not target.exists()


def test_without_our_fetcher_the_canaries_would_leak(site, canary_server):
    """Control: WeasyPrint's default fetcher reads all of these, so the tests above can see a leak."""
    url, hits = canary_server
    for href in (f"{url}/style.css", "../../assets/leak.css", "../../assets/../secret.css"):
        html = guide_html(f'<link rel="stylesheet" href="{href}">')
        data = weasyprint.HTML(string=html, base_url=site["base_url"]).write_pdf()
        assert CANARY in pdf_text(data)
    assert hits == ["/style.css"]


def test_a_weasyprint_error_fails_the_pdf_even_when_logging_is_quiet(site):
    (site["assets"] / "broken.png").write_bytes(b"this is not a png")
    root = logging.getLogger()
    old = root.level
    handlers = list(logging.getLogger("weasyprint").handlers)
    root.setLevel(logging.CRITICAL)
    try:
        with pytest.raises(BuildError, match="WeasyPrint error: .*broken.png"):
            render(site, guide_html('<img src="../../assets/broken.png" alt="">'))
    finally:
        root.setLevel(old)
    assert logging.getLogger("weasyprint").handlers == handlers  # our collector is gone again
    assert logging.getLogger("weasyprint").level == logging.NOTSET


def test_fetcher_allows_only_data_and_asset_files(site):
    fetcher = AssetFetcher([site["assets"]])
    css = site["assets"] / "style.css"
    response = fetcher.fetch(css.as_uri())
    assert response.read() == css.read_bytes()
    assert response.content_type == "text/css"
    assert fetcher.fetch("data:text/plain,hello").read() == b"hello"
    for url in ("file:///etc/passwd", f"file://otherhost{css}", "https://example.org/x.css",
                "ftp://127.0.0.1/x", (site["assets"] / "leak.css").as_uri(), site["assets"].as_uri()):
        with pytest.raises(RefusedURL):
            fetcher.fetch(url)
    assert len(fetcher.refused) == 6
