"""The documentation a user reads lives in the project, and agrees with the code and the data."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from generator.load.profiles import ROOT_FIELDS, STEP1_FIELDS, STEP2_FIELDS
from tests.conftest import ROOT

# The upstream contracts, beside the checkout (or beside its worktree folder); only tests may look at them.
SPEC = next((p / "shared" / "spec" for p in (ROOT.parent, ROOT.parent.parent) if (p / "shared" / "spec").is_dir()),
            ROOT.parent / "shared" / "spec")


def tracked_files() -> list[str]:
    try:
        out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    return [name for name in out.decode().split("\0") if name]


def test_nothing_a_user_reads_points_outside_the_project():
    files = tracked_files()
    assert "README.md" in files
    offenders = []
    for name in files:
        if name.startswith("tests/") or not (ROOT / name).is_file():
            continue
        for number, line in enumerate((ROOT / name).read_bytes().splitlines(), start=1):
            if b"shared/" in line:
                offenders.append(f"{name}:{number}: {line.decode(errors='replace').strip()}")
    assert not offenders, "a user's clone has no shared/ folder:\n" + "\n".join(offenders)


def test_project_docs_exist_and_every_relative_link_resolves():
    for name in ("profile-format.md", "strategy-rules.md", "manifest.md"):
        assert (ROOT / "docs" / name).stat().st_size > 1000
    broken = []
    for doc in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+\.md)(?:#[^)]*)?\)", doc.read_text("utf-8")):
            if "://" not in target and not (doc.parent / target).is_file():
                broken.append(f"{doc.relative_to(ROOT)} -> {target}")
    assert not broken


def test_readme_advisors_and_new_profiles_point_to_the_profile_format(tmp_path):
    assert "docs/profile-format.md" in (ROOT / "README.md").read_text()
    assert "(profile-format.md)" in (ROOT / "docs" / "advisors.md").read_text()
    done = subprocess.run([sys.executable, "-m", "generator", "new", "aisha-rahman", "--dir", str(tmp_path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    header = (tmp_path / "aisha-rahman.yaml").read_text().splitlines()[0]
    assert "docs/profile-format.md" in header and "shared" not in header
    assert (ROOT / "docs" / "profile-format.md").is_file()


def test_profile_format_documents_every_field_the_loader_accepts():
    text = (ROOT / "docs" / "profile-format.md").read_text()
    rows = set(re.findall(r"^\| `([a-z0-9_.]+)`", text, flags=re.M))
    expected = {f for f in ROOT_FIELDS if f not in ("step1", "step2_ck")} | {"step2_ck"}
    expected |= {f"step1.{f}" for f in STEP1_FIELDS} | {f"step2_ck.{f}" for f in STEP2_FIELDS}
    assert expected <= rows, f"fields the loader accepts but the doc lacks: {sorted(expected - rows)}"
    assert rows <= expected, f"fields the doc lists but the loader refuses: {sorted(rows - expected)}"


def _table(text: str, heading: str) -> list[list[str]]:
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    lines = [line for line in section.splitlines() if line.startswith("|")][2:]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def _bound(text: str) -> tuple[int | None, int | None]:
    numbers = [int(n) for n in re.findall(r"\d+", text)]
    if "or more" in text:
        return numbers[0], None
    if "below" in text:
        return None, numbers[0] - 1
    return numbers[0], numbers[1]


def test_strategy_rules_tables_agree_with_the_data_file(strategy):
    text = (ROOT / "docs" / "strategy-rules.md").read_text()
    bands = [row for row in _table(text, "## Score bands") if row[0] != "`pending`"]
    assert [row[0].strip("`") for row in bands] == [band.id for band in strategy.bands]
    for row, band in zip(bands, strategy.bands):
        assert _bound(row[1]) == (band.min, band.max), row
        assert row[2].lower()[:15] == band.opens.lower()[:15], row
    tiers = _table(text, "## How many programs to apply to")[:len(strategy.tiers)]
    upper = None
    for row, tier in zip(tiers, strategy.tiers):
        assert row[0] == tier.id
        assert _bound(row[1]) == (tier.min, upper), row
        assert [int(n) for n in re.findall(r"\d+", row[2])] == list(tier.programs), row
        upper = None if tier.min is None else tier.min - 1
    assert f"at least {strategy.failure_min_tier}" in text
    assert f"more than {strategy.long_gap_years} years" in text
    assert f"{strategy.score_release_days} days after the exam" in text
    assert f"below {strategy.delay_practice_below} or the question-bank average is below " \
           f"{strategy.delay_qbank_below:g}%" in text


@pytest.mark.skipif(not SPEC.is_dir(), reason="the upstream contracts are not beside this checkout")
def test_project_docs_cover_the_upstream_contracts():
    flags = set(re.findall(r"^\| `([a-z0-9_]+)`", (SPEC / "strategy-rules.md").read_text().split("## Flags")[1]
                           .split("\n## ")[0], flags=re.M))
    ours = (ROOT / "docs" / "strategy-rules.md").read_text()
    assert flags and all(f"`{flag}`" in ours for flag in flags)
    keys = re.findall(r'^\s+"([a-z_]+)":', (SPEC / "manifest.md").read_text(), flags=re.M)
    manifest_doc = (ROOT / "docs" / "manifest.md").read_text()
    assert keys and all(f"`{key}`" in manifest_doc for key in keys)


def test_the_module_map_matches_the_layout():
    """docs/architecture.md names every module of generator/ (a row, or the tree for the top level), and
    every module it names exists, so a newcomer can go from the map to the code in one hop."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    package = ROOT / "generator"
    modules = {p.relative_to(package).as_posix() for p in package.rglob("*.py")
               if p.name not in ("__init__.py", "__main__.py") and "__pycache__" not in p.parts}
    tree = text.split("```", 2)[1]  # the layout block at the top
    named = set(re.findall(r"`((?:load|decide|render|write|deliver|authoring)/[a-z_]+\.py)`", text))
    missing = sorted(m for m in modules if m not in named and not ("/" not in m and re.search(rf"\b{m}\b", tree)))
    assert not missing, f"docs/architecture.md does not list: {', '.join(missing)}"
    gone = sorted(named - modules)
    assert not gone, f"docs/architecture.md lists modules that do not exist: {', '.join(gone)}"
