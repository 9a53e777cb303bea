"""The strict YAML loader: our scalar rules, every YAML trap, line marks and front matter."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from generator.load import yamlstrict
from generator.errors import InputError
from generator.load.yamlstrict import Document, format_path, load, parse, split_front_matter


@pytest.fixture(autouse=True, params=["libyaml", "pure-python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run every test with the C loader and with PyYAML's pure-Python fallback."""
    if request.param == "pure-python":
        monkeypatch.setattr(yamlstrict, "_LOADER", yaml.SafeLoader)
    elif not hasattr(yaml, "CSafeLoader"):
        pytest.skip("PyYAML was built without libyaml")


def problems(text: str | bytes, **kwargs) -> list[str]:
    with pytest.raises(InputError) as caught:
        load(text, "t.yaml", **kwargs)
    return [str(problem) for problem in caught.value.problems]


def only_problem(text: str | bytes, **kwargs) -> str:
    found = problems(text, **kwargs)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("plain", "value"),
    [
        ("true", True), ("True", True), ("TRUE", True), ("false", False), ("False", False), ("FALSE", False),
        ("null", None), ("Null", None), ("NULL", None), ("~", None), ("", None),
        ("0", 0), ("7", 7), ("-3", -3), ("+12", 12), ("238", 238),
        ("1.5", 1.5), ("-0.25", -0.25), (".5", 0.5), ("1e3", 1000.0), ("6.02E+2", 602.0), ("0.0", 0.0),
        ("2027-05-20", dt.date(2027, 5, 20)), ("2024-02-29", dt.date(2024, 2, 29)),
        ("June 2027", "June 2027"), ("NBME 13", "NBME 13"), ("trueish", "trueish"), ("1_000", "1_000"),
        ("2027-5-20", "2027-5-20"), ("nope", "nope"), ("yesterday", "yesterday"), ("=", "="),
    ],
)  # fmt: skip
def test_plain_scalars_follow_our_rules(plain: str, value: object) -> None:
    data = load(f"key: {plain}\n", "t.yaml").data
    assert data == {"key": value}
    assert type(data["key"]) is type(value)


@pytest.mark.parametrize("quoted", ["'no'", '"0238"', "'12:30:00'", '"true"', "'~'", '"2027-05-20"', "'0x1F'", '".inf"'])
def test_quoted_scalars_are_always_text(quoted: str) -> None:
    assert load(f"key: {quoted}\n", "t.yaml").data == {"key": quoted[1:-1]}


def test_block_scalars_are_text() -> None:
    assert load("notes: |\n  no\n  0238\n", "t.yaml").data == {"notes": "no\n0238\n"}


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "y", "n", "Yes", "NO", "On", "OFF", "Y", "N", "yEs", "oFf"])
def test_yaml11_booleans_are_errors(word: str) -> None:
    assert only_problem(f"a: 1\nflag: {word}\n").startswith(f"t.yaml:2: flag: '{word}' is ambiguous in YAML")


def test_no_says_what_to_write_instead() -> None:
    message = only_problem("visa: no\n")
    assert "write false, or quote it" in message


@pytest.mark.parametrize("number", ["0238", "00", "-017", "+0755", "0238.5"])
def test_leading_zero_numbers_are_errors(number: str) -> None:
    assert f"'{number}' has a leading zero" in only_problem(f"score: {number}\n")


@pytest.mark.parametrize("value", ["12:30:00", "12:30", "1:20:30.5", "-3:15"])
def test_base_60_numbers_are_errors(value: str) -> None:
    assert "base-60" in only_problem(f"time: {value}\n")


@pytest.mark.parametrize("value", ["0x1F", "0o17", "0b101", "-0xff"])
def test_other_bases_are_errors(value: str) -> None:
    assert "not a decimal number" in only_problem(f"num: {value}\n")


@pytest.mark.parametrize("value", [".inf", "-.inf", "+.INF", ".Inf", ".nan", ".NaN", ".NAN"])
def test_infinity_and_nan_are_errors(value: str) -> None:
    assert "not a finite number" in only_problem(f"num: {value}\n")


@pytest.mark.parametrize("value", ["1e999", "-1e400", "9" * 150])
def test_numbers_too_large_are_errors(value: str) -> None:
    assert "too large" in only_problem(f"num: {value}\n")


@pytest.mark.parametrize("value", ["2027-05-20 10:00:00", "2027-05-20T10:00:00Z", "2027-05-20t10:00:00.5+02:00", "2027-5-2 9:30"])
def test_timestamps_with_a_time_are_errors(value: str) -> None:
    assert "date with a time of day" in only_problem(f"when: {value}\n")


@pytest.mark.parametrize("value", ["2027-02-30", "2026-02-29", "2027-13-01", "2027-00-10"])
def test_impossible_dates_are_errors(value: str) -> None:
    assert only_problem(f"when: {value}\n") == f"t.yaml:1: when: '{value}' is not a real date (YYYY-MM-DD)"


def test_duplicate_keys_name_both_lines() -> None:
    assert only_problem("a: 1\nb: 2\na: 3\n") == "t.yaml:3: a: duplicate key 'a' (on line 1 and line 3)"


def test_duplicate_nested_keys_name_the_path() -> None:
    text = "step2_ck:\n  practice:\n    - date: 2027-01-01\n      score: 220\n      score: 230\n"
    assert only_problem(text) == "t.yaml:5: step2_ck.practice[0].score: duplicate key 'score' (on line 4 and line 5)"


def test_duplicate_keys_in_flow_mappings() -> None:
    assert "duplicate key 'p' (twice on line 1)" in only_problem("m: {p: 1, p: 2}\n")


@pytest.mark.parametrize("key", ["1", "true", "null", "2027-01-01", "1.5"])
def test_keys_must_be_text(key: str) -> None:
    assert "is not text" in only_problem(f"{key}: x\n")


def test_quoted_number_keys_are_text() -> None:
    assert load("'1': x\n", "t.yaml").data == {"1": "x"}


@pytest.mark.parametrize("text", ["? [a, b]\n: 1\n", "[a]: 1\n", "{a: 1}: 2\n", "? - a\n  - b\n: c\n"])
def test_complex_keys_are_errors(text: str) -> None:
    assert "a key must be plain text" in only_problem(text)


def test_merge_keys_are_errors() -> None:
    assert "merge keys" in only_problem("<<: {a: 1}\n")


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("a: !!python/object:os.system x\n", "!!python/object:os.system"),
        ("a: !!python/object/apply:os.system ['ls']\n", "!!python/object/apply:os.system"),
        ("a: !!str 5\n", "!!str"),
        ("a: !foo {b: 1}\n", "!foo"),
        ("a: ! x\n", "'!'"),
        ("a: !!binary aGVsbG8=\n", "!!binary"),
        ("--- !!map\na: 1\n", "!!map"),
    ],
)
def test_explicit_tags_are_errors(text: str, tag: str) -> None:
    message = only_problem(text)
    assert "explicit tags" in message and tag in message


def test_anchors_and_aliases_are_errors() -> None:
    found = problems("a: &x 1\nb: *x\n")
    assert found == [
        "t.yaml:1: a: anchors ('&x') are not allowed; write each value out in full",
        "t.yaml:2: b: aliases ('*name') are not allowed; write the value out in full",
    ]


def test_alias_bomb_is_rejected_quickly() -> None:
    lines = ["a: &a ['lol','lol','lol','lol','lol','lol','lol','lol','lol']"]
    lines += [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
    found = problems("\n".join(lines) + "\n")
    assert any("aliases" in message for message in found)


def test_every_problem_of_a_document_is_reported() -> None:
    found = problems("visa: no\nscore: 0238\nname: !!str x\nname: y\n")
    assert [message.split(":")[1] for message in found] == ["1", "2", "3", "4"]


def test_problems_are_capped() -> None:
    found = problems("{" + "a: 1, " * 1000 + "}\n")
    assert len(found) == 51 and found[-1] == "t.yaml:1: stopped reading after 50 problems"


def test_depth_limit() -> None:
    nested = "a: " + "[" * 32 + "]" * 32 + "\n"  # the root mapping plus 32 lists = 33 levels
    assert "nesting is deeper than 32 levels" in only_problem(nested)
    deepest = load("a: " + "[" * 31 + "]" * 31 + "\n", "t.yaml").data["a"]
    for _ in range(30):
        assert isinstance(deepest, list) and len(deepest) == 1
        deepest = deepest[0]
    assert deepest == []
    assert only_problem("a: [[[]]]\n", max_depth=3).endswith("nesting is deeper than 3 levels")
    load("a: [[]]\n", "t.yaml", max_depth=3)


def test_very_deep_nesting_is_an_input_error_not_a_crash() -> None:
    assert "nesting" in only_problem("[" * 100_000 + "]" * 100_000)  # libyaml may stop it before we do
    assert "nesting is deeper" in only_problem("a:\n" + "".join("  " * i + "- \n" for i in range(1, 60)))


def test_size_limit() -> None:
    text = "a: 1\n" + "# padding\n" * 30_000
    assert only_problem(text) == "t.yaml: file is larger than 256 KB (293 KB)"
    assert load("a: 1\n", "t.yaml", max_bytes=5).data == {"a": 1}
    assert only_problem("a: 1\n", max_bytes=4) == "t.yaml: file is larger than 4 bytes (5 bytes)"


def test_non_utf8_bytes_name_the_line() -> None:
    assert only_problem(b"a: 1\nb: caf\xe9\n") == "t.yaml:2: not valid UTF-8 text (byte 0xe9); save the file as UTF-8"


def test_utf8_bytes_and_bom_and_crlf_are_fine() -> None:
    document = load("\ufeffname: Tomás\r\nvisa: j1\r\n".encode(), "t.yaml")
    assert document.data == {"name": "Tomás", "visa": "j1"}
    assert document.lines[("visa",)] == 2


def test_binary_input_is_rejected() -> None:
    assert "NUL byte" in only_problem(b"a: 1\nb: \x00\x01\x02\n")
    assert "t.yaml:1:" in only_problem(b"\x89PNG\r\n\x1a\n\x00\x00")
    assert "U+0007" in only_problem("a: b\x07\n")
    assert "lone surrogate" in only_problem("a: \ud800\n")


def test_multiple_documents_are_an_error() -> None:
    assert only_problem("a: 1\n---\nb: 2\n") == "t.yaml:2: a file may hold only one YAML document; found a second '---'"


def test_a_single_explicit_document_is_fine() -> None:
    assert load("---\na: 1\n...\n", "t.yaml").data == {"a": 1}


@pytest.mark.parametrize(
    ("text", "found"),
    [("", "nothing"), ("# only a comment\n", "nothing"), ("- a\n- b\n", "a list"), ("just text\n", "a single value"), ("~\n", "nothing")],
)
def test_top_level_must_be_a_mapping(text: str, found: str) -> None:
    assert only_problem(text).endswith(f"expected a mapping of 'key: value' lines at the top level, found {found}")


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: 1\nb: [1, 2\nc: 3\n", 3), ("a: b: c\n", 1), ("a: 1\n  b: 2\n", 2), ("a: 'open\n", 2), ("a: 1\n\tb: 2\n", 2), ("%YAML 2.0\n---\na: 1\n", 1)],
)
def test_syntax_errors_carry_the_line(text: str, line: int) -> None:
    message = only_problem(text)
    assert message.startswith(f"t.yaml:{line}: invalid YAML:"), message


def test_lines_of_every_path() -> None:
    text = (
        "# comment\n"
        "name: Aisha\n"
        "step2_ck:\n"
        "  score: 238\n"
        "  practice:\n"
        "    - date: 2027-03-01\n"
        "      score: 224\n"
        "    - {date: 2027-04-01, score: 230}\n"
        "notes: |\n"
        "  text\n"
    )
    document = load(text, "t.yaml")
    assert document.lines[("name",)] == 2
    assert document.lines[("step2_ck",)] == 3
    assert document.lines[("step2_ck", "score")] == 4
    assert document.lines[("step2_ck", "practice", 0)] == 6
    assert document.lines[("step2_ck", "practice", 0, "score")] == 7
    assert document.lines[("step2_ck", "practice", 1, "score")] == 8
    assert document.lines[("notes",)] == 9
    assert document.line_of(("step2_ck", "practice", 1, "name")) == 8
    assert document.line_of(("step2_ck", "missing", "deeper")) == 3
    assert document.line_of(("nothing",)) == 2  # the root mapping starts at its first key


def test_line_of_without_any_line() -> None:
    assert Document({}, {}, "x").line_of(("a",)) is None


def test_format_path() -> None:
    assert format_path(("step2_ck", "practice", 0, "score")) == "step2_ck.practice[0].score"
    assert format_path(("name",)) == "name"
    assert format_path(()) is None


def test_parse_keeps_the_document_when_only_values_are_bad() -> None:
    document, found = parse("visa: no\nname: Aisha\nname: Other\n", "t.yaml")
    assert document is not None and document.data["name"] == "Aisha"
    assert ("visa",) in document.bad
    assert len(found) == 2


def test_parse_drops_the_document_on_syntax_errors() -> None:
    document, found = parse("a: [\n", "t.yaml")
    assert document is None and len(found) == 1


# --- front matter -------------------------------------------------------------


def test_front_matter_lines_are_relative_to_the_file() -> None:
    text = "---\ntitle: Timing\nwhen: \"band.id == 'low'\"\norder: 3\n---\n# Body\n\nText.\n"
    document, body, body_line = split_front_matter(text, "content/sections/timing.md")
    assert document.data == {"title": "Timing", "when": "band.id == 'low'", "order": 3}
    assert document.lines[("title",)] == 2 and document.lines[("order",)] == 4
    assert body == "# Body\n\nText.\n"
    assert body_line == 6
    assert body.split("\n")[0] == text.split("\n")[body_line - 1]


def test_front_matter_errors_carry_file_lines() -> None:
    with pytest.raises(InputError) as caught:
        split_front_matter("---\ntitle: x\norder: 0238\n---\nbody\n", "s.md")
    assert str(caught.value) == "s.md:3: order: '0238' has a leading zero, which older YAML reads as an octal number; drop the zero, or quote it if you mean the text"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("# Title\n", "s.md:1: missing front matter: the file must start with a '---' line"),
        ("", "s.md:1: missing front matter: the file must start with a '---' line"),
        ("---\ntitle: x\nbody\n", "s.md:1: front matter opened on line 1 is never closed by a '---' line"),
        ("---\n- a\n---\nbody\n", "s.md:2: expected a mapping of 'key: value' lines at the top level, found a list"),
    ],
)
def test_front_matter_missing_or_unterminated(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        split_front_matter(text, "s.md")
    assert str(caught.value) == message


def test_empty_front_matter_is_an_empty_mapping() -> None:
    document, body, body_line = split_front_matter("---\n---\nbody", "s.md")
    assert (document.data, body, body_line) == ({}, "body", 3)


def test_front_matter_accepts_bytes_and_crlf() -> None:
    document, body, body_line = split_front_matter(b"---\r\ntitle: x\r\n---\r\nbody\r\n", "s.md")
    assert (document.data, body, body_line) == ({"title": "x"}, "body\n", 4)


def test_front_matter_with_a_later_rule_line_in_the_body() -> None:
    document, body, _ = split_front_matter("---\na: 1\n---\ntext\n---\nmore\n", "s.md")
    assert document.data == {"a": 1} and body == "text\n---\nmore\n"
