"""Markdown rendered block by block gives the same HTML as the whole text rendered at once."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmarks.cohort import AS_OF, write_cohort
from generator.build import decide
from generator.project import BuildOptions, load_cohort, load_inputs
from generator.render.markdown import make_markdown, render_blocks, top_level_blocks
from tests.conftest import ROOT

MD = make_markdown()


def blockwise(text: str) -> str:
    return "".join(MD.render(block) for block in top_level_blocks(text))


@pytest.mark.parametrize("text, pieces", [
    ("One.\n\nTwo.\n", ["One.\n\n", "Two.\n"]),
    ("- a\n\n- b\n\nAfter.", ["- a\n\n- b\n\n", "After."]),  # a loose list stays whole
    ("1. a\n\n2. b\n", ["1. a\n\n2. b\n"]),
    ("::: warning\nIn.\n\n## Inside\n:::\n\nOut.", ["::: warning\nIn.\n\n## Inside\n:::\n\n", "Out."]),
    ("```\ncode\n\n# not a heading\n```\n\nText.", ["```\ncode\n\n# not a heading\n```\n\n", "Text."]),
    ("Text.\n\n    indented code\n\nMore.", ["Text.\n\n    indented code\n\n", "More."]),
    ("See [the guide][g].\n\n[g]: https://example.org\n", ["See [the guide][g].\n\n[g]: https://example.org\n"]),
    ("::: note\nnever closed\n\nText.", ["::: note\nnever closed\n\nText."]),
    ("| a | b |\n|---|---|\n| 1 | 2 |\n\n# Head\n\n> quote\n\n> another", [
        "| a | b |\n|---|---|\n| 1 | 2 |\n\n", "# Head\n\n", "> quote\n\n", "> another"]),
])
def test_cuts_only_where_a_new_block_starts(text, pieces):
    assert top_level_blocks(text) == pieces
    assert blockwise(text) == MD.render(text)


LINES = st.sampled_from([
    "Plain text with *emphasis* and `code`.", "- item", "* star item", "1. first", "2) second", "  indented under",
    "    code line", "# Heading", "## Sub", "> quote", "| a | b |", "|---|---|", "| 1 | 2 |", "::: tip", "::: warning",
    ":::", "```", "~~~", "---", "***", "Setext", "===", "A [link](https://example.org) here.", "[ref]: https://x.org",
    "[ref] used", "", "", "",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=14))
def test_any_text_renders_the_same_block_by_block(lines):
    text = "\n".join(lines)
    assert "".join(top_level_blocks(text)) == text
    assert blockwise(text) == MD.render(text)


def test_every_body_of_the_shipped_content_renders_the_same(tmp_path):
    """The guides of 60 synthetic applicants: each section, example and FAQ body, as the build renders it."""
    write_cohort(tmp_path / "profiles", 60)
    options = BuildOptions(profiles=tmp_path / "profiles", content=ROOT / "content", theme=ROOT / "themes" / "default",
                           out=tmp_path / "out", pdf=False, as_of=AS_OF)
    inputs = load_inputs(options)
    profiles, problems = load_cohort(options, inputs)
    assert not problems and len(profiles) == 60
    renderer, seen, cut = inputs.renderer, 0, 0
    for profile in profiles:
        guide = decide(profile, inputs, b"k" * 32)
        for item in guide.selection.items():
            text = renderer._render_text(item, guide.facts, None)
            assert blockwise(text) == MD.render(text), item.source
            seen, cut = seen + 1, cut + (len(top_level_blocks(text)) > 1)
    assert seen > 600 and cut > seen / 2  # most bodies are cut, and all of them render the same


def test_a_block_with_a_refused_link_is_not_cached():
    cache: dict[str, str] = {}
    refused: list[str] = []
    before = 0

    def render(block: str) -> str:
        nonlocal before
        before = len(refused)
        if "javascript:" in block:
            refused.append(block)
        return MD.render(block)

    text = "Fine.\n\n[x](javascript:alert(1))\n"
    for _ in range(2):
        assert render_blocks(text, render, cache, cacheable=lambda: len(refused) == before) == MD.render(text)
    assert list(cache) == ["Fine.\n\n"] and len(refused) == 2  # refused again the second time
