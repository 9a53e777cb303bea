"""`make bench`: build a synthetic cohort, time it against bare WeasyPrint and Hugo, write output/bench.json.

Every figure comes from this one run on this machine (docs/performance.md says
what each one means). Each build and each bare-WeasyPrint run is a child
process (`python -m benchmarks.bench --child KIND SPEC`), so its time, CPU and
peak memory (the process itself, and separately its PDF workers) are its own.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Sequence

from benchmarks import bare
from benchmarks.cohort import AS_OF, CYCLE, synthetic_profile, write_cohort  # noqa: F401  (tests import them here)
from benchmarks.hugo import average_size, hugo_comparison
from generator import GENERATOR
from generator.render.pdf_pool import default_workers

TARGETS = {"overhead": 1.10, "speedup": 1.85, "noop_pct": 3.0, "hugo_ratio": 2.0, "memory_ratio": 1.2,
           "list_ratio": 1.05, "xlsx_ratio": 2.0}


def _options(project: Path, out: Path, **extra: Any) -> Any:
    from generator.project import BuildOptions

    return BuildOptions(profiles=project / "profiles", content=project / "content", theme=project / "theme",
                        out=out, state=project / "state", **extra)


# -- child processes --------------------------------------------------------------------------------


def _child(kind: str, spec: dict) -> dict:
    """Run one measured task in this (fresh) process and return its figures."""
    if kind == "bare" or spec.get("pdf"):
        import generator.render.pdf  # noqa: F401  (WeasyPrint's one-off import stays outside the clock, for both sides)

    start, cpu = time.perf_counter(), _cpu()
    from benchmarks import program_lists

    children = {"build": _child_build, "bare": bare.child_bare, "lists": program_lists.child_lists,
                "read": program_lists.child_read}
    figures = children[kind](spec)
    figures["seconds"] = time.perf_counter() - start
    figures["cpu"] = _cpu() - cpu
    figures["rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    figures["workers_rss_mib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return figures


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _child_build(spec: dict) -> dict:
    from generator.build import build

    programs = Path(spec["programs"]) if spec.get("programs") else None
    options = _options(Path(spec["project"]), Path(spec["out"]), as_of=AS_OF, pdf=spec["pdf"], jobs=spec["jobs"],
                       only=spec["only"], programs=programs)
    result = build(options)
    return {"rebuilt": result.rebuilt, "kept": len(result.kept), "removed": result.removed,
            "problems": [str(p) for p in result.problems]}


def _run_child(kind: str, spec: dict) -> dict:
    """Run a child task; its figures, plus `wall`: the whole command, interpreter start-up included."""
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.bench", "--child", kind, json.dumps(spec)],
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {kind} failed:\n{proc.stderr[-3000:]}")
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    figures.update(wall=wall, load=load)
    return figures


# -- the steps ----------------------------------------------------------------------------------------


def _build(project: Path, out: Path, *, jobs: int, pdf: bool = True, only: list[str] | None = None) -> dict:
    figures = _run_child("build", {"project": str(project), "out": str(out), "jobs": jobs, "pdf": pdf, "only": only})
    if figures["problems"]:
        raise RuntimeError(f"build had problems: {figures['problems'][:3]}")
    return figures


def same_files(a: Path, b: Path) -> int:
    """The number of files in two trees; raise unless both hold the same paths with the same bytes."""
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    files_b = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    if files_a != files_b:
        raise AssertionError(f"the two builds made different files: {set(files_a) ^ set(files_b)}")
    differ = [str(p) for p in files_a if (a / p).read_bytes() != (b / p).read_bytes()]
    if differ:
        raise AssertionError(f"not byte-identical: {differ[:5]}")
    return len(files_a)


def edit_rarest_section(project: Path, manifest: dict) -> tuple[str, set[str]]:
    """Append a sentence to the section the fewest guides include; return its id and those guides."""
    counts: dict[str, set[str]] = {}
    for entry in manifest["profiles"]:
        for section in entry["sections"]:
            counts.setdefault(section, set()).add(entry["id"])
    section = min((s for s, ids in counts.items() if len(ids) < len(manifest["profiles"])),
                  key=lambda s: (len(counts[s]), s))
    for path in sorted((project / "content" / "sections").glob("*.md")):
        text = path.read_text("utf-8")
        if f"\nid: {section}\n" in text.split("\n---", 1)[0] + "\n":
            path.write_text(text.rstrip("\n") + "\n\nThis sentence was added by the benchmark.\n", "utf-8")
            return section, counts[section]
    raise RuntimeError(f"no file for section {section!r}")


# -- the run ------------------------------------------------------------------------------------------


def run(n: int, *, n_html: int = 1000, jobs: int | None = None, content: Path = Path("content"),
        theme: Path = Path("themes/default"), hugo: str | None = "hugo", workdir: Path | None = None,
        hugo_runs: int = 3, n_lists: int | None = None, pdf_rounds: int = 2) -> dict:
    """Every measurement and check of the benchmark, for a synthetic cohort of n; the figures as a dict.

    The full build, no-op, edit and removal use all n guides; the comparisons (1 job against all jobs, each
    against bare WeasyPrint, `pdf_rounds` times) and the reproducibility check use the first n/2, which also
    shows memory is flat.
    """
    jobs = jobs or default_workers()
    with tempfile.TemporaryDirectory(prefix="matchguide-bench-", dir=workdir) as tmp:
        root = Path(tmp)
        project = root / "project"
        shutil.copytree(content, project / "content")
        shutil.copytree(theme, project / "theme")
        half = write_cohort(project / "profiles", n)[: max(1, n // 2)]
        base_url = bare.pdf_sources(_options(project, project / "out-check", as_of=AS_OF), root / "sources", n, half)
        steps: dict[str, Any] = {"full": _build(project, root / "a", jobs=jobs)}
        noop = steps["noop"] = _build(project, root / "a", jobs=jobs)
        checks: dict[str, Any] = {"noop_rebuilt": len(noop["rebuilt"])}
        manifest = json.loads((root / "a" / "manifest.json").read_text("utf-8"))
        sections = {p: p.read_bytes() for p in (project / "content" / "sections").glob("*.md")}
        section, including = edit_rarest_section(project, manifest)
        edit = steps["edit"] = _build(project, root / "a", jobs=jobs)
        checks["edit"] = {"section": section, "including": len(including), "rebuilt": len(edit["rebuilt"]),
                          "exact": set(edit["rebuilt"]) == including}
        checks["removal"] = _check_removal(project, root / "a", manifest, jobs)
        for path, data in sections.items():
            path.write_bytes(data)
        steps.update(bare.comparisons(project, root, half, base_url, jobs, pdf_rounds, build=_build,
                                      run_child=_run_child))
        checks["reproducible_files"] = same_files(root / "half-0", root / "one_job-0")
        steps["html"] = _build(project, root / "html", jobs=jobs, pdf=False)
        figures = {"generator": GENERATOR, "n": n, "half": len(half), "jobs": jobs, "cpus": os.cpu_count(),
                   "as_of": AS_OF.isoformat(), "steps": steps, "checks": checks, "pages_per_guide": _pages(root / "a"),
                   "guide_html_bytes": average_size(list((root / "html" / "site" / "g").glob("*/index.html")))}
        if hugo and n_html:
            figures["hugo"] = hugo_comparison(root, project, n_html, hugo, jobs, figures["guide_html_bytes"],
                                              runs=hugo_runs, write_cohort=write_cohort, as_of=AS_OF)
        n_lists = n_html if n_lists is None else n_lists
        if n_lists:
            from benchmarks.program_lists import compare

            figures["program_list"] = compare(root, project, n_lists, jobs, build=_build, run_child=_run_child,
                                              write_cohort=write_cohort)
        figures["summary"] = summarize(figures)
        return figures


def _check_removal(project: Path, out: Path, manifest: dict, jobs: int) -> dict:
    """Remove one profile, rebuild: its guide and PDF must go and nothing else may be rebuilt."""
    gone = manifest["profiles"][0]
    source = project / "profiles" / f"{gone['id']}.yaml"
    kept = source.read_bytes()
    source.unlink()
    try:
        figures = _build(project, out, jobs=jobs)
    finally:
        source.write_bytes(kept)
    files_gone = not (out / gone["html"]).exists() and not (out / gone["pdf"]).exists()
    return {"id": gone["id"], "removed": figures["removed"], "rebuilt": len(figures["rebuilt"]),
            "ok": figures["removed"] == [gone["id"]] and files_gone and not figures["rebuilt"]}


def _pages(out: Path) -> float:
    entries = json.loads((out / "manifest.json").read_text("utf-8"))["profiles"]
    return round(sum(e.get("pages") or 0 for e in entries) / max(1, len(entries)), 1)


# -- the summary and the table ------------------------------------------------------------------------


def summarize(figures: dict) -> dict:
    """The per-guide figures and the ratios the targets are about, with whether each target is met."""
    s, n, half, checks = figures["steps"], figures["n"], figures["half"], figures["checks"]
    out: dict[str, Any] = {
        "full_s_per_guide": s["full"]["seconds"] / n,
        "html_s_per_guide": s["html"]["seconds"] / n,
        **{f"{name}_s_per_guide": s[name]["seconds"] / half for name in ("half", "one_job", "bare_one", "bare_jobs")},
        "overhead_one_job": s["one_job"]["seconds"] / s["bare_one"]["seconds"],
        "overhead_one_job_cpu": s["one_job"]["cpu"] / s["bare_one"]["cpu"],
        "overhead_jobs": s["half"]["seconds"] / s["bare_jobs"]["seconds"],
        "speedup": s["one_job"]["seconds"] / s["half"]["seconds"],
        "bare_speedup": s["bare_one"]["seconds"] / s["bare_jobs"]["seconds"],
        # each round's own ratios: how much the machine moved between rounds
        "speedup_runs": [a / b for a, b in zip(s["one_job"]["runs"], s["half"]["runs"])],
        "bare_speedup_runs": [a / b for a, b in zip(s["bare_one"]["runs"], s["bare_jobs"]["runs"])],
        # the same work twice: CPU time 1 job / all jobs is about 1 unless the machine's speed moved between runs
        "speedup_cpu": s["one_job"]["cpu"] / s["half"]["cpu"],
        "noop_seconds": s["noop"]["seconds"],
        "noop_pct": 100 * s["noop"]["seconds"] / s["full"]["seconds"],
        "rss_build_mib": [s["full"]["rss_mib"], s["half"]["rss_mib"]],
        "rss_worker_mib": [s["full"]["workers_rss_mib"], s["half"]["workers_rss_mib"]],
    }
    out["memory_ratio"] = max(a / b for a, b in (out["rss_build_mib"], out["rss_worker_mib"]) if b)
    met = {"overhead_one_job": out["overhead_one_job"] <= TARGETS["overhead"],
           "overhead_jobs": out["overhead_jobs"] <= TARGETS["overhead"],
           "speedup": out["speedup"] >= TARGETS["speedup"],
           "noop_pct": out["noop_pct"] <= TARGETS["noop_pct"],
           "memory_ratio": out["memory_ratio"] <= TARGETS["memory_ratio"],
           "edit_exact": checks["edit"]["exact"], "removal_ok": checks["removal"]["ok"],
           "reproducible": checks["reproducible_files"] > 0}
    if "hugo" in figures:
        h = figures["hugo"]
        out["hugo_ratio"] = h["ours"]["wall"] / h["hugo_seconds"]
        out["hugo_ratio_cpu"] = h["ours"]["cpu"] / h["hugo_cpu"] if h["hugo_cpu"] else None
        ratios = [o["wall"] / t["wall"] for o, t in zip(h["ours_runs"], h["hugo_runs"])]
        out["hugo_ratio_runs"] = [min(ratios), max(ratios)]
        met["hugo_ratio"] = out["hugo_ratio"] <= TARGETS["hugo_ratio"]
    if "program_list" in figures:
        pl = figures["program_list"]
        out["list_ratio"] = pl["with"]["wall"] / pl["without"]["wall"]
        out["list_cpu_ratio"] = pl["with"]["cpu"] / pl["without"]["cpu"]
        out["decide_pct"] = 100 * pl["decide"]["decide_seconds"] / pl["without"]["wall"]
        out["xlsx_ratio"] = pl["read"]["xlsx_seconds"] / pl["read"]["csv_seconds"]
        out["list_memory_ratio"] = pl["with"]["rss_mib"] / pl["half"]["rss_mib"]
        met["decide_pct"] = out["decide_pct"] <= 100 * (TARGETS["list_ratio"] - 1)
        met["list_memory_ratio"] = out["list_memory_ratio"] <= TARGETS["memory_ratio"]
    out["met"] = met
    return out


def table(figures: dict) -> str:
    """The figures as a plain-text table."""
    s, n, half, j, m = figures["steps"], figures["n"], figures["half"], figures["jobs"], figures["summary"]
    ok = {name: "yes" if value else "NO" for name, value in m["met"].items()}
    edit, removal, t = figures["checks"]["edit"], figures["checks"]["removal"], TARGETS
    rows = [
        (f"full build, {n} guides, {j} jobs", f"{m['full_s_per_guide']:.3f} s/guide ({s['full']['seconds']:.1f} s)"),
        (f"HTML only (--no-pdf), {n} guides", f"{m['html_s_per_guide'] * 1000:.1f} ms/guide ({s['html']['seconds']:.1f} s)"),
        (f"full build, {half} guides, {j} jobs", f"{m['half_s_per_guide']:.3f} s/guide"),
        (f"full build, {half} guides, 1 job", f"{m['one_job_s_per_guide']:.3f} s/guide"),
        (f"bare WeasyPrint, same {half}, 1 process", f"{m['bare_one_s_per_guide']:.3f} s/guide"),
        (f"bare WeasyPrint, same {half}, {j} processes", f"{m['bare_jobs_s_per_guide']:.3f} s/guide"),
        ("overhead: 1 job / bare 1 process", f"{m['overhead_one_job']:.3f}x (CPU time {m['overhead_one_job_cpu']:.3f}x)",
         f"<= {t['overhead']:.2f}x", ok["overhead_one_job"]),
        (f"overhead: {j} jobs / bare {j} processes", f"{m['overhead_jobs']:.3f}x", f"<= {t['overhead']:.2f}x",
         ok["overhead_jobs"]),
        (f"speedup: {j} jobs vs 1", f"{m['speedup']:.2f}x (bare WeasyPrint {m['bare_speedup']:.2f}x)",
         f">= {t['speedup']:.2f}x", ok["speedup"]),
        (f"  best of {len(s['half']['runs'])} runs each, in turn", "each round's speedup " + _spread(m["speedup_runs"])
         + ", bare " + _spread(m["bare_speedup_runs"])),
        ("  CPU time, 1 job / all jobs", f"{m['speedup_cpu']:.2f}x: same work, so off 1.00x = machine drift"
         + (f" (as a speedup over {figures['cpus']}x)" if m["speedup"] > figures["cpus"] else "")),
        ("no-op rebuild", f"{m['noop_seconds']:.2f} s = {m['noop_pct']:.1f}% of full", f"<= {t['noop_pct']:g}%",
         ok["noop_pct"]),
        (f"edit section {edit['section']!r}", f"rebuilt {edit['rebuilt']}; {edit['including']} include it "
         f"({s['edit']['seconds']:.1f} s)", "exactly those", ok["edit_exact"]),
        ("remove one profile", f"removed {', '.join(removal['removed'])}, rebuilt {removal['rebuilt']}",
         "guide+PDF gone", ok["removal_ok"]),
        (f"{j} jobs vs 1 job output", f"{figures['checks']['reproducible_files']} files byte-identical",
         "identical", ok["reproducible"]),
        (f"peak RSS build process, {n} / {half}", "{:.0f} / {:.0f} MiB".format(*m["rss_build_mib"])),
        (f"peak RSS PDF worker, {n} / {half}", "{:.0f} / {:.0f} MiB".format(*m["rss_worker_mib"]),
         f"<= {t['memory_ratio']:.1f}x", ok["memory_ratio"]),
    ]
    if "hugo" in figures:
        h = figures["hugo"]
        rows.append((f"HTML only, {h['pages']} guides vs Hugo", f"{h['ours']['wall']:.2f} s vs {h['hugo_seconds']:.2f} s"
                     f" = {m['hugo_ratio']:.2f}x", f"<= {t['hugo_ratio']:.0f}x", ok["hugo_ratio"]))
        cpu = f"; CPU {m['hugo_ratio_cpu']:.2f}x" if m.get("hugo_ratio_cpu") else ""
        rows.append((f"  whole commands, best of {h['runs']} runs each",
                     f"each run's ratio {_spread(m['hugo_ratio_runs'])}{cpu}"))
        rows.append(("  average page, ours / Hugo's",
                     f"{h['our_page_bytes'] / 1024:.0f} KiB / {h['hugo_page_bytes'] / 1024:.0f} KiB"))
    if "program_list" in figures:
        pl, g = figures["program_list"], figures["program_list"]["guides"]
        rows.append((f"deciding {g} lists vs {pl['rows']} programs", f"{pl['decide']['decide_seconds']:.2f} s = "
                     f"{m['decide_pct']:.1f}% of the HTML build without a spreadsheet "
                     f"({pl['without']['wall']:.2f} s)", f"<= {100 * (t['list_ratio'] - 1):.0f}%", ok["decide_pct"]))
        rows.append((f"HTML only, {g} guides, with lists / without", f"{m['list_ratio']:.2f}x wall, "
                     f"{m['list_cpu_ratio']:.2f}x CPU (lists rendered, and sheets written)"))
        rows.append((f"reading {pl['rows']} programs, .xlsx / .csv", f"{pl['read']['xlsx_seconds'] * 1000:.0f} ms / "
                     f"{pl['read']['csv_seconds'] * 1000:.0f} ms = {m['xlsx_ratio']:.1f}x", f"<= {t['xlsx_ratio']:.0f}x",
                     "yes" if m["xlsx_ratio"] <= t["xlsx_ratio"] else "NO (README says why)"))
        rows.append((f"peak RSS with lists, {g} / {g // 2} guides", f"{pl['with']['rss_mib']:.0f} / "
                     f"{pl['half']['rss_mib']:.0f} MiB", f"<= {t['memory_ratio']:.1f}x", ok["list_memory_ratio"]))
    rows = [(*r, "", "")[:4] for r in rows]
    head = (f"matchguide bench: {n} synthetic guides ({figures['pages_per_guide']} PDF pages, "
            f"{figures['guide_html_bytes'] / 1024:.0f} KiB of HTML each on average), {j} jobs on {figures['cpus']} CPUs, "
            f"load average {s['full']['load']:.1f} at the start")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [head, "", f"{'measure':<{widths[0]}}  {'value':<{widths[1]}}  {'target':<{widths[2]}}  met"]
    lines += [f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c:<{widths[2]}}  {d}".rstrip() for a, b, c, d in rows]
    return "\n".join(lines) + "\n"


def _spread(values: list[float]) -> str:
    return f"{min(values):.2f}x" if min(values) == max(values) else f"{min(values):.2f}x-{max(values):.2f}x"


def write_report(figures: dict, out: Path) -> Path:
    """Write `out`/bench.json (under the build lock, atomically) and return its path."""
    from generator.write.writer import BuildLock

    with BuildLock(out):
        out.mkdir(parents=True, exist_ok=True)
        target = out / "bench.json"
        tmp = out / ".bench.json.tmp"
        tmp.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n", "utf-8")
        os.replace(tmp, target)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m benchmarks.bench --n 200`: run the benchmark, print the table, write output/bench.json."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench", description=__doc__.splitlines()[0],
                                     epilog="example: python -m benchmarks.bench --n 200 --n-html 1000")
    parser.add_argument("--n", type=int, default=200, help="synthetic guides to build with PDFs (default: 200)")
    parser.add_argument("--n-html", type=int, default=1000, help="guides for the Hugo comparison; 0 skips it")
    parser.add_argument("--jobs", type=int, help="PDF worker processes (default: CPU count)")
    parser.add_argument("--out", type=Path, default=Path("output"), help="where bench.json goes (default: output)")
    parser.add_argument("--hugo", default=shutil.which("hugo"), help="the hugo command (default: from PATH)")
    parser.add_argument("--n-lists", type=int, help="guides for the program-list measurements (default: --n-html; "
                        "0 skips them)")
    parser.add_argument("--hugo-runs", type=int, default=3, help="runs of each side of the Hugo comparison (default: 3)")
    parser.add_argument("--pdf-rounds", type=int, default=2, help="rounds of the PDF comparisons, 1 job against "
                        "all jobs and each against bare WeasyPrint; the best of each counts (default: 2)")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "SPEC"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.child[0], json.loads(args.child[1]))))
        return 0
    if not args.hugo and args.n_html:
        print("note: hugo not found, so the Hugo comparison is skipped; install Debian's `hugo` package "
              "(`make bench` does that when run as root) or pass --hugo PATH", file=sys.stderr)
    figures = run(args.n, n_html=args.n_html, jobs=args.jobs, hugo=args.hugo, hugo_runs=args.hugo_runs,
                  n_lists=args.n_lists, pdf_rounds=args.pdf_rounds)
    print(table(figures), end="")
    print(f"-> {write_report(figures, args.out)}")
    checks = ("edit_exact", "removal_ok", "reproducible")
    return 0 if all(figures["summary"]["met"][c] for c in checks) else 1


if __name__ == "__main__":
    sys.exit(main())
