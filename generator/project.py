"""A project's inputs, loaded once: strategy, content, theme, the renderer, and the cohort of profiles.

Every command that reads a project (build, check, explain, coverage, merge, serve, import) loads it here.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Sequence

from generator import GENERATOR
from generator.decide import facts as facts_mod
from generator.decide.program_list import ProgramIndex
from generator.decide.selection import Rulebook, compile_rules
from generator.errors import InputError, Problem
from generator.load.content import Content, Theme, load_content, load_theme
from generator.load.profiles import Profile, load_profiles
from generator.load.programs import ProgramSheet, load_programs
from generator.load.strategy import Strategy, load_strategy
from generator.render.html import Renderer


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
    ledger: Path | None = None  # the send ledger the roster reads; default: .matchguide/ledger.jsonl beside `out`
    programs: Path | None = None  # the program spreadsheet; None: content/data/programs.csv when it exists

    def programs_path(self) -> Path | None:
        """The program spreadsheet to read, or None when there is none (the default file is optional)."""
        if self.programs is not None:
            return self.programs
        default = self.content / "data" / "programs.csv"
        return default if default.is_file() else None


@dataclass
class Inputs:
    """The shared inputs of every guide: strategy, content, theme, their compiled rules and their renderer."""

    strategy: Strategy
    schema: dict
    content: Content
    theme: Theme
    rules: Rulebook
    renderer: Renderer
    as_of: date
    cycle: int
    programs: ProgramSheet | None = None  # the spreadsheet as read, errors and warnings included
    program_index: ProgramIndex | None = None  # prepared for deciding lists; None unless the sheet has no errors

    @property
    def program_status(self) -> str:
        """Where each applicant's list comes from: `ready`, `no_spreadsheet` or `spreadsheet_errors`."""
        if self.programs is None:
            return "no_spreadsheet"
        return "ready" if self.program_index is not None else "spreadsheet_errors"


def default_cycle(strategy: Strategy, as_of: date) -> int:
    """The next ERAS cycle on or after the build date."""
    return as_of.year if as_of <= strategy.eras_date(as_of.year) else as_of.year + 1


def display(path: Path) -> str:
    """A path as errors and the manifest show it: relative to the current folder when inside it."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path.as_posix()
    return Path(rel).as_posix() if not rel.startswith("..") else path.as_posix()


def load_inputs(options: BuildOptions) -> Inputs:
    """Load strategy, content and theme; raise InputError with every problem found in them."""
    as_of = options.as_of or date.today()
    strategy_file = options.content / "data" / "strategy.yaml"
    strategy = load_strategy(strategy_file, display(strategy_file))
    schema = facts_mod.schema(strategy)
    band_ids = [b.id for b in strategy.bands] + [strategy.pending_band.id]
    content, problems = load_content(options.content, band_ids=band_ids, source_prefix=display(options.content))
    try:
        theme = load_theme(options.theme, source_prefix=display(options.theme))
    except InputError as exc:
        raise InputError(problems + exc.problems) from None
    rules, rule_problems = compile_rules(content, theme, schema)
    problems += rule_problems
    cycle = options.cycle or default_cycle(strategy, as_of)
    renderer = Renderer(content, theme, strategy, generator=GENERATOR, cycle=cycle, as_of=as_of)
    problems += renderer.problems
    if problems:
        raise InputError(problems)
    sheet, index = load_program_sheet(options, strategy)
    return Inputs(strategy, schema, content, theme, rules, renderer, as_of, cycle, sheet, index)


def load_program_sheet(options: BuildOptions, strategy: Strategy) -> tuple[ProgramSheet | None, ProgramIndex | None]:
    """The program spreadsheet, read and checked, and its index (None when it has errors or there is none).

    A spreadsheet's problems never stop a build: they are reported, and the guides are built without lists.
    """
    path = options.programs_path()
    if path is None:
        return None, None
    sheet = load_programs(path, display(path))
    return sheet, ProgramIndex(sheet.programs, strategy.program_list, invented=sheet.invented) if sheet.ok else None


def load_cohort(options: BuildOptions, inputs: Inputs) -> tuple[list[Profile], list[Problem]]:
    """Every valid profile (optionally one shard of them) and the problems of the rest."""
    profiles, problems = _load_profiles(options, inputs, options.only)
    if options.shard:
        k, n = options.shard
        profiles = [p for p in profiles if shard_of(p.id, n) == k - 1]
    return profiles, problems


def whole_cohort(options: BuildOptions, inputs: Inputs, built: list[Profile]) -> list[Profile]:
    """Every valid profile, even those an `--only` or `--shard` build leaves out (for the privacy check)."""
    if not options.only and not options.shard:
        return built
    return _load_profiles(options, inputs, None)[0]


def _load_profiles(options: BuildOptions, inputs: Inputs, only: Sequence[str] | None) -> tuple[list[Profile], list[Problem]]:
    return load_profiles(
        options.profiles,
        default_cycle=inputs.cycle,
        passing_standard=inputs.strategy.standard_on,
        as_of=inputs.as_of,
        source_prefix=display(options.profiles),
        only=only,
    )


def shard_of(applicant_id: str, n: int) -> int:
    """The shard (0-based) an applicant belongs to: stable across runs and machines."""
    return int.from_bytes(hashlib.sha256(applicant_id.encode()).digest()[:8], "big") % n
