"""Markdown for section bodies: the renderer, value slots, and rendering block by block.

Section bodies differ between applicants mostly in a few blocks (a table row, a
list item, one paragraph); the rest of the body is the same text for everyone.
`top_level_blocks` cuts a body where CommonMark starts a new block whatever came
before it, so rendering the pieces one by one gives the same HTML as rendering
the whole, and each piece can be cached on its own.
"""

from __future__ import annotations

import re
from typing import Callable

from markdown_it import MarkdownIt
from mdit_py_plugins.container import container_plugin

CONTAINERS = ("tip", "warning", "note")

# A line that could continue what the previous block opened: a list item (or a thematic break,
# which looks like one), an indented line, or a blank line.
_CONTINUES = re.compile(r"(?:[-+*]|[0-9]{1,9}[.)])(?:[ \t]|$)|[ \t]|$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})")
_CONTAINER = re.compile(r":{3,}")
_REFERENCE = re.compile(r"(?m)^ {0,3}\[.*\]:")


# Plain values of a body rendered as numbered slots (generator/render/html.py), so one Markdown text serves
# every applicant whose body has the same shape.
SLOT = re.compile("\ue000([0-9]+)\ue001")
# A line start (inside quotes and list items) where `1.` or `1)` would open an ordered list.
_BLOCK_START = re.compile(r"[ \t>]*(?:(?:[-*+]|[0-9]{1,9}[.)])[ \t]+[ \t>]*)*")  # matched from the line's start


def is_plain(text: str) -> bool:
    """Text that Markdown shows as it is wherever it stands: no escapes, letters or digits at both ends, one line."""
    return (bool(text) and text[0].isalnum() and text[-1].isalnum() and text.isprintable() and "\\" not in text
            and "\ue000" not in text and "\ue001" not in text)


def fill_slots(text: str, slots: list[str]) -> str:
    """The text with each numbered slot replaced by its value."""
    return SLOT.sub(lambda m: slots[int(m.group(1))], text)


def unslot_structural(text: str, slots: list[str]) -> str:
    """Put back the values whose characters shape the Markdown: `3.` opening a list, `&#38;`, link references."""
    if re.search(r"(?m)^ {0,3}\[.*\]:", text):
        return fill_slots(text, slots)

    def keep(m: re.Match) -> str:
        value, before, after = slots[int(m.group(1))], text[max(0, m.start() - 1):m.start()], text[m.end():m.end() + 1]
        if before in ("&", "#") or (value[0].isdigit() and after in (".", ")")
                                    and _BLOCK_START.fullmatch(text, text.rfind("\n", 0, m.start()) + 1, m.start())):
            return value
        return m.group(0)

    return SLOT.sub(keep, text)


def make_markdown() -> MarkdownIt:
    """CommonMark without raw HTML, plus tables and tip/warning/note containers."""
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
    for name in CONTAINERS:
        md.use(container_plugin, name)
    return md


def top_level_blocks(text: str) -> list[str]:
    """Cut `text` before each line that starts a block CommonMark could not join to the one before.

    That is a line at the left edge after a blank line, outside any fenced code and any `:::`
    container, that is no list item: a paragraph, heading, table, quote or container starts afresh
    there, and every block before it has ended. A text with link reference definitions (which reach
    across the whole text) or unbalanced fences is not cut. The pieces join back into `text`.
    """
    if _REFERENCE.search(text):
        return [text]
    lines = text.split("\n")
    cuts, fence, containers, blank = [], "", 0, False
    for number, line in enumerate(lines):
        if number and blank and not fence and not containers and not _CONTINUES.match(line):
            cuts.append(number)
        opening = _FENCE.match(line)
        if fence:
            if opening and opening.group(1)[0] == fence[0] and len(opening.group(1)) >= len(fence) \
                    and not line[opening.end():].strip():
                fence = ""
        elif opening:
            fence = opening.group(1)
        elif _CONTAINER.match(line):
            containers += 1 if line.strip(":").strip() else -1
            if containers < 0:
                return [text]
        blank = not line.strip()
    if fence or containers:
        return [text]
    bounds = [0, *cuts, len(lines)]
    pieces = ["\n".join(lines[a:b]) for a, b in zip(bounds, bounds[1:])]
    return [piece + "\n" for piece in pieces[:-1]] + pieces[-1:]


def render_blocks(text: str, render: Callable[[str], str], cache: dict[str, str], *,
                  cacheable: Callable[[], bool]) -> str:
    """The HTML of `text`, rendering each top-level block once: `cache` maps a block to its HTML.

    `cacheable()` is asked right after a block is rendered; False (a refused link, say) keeps the
    block out of the cache, so the next text holding it renders it again and learns the same.
    """
    out = []
    for block in top_level_blocks(text):
        html = cache.get(block)
        if html is None:
            html = render(block)
            if cacheable():
                cache[block] = html
        out.append(html)
    return "".join(out)
