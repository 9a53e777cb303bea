"""Dates in a profile that cannot be right on the build date: located warnings, not rejections (pure).

A practice exam dated after the build date has not happened yet; a Step 2 CK
result of `pass` or `fail` with an exam date in the future cannot be known yet.
The band rules do not change: the latest practice entry by date still counts.
`check --strict` treats these warnings as problems.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Sequence

from generator.errors import Problem


def date_warnings(profile: Any, as_of: date) -> list[Problem]:
    """The located date warnings of one valid profile, in file order."""
    s2 = profile.step2_ck
    if s2 is None:
        return []
    found = []
    for exam in sorted(s2.practice, key=lambda p: p.index):
        if exam.date > as_of:
            path = ("step2_ck", "practice", exam.index, "date")
            found.append(Problem(profile.source, profile.line_of(path), f"step2_ck.practice[{exam.index}].date",
                                 f"{exam.date.isoformat()} is after the build date {as_of.isoformat()}: "
                                 "a practice exam cannot be dated in the future; fix the date or the build date"))
    if s2.result in ("pass", "fail") and s2.exam_date and s2.exam_date > as_of:
        found.append(Problem(profile.source, profile.line_of(("step2_ck", "exam_date")), "step2_ck.exam_date",
                             f"the result is '{s2.result}' but the exam date {s2.exam_date.isoformat()} is after "
                             f"the build date {as_of.isoformat()}: a result cannot be known before the exam"))
    return found


def cohort_date_warnings(profiles: Sequence[Any], as_of: date) -> list[Problem]:
    """Date warnings for every profile of a cohort."""
    return [w for profile in profiles for w in date_warnings(profile, as_of)]
