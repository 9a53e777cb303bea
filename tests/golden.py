"""Golden HTML of a small named sample site (tests/golden/mini): build it, compare it, regenerate it.

Regenerate after an intended change with `make golden`, then review `git diff tests/golden/`.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date
from pathlib import Path

from generator.build import BuildOptions, build

HERE = Path(__file__).resolve().parent / "golden"
SITE = HERE / "mini"
EXPECTED = HERE / "expected"
AS_OF = date(2026, 11, 25)
KEY = "golden-site-key-not-secret-0123456789"


def build_mini(out: Path, monkeypatch_env: dict | None = None) -> dict[str, str]:
    """Build the mini site (no PDFs) and return {stable name: HTML} for every page worth comparing."""
    import json
    import os

    old = os.environ.get("MATCHGUIDE_SITE_KEY")
    os.environ["MATCHGUIDE_SITE_KEY"] = KEY
    try:
        build(BuildOptions(profiles=SITE / "profiles", content=SITE / "content",
                           theme=HERE.parent.parent / "themes" / "default", out=out, state=out.parent / "state",
                           pdf=False, as_of=AS_OF))
    finally:
        if old is None:
            os.environ.pop("MATCHGUIDE_SITE_KEY", None)
        else:
            os.environ["MATCHGUIDE_SITE_KEY"] = old
    manifest = json.loads((out / "manifest.json").read_text())
    pages = {"landing.html": (out / "site" / "index.html").read_text()}
    for entry in manifest["profiles"]:
        pages[f"guide-{entry['id']}.html"] = (out / entry["html"]).read_text()
    return pages


def main(argv: list[str]) -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        pages = build_mini(Path(tmp) / "output")
    shutil.rmtree(EXPECTED, ignore_errors=True)
    EXPECTED.mkdir(parents=True)
    for name, html in sorted(pages.items()):
        (EXPECTED / name).write_text(html)
    print(f"wrote {len(pages)} golden pages to {EXPECTED}; review with: git diff {EXPECTED}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
