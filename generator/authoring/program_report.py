"""The program list in the advisor's tools: `explain ID` (every program's decision and reason) and
`check --coverage` (how many applicants' lists hold each program, and the programs on nobody's list).

Both format what decide/program_list.py decided; nothing is decided again here.
"""

from __future__ import annotations

from typing import Any, Sequence

from generator.decide.program_list import ProgramIndex, ProgramList, ProgramReason, decide, reasons

VISA_NAMES = {"j1": "J-1", "h1b": "H-1B", "either": "J-1 or H-1B", "none": "no visa"}
STATUS_TEXT = {
    "pending": "no list: band pending (no practice or official Step 2 CK score yet)",
    "no_spreadsheet": "no list: no program spreadsheet (content/data/programs.csv, or --programs FILE)",
    "spreadsheet_errors": "no list: the program spreadsheet has errors (`matchguide check` lists them)",
}


def explain_lines(facts: dict, index: ProgramIndex | None, status: str) -> list[str]:
    """The program-list part of `explain`: the summary, then one line per program in spreadsheet order."""
    decided = decide(facts, index) if index is not None and status == "ready" else None
    if decided is None:
        return [f"  program list: {STATUS_TEXT.get(status if index is None else 'pending', status)}"]
    assert index is not None
    lines = [_summary(facts, decided)]
    lines += [_reason_line(r, facts, decided, index) for r in reasons(facts, index, decided)]
    return lines


def _summary(facts: dict, decided: ProgramList) -> str:
    short = f", short of the minimum {decided.min}" if decided.short else ""
    excluded = ", ".join(f"{reason} {count}" for reason, count in decided.excluded.items() if count) or "none"
    return (f"  program list: {decided.count} of {decided.rows} programs (tier {facts['programs']['tier']}: "
            f"{decided.min}–{decided.max}{short}); {decided.stayed} stayed in; needs {VISA_NAMES[decided.need]}; "
            f"score {facts['basis']['score'] if facts['basis']['score'] is not None else 'none (failed)'}\n"
            f"    {len(decided.reach)} reach, {len(decided.target)} target, {len(decided.likely)} likely; "
            f"left out: {excluded}; {len(decided.confirm_visa)} to confirm visa")


def _reason_line(r: ProgramReason, facts: dict, decided: ProgramList, index: ProgramIndex) -> str:
    p = r.program
    head = f"    {'✓' if r.listed else '·'} {p.id:<14} {_clip(p.name, 44):<44} {p.city}, {p.state}"
    if r.excluded:
        return f"{head}  left out: {r.excluded} ({_exclusion_detail(r.excluded, p, facts, decided, index)})"
    if r.basis == "img_rare":
        why = f"IMG-rare ({_pct(p.img_percent)}% IMGs)"
    elif r.basis == "margin" and r.margin is not None:
        why = f"margin {r.margin:+d} against typical {p.step2_typical}"
    elif r.basis == "img_friendly":
        why = f"IMG-friendly ({_pct(p.img_percent)}% IMGs), no typical score"
    else:
        why = "no typical score" + (f", {_pct(p.img_percent)}% IMGs" if p.img_percent is not None else "")
    extra = [s for s in (f"{r.signal} signal" if r.signal else "", "confirm visa" if r.confirm_visa else "") if s]
    fit = "" if r.listed else f"; not on the list: the {r.category} share and the list size ({decided.count}) were full"
    return f"{head}  {r.category}: {why}{'; ' + ', '.join(extra) if extra else ''}{fit}"


def _exclusion_detail(reason: str, p: Any, facts: dict, decided: ProgramList, index: ProgramIndex) -> str:
    score = facts["basis"]["score"]
    shown = score if score is not None else "none (failed)"
    if reason == "visa":
        return f"J-1 {p.visa_j1}, H-1B {p.visa_h1b}; needs {VISA_NAMES[decided.need]}"
    if reason == "graduation":
        return f"at most {p.max_years_since_graduation} years since graduation; gap {facts['gap']}"
    if reason == "attempts":
        return f"failed attempts {p.failed_attempts}; has {facts['failures_total']}"
    if reason == "min_score":
        return f"minimum {p.step2_min}; score {shown}"
    if reason == "usce":
        return "US clinical experience required; has none"
    return f"typical {p.step2_typical}, more than {index.rules.far_above} above score {shown}"


def _pct(value: Any) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def coverage_lines(cohort: Sequence[tuple[str, dict]], index: ProgramIndex | None, status: str) -> list[str]:
    """Per program, how many applicants' lists hold it (and as what); the programs on nobody's list last."""
    if index is None:
        return [f"program list coverage: {STATUS_TEXT.get(status, status)}"]
    counts: dict[str, dict[str, int]] = {p.id: {"reach": 0, "target": 0, "likely": 0, "gold": 0, "silver": 0}
                                         for p in index.programs}
    with_lists = 0
    for _, facts in cohort:
        decided = decide(facts, index)
        if decided is None:
            continue
        with_lists += 1
        for category in ("reach", "target", "likely"):
            for p in getattr(decided, category):
                counts[p.id][category] += 1
        for kind in ("gold", "silver"):
            for p in getattr(decided, kind):
                counts[p.id][kind] += 1
    by_row = sorted(index.programs, key=lambda p: p.row)
    nobody = [p for p in by_row if not sum(counts[p.id][c] for c in ("reach", "target", "likely"))]
    lines = [f"program list coverage: {with_lists} of {len(cohort)} applicants have a list; "
             f"{len(index.programs) - len(nobody)} of {len(index.programs)} programs are on at least one",
             f"  {'program':<14} {'lists':>5} {'reach':>5} {'target':>6} {'likely':>6} {'gold':>4} {'silver':>6}  name"]
    for p in by_row:
        c = counts[p.id]
        total = c["reach"] + c["target"] + c["likely"]
        lines.append(f"  {p.id:<14} {total:>5} {c['reach']:>5} {c['target']:>6} {c['likely']:>6} {c['gold']:>4} "
                     f"{c['silver']:>6}  {_clip(p.name, 50)}")
    if nobody:
        lines.append(f"on nobody's list ({len(nobody)}): " + ", ".join(p.id for p in nobody))
    return lines


def explain_programs(options: Any, applicant_id: str) -> list[str]:
    """Load the project and one applicant (who must be valid); the program-list lines of `explain`."""
    from dataclasses import replace

    from generator.decide.facts import derive
    from generator.errors import InputError, Problem
    from generator.project import display, load_cohort, load_inputs

    inputs = load_inputs(options)
    profiles, problems = load_cohort(replace(options, only=[applicant_id], shard=None), inputs)
    found = next((p for p in profiles if p.id == applicant_id), None)
    if found is None:
        raise InputError(problems or Problem(display(options.profiles), None, None,
                                             f"no profile has the id '{applicant_id}'"))
    facts = derive(found, inputs.strategy, inputs.as_of)
    sheet = inputs.programs
    head = [f"{found.id}: {found.name}  ({found.source}; program spreadsheet "
            f"{sheet.source if sheet else 'none'})"]
    return head + explain_lines(facts, inputs.program_index, inputs.program_status)
