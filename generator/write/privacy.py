"""The privacy check run at the end of every build, before the new output is switched in.

Published files (everything under `site/`) may carry an applicant's name only
inside that applicant's own guide folder, and never an email address or id.
"""

from __future__ import annotations

import html
import multiprocessing
import os
import re
import threading
from pathlib import Path
from typing import Iterable

from generator.errors import BuildError, Problem
from generator.load.profiles import Profile


def check(out_root: Path, profiles: Iterable[Profile], entries: list[dict]) -> None:
    """Raise BuildError listing every published file or path that exposes an applicant's data."""
    own_folder = {e["id"]: str(Path(e["html"]).parent) + "/" for e in entries}
    owners: dict[str, list[tuple[str, Profile]]] = {}
    for profile in profiles:
        for what, value in (("email", profile.email), ("id", profile.id), ("name", profile.name)):
            owners.setdefault(_normal(value).lower(), []).append((what, profile))
    if not owners:
        return
    # One pass over each file with every value at once; whole words only, so `ana` does not match `banana`.
    # Texts are lower-cased once, like the values, which is much faster than a case-blind regex.
    pattern = re.compile(r"(?<![\w-])(" + _trie(owners) + r")(?![\w-])")
    site = out_root / "site"
    files = sorted(p for folder, _, names in os.walk(site) for p in (Path(folder, name) for name in names) if p.is_file())
    scan = (own_folder, owners, pattern, out_root, {})
    problems: set[Problem] = set()
    workers = min(os.cpu_count() or 1, len(files) // PARALLEL_FROM)
    if workers >= 2 and threading.current_thread() is threading.main_thread():
        global _SCAN
        _SCAN = scan  # forked workers inherit the compiled pattern instead of rebuilding it
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                for found in pool.imap_unordered(_scan_in_worker, files, chunksize=32):
                    problems.update(found)
        finally:
            _SCAN = None
    else:
        for path in files:
            problems.update(_scan_file(path, *scan))
    if problems:
        raise BuildError(sorted(problems))


PARALLEL_FROM = 250  # files per extra process; fewer are scanned here
_SCAN: tuple | None = None


def _scan_in_worker(path: Path) -> list[Problem]:
    assert _SCAN is not None
    return _scan_file(path, *_SCAN)


def _scan_file(path: Path, own_folder: dict[str, str], owners: dict[str, list[tuple[str, Profile]]],
               pattern: re.Pattern[str], out_root: Path, seen: dict[str, tuple[str, ...]]) -> list[Problem]:
    """Every exposure in one published file: in its path or its text."""
    rel = path.relative_to(out_root).as_posix()
    found = []
    for value in [m.group(1) for m in pattern.finditer(rel.lower())] + _values_in(path, pattern, seen):
        for what, profile in _owners_of(value, owners):
            if what == "name" and rel.startswith(own_folder.get(profile.id, "\0")):
                continue
            found.append(Problem(rel, None, None,
                                 f"published file exposes the {what} of {profile.source}; refusing to publish"))
    return found


def _values_in(path: Path, pattern: re.Pattern[str], seen: dict[str, tuple[str, ...]]) -> list[str]:
    """The values the pattern finds in a file's readable text.

    Markup is cut before each tag that starts a line (`\n<`). No value can straddle such a cut (a value
    written into markup has its `<` escaped), and every guide repeats most of its pieces (the theme's
    markup, the content's prose), so each distinct piece is searched once per process (`seen`).
    """
    if path.suffix.lower() not in _MARKUP:
        return [m.group(1) for m in pattern.finditer(_readable(path).lower())]
    first, *rest = path.read_bytes().decode("utf-8", "replace").split("\n<")
    found = list(_search(first, pattern))
    for piece in rest:  # each without the `<` it was cut before: put back for the search, not for the lookup
        values = seen.get(piece)
        if values is None:
            values = seen[piece] = _search("<" + piece, pattern)
        if values:
            found += values
    return found


def _search(markup: str, pattern: re.Pattern[str]) -> tuple[str, ...]:
    """The values in a piece of markup as a reader sees it: references decoded, spaces collapsed."""
    return tuple(m.group(1) for m in pattern.finditer(_normal(html.unescape(markup)).lower()))


_MARKUP = {".html", ".htm", ".svg", ".xml", ".xhtml"}


def _trie(values: Iterable[str]) -> str:
    """The values as one regex, shaped as a trie: the engine branches once per character, not once per value.

    A flat `a|b|c` over a cohort's thousands of names, emails and ids is tried value by value at every
    position of every file (minutes for a few hundred guides). Longer values are still preferred.
    """
    root: dict[str, dict] = {}
    for value in values:
        node = root
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, dict]) -> str:
        branches = [re.escape(char) + emit(child) for char, child in sorted(node.items()) if char]
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")" if branches else ""
        return f"(?:{body})?" if "" in node and body else body

    return emit(root)


def _normal(text: str) -> str:
    """Runs of white space as one space, so a name wrapped across lines is still found."""
    return " ".join(text.split())


def _readable(path: Path) -> str:
    """A file's text as a reader sees it: character references decoded, ICS lines unfolded, spaces collapsed."""
    data = path.read_bytes()
    suffix = path.suffix.lower()
    if suffix == ".xlsx":  # a zip of XML parts: read what a spreadsheet shows, not the compressed bytes
        data = _unzipped_xml(data)
        suffix = ".xml"
    if suffix == ".pdf":
        # Compressed page streams are noise to a text search (a short id turns up in them by chance);
        # what a PDF says in the clear is its metadata and structure, which stay.
        data = re.sub(rb"stream\r?\n.*?endstream", b"", data, flags=re.S)
    text = data.decode("utf-8", "replace")
    if suffix in _MARKUP:
        text = html.unescape(text)  # `O&#39;Brien` is O'Brien on screen
    elif suffix == ".ics":
        text = re.sub(r"\r?\n[ \t]", "", text)
    return _normal(text)


def _unzipped_xml(data: bytes, limit: int = 64 * 1024 * 1024) -> bytes:
    """The XML parts of an .xlsx (our own downloads) joined, up to `limit` bytes; the raw bytes if it is no zip."""
    import io
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts, total = [], 0
            for info in archive.infolist():
                if info.filename.endswith(".xml") and total + info.file_size <= limit:
                    parts.append(archive.read(info))
                    total += info.file_size
            # Tags apart, so the text of neighbouring cells does not run together into one word.
            return re.sub(rb"<[^>]*>", b" ", b" ".join(parts))
    except (zipfile.BadZipFile, OSError, ValueError):
        return data


def _owners_of(found: str, owners: dict[str, list[tuple[str, Profile]]]) -> list[tuple[str, Profile]]:
    """The owners of a matched value (the match may differ from the key in case only)."""
    key = found.lower()
    if key in owners:
        return owners[key]
    return next((v for k, v in owners.items() if re.fullmatch(re.escape(k), found, re.IGNORECASE)), [])
