"""Applicant profiles: the schema of docs/profile-format.md, checked with located errors."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from generator.errors import InputError, Problem
from generator.load.ids import ID_RE, ID_RULE
from generator.load.fields import BAD, CONTROL, Reader, accept, any_bad, boolean, choice, identifier, integer, number, text
from generator.load.fields import date as date_check
from generator.load.profile_files import profile_files
from generator.load.yamlstrict import MAX_BYTES, Document, parse, too_large

RESULTS = ("pass", "fail", "pending")
VISAS = ("j1", "h1b", "either", "none")
TARGETS = ("academic", "university-affiliated", "community")
SCORE_RANGE = (1, 300)
MAX_ATTEMPTS = 6
MIN_YOG = 1950
CYCLE_RANGE = (2000, 2100)
NAME_MAX, PRACTICE_NAME_MAX, NOTES_MAX, COUNTRY_MAX, SCHOOL_MAX = 120, 80, 5000, 80, 200

ROOT_FIELDS = (
    "name", "email", "graduation_year", "step1", "id", "cycle", "step2_ck", "visa", "in_medical_school",
    "usce_months", "us_lors", "research_items", "target", "oet_passed", "ecfmg_certified", "advisor", "notes",
    "country", "medical_school",
)  # fmt: skip
STEP1_FIELDS = ("result", "attempts", "score")
STEP2_FIELDS = ("result", "score", "attempts", "exam_date", "practice", "qbank_percent")
PRACTICE_FIELDS = ("date", "score", "name")

_EMAIL = re.compile(
    r"(?=.{3,254}$)(?=[^@]{1,64}@)[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f]+(?:\.[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W_](?:[\w-]*[^\W_])?"
)


@dataclass(frozen=True)
class Practice:
    """One practice exam: its date, predicted Step 2 CK score and optional name."""

    date: dt.date
    score: int
    name: str | None
    index: int = field(default=0, compare=False)  # its position in the file, for located messages


@dataclass(frozen=True)
class Step1:
    """USMLE Step 1: latest result, completed attempts, numeric-era score if any."""

    result: str
    attempts: int
    score: int | None


@dataclass(frozen=True)
class Step2:
    """USMLE Step 2 CK; `practice` is sorted by date, so the latest practice exam is last."""

    result: str
    score: int | None
    attempts: int
    exam_date: dt.date | None
    practice: tuple[Practice, ...]
    qbank_percent: float | None


@dataclass(frozen=True)
class Profile:
    """One applicant, valid against the profile format; `source` and `digest` identify its file."""

    id: str
    name: str
    email: str
    graduation_year: int
    cycle: int
    step1: Step1
    step2_ck: Step2 | None
    visa: str | None
    in_medical_school: bool
    usce_months: float | None
    us_lors: int | None
    research_items: int | None
    target: str | None
    oet_passed: bool | None
    ecfmg_certified: bool | None
    advisor: str | None
    notes: str | None
    country: str | None  # where the applicant trained; for the advisor, not used by the rules
    medical_school: str | None
    source: str
    digest: str
    lines: dict[tuple, int] = field(default_factory=dict, compare=False, repr=False)

    def line_of(self, path: tuple) -> int | None:
        """The file line of a field path such as `('step2_ck', 'score')`, or of its nearest parent."""
        return Document(None, self.lines).line_of(path)


def load_profile(
    path: Path, *, source: str, default_cycle: int, passing_standard: Callable[[dt.date], int], as_of: dt.date
) -> Profile:
    """Read and check one profile file; raise InputError carrying every problem in it."""
    profile, problems, _ = _check_file(Path(path), source, default_cycle, passing_standard, as_of)
    if profile is None:
        raise InputError(problems)
    return profile


def load_profiles(
    directory: Path,
    *,
    default_cycle: int,
    passing_standard: Callable[[dt.date], int],
    as_of: dt.date,
    source_prefix: str = "profiles",
    only: Sequence[str] | None = None,
) -> tuple[list[Profile], list[Problem]]:
    """Check every profile in `directory`: (valid profiles by id, problems of all others).

    Every entry of the folder is accounted for (see `profile_files`): files ending in `.yaml` or `.yml`, in any
    case, are read; anything else is reported, except hidden files, editor back-ups and a README. `only` keeps the
    listed ids after the whole cohort has been checked.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return [], [Problem(source_prefix, None, None, f"profiles folder not found: {directory}")]
    files, problems = profile_files(directory, source_prefix)
    profiles: dict[str, Profile] = {}
    broken_ids: set[str] = set()
    for path in files:
        source = f"{source_prefix}/{path.name}" if source_prefix else path.name
        profile, found, declared_id = _check_file(path, source, default_cycle, passing_standard, as_of)
        if profile is None:
            problems.extend(found)
            broken_ids.add(declared_id)
            continue
        first = profiles.get(profile.id)
        if first is not None:
            message = f"duplicate id '{profile.id}': {first.source} already uses it"
            problems.append(Problem(source, profile.line_of(("id",)), "id", message))
            continue
        profiles[profile.id] = profile
    problems.sort(key=lambda p: p.source)  # in file order, each file's problems by line
    chosen = [profiles[key] for key in sorted(profiles)]
    if only is not None:
        wanted = list(dict.fromkeys(only))
        for key in wanted:
            if key not in profiles and key not in broken_ids:
                near = difflib.get_close_matches(key, sorted({*profiles, *broken_ids}), n=1, cutoff=0.6)
                hint = f"; did you mean '{near[0]}'?" if near else ""
                problems.append(Problem(source_prefix, None, None, f"no profile has the id '{key}'{hint}"))
        chosen = [profile for profile in chosen if profile.id in wanted]
    return chosen, problems


def _check_file(
    path: Path, source: str, default_cycle: int, passing_standard: Callable[[dt.date], int], as_of: dt.date
) -> tuple[Profile | None, list[Problem], str]:
    """(profile or None, its problems sorted by line, the id the file claims)."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            raw = handle.read(MAX_BYTES + 1)  # a larger file is reported, not read whole
    except OSError as exc:
        return None, [Problem(source, None, None, f"cannot read the file: {exc.strerror or exc}")], path.stem
    if len(raw) > MAX_BYTES:
        return None, [Problem(source, None, None, too_large(MAX_BYTES, max(size, len(raw))))], path.stem
    document, problems = parse(raw, source)
    problems = [_explain_visa(problem) for problem in problems]
    profile, declared_id = None, path.stem
    if document is not None:
        if isinstance(document.data.get("id"), str):
            declared_id = document.data["id"]
        reader = Reader(document)
        digest = hashlib.sha256(raw).hexdigest()
        profile = _read_profile(reader, path.stem, digest, default_cycle, passing_standard, as_of)
        problems += reader.problems
    if problems:
        return None, sorted(problems, key=lambda p: p.line or 0), declared_id
    return profile, [], declared_id


def _explain_visa(problem: Problem) -> Problem:
    """`visa: no` is the classic YAML 1.1 trap; say what to write instead."""
    if problem.field != "visa" or "is ambiguous in YAML" not in problem.message:
        return problem
    word = problem.message.split("'")[1]
    advice = "write 'none' or quote it" if word.lower() in ("no", "n", "off") else f"write one of {', '.join(VISAS)}"
    return Problem(problem.source, problem.line, problem.field, f"'{word}' is ambiguous in YAML; {advice}")


def _read_profile(
    r: Reader, stem: str, digest: str, default_cycle: int, passing_standard: Callable[[dt.date], int], as_of: dt.date
) -> Profile | None:
    """Check every field of a parsed profile; problems go to `r`, the profile only when there are none."""
    data = r.fields(r.document.data, (), ROOT_FIELDS)
    if data is None:
        return None
    root = ()
    ident = r.value(data, root, "id", identifier)
    if ident is None:
        ident = stem
        if not ID_RE.match(stem):
            message = f"the file name '{stem}' is not a valid id ({ID_RULE}); rename the file or add an id field"
            r.report(("id",), message)
    cycle = r.value(data, root, "cycle", integer(*CYCLE_RANGE))
    cycle_used = default_cycle if cycle is None or cycle is BAD else cycle
    values = {
        "name": r.value(data, root, "name", text(NAME_MAX), required=True),
        "email": r.value(data, root, "email", _email, required=True),
        "graduation_year": r.value(data, root, "graduation_year", integer(MIN_YOG, cycle_used + 1), required=True),
        "step1": _read_step1(r, r.value(data, root, "step1", _mapping, required=True)),
        "step2_ck": _read_step2(r, r.value(data, root, "step2_ck", _mapping), passing_standard, as_of),
        "visa": r.value(data, root, "visa", choice(VISAS)),
        "in_medical_school": r.value(data, root, "in_medical_school", boolean),
        "usce_months": r.value(data, root, "usce_months", number(0, None)),
        "us_lors": r.value(data, root, "us_lors", integer(0, None)),
        "research_items": r.value(data, root, "research_items", integer(0, None)),
        "target": r.value(data, root, "target", choice(TARGETS)),
        "oet_passed": r.value(data, root, "oet_passed", boolean),
        "ecfmg_certified": r.value(data, root, "ecfmg_certified", boolean),
        "advisor": r.value(data, root, "advisor", text(NAME_MAX)),
        "notes": r.value(data, root, "notes", text(NOTES_MAX, multiline=True)),
        "country": r.value(data, root, "country", text(COUNTRY_MAX)),
        "medical_school": r.value(data, root, "medical_school", text(SCHOOL_MAX)),
    }
    if r.problems or any_bad(*values.values()):
        return None
    values["in_medical_school"] = bool(values["in_medical_school"])
    document = r.document
    return Profile(id=ident, cycle=cycle_used, source=document.source, digest=digest, lines=document.lines, **values)


def _read_step1(r: Reader, data: Any) -> Step1 | object:
    path = ("step1",)
    if data is None or data is BAD or r.fields(data, path, STEP1_FIELDS) is None:
        return BAD
    result = r.value(data, path, "result", choice(RESULTS), required=True)
    attempts = r.value(data, path, "attempts", integer(0, MAX_ATTEMPTS), required=True)
    score = r.value(data, path, "score", integer(*SCORE_RANGE))
    _check_attempts(r, path, result, attempts)
    return BAD if any_bad(result, attempts, score) else Step1(result, attempts, score)


def _read_step2(
    r: Reader, data: Any, passing_standard: Callable[[dt.date], int], as_of: dt.date
) -> Step2 | object | None:
    """Step 2 CK; `attempts` defaults to 1 for pass/fail (the attempt that gave the result) and 0 for pending."""
    if data is None:
        return None
    path = ("step2_ck",)
    if data is BAD or r.fields(data, path, STEP2_FIELDS) is None:
        return BAD
    result = r.value(data, path, "result", choice(RESULTS), required=True)
    score = r.value(data, path, "score", integer(*SCORE_RANGE))
    attempts = r.value(data, path, "attempts", integer(0, MAX_ATTEMPTS))
    exam_date = r.value(data, path, "exam_date", date_check)
    practice = _read_practice(r, r.value(data, path, "practice", _list), path + ("practice",))
    qbank = r.value(data, path, "qbank_percent", number(0, 100))
    _check_attempts(r, path, result, attempts)
    if result == "pass" and score is None:
        r.report(path + ("score",), "required when result is pass")
    if result in ("pass", "fail") and isinstance(score, int) and exam_date is not BAD:
        on = exam_date or as_of
        standard = passing_standard(on)
        in_force = f"the passing standard of {standard} in force on {on}, but result is {result}"
        if result == "pass" and score < standard:
            r.report(path + ("score",), f"{score} is below {in_force}")
        elif result == "fail" and score >= standard:
            r.report(path + ("score",), f"{score} meets {in_force}")
    if any_bad(result, score, attempts, exam_date, practice, qbank):
        return BAD
    if attempts is None:
        attempts = 0 if result == "pending" else 1
    return Step2(result, score, attempts, exam_date, practice, qbank)


def _read_practice(r: Reader, items: Any, path: tuple) -> tuple[Practice, ...] | object:
    if items is None:
        return ()
    if items is BAD:
        return BAD
    exams, bad = [], False
    for index, item in enumerate(items):
        where = path + (index,)
        if r.fields(item, where, PRACTICE_FIELDS) is None:
            bad = True
            continue
        date = r.value(item, where, "date", date_check, required=True)
        score = r.value(item, where, "score", integer(*SCORE_RANGE), required=True)
        name = r.value(item, where, "name", text(PRACTICE_NAME_MAX))
        if any_bad(date, score, name):
            bad = True
        else:
            exams.append(Practice(date, score, name, index))
    return BAD if bad else tuple(sorted(exams, key=lambda exam: exam.date))



def _check_attempts(r: Reader, path: tuple, result: Any, attempts: Any) -> None:
    if result in ("pass", "fail") and attempts == 0:
        r.report(path + ("attempts",), f"result {result} needs at least 1 completed attempt, got 0")


_mapping = accept(lambda v: isinstance(v, dict), "a mapping of fields (indented lines below it)")
_list = accept(lambda v: isinstance(v, list), "a list of practice exams")
_email = accept(
    lambda v: isinstance(v, str) and _EMAIL.fullmatch(v) and not CONTROL.search(v), "an email address such as name@example.org"
)
