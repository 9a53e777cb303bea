"""The privacy check: no published page shows what identifies another applicant.

What identifies a person (docs/publishing.md, "The privacy check"):
- the email address, anywhere, even in the applicant's own guide;
- the full name as a reader sees it (tags stripped, entities decoded, white space and case folded), when it has
  at least two words, or two characters of a script written without spaces (Chinese, Japanese, Korean, Thai);
  it may appear in the applicant's own guide and in the guide of anyone with the same name;
- the id, when it has two parts (`aisha-rahman`), anywhere;
- a one-word name or id (`grace`, `sukarno`) only where it would point at someone: in a published path or an
  attribute (a link, an image address, a title), and never when it is shorter than 3 characters, has no letter,
  or is an everyday word of this site (a word of its content, theme or strategy data: `other`, `may`).

A finding in a guide withholds that guide; a finding in a page every visitor sees stops the build.
"""

from __future__ import annotations

import calendar
import csv
import functools
import hashlib
import html
import io
import multiprocessing
import os
import re
import threading
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

from generator.errors import BuildError, Problem
from generator.write.pdftext import cached_text

MIN_TOKEN = 3  # a one-word name or id shorter than this identifies nobody
PARALLEL_FROM = 250  # files per extra process; fewer are scanned here


@dataclass(frozen=True, order=True)
class Finding:
    """One exposure: `file` shows the `what` (email, name, id) of the profile `exposed`.

    `guide` is the id of the applicant whose guide holds the file, None for a page every visitor sees.
    """

    file: str
    what: str
    exposed: str
    guide: str | None = None
    guide_source: str | None = None

    def problem(self, *, built: bool = True, withheld: bool = True) -> Problem:
        """The finding as a located problem; `built` False words it for `check`, before anything is written;
        `withheld` False for a check that refuses the whole tree (`merge`)."""
        if self.guide is None or not withheld:
            verb = "exposes" if built else "would expose"
            return Problem(self.file, None, None, f"published file {verb} the {self.what} of {self.exposed}; "
                                                  "refusing to publish")
        if not built:
            return Problem(self.guide_source or self.file, None, None,
                           f"its guide would expose the {self.what} of {self.exposed}; a build withholds that guide")
        return Problem(self.file, None, None, f"published file exposes the {self.what} of {self.exposed}; "
                                              f"the guide of {self.guide_source} is withheld")


@dataclass(frozen=True)
class Readable:
    """A file as a reader meets it: its texts (several readings of the same words) and its attribute values.

    Markup comes as its distinct `blocks` (text and inline tags, which no name crosses) and block `tags`
    instead, each read by the scanner (`_block`, `_attribute_values`) unless it has read it before; a sheet
    as its distinct `rows`, which no name crosses either.
    """

    texts: tuple[str, ...] = ()
    attributes: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    rows: tuple[str, ...] = ()  # a spreadsheet's or CSV's rows, each read already, cells apart


class Scanner:
    """The identifying values of a cohort, compiled once; `scan` lists what one file exposes."""

    def __init__(self, cohort: Iterable[Any], vocabulary: frozenset[str] = frozenset()):
        self.text_owners: dict[str, list[tuple[str, Any]]] = {}
        self.token_owners: dict[str, list[tuple[str, Any]]] = {}
        self.name_key: dict[str, str] = {}
        self.profiles: dict[str, Any] = {}  # by id
        for profile in cohort:
            self.profiles[profile.id] = profile
            self.name_key[profile.id] = fold(profile.name).replace(" ", "")  # `Li Wei` and `LiWei` are namesakes
            self.text_owners.setdefault(fold(profile.email), []).append(("email", profile))
            for what, value in (("name", profile.name), ("id", profile.id)):
                kind, key = classify(value, vocabulary)
                if kind:
                    owners = self.text_owners if kind == "text" else self.token_owners
                    owners.setdefault(key, []).append((what, profile))
        self.text_keys = _Keys(self.text_owners)
        self.token_keys = _Keys(self.token_owners)
        # A match is found with its spaces as the text has them (`li wei`, `liwei`): look owners up without spaces.
        self.text_lookup = _without_spaces(self.text_owners)
        self.token_lookup = _without_spaces(self.token_owners)
        # Guides share most of their markup (a section's paragraphs, a program's row): a block or tag read once
        # without a match is not read again in this process. What is remembered is bounded.
        self._clean: tuple[set[str], set[str], set[str]] = (set(), set(), set())  # blocks, tags, rows
        self._remembered = 0  # characters

    def scan(self, rel: str, owner: Any | None, readable: Readable, *, published_path: bool = True) -> list[Finding]:
        """Every finding in one file; `owner` is the profile whose guide holds it (None: a shared page).

        `published_path` False: `rel` only names the page in messages (a page `check` rendered in memory).
        """
        found: dict[tuple[str, str], Finding] = {}
        own_name = self.name_key.get(owner.id) if owner is not None else None

        def record(keys: _Keys, owners: dict, texts: tuple[str, ...]) -> bool:
            matched = keys.find(_BLOCK.join(texts))  # each text ends a block: no key runs from one to the next
            for text in matched:
                key = "".join(text.split())
                for what, profile in owners.get(key, ()):
                    if what == "name" and own_name == self.name_key[profile.id]:
                        continue  # the applicant's own name, or a namesake's: not a leak
                    finding = Finding(rel, what, profile.source, owner.id if owner is not None else None,
                                      owner.source if owner is not None else None)
                    found.setdefault((what, profile.source), finding)
            return bool(matched)

        def search(texts: tuple[str, ...], attributes: tuple[str, ...]) -> bool:
            text_hit = record(self.text_keys, self.text_lookup, texts + attributes)
            return record(self.token_keys, self.token_lookup, attributes) or text_hit

        path = (fold(rel),) if published_path else ()
        search(readable.texts, readable.attributes + path)
        for pieces, clean, read in zip((readable.blocks, readable.tags, readable.rows), self._clean, _READINGS):
            for piece in [piece for piece in pieces if piece not in clean]:
                if not search(*read(piece)):
                    self._remember(clean, piece)
        return sorted(found.values())

    def _remember(self, clean: set[str], piece: str) -> None:
        if len(piece) > _LONG:
            return  # rarely shared
        clean.add(piece)
        self._remembered += len(piece)
        if self._remembered > _REMEMBERED:  # start again: the pieces every guide shares come back at once
            for pieces in self._clean:
                pieces.clear()
            self._remembered = 0


def classify(value: str, vocabulary: frozenset[str] = frozenset()) -> tuple[str | None, str]:
    """How a name or id is searched: ("text", key) everywhere, ("token", key) in paths and attributes only,
    or (None, key) not at all."""
    key = fold(value)
    words = [w for w in key.split() if any(c.isalpha() for c in w)]
    parts = [p for p in key.split("-") if any(c.isalpha() for c in p)] if " " not in key else []
    unspaced = sum(1 for c in key if _UNSPACED.match(c))
    if len(words) >= 2 and all(w in vocabulary for w in words) and _said(key, getattr(vocabulary, "prose", "")):
        return "token", key  # a phrase the site itself says (`Internal Medicine`): only where it would point
    if len(words) >= 2 or unspaced >= 2 or (len(parts) >= 2 and key not in vocabulary):
        return "text", key
    if " " in key or len(key) < MIN_TOKEN or not words or key in vocabulary:
        return None, key
    if all(part in vocabulary for part in re.findall(r"[^\W\d_]+", key)):
        return None, key
    return "token", key


def fold(text: str) -> str:
    """Text as compared: compatibility forms unified, case folded, runs of white space as one space."""
    return " ".join(fold_case(text).split())


def fold_case(text: str) -> str:
    """`fold` with the white space left as it is: enough for a page's text, which only the patterns read (a space
    in a key matches any run of white space)."""
    if not text.isascii():  # NFKC leaves ASCII as it is
        text = unicodedata.normalize("NFKC", text)
    return text.casefold()


class Vocabulary(frozenset):
    """The everyday words of a site; `prose` is its content and strategy text, folded."""

    prose: str = ""


def _said(key: str, prose: str) -> bool:
    return bool(prose) and re.search(r"(?<![\w-])" + re.escape(key).replace(r"\ ", r"\s*") + r"(?![\w-])", prose) is not None


def vocabulary(renderer: Any) -> Vocabulary:
    """The everyday words of a site: every word of its content and strategy data, the month and day names dates
    are written with, the names of the files every build writes, and the theme's own names (its file names,
    theme.yaml, and the class and id values of its templates). The theme's text is not read: a name typed in
    a template is what the check is for."""
    chunks = [repr(renderer.strategy), *calendar.month_name, *calendar.day_name,
              "index html assets guide pdf ics site nojekyll g page not found"]
    for item in renderer.content.items():
        chunks += [item.id, item.title, item.body]
    prose = fold(" ".join(chunks))
    root = Path(renderer.theme.root)
    for path in sorted(root.rglob("*")) if root.is_dir() else []:
        if not path.is_file() or path.stat().st_size > 4_000_000:
            continue
        chunks.append(path.relative_to(root).as_posix())
        text = path.read_bytes().decode("utf-8", "replace")
        chunks += [text] if path.name == "theme.yaml" else _NAMES_IN_TEMPLATE.findall(text)
    words: set[str] = set()
    for chunk in chunks:
        for word in re.findall(r"[\w-]+", fold(chunk)):
            words.add(word)
            words.update(word.split("-"))
    found = Vocabulary(words)
    found.prose = prose
    return found


_NAMES_IN_TEMPLATE = re.compile(r"""\b(?:class|id)\s*=\s*["']([^"']*)["']""")


def readable(path: Path, cache: Path | None = None) -> Readable:
    """A published file's text as a reader sees it (HTML tags stripped, character references decoded, calendar
    lines unfolded, the text a PDF draws) and, for markup, its attribute values.

    A PDF's text is kept in `cache` (a folder), by the digest of the PDF: an unchanged guide's PDF is read once.
    """
    return readable_bytes(path.read_bytes(), path.suffix.lower(), cache)


def readable_bytes(data: bytes, suffix: str, cache: Path | None = None) -> Readable:
    """The same for a file's bytes in memory; `suffix` (lower case) says how to read them."""
    if suffix == ".xlsx":  # a zip of XML parts: read what a spreadsheet shows, not the compressed bytes
        shown = _unzipped_xml(data)
        if shown is not None:
            # Read like a table: the cells of a row apart (tags as spaces), no name running from one row to the
            # next. Without the cells' places (`r="B7"`), the rows of a program are alike in every guide.
            rows = _CELL_PLACE.sub("", shown.decode("utf-8", "replace")).split("</row>")
            return Readable(rows=tuple(dict.fromkeys(map(_sheet_row, rows))))
        suffix = ".xml"
    if suffix == ".pdf":
        runs = cached_text(data, cache)
        return Readable((fold(" ".join(runs)), fold("".join(runs))))
    return readable_text(data.decode("utf-8", "replace"), suffix)


@functools.lru_cache(maxsize=1 << 14)
def _sheet_row(row: str) -> str:
    return fold_case(html.unescape(_ANY_TAG.sub(" ", row)))


def _unzipped_xml(data: bytes, limit: int = 64 * 1024 * 1024) -> bytes | None:
    """The XML parts of an .xlsx (our own downloads) joined, up to `limit` bytes; None if it is no zip."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            parts, total = [], 0
            for info in archive.infolist():
                if info.filename.endswith(".xml") and total + info.file_size <= limit:
                    parts.append(archive.read(info))
                    total += info.file_size
            return b" ".join(parts)
    except (zipfile.BadZipFile, OSError, ValueError):
        return None


def prune(cache: Path, out_root: Path) -> None:
    """Forget the text of PDFs no longer in the published tree."""
    if not cache.is_dir():
        return
    site = out_root / "site"
    keep = {hashlib.sha256(p.read_bytes()).hexdigest() + ".json" for p in site.rglob("*.pdf") if p.is_file()}
    for entry in cache.iterdir():
        if entry.name not in keep:
            entry.unlink(missing_ok=True)


def readable_text(text: str, suffix: str = ".html") -> Readable:
    """The same for text in memory (what `check` renders): `suffix` says how to read it.

    Markup is read as blocks: any tag but an inline one (`<b>`, `<span>`, `<td>`...) ends a block, which no name
    crosses. A block is read twice, with its inline tags as spaces (`<span>Priya</span><span>Nair</span>`) and
    with them joining what they split (`Pri<b>ya</b>` reads `Priya`). The markup is only split here; the scanner
    reads each distinct block and tag (`_block`, `_attribute_values`) unless it has found it clean before.
    """
    if suffix in _MARKUP:
        text = _COMMENT.sub(" ", text)
        # Tag names in capitals are rare: the case-blind pattern, three times slower, only reads pages with them.
        split = _BLOCK_TAG_ANY_CASE if _CAPITAL_TAG.search(text) else _BLOCK_TAG
        pieces = split.split(text)  # block, tag, block, tag, ..., block
        return Readable(blocks=tuple(dict.fromkeys(pieces[0::2])), tags=tuple(dict.fromkeys(pieces[1::2])))
    if suffix == ".csv":  # read like a table: the cells of a record apart, no name running from one to the next
        try:
            records = list(csv.reader(io.StringIO(text, newline="")))
        except csv.Error:  # not a CSV after all (a field too long, say): read it as plain text
            return Readable((fold_case(text),))
        return Readable(rows=tuple(dict.fromkeys(fold_case(" ".join(record)) for record in records)))
    if suffix == ".ics":
        text = re.sub(r"\r?\n[ \t]", "", text).replace("\\n", " ").replace("\\,", ",").replace("\\;", ";")
    return Readable((fold_case(text),))


def _block(block: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """One block of markup (text and inline tags) as read: its one or two readings, and its attribute values."""
    if "<" not in block:
        return (fold_case(html.unescape(block)),), ()
    pieces = _TAG_SPLIT.split(block)
    tags = pieces[1::2]
    attributes = tuple(dict.fromkeys(value for tag in dict.fromkeys(tags) for value in _attribute_values(tag)))
    pieces[1::2] = [" "] * len(tags)
    spaced = fold_case(html.unescape("".join(pieces)))
    pieces[1::2] = [""] * len(tags)
    joined = fold_case(html.unescape("".join(pieces)))
    return ((spaced,) if joined == spaced else (spaced, joined)), attributes


@functools.lru_cache(maxsize=4096)
def _attribute_values(tag: str) -> tuple[str, ...]:
    """A tag's attribute values as a reader could meet them (references decoded, folded); a page repeats its
    tags, and pages share most of theirs."""
    return tuple(fold(html.unescape(a or b or c)) for a, b, c in _ATTRIBUTE.findall(tag))


# How the scanner reads each kind of piece of a `Readable` (blocks, tags, rows): as (texts, attribute values).
_READINGS = (_block, lambda tag: ((), _attribute_values(tag)), lambda row: ((row,), ()))


def scan_tree(out_root: Path, scanner: Scanner, entries: Sequence[dict], files: Sequence[Path] | None = None,
              cache: Path | None = None, processes: int | None = None) -> list[Finding]:
    """Every finding in the published tree `out_root/site` (or in `files` only), at most one per guide (or shared
    file), exposed profile and kind of value, in file order; on up to `processes` processes (default: every CPU)."""
    folders = {str(Path(e["html"]).parent) + "/": scanner.profiles.get(e["id"]) or _Owner(e["id"], e.get("source") or e["id"])
               for e in entries if isinstance(e.get("html"), str)}
    site = out_root / "site"
    if files is None:
        files = sorted(p for folder, _, names in os.walk(site) for p in (Path(folder, name) for name in names)
                       if p.is_file())
    todo = [(p, rel, _owner(folders, rel)) for p, rel in ((p, p.relative_to(out_root).as_posix()) for p in files)]
    results: list[list[Finding]] = []
    workers = min(processes or os.cpu_count() or 1, len(todo) // PARALLEL_FROM)
    if workers >= 2 and threading.current_thread() is threading.main_thread():
        global _SCAN
        _SCAN = (scanner, todo, cache)  # forked workers inherit the compiled patterns instead of rebuilding them
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                results = pool.map(_scan_in_worker, range(len(todo)), chunksize=16)
        finally:
            _SCAN = None
    else:
        results = [scanner.scan(rel, owner, readable(path, cache)) for path, rel, owner in todo]
    return first_findings(f for found in results for f in found)


def _owner(folders: dict[str, Any], rel: str) -> Any | None:
    """The owner of the guide folder that holds `rel` (None: a shared file), looked up by each enclosing folder."""
    parts = rel.split("/")
    for depth in range(len(parts) - 1, 0, -1):
        owner = folders.get("/".join(parts[:depth]) + "/")
        if owner is not None:
            return owner
    return None


def first_findings(findings: Iterable[Finding]) -> list[Finding]:
    """One finding per guide (or shared file), exposed profile and kind of value: the first, by file."""
    seen: dict[tuple, Finding] = {}
    for finding in sorted(findings):
        seen.setdefault((finding.guide or finding.file, finding.what, finding.exposed), finding)
    return sorted(seen.values())


def check(out_root: Path, cohort: Iterable[Any], entries: Sequence[dict], words: frozenset[str] = frozenset()) -> None:
    """Raise BuildError listing every finding in the published tree (the last guard before it is switched in)."""
    findings = scan_tree(out_root, Scanner(cohort, words), entries)
    if findings:
        raise BuildError([f.problem(withheld=False) for f in findings])


@dataclass(frozen=True)
class _Owner:
    """The owner of a guide folder that is in the manifest but not in the cohort (a previous version kept)."""

    id: str
    source: str


_SCAN: tuple | None = None


def _scan_in_worker(index: int) -> list[Finding]:
    assert _SCAN is not None
    scanner, jobs, cache = _SCAN
    path, rel, owner = jobs[index]
    return scanner.scan(rel, owner, readable(path, cache))


_MARKUP = {".html", ".htm", ".svg", ".xml", ".xhtml"}
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_BLOCK = "\x00"  # where a block ends: not a space and not part of a word
_ANY_TAG = re.compile(r"<[^>]*>")
_CELL_PLACE = re.compile(r' r="[A-Z]*[0-9]+"')  # a sheet's row or cell reference: where it sits, not what it shows
_TAG_SPLIT = re.compile(r"(<[^<>]*>)")  # a tag, kept by `split` between the texts around it
_INLINE_NAMES = (r"a|abbr|b|bdi|bdo|cite|code|data|dfn|em|i|kbd|mark|q|s|samp|small|span|strong|sub|sup|time|u|var|"
                 r"wbr|tspan|font|td|th")
_BLOCK_TAG = re.compile(rf"(<(?!/?(?:{_INLINE_NAMES})\b)[^<>]*>)")  # any tag but an inline one, kept by `split`
_BLOCK_TAG_ANY_CASE = re.compile(_BLOCK_TAG.pattern, re.IGNORECASE)
_CAPITAL_TAG = re.compile(r"</?[a-z]*[A-Z]")  # a tag name with a capital: `<SPAN>`, `<sPan>`
_ATTRIBUTE = re.compile(r"""[\s"'][\w:-]+\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>=`]+))""")
# Scripts written without spaces between words: a name in them is found inside a longer run of text.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1100-\u11ff\u1780-\u17ff\u3040-\u30ff\u3130-\u318f"
                       "\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
                       "\U00020000-\U0003ffff]")


def _without_spaces(owners: dict[str, list]) -> dict[str, list]:
    merged: dict[str, list] = {}
    for key, found in owners.items():
        merged.setdefault(key.replace(" ", ""), []).extend(found)
    return merged


class _Keys:
    """The keys of one kind, found as whole words (`ana` is not in `banana`), except where a key
    begins or ends in a script written without spaces; a space in a key matches any run of white space (`Li\n  Wei`).

    Fast on long pages: a whole-word key can only begin where the text has a word (a run of letters, digits and
    hyphens) equal to the key's own first word, so the pattern is tried only there.
    """

    def __init__(self, owners: dict[str, list]):
        bounded = [k for k in owners if not (_UNSPACED.match(k[0]) or _UNSPACED.match(k[-1]))]
        unbounded = [k for k in owners if k not in set(bounded)]
        self.bounded = re.compile(r"(?<![\w-])(?:" + _trie(bounded) + r")(?![\w-])") if bounded else None
        self.unbounded = re.compile(_trie(unbounded)) if unbounded else None
        firsts = {run.group() if (run := _WORD.match(k)) else "" for k in bounded}
        self.firsts = None if "" in firsts else firsts  # None: a key begins with another character; try everywhere

    def find(self, text: str) -> list[str]:
        """The text of every match, in order (the whole-word keys' first)."""
        found = []
        if self.bounded is not None:
            if self.firsts is None:
                found += (m.group() for m in self.bounded.finditer(text))
            else:
                end = 0
                for start in self._starts(text):
                    if start >= end and (match := self.bounded.match(text, start)):
                        end = match.end()
                        found.append(match.group())
        if self.unbounded is not None:
            found += (m.group() for m in self.unbounded.finditer(text))
        return found

    def _starts(self, text: str) -> list[int]:
        """Where the text has a whole word that is some key's first word."""
        assert self.firsts is not None
        starts = []
        for word in self.firsts.intersection(_WORD.findall(text)):
            at = text.find(word)
            while at >= 0:
                after = at + len(word)
                if not (at and _WORD_CHAR.match(text, at - 1)) and not _WORD_CHAR.match(text, after):
                    starts.append(at)
                at = text.find(word, after)
        return sorted(starts)


_LONG = 4000  # characters: a longer block or tag is read each time (it is rarely shared)
_REMEMBERED = 16_000_000  # characters remembered per scanner, per process (tens of MiB at most)


_WORD = re.compile(r"[\w-]+")
_WORD_CHAR = re.compile(r"[\w-]")


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
        branches = [(r"\s+" if char == " " else re.escape(char)) + emit(child)
                    for char, child in sorted(node.items()) if char]
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")" if branches else ""
        return f"(?:{body})?" if "" in node and body else body

    return emit(root)
