"""The PDF comparisons of `make bench`: the build with all jobs and with one, each against bare WeasyPrint.

Run from benchmarks/bench.py (its child processes call `child_bare`); docs/performance.md defines each figure.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Callable

COMPARED = ("half", "one_job", "bare_one", "bare_jobs")  # the runs of the PDF comparisons, in round 1's order


def pdf_sources(options: Any, folder: Path, n: int, ids: list[str]) -> str:
    """Load the cohort of `options` (all n must be valid), write the PDF HTML of the guides of `ids`
    exactly as the build renders it (`build.decide`, then the build's own page renderer, program list and all),
    and return the base URL WeasyPrint gets."""
    from generator.build import decide, render_pages
    from generator.project import load_cohort, load_inputs

    inputs = load_inputs(options)
    profiles, problems = load_cohort(options, inputs)
    if problems or len(profiles) != n:
        raise RuntimeError(f"synthetic cohort invalid: {len(profiles)}/{n} loaded; {problems[:3]}")
    folder.mkdir(parents=True, exist_ok=True)
    for profile in (p for p in profiles if p.id in ids):
        pages, problems = render_pages(decide(profile, inputs), True, inputs, options)
        if problems:
            raise RuntimeError(f"{profile.id} did not render: {problems[:3]}")
        (folder / f"{profile.id}.html").write_text(pages["pdf"], "utf-8")
    return inputs.theme.assets.resolve().as_uri() + "/"


def comparisons(project: Path, root: Path, half: list[str], base_url: str, jobs: int, rounds: int, *,
                build: Callable[..., dict], run_child: Callable[[str, dict], dict]) -> dict:
    """The four runs the PDF targets compare (the build with all jobs and with 1, bare WeasyPrint with as many
    processes and with 1), `rounds` times each: the best of each, with every run's figures under `runs`.

    The order turns round each time (A B C D, then D C B A), so a machine that slows down or speeds up during the
    comparison weighs on every side alike; best against best, as in the Hugo comparison.
    """
    def measure(name: str, k: int) -> dict:
        out = root / f"{name}-{k}"
        if name in ("half", "one_job"):
            figures = build(project, out, jobs=jobs if name == "half" else 1, only=half)
        else:
            figures = run_child("bare", {"sources": str(root / "sources"), "base_url": base_url, "out": str(out),
                                          "jobs": 1 if name == "bare_one" else jobs})
        if k or name.startswith("bare"):  # round 1's two builds stay, for the byte-for-byte check
            shutil.rmtree(out)
        return figures

    runs: dict[str, list[dict]] = {name: [] for name in COMPARED}
    for k in range(max(1, rounds)):
        for name in COMPARED if k % 2 == 0 else COMPARED[::-1]:
            runs[name].append(measure(name, k))
    return {name: {**min(found, key=lambda r: r["seconds"]), "runs": [r["seconds"] for r in found]}
            for name, found in runs.items()}


def _render_bare(args: tuple[str, str, str]) -> None:
    import weasyprint

    source, base_url, target = args
    # The same output as the build's: a tagged PDF (its structure for screen readers is WeasyPrint's own work).
    weasyprint.HTML(filename=source, base_url=base_url).write_pdf(target, pdf_tags=True)


def child_bare(spec: dict) -> dict:
    """Bare WeasyPrint: HTML(filename).write_pdf() per guide, largest first; a plain fork pool for several."""
    import multiprocessing

    sources = sorted(Path(spec["sources"]).glob("*.html"), key=lambda p: -p.stat().st_size)
    out = Path(spec["out"])
    out.mkdir(parents=True, exist_ok=True)
    tasks = [(str(s), spec["base_url"], str(out / f"{s.stem}.pdf")) for s in sources]
    if spec["jobs"] == 1:
        for task in tasks:
            _render_bare(task)
    else:
        with multiprocessing.get_context("fork").Pool(spec["jobs"]) as pool:
            list(pool.imap_unordered(_render_bare, tasks, chunksize=1))
    return {"guides": len(tasks)}
