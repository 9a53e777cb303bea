"""Strict YAML: plain YAML only, every value with the line it came from.

Values are built from PyYAML *events*, never from its constructor, so YAML 1.1
surprises (`no` -> False, `0755` -> 493, `12:30:00` -> 45000), tags, anchors,
aliases and duplicate keys are reported as problems instead of loaded.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from generator.errors import InputError, Problem

# CSafeLoader only exists when PyYAML was built against libyaml; it is ~7x faster.
_LOADER = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_PROBLEMS = 50

_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_NULLS = {"", "~", "null", "Null", "NULL"}
_YAML11_BOOLS = {"y": "true", "yes": "true", "on": "true", "n": "false", "no": "false", "off": "false"}
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_TIMESTAMP = re.compile(r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}.*")
# Characters YAML allows in a stream (YAML 1.2, 5.1), minus NEL, which YAML 1.1 reads as a line break.
_FORBIDDEN_CHAR = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
# Unicode noncharacters (U+FDD0..U+FDEF and the last two code points of every plane): never text.
_NONCHARACTER = re.compile("[\ufdd0-\ufdef" + "".join(f"{chr(p * 0x10000 + 0xFFFE)}{chr(p * 0x10000 + 0xFFFF)}"
                                                       for p in range(1, 17)) + "]")
_MAX_NUMBER_CHARS = 100
_OR_QUOTE = "or quote it if you mean the text"

# Plain scalars that look like numbers but that some YAML reader takes differently: refused, saying what to write.
_MISREAD_NUMBERS = (
    (re.compile(r"[-+]?0[0-9_]+(?:\.[0-9_]*)?(?:[eE][-+]?[0-9]+)?"),
     f"has a leading zero, which older YAML reads as an octal number; drop the zero, {_OR_QUOTE}"),
    (re.compile(r"[-+]?0(?:[xX][0-9a-fA-F_]+|[oO][0-7_]+|[bB][01_]+)"),
     f"is not a decimal number; write it in decimal, {_OR_QUOTE}"),
    (re.compile(r"[-+]?\.(?:inf|nan)", re.IGNORECASE), f"is not a finite number; write a number, {_OR_QUOTE}"),
    (re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"),
     "looks like a time, which older YAML reads as a base-60 number; quote it"),
)


_AWAITING = object()  # a mapping frame waiting for its next key
_DISCARD = object()  # the key of an entry whose value is thrown away (already reported)


@dataclass
class Document:
    """A parsed YAML document with the 1-based line of every path in it."""

    data: Any
    lines: dict[tuple, int] = field(default_factory=dict)
    source: str = ""
    bad: frozenset[tuple] = frozenset()  # paths whose values were reported as problems (see parse())

    def line_of(self, path: tuple) -> int | None:
        """The line of `path`, else of its nearest ancestor that has one."""
        path = tuple(path)
        while True:
            if path in self.lines:
                return self.lines[path]
            if not path:
                return None
            path = path[:-1]


def format_path(path: tuple) -> str | None:
    """`('step2_ck', 'practice', 0, 'score')` -> `'step2_ck.practice[0].score'`; `()` -> None."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or None


def load(text: str | bytes, source: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Document:
    """Parse one YAML mapping strictly; raise InputError listing every problem found."""
    document, problems = parse(text, source, max_bytes=max_bytes, max_depth=max_depth)
    if problems:
        raise InputError(problems)
    return document


def parse(
    text: str | bytes, source: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> tuple[Document | None, list[Problem]]:
    """Parse as far as possible: the document (None when unusable) and every problem found.

    When the problems are only bad values (an ambiguous `no`, a duplicate key, a tag),
    the document is still returned so a schema can report its own problems too; the
    reported paths are in `document.bad`, and their values must not be trusted.
    """
    try:
        return _load_text(_decode(text, source, max_bytes), source, 0, max_depth, allow_empty=False)
    except InputError as exc:
        return None, exc.problems
    except Exception as exc:  # total: anything unexpected is still the input's fault
        return None, [Problem(source, None, None, f"could not read YAML: {type(exc).__name__}")]


def split_front_matter(
    text: str | bytes, source: str, *, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH
) -> tuple[Document, str, int]:
    """Split `---` front matter from a body: (front matter with file lines, body, body's first line)."""
    try:
        text = _decode(text, source, None)
        lines = text.split("\n")
        if lines[0].rstrip(" \t") != "---":
            raise InputError(Problem(source, 1, None, "missing front matter: the file must start with a '---' line"))
        close = next((i for i in range(1, len(lines)) if lines[i].rstrip(" \t") == "---"), None)
        if close is None:
            raise InputError(Problem(source, 1, None, "front matter opened on line 1 is never closed by a '---' line"))
        front = "\n".join(lines[1:close]) + "\n"
        if len(front.encode("utf-8")) > max_bytes:
            raise InputError(Problem(source, 1, None, f"front matter is larger than {human_size(max_bytes)}"))
        document, problems = _load_text(front, source, 1, max_depth, allow_empty=True)
        if problems:
            raise InputError(problems)
        return document, "\n".join(lines[close + 1 :]), close + 2
    except InputError:
        raise
    except Exception as exc:
        raise InputError(Problem(source, None, None, f"could not read front matter: {type(exc).__name__}")) from exc


def human_size(size: int) -> str:
    """A byte count as people write it: `256 KB`, `5 MB`, `1.5 MB`, `12 bytes` (1 KB = 1,024 bytes)."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} byte" + ("" if size == 1 else "s")


def too_large(limit: int, size: int) -> str:
    """The message for a file over the size limit."""
    shown = human_size(size)
    return f"file is larger than {human_size(limit)}" + (f" ({shown})" if shown != human_size(limit) else "")


def _decode(text: str | bytes, source: str, max_bytes: int | None) -> str:
    """Check size, encoding and characters; return text with `\\n` line ends and no BOM."""
    raw = text if isinstance(text, bytes) else None
    if raw is None:
        try:
            raw = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            line = text[: exc.start].count("\n") + 1
            raise InputError(Problem(source, line, None, "text contains an invalid character (a lone surrogate)"))
    if max_bytes is not None and len(raw) > max_bytes:
        raise InputError(Problem(source, None, None, too_large(max_bytes, len(raw))))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        message = f"not valid UTF-8 text (byte 0x{raw[exc.start]:02x}); save the file as UTF-8"
        raise InputError(Problem(source, line, None, message))
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    bad = _FORBIDDEN_CHAR.search(text)
    if bad:
        line = text[: bad.start()].count("\n") + 1
        char = bad.group()
        if ord(char) in (0xFFFE, 0xFFFF):
            raise InputError(Problem(source, line, None, f"file contains U+{ord(char):04X}, a noncharacter; remove it"))
        what = "a NUL byte" if char == "\0" else f"the control character U+{ord(char):04X}"
        raise InputError(Problem(source, line, None, f"file contains {what}; is it a binary file?"))
    bad = _NONCHARACTER.search(text)
    if bad:
        line = text[: bad.start()].count("\n") + 1
        raise InputError(Problem(source, line, None, f"file contains U+{ord(bad.group()):04X}, a noncharacter; remove it"))
    return text


def escaped_character(value: str) -> str | None:
    """Why a decoded scalar may not hold a character its raw text could not hold, or None.

    Double-quoted YAML decodes escapes (`"\\uFFFE"`, `"\\x00"`) into characters the file itself may not contain;
    the decoded value gets the same check as the raw text.
    """
    bad = _FORBIDDEN_CHAR.search(value) or _NONCHARACTER.search(value)
    if bad is None:
        return None
    char = ord(bad.group())
    if char < 0x20 or 0x7F <= char <= 0x9F:
        return f"must not contain control characters such as line breaks (found U+{char:04X})"
    kind = "a lone surrogate" if 0xD800 <= char <= 0xDFFF else "a noncharacter"
    return f"must not contain U+{char:04X}, {kind} (written as an escape); remove it"


def _load_text(
    text: str, source: str, offset: int, max_depth: int, *, allow_empty: bool
) -> tuple[Document | None, list[Problem]]:
    """Run the event builder over checked text; lines are shifted down by `offset`."""
    builder = _Builder(source, offset, max_depth)
    try:
        for event in yaml.parse(text, Loader=_LOADER):
            builder.feed(event)
    except _Stop:
        return None, builder.problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 + offset if mark is not None else None
        detail = exc.problem or exc.context or "invalid YAML"
        return None, builder.problems + [Problem(source, line, None, f"invalid YAML: {detail}")]
    except yaml.YAMLError as exc:
        return None, builder.problems + [Problem(source, None, None, f"invalid YAML: {exc}")]
    except RecursionError:
        return None, builder.problems + [Problem(source, None, None, "invalid YAML: the document is nested too deeply")]
    root = builder.root
    if root is _AWAITING and allow_empty:
        builder.root, builder.lines[()] = {}, offset or 1
    elif not isinstance(root, dict):
        found = "a list" if isinstance(root, list) else "nothing" if root in (_AWAITING, None) else "a single value"
        message = f"expected a mapping of 'key: value' lines at the top level, found {found}"
        return None, builder.problems + [Problem(source, builder.lines.get((), offset + 1), None, message)]
    return Document(builder.root, builder.lines, source, frozenset(builder.bad)), builder.problems


class _Stop(Exception):
    """Raised inside the builder to stop reading the event stream (the problem is recorded)."""


@dataclass
class _Frame:
    """An open mapping or sequence; `path` is None inside a subtree that is being thrown away."""

    container: dict | list
    path: tuple | None
    key: Any = _AWAITING
    seen: dict = field(default_factory=dict)


class _Builder:
    """Turns PyYAML events into plain values, recording each path's line and every problem."""

    def __init__(self, source: str, offset: int, max_depth: int):
        self.source, self.offset, self.max_depth = source, offset, max_depth
        self.problems: list[Problem] = []
        self.lines: dict[tuple, int] = {}
        self.stack: list[_Frame] = []
        self.root: Any = _AWAITING
        self.documents = 0
        self.bad: set[tuple] = set()

    def report(self, line: int, path: tuple | None, message: str) -> None:
        """Record one problem; `path` None means no field applies. Stop reading after MAX_PROBLEMS."""
        self.problems.append(Problem(self.source, line, format_path(path) if path else None, message))
        if len(self.problems) >= MAX_PROBLEMS:
            self.problems.append(Problem(self.source, line, None, f"stopped reading after {MAX_PROBLEMS} problems"))
            raise _Stop

    def feed(self, event: yaml.Event) -> None:
        """Consume one event."""
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.report(self._line(event), None, "a file may hold only one YAML document; found a second '---'")
                raise _Stop
        elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
            if len(self.stack) >= self.max_depth:
                self.report(self._line(event), None, f"nesting is deeper than {self.max_depth} levels")
                raise _Stop
            container: dict | list = {} if isinstance(event, yaml.MappingStartEvent) else []
            path = self._place(event, container, None, collection=True)
            self._check_properties(event, path)
            self.stack.append(_Frame(container, path))
        elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
            self.stack.pop()
        elif isinstance(event, yaml.ScalarEvent):
            value, error = _resolve(event)
            if error is None and isinstance(value, str):
                error = escaped_character(value)
            path = self._place(event, value, error)
            self._check_properties(event, path)
        elif isinstance(event, yaml.AliasEvent):
            path = self._place(event, None, "aliases ('*name') are not allowed; write the value out in full")

    def _line(self, event: yaml.Event) -> int:
        return event.start_mark.line + 1 + self.offset

    def _place(self, event: yaml.Event, value: Any, error: str | None, collection: bool = False) -> tuple | None:
        """Attach a node to its parent; return its path, or None when it is a key or thrown away."""
        line = self._line(event)
        if not self.stack:
            self.root, self.lines[()] = (value if error is None else "?"), line
            if error:
                self.report(line, None, error)
            return ()
        parent = self.stack[-1]
        if parent.path is None:
            if error:
                self.report(line, None, error)
            return None
        if isinstance(parent.container, list):
            path = parent.path + (len(parent.container),)
            parent.container.append(value)
        elif parent.key is _AWAITING:
            self._take_key(parent, line, event, value, error, collection)
            return None
        else:
            key, parent.key = parent.key, _AWAITING
            if key is _DISCARD:
                return None
            path = parent.path + (key,)
            parent.container[key] = value
        self.lines.setdefault(path, line)
        if error:
            self.report(line, path, error)
            self.bad.add(path)
        return path

    def _take_key(
        self, parent: _Frame, line: int, event: yaml.Event, key: Any, error: str | None, collection: bool
    ) -> None:
        parent.key = _DISCARD
        where = parent.path
        if error:
            self.report(line, where + (str(event.value),) if isinstance(event, yaml.ScalarEvent) else where, error)
        elif collection:
            self.report(line, where, "a key must be plain text, not a list or mapping")
        elif not isinstance(key, str):
            shown = event.value if isinstance(event, yaml.ScalarEvent) else "?"
            self.report(line, where, f"the key '{shown}' is not text; keys must be names (quote it if you mean it)")
        elif key == "<<" and event.style in (None, ""):
            self.report(line, where, "merge keys ('<<') are not supported; write the entries out in full")
        elif key in parent.seen:
            first = parent.seen[key]
            lines = f"twice on line {line}" if first == line else f"on line {first} and line {line}"
            self.report(line, where + (key,), f"duplicate key '{key}' ({lines})")
        else:
            parent.seen[key] = line
            parent.key = key
            self.lines[where + (key,)] = line

    def _check_properties(self, event: yaml.Event, path: tuple | None) -> None:
        line = self._line(event)
        where = path if path is not None else (self.stack[-1].path if self.stack else None)
        if getattr(event, "anchor", None) is not None:
            self.report(line, where, f"anchors ('&{event.anchor}') are not allowed; write each value out in full")
        if path is not None and (getattr(event, "anchor", None) is not None or getattr(event, "tag", None) is not None):
            self.bad.add(path)
        if getattr(event, "tag", None) is not None:
            tag = event.tag.replace("tag:yaml.org,2002:", "!!", 1)
            self.report(line, where, f"explicit tags ('{tag}') are not allowed; write plain values only")


def _resolve(event: yaml.ScalarEvent) -> tuple[Any, str | None]:
    """Our scalar rules: (value, None) or (None, message). Quoted and block scalars are always text."""
    value = event.value
    if event.style not in (None, "") or event.tag is not None:
        return value, None
    if value in _NULLS:
        return None, None
    if value in _BOOLS:
        return _BOOLS[value], None
    if value.lower() in _YAML11_BOOLS:
        meant = _YAML11_BOOLS[value.lower()]
        return None, f"'{value}' is ambiguous in YAML (older readers take it as {meant}); write {meant}, {_OR_QUOTE}"
    if len(value) <= _MAX_NUMBER_CHARS and _INT.fullmatch(value):
        return int(value), None
    for pattern, problem in _MISREAD_NUMBERS:
        if pattern.fullmatch(value):
            return None, f"'{value}' {problem}"
    if _FLOAT.fullmatch(value) or _INT.fullmatch(value):
        number = float(value) if len(value) <= _MAX_NUMBER_CHARS else float("inf")
        if number in (float("inf"), float("-inf")):
            return None, f"'{value[:40]}' is too large a number"
        return (int(value) if _INT.fullmatch(value) else number), None
    if _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value), None
        except ValueError:
            return None, f"'{value}' is not a real date (YYYY-MM-DD)"
    if _TIMESTAMP.fullmatch(value):
        return None, f"'{value}' is a date with a time of day; write just the date (YYYY-MM-DD), or quote it"
    return value, None
