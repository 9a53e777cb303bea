"""Jinja + Markdown -> HTML for one guide, and the site's fixed pages.

Section bodies are Jinja templates over the facts, rendered in a sandbox with
StrictUndefined, then Markdown without raw HTML. Every value a body prints is
escaped for Markdown (and so for HTML), so profile text stays inert data.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import traceback
from dataclasses import dataclass
from datetime import date
from typing import Any, Callable

from jinja2 import (FileSystemLoader, StrictUndefined, Template, TemplateError, TemplateNotFound,
                    TemplateSyntaxError, nodes)
from jinja2.sandbox import SandboxedEnvironment, SecurityError
from markdown_it import MarkdownIt
from markupsafe import Markup

from generator.decide.program_view import Entry
from generator.render import charts, csp
from generator.render.filters import install_filters, md_escape
from generator.render.markdown import SLOT, fill_slots, is_plain, make_markdown, render_blocks, unslot_structural
from generator.render.names import unknown_names
from generator.load.content import Content, Item, Theme
from generator.errors import InputError, Problem
from generator.decide.facts import schema as facts_schema
from generator.decide.selection import Decisions
from generator.load.strategy import Strategy

MAX_SEQUENCE = 100_000  # the longest string or list a template may build with `*`
MAX_EXPONENT = 64
GUIDE_TIME_LIMIT = 20.0  # seconds to render one guide's HTML
SHEET_PARTIAL = "partials/program-table.html"  # the theme's program table; its words also head the download


_DICT_ATTRIBUTES = frozenset(dir(dict))
_PLAIN = (dict, Entry)  # dicts whose keys are all they show (a listed program is one)


class LimitedSandbox(SandboxedEnvironment):
    """The Jinja sandbox, plus bounds on `*` and `**` so a template cannot allocate or compute without end."""

    intercepted_binops = frozenset({"*", "**"})

    def getattr(self, obj: Any, attribute: str) -> Any:
        """`facts.band.id`: a plain dict's key is returned at once. The sandbox would look for an attribute
        first and take the key after the AttributeError; for a key that is no dict attribute that is the
        same value, found without raising (templates read facts this way hundreds of times per guide)."""
        if type(obj) in _PLAIN and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except (KeyError, TypeError):
                pass
        return super().getattr(obj, attribute)

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, (int, float)) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"exponent {right!r} is too large for a template")
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(count, int) and len(seq) * count > MAX_SEQUENCE:
                    raise SecurityError(f"a template may not build sequences longer than {MAX_SEQUENCE:,}")
        return super().call_binop(context, operator, left, right)


class ConfinedLoader(FileSystemLoader):
    """A FileSystemLoader that refuses templates which are links to files outside its folder."""

    def get_source(self, environment: Any, template: str) -> tuple[str, str | None, Any]:
        source, filename, uptodate = super().get_source(environment, template)
        roots = [os.path.realpath(p) for p in self.searchpath]
        if filename and not any(os.path.realpath(filename).startswith(root + os.sep) for root in roots):
            raise TemplateNotFound(f"{template} (a link to a file outside the theme)")
        return source, filename, uptodate


class TimeLimit(Exception):
    """Rendering one guide took longer than its time limit."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Interrupt the block after `seconds` (main thread only; elsewhere no limit can be set)."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: Any) -> None:
        raise TimeLimit(f"rendering took longer than {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
@dataclass(frozen=True)
class Page:
    """Where a page sits in the site and what it links to."""

    title: str
    assets: str
    home_href: str
    for_pdf: bool = False
    pdf_href: str | None = None
    ics_href: str | None = None
    sheet_href: str | None = None  # the applicant's program list as a spreadsheet (.csv), in their guide folder
    sheet_xlsx_href: str | None = None  # the same, as an Excel workbook


class Renderer:
    """Compiles every body and theme template once; renders guides and fixed pages."""

    def __init__(self, content: Content, theme: Theme, strategy: Strategy, *, generator: str, cycle: int, as_of: date):
        self.content = content
        self.theme = theme
        self.strategy = strategy
        self.site = {"generator": generator, "cycle": cycle, "as_of": as_of}
        self.md = make_markdown()
        self._md_cache: dict[tuple[int, str], Markup] = {}
        self._block_cache: dict[int, dict[str, str]] = {}
        self._refused_links: list[str] = []
        self.md.validateLink = self._validate_link
        self._slots = threading.local()  # the plain values of the body being rendered (see _finalize)
        self._slotted: set[str] = set()
        self.body_env = LimitedSandbox(undefined=StrictUndefined, autoescape=False, finalize=self._finalize,
                                             keep_trailing_newline=True)
        install_filters(self.body_env)
        # One build, one theme: no re-checking each template file's time on every include (a stat per include).
        self.theme_env = LimitedSandbox(loader=ConfinedLoader(str(theme.root)), autoescape=True,
                                        undefined=StrictUndefined, auto_reload=False)
        install_filters(self.theme_env)
        self.bands = [{"id": b.id, "label": b.label, "min": b.min, "max": b.max} for b in strategy.bands]
        self.problems: list[Problem] = []
        self._sheet: tuple[dict[str, str], Callable[[dict], str]] | None = None
        self._facts_shape = facts_schema(strategy)  # what bodies may name
        self._bodies: dict[str, Template] = {}
        self._runaway: dict[str, Problem] = {}
        for item in content.items():
            try:
                self._bodies[item.source] = self._compile(item)
            except InputError as exc:
                self.problems.extend(exc.problems)
        self._templates: dict[str, Template] = {}
        names = [layout.template for layout in theme.layouts] + [theme.landing, theme.not_found, "sections/default.html"]
        names += [f"sections/{item.template}.html" for item in content.sections if item.template]
        for name in dict.fromkeys(names):
            try:
                self._templates[name] = self.theme_env.get_template(name)
            except TemplateSyntaxError as exc:
                self.problems.append(Problem(f"themes/{theme.root.name}/{name}", exc.lineno, None, f"template syntax error: {exc.message}"))
            except TemplateError as exc:
                wanted_by = [Problem(item.source, item.template_line, "template",
                                     f"no template {name} in themes/{theme.root.name}")
                             for item in content.sections if item.template and name == f"sections/{item.template}.html"]
                self.problems += wanted_by or [Problem(f"themes/{theme.root.name}/{name}", None, None,
                                                       f"template not found: {exc}")]

    def _compile(self, item: Item) -> Template:
        try:
            code = self.body_env.compile(item.body, item.source, item.source)
        except TemplateSyntaxError as exc:
            line = item.body_line + (exc.lineno or 1) - 1
            raise InputError(Problem(item.source, line, "body", f"template syntax error: {exc.message}")) from None
        tree = self.body_env.parse(item.body)
        unknown = unknown_names(tree, self._facts_shape, self.body_env.globals)
        if unknown:  # reported once per file and line here, not once per guide while rendering
            raise InputError([Problem(item.source, item.body_line + line - 1, "body", message)
                              for line, message in unknown])
        # Values may stand in as slots only where the output is never captured or filtered as a whole.
        if not any(tree.find_all((nodes.AssignBlock, nodes.FilterBlock, nodes.Macro, nodes.CallBlock))):
            self._slotted.add(item.source)
        return self.body_env.template_class.from_code(self.body_env, code, self.body_env.make_globals(None), None)

    def _finalize(self, value: Any) -> str:
        """Escape a printed value; while slots are collected, a plain one becomes a numbered slot instead."""
        text = md_escape(value)
        slots = getattr(self._slots, "values", None)
        if slots is None or not is_plain(text):
            return text
        slots.append(text)
        return f"\ue000{len(slots) - 1}\ue001"

    def render_body(self, item: Item, facts: dict) -> Markup:
        """One item's body: Jinja over the facts, then Markdown (cached by the Jinja output)."""
        if item.source in self._runaway:
            raise InputError(self._runaway[item.source])
        # Plain values (a score, a date) become numbered slots, so the Markdown of a body is rendered once per
        # shape and shared by every applicant with that shape; their values are filled into the HTML.
        slots: list[str] | None = [] if item.source in self._slotted else None
        text = self._render_text(item, facts, slots)
        if slots is not None and text.count("\ue000") + text.count("\ue001") != 2 * len(slots):
            slots, text = None, self._render_text(item, facts, None)  # the body itself holds our slot marks
        # Examples and FAQ entries sit one heading level deeper in the page than sections.
        shift = 0 if item.kind == "section" else 1
        if slots:
            html = self._slotted_markdown(unslot_structural(text, slots), slots, shift)
            if html is not None:
                return html
            text = fill_slots(text, slots)
        html = self._md_cache.get((shift, text))
        if html is None:
            self._refused_links.clear()
            html = Markup(self._markdown(text, shift))
            if self._refused_links:  # markdown-it shows a refused link as text; the author should hear of it
                urls = ", ".join(dict.fromkeys(self._refused_links))
                line = next((item.body_line + i for i, source in enumerate(item.body.split("\n"))
                             if any(url in source for url in self._refused_links)), item.body_line)
                raise InputError(Problem(item.source, line, "body", f"link or image URL not allowed: {urls} "
                                         "(javascript:, vbscript:, file: and non-image data: URLs are refused)"))
            self._md_cache[(shift, text)] = html
        return html

    def _render_text(self, item: Item, facts: dict, slots: list[str] | None) -> str:
        self._slots.values = slots
        try:
            return self._bodies[item.source].render(facts)
        except Exception as exc:  # a template error is the author's, located in the content file
            problem = Problem(item.source, self._error_line(exc, item), "body", _describe(exc))
            if isinstance(exc, TimeLimit):
                self._runaway[item.source] = problem  # fail the next guides at once instead of waiting again
            raise InputError(problem) from None
        finally:
            self._slots.values = None

    def _slotted_markdown(self, text: str, slots: list[str], shift: int) -> Markup | None:
        """Markdown of a body whose plain values are slots, rendered once per shape; None: render it directly."""
        if "\ue000" not in text:
            return None
        html = self._md_cache.get((shift, text))
        if html is None:
            self._refused_links.clear()
            html = Markup(self._markdown(text, shift))
            # Each slot must come out once, as it went in (a slot in a URL is percent-encoded, say): else no slots.
            if self._refused_links or SLOT.findall(html) != SLOT.findall(text):
                html = Markup()
            self._md_cache[(shift, text)] = html
        return Markup(fill_slots(html, slots)) if html else None

    def _markdown(self, text: str, shift: int) -> str:
        """Markdown to HTML one top-level block at a time, each distinct block once (render/markdown.py)."""
        refused = len(self._refused_links)

        def block_html(block: str) -> str:
            nonlocal refused
            refused = len(self._refused_links)
            return self._markdown_text(block, shift)

        cache = self._block_cache.setdefault(shift, {})
        return render_blocks(text, block_html, cache, cacheable=lambda: len(self._refused_links) == refused)

    def _markdown_text(self, text: str, shift: int) -> str:
        tokens = self.md.parse(text)
        for token in tokens if shift else ():
            if token.type in ("heading_open", "heading_close"):
                token.tag = f"h{min(int(token.tag[1]) + shift, 6)}"
        return self.md.renderer.render(tokens, self.md.options, {})

    def _validate_link(self, url: str) -> bool:
        allowed = MarkdownIt.validateLink(self.md, url)
        if not allowed:
            self._refused_links.append(url)
        return allowed

    @staticmethod
    def _error_line(exc: BaseException, item: Item) -> int | None:
        lines = [fs.lineno for fs in traceback.extract_tb(exc.__traceback__) if fs.filename == item.source]
        return item.body_line + lines[-1] - 1 if lines and lines[-1] else item.body_line

    def render_guide(self, facts: dict, selection: Decisions, page: Page, *, time_limit: float | None = None) -> str:
        """The full HTML page of one applicant's guide; a runaway template fails after `time_limit` seconds."""
        try:
            with deadline(GUIDE_TIME_LIMIT if time_limit is None else time_limit):
                return self._render_guide(facts, selection, page)
        except TimeLimit as exc:
            raise InputError(Problem(self.theme.root.as_posix(), None, None,
                                     f"{exc}; a template in the content or theme runs without end")) from None

    def _render_guide(self, facts: dict, selection: Decisions, page: Page) -> str:
        guide = {
            "facts": facts,
            "layout": selection.layout.id,
            "sections": [{"id": s.id, "title": s.title, "template": s.template, "html": self.render_body(s, facts)}
                         for s in selection.sections],
            "examples": [{"id": e.id, "title": e.title, "band": e.band, "html": self.render_body(e, facts)}
                         for e in selection.examples],
            "faq": [{"id": f.id, "question": f.title, "html": self.render_body(f, facts)} for f in selection.faq],
            "charts": {"score_scale": charts.score_scale(facts, self.bands, self.theme.charts),
                       "timeline": charts.timeline(facts, self.theme.charts)},
        }
        return self._render_page(selection.layout.template, page, guide=guide)

    def sheet_wording(self) -> tuple[dict[str, str], Callable[[dict], str]]:
        """The theme's words for the downloadable program list: column headers, and why a program is listed."""
        if self._sheet is None:
            module = self.theme_env.get_template(SHEET_PARTIAL).module
            columns = {str(k): str(v) for k, v in dict(getattr(module, "sheet_columns", {})).items()}
            said: dict[tuple, str] = {}  # the words depend on these values only: each phrase is made once

            def why(p: dict) -> str:
                key = (p["basis"], p["margin"], p["img_percent"], p["step2_typical"])
                if key not in said:
                    said[key] = " ".join(Markup(module.why(p)).striptags().split())
                return said[key]

            self._sheet = (columns, why)
        return self._sheet

    def render_fixed(self, which: str, page: Page) -> str:
        """The landing page (`landing`) or the 404 page (`not_found`): no personal data."""
        return self._render_page(getattr(self.theme, which), page)

    def _render_page(self, name: str, page: Page, **context: Any) -> str:
        if name in self._runaway:
            raise InputError(self._runaway[name])
        ctx = {"page": {**self.site, "lang": "en", **page.__dict__}, **context}
        try:
            html = self._templates[name].render(ctx)
            return html if page.for_pdf else csp.protect(html)
        except Exception as exc:
            problem = Problem(*self._theme_location(exc, name), None, _describe(exc))
            if isinstance(exc, TimeLimit):
                self._runaway[name] = problem  # as for bodies: the next guides fail at once
            raise InputError(problem) from None

    def _theme_location(self, exc: BaseException, name: str) -> tuple[str, int | None]:
        """The theme file and line an error comes from: the innermost theme template in the traceback."""
        prefix = f"themes/{self.theme.root.name}/"
        if isinstance(exc, TemplateSyntaxError) and exc.name:  # in a parent or included template
            return prefix + exc.name, exc.lineno
        root = os.path.normpath(self.theme.root) + os.sep
        frames = [fs for fs in traceback.extract_tb(exc.__traceback__) if fs.filename and fs.filename.startswith(root)]
        if not frames:
            return prefix + name, None
        return prefix + frames[-1].filename[len(root):], frames[-1].lineno


def _describe(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {message}" if not isinstance(exc, TemplateError) else message
