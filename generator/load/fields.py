"""The one field reader of every YAML input (profiles, the strategy data, content front matter).

A `Reader` walks a parsed `Document`, checks each value with a small check function (one of those
below, or a loader's own), and records a located problem, `path:line: field: message`, for each bad
one. It never stops at the first problem: a loader reads every field, then fails once.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, Callable

from generator.errors import Problem
from generator.load.ids import ID_RE, ID_RULE
from generator.load.yamlstrict import Document, format_path

Check = Callable[[Any], "str | None"]  # None when the value is good, else what is wrong with it
BAD = object()  # a value that was reported as a problem

# C0 and C1 controls, Unicode line separators and bidi overrides; multi-line text may hold tabs and line breaks.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_MULTILINE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ENCODED_WORD = re.compile(r"=\?.*\?=")  # an RFC 2047 encoded word, read as leniently as Python does
_QUOTED_VALUE = re.compile(r"\s*(?:[-+]?[0-9]+(?:\.[0-9]+)?|[0-9]{4}-[0-9]{2}-[0-9]{2}|true|false)\s*")
_TYPE_NAMES = {int: "an integer", float: "a number", str: "text", list: "a list", dict: "a mapping", dt.date: "a date"}


class Reader:
    """Reads checked fields from one document, recording a located problem for each bad one."""

    def __init__(self, document: Document):
        self.document = document
        self.problems: list[Problem] = []

    def report(self, path: tuple, message: str) -> None:
        """Record a problem at `path` (its line, or its nearest parent's)."""
        self.problems.append(Problem(self.document.source, self.document.line_of(path), format_path(path), message))

    def fields(self, data: Any, path: tuple, allowed: tuple[str, ...]) -> dict | None:
        """Check that `data` is a mapping with only `allowed` keys; None when it is not a mapping."""
        if not isinstance(data, dict):
            self.report(path, f"expected a mapping with the fields {', '.join(allowed)}, got {show(data)}")
            return None
        for key in data:
            if key not in allowed:
                self.report(path + (key,), unknown_field(key, allowed))
        return data

    def value(self, data: dict, path: tuple, key: str, check: Check, required: bool = False) -> Any:
        """The value of `key` in the mapping at `path` if `check` accepts it; None when absent or null; BAD once
        reported."""
        if path + (key,) in self.document.bad:
            return BAD  # the YAML layer has reported this value already
        value = data.get(key)
        if value is None:
            if required:
                self.report(path + (key,), "required field is " + ("empty" if key in data else "missing"))
                return BAD
            return None
        message = check(value)
        if message:
            self.report(path + (key,), message)
            return BAD
        return value

    def get(self, path: tuple, kind: type | tuple[type, ...], *, optional: bool = False) -> Any:
        """The value at a path from the document's root if it is of `kind` (never a bool for a number); None
        when it is missing (a problem unless `optional`) or of another kind (a problem)."""
        value: Any = self.document.data
        for key in path:
            if isinstance(value, dict) and key in value:
                value = value[key]
            elif isinstance(value, list) and isinstance(key, int) and key < len(value):
                value = value[key]
            else:
                if not optional:
                    self.report(path, "is required")
                return None
        if value is None and optional:
            return None
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            names = " or ".join(_TYPE_NAMES.get(k, k.__name__) for k in kinds)
            self.report(path, f"expected {names}, got {value!r}")
            return None
        return value


def any_bad(*values: Any) -> bool:
    """True when one of the values was reported."""
    return any(value is BAD for value in values)


def unknown_field(key: str, allowed: tuple[str, ...]) -> str:
    """`unknown field 'x'; did you mean 'y'?`, else the list of the fields allowed there."""
    normal = str(key).strip().lower().replace("-", "_").replace(" ", "_")
    near = difflib.get_close_matches(normal, allowed, n=1, cutoff=0.6)
    match = normal if normal in allowed else (near[0] if near else None)
    if match:
        return f"unknown field '{key}'; did you mean '{match}'?"
    return f"unknown field '{key}'; expected one of: {', '.join(allowed)}"


def show(value: Any) -> str:
    """A value as the user wrote it, for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, dt.date)):
        return str(value)
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", str(value))
    return f"'{text[:60]}...'" if len(text) > 60 else f"'{text}'"


def _unquote_hint(value: Any) -> str:
    return "; remove the quotes" if isinstance(value, str) and _QUOTED_VALUE.fullmatch(value) else ""


def accept(accepts: Callable[[Any], Any], expected: str) -> Check:
    """A check: None when `accepts(value)`, else `expected ..., got ...`."""

    def check(value: Any) -> str | None:
        return None if accepts(value) else f"expected {expected}, got {show(value)}{_unquote_hint(value)}"

    return check


def integer(low: int | None = None, high: int | None = None) -> Check:
    """An integer (never a bool) within the bounds given."""
    expected = ("an integer" if low is None else f"an integer from {low} to {high}" if high is not None
                else f"an integer of {low} or more")
    return accept(lambda v: type(v) is int and (low is None or low <= v) and (high is None or v <= high), expected)


def number(low: int, high: int | None) -> Check:
    """An integer or a decimal number within the bounds given."""
    expected = f"a number from {low} to {high}" if high is not None else f"a number of {low} or more"
    expected += " (decimals allowed)"
    return accept(lambda v: type(v) in (int, float) and low <= v and (high is None or v <= high), expected)


def text(longest: int, multiline: bool = False) -> Check:
    """Text of 1 to `longest` characters, without control characters (or encoded words, on one line)."""
    control = _CONTROL_MULTILINE if multiline else CONTROL

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"expected text of 1 to {longest} characters, got {show(value)}; quote it if it is meant as text"
        if not value.strip():
            return "must not be blank"
        if len(value) > longest:
            return f"expected at most {longest} characters, got {len(value)}"
        bad = control.search(value)
        if bad:
            return f"must not contain control characters such as line breaks (found U+{ord(bad.group()):04X})"
        encoded = None if multiline else _ENCODED_WORD.search(value)
        if encoded:
            # Email headers decode these: `=?utf-8?q?=0D=0ABcc:...?=` becomes a new header line (CVE-2024-6923).
            return f"must not contain an email encoded word such as {encoded.group()!r}"
        return None

    return check


def choice(options: tuple[str, ...] | list[str]) -> Check:
    """One of `options`, with a suggestion for a near miss."""
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value in options:
            return None
        message = f"expected one of {', '.join(options)}, got {show(value)}"
        near = difflib.get_close_matches(str(value).strip().lower(), list(options), n=1, cutoff=0.6)
        return f"{message}; did you mean '{near[0]}'?" if near else message

    return check


boolean = accept(lambda v: isinstance(v, bool), "true or false")
date = accept(lambda v: isinstance(v, dt.date), "a date written as YYYY-MM-DD")
identifier = accept(lambda v: isinstance(v, str) and ID_RE.match(v), f"an id of {ID_RULE}")
