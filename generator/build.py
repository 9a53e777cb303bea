"""The orchestrator: load the project once, then for each guide derive, decide, render, write; then finish.

Each stage is a module of its own (load/, decide/, render/, write/); this file only calls them in order.
"""

from __future__ import annotations

import functools
import hashlib
import multiprocessing
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from generator import __version__
from generator.decide.facts import derive
from generator.decide.program_list import ProgramList, digest_of
from generator.decide.program_view import attach
from generator.decide.selection import Decisions, select
from generator.errors import BuildError, InputError, Problem
from generator.events import Reporter
from generator.load.profiles import Profile
from generator.project import BuildOptions, Inputs, load_cohort, load_inputs, whole_cohort
from generator.render.html import Page
from generator.render import sheets
from generator.render.sheets import SHEET_CSV, SHEET_XLSX
from generator.render.ics import ics_for
from generator.render.lifeline import die_with_parent
from generator.render.pdf_pool import PdfJob, PdfPool, default_workers
from generator.write import manifest, privacy
from generator.write.pdftext import remember_text
from generator.write.finish import finish
from generator.write.keeping import (carry_over, drop_failed, in_output, keep, published_files, stop_on_output_failure,
                                     withhold)
from generator.write.slugs import GUIDE_DIR, site_key, slug
from generator.write.writer import BuildLock, StagedOutput

# The detour named: each guide's PDF variant goes to its worker as a file in the staging tree, not through
# the pipe, so the build's memory stays flat however many guides wait for a worker. Removed before the switch.
PDF_SOURCES = ".pdf-src"
PDF_TEXT_CACHE = "pdf-text"  # in the state folder: the text of each published PDF, by digest, for the privacy check


@dataclass
class BuildResult:
    """What a build did: the manifest entries, every problem, what it rebuilt and kept."""

    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rebuilt: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    stale: list[dict] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)  # HTML-only build: changed guides whose old PDF was dropped
    failed: set[str] = field(default_factory=set)
    manifest_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when every profile built and nothing was wrong."""
        return not self.problems


@dataclass
class Guide:
    """One applicant's guide as decided: the profile, its facts (derived once) and what the rules chose."""

    profile: Profile
    facts: dict
    selection: Decisions
    slug: str = ""  # the guide's folder under site/g/; empty when nothing is written (`check`)
    program_list: ProgramList | None = None


def build(options: BuildOptions, reporter: Reporter | None = None) -> BuildResult:
    """Build the cohort's guides into a staging tree and switch it in; report every problem."""
    reporter = reporter or Reporter()
    result = BuildResult()
    with BuildLock(options.out) as lock, StagedOutput(options.out, lock.real) as staged:
        inputs = load_inputs(options)
        profiles, problems = load_cohort(options, inputs)
        reporter.event("start", guides=len(profiles), pdf=options.pdf)
        _report(result, reporter, problems + program_sheet_problems(inputs))
        for warning in inputs.programs.warnings if inputs.programs else ():
            reporter.event("warning", problem=warning)
        key = site_key(options.state / "site.key")
        guides = [decide(profile, inputs, key) for profile in profiles]
        previous = _previous_guides(staged.real)
        _write_site_pages(staged, inputs)
        pages: dict[str, int] = {}
        cache = options.state / PDF_TEXT_CACHE  # the text of each PDF, read by the worker that wrote it
        with PdfPool(options.jobs, timeout=options.pdf_timeout, on_done=_count_pages(pages, reporter),
                     after=functools.partial(remember_text, cache=cache)) as pool:
            _write_guides(staged, inputs, guides, previous, options, result, reporter, pool.submit)
            pdf_failures = {i: in_output(p, staged) for i, p in pool.finish().items()}
        _settle_pdfs(staged, result, pdf_failures, pages, reporter, submitted=pool.submitted)
        cohort = whole_cohort(options, inputs, profiles)
        scanner = privacy.Scanner(cohort, privacy.vocabulary(inputs.renderer))
        withhold(staged, result, privacy.scan_tree(staged.staging, scanner, result.entries, cache=cache,
                                                   processes=options.jobs), reporter)
        scanned = {e["id"] for e in result.entries}
        carry_over(staged, previous, options, result, reporter)
        carried = [e for e in result.entries + result.stale if e["id"] not in scanned]
        withhold(staged, result, privacy.scan_tree(staged.staging, scanner, carried, published_files(staged, carried),
                                                    cache=cache, processes=options.jobs), reporter)
        if not options.shard:
            privacy.prune(cache, staged.staging)
        result.removed = sorted(set(previous) - {e["id"] for e in result.entries + result.stale})
        extra = {"kept_previous": result.stale} if result.stale else {}
        extra["program_sheet"] = program_sheet_record(inputs)
        extra["section_titles"] = {s.id: s.title for s in inputs.content.sections}
        doc = manifest.document(inputs.cycle, inputs.as_of.isoformat(), result.entries, result.problems, **extra)
        finish(staged, doc, inputs.renderer, cohort, result.entries + result.stale, options.ledger,
               {g.profile.id: g.facts for g in guides}, scanned=True)
    result.manifest_path = options.out / manifest.NAME
    reporter.event("done", built=len(result.entries), problems=len(result.problems))
    return result


def decide(profile: Profile, inputs: Inputs, key: bytes | None = None) -> Guide:
    """Derive one applicant's facts once, decide their program list, let the rules choose the contents (pure)."""
    facts = derive(profile, inputs.strategy, inputs.as_of)
    programs = attach(facts, inputs.program_index, inputs.program_status)
    return Guide(profile, facts, select(facts, inputs.rules), slug(key, profile.id) if key is not None else "",
                 programs)


def program_sheet_record(inputs: Inputs) -> dict | None:
    """The manifest's note of the program spreadsheet the lists came from (`email` checks it is still the same)."""
    sheet = inputs.programs
    if sheet is None:
        return None
    # No path: the same rows from a .csv and an .xlsx give the same manifest.
    return {"digest": sheet.digest, "programs": len(sheet.programs), "errors": len(sheet.errors),
            "warnings": len(sheet.warnings)}


def program_sheet_problems(inputs: Inputs) -> list[Problem]:
    """The program spreadsheet's errors: each is the build's problem (exit 1); the guides are built without lists."""
    return list(inputs.programs.errors) if inputs.programs else []


def guide_digest(guide: Guide, inputs: Inputs) -> str:
    """A digest of everything one guide's content depends on; equal digests mean equal pages and PDF.

    (Whether the page links a PDF is not in it: the manifest's `pdf` says that.)
    """
    h = hashlib.sha256()
    for part in (__version__, guide.profile.digest, inputs.strategy.digest, inputs.theme.digest, inputs.as_of.isoformat(),
                 str(inputs.cycle), guide.slug, guide.selection.layout.id,
                 # the applicant's own list (what their guide shows of it), not the whole spreadsheet
                 guide.facts["program_list_status"], digest_of(guide.program_list),
                 str(inputs.program_index.invented if inputs.program_index else None),
                 *(f"{i.kind}:{i.id}:{i.digest}" for i in guide.selection.items())):
        h.update(part.encode() + b"\0")
    return h.hexdigest()


def _report(result: BuildResult, reporter: Reporter, problems: list[Problem]) -> None:
    result.problems += problems
    for p in problems:
        reporter.event("problem", problem=p)


def _previous_guides(out: Path) -> dict[str, dict]:
    """The last build's guides by applicant id, the ones it kept from before included."""
    last = manifest.read(out) or {}
    return {e["id"]: e for e in last.get("kept_previous", []) + last.get("profiles", []) if isinstance(e, dict)}


def _count_pages(pages: dict[str, int], reporter: Reporter) -> Callable[[PdfJob, int], None]:
    def done(job: PdfJob, count: int) -> None:
        pages[job.id] = count
        reporter.event("pdf", id=job.id, pages=count)
    return done


def _settle_pdfs(staged: StagedOutput, result: BuildResult, failures: dict[str, Problem], pages: dict[str, int],
                 reporter: Reporter, *, submitted: int) -> None:
    """Record page counts; a PDF that could not be written stops the build, a guide whose PDF failed is dropped."""
    stop_on_output_failure(failures)
    if submitted:
        for record in result.entries:
            record.setdefault("pages", pages.get(record["id"]))
        drop_failed(staged, result, failures, reporter)
    staged.discard_tree(PDF_SOURCES)


def _write_site_pages(staged: StagedOutput, inputs: Inputs) -> None:
    staged.copy_tree(inputs.theme.assets, "site/assets")
    staged.write_text("site/index.html", inputs.renderer.render_fixed("landing", Page("matchguide", "assets/", "index.html")))
    staged.write_text("site/404.html", inputs.renderer.render_fixed("not_found", Page("Page not found", "assets/", "index.html")))
    staged.write_text("site/.nojekyll", "")


def _write_guides(staged: StagedOutput, inputs: Inputs, guides: list[Guide], previous: dict[str, dict],
                  options: BuildOptions, result: BuildResult, reporter: Reporter,
                  submit: Callable[[PdfJob], None]) -> None:
    """Keep each unchanged guide from the previous output; render and write the others (PDFs go to the pool)."""
    todo: list[tuple[Guide, dict]] = []
    for guide in guides:
        profile = guide.profile
        digest = guide_digest(guide, inputs)
        old = previous.get(profile.id) or {}
        same = old.get("digest") == digest
        # An HTML-only build keeps the PDF of an unchanged guide; a changed guide's old PDF is withheld.
        pdf_rel = f"pdf/{profile.id}.pdf" if options.pdf or (same and old.get("pdf")) else None
        record = manifest.entry(profile, guide.facts, guide.selection, html=f"{GUIDE_DIR}/{guide.slug}/index.html",
                                pdf=pdf_rel, program_list=guide.program_list.record() if guide.program_list else None)
        record["digest"] = digest
        if not options.force and same and (pdf_rel is None or old.get("pdf")) and keep(staged, record):
            record.update({k: old[k] for k in ("pages",) if k in old})  # as a fresh entry: same inputs, same bytes
            record.update({"pdf_digest": digest} if pdf_rel else {})
            result.entries.append(record)
            result.kept.append(profile.id)
            reporter.event("kept", id=profile.id)
            continue
        if not options.pdf:  # keep the unchanged PDF (both copies), or withhold the changed guide's old one
            kept = pdf_rel and keep(staged, record, [pdf_rel, record["html"].replace("index.html", "guide.pdf")])
            record.update({"pdf": pdf_rel if kept else None}, **{k: old[k] for k in ("pages",) if kept and k in old})
            if not kept and (old.get("pdf") or old.get("pdf_withheld")):
                record["pdf_withheld"] = True
                result.withheld.append(profile.id)
        todo.append((guide, record))
    links = [bool(record["pdf"]) for _, record in todo]
    for (guide, record), (pages, problems) in zip(todo, _render_guides([g for g, _ in todo], links, inputs, options)):
        profile = guide.profile
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
        for name in (SHEET_CSV, SHEET_XLSX):
            if name in pages:
                staged.write_bytes(f"{folder}/{name}", pages[name])
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
        if record["pdf"]:
            record["pdf_digest"] = record["digest"]  # the content its PDF shows: `email` sends no older PDF
        result.entries.append(record)
        result.rebuilt.append(profile.id)
        reporter.event("guide", id=profile.id, band=record["band"])


# Rendering runs in forked workers when there is much of it: they inherit the compiled inputs from this global.
_RENDER_CONTEXT: tuple[list[Guide], list[bool], Inputs, BuildOptions] | None = None
PARALLEL_HTML_FROM = 64  # guides; below this a pool costs more than it saves


def _render_guides(guides: list[Guide], links: list[bool], inputs: Inputs,
                   options: BuildOptions) -> Iterator[tuple[dict, list[Problem]]]:
    """Each profile's pages (web HTML, calendar, PDF HTML), in order; lazily, so PDFs can start early.

    `links` says, per guide, whether its page links a PDF (one is made, or an unchanged one is kept).

    An HTML-only build of many guides uses every core. A build with PDFs renders here, one guide at a
    time, so each PDF is handed to its worker as soon as its page exists (and no pool forks beside the
    PDF pool's threads).
    """
    global _RENDER_CONTEXT
    workers = min(options.jobs or default_workers(), len(guides) // 16 or 1)
    if options.pdf or workers < 2 or len(guides) < PARALLEL_HTML_FROM \
            or threading.current_thread() is not threading.main_thread():
        yield from (render_pages(g, link, inputs, options) for g, link in zip(guides, links))
        return
    _RENDER_CONTEXT = (guides, links, inputs, options)
    try:
        with multiprocessing.get_context("fork").Pool(workers, die_with_parent, (os.getpid(),)) as pool:
            yield from pool.imap(_render_in_worker, range(len(guides)), chunksize=8)
    finally:
        _RENDER_CONTEXT = None


def _render_in_worker(index: int) -> tuple[dict, list[Problem]]:
    assert _RENDER_CONTEXT is not None
    guides, links, inputs, options = _RENDER_CONTEXT
    return render_pages(guides[index], links[index], inputs, options)


def render_pages(guide: Guide, link_pdf: bool, inputs: Inputs, options: BuildOptions) -> tuple[dict, list[Problem]]:
    """One guide's files as text or bytes: its web page, calendar, PDF HTML (with `options.pdf`) and program
    list sheets; or the problems that stopped it."""
    profile, facts, selection = guide.profile, guide.facts, guide.selection
    listed = facts["program_list"]
    sheet = {"sheet_href": SHEET_CSV, "sheet_xlsx_href": SHEET_XLSX} if listed else {}
    try:
        web = Page(profile.name, "../../assets/", "../../index.html", pdf_href="guide.pdf" if link_pdf else None,
                   ics_href="guide.ics", **sheet)
        pages = {"web": inputs.renderer.render_guide(facts, selection, web), "ics": ics_for(facts, profile)}
        if options.pdf:
            pages["pdf"] = inputs.renderer.render_guide(facts, selection,
                                                        Page(profile.name, "", "", for_pdf=True, **sheet))
        if listed:
            table = sheets.rows(listed, *inputs.renderer.sheet_wording())
            pages[SHEET_CSV], pages[SHEET_XLSX] = sheets.to_csv(table), sheets.to_xlsx(table)
    except InputError as exc:
        return {}, exc.problems
    finally:
        if listed:
            listed.release()  # the list's view is made again if ever needed: memory stays flat over the cohort
    return pages, []


def check(options: BuildOptions) -> tuple[Inputs, list[Guide], list[Problem]]:
    """Load, decide and render everything, write nothing: the inputs, each valid profile's guide as decided
    (facts derived once), and every problem.

    Every guide is rendered in memory as a build would write it, and the privacy check reads those pages, so
    `check` lists the guides a build would withhold.
    """
    inputs = load_inputs(options)
    profiles, problems = load_cohort(options, inputs)
    problems += program_sheet_problems(inputs)
    guides = [decide(profile, inputs) for profile in profiles]
    scanner = privacy.Scanner(whole_cohort(options, inputs, profiles), privacy.vocabulary(inputs.renderer))
    findings: list[privacy.Finding] = []
    fixed = {"site/index.html": ("landing", Page("matchguide", "assets/", "index.html")),
             "site/404.html": ("not_found", Page("Page not found", "assets/", "index.html"))}
    for rel, (template, page) in fixed.items():
        findings += scanner.scan(rel, None, privacy.readable_text(inputs.renderer.render_fixed(template, page)))
    for guide in guides:
        pages, found = render_pages(guide, options.pdf, inputs, options)
        problems.extend(found)
        for name, suffix in (("web", ".html"), ("pdf", ".html"), ("ics", ".ics"), (SHEET_CSV, ".csv"),
                             (SHEET_XLSX, ".xlsx")):
            if name in pages:
                page = pages[name]
                read = privacy.readable_bytes if isinstance(page, bytes) else privacy.readable_text
                findings += scanner.scan(guide.profile.source, guide.profile, read(page, suffix), published_path=False)
    problems += [f.problem(built=False) for f in privacy.first_findings(findings)]
    return inputs, guides, problems


__all__ = ["BuildError", "BuildOptions", "BuildResult", "Guide", "build", "check", "decide", "render_pages"]
