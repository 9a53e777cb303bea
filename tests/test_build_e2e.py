"""End to end: the real CLI builds the sample cohort; real PDFs are opened and read."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from generator.write.pdftext import pdf_text
from tests.conftest import ROOT

AS_OF = "2026-11-25"
KEY = "e2e-test-site-key-0123456789abcdef"
MANIFEST_KEYS = {"id", "name", "source", "band", "basis", "programs", "flags", "sections", "examples", "html", "pdf"}
BANDS = {"top", "strong", "solid", "low", "very_low", "pending"}
FLAGS = {"step1_fail", "step2_fail", "multiple_attempts", "long_gap", "projected", "consider_delay",
         "score_after_eras", "no_usce", "needs_h1b"}


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MATCHGUIDE_SITE_KEY": KEY}
    return subprocess.run([sys.executable, "-m", "generator", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A copy of the project's inputs in a temporary folder."""
    for name in ("profiles", "content", "themes"):
        shutil.copytree(ROOT / name, tmp_path / name)
    return tmp_path


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory) -> Path:
    """The whole sample cohort, HTML only."""
    out = tmp_path_factory.mktemp("sample") / "output"
    proc = run("build", "--no-pdf", "--as-of", AS_OF, "--out", str(out), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return out


def test_manifest_follows_the_contract(sample_build: Path):
    doc = json.loads((sample_build / "manifest.json").read_text())
    assert doc["generator"] == "matchguide 0.1.0" and doc["cycle"] == 2027 and doc["errors"] == []
    assert len(doc["profiles"]) >= 10
    for entry in doc["profiles"]:
        assert MANIFEST_KEYS <= set(entry)
        assert entry["band"] in BANDS
        assert entry["basis"]["kind"] in ("official", "practice", "none")
        assert (entry["programs"] is None) == (entry["band"] == "pending")
        assert entry["flags"] == sorted(entry["flags"]) and set(entry["flags"]) <= FLAGS
        html = entry["html"]
        assert entry["id"] not in html and entry["name"].split()[0].lower() not in html.lower()
        assert (sample_build / html).is_file() and entry["pdf"] is None
        assert entry["source"] == f"profiles/{entry['id']}.yaml"


def test_sample_cohort_covers_every_band_and_flag(sample_build: Path):
    doc = json.loads((sample_build / "manifest.json").read_text())
    assert {e["band"] for e in doc["profiles"]} == BANDS
    assert set().union(*(e["flags"] for e in doc["profiles"])) == FLAGS


def test_landing_page_has_no_personal_data(sample_build: Path):
    doc = json.loads((sample_build / "manifest.json").read_text())
    landing = (sample_build / "site" / "index.html").read_text()
    for entry in doc["profiles"]:
        assert entry["name"] not in landing and entry["id"] not in landing
        assert entry["html"].split("/")[2] not in landing  # no link to any guide


def test_pdfs_are_real_guides(project: Path):
    ids = ["aisha-rahman", "ana-souza"]
    proc = run("build", "--as-of", AS_OF, "--only", *ids, cwd=project)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((project / "output" / "manifest.json").read_text())
    assert [e["id"] for e in doc["profiles"]] == ids
    for entry in doc["profiles"]:
        reader = PdfReader(project / "output" / entry["pdf"])
        text = "\n".join(page.extract_text() for page in reader.pages)
        assert len(reader.pages) >= 5
        assert entry["name"] in text
        if entry["programs"]:
            assert f"{entry['programs']['min']}–{entry['programs']['max']}" in text
        assert "page 1 of" in text.lower() or "1 of " in text
        assert reader.outline, "the PDF has bookmarks"
        assert reader.metadata.title and entry["name"] in reader.metadata.title
        # The published copy beside the web page is the same file.
        published = project / "output" / Path(entry["html"]).parent / "guide.pdf"
        assert published.read_bytes() == (project / "output" / entry["pdf"]).read_bytes()
        # Its text, read by the worker that wrote it, waits for the privacy check under the PDF's digest.
        data = published.read_bytes()
        cached = project / ".matchguide" / "pdf-text" / f"{hashlib.sha256(data).hexdigest()}.json"
        assert json.loads(cached.read_text("utf-8")) == pdf_text(data)
    assert len(list((project / ".matchguide" / "pdf-text").iterdir())) == len(ids)


def test_same_inputs_give_identical_bytes(project: Path):
    outs = []
    for name in ("a", "b"):
        proc = run("build", "--as-of", AS_OF, "--only", "ana-souza", "--out", name, cwd=project)
        assert proc.returncode == 0, proc.stderr
        outs.append(project / name)
    files = sorted(p.relative_to(outs[0]) for p in outs[0].rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(outs[1]) for p in outs[1].rglob("*") if p.is_file())
    for rel in files:
        assert (outs[0] / rel).read_bytes() == (outs[1] / rel).read_bytes(), rel


def test_broken_profiles_are_reported_and_the_rest_build(project: Path):
    profiles = project / "profiles"
    (profiles / "bad-score.yaml").write_text(
        "name: Bad Score\nemail: bad@example.org\ngraduation_year: 2020\nstep1: {result: pass, attempts: 1}\n"
        "step2_ck:\n  result: pass\n  score: two hundred\n")
    (profiles / "bad-key.yaml").write_text(
        "name: Bad Key\nemail: key@example.org\ngraduation-year: 2020\nstep1: {result: pass, attempts: 1}\n")
    (profiles / "bad-visa.yaml").write_text(
        "name: Bad Visa\nemail: visa@example.org\ngraduation_year: 2020\nstep1: {result: pass, attempts: 1}\nvisa: no\n")
    good = len(list(profiles.glob("*.yaml"))) - 3
    proc = run("build", "--no-pdf", "--as-of", AS_OF, cwd=project)
    assert proc.returncode == 1
    assert "profiles/bad-score.yaml:7: step2_ck.score:" in proc.stderr
    assert "profiles/bad-key.yaml:3: graduation-year:" in proc.stderr and "graduation_year" in proc.stderr
    assert "profiles/bad-visa.yaml:5: visa:" in proc.stderr
    doc = json.loads((project / "output" / "manifest.json").read_text())
    assert len(doc["profiles"]) == good
    assert {(e["source"], e["line"], e["field"]) for e in doc["errors"]} >= {
        ("profiles/bad-score.yaml", 7, "step2_ck.score"), ("profiles/bad-visa.yaml", 5, "visa")}
    assert "3 problem(s)" in proc.stdout or "problem" in proc.stdout


def test_a_content_error_keeps_the_previous_output(project: Path):
    assert run("build", "--no-pdf", "--as-of", AS_OF, cwd=project).returncode == 0
    before = {p: p.read_bytes() for p in (project / "output").rglob("*") if p.is_file()}
    section = next((project / "content" / "sections").glob("*.md"))
    text = section.read_text()
    section.write_text(text.replace('when: "true"', "when: \"band.idd == 'low'\"", 1) if 'when: "true"' in text
                       else text.replace("when:", "when: \"nosuchfact\" #", 1))
    proc = run("build", "--no-pdf", "--as-of", AS_OF, cwd=project)
    assert proc.returncode == 1
    assert f"content/sections/{section.name}:" in proc.stderr and "unknown fact" in proc.stderr
    after = {p: p.read_bytes() for p in (project / "output").rglob("*") if p.is_file()}
    assert after == before
    assert not list(project.glob(".output.*staging*"))


def test_check_writes_nothing_and_lists_selection(project: Path):
    proc = run("check", "--as-of", AS_OF, cwd=project)
    assert proc.returncode == 0, proc.stderr
    assert "aisha-rahman: band solid" in proc.stdout and "sections: plan-at-a-glance" in proc.stdout
    assert not (project / "output").exists()


def test_article_examples(tmp_path: Path):
    out = tmp_path / "output"
    proc = run("build", "--no-pdf", "--as-of", "2025-01-15", "--profiles", str(ROOT / "tests/fixtures/article"),
               "--out", str(out), cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    doc = {e["id"]: e for e in json.loads((out / "manifest.json").read_text())["profiles"]}
    got = {k: (e["band"], e["programs"]["min"], e["programs"]["max"]) for k, e in doc.items()}
    assert got == {"example1": ("top", 80, 100), "example2": ("solid", 120, 160), "example3": ("low", 140, 180)}
    for entry in doc.values():
        assert entry["examples"], f"{entry['id']} gets a worked example of its band"
