"""The value checks of the profile schema: each returns None or the message for a bad value."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from typing import Any, Callable

from generator.load.ids import ID_RE, ID_RULE

_EMAIL = re.compile(
    r"(?=.{3,254}$)(?=[^@]{1,64}@)[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f]+(?:\.[^\s@\"(),:;<>\[\]\\.\x00-\x1f\x7f]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W_](?:[\w-]*[^\W_])?"
)
# C0 and C1 controls, Unicode line separators and bidi overrides; notes may hold tabs and line breaks.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTROL_IN_NOTES = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ENCODED_WORD = re.compile(r"=\?.*\?=")  # an RFC 2047 encoded word, read as leniently as Python does
_QUOTED_VALUE = re.compile(r"\s*(?:[-+]?[0-9]+(?:\.[0-9]+)?|[0-9]{4}-[0-9]{2}-[0-9]{2}|true|false)\s*")

def _unknown_field(key: str, allowed: tuple[str, ...]) -> str:
    normal = key.strip().lower().replace("-", "_").replace(" ", "_")
    near = difflib.get_close_matches(normal, allowed, n=1, cutoff=0.6)
    match = normal if normal in allowed else (near[0] if near else None)
    if match:
        return f"unknown field '{key}'; did you mean '{match}'?"
    return f"unknown field '{key}'; expected one of: {', '.join(allowed)}"


def _show(value: Any) -> str:
    """A value as the user wrote it, for messages."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float, dt.date)):
        return str(value)
    if isinstance(value, (dict, list)):
        return "a mapping" if isinstance(value, dict) else "a list"
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", value)
    return f"'{text[:60]}...'" if len(text) > 60 else f"'{text}'"


def _unquote_hint(value: Any) -> str:
    return "; remove the quotes" if isinstance(value, str) and _QUOTED_VALUE.fullmatch(value) else ""


def _accept(accepts: Callable[[Any], Any], expected: str) -> Callable[[Any], str | None]:
    """A check: None when `accepts(value)`, else `expected ..., got ...`."""

    def check(value: Any) -> str | None:
        return None if accepts(value) else f"expected {expected}, got {_show(value)}{_unquote_hint(value)}"

    return check


def _integer(low: int, high: int | None) -> Callable[[Any], str | None]:
    expected = f"an integer from {low} to {high}" if high is not None else f"an integer of {low} or more"
    return _accept(lambda v: type(v) is int and low <= v and (high is None or v <= high), expected)


def _number(low: int, high: int | None) -> Callable[[Any], str | None]:
    expected = f"a number from {low} to {high}" if high is not None else f"a number of {low} or more"
    expected += " (decimals allowed)"
    return _accept(lambda v: type(v) in (int, float) and low <= v and (high is None or v <= high), expected)


def _text(longest: int, multiline: bool = False) -> Callable[[Any], str | None]:
    control = _CONTROL_IN_NOTES if multiline else _CONTROL

    def check(value: Any) -> str | None:
        if not isinstance(value, str):
            return f"expected text of 1 to {longest} characters, got {_show(value)}; quote it if it is meant as text"
        if not value.strip():
            return "must not be blank"
        if len(value) > longest:
            return f"expected at most {longest} characters, got {len(value)}"
        bad = control.search(value)
        if bad:
            return f"must not contain control characters such as line breaks (found U+{ord(bad.group()):04X})"
        if not multiline and _ENCODED_WORD.search(value):
            # Email headers decode these: `=?utf-8?q?=0D=0ABcc:...?=` becomes a new header line (CVE-2024-6923).
            return f"must not contain an email encoded word such as {_ENCODED_WORD.search(value).group()!r}"
        return None

    return check


def _choice(options: tuple[str, ...]) -> Callable[[Any], str | None]:
    def check(value: Any) -> str | None:
        if isinstance(value, str) and value in options:
            return None
        message = f"expected one of {', '.join(options)}, got {_show(value)}"
        near = difflib.get_close_matches(str(value).strip().lower(), options, n=1, cutoff=0.6)
        return f"{message}; did you mean '{near[0]}'?" if near else message

    return check


_boolean = _accept(lambda v: isinstance(v, bool), "true or false")
_date = _accept(lambda v: isinstance(v, dt.date), "a date written as YYYY-MM-DD")
_mapping = _accept(lambda v: isinstance(v, dict), "a mapping of fields (indented lines below it)")
_list = _accept(lambda v: isinstance(v, list), "a list of practice exams")
_identifier = _accept(lambda v: isinstance(v, str) and ID_RE.match(v), f"an id of {ID_RULE}")
_email = _accept(
    lambda v: isinstance(v, str) and _EMAIL.fullmatch(v) and not _CONTROL.search(v), "an email address such as name@example.org"
)
