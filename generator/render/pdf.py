"""HTML -> PDF with WeasyPrint, reading nothing but data: URLs and files inside the asset folders."""

from __future__ import annotations

import logging
import mimetypes
import os
import re
from collections.abc import Sequence
from datetime import date, datetime, time, timezone
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import weasyprint
from weasyprint.pdf.metadata import DocumentMetadata
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher, URLFetcherResponse

from generator.errors import BuildError, Problem

_FONT_CONFIG: FontConfiguration | None = None
# Per worker process, across guides: parsed stylesheets by (file, size, mtime) and loaded images by URL.
_STYLESHEETS: dict[tuple[str, int, int], weasyprint.CSS] = {}
_STYLESHEET_LINK = re.compile(r'<link rel="stylesheet" href="([^"<>]+)">')


class _ImageCache(dict):
    """WeasyPrint's image cache, minus failures: a refused or broken image is tried (and reported) every time."""

    def __setitem__(self, key: object, value: object) -> None:
        if value is not None:
            super().__setitem__(key, value)


_IMAGES = _ImageCache()


class RefusedURL(ValueError):
    """A resource the PDF may not read."""


class AssetFetcher(URLFetcher):
    """WeasyPrint fetcher for `data:` URLs and regular files under the asset roots; refuses the rest.

    Paths are resolved with realpath first, so `../` and symlinks pointing out of a
    root are refused. Every refused URL is kept in `refused`, in order.
    """

    def __init__(self, asset_roots: Sequence[Path]):
        super().__init__(timeout=5, allowed_protocols=("data",), allow_redirects=False)
        self.roots = tuple(Path(os.path.realpath(root)) for root in asset_roots)
        self.refused: list[str] = []

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        """Return the resource at `url`, or raise RefusedURL for anything outside the allowed set."""
        try:
            scheme = urlsplit(url).scheme.lower()
        except ValueError:
            scheme = ""
        if scheme == "data":
            return super().fetch(url, headers)
        path = self._allowed_file(url) if scheme == "file" else None
        if path is None:
            self.refused.append(url)
            raise RefusedURL(f"refused to fetch {url}: only data: URLs and files in the asset folders are allowed")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": kind})

    def _allowed_file(self, url: str) -> Path | None:
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost"):
            return None
        real = Path(os.path.realpath(url2pathname(parts.path)))
        if not real.is_file():
            return None
        if any(real.is_relative_to(root) for root in self.roots):
            return real
        return None

    def is_missing(self, url: str) -> bool:
        """True for a file URL inside an asset folder that does not exist: a typo or a missing asset, not an escape."""
        try:
            parts = urlsplit(url)
        except ValueError:
            return False
        real = Path(os.path.realpath(url2pathname(parts.path)))
        return parts.scheme == "file" and not real.exists() and any(real.is_relative_to(root) for root in self.roots)


class _Collector(logging.Handler):
    """Keeps the ERROR records WeasyPrint logs while one document renders."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def render_pdf(html: str, *, base_url: str, asset_roots: Sequence[Path], target: Path, title: str,
               author: str | None, created: date, lang: str = "en") -> int:
    """Write `html` as a PDF to `target` and return its page count; BuildError if anything was refused or failed."""
    source = str(target)
    # fontTools stamps subset fonts with the time unless SOURCE_DATE_EPOCH is set: the build date is the only clock.
    os.environ["SOURCE_DATE_EPOCH"] = str(int(datetime.combine(created, time(), timezone.utc).timestamp()))
    fetcher = AssetFetcher(asset_roots)
    collector = _Collector()
    logger = logging.getLogger("weasyprint")
    old_level = logger.level
    if logger.getEffectiveLevel() > logging.ERROR:
        logger.setLevel(logging.ERROR)
    logger.addHandler(collector)
    try:
        html, stylesheets = _lift_stylesheets(html, base_url, fetcher)
        document_html = weasyprint.HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        attachments = _attachment_links(document_html)
        if attachments:
            raise BuildError(Problem(source, None, "pdf", f"file attachments are not allowed: {', '.join(attachments)}"))
        # Tagged PDF (structure for screen readers) costs no measurable time here.
        document = document_html.render(font_config=_font_config(), pdf_tags=True, stylesheets=stylesheets,
                                         cache=_IMAGES)
        _set_metadata(document.metadata, title=title, author=author, created=created, lang=lang)
        data = document.write_pdf(pdf_tags=True)
        pages = len(document.pages)
    except RefusedURL as exc:  # raised outside WeasyPrint's own error handling
        raise BuildError(Problem(source, None, "pdf", str(exc))) from None
    finally:
        logger.removeHandler(collector)
        logger.setLevel(old_level)
    # One problem per PDF, so a caller that reports only the first still shows everything.
    said = []
    missing = [url for url in dict.fromkeys(fetcher.refused) if fetcher.is_missing(url)]
    if missing:
        said.append("not found in the asset folders: " + ", ".join(missing))
    if len(missing) < len(set(fetcher.refused)):
        said.append("refused to fetch " + ", ".join(u for u in dict.fromkeys(fetcher.refused) if u not in missing)
                    + " (only data: URLs and files in the asset folders are allowed)")
    said += [f"WeasyPrint error: {message}" for message in collector.messages
             if not any(url in message for url in fetcher.refused)]
    if said:
        raise BuildError(Problem(source, None, "pdf", "; ".join(said)))
    try:
        target.write_bytes(data)
    except OSError as exc:
        raise BuildError(Problem(source, None, "pdf", f"cannot write the PDF: {exc.strerror}")) from None
    return pages


def _lift_stylesheets(html: str, base_url: str, fetcher: AssetFetcher) -> tuple[str, list[weasyprint.CSS]]:
    """Take the page's stylesheet links out and return them parsed, from this process's cache when unchanged.

    Given as stylesheets to WeasyPrint they render the same pages (checked pixel for pixel) without being
    parsed again for every guide. Only a sheet that parsed cleanly is kept, so a refused `@import` is
    refused again, and reported, for every guide. Links to anything but a file in the asset folders are
    left in the page, for WeasyPrint to fetch (and the fetcher to refuse).
    """
    sheets = []

    def lift(match: re.Match[str]) -> str:
        url = urljoin(base_url, match.group(1))
        path = fetcher._allowed_file(url) if url.startswith("file:") else None
        if path is None:
            return match.group(0)
        stat = path.stat()
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        sheet = _STYLESHEETS.get(key)
        if sheet is None:
            before = len(fetcher.refused)
            sheet = weasyprint.CSS(url=url, url_fetcher=fetcher, font_config=_font_config())
            if len(fetcher.refused) == before:
                _STYLESHEETS[key] = sheet
        sheets.append(sheet)
        return ""

    return _STYLESHEET_LINK.sub(lift, html), sheets


def _font_config() -> FontConfiguration:
    # One per process: building it loads fontconfig, and documents can share it.
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        _FONT_CONFIG = FontConfiguration()
    return _FONT_CONFIG


def _attachment_links(document_html: weasyprint.HTML) -> list[str]:
    """The hrefs of <link rel=attachment> and <a rel=attachment>: WeasyPrint would embed those files."""
    found = []
    for element in document_html.etree_element.iter():
        if not isinstance(element.tag, str):
            continue
        if "attachment" in (element.get("rel") or "").lower().split():
            found.append(element.get("href") or "(no href)")
    return found


def _set_metadata(metadata: DocumentMetadata, *, title: str, author: str | None, created: date, lang: str) -> None:
    # Only what we set, from the build date, never the clock: identical input gives identical bytes.
    stamp = f"{created.isoformat()}T00:00:00Z"
    metadata.title = title
    metadata.authors = [author or "matchguide"]
    metadata.created = stamp
    metadata.modified = stamp
    metadata.lang = lang
    metadata.description = None
    metadata.keywords = []
    metadata.custom = {}
    metadata.attachments = []
