"""Render many PDFs on every core: a pool of warm WeasyPrint workers, one guide per task.

WeasyPrint is imported once, before the workers fork, and `gc.freeze()` keeps
the inherited objects out of the collector so the forked pages stay shared.
Workers live for the whole build, so each keeps its font configuration (and
whatever else `generator.render.pdf` caches per process) from one guide to the next.

Guides can be submitted while the build is still rendering HTML: each worker
is handed one guide at a time, the largest waiting one first, so every core
stays busy to the end. A guide that runs past the time limit fails alone: its
worker is killed and replaced, and the other guides go on. With one job there
is one worker, and it starts after the HTML, so the build uses one core.
"""

from __future__ import annotations

import gc
import heapq
import multiprocessing
import os
import shutil
import signal
import time
from dataclasses import dataclass
from datetime import date
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

from generator.errors import MatchguideError, Problem
from generator.render.lifeline import die_with_parent

OnDone = Callable[["PdfJob", int], None]
After = Callable[[Path], None]  # run in the worker on each PDF it has written


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


def _render(job: PdfJob) -> tuple[int | None, Problem | None]:
    from generator.render.pdf import render_pdf

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
        return pages, None
    except MatchguideError as exc:
        return None, exc.problems[0]
    except Exception as exc:  # one broken guide must not stop the cohort
        return None, _problem(job, f"PDF rendering failed: {type(exc).__name__}: {exc}")


def _problem(job: PdfJob, message: str) -> Problem:
    return Problem(f"pdf/{job.id}.pdf", None, None, message)


def _overtime(job: PdfJob, timeout: float) -> Problem:
    return _problem(job, f"PDF rendering took longer than {timeout:g} s and was stopped")


def _serve(conn: Connection, others: list[Connection], parent_pid: int, after: After | None = None) -> None:
    """A worker's life: take a job, render it, run `after` on the PDF, send back (pages, problem); stop at None or
    a closed pipe.

    The worker dies with the build: killed with it (even mid-guide), or at the end of its pipe.
    """
    die_with_parent(parent_pid)
    # The build process owns Ctrl-C; the pipes of the other workers are theirs (so a dead parent means EOF here).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for other in others:
        other.close()
    gc.freeze()
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        pages, problem = _render(job)
        if problem is None and after is not None:
            after(Path(job.targets[0]))
        try:
            conn.send((pages, problem))
        except OSError:  # the build is gone
            return


def default_workers() -> int:
    """One worker per CPU this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


@dataclass
class _Worker:
    process: Any
    conn: Connection
    job: PdfJob | None = None
    started: float = 0.0


class PdfPool:
    """Warm WeasyPrint workers, started on the first guide; `submit` guides, then `finish` for the failures."""

    def __init__(self, workers: int | None = None, *, timeout: float = 120.0, on_done: OnDone | None = None,
                 after: After | None = None):
        self.size = max(1, workers or default_workers())
        self.timeout = timeout
        self.on_done = on_done
        self.after = after  # run in the worker on each PDF written (the build reads its text there, while it is hot)
        self.failed: dict[str, Problem] = {}
        self._queue: list[tuple[int, int, PdfJob]] = []
        self._workers: list[_Worker] = []
        self.submitted = 0

    def __enter__(self) -> PdfPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def submit(self, job: PdfJob) -> None:
        """Queue one guide; with several jobs it goes to the next free worker at once, else it waits for `finish`."""
        self.submitted += 1
        heapq.heappush(self._queue, (-_size(job), self.submitted, job))
        if self.size > 1:
            self._step(block=False)

    def finish(self) -> dict[str, Problem]:
        """Wait for every submitted guide; return the problem of each that failed, by applicant id."""
        while self._queue or any(w.job for w in self._workers):
            self._step(block=True)
        self.close()
        return self.failed

    def close(self) -> None:
        """Stop the workers (a guide still running is abandoned: the build is being thrown away)."""
        for worker in self._workers:
            if worker.job is None:
                try:
                    worker.conn.send(None)
                except OSError:
                    pass
            else:
                worker.process.kill()
        for worker in self._workers:
            worker.process.join(5)
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join()
            worker.conn.close()
        self._workers = []

    def _start(self) -> None:
        import generator.render.pdf  # noqa: F401  (import WeasyPrint once, before forking)

        gc.collect()
        for _ in range(self.size):
            self._workers.append(self._spawn())

    def _spawn(self) -> _Worker:
        parent, child = multiprocessing.Pipe()
        others = [w.conn for w in self._workers] + [parent]
        process = multiprocessing.get_context("fork").Process(
            target=_serve, args=(child, others, os.getpid(), self.after), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def _step(self, block: bool) -> None:
        """Hand out waiting guides to idle workers, then take the results that are ready."""
        if not self._workers:
            self._start()
        for i, worker in enumerate(self._workers):
            if worker.job is None and self._queue:
                entry = heapq.heappop(self._queue)
                try:
                    worker.conn.send(entry[2])
                except OSError:  # the idle worker is gone: the guide waits for its replacement
                    heapq.heappush(self._queue, entry)
                    self._workers[i] = self._respawn(worker)
                    continue
                worker.job, worker.started = entry[2], time.monotonic()
        busy = [w for w in self._workers if w.job]
        if not busy:
            return
        now = time.monotonic()
        wait_for = max(0.0, min(w.started + self.timeout for w in busy) - now) if block else 0.0
        ready = set(wait([w.conn for w in busy], wait_for))
        for i, worker in enumerate(self._workers):
            job = worker.job
            if job is None:
                continue
            if worker.conn in ready:
                try:
                    pages, problem = worker.conn.recv()
                except (EOFError, OSError):
                    code = worker.process.exitcode
                    self._replace(i, _problem(job, f"the PDF worker died while rendering this guide (exit code {code})"))
                    continue
                worker.job = None
                self._settle(job, pages, problem)
            elif time.monotonic() - worker.started >= self.timeout:
                self._replace(i, _overtime(job, self.timeout))

    def _replace(self, index: int, problem: Problem) -> None:
        worker = self._workers[index]
        assert worker.job is not None
        self.failed[worker.job.id] = problem
        self._workers[index] = self._respawn(worker)

    def _respawn(self, worker: _Worker) -> _Worker:
        worker.process.kill()
        worker.process.join()
        worker.conn.close()
        return self._spawn()

    def _settle(self, job: PdfJob, pages: int | None, problem: Problem | None) -> None:
        if problem is not None:
            self.failed[job.id] = problem
        elif self.on_done:
            self.on_done(job, pages or 0)


def _size(job: PdfJob) -> int:
    try:
        return os.path.getsize(job.html) if job.html.endswith(".html") else len(job.html)
    except OSError:
        return 0
