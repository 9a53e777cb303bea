"""The program-list measurements of `make bench`, on a tiny cohort."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks import bench
from benchmarks.program_lists import PROGRAM_ROWS, child_read, compare, program_sheets
from generator.load.programs import load_programs
from tests.conftest import ROOT


def test_the_bench_spreadsheets_hold_the_same_programs(tmp_path: Path):
    csv_path, xlsx_path = program_sheets(tmp_path, 120)
    a, b = load_programs(csv_path), load_programs(xlsx_path)
    assert a.ok and b.ok and len(a.programs) == 120 and a.programs == b.programs and a.digest == b.digest
    figures = child_read({"csv": str(csv_path), "xlsx": str(xlsx_path), "rows": 120})
    assert figures["csv_seconds"] > 0 and figures["xlsx_seconds"] > 0


@pytest.mark.slow
def test_a_tiny_program_list_comparison(tmp_path: Path):
    project = tmp_path / "project"
    shutil.copytree(ROOT / "content", project / "content")
    shutil.copytree(ROOT / "themes" / "default", project / "theme")
    figures = compare(tmp_path, project, 6, 2, build=bench._build, run_child=bench._run_child,
                      write_cohort=bench.write_cohort)
    assert figures["rows"] == PROGRAM_ROWS and figures["decide"]["guides"] == 6 and figures["decide"]["lists"] > 0
    assert figures["with"]["rebuilt"] and figures["without"]["rebuilt"]
    summary = bench.summarize({**_fake_rest(), "program_list": figures})
    assert {"list_ratio", "decide_pct", "xlsx_ratio", "list_memory_ratio"} <= set(summary)


def _fake_rest() -> dict:
    step = {"seconds": 1.0, "cpu": 1.0, "rss_mib": 10.0, "workers_rss_mib": 10.0, "wall": 1.0}
    steps = {name: dict(step) for name in ("full", "html", "noop")}
    steps.update({name: {**step, "runs": [1.0]} for name in ("half", "one_job", "bare_one", "bare_jobs")})  # one round
    checks = {"edit": {"exact": True}, "removal": {"ok": True}, "reproducible_files": 1}
    return {"steps": steps, "n": 2, "half": 1, "checks": checks}
