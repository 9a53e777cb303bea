"""The rendered HTML of the mini sample site matches the reviewed golden files (`make golden` regenerates)."""

from __future__ import annotations

import difflib

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
    page = build_mini(tmp_path / "output")["guide-chen-wu.html"]
    assert "<Wu>" not in page and "&lt;Wu&gt;" in page
    assert 'href="https://evil.example"' not in page
    assert "{{ 7*7 }}" in page and "49" not in page.split("{{ 7*7 }}")[0][-50:]
