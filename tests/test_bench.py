"""The benchmark's machinery: a valid synthetic cohort, a tiny end-to-end bench run, and the PDF pool's time limit.

Nothing here asserts how fast anything is; `make bench` measures that.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from pathlib import Path

import pytest

from benchmarks.bench import AS_OF, CYCLE, run, table, write_cohort, write_report
from generator.decide.facts import FLAGS, derive
from generator.render.pdf_pool import PdfJob, PdfPool
from generator.load.profiles import load_profiles
from generator.load.strategy import load_strategy

ROOT = Path(__file__).resolve().parent.parent


def test_synthetic_cohort_is_valid_and_covers_every_band_and_flag(tmp_path: Path) -> None:
    strategy = load_strategy(ROOT / "content" / "data" / "strategy.yaml", "content/data/strategy.yaml")
    ids = write_cohort(tmp_path, 60)
    profiles, problems = load_profiles(tmp_path, default_cycle=CYCLE, passing_standard=strategy.standard_on, as_of=AS_OF)
    assert problems == []
    assert [p.id for p in profiles] == ids
    assert len({p.name for p in profiles}) == 60  # the privacy check needs every name to be unique
    facts = [derive(p, strategy, AS_OF) for p in profiles]
    assert {f["band"]["id"] for f in facts} == {b.id for b in strategy.bands} | {strategy.pending_band.id}
    assert {flag for f in facts for flag in f["flag_list"]} == set(FLAGS)


def test_a_tiny_bench_run_checks_rebuilds_and_reproducibility(tmp_path: Path) -> None:
    hugo = shutil.which("hugo")  # the comparison runs too when Hugo is installed (the Makefile installs it)
    figures = run(4, n_html=3 if hugo else 0, jobs=2, content=ROOT / "content", theme=ROOT / "themes" / "default",
                  hugo=hugo, workdir=tmp_path, hugo_runs=2)
    checks, summary = figures["checks"], figures["summary"]
    assert checks["reproducible_files"] >= 2 * 4  # two guides' page, calendar and PDFs, byte for byte
    assert checks["noop_rebuilt"] == 0 and figures["steps"]["noop"]["kept"] == 4
    assert checks["edit"]["exact"] and 0 < checks["edit"]["rebuilt"] < 4
    assert checks["removal"]["ok"] and checks["removal"]["removed"] == [checks["removal"]["id"]]
    assert summary["met"]["edit_exact"] and summary["met"]["removal_ok"] and summary["met"]["reproducible"]
    assert figures["steps"]["bare_one"]["guides"] == figures["steps"]["bare_jobs"]["guides"] == figures["half"] == 2
    assert figures["steps"]["half"]["rebuilt"] == ["applicant-0000", "applicant-0001"]
    assert all(step["rss_mib"] > 0 for step in figures["steps"].values())
    for name in ("half", "one_job", "bare_one", "bare_jobs"):  # two rounds each (the default); the best counts
        step = figures["steps"][name]
        assert len(step["runs"]) == 2 and step["seconds"] == min(step["runs"])
    assert len(summary["speedup_runs"]) == len(summary["bare_speedup_runs"]) == 2
    one, jobs = figures["steps"]["one_job"]["runs"], figures["steps"]["half"]["runs"]
    assert summary["speedup_runs"] == pytest.approx([one[0] / jobs[0], one[1] / jobs[1]])
    assert summary["speedup"] == pytest.approx(min(one) / min(jobs))
    assert figures["steps"]["full"]["workers_rss_mib"] > 0  # the pool's workers were measured
    text = table(figures)
    assert "overhead: 1 job / bare 1 process" in text and "speedup: 2 jobs vs 1" in text
    assert "best of 2 runs each, in turn" in text and "each round's speedup" in text
    assert summary["speedup_cpu"] == pytest.approx(figures["steps"]["one_job"]["cpu"] / figures["steps"]["half"]["cpu"])
    assert "CPU time, 1 job / all jobs" in text
    if hugo:
        h = figures["hugo"]
        assert h["pages"] == 3 and len(h["ours_runs"]) == len(h["hugo_runs"]) == 2
        assert " build --no-pdf --quiet " in h["command"] and h["ours"]["cpu"] > 0
        assert h["ours"]["wall"] == min(r["wall"] for r in h["ours_runs"])
        assert summary["hugo_ratio"] == pytest.approx(h["ours"]["wall"] / h["hugo_seconds"])
        assert "HTML only, 3 guides vs Hugo" in text and "each run's ratio" in text
    else:
        assert "Hugo" not in text
    written = write_report(figures, tmp_path / "output")
    assert json.loads(written.read_text("utf-8"))["summary"]["speedup"] == pytest.approx(summary["speedup"])


def _jobs(tmp_path: Path, hang: str) -> list[PdfJob]:
    """Three tiny guides, and one whose PDF target is a FIFO nobody reads: writing it never finishes."""
    out = tmp_path / "pdf"
    out.mkdir()
    os.mkfifo(out / f"{hang}.pdf")
    return [PdfJob(id=name, html=f"<!DOCTYPE html><title>{name}</title><p>Guide {name}</p>", base_url=tmp_path.as_uri() + "/",
                   asset_roots=(str(tmp_path),), targets=(str(out / f"{name}.pdf"), str(out / f"{name}-copy.pdf")),
                   title=name, author="bench", created=date(2026, 11, 25).isoformat())
            for name in ("a", hang, "c", "d")]


@pytest.mark.parametrize("workers", [2, 1])
def test_a_guide_past_the_time_limit_fails_alone(tmp_path: Path, workers: int) -> None:
    done: dict[str, int] = {}
    with PdfPool(workers, timeout=4, on_done=lambda job, pages: done.__setitem__(job.id, pages)) as pool:
        for job in _jobs(tmp_path, "stuck"):
            pool.submit(job)
        failed = pool.finish()
    assert list(failed) == ["stuck"] and "longer than 4 s" in failed["stuck"].message
    assert done == {"a": 1, "c": 1, "d": 1}
    for name in done:
        pdf = tmp_path / "pdf" / f"{name}.pdf"
        assert pdf.read_bytes().startswith(b"%PDF") and (tmp_path / "pdf" / f"{name}-copy.pdf").samefile(pdf)
