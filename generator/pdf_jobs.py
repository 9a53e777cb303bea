"""Render many PDFs on every core: a pool of warm WeasyPrint workers, one guide per task.

WeasyPrint is imported once, before the workers fork, and `gc.freeze()` keeps
the imported objects out of the collector so the forked pages stay shared.
Each task is one guide, handed out as workers free up (largest first), so both
cores stay busy to the end. A guide that runs past the time limit fails alone:
the pool is replaced and the remaining guides go on.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Callable, Sequence

from generator.errors import MatchguideError, Problem


@dataclass(frozen=True)
class PdfJob:
    """One guide's PDF: its HTML (in a file, so the parent's memory stays flat) and where it goes."""

    id: str
    html: str
    base_url: str
    asset_roots: tuple[str, ...]
    targets: tuple[str, ...]
    title: str
    author: str
    created: str


def _init_worker() -> None:
    gc.freeze()


def _render(job: PdfJob) -> tuple[str, int | None, Problem | None]:
    from generator.pdf import render_pdf

    try:
        html = Path(job.html).read_text("utf-8") if job.html.endswith(".html") and os.path.isfile(job.html) else job.html
        pages = render_pdf(html, base_url=job.base_url, asset_roots=[Path(r) for r in job.asset_roots],
                           target=Path(job.targets[0]), title=job.title, author=job.author,
                           created=date.fromisoformat(job.created))
        for extra in job.targets[1:]:
            try:
                os.link(job.targets[0], extra)
            except OSError:
                shutil.copyfile(job.targets[0], extra)
        return job.id, pages, None
    except MatchguideError as exc:
        return job.id, None, exc.problems[0]
    except Exception as exc:  # one broken guide must not stop the cohort
        return job.id, None, Problem(f"pdf/{job.id}.pdf", None, None, f"PDF rendering failed: {type(exc).__name__}: {exc}")


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def render_pdfs(jobs: Sequence[PdfJob], *, workers: int | None = None, timeout: float = 120.0,
                on_done: Callable[[PdfJob, int], None] | None = None) -> dict[str, Problem]:
    """Render every job; return the problem of each guide that failed, by applicant id."""
    workers = min(workers or default_workers(), len(jobs)) or 1
    failed: dict[str, Problem] = {}
    by_id = {job.id: job for job in jobs}
    if workers == 1:
        for job in jobs:
            _, pages, problem = _render(job)
            _settle(job, pages, problem, failed, on_done)
        return failed
    import generator.pdf  # noqa: F401  (import WeasyPrint once, before forking)

    pending = sorted(jobs, key=lambda j: -_size(j))
    ctx = multiprocessing.get_context("fork")
    while pending:
        with ctx.Pool(workers, initializer=_init_worker) as pool:
            tasks = [(job, pool.apply_async(_render, (job,))) for job in pending]
            pending = []
            for i, (job, task) in enumerate(tasks):
                try:
                    _, pages, problem = task.get(timeout=timeout)
                except multiprocessing.TimeoutError:
                    failed[job.id] = Problem(f"pdf/{job.id}.pdf", None, None,
                                             f"PDF rendering took longer than {timeout:g} s and was stopped")
                    pool.terminate()
                    pending = [j for j, t in tasks[i + 1:] if not _collect(j, t, failed, on_done)]
                    break
                _settle(by_id[job.id], pages, problem, failed, on_done)
    return failed


def _collect(job: PdfJob, task: multiprocessing.pool.AsyncResult, failed: dict[str, Problem],
             on_done: Callable[[PdfJob, int], None] | None) -> bool:
    """Take a finished task's result; False when it had not finished (it will be run again)."""
    if not task.ready():
        return False
    try:
        _, pages, problem = task.get(timeout=0)
    except Exception:
        return False
    _settle(job, pages, problem, failed, on_done)
    return True


def _settle(job: PdfJob, pages: int | None, problem: Problem | None, failed: dict[str, Problem],
            on_done: Callable[[PdfJob, int], None] | None) -> None:
    if problem is not None:
        failed[job.id] = problem
    elif on_done:
        on_done(job, pages or 0)


def _size(job: PdfJob) -> int:
    try:
        return os.path.getsize(job.html) if job.html.endswith(".html") else len(job.html)
    except OSError:
        return 0
