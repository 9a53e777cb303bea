"""The rendered HTML of the mini sample site matches the reviewed golden files (`make golden` regenerates)."""

from __future__ import annotations

import difflib
import re

import pytest

from tests.golden import EXPECTED, build_mini


def test_golden_pages(tmp_path):
    pages = build_mini(tmp_path / "output")
    expected = sorted(p.name for p in EXPECTED.glob("*.html"))
    assert sorted(pages) == expected, "pages differ from tests/golden/expected; run `make golden` and review the diff"
    for name in expected:
        want = (EXPECTED / name).read_text()
        if pages[name] != want:
            diff = "".join(difflib.unified_diff(want.splitlines(True), pages[name].splitlines(True), name, "built", n=2))
            pytest.fail(f"{name} differs from its golden file (run `make golden` if intended):\n{diff[:4000]}")


def test_profile_text_is_inert(tmp_path):
    """Chen's name is `Chen <Wu> [x](https://evil.example) {{ 7*7 }}`: markup, Markdown and a template in text.

    Every page of the whole output shows it only as escaped text: never a tag, a link or an evaluated template.
    """
    out = tmp_path / "output"
    build_mini(out)
    escaped = "Chen &lt;Wu&gt; [x](https://evil.example) {{ 7*7 }}"
    pages = sorted(p for p in out.rglob("*.html") if p.is_file())
    shown = 0
    for page in pages:
        text = page.read_text()
        assert "<Wu" not in text and "evil.example\"" not in text and "evil.example'" not in text, page
        assert not re.search(r"<a [^>]*evil", text), page
        # only ever inside the name, as text (the roster also keeps it lower-cased, for sorting and search)
        assert "{{ 7*7 }}" not in text.replace(escaped, "").replace(escaped.lower(), ""), page
        assert "Chen &lt;Wu&gt; [x](https://evil.example) 49" not in text, page
        assert text.count("Chen ") == text.count(escaped), page  # every mention is the whole, escaped name
        shown += text.count(escaped)
    assert shown >= 2  # at least the guide's heading and its title
