"""`matchguide check --coverage`: the cohort x rules matrix, its warnings, and `--strict`."""

from __future__ import annotations

import pytest

from generator.build import check
from generator.project import BuildOptions, load_inputs
from generator.cli import main
from generator.authoring.coverage import cohort_coverage, coverage, format_matrix
from generator.decide.facts import derive
from generator.decide.selection import select
from tests.conftest import AS_OF, ROOT, make_profile
from tests.test_explain import profile_yaml, write_project

SECTIONS = [
    {"id": "always", "when": "true"},
    {"id": "passed-step1", "when": "step1.result == 'pass'"},  # true for the whole cohort below
    {"id": "never", "when": "flags.step2_fail"},
    {"id": "no-usce", "when": "flags.no_usce"},
]
EXAMPLES = [{"id": "solid-any", "band": "solid"}, {"id": "low-h1b", "band": "low", "when": "visa == 'h1b'"},
            {"id": "top-any", "band": "top"}]
LAYOUTS = [("passers", "step1.passed"), ("standard", "true")]


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    options = write_project(tmp_path_factory.mktemp("coverage"), sections=SECTIONS, examples=EXAMPLES,
                            faq=[{"id": "h1b", "when": "visa == 'h1b'"}], layouts=LAYOUTS)
    return load_inputs(options)


def cohort(strategy, rules):
    people = [
        make_profile(id="solid-a", source="profiles/solid-a.yaml", step2={"result": "pass", "score": 235, "attempts": 1}),
        make_profile(id="low-b", source="profiles/low-b.yaml", usce_months=0,
                     step2={"result": "pass", "score": 222, "attempts": 1}),
        make_profile(id="pending-c", source="profiles/pending-c.yaml", step2=None),
    ]
    return [(p, facts, select(facts, rules)) for p, facts in ((p, derive(p, strategy, AS_OF)) for p in people)]


def test_matrix_marks_what_each_applicant_receives(inputs, strategy):
    cov = coverage(cohort(strategy, inputs.rules), inputs.rules)
    assert cov.profiles == ("solid-a", "low-b", "pending-c")
    assert cov.bands == ("solid", "low", "pending")
    rows = {(r.kind, r.id): r for r in cov.rows}
    assert rows[("section", "no-usce")].received == (False, True, False)
    assert rows[("example", "solid-any")].received == (True, False, False)
    assert rows[("example", "low-h1b")].received == (False, False, False)
    assert rows[("example", "low-h1b")].holds == (False, False, False)
    assert rows[("layout", "passers")].received == (True, True, True)
    assert rows[("layout", "standard")].received == (False, False, False)
    assert rows[("layout", "standard")].holds == (True, True, True)


def test_warnings_name_the_file_and_the_reason(inputs, strategy):
    cov = coverage(cohort(strategy, inputs.rules), inputs.rules)
    text = sorted(str(w) for w in cov.warnings)
    prefix = str(inputs.content.sections[0].source).rsplit("/", 2)[0]
    theme = inputs.theme.layouts[0].source
    assert text == sorted([
        f"{prefix}/sections/never.md: when: no applicant receives this section: its rule is false for all 3 applicant(s)",
        f"{prefix}/sections/passed-step1.md: when: rule \"step1.result == 'pass'\" is true for every applicant "
        "(3 of 3); write `when: true` if that is meant",
        f"{prefix}/examples/low-h1b.md: band: no applicant receives this example: its rule is false for all 1 "
        "applicant(s) with band 'low'",
        f"{prefix}/examples/top-any.md: band: no applicant receives this example: no applicant in the cohort has band 'top'",
        f"{prefix}/faq/h1b.md: when: no applicant receives this FAQ entry: its rule is false for all 3 applicant(s)",
        f"{theme}: layouts[0].when: rule 'step1.passed' is true for every applicant (3 of 3); "
        "write `when: true` if that is meant",
        f"{theme}: layouts[1].when: no applicant receives this layout: an earlier layout is chosen "
        "whenever its rule holds",
        "profiles/low-b.yaml: gets no worked example of its band 'low': the rules of all 1 example(s) for that band "
        "are false for this applicant",
        "profiles/pending-c.yaml: gets no worked example of its band 'pending': no example is written for that band",
    ])
    assert not any("always.md" in t for t in text)  # a literal `true` is meant to be true for everyone


def test_empty_cohort_is_one_warning(inputs):
    cov = coverage([], inputs.rules, cohort_source="profiles")
    assert [str(w) for w in cov.warnings] == ["profiles: no valid profiles: coverage needs at least one applicant"]
    assert all(r.received == () for r in cov.rows)


def test_format_matrix_per_applicant_and_per_band(inputs, strategy):
    cov = coverage(cohort(strategy, inputs.rules), inputs.rules,
                   band_order=["top", "strong", "solid", "low", "very_low", "pending"])
    lines = format_matrix(cov).splitlines()
    assert lines[0] == "coverage: 3 applicant(s) x 10 rule(s); ✓ receives it, · does not"
    row = next(line for line in lines if line.startswith("section  no-usce "))
    assert row.split()[2:] == ["·", "✓", "·", "1/3"]
    assert "  2  low-b (low)" in lines
    by_band = format_matrix(cov, max_columns=2).splitlines()
    assert by_band[1].split()[:6] == ["solid", "(1)", "low", "(1)", "pending", "(1)"]
    row = next(line for line in by_band if line.startswith("section  no-usce "))
    assert row.split()[2:] == ["0", "1", "0", "1/3"]


def test_sample_cohort_matrix_lays_out_checks_decisions():
    options = BuildOptions(profiles=ROOT / "profiles", content=ROOT / "content", theme=ROOT / "themes" / "default",
                           as_of=AS_OF)
    inputs, guides, problems = check(options)
    assert guides and not problems
    cov = cohort_coverage(inputs, [(g.profile, g.facts, g.selection) for g in guides])
    rows = {(r.kind, r.id): r for r in cov.rows}
    assert len(rows) == len(inputs.content.items()) + len(inputs.theme.layouts)
    assert cov.band_order[0] == inputs.strategy.bands[0].id and cov.band_order[-1] == "pending"
    for index, guide in enumerate(guides):
        chosen = guide.selection
        got = {key for key, row in rows.items() if row.received[index]}
        assert got == {(i.kind, i.id) for i in chosen.items()} | {("layout", chosen.layout.id)}, guide.profile.id


def test_check_coverage_and_strict_exit_codes(tmp_path, capsys):
    options = write_project(tmp_path, sections=SECTIONS, examples=EXAMPLES, layouts=[("standard", "true")],
                            profiles={"ana": profile_yaml("Ana"), "ben": profile_yaml("Ben", score=236, usce=0)})
    args = ["check", "--as-of", "2026-11-25", "--profiles", str(options.profiles), "--content", str(options.content),
            "--theme", str(options.theme), "--quiet"]
    assert main(args) == 0
    assert "coverage" not in capsys.readouterr().out
    assert main(args + ["--coverage"]) == 0
    out, err = capsys.readouterr()
    assert "section  no-usce " in out and out.rstrip().endswith("warning(s)")
    assert "warning: " in err and "never.md" in err
    assert main(args + ["--coverage", "--strict"]) == 1
    capsys.readouterr()
    assert main(args + ["--strict"]) == 1
    out, _ = capsys.readouterr()
    assert "section  no-usce " not in out  # the matrix only with --coverage


def test_strict_passes_when_everything_is_covered(tmp_path, capsys):
    options = write_project(tmp_path, sections=[{"id": "always", "when": "true"}, {"id": "no-usce", "when": "flags.no_usce"}],
                            examples=[{"id": "solid-any", "band": "solid"}],
                            profiles={"ana": profile_yaml("Ana"), "ben": profile_yaml("Ben", score=236, usce=0)})
    args = ["check", "--as-of", "2026-11-25", "--profiles", str(options.profiles), "--content", str(options.content),
            "--theme", str(options.theme), "--quiet", "--coverage", "--strict"]
    assert main(args) == 0
    assert "0 coverage warning(s)" in capsys.readouterr().out
