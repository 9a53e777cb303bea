"""The orchestrator: load, derive, select, render, write, check — for a whole cohort."""

from __future__ import annotations

import errno
import hashlib
import multiprocessing
import os
import shutil
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from generator import GENERATOR, __version__, facts as facts_mod, manifest, privacy, roster
from generator.calendar import ics_for
from generator.content import Content, Theme, load_content, load_theme
from generator.errors import BuildError, InputError, MatchguideError, Problem
from generator.pdf_jobs import PdfJob, PdfPool, default_workers
from generator.profiles import load_profiles
from generator.render import Page, Renderer
from generator.report import Reporter
from generator.select import select
from generator.slugs import site_key, slug
from generator.strategy import Strategy, load_strategy
from generator.writer import BuildLock, StagedOutput

GUIDE_DIR = "site/g"
PDF_SOURCES = ".pdf-src"  # the PDF variant of each page, read by the workers; removed before the switch


@dataclass
class BuildOptions:
    """Everything a build reads; paths default to the project layout in the current folder."""

    profiles: Path = Path("profiles")
    content: Path = Path("content")
    theme: Path = Path("themes/default")
    out: Path = Path("output")
    state: Path = Path(".matchguide")
    only: Sequence[str] | None = None
    pdf: bool = True
    as_of: date | None = None
    cycle: int | None = None
    jobs: int | None = None
    force: bool = False
    shard: tuple[int, int] | None = None
    pdf_timeout: float = 120.0


@dataclass
class BuildResult:
    """What a build did: the manifest entries, every problem, what it rebuilt and kept."""

    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stale: list[dict] = field(default_factory=list)
    failed: set[str] = field(default_factory=set)
    manifest_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every profile built and nothing was wrong."""
        return not self.problems


@dataclass
class Inputs:
    """The shared inputs of every guide: strategy, content, theme and their renderer."""

    strategy: Strategy
    schema: dict
    content: Content
    theme: Theme
    renderer: Renderer
    as_of: date
    cycle: int


def default_cycle(strategy: Strategy, as_of: date) -> int:
    """The next ERAS cycle on or after the build date."""
    return as_of.year if as_of <= strategy.eras_date(as_of.year) else as_of.year + 1


def display(path: Path) -> str:
    """A path as errors and the manifest show it: relative to the current folder when inside it."""
    try:
        return Path(os.path.relpath(path)).as_posix() if not os.path.relpath(path).startswith("..") else path.as_posix()
    except ValueError:
        return path.as_posix()


def load_inputs(options: BuildOptions) -> Inputs:
    """Load strategy, content and theme; raise InputError with every problem found in them."""
    as_of = options.as_of or date.today()
    strategy = load_strategy(options.content / "data" / "strategy.yaml", display(options.content / "data" / "strategy.yaml"))
    schema = facts_mod.schema(strategy)
    band_ids = [b.id for b in strategy.bands] + [strategy.pending_band.id]
    content, problems = load_content(options.content, schema=schema, band_ids=band_ids, source_prefix=display(options.content))
    try:
        theme = load_theme(options.theme, schema=schema, source_prefix=display(options.theme))
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    cycle = options.cycle or default_cycle(strategy, as_of)
    renderer = Renderer(content, theme, strategy, generator=GENERATOR, cycle=cycle, as_of=as_of)
    problems += renderer.problems
    if problems:
        raise InputError(problems)
    return Inputs(strategy, schema, content, theme, renderer, as_of, cycle)


def load_cohort(options: BuildOptions, inputs: Inputs) -> tuple[list[Any], list[Problem]]:
    """Every valid profile (optionally one shard of them) and the problems of the rest."""
    profiles, problems = _load_profiles(options, inputs, options.only)
    if options.shard:
        k, n = options.shard
        profiles = [p for p in profiles if shard_of(p.id, n) == k - 1]
    return profiles, problems


def _load_profiles(options: BuildOptions, inputs: Inputs, only: Sequence[str] | None) -> tuple[list[Any], list[Problem]]:
    return load_profiles(
        options.profiles,
        default_cycle=inputs.cycle,
        passing_standard=inputs.strategy.standard_on,
        as_of=inputs.as_of,
        source_prefix=display(options.profiles),
        only=only,
    )


def whole_cohort(options: BuildOptions, inputs: Inputs, built: list[Any]) -> list[Any]:
    """Every valid profile, even those an `--only` or `--shard` build leaves out (for the privacy check)."""
    if not options.only and not options.shard:
        return built
    return _load_profiles(options, inputs, None)[0]


def shard_of(applicant_id: str, n: int) -> int:
    """The shard (0-based) an applicant belongs to: stable across runs and machines."""
    return int.from_bytes(hashlib.sha256(applicant_id.encode()).digest()[:8], "big") % n


def guide_digest(profile: Any, inputs: Inputs, selection: Any, guide_slug: str, with_pdf: bool) -> str:
    """A digest of everything one guide depends on; equal digests mean equal output."""
    h = hashlib.sha256()
    for part in (__version__, profile.digest, inputs.strategy.digest, inputs.theme.digest, inputs.as_of.isoformat(),
                 str(inputs.cycle), guide_slug, selection.layout.id, str(with_pdf),
                 *(f"{i.kind}:{i.id}:{i.digest}" for i in selection.items())):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def build(options: BuildOptions, reporter: Reporter | None = None) -> BuildResult:
    """Build the cohort's guides into a staging tree and switch it in; report every problem."""
    reporter = reporter or Reporter()
    result = BuildResult()
    with BuildLock(options.out):
        inputs = load_inputs(options)
        profiles, problems = load_cohort(options, inputs)
        reporter.event("start", guides=len(profiles), pdf=options.pdf)
        result.problems += problems
        for p in problems:
            reporter.event("problem", problem=p)
        key = site_key(options.state / "site.key")
        last = manifest.read(options.out) or {}
        previous = {e["id"]: e for e in last.get("kept_previous", []) + last.get("profiles", []) if isinstance(e, dict)}
        staged = StagedOutput(options.out)
        try:
            _write_site_pages(staged, inputs)
            pages: dict[str, int] = {}

            def done(job: PdfJob, count: int) -> None:
                pages[job.id] = count
                reporter.event("pdf", id=job.id, pages=count)

            # Workers render PDFs while this process goes on with the next guides' HTML.
            with PdfPool(options.jobs, timeout=options.pdf_timeout, on_done=done) as pool:
                _write_guides(staged, inputs, profiles, key, previous, options, result, reporter, pool.submit)
                failed = {i: _in_output(p, staged) for i, p in pool.finish().items()}
            _stop_on_output_failure(failed)
            if pool.submitted:
                for record in result.entries:
                    record.setdefault("pages", pages.get(record["id"]))
                _drop_failed(staged, result, failed, reporter)
            shutil.rmtree(staged.staging / PDF_SOURCES, ignore_errors=True)
            _carry_over(staged, previous, options, result, reporter)
            result.removed = sorted(set(previous) - {e["id"] for e in result.entries + result.stale})
            extra = {"kept_previous": result.stale} if result.stale else {}
            doc = manifest.document(inputs.cycle, inputs.as_of.isoformat(), result.entries, result.problems, **extra)
            staged.write_text(manifest.NAME, manifest.dumps(doc))
            staged.write_text(roster.NAME, roster.render(doc, inputs.renderer))
            privacy.check(staged.staging, whole_cohort(options, inputs, profiles), result.entries + result.stale)
            staged.commit()
        except BaseException:
            staged.abort()
            raise
    result.manifest_path = options.out / manifest.NAME
    reporter.event("done", built=len(result.entries), problems=len(result.problems))
    return result


def _write_site_pages(staged: StagedOutput, inputs: Inputs) -> None:
    staged.copy_tree(inputs.theme.assets, "site/assets")
    staged.write_text("site/index.html", inputs.renderer.render_fixed("landing", Page("matchguide", "assets/", "index.html")))
    staged.write_text("site/404.html", inputs.renderer.render_fixed("not_found", Page("Page not found", "assets/", "index.html")))
    staged.write_text("site/.nojekyll", "")


def _write_guides(staged: StagedOutput, inputs: Inputs, profiles: list[Any], key: bytes, previous: dict[str, dict],
                  options: BuildOptions, result: BuildResult, reporter: Reporter,
                  submit: Callable[[PdfJob], None]) -> None:
    todo: list[tuple[Any, dict]] = []
    for profile in profiles:
        facts = facts_mod.derive(profile, inputs.strategy, inputs.as_of)
        selection = select(facts, inputs.content, inputs.theme)
        guide_slug = slug(key, profile.id)
        pdf_rel = f"pdf/{profile.id}.pdf" if options.pdf else None
        record = manifest.entry(profile, facts, selection, html=f"{GUIDE_DIR}/{guide_slug}/index.html", pdf=pdf_rel)
        record["digest"] = guide_digest(profile, inputs, selection, guide_slug, options.pdf)
        old = previous.get(profile.id)
        if not options.force and old and old.get("digest") == record["digest"] and _keep(staged, record):
            record["pages"] = old.get("pages")
            result.entries.append(record)
            result.kept.append(profile.id)
            reporter.event("kept", id=profile.id)
        else:
            todo.append((profile, record))
    for (profile, record), (pages, problems) in zip(todo, _render_guides([p for p, _ in todo], inputs, options)):
        if problems:  # this guide's fault; a BuildError (output unwritable) stops the whole build
            result.failed.add(profile.id)
            for p in problems:
                located = Problem(p.source, p.line, p.field, f"{p.message} (in the guide of {profile.source})")
                result.problems.append(located)
                reporter.event("problem", problem=located)
            continue
        folder = record["html"].rsplit("/", 1)[0]
        staged.write_text(record["html"], pages["web"])
        staged.write_bytes(f"{folder}/guide.ics", pages["ics"])
        if options.pdf:
            source = staged.write_text(f"{PDF_SOURCES}/{profile.id}.html", pages["pdf"])
            submit(PdfJob(
                id=profile.id,
                html=str(source),
                base_url=inputs.theme.assets.resolve().as_uri() + "/",
                asset_roots=(str(inputs.theme.assets.resolve()), str((options.content / "assets").resolve())),
                targets=(str(staged.reserve(record["pdf"])), str(staged.reserve(f"{folder}/guide.pdf"))),
                title=f"{profile.name}: residency application guide, {inputs.cycle}",
                author=profile.advisor or "matchguide",
                created=inputs.as_of.isoformat(),
            ))
        result.entries.append(record)
        result.rebuilt.append(profile.id)
        reporter.event("guide", id=profile.id, band=record["band"])


# Rendering runs in forked workers when there is much of it: they inherit the compiled inputs from this global.
_RENDER_CONTEXT: tuple[Inputs, BuildOptions] | None = None
PARALLEL_HTML_FROM = 64  # guides; below this a pool costs more than it saves


def _render_guides(profiles: list[Any], inputs: Inputs, options: BuildOptions) -> Iterator[tuple[dict, list[Problem]]]:
    """Each profile's pages (web HTML, calendar, PDF HTML), in order; lazily, so PDFs can start early.

    An HTML-only build of many guides uses every core. A build with PDFs renders here, one guide at a
    time, so each PDF is handed to its worker as soon as its page exists (and no pool forks beside the
    PDF pool's threads).
    """
    global _RENDER_CONTEXT
    workers = min(options.jobs or default_workers(), len(profiles) // 16 or 1)
    if options.pdf or workers < 2 or len(profiles) < PARALLEL_HTML_FROM \
            or threading.current_thread() is not threading.main_thread():
        yield from (_render_pages(p, inputs, options) for p in profiles)
        return
    _RENDER_CONTEXT = (inputs, options)
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_render_in_worker, profiles, chunksize=8)
    finally:
        _RENDER_CONTEXT = None


def _render_in_worker(profile: Any) -> tuple[dict, list[Problem]]:
    assert _RENDER_CONTEXT is not None
    return _render_pages(profile, *_RENDER_CONTEXT)


def _render_pages(profile: Any, inputs: Inputs, options: BuildOptions) -> tuple[dict, list[Problem]]:
    facts = facts_mod.derive(profile, inputs.strategy, inputs.as_of)
    selection = select(facts, inputs.content, inputs.theme)
    try:
        web = Page(profile.name, "../../assets/", "../../index.html", pdf_href="guide.pdf" if options.pdf else None,
                   ics_href="guide.ics")
        pages = {"web": inputs.renderer.render_guide(facts, selection, web), "ics": ics_for(facts, profile)}
        if options.pdf:
            pages["pdf"] = inputs.renderer.render_guide(facts, selection, Page(profile.name, "", "", for_pdf=True))
    except InputError as exc:
        return {}, exc.problems
    return pages, []


def _keep(staged: StagedOutput, record: dict) -> bool:
    paths = [record["html"], record["html"].replace("index.html", "guide.ics")]
    paths += [record["pdf"], record["html"].replace("index.html", "guide.pdf")] if record["pdf"] else []
    if not all(staged.previous and (staged.previous / p).is_file() for p in paths):
        return False
    return all(staged.keep(p) for p in paths)


# A PDF that could not be *written* (a full disk) is the output's failure, not the guide's: the build stops.
_OUTPUT_ERRORS = tuple(os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO))


def _stop_on_output_failure(failed: dict[str, Problem]) -> None:
    fatal = [p for p in failed.values() if any(text in p.message for text in _OUTPUT_ERRORS)]
    if fatal:
        raise BuildError(fatal)


def _in_output(problem: Problem, staged: StagedOutput) -> Problem:
    """A PDF problem names its file in the staging folder; name it as it will be in the output folder."""
    try:
        rel = Path(problem.source).relative_to(staged.staging)
    except ValueError:
        return problem
    return Problem(display(staged.out_dir / rel), problem.line, problem.field, problem.message)


def _carry_over(staged: StagedOutput, previous: dict[str, dict], options: BuildOptions, result: BuildResult,
                reporter: Reporter) -> None:
    """Keep the previous guide of an applicant this build left out or could not rebuild: nothing is lost.

    `--only` leaves the other guides as they were (still listed as built). A guide whose profile or
    rendering failed this time keeps its last good version, listed under `kept_previous` with the
    errors above; it is not re-sent or re-announced as new. A profile that was deleted loses its guide.
    A shard build is partial by design and carries nothing.
    """
    if options.shard:
        return
    built = {e["id"] for e in result.entries}
    broken_sources = {p.source for p in result.problems}
    for applicant_id, old in sorted(previous.items()):
        if applicant_id in built or not _keep_paths_free(staged, old):
            continue
        if options.only and applicant_id not in options.only:
            if _keep(staged, old):
                result.entries.append(old)
                result.kept.append(applicant_id)
        elif applicant_id in result.failed or old.get("source") in broken_sources:
            if _keep(staged, old):
                result.stale.append({**old, "stale": True})
                reporter.event("stale", id=applicant_id)


def _keep_paths_free(staged: StagedOutput, record: dict) -> bool:
    html = record.get("html")
    return isinstance(html, str) and not any(p in staged.written for p in (html, record.get("pdf")) if p)


def _drop_failed(staged: StagedOutput, result: BuildResult, failed: dict[str, Problem], reporter: Reporter) -> None:
    result.failed.update(failed)
    for entry in [e for e in result.entries if e["id"] in failed]:
        result.entries.remove(entry)
        result.rebuilt.remove(entry["id"])
        result.problems.append(failed[entry["id"]])
        reporter.event("problem", problem=failed[entry["id"]])
        for rel in (entry["html"], entry["pdf"], entry["html"].replace("index.html", "guide.pdf"),
                    entry["html"].replace("index.html", "guide.ics")):
            staged.path(rel).unlink(missing_ok=True)
            staged.written.discard(rel)  # free for the previous version, if there is one


def check(options: BuildOptions) -> tuple[Inputs, list[Any], list[Problem]]:
    """Load and validate everything, write nothing: the inputs, the valid profiles and every problem."""
    inputs = load_inputs(options)
    profiles, problems = load_cohort(options, inputs)
    for profile in profiles:
        facts = facts_mod.derive(profile, inputs.strategy, inputs.as_of)
        selection = select(facts, inputs.content, inputs.theme)
        try:
            inputs.renderer.render_guide(facts, selection, Page(profile.name, "", ""))
        except MatchguideError as exc:
            problems.extend(exc.problems)
    return inputs, profiles, problems


__all__ = ["BuildError", "BuildOptions", "BuildResult", "build", "check", "load_inputs"]
