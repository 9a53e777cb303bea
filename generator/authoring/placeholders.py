"""What `matchguide new` wrote that nobody has corrected yet: `check` warns about each, at the field's line.

`email` refuses the same addresses (generator/deliver/addresses.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

from generator.errors import Problem
from generator.load.profiles import Profile
from generator.authoring.scaffold import PLACEHOLDERS_MARK, name_from_id
from generator.deliver.addresses import placeholder_address

def placeholder_warnings(profiles: Iterable[Profile], profiles_dir: Path, as_of: dt.date) -> list[Problem]:
    """One located warning per placeholder value still in a valid profile."""
    warnings: list[Problem] = []
    for profile in profiles:
        warnings += sorted(_of_profile(profile, profiles_dir, as_of), key=lambda w: w.line or 0)
    return warnings


def _of_profile(profile: Profile, profiles_dir: Path, as_of: dt.date) -> list[Problem]:
    """The placeholder warnings of one profile."""
    warnings = []
    line_of = profile.line_of
    reason = placeholder_address(profile.email)
    if reason:
        warnings.append(Problem(profile.source, line_of(("email",)), "email",
                                f"{reason}; write the applicant's real address"))
    if "name" in _marked(profiles_dir / Path(profile.source).name) and profile.name == name_from_id(profile.id):
        warnings.append(Problem(profile.source, line_of(("name",)), "name",
                                f"'{profile.name}' is the name `matchguide new` made from the id; write the "
                                f"applicant's name as it should appear (if it is right, delete the line "
                                f"'{PLACEHOLDERS_MARK} …')"))
    if profile.graduation_year == as_of.year and profile.step1.result == "pending" and not profile.in_medical_school:
        warnings.append(Problem(profile.source, line_of(("graduation_year",)), "graduation_year",
                                f"{profile.graduation_year} is this year and Step 1 is pending, as `matchguide "
                                "new` writes them; write the year of graduation and the Step 1 result"))
    return warnings


def _marked(path: Path) -> list[str]:
    """The fields the `new` placeholder line of this file names (none when the line was deleted)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            head = [handle.readline() for _ in range(8)]
    except OSError:
        return []
    line = next((text for text in head if text.startswith(PLACEHOLDERS_MARK)), "")
    fields = line[len(PLACEHOLDERS_MARK):].split("(")[0]
    return [f.strip() for f in fields.split(",") if f.strip()]
