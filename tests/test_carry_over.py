"""Nothing is lost: a guide that cannot be rebuilt keeps its last good version; --only leaves the others."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

import pytest

from generator.build import BuildOptions, build
from tests.conftest import ROOT

AS_OF = date(2026, 11, 25)
IDS = ["aisha-rahman", "ana-souza", "karim-haddad"]


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MATCHGUIDE_SITE_KEY", "carry-over-test-key-0123456789")
    (tmp_path / "profiles").mkdir()
    for pid in IDS:
        shutil.copy(ROOT / "profiles" / f"{pid}.yaml", tmp_path / "profiles")
    return tmp_path


def run(project: Path, **kw) -> tuple:
    result = build(BuildOptions(profiles=project / "profiles", content=ROOT / "content", theme=ROOT / "themes/default",
                                out=project / "output", state=project / "state", pdf=False, as_of=AS_OF, **kw))
    return result, json.loads((project / "output" / "manifest.json").read_text())


def test_a_broken_profile_keeps_its_last_good_guide(project: Path):
    _, first = run(project)
    page = project / "output" / next(e["html"] for e in first["profiles"] if e["id"] == "ana-souza")
    before = page.read_bytes()
    profile = project / "profiles" / "ana-souza.yaml"
    good = profile.read_text()
    profile.write_text(good.replace("graduation_year:", "graduation-year:"))
    result, doc = run(project)
    assert not result.ok and all(p.source.endswith("profiles/ana-souza.yaml") for p in result.problems)
    assert "ana-souza" not in [e["id"] for e in doc["profiles"]]
    assert [e["id"] for e in doc["kept_previous"]] == ["ana-souza"] and doc["kept_previous"][0]["stale"] is True
    assert page.read_bytes() == before, "the last good guide is still published"
    assert "Previous versions kept" in (project / "output" / "roster.html").read_text()
    # Still broken on the next build: still kept. Fixed: listed as built again, at the same address.
    _, again = run(project)
    assert [e["id"] for e in again["kept_previous"]] == ["ana-souza"] and page.is_file()
    profile.write_text(good)
    result, fixed = run(project)
    assert result.ok and "kept_previous" not in fixed and "ana-souza" in [e["id"] for e in fixed["profiles"]]
    assert page.read_bytes() == before


def test_a_deleted_profile_loses_its_guide(project: Path):
    _, first = run(project)
    page = project / "output" / next(e["html"] for e in first["profiles"] if e["id"] == "karim-haddad")
    (project / "profiles" / "karim-haddad.yaml").unlink()
    result, doc = run(project)
    assert result.ok and result.removed == ["karim-haddad"] and not page.exists()
    assert "kept_previous" not in doc


def test_only_rebuilds_those_and_leaves_the_others(project: Path):
    run(project)
    result, doc = run(project, only=["ana-souza"], force=True)
    assert result.rebuilt == ["ana-souza"]
    assert sorted(e["id"] for e in doc["profiles"]) == IDS
    for entry in doc["profiles"]:
        assert (project / "output" / entry["html"]).is_file()
