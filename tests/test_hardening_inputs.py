"""Hardening, the input side: no code runs from input, every error names its place, the loaders are total.

Each case builds a small real project (tests/payloads.py: the golden mini site and
the default theme) in a temporary folder, with the current folder set to it so
errors show the project-relative paths an advisor sees.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator.decide import facts as facts_mod
from generator.load.content import load_content, load_theme
from generator.errors import InputError, MatchguideError
from generator.decide.rules import parse_rule
from generator.decide.selection import compile_rules
from generator.load.strategy import load_strategy
from tests.conftest import make_profile
from tests.payloads import MINI, ROOT, Project, profile_yaml, quoted

DOC = ROOT / "docs" / "bad-inputs.md"
FUZZ = settings(max_examples=120, deadline=dt.timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    site = Project(tmp_path / "site")
    monkeypatch.chdir(site.root)
    return site


def problems(site: Project, **options) -> list[str]:
    """Every problem a build reports, whether it stopped the build or only some guides."""
    try:
        result = site.build(**options)
    except MatchguideError as exc:
        return [str(p) for p in exc.problems]
    return [str(p) for p in result.problems]


def section(when: str = '"true"', body: str = "Body text.\n", extra: str = "") -> str:
    """A section file: front matter on lines 1-6 (`when` on line 5, `extra` after it), body from line 7."""
    return f"---\nid: probe\ntitle: Probe\norder: 50\nwhen: {when}\n{extra}---\n{body}"


def assert_located(found: list[str], where: str, fragment: str) -> None:
    """One problem starts with `where` (`path:line: field:`) and contains `fragment`."""
    assert any(p.startswith(where) and fragment in p for p in found), f"no {where!r} ... {fragment!r} in {found}"


# --- 1. No code runs from input --------------------------------------------------------------------------------

THEME_YAML = (ROOT / "themes" / "default" / "theme.yaml").read_text()
STRATEGY_TEXT = (MINI / "content" / "data" / "strategy.yaml").read_text()
MARKER = "code-ran.txt"
TAGS = [
    f"!!python/object/apply:os.system ['touch {MARKER}']",
    f"!!python/object/apply:subprocess.check_output [['touch', '{MARKER}']]",
    f"!!python/object/new:os.system ['touch {MARKER}']",
    "!!python/name:os.system",
]


@pytest.mark.parametrize("where", ["profile", "front-matter", "theme", "strategy"])
def test_yaml_tags_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    for i, tag in enumerate(TAGS):
        project = Project(tmp_path / f"site-{i}")
        monkeypatch.chdir(project.root)
        if where == "profile":
            project.write("profiles/tagged.yaml", profile_yaml().replace('"Test Applicant"', tag))
            located = "profiles/tagged.yaml:1: name: explicit tags"
        elif where == "front-matter":
            project.write("content/sections/50-probe.md", section(when=tag))
            located = "content/sections/50-probe.md:5: when: explicit tags"
        elif where == "theme":
            text = THEME_YAML.replace("landing: landing.html", f"landing: {tag}")
            project.write("themes/default/theme.yaml", text)
            located = f"themes/default/theme.yaml:{text.splitlines().index(f'landing: {tag}') + 1}: landing: explicit tags"
        else:
            text = STRATEGY_TEXT.replace("long_gap_years: 5", f"long_gap_years: {tag}")
            project.write("content/data/strategy.yaml", text)
            line = next(n for n, content in enumerate(text.splitlines(), 1) if "long_gap_years" in content)
            located = f"content/data/strategy.yaml:{line}: modifiers.long_gap_years: explicit tags"
        assert_located(problems(project), located, "not allowed")
        assert not (project.root / MARKER).exists()


RULES_WITH_CODE = {
    "attribute": ("name.__class__ == 'x'", "unknown fact 'name.__class__'"),
    "dunder-chain": ("step2.__class__.__mro__ == 1", "unknown fact 'step2.__class__'"),
    "item-dunder": ("step2['__class__'] == 1", "unknown fact 'step2.__class__'"),
    "method-call": ("name.upper() == 'X'", "calls are not allowed"),
    "global-call": ("range(10) == 1", "calls are not allowed"),
    "filter": ("name|length > 3", "filters are not allowed"),
    "test": ("name is defined", "tests (`is ...`) are not allowed"),
    "arithmetic": ("step2.score + 1 > 240", "`Add` expressions are not allowed"),
    "concat": ("name ~ 'x' == 'y'", "`Concat` expressions are not allowed"),
    "conditional": ("true if name else false", "`CondExpr` expressions are not allowed"),
    "dynamic-item": ("bands[cycle] == 1", "only fact names"),
    "slice": ("name[0:2] == 'ab'", "only fact names"),
    "not-boolean": ("step2.score", "must be a comparison"),
    "not-of-text": ("not band.id", "must be a comparison"),
    "order-text-number": ("band.id < 5", "cannot order text against a number"),
    "order-date-text": ("dates.exam > '2027-01-01'", "cannot order a date against text"),
    "unknown-fact": ("band.idd == 'low'", "unknown fact 'band.idd'"),
    "syntax": ("band.id ==", "syntax error"),
    "template-tags": ("{{ band.id }} == 'low'", "syntax error"),
}


@pytest.mark.parametrize("case", list(RULES_WITH_CODE))
def test_rules_reject_code_with_the_file_line(project: Project, case: str) -> None:
    rule, fragment = RULES_WITH_CODE[case]
    project.write("content/sections/50-probe.md", section(when=quoted(rule)))
    assert_located(problems(project), "content/sections/50-probe.md:5: when: ", fragment)


@pytest.mark.parametrize("block, line", [("|", 7), ("|-", 7), (">", 6)], ids=["literal", "literal-strip", "folded"])
def test_a_multiline_rule_error_names_the_line_in_the_file(project: Project, block: str, line: int) -> None:
    # Lines: 5 `when: |`, 6 the rule's first line, 7 its second line (where the call is).
    project.write("content/sections/50-probe.md", section(when=f"{block}\n  band.id == 'low' or\n  foo(1)"))
    assert_located(problems(project), f"content/sections/50-probe.md:{line}: when: ", "calls are not allowed")


BODIES_WITH_CODE = {  # the body line, and what the sandbox says
    "mro": ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "attribute '__class__' of 'str' object is unsafe"),
    "cycler-globals": (f"{{{{ cycler.__init__.__globals__.os.system('touch {MARKER}') }}}}",
                       "'__init__' of 'type' object is unsafe"),
    "lipsum-globals": (f"{{{{ lipsum.__globals__['os'].system('touch {MARKER}') }}}}",
                       "'__globals__' of 'function' object is unsafe"),
    "joiner-globals": ("{{ joiner.__init__.__globals__ }}", "'__init__' of 'type' object is unsafe"),
    "namespace-init": ("{{ namespace.__init__.__globals__ }}", "'__init__' of 'type' object is unsafe"),
    "self-context": ("{{ self._TemplateReference__context }}", "is unsafe"),
    "format-attribute": ("{{ '{0.__class__}'.format(name) }}", "attribute '__class__' of 'str' object is unsafe"),
    "format-map": ("{{ '{x.__class__}'.format_map({'x': name}) }}", "attribute '__class__' of 'str' object is unsafe"),
    "func-globals": ("{{ name.upper.__globals__ }}", "has no attribute '__globals__'"),
    "import": ("{% import 'os' as os %}", "no loader for this environment"),
    "include-file": ("{% include '/etc/passwd' %}", "no loader for this environment"),
    "huge-string": ("{{ 'a' * 100000000 }}", "may not build sequences longer than 100,000"),
    "huge-power": ("{{ 10 ** 100000000 }}", "exponent 100000000 is too large"),
    "config": ("{{ config }}", "unknown name 'config'"),  # found when the content loads: once, not per guide
}


@pytest.mark.parametrize("case", list(BODIES_WITH_CODE))
def test_section_bodies_cannot_reach_python(project: Project, case: str) -> None:
    body, fragment = BODIES_WITH_CODE[case]
    project.write("content/sections/50-probe.md", section(body="First line.\n\n" + body + "\n"))
    found = problems(project)
    assert len(found) == (1 if case == "config" else 3) and all(
        p.startswith("content/sections/50-probe.md:9: body: ") and fragment in p for p in found), found
    assert not (project.root / MARKER).exists()
    assert not any("root:x:0:0" in p for p in found)


# --- 2. Every input error names its place --------------------------------------------------------------------

P = "profiles/bad.yaml"
S = "content/sections/50-probe.md"
GOOD = profile_yaml()
# name, what to write (path -> text or bytes; None deletes), the expected `path:line: field: ` prefix, a fragment
LOCATED = {
    "profile-bad-score": ({P: GOOD.replace("score: 231", "score: two hundred")}, f"{P}:10: step2_ck.practice[0].score: ",
                          "expected an integer"),
    "profile-unknown-field": ({P: GOOD.replace("graduation_year", "graduation-year")}, f"{P}:3: graduation-year: ",
                              "did you mean 'graduation_year'"),
    "profile-ambiguous-visa": ({P: GOOD.replace("visa: j1", "visa: no")}, f"{P}:11: visa: ", "write 'none'"),
    "profile-duplicate-key": ({P: GOOD + "visa: h1b\n"}, f"{P}:14: visa: ", "duplicate key 'visa' (on line 11"),
    "profile-yaml-syntax": ({P: GOOD.replace("step1: {result: pass, attempts: 1}", "step1: {result: pass")}, f"{P}:6: ",
                            "invalid YAML"),
    "profile-anchor": ({P: GOOD.replace("usce_months: 4", "usce_months: &n 4\nus_lors: *n")}, f"{P}:12: usce_months: ",
                       "anchors ('&n') are not allowed"),
    "profile-not-utf8": ({P: GOOD.replace("Dr. Lee", "Dr. L\udcffe").encode("utf-8", "surrogateescape")}, f"{P}:13: ",
                         "not valid UTF-8"),
    "profile-nul-byte": ({P: GOOD.replace("NBME 13", "NBME\x0013")}, f"{P}:10: ", "NUL byte"),
    "profile-control-char": ({P: profile_yaml(advisor="Dr.\u202eLee")}, f"{P}:13: advisor: ", "control characters"),
    "profile-missing-field": ({P: GOOD.replace('email: "applicant@example.org"\n', "")}, f"{P}:1: email: ",
                              "required field is missing"),
    "profile-bad-id": ({P: profile_yaml(applicant_id="../../etc/passwd")}, f"{P}:1: id: ", "expected an id"),
    "profile-duplicate-id": ({P: profile_yaml(applicant_id="ada-okafor")}, f"{P}:1: id: ",
                             "duplicate id 'ada-okafor'"),
    "profile-too-large": ({P: GOOD + "notes: |\n" + "  x\n" * 100_000}, f"{P}: ", "larger than"),
    "profiles-folder-missing": ({"profiles/ada-okafor.yaml": None, "profiles/bruno-reis.yaml": None,
                                 "profiles/chen-wu.yaml": None, "profiles": None}, "profiles: ", "not found"),
    "fm-missing": ({S: "id: probe\ntitle: Probe\n"}, f"{S}:1: ", "missing front matter"),
    "fm-unclosed": ({S: "---\nid: probe\ntitle: Probe\n"}, f"{S}:1: ", "never closed"),
    "fm-unknown-field": ({S: section(extra="colour: blue\n")}, f"{S}:6: colour: ", "unknown field"),
    "fm-bad-order": ({S: section().replace("order: 50", "order: first")}, f"{S}:4: order: ", "expected an integer"),
    "fm-yaml-syntax": ({S: section().replace("title: Probe", "title: [Probe")}, f"{S}:4: ", "invalid YAML"),
    "fm-not-utf8": ({S: section(body="ok\n\xff\n").encode("latin-1")}, f"{S}:8: ", "not valid UTF-8"),
    "fm-duplicate-id": ({S: section().replace("id: probe", "id: standing")}, f"{S}:2: id: ", "already used by"),
    "fm-missing-field": ({S: section().replace("title: Probe\n", "")}, f"{S}:2: title: ", "required field is missing"),
    "body-syntax": ({S: section(body="one\ntwo\n{% if %}\n")}, f"{S}:9: body: ", "template syntax error"),
    "body-unclosed-block": ({S: section(body="one\n{% for b in bands %}\nthree\n")}, f"{S}:", "template syntax error"),
    "body-undefined": ({S: section(body="one\ntwo\n{{ nosuch }}\n")}, f"{S}:9: body: ", "unknown name 'nosuch'"),
    "body-runtime-type": ({S: section(body="one\n{{ step2.score + 'x' }}\n")}, f"{S}:8: body: ", "TypeError"),
    "body-refused-link": ({S: section(body="one\n[click](javascript:alert(1))\n")}, f"{S}:8: body: ",
                          "URL not allowed: javascript:alert(1)"),
    "body-refused-image": ({S: section(body="one\n\n![x](file:///etc/hostname)\n")}, f"{S}:9: body: ",
                           "URL not allowed: file:///etc/hostname"),
    "unknown-section-template": ({S: section(extra="template: nosuch\n")}, f"{S}:6: template: ",
                                 "no template sections/nosuch.html in themes/default"),
    "theme-syntax": ({"themes/default/sections/default.html": "<section>\n{{ section.html }\n</section>\n"},
                     "themes/default/sections/default.html:2: ", "template syntax error"),
    "theme-parent-syntax": ({"themes/default/base.html": "<!DOCTYPE html>\n<html>\n{% block body %}{% endblock %\n"},
                            "themes/default/base.html:3: ", "expected token"),
    "theme-runtime": ({"themes/default/sections/default.html": "<section>\n\n{{ section.nosuch.x }}\n</section>\n"},
                      "themes/default/sections/default.html:3: ", "has no attribute 'nosuch'"),
    "theme-layout-missing": ({"themes/default/layouts/guide.html": None}, "themes/default/theme.yaml:5: layouts[1].template: ",
                             "'layouts/guide.html' not found"),
    "theme-bad-layout-rule": ({"themes/default/theme.yaml": THEME_YAML.replace('when: "true"', 'when: "band.nope"')},
                              "themes/default/theme.yaml:5: when: ", "unknown fact 'band.nope'"),
    "theme-layout-not-text": ({"themes/default/theme.yaml": "layouts:\n  - {id: a, template: 5, when: \"true\"}\n"},
                              "themes/default/theme.yaml:2: layouts[0]: ", "id and template as text"),
    "theme-assets-outside": ({"themes/default/theme.yaml": THEME_YAML.replace("assets: assets", "assets: ../..")},
                             "themes/default/theme.yaml:9: assets: ", "must be a folder inside"),
    "theme-missing-landing": ({"themes/default/landing.html": None}, "themes/default/theme.yaml:6: landing: ", "not found"),
    "theme-yaml-missing": ({"themes/default/theme.yaml": None}, "themes/default/theme.yaml: ", "cannot read the theme"),
    "strategy-missing": ({"content/data/strategy.yaml": None}, "content/data/strategy.yaml: ", "No such file"),
    "strategy-bad-value": ({"content/data/strategy.yaml": STRATEGY_TEXT.replace("long_gap_years: 5", "long_gap_years: five")},
                           "content/data/strategy.yaml:", "long_gap_years"),
}


@pytest.mark.parametrize("case", list(LOCATED))
def test_every_input_error_names_its_place(project: Project, case: str) -> None:
    files, where, fragment = LOCATED[case]
    for rel, data in files.items():
        path = project.root / rel
        if data is None:
            path.rmdir() if path.is_dir() else path.unlink()
        else:
            project.write(rel, data)
    found = problems(project)
    assert_located(found, where, fragment)
    assert all(re.match(r"[^:]+(:\d+)?: ", p) for p in found), found


def test_a_body_error_is_reported_with_the_guide_it_broke(project: Project) -> None:
    project.write(S, section(body="{{ step2.latest_practice_score + 1 }}\n"))
    found = problems(project)
    assert any(p.startswith(f"{S}:7: body: ") and "(in the guide of profiles/" in p for p in found), found


# --- 3. The loaders are total: any text gives a value or a located InputError ---------------------------------

_STRATEGY = load_strategy(MINI / "content" / "data" / "strategy.yaml")
_FACTS = facts_mod.derive(make_profile(), _STRATEGY, dt.date(2026, 11, 25))
_THEME = load_theme(ROOT / "themes" / "default", source_prefix="themes/default")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder the fuzz tests overwrite on every example (hypothesis cannot use per-test folders)."""
    return tmp_path_factory.mktemp("fuzz")


RULE_TOKENS = ["band.id", "==", "!=", "<", ">=", "5", "dates.exam", "'low'", "and", "or", "not", "(", ")", "[", "]",
               ".", "__class__", "|", "length",
               "is", "defined", "()", "+", "~", "in", "step2.score", "flags.step1_fail", "{{", "}}", "{%", "%}", "\n",
               "'", '"', "1e999", "None", "true", "lambda", ",", ":", "*", "**", "if", "else", "range", "x" * 300]


@FUZZ
@given(st.one_of(st.text(max_size=300), st.lists(st.sampled_from(RULE_TOKENS), max_size=30).map(" ".join)))
@example("not band.id")
@example("band.id < 5 or flags.step1_fail")
@example("step2.score >= dates.exam")
def test_rule_parsing_is_total(text: str) -> None:
    schema = facts_mod.schema(_STRATEGY)
    try:
        rule = parse_rule(text, schema=schema, source="fuzz.md", line=5)
    except InputError as exc:
        assert all(p.source == "fuzz.md" and (p.line or 5) >= 5 for p in exc.problems)
        return
    assert isinstance(rule.evaluate(_FACTS), bool)


FRONT_TOKENS = ["---\n", "id: a\n", "title: T\n", "order: 1\n", 'when: "true"\n', "when: |\n  x\n", "template: glance\n",
                "&a ", "*a", "!!str ", "!!python/object/apply:os.system ['ls']", "{{ x }}", "{% if %}", "\x00", "\xff",
                "\ufeff", "\r\n", "  ", "- ", ": ", "[", "{", "#", "'", '"']


@FUZZ
@given(st.one_of(st.binary(max_size=500),
                 st.lists(st.sampled_from(FRONT_TOKENS), max_size=25).map(lambda parts: "".join(parts).encode("utf-8"))))
def test_content_files_load_or_fail_located(scratch: Path, data: bytes) -> None:
    folder = scratch / "content"
    (folder / "sections").mkdir(parents=True, exist_ok=True)
    (folder / "sections" / "fuzz.md").write_bytes(data)
    content, found = load_content(folder, band_ids=["top", "pending"])
    rules, more = compile_rules(content, _THEME, facts_mod.schema(_STRATEGY))
    found += more
    assert content.sections or found
    assert len(rules.candidates) + len(more) == len(content.items()) + len(_THEME.layouts)
    assert all(p.source.startswith("content/sections") for p in found)


@FUZZ
@given(st.lists(st.sampled_from(["layouts:\n", "  - {id: a, template: layouts/guide.html, when: \"true\"}\n",
                                 "  - {id: b, template: ../../../etc/passwd, when: \"true\"}\n", "  - x\n",
                                 "  - {id: c, template: 5, when: \"true\"}\n", "  - {id: [1], template: [x], when: 1}\n",
                                 "landing: landing.html\n", "landing: /etc/passwd\n", "assets: ../..\n", "assets: [1]\n",
                                 "when: !!python/name:os.system\n", "&a ", "*a", "\x00", "{", "- "]), max_size=12)
       .map("".join))
@example("layouts:\n  - {id: c, template: 5, when: \"true\"}\n")
@example("layouts:\n  - {id: [1], template: [x], when: 1}\n")
@example("layouts: 5\n")
@example("assets: /\n")
def test_theme_files_load_or_fail_located(scratch: Path, text: str) -> None:
    theme = scratch / "theme"
    if not theme.exists():
        shutil.copytree(ROOT / "themes" / "default", theme)
    (theme / "theme.yaml").write_text(text, "utf-8")
    try:
        loaded = load_theme(theme, source_prefix="themes/fuzz")
        found = compile_rules(load_content(scratch, band_ids=[])[0], loaded, facts_mod.schema(_STRATEGY))[1]
        assert all(p.source == "themes/fuzz/theme.yaml" for p in found)
    except InputError as exc:
        assert all(p.source.startswith("themes/fuzz/theme.yaml") for p in exc.problems)


@FUZZ
@given(st.integers(0, 4000), st.sampled_from(["", "x", "- ", "&a ", "*a", "\x00", "!!int ", "[", "null", "-1", "1e999"]))
def test_strategy_file_loads_or_fails_located(scratch: Path, position: int, piece: str) -> None:
    text = STRATEGY_TEXT[:position] + piece + STRATEGY_TEXT[position:]
    path = scratch / "strategy.yaml"
    path.write_text(text, "utf-8")
    try:
        load_strategy(path, "content/data/strategy.yaml")
    except InputError as exc:
        assert all(p.source == "content/data/strategy.yaml" for p in exc.problems)


def test_fuzz_suite_covers_the_loader_promises() -> None:
    """tests/test_loader_fuzz.py and tests/test_yamlstrict.py between them cover what the promise lists."""
    fuzz = (ROOT / "tests" / "test_loader_fuzz.py").read_text()
    strict = (ROOT / "tests" / "test_yamlstrict.py").read_text()
    for name in ("test_load_random_bytes", "test_load_random_text", "test_load_mutated_yaml",
                 "test_split_front_matter_mutated", "test_load_profile_never_crashes"):
        assert f"def {name}(" in fuzz, name
    for name in ("test_size_limit", "test_depth_limit", "test_very_deep_nesting_is_an_input_error_not_a_crash",
                 "test_anchors_and_aliases_are_errors", "test_alias_bomb_is_rejected_quickly"):
        assert f"def {name}(" in strict, name


# --- the table of docs/bad-inputs.md ---------------------------------------------------------------------------

def test_every_row_of_the_bad_inputs_table_names_a_real_test() -> None:
    import importlib

    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| ") and "`tests/" in line]
    assert len(rows) >= 30
    for row in rows:
        match = re.search(r"`tests/(\w+)\.py::(\w+)(?:\[([^\]]+)\])?`", row)
        assert match, f"row names no test: {row}"
        module = importlib.import_module(f"tests.{match.group(1)}")
        test = getattr(module, match.group(2), None)
        assert callable(test), f"no test {match.group(2)} in tests/{match.group(1)}.py"
        if match.group(3):
            assert match.group(3) in _param_ids(test), f"{match.group(2)} has no case {match.group(3)!r}"


def _param_ids(test) -> set[str]:
    """The ids of a parametrized test's cases, from its marks (ids=..., pytest.param(id=...) or list items)."""
    found: set[str] = set()
    for mark in getattr(test, "pytestmark", []):
        if mark.name != "parametrize":
            continue
        values = mark.args[1]
        ids = mark.kwargs.get("ids")
        if ids is not None:
            found.update(ids)
        else:
            found.update(getattr(v, "id", None) or str(v) for v in values)
    return found
