"""`matchguide explain`: why one applicant's guide contains what it contains.

Every section, example, FAQ entry and layout is listed, selected or not, with its rule (text, file and
line), the rule's result and the fact values that decided it. Nothing is decided here: this module
formats the `Decisions` that `decide.selection.select` returns.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import PurePosixPath
from typing import Any

from generator.decide import facts as facts_mod
from generator.decide.program_view import attach
from generator.decide.selection import KINDS, Decision, Decisions, Rulebook, select
from generator.errors import InputError, Problem
from generator.project import BuildOptions, display, load_cohort, load_inputs


@dataclass(frozen=True)
class Explanation:
    """Everything `explain` shows for one applicant."""

    id: str
    name: str
    source: str
    as_of: date
    cycle: int
    key_facts: list[tuple[str, str]]
    decisions: tuple[Decision, ...]
    facts: dict = field(repr=False)

    def of_kind(self, kind: str) -> list[Decision]:
        """The decisions about one kind of thing, in guide order."""
        return [d for d in self.decisions if d.kind == kind]

    def selected(self, kind: str) -> list[str]:
        """The ids selected of one kind, in guide order."""
        return [d.id for d in self.of_kind(kind) if d.selected]


def explain(facts: dict, rules: Rulebook, *, applicant_id: str, source: str) -> Explanation:
    """The decisions `select` makes for these facts, with the header of key facts (pure)."""
    decided = select(facts, rules)
    return Explanation(applicant_id, facts["name"], source, facts["dates"]["as_of"], facts["cycle"], key_facts(facts),
                       decided.decisions, facts)


def chosen(applicant_id: str, facts: dict, decided: Decisions) -> list[str]:
    """What `check` lists for one applicant: band and layout, then the ids of what the guide holds."""
    return [f"{applicant_id}: band {facts['band']['id']}, layout {decided.layout.id}",
            f"  sections: {', '.join(s.id for s in decided.sections)}",
            f"  examples: {', '.join(s.id for s in decided.examples) or '-'}",
            f"  faq: {', '.join(s.id for s in decided.faq) or '-'}"]


def key_facts(facts: dict) -> list[tuple[str, str]]:
    """The facts that decide most of a guide, each as (label, one line that says why)."""
    dates, plan, step2 = facts["dates"], facts["plan"], facts["step2"]
    exam = [step2["result"]]
    exam += [f"exam {show(step2['exam_date'])}"] if step2["exam_date"] else []
    exam += [f"{step2['practice_count']} practice exam(s)"] if step2["practice_count"] else []
    exam += [f"qbank {show(step2['qbank_percent'])}%"] if step2["qbank_percent"] is not None else []
    season = facts["season"]
    expected = ", expected dates" if season["expected"] else ""
    when = [f"{season['name']} season{expected}: submit from {show(dates['eras'])}, "
            f"programs read from {show(dates['programs_read_from'])}, Match Day {show(dates['match_day'])}"]
    if dates["score_release"]:
        margin = dates["release_margin_days"]
        when.insert(0, f"score expected {show(dates['score_release'])} ({margin:+d} days to submit-from)")
    if plan["available"]:
        full = plan["full_weeks"]
        kind = f"shortened plan (under {full} weeks left)" if plan["compressed"] else f"{full}-week plan"
        study = (f"{kind} starts {show(plan['start'])}; the exam is {plan['weeks']} weeks after "
                 f"the build date {show(dates['as_of'])}")
    else:
        study = "none (no future exam date for a pending Step 2 CK)"
    person = (f"gap {facts['gap']} years (YOG {facts['graduation_year']}, cycle {facts['cycle']}), "
              f"visa {facts['visa'] or 'not given'}, USCE {show(facts['usce_months'])} months, "
              f"US LoRs {facts['us_lors']}")
    trained = ", ".join(str(facts[key]) for key in ("medical_school", "country") if facts.get(key))
    person += f", trained: {trained}" if trained else ""
    return [
        ("band", _band_line(facts)),
        ("programs", _programs_line(facts)),
        ("flags", ", ".join(facts["flag_list"]) or "none"),
        ("step 2 ck", ", ".join(exam)),
        ("dates", ", ".join(when)),
        ("plan", study),
        ("profile", person),
    ]


def _band_line(facts: dict) -> str:
    band, basis = facts["band"], facts["basis"]
    head = f"{band['id']} (projected)" if band["projected"] else band["id"]
    when = f", {show(basis['date'])}" if basis.get("date") else ""
    if facts["step2"]["result"] == "fail":
        score = f"basis {basis['score']}" if basis["score"] is not None else "no score given"
        return f"{head} because Step 2 CK was failed ({score}, official{when})"
    if basis["kind"] == "none":
        return f"{head} because there is no Step 2 CK score and no practice score yet"
    return f"{head} because basis {basis['score']} ({basis['kind']}{when})"


def _programs_line(facts: dict) -> str:
    programs = facts["programs"]
    if programs["tier"] is None:
        return "no number yet (band pending)"
    line = f"{programs['tier']}: {programs['min']}–{programs['max']} programs"
    why = {"failure": f"failure ({facts['failures_total']} failed attempt(s))",
           "long_gap": f"long_gap (gap {facts['gap']})"}
    basis = show(facts["basis"]["score"])
    if programs["raised_by"]:
        raised = ", ".join(why.get(m, m) for m in programs["raised_by"])
        return f"{line}; base tier {programs['base_tier']} from basis {basis}, raised by {raised}"
    return f"{line}; tier from basis {basis}, no modifiers"


def show(value: Any) -> str:
    """A fact value as explain prints it: `True`, `None`, `'low'`, `2027-05-02`, `[...]`."""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{…}"
    return repr(value)


def reason(decision: Decision) -> str:
    """`when: <rule>  → true because a=1, b=2` (with the band test first for an example)."""
    if decision.error:
        result = f"error: {decision.error}"
    elif decision.always:
        result = "true (always)"
    else:
        values = ", ".join(f"{name}={show(value)}" for name, value in decision.values.items())
        result = f"{'true' if decision.holds else 'false'} because {values}"
    text = f"when: {decision.rule}  → {result}"
    if decision.kind == "example":
        verdict = "matches" if decision.band_matches else "does not match"
        text = f"band {decision.band!r} {verdict} band.id={show(decision.applicant_band)};  {text}"
    if decision.note:
        text += f"  ({decision.note})"
    return text


def format_text(explanation: Explanation) -> str:
    """The explanation as the CLI prints it."""
    out = [f"{explanation.id}: {explanation.name}  ({explanation.source}; as of {explanation.as_of}, "
           f"cycle {explanation.cycle})"]
    width = max(len(label) for label, _ in explanation.key_facts)
    out += [f"  {label:<{width}}  {text}" for label, text in explanation.key_facts]
    titles = {"section": "sections", "example": "examples", "faq": "faq", "layout": "layouts"}
    for kind in KINDS:
        decisions = explanation.of_kind(kind)
        out.append("")
        count = sum(d.selected for d in decisions)
        out.append(f"{titles[kind]} ({count} of {len(decisions)} selected)")
        if not decisions:
            out.append("  (none)")
            continue
        id_width = max(len(d.id) for d in decisions)
        for d in decisions:
            out.append(f"  {d.id:<{id_width}}  {'✓' if d.selected else '·'}  {reason(d)}  [{d.where}]")
    return "\n".join(out) + "\n"


def explain_applicant(options: BuildOptions, applicant_id: str) -> tuple[Explanation, list[Problem]]:
    """Load the inputs and one applicant; (their explanation, problems found in other profiles).

    Raises InputError when the applicant's own profile is missing or invalid.
    """
    inputs = load_inputs(options)
    profiles, problems = load_cohort(replace(options, only=[applicant_id], shard=None), inputs)
    found = next((p for p in profiles if p.id == applicant_id), None)
    if found is None:
        own = [p for p in problems if PurePosixPath(p.source).stem == applicant_id
               or p.message.startswith(f"no profile has the id '{applicant_id}'")]
        raise InputError(own or problems or Problem(display(options.profiles), None, None,
                                                    f"no profile has the id '{applicant_id}'"))
    facts = facts_mod.derive(found, inputs.strategy, inputs.as_of)
    attach(facts, inputs.program_index, inputs.program_status)  # as the build does: rules may read the list
    return explain(facts, inputs.rules, applicant_id=found.id, source=found.source), problems
