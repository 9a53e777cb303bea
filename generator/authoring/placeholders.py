"""What `matchguide new` wrote that nobody has corrected yet, and addresses that can never receive a guide.

`check` warns about a profile still holding a placeholder (located at the field's
line); `email` never sends to a placeholder or reserved example address.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable, Mapping

from generator.errors import Problem
from generator.authoring.scaffold import PLACEHOLDERS_MARK, name_from_id

# Top-level domains reserved by RFC 2606/6761: no address under them ever receives mail.
PLACEHOLDER_TLDS = ("invalid", "test", "localhost", "example")
# Second-level domains reserved for documentation: their mail goes nowhere (RFC 2606, RFC 7505 null MX).
EXAMPLE_DOMAINS = ("example.com", "example.org", "example.net")
ALLOW_EXAMPLE_ENV = "MATCHGUIDE_ALLOW_EXAMPLE_ADDRESSES"


def placeholder_address(address: str) -> str | None:
    """Why this address is a placeholder that can never receive mail (`ID@example.invalid`), or None."""
    domain = address.rpartition("@")[2].lower().rstrip(".")
    tld = domain.rpartition(".")[2]
    if tld in PLACEHOLDER_TLDS:
        return f"{address} is a placeholder: addresses under .{tld} never receive mail"
    return None


def undeliverable(address: str, env: Mapping[str, str]) -> str | None:
    """Why `email --send` must not use this address, or None.

    Placeholders are refused always. The documentation domains (example.com/.org/.net) are refused
    unless MATCHGUIDE_ALLOW_EXAMPLE_ADDRESSES=1, which is for trying matchguide with the sample
    cohort against a test mail server.
    """
    reason = placeholder_address(address)
    if reason:
        return reason + "; write the applicant's real address in their profile"
    domain = address.rpartition("@")[2].lower().rstrip(".")
    if any(domain == d or domain.endswith("." + d) for d in EXAMPLE_DOMAINS) and env.get(ALLOW_EXAMPLE_ENV) != "1":
        return (f"{address} is an example address ({domain} is reserved for documentation and receives no mail); "
                f"write the applicant's real address, or set {ALLOW_EXAMPLE_ENV}=1 to send to a test server")
    return None


def placeholder_warnings(profiles: Iterable[Any], profiles_dir: Path, as_of: dt.date) -> list[Problem]:
    """One located warning per placeholder value still in a valid profile."""
    warnings = []
    for profile in profiles:
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
        if profile.graduation_year == as_of.year and profile.step1.result == "pending" \
                and not profile.in_medical_school:
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
