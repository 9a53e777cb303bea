"""`matchguide check --coverage`: which applicants receive which content, and what looks wrong.

The matrix has one row per section, example, FAQ entry and layout and one
column per applicant. Warnings point at content nobody receives, rules that are
true for everyone (a rule written as `true` is meant that way and is not
warned about), and applicants who get no worked example of their band.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from generator.decide.selection import KINDS, Decisions, Rulebook, matches_record
from generator.errors import Problem
from generator.load.content import ALWAYS, Content
from generator.load.profiles import Profile
from generator.project import Inputs

MAX_COLUMNS = 40  # wider cohorts are shown as counts per band


@dataclass(frozen=True)
class Row:
    """One section, example, FAQ entry or layout across the cohort."""

    kind: str
    id: str
    source: str
    field: str
    rule: str
    band: str | None
    received: tuple[bool, ...]  # per applicant, in Coverage.profiles order
    holds: tuple[bool, ...]  # whether the rule alone is true, per applicant

    @property
    def count(self) -> int:
        """How many applicants receive it."""
        return sum(self.received)


@dataclass(frozen=True)
class Coverage:
    """The cohort x content matrix and the warnings drawn from it."""

    profiles: tuple[str, ...]
    bands: tuple[str, ...]  # each applicant's band, in the same order
    band_order: tuple[str, ...]
    rows: tuple[Row, ...]
    warnings: tuple[Problem, ...]


Decided = tuple[Profile, dict, Decisions]  # an applicant, their facts, and what `select` decided for them


def coverage(cohort: Sequence[Decided], rules: Rulebook, *, band_order: Sequence[str] = (),
             cohort_source: str = "profiles") -> Coverage:
    """The matrix and warnings: each applicant's decisions, laid side by side (pure; nothing is decided here)."""
    decided = [{(d.kind, d.id): d for d in decisions.decisions} for _, _, decisions in cohort]
    rows = []
    for c in rules.candidates:
        decisions = [by_key[(c.kind, c.id)] for by_key in decided]
        rows.append(Row(c.kind, c.id, c.source, c.field, c.rule.text, c.band, tuple(d.selected for d in decisions),
                        tuple(bool(d.holds) for d in decisions)))
    bands = tuple(facts["band"]["id"] for _, facts, _ in cohort)
    order = tuple(band_order) or tuple(sorted(set(bands)))
    profiles = [profile for profile, _, _ in cohort]
    warnings = _warnings(rows, profiles, bands, rules.content, cohort_source)
    warnings += _record_warnings(cohort, rules)
    return Coverage(tuple(p.id for p in profiles), bands, order, tuple(rows), tuple(warnings))


def cohort_coverage(inputs: Inputs, cohort: Sequence[Decided], cohort_source: str = "profiles") -> Coverage:
    """The coverage of the project's content and theme for a decided cohort, bands in the strategy's order."""
    band_order = [b.id for b in inputs.strategy.bands] + [inputs.strategy.pending_band.id]
    return coverage(cohort, inputs.rules, band_order=band_order, cohort_source=cohort_source)


def _warnings(rows: list[Row], profiles: list[Profile], bands: tuple[str, ...], content: Content,
              cohort_source: str) -> list[Problem]:
    n = len(profiles)
    if n == 0:
        return [Problem(cohort_source, None, None, "no valid profiles: coverage needs at least one applicant")]
    warnings = []
    for row in rows:
        what = {"section": "section", "example": "example", "faq": "FAQ entry", "layout": "layout"}[row.kind]
        if row.count == 0:
            message = f"no applicant receives this {what}: {_why_unused(row, bands)}"
            warnings.append(Problem(row.source, None, row.field, message))
        # With one applicant every rule is all or nothing, so "true for everyone" says nothing.
        if n > 1 and all(row.holds) and row.rule.strip() != ALWAYS:
            field = row.field if row.kind == "layout" else "when"
            message = f"rule {row.rule!r} is true for every applicant ({n} of {n}); write `when: true` if that is meant"
            warnings.append(Problem(row.source, None, field, message))
    for index, profile in enumerate(profiles):
        band = bands[index]
        if any(row.kind == "example" and row.received[index] for row in rows):
            continue
        written = sum(1 for example in content.examples if example.band == band)
        why = ("no example is written for that band" if not written
               else f"the rules of all {written} example(s) for that band are false for this applicant")
        warnings.append(Problem(profile.source, None, None, f"gets no worked example of its band '{band}': {why}"))
    return warnings


def _record_warnings(cohort: Sequence[Decided], rules: Rulebook) -> list[Problem]:
    """Applicants whose worked examples all tell a different story on exam failures than their own record."""
    by_id = {item.id: item for item in rules.content.examples}
    warnings = []
    for profile, facts, decisions in cohort:
        got = [by_id[i] for i in decisions.selected("example") if i in by_id]
        if got and not any(matches_record(item.record, facts) for item in got):
            failures = facts["failures_total"]
            own = f"{failures} failed attempt(s)" if failures else "no failed attempt"
            names = ", ".join(item.id for item in got)
            only = "its only example does not" if len(got) == 1 else "none of its examples does"
            warnings.append(Problem(profile.source, None, None,
                                    f"{only} match its record ({own}): {names}; write an example of band "
                                    f"'{facts['band']['id']}' with a record like this applicant's"))
    return warnings


def _why_unused(row: Row, bands: tuple[str, ...]) -> str:
    if row.kind == "example":
        in_band = [holds for holds, band in zip(row.holds, bands) if band == row.band]
        if not in_band:
            return f"no applicant in the cohort has band '{row.band}'"
        return f"its rule is false for all {len(in_band)} applicant(s) with band '{row.band}'"
    if row.kind == "layout" and any(row.holds):
        return "an earlier layout is chosen whenever its rule holds"
    return f"its rule is false for all {len(row.holds)} applicant(s)"


def format_matrix(cov: Coverage, max_columns: int = MAX_COLUMNS) -> str:
    """The matrix as text: ✓/· per applicant, or receive counts per band for a wide cohort."""
    by_band = len(cov.profiles) > max_columns
    if by_band:
        columns = [b for b in cov.band_order if b in cov.bands]
        totals = {b: cov.bands.count(b) for b in columns}
        headers = [f"{b} ({totals[b]})" for b in columns]
    else:
        headers = [str(i) for i in range(1, len(cov.profiles) + 1)]
    widths = [max(len(h), 3 if by_band else 1) for h in headers]
    label_width = max((len(r.id) for r in cov.rows), default=0) + max(len(k) for k in KINDS) + 2
    n = len(cov.profiles)
    legend = "counts of applicants who receive it, per band" if by_band else "✓ receives it, · does not"
    out = [f"coverage: {n} applicant(s) x {len(cov.rows)} rule(s); {legend}",
           " " * label_width + " " + " ".join(h.rjust(w) for h, w in zip(headers, widths)) + "  total"]
    for row in cov.rows:
        if by_band:
            cells = [str(sum(r for r, b in zip(row.received, cov.bands) if b == band)) for band in columns]
        else:
            cells = ["✓" if r else "·" for r in row.received]
        label = f"{row.kind:<{max(len(k) for k in KINDS)}}  {row.id}"
        marks = " ".join(c.rjust(w) for c, w in zip(cells, widths))
        out.append(f"{label:<{label_width}} {marks}  {row.count}/{n}")
    if not by_band and n:
        out.append("columns:")
        digits = len(str(n))
        out += [f"  {i:>{digits}}  {ident} ({band})" for i, (ident, band) in enumerate(zip(cov.profiles, cov.bands), 1)]
    return "\n".join(out) + "\n"
