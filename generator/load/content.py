"""Content: sections, worked examples and FAQ entries (Markdown + front matter) and the theme's layouts."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from difflib import get_close_matches
from pathlib import Path
from typing import Any

from generator.load.chart_style import ChartStyle, read_chart_style
from generator.load import yamlstrict
from generator.load.ids import ID_RE, ID_RULE
from generator.errors import InputError, Problem
from generator.decide.rules import Rule, parse_rule

TEMPLATE_RE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")

# kind -> (folder, required fields, optional fields)
KINDS = {
    "section": ("sections", ("id", "title", "order", "when"), ("template",)),
    "example": ("examples", ("id", "title", "band", "order"), ("when",)),
    "faq": ("faq", ("id", "question", "order", "when"), ()),
}
ALWAYS = "true"
# Ids the theme uses for its own parts of the page; a section with one of these would clash.
RESERVED_IDS = {"worked-examples", "faq", "main", "top", "toc-title", "contents"}
RESERVED_PREFIXES = ("example-", "faq-", "chart-")


@dataclass(frozen=True)
class Item:
    """One section, worked example or FAQ entry."""

    kind: str
    id: str
    title: str
    order: int
    rule: Rule
    body: str
    body_line: int
    source: str
    digest: str
    template: str | None = None
    band: str | None = None
    template_line: int | None = None


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
    id: str
    template: str
    rule: Rule


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


def load_content(root: Path, *, schema: dict, band_ids: list[str], source_prefix: str = "content") -> tuple[Content, list[Problem]]:
    """Load every content file under `root`; return the good items and the problems of the rest."""
    content = Content()
    problems: list[Problem] = []
    seen: dict[tuple[str, str], str] = {}
    for kind, (folder, _, _) in KINDS.items():
        items: list[Item] = getattr(content, "sections" if kind == "section" else "examples" if kind == "example" else "faq")
        for path in sorted((root / folder).glob("*.md")):
            source = f"{source_prefix}/{folder}/{path.name}"
            try:
                item = _load_item(path, kind, source, schema, band_ids)
            except InputError as exc:
                problems.extend(exc.problems)
                continue
            if (kind, item.id) in seen:
                problems.append(Problem(source, 2, "id", f"id {item.id!r} is already used by {seen[(kind, item.id)]}"))
                continue
            seen[(kind, item.id)] = source
            items.append(item)
        items.sort(key=lambda i: (i.order, i.id))
    if not content.sections and not problems:
        problems.append(Problem(f"{source_prefix}/sections", None, None, "no sections found (*.md files with front matter)"))
    return content, problems


def _load_item(path: Path, kind: str, source: str, schema: dict, band_ids: list[str]) -> Item:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(Problem(source, None, None, f"cannot read the file: {exc.strerror or exc}")) from None
    doc, body, body_line = yamlstrict.split_front_matter(raw, source)  # bad UTF-8 and NUL bytes: located errors
    data = doc.data if isinstance(doc.data, dict) else {}
    _, required, optional = KINDS[kind]
    problems = []

    def where(key: str) -> int | None:
        return doc.line_of((key,))

    for key in data:
        if key not in required + optional:
            near = get_close_matches(str(key), required + optional, n=1)
            hint = f"; did you mean {near[0]!r}?" if near else f"; expected {', '.join(required + optional)}"
            problems.append(Problem(source, where(key), str(key), f"unknown field{hint}"))
    for key in required:
        if key not in data and not (key == "when" and kind == "example"):
            problems.append(Problem(source, 1, key, "is required"))
    values: dict[str, Any] = {}
    for key in required + optional:
        if key not in data:
            continue
        value = data[key]
        if key == "order":
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(Problem(source, where(key), key, f"expected an integer, got {value!r}"))
        elif key == "when":
            try:
                value = parse_rule(value, schema=schema, source=source, line=_value_line(raw, where(key)))
            except InputError as exc:
                problems.extend(exc.problems)
        elif not isinstance(value, str) or not value.strip():
            problems.append(Problem(source, where(key), key, f"expected text, got {value!r}"))
        elif key == "id" and not ID_RE.match(value):
            problems.append(Problem(source, where(key), key, f"expected {ID_RULE}, got {value!r}"))
        elif key == "id" and kind == "section" and (value in RESERVED_IDS or value.startswith(RESERVED_PREFIXES)):
            problems.append(Problem(source, where(key), key, f"{value!r} is used by the theme for its own page parts; "
                                                            "choose another id"))
        elif key == "band" and value not in band_ids:
            problems.append(Problem(source, where(key), key, f"expected one of {', '.join(band_ids)}, got {value!r}"))
        elif key == "template" and not TEMPLATE_RE.match(value):
            problems.append(Problem(source, where(key), key, f"expected a template name such as 'glance', got {value!r}"))
        values[key] = value
    if problems:
        raise InputError(problems)
    rule = values.get("when") or parse_rule(ALWAYS, schema=schema, source=source, line=None)
    return Item(
        kind=kind,
        id=values["id"],
        title=values.get("title") or values.get("question"),
        order=values["order"],
        rule=rule,
        body=body,
        body_line=body_line,
        source=source,
        digest=hashlib.sha256(raw).hexdigest(),
        template=values.get("template"),
        band=values.get("band"),
        template_line=where("template") if "template" in values else None,
    )


_BLOCK_SCALAR = re.compile(rb":[ \t]*[|>][-+0-9]*[ \t]*(?:#.*)?\r?$")


def _value_line(raw: bytes, line: int | None) -> int | None:
    """The line a value's text starts on: for a block scalar (`when: |`), the line after its key."""
    lines = raw.split(b"\n")
    return line + 1 if line and line <= len(lines) and _BLOCK_SCALAR.search(lines[line - 1]) else line


def load_theme(root: Path, *, schema: dict, source_prefix: str | None = None) -> Theme:
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
        try:
            rule = parse_rule(entry["when"], schema=schema, source=source, line=doc.line_of(("layouts", i, "when")))
        except InputError as exc:
            problems.extend(exc.problems)
            continue
        if not (root / entry["template"]).is_file():
            problems.append(Problem(source, doc.line_of(("layouts", i, "template")), f"layouts[{i}].template",
                                    f"template {entry['template']!r} not found in {prefix}"))
            continue
        layouts.append(Layout(entry["id"], entry["template"], rule))
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
