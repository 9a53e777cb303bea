"""Writing profile YAML: a safe scalar emitter, and `matchguide new`'s commented starting profile.

Profiles are read by a strict loader that rejects YAML 1.1 surprises, so every
string is written double-quoted with explicit escapes (a name such as `No` or
`0238` stays a string) and every other value in the one spelling the loader
accepts. Nothing here goes through PyYAML's emitter, whose quoting follows YAML
1.1 resolvers rather than our loader.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import secrets
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence

from generator.load import yamlstrict
from generator.load.ids import ID_RE, ID_RULE
from generator.errors import InputError, Problem
from generator.load.profile_files import profile_ids
from generator.load.profiles import Profile, load_profile

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0", "\x85": "\\N",
            "\u2028": "\\L", "\u2029": "\\P"}  # fmt: skip




_PLAIN_CANDIDATE = re.compile(r"[A-Za-z][A-Za-z0-9 .,@_'()-]*[A-Za-z0-9.)]|[A-Za-z]")


class Plain(str):
    """Text written without quotes; only for text already known to be a YAML date (`2027-02-30`)."""


def quote(text: str) -> str:
    """A YAML double-quoted scalar that loads back as exactly `text`."""
    out = []
    for char in text:
        code = ord(char)
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif 0x20 <= code <= 0x7E or (0xA0 <= code <= 0xFFFD and not 0xD800 <= code <= 0xDFFF and code != 0xFEFF):
            out.append(char)
        elif code > 0xFFFF:
            out.append(char)
        else:
            out.append(f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}")
    return '"' + "".join(out) + '"'


def scalar(value: Any) -> str:
    """One value in the spelling the strict loader reads back unchanged."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot write {value!r} in a profile")
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Plain):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    raise TypeError(f"cannot write a {type(value).__name__} in a profile")


def dump(data: dict, header: Sequence[str] = ()) -> str:
    """A profile mapping as YAML text: nested mappings in block style, list items as flow mappings."""
    lines = [f"# {line}".rstrip() for line in header]
    _emit(data, 0, lines)
    return "\n".join(lines) + "\n"


def _emit(data: dict, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, value in data.items():
        key = _key(key)
        if isinstance(value, dict) and value:
            lines.append(f"{pad}{key}:")
            _emit(value, indent + 2, lines)
        elif isinstance(value, list) and value:
            lines.append(f"{pad}{key}:")
            for item in value:
                lines.append(f"{pad}  - {_flow(item)}")
        else:
            lines.append(f"{pad}{key}: {_flow(value, block=True)}")


def _flow(value: Any, block: bool = False) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if block and type(value) is str and _plain_ok(value):
        return value
    return scalar(value)


def _key(key: str) -> str:
    return key if _plain_ok(key) else quote(key)


def _plain_ok(text: str) -> bool:
    """True when `text` may be written unquoted: the strict loader itself reads it back as the same string."""
    if not _PLAIN_CANDIDATE.fullmatch(text):
        return False
    document, problems = yamlstrict.parse(f"k: {text}\n", "check")
    return not problems and document is not None and document.data == {"k": text}


def name_from_id(applicant_id: str) -> str:
    """`aisha-rahman` -> `Aisha Rahman`: a placeholder name until the advisor writes the real one."""
    return " ".join(part.capitalize() for part in applicant_id.split("-") if part) or applicant_id


def _line(text: str, comment: str) -> str:
    return f"{text:<29} # {comment}"


PLACEHOLDERS_MARK = "# Placeholders from `matchguide new`:"


def placeholder_line(fields: Sequence[str]) -> str:
    """The comment that names the values `new` guessed; `check` warns while they are unchanged."""
    return f"{PLACEHOLDERS_MARK} {', '.join(fields)} (correct them; delete this line if they are right)"


def starter(applicant_id: str, *, name: str, email: str, graduation_year: int,
            placeholders: Sequence[str] = ()) -> str:
    """The text of a new, valid profile with every optional field shown as a comment."""
    mark = placeholder_line(placeholders) + "\n" if placeholders else ""
    return f"""\
# Applicant profile for matchguide. Format: docs/profile-format.md; how-to: docs/advisors.md.
# Fill in the required fields, uncomment the optional ones you know, then run:
#   matchguide check --only {applicant_id}
{mark}
# --- required -------------------------------------------------------------
{_line("name: " + quote(name), "1..120 characters, shown in the guide")}
{_line("email: " + quote(email), "where the guide is sent; .invalid addresses never receive mail")}
{_line(f"graduation_year: {graduation_year}", "medical school graduation year (YOG)")}
step1:
  result: pending             # pass | fail | pending   (latest status)
  attempts: 0                 # completed attempts, 0..6 (0 only with pending)
  # score: 231                # numeric-era score, 1..300, if there is one

# --- optional -------------------------------------------------------------
id: {applicant_id}
# cycle: 2027                 # the year the applicant submits ERAS; default: the site's cycle
# step2_ck:                   # leave out while nothing is taken or planned
#   result: pending           # pass | fail | pending   (pending = not taken yet or awaiting the score)
#   score: 238                # official score, 1..300; required when result is pass
#   attempts: 0               # completed attempts, 0..6
#   exam_date: 2027-05-20     # date of the latest or planned attempt, YYYY-MM-DD
#   practice:                 # practice exams: date and score required, name optional
#     - {{date: 2027-03-01, name: "NBME 13", score: 224}}
#   qbank_percent: 61         # average % correct on timed, mixed blocks, 0..100
# visa: j1                    # j1 | h1b | either | none   (none = no sponsorship needed)
# in_medical_school: false    # still a student
# usce_months: 4              # months of US clinical experience (decimals allowed)
# us_lors: 2                  # letters of recommendation from US faculty
# research_items: 1           # case reports, QI projects, posters, papers
# target: community           # academic | university-affiliated | community
# oet_passed: true
# ecfmg_certified: false
# advisor: "Dr. Lee"          # shown on the cover
# notes: |                    # your own notes; shown as plain text
#   Strong bedside manner.
# country: "Pakistan"         # where the applicant trained; for you, not used by the guide's rules
# medical_school: "King Edward Medical University"
"""


def check_text(
    text: str, *, source: str, default_cycle: int, passing_standard: Callable[[dt.date], int], as_of: dt.date
) -> Profile:
    """Load profile text with the profile loader (from a temporary file); raise InputError located at `source`."""
    with tempfile.TemporaryDirectory(prefix="matchguide-") as folder:
        path = _write_temp(Path(folder), text)
        return load_profile(path, source=source, default_cycle=default_cycle, passing_standard=passing_standard,
                            as_of=as_of)


def write_profile(
    directory: Path,
    applicant_id: str,
    text: str,
    *,
    source: str,
    overwrite: bool = False,
    default_cycle: int,
    passing_standard: Callable[[dt.date], int],
    as_of: dt.date,
    target: Path | None = None,
) -> tuple[Profile, Path]:
    """Check `text` with the profile loader, then write it atomically to the file that holds the id already
    (`target`, or else the folder's `profile_ids`), or to a new `<directory>/<id>.yaml`.

    Nothing is written when the text is not a valid profile (InputError, located at
    `source`), when its id is not `applicant_id`, or when the file exists and
    `overwrite` is false.
    """
    directory.mkdir(parents=True, exist_ok=True)
    tmp = _write_temp(directory, text)
    try:
        profile = load_profile(tmp, source=source, default_cycle=default_cycle, passing_standard=passing_standard,
                               as_of=as_of)
        if profile.id != applicant_id:  # the loader checked the id; only then is it safe as a file name
            raise InputError(Problem(source, None, "id", f"expected the id {applicant_id!r}, got {profile.id!r}"))
        target = target or profile_ids(directory).get(profile.id) or directory / f"{profile.id}.yaml"
        if overwrite:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target)  # fails when the target exists: never a silent overwrite
            except FileExistsError:
                raise InputError(Problem(str(target), None, None, "already exists; not overwritten")) from None
        return profile, target
    finally:
        tmp.unlink(missing_ok=True)


def _write_temp(directory: Path, text: str) -> Path:
    """`text` in a new hidden file of `directory` (the profile loader skips dot files)."""
    path = directory / f".new-{secrets.token_hex(8)}.yaml.tmp"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask decides, as for any new file
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return path


def scaffold(
    directory: Path,
    applicant_id: str,
    *,
    name: str | None = None,
    email: str | None = None,
    graduation_year: int | None = None,
) -> Path:
    """Write a new commented profile `<directory>/<id>.yaml`; refuse to overwrite one that exists."""
    if not ID_RE.match(applicant_id):  # checked before the id goes into text or a file name
        raise InputError(Problem(f"{directory}/", None, "id", f"expected {ID_RULE}, got {applicant_id!r}"))
    guessed = [f for f, given in (("name", name), ("email", email), ("graduation_year", graduation_year))
               if given is None]
    text = starter(
        applicant_id,
        name=name if name is not None else name_from_id(applicant_id),
        email=email if email is not None else f"{applicant_id}@example.invalid",
        graduation_year=graduation_year if graduation_year is not None else dt.date.today().year,
        placeholders=guessed,
    )
    graduation_year = graduation_year if graduation_year is not None else dt.date.today().year
    # The cycle only bounds graduation_year here (the build checks it against the site's cycle), and
    # with no Step 2 CK block the passing standard and the date are never consulted.
    _, path = write_profile(directory, applicant_id, text, source=f"{directory}/{applicant_id}.yaml",
                            default_cycle=graduation_year, passing_standard=_no_step2,
                            as_of=dt.date(graduation_year, 1, 1))
    return path


def _no_step2(day: dt.date) -> int:
    raise AssertionError("a new profile has no Step 2 CK block to check against a passing standard")
