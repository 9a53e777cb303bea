"""A worker keeps parsed stylesheets across guides, but never keeps a refusal quiet."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from generator.render import pdf
from generator.errors import BuildError

PAGE = '<html><head><link rel="stylesheet" href="style.css"></head><body><h2>Part</h2><p>{}</p></body></html>'


def render(assets: Path, target: Path, text: str) -> int:
    return pdf.render_pdf(PAGE.format(text), base_url=assets.as_uri() + "/", asset_roots=[assets], target=target,
                          title="t", author=None, created=date(2026, 11, 25))


def test_a_clean_stylesheet_is_parsed_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pdf, "_STYLESHEETS", {})
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "style.css").write_text("@page { size: A5; @bottom-center { content: 'page ' counter(page) } }")
    assert render(assets, tmp_path / "a.pdf", "one") == 1
    assert render(assets, tmp_path / "b.pdf", "two") == 1
    assert len(pdf._STYLESHEETS) == 1
    (assets / "style.css").write_text("@page { size: A6 }")  # an edit is seen at once
    render(assets, tmp_path / "c.pdf", "three")
    assert len(pdf._STYLESHEETS) == 2


def test_a_refused_import_fails_every_guide(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(pdf, "_STYLESHEETS", {})
    assets = tmp_path / "assets"
    assets.mkdir()
    secret = tmp_path / "secret.css"
    secret.write_text("body { color: red }")
    (assets / "style.css").write_text(f'@import url("{secret.as_uri()}");\np {{ color: blue }}')
    for name in ("a", "b"):
        with pytest.raises(BuildError, match="refused to fetch"):
            render(assets, tmp_path / f"{name}.pdf", name)
        assert not (tmp_path / f"{name}.pdf").exists()
    assert pdf._STYLESHEETS == {}
