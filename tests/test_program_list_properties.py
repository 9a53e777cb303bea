"""Property tests of the program list: the fast decision agrees with the rules read program by program."""

from __future__ import annotations

import math
import random
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from generator.decide.program_list import ProgramIndex, decide, reasons
from generator.load.programs import Program

VISA = st.sampled_from(["yes", "yes", "yes", "no", "unknown"])


def rarely(values):
    """Mostly blank: enough programs stay in for the quotas and filling to matter."""
    return st.sampled_from([None, None, None]) | values


@st.composite
def programs(draw):
    size = draw(st.integers(0, 60))
    ids = [f"P{n}" for n in draw(st.lists(st.integers(0, 999), unique=True, min_size=size, max_size=size))]
    out = []
    for row, pid in enumerate(ids, start=2):
        img = draw(st.none() | st.sampled_from(["0", "3", "4.9", "5", "10", "19.9", "20", "45.5", "100"]))
        out.append(Program(
            pid, f"Program {pid}", "Town", "OH", draw(st.sampled_from(["academic", "university-affiliated", "community"])),
            draw(VISA), draw(VISA), None if img is None else __import__("decimal").Decimal(img),
            draw(rarely(st.integers(200, 260))), draw(st.none() | st.integers(200, 270)),
            draw(rarely(st.integers(0, 10))), draw(st.sampled_from(["none", "one", "any", "any", "any"])),
            draw(st.sampled_from([False, False, False, True])), draw(st.booleans()), None, None, row,
        ))
    return out


@st.composite
def applicants(draw):
    tier, low, high = draw(st.sampled_from([("T1", 80, 100), ("T2", 80, 120), ("T3", 120, 160), ("T4", 140, 180)]))
    # Small lists too, so that L < max and the quotas, filling and `short` are all exercised.
    high = draw(st.sampled_from([high, 3, 7, 10, 17]))
    low = min(low, draw(st.sampled_from([low, 5, 12])))
    return {
        "visa": draw(st.sampled_from(["j1", "h1b", "either", "none", None])),
        "gap": draw(st.integers(-1, 12)),
        "failures_total": draw(st.sampled_from([0, 0, 0, 1, 2, 3])),
        "usce_months": draw(st.sampled_from([0, 0.5, 3])),
        # A failed Step 2 CK without a score (None) now and then; mostly scores near the programs' typical ones.
        "basis": {"score": draw(st.sampled_from([None, 0, 0, 0, 0, 0, 0]).flatmap(
            lambda s: st.none() if s is None else st.integers(200, 275)))},
        "programs": {"tier": tier, "min": low, "max": high},
        "cycle": 2027,
    }


def reference(progs, facts, rules):
    """docs/program-list.md, read line by line."""
    need = facts["visa"] or "either"
    score = facts["basis"]["score"]

    def status(p):
        if need == "none":
            return "yes"
        if need in ("j1", "h1b"):
            return p.visa_j1 if need == "j1" else p.visa_h1b
        if "yes" in (p.visa_j1, p.visa_h1b):
            return "yes"
        return "no" if (p.visa_j1, p.visa_h1b) == ("no", "no") else "unknown"

    def reason(p):
        if status(p) == "no":
            return "visa"
        if p.max_years_since_graduation is not None and facts["gap"] > p.max_years_since_graduation:
            return "graduation"
        f = facts["failures_total"]
        if (p.failed_attempts == "none" and f >= 1) or (p.failed_attempts == "one" and f >= 2):
            return "attempts"
        low = -math.inf if score is None else score
        if p.step2_min is not None and low < p.step2_min:
            return "min_score"
        if p.usce_required and facts["usce_months"] == 0:
            return "usce"
        if p.step2_typical is not None and low < p.step2_typical - 15:
            return "far_above"
        return None

    def cat(p):
        if p.img_percent is not None and p.img_percent < 5:
            return "reach"
        if p.step2_typical is not None:
            margin = score - p.step2_typical
            return "likely" if margin >= 5 else "target" if margin >= -5 else "reach"
        if p.img_percent is not None and p.img_percent >= 20:
            return "target"
        return "reach"

    excluded = dict.fromkeys(["visa", "graduation", "attempts", "min_score", "usce", "far_above"], 0)
    stayed = []
    for p in progs:
        r = reason(p)
        if r:
            excluded[r] += 1
        else:
            stayed.append(p)
    key = lambda p: (status(p) == "unknown", p.img_percent is None, -(p.img_percent or 0),  # noqa: E731
                     p.step2_typical is None, -(p.step2_typical or 0), p.id)
    ranked = {c: sorted([p for p in stayed if cat(p) == c], key=key) for c in ("reach", "target", "likely")}
    size = min(facts["programs"]["max"], len(stayed))
    share = {c: Fraction(str(v)) for c, v in rules.mix[facts["programs"]["tier"]].items()}
    quota = {c: math.floor(size * share[c] + Fraction(1, 2)) for c in ("reach", "target")}
    quota["likely"] = size - quota["reach"] - quota["target"]
    taken = {c: min(quota[c], len(ranked[c])) for c in ranked}
    left = size - sum(taken.values())
    for c in ("likely", "target", "reach"):
        extra = min(left, len(ranked[c]) - taken[c])
        taken[c] += extra
        left -= extra
    lists = {c: [p.id for p in ranked[c][:taken[c]]] for c in ranked}
    by_id = {p.id: p for p in progs}
    candidates = [i for c in ("target", "reach", "likely") for i in lists[c] if by_id[i].signals]
    return {
        "count": size, "short": size < facts["programs"]["min"], **lists,
        "signals": {"gold": candidates[:3], "silver": candidates[3:15]},
        "excluded": excluded,
        "confirm_visa": sorted(i for c in lists.values() for i in c if status(by_id[i]) == "unknown"),
    }


@settings(max_examples=150, deadline=None)
@given(progs=programs(), facts=applicants(), seed=st.integers(0, 2**16))
def test_the_decision_follows_the_rules(strategy, progs, facts, seed):
    rules = strategy.program_list
    index = ProgramIndex(progs, rules)
    decided = decide(facts, index)
    record = decided.record()
    assert {k: record[k] for k in ("count", "short", "reach", "target", "likely", "signals", "excluded",
                                   "confirm_visa")} == reference(progs, facts, rules)
    ids = record["reach"] + record["target"] + record["likely"]
    why = {r.program.id: r for r in reasons(facts, index, decided)}
    assert len(ids) == len(set(ids)) == record["count"]  # exactly L programs, none twice
    assert not any(why[i].excluded for i in ids)  # never an excluded program
    assert sum(record["excluded"].values()) + decided.stayed == len(progs)
    assert {i for i, r in why.items() if r.listed} == set(ids)
    assert all(why[i].category == c for c in ("reach", "target", "likely") for i in record[c])
    shuffled = list(progs)
    random.Random(seed).shuffle(shuffled)
    assert decide(facts, ProgramIndex(shuffled, rules)).record() == record  # same inputs, same list
