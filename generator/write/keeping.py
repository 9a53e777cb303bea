"""What a build keeps, withholds and carries over: nothing good is lost.

A guide unchanged since the last build keeps its files; a guide that cannot be rebuilt (a bad profile,
a failed PDF, a privacy finding) is withheld and keeps its last good version; `--only` leaves the
other guides as they were.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import TYPE_CHECKING

from generator.errors import BuildError, Problem
from generator.events import Reporter
from generator.project import BuildOptions, display
from generator.render.sheets import SHEET_CSV, SHEET_XLSX
from generator.write import privacy
from generator.write.writer import StagedOutput

if TYPE_CHECKING:  # the build's record of itself; a type only, so nothing here imports the orchestrator
    from generator.build import BuildResult


def guide_files(record: dict) -> list[str]:
    """Every file of one guide: page, calendar, PDFs, and the program list to download when there is one."""
    folder = record["html"].rsplit("/", 1)[0]
    paths = [record["html"], f"{folder}/guide.ics"]
    paths += [record["pdf"], f"{folder}/guide.pdf"] if record.get("pdf") else []
    paths += [f"{folder}/{SHEET_CSV}", f"{folder}/{SHEET_XLSX}"] if record.get("program_list") else []
    return paths


def keep(staged: StagedOutput, record: dict, paths: list[str] | None = None) -> bool:
    """Carry a guide's files (or just `paths` of them) over from the previous output; False if one is missing."""
    paths = paths or guide_files(record)
    if not all(staged.previous and (staged.previous / p).is_file() for p in paths):
        return False
    return all(staged.keep(p) for p in paths)


# A PDF that could not be *written* (a full disk) is the output's failure, not the guide's: the build stops.
_OUTPUT_ERRORS = tuple(os.strerror(code) for code in (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO))


def stop_on_output_failure(failed: dict[str, Problem]) -> None:
    """Stop the build when a PDF could not be written (a full disk): that is the output's failure, not the guide's."""
    fatal = [p for p in failed.values() if any(text in p.message for text in _OUTPUT_ERRORS)]
    if fatal:
        raise BuildError(fatal)


def in_output(problem: Problem, staged: StagedOutput) -> Problem:
    """A PDF problem names its file in the staging folder; name it as it will be in the output folder."""
    try:
        rel = Path(problem.source).relative_to(staged.staging)
    except ValueError:
        return problem
    return Problem(display(staged.out_dir / rel), problem.line, problem.field, problem.message)


def carry_over(staged: StagedOutput, previous: dict[str, dict], options: BuildOptions, result: BuildResult,
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
        if applicant_id in built or not keep_paths_free(staged, old):
            continue
        if options.only and applicant_id not in options.only:
            if keep(staged, old):
                result.entries.append(old)
                result.kept.append(applicant_id)
        elif applicant_id in result.failed or old.get("source") in broken_sources:
            if keep(staged, old):
                result.stale.append({**old, "stale": True})
                reporter.event("stale", id=applicant_id)


def keep_paths_free(staged: StagedOutput, record: dict) -> bool:
    """True when this build wrote none of a previous guide's paths, so its old files can be carried over."""
    html = record.get("html")
    return isinstance(html, str) and not any(p in staged.written for p in (html, record.get("pdf")) if p)


def published_files(staged: StagedOutput, entries: list[dict]) -> list[Path]:
    """The published files of some guides, in the staging tree."""
    rels = [rel for e in entries for rel in guide_files(e) if rel and rel.startswith("site/")]
    return sorted(p for p in (staged.path(rel) for rel in rels) if p.is_file())


def withhold(staged: StagedOutput, result: BuildResult, findings: list[privacy.Finding], reporter: Reporter) -> None:
    """Withhold every guide the privacy check found exposing someone else (its last good version is carried over,
    as for a failed PDF); a finding in a page every visitor sees stops the build."""
    shared = [f.problem() for f in findings if f.guide is None]
    if shared:
        raise BuildError(shared)
    concerned: dict[str, list[Problem]] = {}
    for finding in findings:
        concerned.setdefault(finding.guide or "", []).append(finding.problem())
    for entries in (result.entries, result.stale):
        for entry in [e for e in entries if e["id"] in concerned]:
            entries.remove(entry)
            for done in (result.rebuilt, result.kept):
                if entry["id"] in done:
                    done.remove(entry["id"])
            result.failed.add(entry["id"])
            for problem in concerned[entry["id"]]:
                if problem not in result.problems:
                    result.problems.append(problem)
                    reporter.event("problem", problem=problem)
            for rel in filter(None, guide_files(entry)):
                staged.path(rel).unlink(missing_ok=True)
                staged.written.discard(rel)  # free for the previous version, if there is one


def drop_failed(staged: StagedOutput, result: BuildResult, failed: dict[str, Problem], reporter: Reporter) -> None:
    """Drop the guides whose PDF failed from this build; their previous version may then be carried over."""
    result.failed.update(failed)
    for entry in [e for e in result.entries if e["id"] in failed]:
        result.entries.remove(entry)
        result.rebuilt.remove(entry["id"])
        result.problems.append(failed[entry["id"]])
        reporter.event("problem", problem=failed[entry["id"]])
        for rel in guide_files(entry):
            staged.path(rel).unlink(missing_ok=True)
            staged.written.discard(rel)  # free for the previous version, if there is one
