"""The Hugo comparison of `make bench`: whole `matchguide build --no-pdf` commands against Hugo's own.

Hugo gets a minimal site (one config, one layout, no theme) of Markdown pages sized so its pages come out
about as large as our guides; each side runs as the user runs it, start-up and exit included.
"""

from __future__ import annotations

import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path
from typing import Callable, Sequence


def hugo_site(folder: Path, pages: int, page_bytes: int) -> None:
    """A minimal Hugo site: config, one layout, `pages` Markdown pages of about `page_bytes` bytes."""
    (folder / "layouts" / "_default").mkdir(parents=True)
    (folder / "content" / "g").mkdir(parents=True)
    (folder / "config.toml").write_text('baseURL = "https://example.org/"\ntitle = "bench"\n'
                                        'disableKinds = ["home", "section", "taxonomy", "term", "RSS", "sitemap", '
                                        '"robotsTXT", "404"]\n')
    (folder / "layouts" / "_default" / "single.html").write_text(
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{{ .Title }}</title>'
        '<link rel="stylesheet" href="/assets/style.css"></head><body><main><h1>{{ .Title }}</h1>'
        "{{ .Content }}</main></body></html>\n")
    words = ("score program letter clinical month exam plan study week application residency match interview "
             "visa research the and of your with for").split()
    for i in range(pages):
        rng, parts = random.Random(i), [f"---\ntitle: Guide {i}\n---\n"]
        while sum(map(len, parts)) < page_bytes:
            parts.append(f"## Section {len(parts)}\n\n" + " ".join(rng.choice(words) for _ in range(60))
                         + " **important** and *emphasis*.\n\n"
                         + "".join(f"- {' '.join(rng.choice(words) for _ in range(9))}\n" for _ in range(4))
                         + "\n| score | band |\n|---|---|\n" + "".join(f"| {200 + k} | {rng.choice(words)} |\n"
                                                                      for k in range(4)) + "\n")
        (folder / "content" / "g" / f"p{i:04d}.md").write_text("".join(parts), "utf-8")


def hugo_comparison(root: Path, project: Path, pages: int, hugo: str, jobs: int, guide_bytes: int, *, runs: int,
                    write_cohort: Callable[[Path, int], list[str]], as_of: date) -> dict:
    """Hugo building `pages` Markdown pages against `matchguide build --no-pdf` of as many guides.

    Each side is one whole command as a user runs it: start-up, imports, the build and the exit, timed from
    outside (wall) with its CPU (its own and its children's). The two run in turn, `runs` times each, into
    fresh folders; the ratio is best against best, and every run is kept to show the noise.
    """
    big = root / "big"
    shutil.copytree(project / "content", big / "content")
    shutil.copytree(project / "theme", big / "theme")
    write_cohort(big / "profiles", pages)
    site = root / "hugo"
    hugo_site(site, pages, int(guide_bytes * 0.8))
    ours_command = [*matchguide_command(), "build", "--no-pdf", "--quiet", "--as-of", as_of.isoformat(),
                    "--jobs", str(jobs), "--profiles", "profiles", "--content", "content", "--theme", "theme"]
    ours, theirs = [], []
    for run_index in range(runs):
        out = big / f"out-{run_index}"
        ours.append(_timed([*ours_command, "--out", out.name], cwd=big))
        built = json.loads((out / "manifest.json").read_text("utf-8"))["profiles"]
        if len(built) != pages:
            raise RuntimeError(f"matchguide built {len(built)} of {pages} guides")
        theirs.append(_timed([hugo, "--quiet", "-s", str(site), "-d", str(site / f"public-{run_index}")], cwd=site))
    version = subprocess.run([hugo, "version"], capture_output=True, text=True).stdout.split(" ")[0:2]
    made = list((site / "public-0" / "g").glob("*/index.html"))
    best_ours, best_hugo = min(ours, key=lambda r: r["wall"]), min(theirs, key=lambda r: r["wall"])
    return {"pages": len(made), "hugo": " ".join(version), "runs": runs, "command": " ".join(ours_command),
            "ours": best_ours, "hugo_seconds": best_hugo["wall"], "hugo_cpu": best_hugo["cpu"],
            "ours_runs": ours, "hugo_runs": theirs,
            "hugo_page_bytes": average_size(made),
            "our_page_bytes": average_size(list((big / "out-0" / "site" / "g").glob("*/index.html")))}


def matchguide_command() -> list[str]:
    """The `matchguide` command of this environment (the installed script beside this Python, else `-m`)."""
    script = Path(sys.executable).with_name("matchguide")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "generator"]


def _timed(command: list[str], cwd: Path) -> dict:
    """Run a whole command; its wall time, CPU time (with its children's) and the load average before it."""
    load = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"wall": wall, "cpu": cpu, "load": load}


def average_size(files: Sequence[Path]) -> int:
    """The average size of some files, in bytes (0 for none)."""
    return int(sum(f.stat().st_size for f in files) / max(1, len(files)))
