"""Property tests: for any input, the loaders return a value or raise InputError, quickly."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from generator.errors import InputError
from generator.load.profiles import Profile, load_profile
from generator.load.yamlstrict import Document, load, split_front_matter

FUZZ = settings(max_examples=200, deadline=dt.timedelta(seconds=1), suppress_health_check=[HealthCheck.too_slow])

# Pieces of YAML that trip parsers and resolvers, spliced into otherwise valid text.
TOKENS = [
    "no", "yes", "off", "0238", "12:30:00", "0x1F", ".inf", ".nan", "2027-02-30", "2027-05-20 10:00:00",
    "&a ", "*a", "!!python/object/apply:os.system ['ls']", "!!str ", "!x ", "---\n", "...\n", "? ", ": ", "- ",
    "[", "]", "{", "}", ",", "'", '"', "|", ">", "#", "\t", "\n", "  ", "<<: ", "%YAML 1.1\n", "%TAG ! x\n",
    "\x00", "\x85", "\ufeff", "\r", "é", "\U0001F600", "~", "null", "1e999", "-", "key: value\n", "a:\n  - b\n",
]  # fmt: skip

LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
words = st.text(LETTERS, min_size=3, max_size=10).filter(lambda w: w.lower() not in {"yes", "off"})
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2200, 12, 31)),
    st.lists(words, min_size=1, max_size=3).map(" ".join),
)
trees = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(words, children, max_size=4)),
    max_leaves=12,
)
documents = st.dictionaries(words, trees, min_size=1, max_size=6)
flow_styles = st.sampled_from([False, True, None])


def dump(data: Any, flow: bool | None) -> str:
    return yaml.safe_dump(data, default_flow_style=flow, sort_keys=False, allow_unicode=True)


@st.composite
def mutated(draw: st.DrawFn, source: st.SearchStrategy[str]) -> str:
    """Text from `source` with a few random insertions, deletions and replacements."""
    text = draw(source)
    for _ in range(draw(st.integers(0, 4))):
        position = draw(st.integers(0, len(text)))
        piece = draw(st.one_of(st.sampled_from(TOKENS), st.text(max_size=3)))
        operation = draw(st.sampled_from(["insert", "delete", "replace"]))
        if operation == "insert":
            text = text[:position] + piece + text[position:]
        elif operation == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 5)) :]
        else:
            text = text[:position] + piece + text[position + len(piece) :]
    return text


def check_document(document: Document) -> None:
    """A loaded document holds only plain values, and every recorded line belongs to a real path."""
    assert isinstance(document.data, dict)

    def walk(value: Any) -> None:
        assert value is None or isinstance(value, (bool, int, float, str, dt.date, list, dict)), type(value)
        assert not isinstance(value, dt.datetime)
        if isinstance(value, dict):
            assert all(isinstance(key, str) for key in value)
            for child in value.values():
                walk(child)
        elif isinstance(value, list):
            for child in value:
                walk(child)

    walk(document.data)
    for path, line in document.lines.items():
        assert isinstance(line, int) and line >= 1
        node = document.data
        for part in path:
            node = node[part]


def load_or_input_error(text: str | bytes) -> Document | None:
    try:
        document = load(text, "fuzz.yaml")
    except InputError as error:
        assert error.problems and all(problem.source == "fuzz.yaml" for problem in error.problems)
        event("rejected")
        return None
    event("loaded")
    check_document(document)
    return document


@FUZZ
@given(st.binary(max_size=2000))
def test_load_random_bytes(data: bytes) -> None:
    load_or_input_error(data)


@FUZZ
@given(st.text(max_size=1000))
def test_load_random_text(text: str) -> None:
    load_or_input_error(text)


@FUZZ
@given(documents, flow_styles)
def test_plain_documents_round_trip(data: dict, flow: bool | None) -> None:
    document = load_or_input_error(dump(data, flow))
    assert document is not None and document.data == data


@FUZZ
@given(mutated(st.builds(dump, documents, flow_styles)))
def test_load_mutated_yaml(text: str) -> None:
    load_or_input_error(text)
    load_or_input_error(text.encode("utf-8", "surrogatepass"))


@FUZZ
@given(mutated(st.builds(lambda d, f, body: "---\n" + dump(d, f) + "---\n" + body, documents, flow_styles, st.text(max_size=50))))
def test_split_front_matter_mutated(text: str) -> None:
    try:
        document, body, line = split_front_matter(text, "fuzz.md")
    except InputError:
        return
    check_document(document)
    assert line >= 3 and isinstance(body, str)


# --- profiles --------------------------------------------------------------------

BASE = {
    "name": "Aisha Rahman",
    "email": "aisha.rahman@example.org",
    "graduation_year": 2020,
    "step1": {"result": "pass", "attempts": 1},
    "step2_ck": {
        "result": "pending",
        "exam_date": dt.date(2027, 5, 20),
        "practice": [{"date": dt.date(2027, 3, 1), "name": "NBME 13", "score": 224}],
        "qbank_percent": 61,
    },
    "visa": "j1",
    "usce_months": 4,
}
FIELDS = ["name", "email", "graduation_year", "step1", "id", "cycle", "step2_ck", "visa", "in_medical_school",
          "usce_months", "us_lors", "research_items", "target", "oet_passed", "ecfmg_certified", "advisor", "notes",
          "step2ck", "graduation-year", "result", "score", "attempts", "exam_date", "practice", "date"]  # fmt: skip
field_values = st.one_of(
    scalars,
    st.sampled_from(["pass", "fail", "pending", "j1", "h1b", "none", "community", "a@example.org", "x\ny", "aisha-rahman"]),
    st.integers(-5, 320),
    trees,
)


@st.composite
def profile_data(draw: st.DrawFn) -> dict:
    """The base profile with fields (also nested ones) set, removed or added at random."""
    data = yaml.safe_load(yaml.safe_dump(BASE))  # a deep copy
    for _ in range(draw(st.integers(0, 5))):
        target = draw(st.sampled_from([data, data.get("step1"), data.get("step2_ck")]))
        if not isinstance(target, dict):
            continue
        key = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()):
            target[key] = draw(field_values)
        else:
            target.pop(key, None)
    return data


def check_profile(profile: Profile) -> None:
    assert 1 <= len(profile.name) <= 120 and "@" in profile.email
    assert 1950 <= profile.graduation_year <= profile.cycle + 1
    assert profile.step1.result in ("pass", "fail", "pending") and 0 <= profile.step1.attempts <= 6
    step2 = profile.step2_ck
    if step2 is not None:
        assert step2.score is None or 1 <= step2.score <= 300
        assert step2.result != "pass" or step2.score is not None
        assert all(1 <= exam.score <= 300 for exam in step2.practice)
    assert len(profile.digest) == 64


@FUZZ
@given(profile_data(), flow_styles, st.booleans(), st.data())
def test_load_profile_never_crashes(data: dict, flow: bool | None, mutate: bool, draw: st.DataObject) -> None:
    text = dump(data, flow)
    if mutate:
        text = draw.draw(mutated(st.just(text)))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "aisha-rahman.yaml"
        path.write_bytes(text.encode("utf-8", "surrogatepass"))
        try:
            profile = load_profile(
                path,
                source="profiles/aisha-rahman.yaml",
                default_cycle=2027,
                passing_standard=lambda on: 218 if on >= dt.date(2025, 7, 1) else 214,
                as_of=dt.date(2026, 11, 25),
            )
        except InputError as error:
            assert error.problems and all(p.source == "profiles/aisha-rahman.yaml" for p in error.problems)
            event("rejected")
            return
    event("loaded")
    check_profile(profile)
