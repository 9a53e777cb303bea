"""Content: sections, worked examples and FAQ entries (Markdown + front matter) and the theme's layouts.

Each `when` rule is kept here as text with its file and line; `decide.selection.compile_rules` checks
and compiles it, so loading knows nothing of deciding.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from generator.load.chart_style import ChartStyle, read_chart_style
from generator.load import yamlstrict
from generator.load.fields import Reader, accept, choice, identifier, integer
from generator.errors import InputError, Problem

TEMPLATE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

# kind -> (folder, required fields, optional fields)
KINDS = {
    "section": ("sections", ("id", "title", "order", "when"), ("template",)),
    "example": ("examples", ("id", "title", "band", "order"), ("when", "record")),
    "faq": ("faq", ("id", "question", "order", "when"), ()),
}
ALWAYS = "true"
# Ids the theme uses for its own parts of the page; a section with one of these would clash.
RESERVED_IDS = {"worked-examples", "faq", "main", "top", "toc-title", "contents"}
RESERVED_PREFIXES = ("example-", "faq-", "chart-")
# An example's `record`: the traits of its fictional applicant that choose it for the closest readers.
RECORD_FIELDS = {"failures": int, "gap": int, "usce_months": (int, float), "visa": str, "student": bool, "projected": bool}
RECORD_VISAS = ("j1", "h1b", "either", "none")


@dataclass(frozen=True)
class Item:
    """One section, worked example or FAQ entry."""

    kind: str
    id: str
    title: str
    order: int
    when: str  # the rule's text, as written (`true` when an example has none)
    when_line: int | None  # the line the rule's text starts on (an example without one: its `band` line)
    body: str
    body_line: int
    source: str
    digest: str
    template: str | None = None
    band: str | None = None
    template_line: int | None = None
    id_line: int | None = None
    record: dict | None = None  # examples only: the fictional applicant's traits (RECORD_FIELDS)


@dataclass
class Content:
    """Everything under `content/`, in guide order."""

    sections: list[Item] = field(default_factory=list)
    examples: list[Item] = field(default_factory=list)
    faq: list[Item] = field(default_factory=list)

    def items(self) -> list[Item]:
        """Every item, sections first."""
        return [*self.sections, *self.examples, *self.faq]


@dataclass(frozen=True)
class Layout:
    """One of the theme's layouts: the first whose rule holds is a guide's page template."""

    id: str
    template: str
    when: str
    source: str  # the theme's `theme.yaml`
    when_line: int | None
    index: int  # its place in `layouts:`


@dataclass(frozen=True)
class Theme:
    """A theme folder: rule-selected layouts, fixed pages and its assets."""

    root: Path
    layouts: tuple[Layout, ...]
    landing: str
    not_found: str
    assets: Path
    digest: str
    charts: ChartStyle


def load_content(root: Path, *, band_ids: list[str], source_prefix: str = "content") -> tuple[Content, list[Problem]]:
    """Load every content file under `root`; return the good items and the problems of the rest."""
    content = Content()
    problems: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}
    for kind, (folder, _, _) in KINDS.items():
        items: list[Item] = getattr(content, "sections" if kind == "section" else "examples" if kind == "example" else "faq")
        for path in sorted((root / folder).glob("*.md")):
            source = f"{source_prefix}/{folder}/{path.name}"
            try:
                item = _load_item(path, kind, source, band_ids)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            if (kind, item.id) in seen:
                problems.append(Problem(source, item.id_line, "id", f"id {item.id!r} is already used by {seen[(kind, item.id)]}"))
                continue
            seen[(kind, item.id)] = source
            items.append(item)
        items.sort(key=lambda i: (i.order, i.id))
    if not content.sections and not problems:
        problems.append(Problem(f"{source_prefix}/sections", None, None, "no sections found (*.md files with front matter)"))
    return content, problems


def _load_item(path: Path, kind: str, source: str, band_ids: list[str]) -> Item:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(source, None, None, f"cannot read the file: {exc.strerror or exc}")) from None
    doc, body, body_line = yamlstrict.split_front_matter(raw, source)  # bad UTF-8 and NUL bytes: located errors
    _, required, optional = KINDS[kind]
    r = Reader(doc)
    data = r.fields(doc.data if isinstance(doc.data, dict) else {}, (), required + optional) or {}
    checks = {"id": _section_id if kind == "section" else identifier, "title": _TEXT, "question": _TEXT,
              "order": integer(), "when": _RULE, "band": choice(band_ids), "template": _TEMPLATE,
              "record": _record}
    values = {key: r.value(data, (), key, checks[key], required=key in required and (key, kind) != ("when", "example"))
              for key in required + optional}
    if r.problems:
        raise InputError(r.problems)

    def where(key: str) -> int | None:
        return doc.line_of((key,))

    return Item(
        kind=kind,
        id=values["id"],
        title=values.get("title") or values.get("question"),
        order=values["order"],
        when=_rule_text(values["when"]) or ALWAYS,
        when_line=_value_line(raw, where("when")) if values["when"] is not None else where("band"),
        body=body,
        body_line=body_line,
        source=source,
        digest=hashlib.sha256(raw).hexdigest(),
        template=values.get("template"),
        band=values.get("band"),
        template_line=where("template") if values.get("template") is not None else None,
        id_line=where("id"),
        record=values.get("record"),
    )


def _record(value: Any) -> str | None:
    """An example's `record`: a mapping of known traits with the right types (None when it is good)."""
    if not isinstance(value, dict):
        return f"expected a mapping such as {{failures: 0, gap: 3}}, got {value!r}"
    for key, item in value.items():
        kind = RECORD_FIELDS.get(key)
        if kind is None:
            return f"unknown trait {key!r}; expected {', '.join(RECORD_FIELDS)}"
        if isinstance(item, bool) != (kind is bool) or not isinstance(item, kind):
            expected = "true or false" if kind is bool else "text" if kind is str else "a number"
            return f"{key}: expected {expected}, got {item!r}"
        if key == "visa" and item not in RECORD_VISAS:
            return f"visa: expected one of {', '.join(RECORD_VISAS)}, got {item!r}"
    return None


def _reserved(value: str) -> str | None:
    if value in RESERVED_IDS or value.startswith(RESERVED_PREFIXES):
        return f"{value!r} is used by the theme for its own page parts; choose another id"
    return None


_TEXT = accept(lambda v: isinstance(v, str) and v.strip(), "text")
_TEMPLATE = accept(lambda v: isinstance(v, str) and TEMPLATE_RE.match(v), "a template name such as 'glance'")
_RULE = accept(lambda v: _rule_text(v) is not None, "a rule such as \"band.id == 'low'\" (a quoted string)")


def _section_id(value: Any) -> str | None:
    """An id, and not one the theme uses for its own page parts."""
    return identifier(value) or _reserved(value)


def _rule_text(value: Any) -> str | None:
    """A `when` value as rule text: YAML's true/false are the rules `true`/`false`; None when it is not text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) and value.strip() else None


_BLOCK_SCALAR = re.compile(rb":[ \t]*[|>][-+0-9]*[ \t]*(?:#.*)?\r?$")


def _value_line(raw: bytes, line: int | None) -> int | None:
    """The line a value's text starts on: for a block scalar (`when: |`), the line after its key."""
    lines = raw.split(b"\n")
    return line + 1 if line and line <= len(lines) and _BLOCK_SCALAR.search(lines[line - 1]) else line


def load_theme(root: Path, *, source_prefix: str | None = None) -> Theme:
    """Read `theme.yaml` of a theme folder; raise InputError naming every problem."""
    prefix = source_prefix or str(root)
    source = f"{prefix}/theme.yaml"
    try:
        raw = (root / "theme.yaml").read_bytes()
    except OSError as exc:
        raise InputError(Problem(source, None, None, f"cannot read the theme: {exc.strerror}")) from None
    doc = yamlstrict.load(raw, source)
    data = doc.data
    problems: list[Problem] = []
    layouts = []
    entries = data.get("layouts") or []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        line = doc.line_of(("layouts", i))
        if not isinstance(entry, dict) or not {"id", "template", "when"} <= set(entry) \
                or not isinstance(entry["id"], str) or not isinstance(entry["template"], str):
            problems.append(Problem(source, line, f"layouts[{i}]", "expected {id, template, when}, id and template as text"))
            continue
        when = _rule_text(entry["when"])
        if when is None:
            problems.append(Problem(source, doc.line_of(("layouts", i, "when")), "when", _RULE(entry["when"])))
            continue
        if not (root / entry["template"]).is_file():
            problems.append(Problem(source, doc.line_of(("layouts", i, "template")), f"layouts[{i}].template",
                                    f"template {entry['template']!r} not found in {prefix}"))
            continue
        layouts.append(Layout(entry["id"], entry["template"], when, source, doc.line_of(("layouts", i, "when")), i))
    if not layouts and not problems:
        problems.append(Problem(source, doc.line_of(("layouts",)), "layouts", "needs at least one layout"))
    pages = {}
    for key, default in (("landing", "landing.html"), ("not_found", "404.html"), ("assets", "assets")):
        value = data.get(key, default)
        if not isinstance(value, str) or not (root / value).exists():
            problems.append(Problem(source, doc.line_of((key,)), key, f"{value!r} not found in {prefix}"))
        elif key == "assets" and not ((root / value).is_dir() and (root / value).resolve().is_relative_to(root.resolve())):
            # Everything in it is published and readable by the PDFs: never a folder outside the theme.
            problems.append(Problem(source, doc.line_of((key,)), key, f"{value!r} must be a folder inside {prefix}"))
        pages[key] = value
    charts, chart_problems = read_chart_style(root, doc, source, prefix)
    problems += chart_problems
    if problems or charts is None:
        raise InputError(problems)
    return Theme(root, tuple(layouts), pages["landing"], pages["not_found"], root / pages["assets"], _tree_digest(root),
                 charts)


def _tree_digest(root: Path) -> str:
    """A digest of every file under a folder: names and bytes."""
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()
