"""The synthetic cohort of `make bench`: N valid, deterministic profiles covering every band and flag."""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

AS_OF = date(2026, 11, 25)
CYCLE = 2027
FIRST = ("Amara Bilal Chiara Dawit Elif Farid Gulnara Hamza Ines Jomo Kavya Laleh Mateo Nadia Omar Pavel Qiao Rashid "
         "Selin Tariq Ulla Vikram Wafa Xenia Yusuf Zeynep Adel Bruna Cyrus Dalia Emeka Fiona Goran Hana Ilya Jana "
         "Kenji Leila Marek Noor Osman Petra Ravi Sana Timur Uma Vera Walid Yara Zoran").split()
LAST = ("Abara Bakr Castillo Dlamini Ekwueme Farouk Gashi Hosseini Ivanova Jaber Kapoor Lindqvist Mwangi Novak "
        "Okafor Perera Qureshi Rossi Saleh Takahashi Usman Vargas Wojcik Xu Yilmaz Zhou Adeyinka Baptiste Chaudhry "
        "Demir Eriksen Fonseca Gupta Haddadi Iqbal Jovanovic Karimi Lopes Mansour Nakamura Osei Pillai Rahimi "
        "Sandoval Tran Uddin Volkova Wanjiru Yadav Zapata").split()
# Step 2 CK situation and score range, in turn: every band and every flag shows up in any few dozen profiles.
KINDS = (("pass", 250, 268), ("pass", 240, 249), ("pass", 230, 239), ("pass", 220, 229), ("pass", 218, 219),
         ("fail", 196, 217), ("practice", 236, 262), ("practice", 200, 234), ("none", 0, 0), ("absent", 0, 0))


def synthetic_profile(i: int, as_of: date = AS_OF, cycle: int = CYCLE) -> str:
    """The YAML of the i-th synthetic applicant (valid per docs/profile-format.md, deterministic)."""
    rng = random.Random(i)
    kind, low, high = KINDS[i % len(KINDS)]
    gap = rng.choice((0, 1, 2, 3, 4, 6, 8, 11)) if kind != "absent" else rng.choice((-1, 0))
    s1_attempts = 1 + (rng.random() < 0.2)
    s1 = "pending" if gap < 0 else rng.choice(("pass",) * 8 + ("fail",)) if s1_attempts == 1 else "pass"
    lines = [f"name: {FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]}",
             f"email: applicant{i}@example.org", f"graduation_year: {cycle - gap}", f"cycle: {cycle}",
             "step1:", f"  result: {s1}", f"  attempts: {0 if s1 == 'pending' else s1_attempts}"]
    if kind != "absent":
        lines.append("step2_ck:")
        if kind in ("pass", "fail"):
            exam = date(2025, 7, 1) + timedelta(days=rng.randint(0, 480))
            lines += [f"  result: {kind}", f"  score: {rng.randint(low, high)}",
                      f"  attempts: {1 + (kind == 'fail' and rng.random() < 0.3)}", f"  exam_date: {exam}"]
        else:
            lines += ["  result: pending", "  attempts: 0"]
            if rng.random() < 0.8:
                lines.append(f"  exam_date: {as_of + timedelta(days=rng.randint(20, 330))}")
        if kind != "none":
            practice = sorted((as_of - timedelta(days=rng.randint(5, 150)), rng.randint(low, high))
                              for _ in range(rng.randint(1, 3)))
            lines.append("  practice:")
            lines += [f"    - {{date: {d}, name: NBME {10 + k}, score: {s}}}" for k, (d, s) in enumerate(practice)]
        lines.append(f"  qbank_percent: {rng.randint(48, 78)}")
    lines += [f"visa: {rng.choice(('j1', 'h1b', 'either', 'none'))}", f"in_medical_school: {str(gap < 0).lower()}",
              f"usce_months: {rng.choice((0, 0, 1, 2, 3, 4, 6, 9))}", f"us_lors: {rng.randint(0, 4)}",
              f"research_items: {rng.randint(0, 5)}",
              f"target: {rng.choice(('academic', 'university-affiliated', 'community'))}",
              f"oet_passed: {str(rng.random() < 0.8).lower()}", f"ecfmg_certified: {str(rng.random() < 0.5).lower()}"]
    if rng.random() < 0.6:
        lines.append(f"advisor: Dr. {rng.choice(LAST)}")
    if rng.random() < 0.5:
        lines += ["notes: |", "  Keep observerships going until interviews; ask for one more US letter."]
    return "\n".join(lines) + "\n"


def write_cohort(folder: Path, n: int) -> list[str]:
    """Write n synthetic profiles into `folder` (unique names: at most 2,500) and return their ids."""
    if n > len(FIRST) * len(LAST):
        raise ValueError(f"at most {len(FIRST) * len(LAST)} synthetic profiles")
    folder.mkdir(parents=True, exist_ok=True)
    ids = [f"applicant-{i:04d}" for i in range(n)]
    for i, ident in enumerate(ids):
        (folder / f"{ident}.yaml").write_text(synthetic_profile(i), "utf-8")
    return ids
