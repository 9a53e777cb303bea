"""Screenshots for the README: `python -m tests.screenshots [OUT_DIR]` (default docs/img).

Builds the sample cohort into a temporary folder (HTML, plus one PDF), opens
one guide in headless Chromium and writes guide-phone.png (375 px wide, the
first 1600 px), guide-desktop.png (1280 x 900), pdf-page.png (page 3 of the
PDF at 70 dpi, by pdftoppm), program-list-phone.png (the guide's program list
on a phone) and pdf-program-list.png (the first page of the PDF's appendix
table of programs).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

from generator.build import BuildOptions, build
from tests.conftest import ROOT
from tests.test_browser import CHROMIUM, CHROMIUM_ARGS, Site

AS_OF = date(2026, 11, 25)
GUIDE = "priya-nair"


def shoot(out_dir: Path, guide: str = GUIDE, as_of: date = AS_OF) -> list[Path]:
    """Build the sample site, take the three pictures, return their paths."""
    from playwright.sync_api import sync_playwright

    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="matchguide-shots-") as tmp:
        output = Path(tmp) / "output"
        result = build(BuildOptions(profiles=ROOT / "profiles", content=ROOT / "content", theme=ROOT / "themes" / "default",
                                    out=output, state=Path(tmp) / "state", as_of=as_of, only=[guide], jobs=1))
        if not result.ok:
            raise SystemExit("\n".join(f"error: {p}" for p in result.problems))
        site = Site(output)
        try:
            (_, url), = site.guides()
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 375, "height": 1600})
                page.goto(url)
                page.screenshot(path=str(out_dir / "guide-phone.png"))
                page.evaluate("document.getElementById('program-list').scrollIntoView()")
                page.screenshot(path=str(out_dir / "program-list-phone.png"))
                page.evaluate("window.scrollTo(0, 0)")
                page.set_viewport_size({"width": 1280, "height": 900})
                page.screenshot(path=str(out_dir / "guide-desktop.png"))
                browser.close()
        finally:
            site.close()
        pdf = output / result.entries[0]["pdf"]
        prefix = Path(tmp) / "page"
        subprocess.run(["pdftoppm", "-f", "3", "-l", "3", "-r", "70", "-png", "-singlefile", str(pdf), str(prefix)],
                       check=True)
        shutil.move(prefix.with_suffix(".png"), out_dir / "pdf-page.png")
        appendix = _first_page_with(pdf, "Why it is on your list")
        subprocess.run(["pdftoppm", "-f", str(appendix), "-l", str(appendix), "-r", "70", "-png", "-singlefile",
                        str(pdf), str(prefix)], check=True)
        shutil.move(prefix.with_suffix(".png"), out_dir / "pdf-program-list.png")
    return [out_dir / name for name in ("guide-phone.png", "guide-desktop.png", "pdf-page.png",
                                        "program-list-phone.png", "pdf-program-list.png")]


def _first_page_with(pdf: Path, text: str) -> int:
    """The number of the first PDF page whose text holds `text` (pdftotext), or the last page."""
    pages = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True,
                           text=True).stdout.split("\f")
    found = [n for n, page in enumerate(pages, 1) if text.lower() in " ".join(page.split()).lower()]
    return found[0] if found else len([p for p in pages if p.strip()])


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments and take the screenshots."""
    parser = argparse.ArgumentParser(prog="python -m tests.screenshots", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", nargs="?", type=Path, default=ROOT / "docs" / "img", metavar="OUT_DIR",
                        help="where the PNG files go (default: docs/img)")
    parser.add_argument("--guide", default=GUIDE, metavar="ID", help=f"the applicant whose guide is shown (default: {GUIDE})")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists() or not shutil.which("pdftoppm"):
        print(f"needs Chromium at {CHROMIUM} and pdftoppm (poppler-utils)", file=sys.stderr)
        return 2
    for path in shoot(args.out_dir, args.guide):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
