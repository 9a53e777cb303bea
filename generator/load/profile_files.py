"""Which entries of a profiles folder are profiles; every other entry is accounted for."""

from __future__ import annotations

import os
import re
from pathlib import Path

from generator.errors import Problem
from generator.load import yamlstrict

PROFILE_SUFFIXES = (".yaml", ".yml")
# Left alone without a word, as docs/profile-format.md says: hidden files (`.DS_Store`, `.ana.yaml.swp`) and
# editor back-ups (`ana.yaml~`, `#ana.yaml#`, `ana.yaml.bak`, `ana.yaml.orig`) and READMEs (`README.md`).
_BACKUP = re.compile(r"^\.|~$|^#.*#$|\.(?:bak|orig|swp|swo|tmp)$|^readme(?:\.[a-z]+)?$", re.IGNORECASE)


def profile_files(directory: Path, source_prefix: str = "profiles") -> tuple[list[Path], list[Problem]]:
    """The profile files of a folder, by name, and a problem for every other entry that is not a hidden file
    an editor back-up or a README: a broken link, a folder named like a profile, a file of another kind."""
    files: list[Path] = []
    problems: list[Problem] = []
    for path in sorted(Path(directory).iterdir(), key=lambda p: p.name):
        if _BACKUP.search(path.name):
            continue
        source = f"{source_prefix}/{path.name}" if source_prefix else path.name
        is_profile = path.suffix.lower() in PROFILE_SUFFIXES
        if path.is_symlink() and not path.exists():
            problems.append(Problem(source, None, None, f"not read: a symbolic link to {os.readlink(path)}, "
                                                        "which does not exist"))
        elif path.is_dir():
            kind = "named like a profile" if is_profile else "inside the profiles folder"
            problems.append(Problem(source, None, None, f"not read: a folder {kind}; profiles are files "
                                                        "directly in the profiles folder, not in sub-folders"))
        elif not path.is_file():
            problems.append(Problem(source, None, None, "not read: not a regular file (a device, socket or pipe)"))
        elif is_profile:
            files.append(path)
        else:
            problems.append(Problem(source, None, None, "not read: profile files end in .yaml or .yml; rename it, "
                                                        "or move it out of the profiles folder"))
    return files, problems


def profile_ids(directory: Path) -> dict[str, Path]:
    """The file that already holds each id in a profiles folder: its `id` field, or else its file name's stem.

    So a profile written for an id (by `new` or `import`) replaces `ana.yml`, or `ana-2.yaml` that says
    `id: ana`, instead of starting a second file with the same id. A file that cannot be read counts
    under its stem."""
    if not Path(directory).is_dir():
        return {}
    ids: dict[str, Path] = {}
    for path in profile_files(directory)[0]:
        try:
            document, _ = yamlstrict.parse(path.read_bytes(), str(path))
        except OSError:
            document = None
        declared = document.data.get("id") if document is not None and isinstance(document.data, dict) else None
        ids.setdefault(declared if isinstance(declared, str) else path.stem, path)
    return ids
