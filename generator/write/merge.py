"""`matchguide merge`: combine the output folders of shard builds into the output of one full build.

A large cohort is built in shards (`matchguide build --shard K/N`), one process
or CI job each. Merging checks that the shards fit together (same generator,
build date, cycle and site key; identical shared site files; no applicant in two
shards), then writes what one full build would have written: every guide and
PDF, one manifest with the profiles sorted by id and the errors de-duplicated,
and the roster re-rendered. The privacy check runs on the merged tree before it
is switched in, exactly as at the end of a build.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path, PurePosixPath
from typing import Sequence

from generator import GENERATOR
from generator.write import manifest
from generator.write import roster
from generator.project import BuildOptions, display, load_cohort, load_inputs
from generator.write.finish import finish
from generator.errors import BuildError, Problem
from generator.write.slugs import GUIDE_DIR, KEY_ENV, site_key, slug
from generator.write.writer import BuildLock, StagedOutput

SETTINGS = ("generator", "cycle", "as_of")  # manifest keys every shard must share
REBUILT = (manifest.NAME, roster.NAME, roster.ICS_NAME)  # written by the merge, never copied from a shard
PDF_DIR = "pdf"


@dataclass
class Shard:
    """One shard build's output folder: its manifest and every file it holds."""

    root: Path
    doc: dict
    files: dict[str, Path]  # relative path -> file
    owned: set[str] = field(default_factory=set)  # the files that belong to one applicant's guide

    def source(self, rel: str = manifest.NAME) -> str:
        """How problems name a file of this shard."""
        return f"{display(self.root)}/{rel}"


@dataclass
class MergeResult:
    """What a merge wrote: the manifest entries and the build errors the shards carried."""

    entries: list[dict] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    shards: int = 0
    manifest_path: Path | None = None

    @property
    def ok(self) -> bool:
        """True when no shard build reported a problem."""
        return not self.problems


def merge(out: Path, shard_dirs: Sequence[Path], options: BuildOptions | None = None) -> MergeResult:
    """Merge shard output folders into `out` atomically; raise BuildError if they do not fit together."""
    options = replace(options or BuildOptions(), out=out, only=None, shard=None)
    if not shard_dirs:
        raise BuildError(Problem("merge", None, None, "no shard output folders given"))
    shards = [_read_shard(Path(d)) for d in shard_dirs]
    settings, extra = _settings(shards)
    entries = _entries(shards)
    files = _files(shards)
    with BuildLock(out) as lock:
        key = _key(options.state)
        _check_addresses(shards, key)
        inputs = load_inputs(replace(options, as_of=date.fromisoformat(settings["as_of"]), cycle=settings["cycle"]))
        profiles, _ = load_cohort(options, inputs)
        problems = [Problem(**p) for s in shards for p in s.doc.get("errors", [])]
        doc = manifest.document(settings["cycle"], settings["as_of"], entries, problems, **extra)
        with StagedOutput(out, lock.real) as staged:
            for rel, path in sorted(files.items()):
                staged.write_bytes(rel, path.read_bytes())
            finish(staged, doc, inputs.renderer, profiles, doc["profiles"], options.ledger)
    return MergeResult(entries=doc["profiles"], problems=[Problem(**e) for e in doc["errors"]], shards=len(shards),
                       manifest_path=out / manifest.NAME)


def _read_shard(root: Path) -> Shard:
    doc = manifest.read(root)
    if not isinstance(doc, dict) or not isinstance(doc.get("profiles"), list):
        raise BuildError(Problem(f"{display(root)}/{manifest.NAME}", None, None,
                                 "not the output folder of a matchguide build: no readable manifest"))
    files = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file() or p.is_symlink()}
    shard = Shard(root, doc, {rel: p for rel, p in files.items() if rel not in REBUILT})
    problems = []
    for rel, path in shard.files.items():
        if path.is_symlink():
            problems.append(Problem(shard.source(rel), None, None, "is a symbolic link; a build writes none"))
    for entry in doc["profiles"]:
        folder = str(PurePosixPath(entry["html"]).parent) + "/"
        mine = {rel for rel in shard.files if rel.startswith(folder)} | ({entry["pdf"]} if entry.get("pdf") else set())
        for rel in sorted({entry["html"], *mine} - set(shard.files)):
            problems.append(Problem(shard.source(), None, f"{entry['id']}", f"lists {rel}, which the folder lacks"))
        shard.owned |= mine
    for rel in sorted(shard.files):
        if rel.startswith((f"{GUIDE_DIR}/", f"{PDF_DIR}/")) and rel not in shard.owned:
            problems.append(Problem(shard.source(rel), None, None, "belongs to no guide in the shard's manifest"))
    if problems:
        raise BuildError(problems)
    return shard


def _settings(shards: list[Shard]) -> tuple[dict, dict]:
    """The build settings and extra manifest keys, which must be the same in every shard."""
    first = shards[0]
    problems = []
    if first.doc.get("generator") != GENERATOR:
        problems.append(Problem(first.source(), None, "generator",
                                f"built by {first.doc.get('generator')}, but this is {GENERATOR}; rebuild the shards"))
    keys = [k for k in first.doc if k not in ("profiles", "errors")]
    for shard in shards[1:]:
        for k in dict.fromkeys(keys + [k for k in shard.doc if k not in ("profiles", "errors")]):
            if shard.doc.get(k) != first.doc.get(k):
                problems.append(Problem(
                    shard.source(), None, k, f"is {shard.doc.get(k)!r}, but {first.doc.get(k)!r} in {first.source()}; "
                                             "build every shard with the same --as-of, --cycle and version"))
    for k in SETTINGS:
        if k not in first.doc:
            problems.append(Problem(first.source(), None, k, "missing"))
    if problems:
        raise BuildError(problems)
    return {k: first.doc[k] for k in SETTINGS}, {k: first.doc[k] for k in keys if k not in SETTINGS}


def _entries(shards: list[Shard]) -> list[dict]:
    """Every shard's manifest entries; an applicant in two shards is an error."""
    seen: dict[str, Shard] = {}
    entries, problems = [], []
    for shard in shards:
        for entry in shard.doc["profiles"]:
            if entry["id"] in seen:
                problems.append(Problem(shard.source(), None, entry["id"],
                                        f"also built in {seen[entry['id']].source()}; the shards overlap"))
                continue
            seen[entry["id"]] = shard
            entries.append(entry)
    if problems:
        raise BuildError(problems)
    return entries


def _files(shards: list[Shard]) -> dict[str, Path]:
    """Every file to copy: each guide's from its shard, the shared site files once (identical in every shard)."""
    files: dict[str, Path] = {}
    problems = []
    first = shards[0]
    shared = set(first.files) - first.owned
    for shard in shards:
        mine = set(shard.files) - shard.owned
        for rel in sorted(shared - mine):
            problems.append(Problem(shard.source(rel), None, None, f"missing, but present in {first.source(rel)}"))
        for rel in sorted(mine - shared):
            problems.append(Problem(shard.source(rel), None, None,
                                    f"not in {display(first.root)}; shared files must match"))
        for rel in sorted(mine & shared):
            if shard is not first and shard.files[rel].read_bytes() != first.files[rel].read_bytes():
                problems.append(Problem(shard.source(rel), None, None,
                                        f"differs from {first.source(rel)}; build every shard from the same commit"))
        for rel in sorted(shard.owned):
            if rel in files:
                problems.append(Problem(shard.source(rel), None, None, "is also in another shard; the shards overlap"))
            files[rel] = shard.files[rel]
    if problems:
        raise BuildError(problems)
    files.update({rel: first.files[rel] for rel in shared})
    return files


def _key(state: Path) -> bytes:
    """The site key the shards were built with; never made anew here (a new key would not match them)."""
    key_file = state / "site.key"
    if not os.environ.get(KEY_ENV, "").strip() and not key_file.is_file():
        raise BuildError(Problem(KEY_ENV, None, None, f"no site key: set {KEY_ENV} to the key the shards were "
                                 f"built with (or keep it in {display(key_file)})"))
    return site_key(key_file)


def _check_addresses(shards: list[Shard], key: bytes) -> None:
    """Each guide must sit at the address the site key gives: shards built with another key are refused."""
    problems = []
    for shard in shards:
        for entry in shard.doc["profiles"]:
            if entry["html"] != f"{GUIDE_DIR}/{slug(key, entry['id'])}/index.html":
                problems.append(Problem(shard.source(), None, entry["id"], "guide is not at the address this site key "
                                        f"gives; build every shard with the same {KEY_ENV}"))
    if problems:
        raise BuildError(problems)
