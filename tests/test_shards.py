"""Shards: `build --shard K/N` partitions the cohort, and `merge` puts the shards back together as one full build."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.project import shard_of
from generator.cli import build_parser, main
from tests.conftest import ROOT

AS_OF = "2026-11-25"
KEY = "shard-test-site-key-0123456789"
SAMPLE_IDS = sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml"))


def make_project(root: Path, profiles: list[str] | None = None) -> Path:
    """content/, themes/ and the sample profiles (or some), plus one invalid profile that every shard reports."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("content", "themes"):
        shutil.copytree(ROOT / name, root / name)
    (root / "profiles").mkdir()
    for pid in profiles or SAMPLE_IDS:
        shutil.copy(ROOT / "profiles" / f"{pid}.yaml", root / "profiles")
    (root / "profiles" / "broken.yaml").write_text(
        "name: Broken Profile\nemail: broken@example.org\ngraduation_year: 2020\nstep1: {result: maybe, attempts: 1}\n")
    return root


def cli(project: Path, monkeypatch: pytest.MonkeyPatch, *args: str, key: str | None = KEY) -> int:
    """The real CLI, run in the project folder with the site key in the environment."""
    monkeypatch.chdir(project)
    if key is None:
        monkeypatch.delenv("MATCHGUIDE_SITE_KEY", raising=False)
    else:
        monkeypatch.setenv("MATCHGUIDE_SITE_KEY", key)
    return main(list(args))


def build(project: Path, monkeypatch, out: str, *args: str, as_of: str = AS_OF, key: str = KEY) -> dict:
    """Build into `out` (the broken profile makes the exit code 1); return the manifest."""
    assert cli(project, monkeypatch, "build", "--as-of", as_of, "--out", out, "--quiet", *args, key=key) == 1
    return json.loads((project / out / "manifest.json").read_text())


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder (hidden ones included) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def digest(folder: Path) -> dict[str, str]:
    return {rel: hashlib.sha256(data).hexdigest() for rel, data in snapshot(folder).items()}


# ---------------------------------------------------------------- shard_of and --shard

def test_shards_partition_the_cohort():
    for n in (1, 2, 3, 4, 7):
        shards = [[i for i in SAMPLE_IDS if shard_of(i, n) == k] for k in range(n)]
        assert sorted(sum(shards, [])) == SAMPLE_IDS
    assert all(0 <= shard_of(f"applicant-{i}", 4) < 4 for i in range(200))
    sizes = [sum(shard_of(f"applicant-{i}", 4) == k for i in range(400)) for k in range(4)]
    assert min(sizes) > 60  # spread out, not all in one shard


def test_shard_of_is_the_same_in_another_process():
    """Not Python's salted hash(): another interpreter with another hash seed agrees."""
    code = "import sys; from generator.project import shard_of; print([shard_of(i, 3) for i in sys.argv[1:]])"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    proc = subprocess.run([sys.executable, "-c", code, *SAMPLE_IDS], capture_output=True, text=True, env=env,
                          cwd=ROOT, check=True)
    assert proc.stdout.strip() == str([shard_of(i, 3) for i in SAMPLE_IDS])


@pytest.mark.parametrize("bad", ["0/3", "4/3", "1/0", "x/3", "3"])
def test_shard_option_is_checked(bad: str, capsys):
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["build", "--shard", bad])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and "--shard" in err and ("K/N such as" in err or "1 <= K <= N" in err)


def test_merge_command_is_documented(capsys):
    for argv in (["--help"], ["merge", "--help"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 0
    text = capsys.readouterr().out
    assert re.search(r"^\s+merge\s+combine the output folders of shard builds", text, re.M)
    assert "usage: matchguide merge [-h]" in text and "OUT SHARD_DIR [SHARD_DIR ...]" in text
    assert "example: matchguide merge output shards/shard-1" in text


# ---------------------------------------------------------------- merge = one full build

@pytest.fixture(scope="module")
def cohort(tmp_path_factory) -> Path:
    """The sample cohort built whole and in three shards, HTML only."""
    project = make_project(tmp_path_factory.mktemp("cohort"))
    with pytest.MonkeyPatch.context() as mp:
        build(project, mp, "full", "--no-pdf")
        for k in (1, 2, 3):
            build(project, mp, f"shard-{k}", "--no-pdf", "--shard", f"{k}/3")
    return project


def test_three_shards_merged_equal_one_full_build(cohort: Path, monkeypatch, capsys):
    shards = [json.loads((cohort / f"shard-{k}" / "manifest.json").read_text()) for k in (1, 2, 3)]
    assert all(s["profiles"] for s in shards)  # every shard has guides of its own
    assert all(len(s["errors"]) == 1 and "broken.yaml" in s["errors"][0]["source"] for s in shards)
    capsys.readouterr()
    assert cli(cohort, monkeypatch, "merge", "merged", "shard-1", "shard-2", "shard-3") == 1  # the broken profile
    out = capsys.readouterr()
    assert "merged 3 shard(s): 16 guide(s), 1 problem(s)" in out.out and "broken.yaml" in out.err
    full, merged = snapshot(cohort / "full"), snapshot(cohort / "merged")
    assert sorted(merged) == sorted(full)
    assert [rel for rel in full if merged[rel] != full[rel]] == []
    assert "manifest.json" in full and "roster.html" in full and "site/.nojekyll" in full
    doc = json.loads(merged["manifest.json"])
    assert [e["id"] for e in doc["profiles"]] == SAMPLE_IDS and len(doc["errors"]) == 1


@pytest.mark.slow
def test_merge_with_pdfs_equals_a_full_build(tmp_path: Path, monkeypatch):
    first = SAMPLE_IDS[0]
    second = next(i for i in SAMPLE_IDS if shard_of(i, 2) != shard_of(first, 2))
    project = make_project(tmp_path / "p", [first, second])
    build(project, monkeypatch, "full", "--jobs", "2")
    for k in (1, 2):
        assert len(build(project, monkeypatch, f"s{k}", "--jobs", "1", "--shard", f"{k}/2")["profiles"]) == 1
    assert cli(project, monkeypatch, "merge", "merged", "s1", "s2") == 1
    full, merged = snapshot(project / "full"), snapshot(project / "merged")
    assert sorted(merged) == sorted(full) and len([r for r in full if r.endswith(".pdf")]) == 4
    assert [rel for rel in full if merged[rel] != full[rel]] == []


# ---------------------------------------------------------------- shards that do not fit are refused

@pytest.fixture()
def shards(cohort: Path, tmp_path: Path) -> Path:
    """A private copy of the cohort's shard folders, and an earlier merge in output/."""
    for k in (1, 2, 3):
        shutil.copytree(cohort / f"shard-{k}", tmp_path / f"shard-{k}")
    for name in ("profiles", "content", "themes"):
        (tmp_path / name).symlink_to(cohort / name)
    shutil.copytree(cohort / "full", tmp_path / "output")
    return tmp_path


def refused(project: Path, monkeypatch, capsys, *shard_dirs: str, key: str | None = KEY) -> str:
    """Merge must fail, name the problem, and leave output/ exactly as it was."""
    before = digest(project / "output")
    capsys.readouterr()
    assert cli(project, monkeypatch, "merge", "output", *shard_dirs, key=key) == 1
    err = capsys.readouterr().err
    assert digest(project / "output") == before
    assert "the previous output was left as it was" in err
    return err


def test_a_shared_file_that_differs_is_refused(shards: Path, monkeypatch, capsys):
    (shards / "shard-2" / "site" / "assets" / "style.css").write_text("body { color: red }\n")
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "shard-3")
    assert "shard-2/site/assets/style.css: differs from" in err and "shard-1/site/assets/style.css" in err


def test_a_missing_shared_file_is_refused(shards: Path, monkeypatch, capsys):
    (shards / "shard-3" / "site" / "404.html").unlink()
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "shard-3")
    assert "shard-3/site/404.html: missing, but present in" in err


def test_overlapping_shards_are_refused(shards: Path, monkeypatch, capsys):
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "shard-1")
    assert "also built in" in err and "the shards overlap" in err


def test_shards_of_different_build_dates_are_refused(shards: Path, cohort: Path, monkeypatch, capsys):
    build(shards, monkeypatch, "late", "--no-pdf", "--shard", "3/3", as_of="2026-11-26")
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "late")
    assert "late/manifest.json: as_of: is '2026-11-26', but '2026-11-25'" in err


def test_shards_built_with_another_key_are_refused(shards: Path, monkeypatch, capsys):
    build(shards, monkeypatch, "rekeyed", "--no-pdf", "--shard", "3/3", key="another-site-key-abcdefghij")
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "rekeyed")
    assert "rekeyed/manifest.json" in err and "guide is not at the address this site key gives" in err


def test_merge_without_the_site_key_is_refused(shards: Path, monkeypatch, capsys):
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "shard-3", key=None)
    assert "no site key: set MATCHGUIDE_SITE_KEY" in err
    assert not (shards / ".matchguide" / "site.key").exists()  # and no new key was made


def test_a_guide_without_a_manifest_entry_is_refused(shards: Path, monkeypatch, capsys):
    stray = shards / "shard-1" / "site" / "g" / "strayguidefolder" / "index.html"
    stray.parent.mkdir()
    stray.write_text("<p>old guide</p>")
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "shard-3")
    assert "shard-1/site/g/strayguidefolder/index.html: belongs to no guide in the shard's manifest" in err


def test_a_folder_that_is_not_a_build_is_refused(shards: Path, monkeypatch, capsys):
    (shards / "empty").mkdir()
    err = refused(shards, monkeypatch, capsys, "shard-1", "empty")
    assert "empty/manifest.json: not the output folder of a matchguide build" in err


def test_the_merged_site_gets_the_privacy_check(shards: Path, monkeypatch, capsys):
    """A shard checks only its own applicants; the merge checks everyone against the merged site."""
    doc = json.loads((shards / "shard-1" / "manifest.json").read_text())
    other = json.loads((shards / "shard-2" / "manifest.json").read_text())["profiles"][0]
    guide = shards / "shard-1" / doc["profiles"][0]["html"]
    guide.write_text(guide.read_text().replace("<main id=\"main\">", f"<main id=\"main\"><p>{other['name']}</p>"))
    err = refused(shards, monkeypatch, capsys, "shard-1", "shard-2", "shard-3")
    assert f"{doc['profiles'][0]['html']}: published file exposes the name of {other['source']}" in err
    assert not (shards / ".output.staging").exists()
