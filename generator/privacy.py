"""The privacy check run at the end of every build, before the new output is switched in.

Published files (everything under `site/`) may carry an applicant's name only
inside that applicant's own guide folder, and never an email address or id.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterable

from generator.errors import BuildError, Problem


def check(out_root: Path, profiles: Iterable[Any], entries: list[dict]) -> None:
    """Raise BuildError listing every published file or path that exposes an applicant's data."""
    own_folder = {e["id"]: str(Path(e["html"]).parent) + "/" for e in entries}
    owners: dict[bytes, list[tuple[str, Any]]] = {}
    for profile in profiles:
        for what, value in (("email", profile.email), ("id", profile.id), ("name", profile.name)):
            owners.setdefault(value.lower().encode("utf-8"), []).append((what, profile))
    if not owners:
        return
    # One pass over each file with every value at once; whole words only, so `ana` does not match `banana`.
    alternatives = b"|".join(re.escape(v) for v in sorted(owners, key=len, reverse=True))
    pattern = re.compile(rb"(?<![\w-])(" + alternatives + rb")(?![\w-])", re.IGNORECASE)
    site = out_root / "site"
    problems: set[Problem] = set()
    for path in sorted(p for p in site.rglob("*") if p.is_file()) if site.is_dir() else []:
        rel = path.relative_to(out_root).as_posix()
        for text in (rel.encode("utf-8"), path.read_bytes()):
            for match in pattern.finditer(text):
                for what, profile in owners[match.group(1).lower()]:
                    if what == "name" and rel.startswith(own_folder.get(profile.id, "\0")):
                        continue
                    problems.add(Problem(rel, None, None,
                                         f"published file exposes the {what} of {profile.source}; refusing to publish"))
    if problems:
        raise BuildError(sorted(problems))
