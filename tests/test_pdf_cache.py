"""A worker keeps parsed stylesheets across guides, but never keeps a refusal quiet."""

from __future__ import annotations

import os
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


def test_the_pool_runs_its_after_step_in_the_worker_on_each_pdf_written(tmp_path: Path):
    from generator.render.pdf_pool import PdfJob, PdfPool

    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "style.css").write_text("p { color: black }")
    seen = tmp_path / "seen"
    seen.mkdir()

    def after(written: Path) -> None:  # runs in the worker: it leaves its pid beside what it saw
        (seen / written.name).write_text(f"{os.getpid()} {written.stat().st_size}")

    with PdfPool(1, after=after) as pool:
        for name in ("a", "b"):
            source = tmp_path / f"{name}.html"
            source.write_text(PAGE.format(name))
            pool.submit(PdfJob(name, str(source), assets.as_uri() + "/", (str(assets),), (str(tmp_path / f"{name}.pdf"),),
                               "t", "a", "2026-11-25"))
        assert pool.finish() == {}
    for name in ("a", "b"):
        pid, size = (seen / f"{name}.pdf").read_text().split()
        assert int(pid) != os.getpid() and int(size) == (tmp_path / f"{name}.pdf").stat().st_size > 0
