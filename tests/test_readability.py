"""The shipped guide's prose stays plain: Flesch-Kincaid grade limits over content/."""

from __future__ import annotations

from pathlib import Path

try:  # tests/ as a package
    from tests import readability
except ImportError:  # tests/ without __init__.py: pytest puts tests/ itself on sys.path
    import readability  # textstat's wheel ships a top-level `tests` package that shadows ours

CONTENT = Path(__file__).resolve().parent.parent / "content"

HARD = (
    "Notwithstanding considerable institutional heterogeneity, internal medicine residency "
    "programs systematically prioritize standardized examination performance, particularly "
    "among internationally educated applicants whose undergraduate medical institutions remain "
    "comparatively unfamiliar to selection committees evaluating applications."
)


def test_guide_prose_is_plain() -> None:
    scores = readability.score_tree(CONTENT)
    print()
    print(readability.report(scores, CONTENT))
    assert len(scores) >= 20, "expected the shipped sections, examples and FAQ under content/"
    assert readability.problems(scores) == []
    assert readability.weighted_grade(scores) <= readability.MAX_MEAN_GRADE
    assert all(s.grade <= readability.MAX_FILE_GRADE for s in scores)


def test_every_content_file_has_prose() -> None:
    for score in readability.score_tree(CONTENT):
        assert score.words >= 40, f"{score.path}: only {score.words} words of prose found"


def test_prose_strips_front_matter_jinja_and_markdown() -> None:
    text = (
        "---\nid: x\ntitle: Your plan\norder: 1\nwhen: \"true\"\n---\n"
        "### Key dates\n\n"
        "{% if plan.available %}- **Start:** {{ plan.start | date }}\n{% endif %}"
        "- ERAS opens on {{ dates.eras | date }}\n\n"
        "| Band | Score |\n|---|---|\n| {% if band.id == 'top' %}**Top ← you**{% else %}Top{% endif %} | 250 or more |\n\n"
        "::: warning\nYou have no [USCE](https://example.org) yet.\nStart soon.\n:::\n"
        "{# a note for authors #}\n"
    )
    meta, body = readability.split_front_matter(text)
    assert meta["title"] == "Your plan"
    assert readability.prose(body).splitlines() == [
        "Key dates.",
        "Start: it.",
        "ERAS opens on it.",
        "Band.",
        "Score.",
        "Top ← youTop.",
        "250 or more.",
        "You have no USCE yet. Start soon.",
    ]


def test_hard_prose_breaks_the_limits(tmp_path: Path) -> None:
    (tmp_path / "sections").mkdir()
    (tmp_path / "sections" / "10-hard.md").write_text(
        f"---\nid: hard\ntitle: Hard\norder: 10\nwhen: \"true\"\n---\n{HARD}\n", encoding="utf-8"
    )
    (tmp_path / "faq").mkdir()
    (tmp_path / "faq" / "easy.md").write_text(
        "---\nid: easy\nquestion: Is it easy?\norder: 1\nwhen: \"true\"\n---\nYes. It is. You can do it.\n",
        encoding="utf-8",
    )
    scores = readability.score_tree(tmp_path)
    assert [s.path.name for s in scores] == ["10-hard.md", "easy.md"]
    hard, easy = scores
    assert hard.grade > readability.MAX_FILE_GRADE
    assert easy.grade < 3
    found = readability.problems(scores)
    assert any("10-hard.md" in p for p in found)
    assert any("word-weighted" in p for p in found)


def test_main_reports_and_exits_non_zero_on_hard_prose(tmp_path: Path, capsys) -> None:
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "hard.md").write_text(
        f"---\nid: hard\ntitle: Hard\nband: top\norder: 1\n---\n{HARD}\n", encoding="utf-8"
    )
    assert readability.main([str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "examples/hard.md" in out.out
    assert "word-weighted mean" in out.out
    assert "above" in out.err
    assert readability.main([str(CONTENT)]) == 0
