"""`matchguide explain`: select()'s decisions formatted: every item and layout, its rule and where it is written."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from generator.project import BuildOptions, load_cohort, load_inputs
from generator.cli import main
from generator.authoring.explain import explain, explain_applicant, format_text, key_facts, reason
from generator.decide.facts import derive
from generator.decide.selection import select
from tests.conftest import AS_OF, ROOT, STRATEGY, make_profile


def write_project(root: Path, *, sections=(), examples=(), faq=(), layouts=None, profiles=None) -> BuildOptions:
    """A small project on disk: content items as dicts, the default theme with these layouts, profile texts."""
    content = root / "content"
    (content / "data").mkdir(parents=True)
    shutil.copy(STRATEGY, content / "data" / "strategy.yaml")
    for folder, items, title in (("sections", sections, "title"), ("examples", examples, "title"),
                                 ("faq", faq, "question")):
        (content / folder).mkdir()
        for order, item in enumerate(items, start=1):
            lines = [f"id: {item['id']}", f'{title}: "About {item["id"]}"', f"order: {order}"]
            lines += [f"band: {item['band']}"] if "band" in item else []
            lines += [f"when: \"{item['when']}\""] if "when" in item else []
            (content / folder / f"{item['id']}.md").write_text("---\n" + "\n".join(lines) + "\n---\nSome text.\n")
    theme = root / "theme"
    shutil.copytree(ROOT / "themes" / "default", theme)
    layouts = layouts or [("standard", "true")]
    text = "layouts:\n" + "".join(f'  - {{id: {i}, template: layouts/guide.html, when: "{w}"}}\n' for i, w in layouts)
    (theme / "theme.yaml").write_text(text + "landing: landing.html\nnot_found: 404.html\nassets: assets\n"
                                      "charts: {score_axis: [200, 270], colours: assets/style.css}\n")
    (root / "profiles").mkdir()
    for ident, body in (profiles or {}).items():
        (root / "profiles" / f"{ident}.yaml").write_text(body)
    return BuildOptions(profiles=root / "profiles", content=content, theme=theme, out=root / "out",
                        state=root / "state", as_of=AS_OF)


def profile_yaml(name: str, *, score: int | None = 238, usce: int = 4, step1: str = "pass") -> str:
    """A valid profile text; `score=None` leaves Step 2 CK out."""
    text = (f"name: {name}\nemail: someone@example.org\ngraduation_year: 2022\ncycle: 2027\n"
            f"step1: {{result: {step1}, attempts: {1 if step1 != 'pending' else 0}}}\nusce_months: {usce}\n")
    if score is not None:
        text += f"step2_ck: {{result: pass, score: {score}, attempts: 1, exam_date: 2026-06-01}}\n"
    return text


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    options = write_project(
        tmp_path_factory.mktemp("explain"),
        sections=[{"id": "always", "when": "true"}, {"id": "no-usce", "when": "flags.no_usce"},
                  {"id": "plan", "when": "not step2.taken and plan.available"}],
        examples=[{"id": "low-any", "band": "low"}, {"id": "low-no-usce", "band": "low", "when": "flags.no_usce"},
                  {"id": "solid-any", "band": "solid"}],
        faq=[{"id": "h1b", "when": "visa == 'h1b'"}],
        layouts=[("recovery", "flags.step1_fail"), ("wide", "gap >= 0"), ("standard", "true")],
    )
    return load_inputs(options)


def decisions(expl):
    return {(d.kind, d.id): d for d in expl.decisions}


def test_lists_everything_with_the_deciding_values(project, strategy):
    facts = derive(make_profile(usce_months=0, step2={"result": "pass", "score": 224, "attempts": 1}), strategy, AS_OF)
    expl = explain(facts, project.rules, applicant_id="t", source="profiles/t.yaml")
    d = decisions(expl)
    assert len(expl.decisions) == 3 + 3 + 1 + 3
    assert d[("section", "no-usce")].selected and d[("section", "no-usce")].values == {"flags.no_usce": True}
    plan = d[("section", "plan")]
    assert not plan.selected and plan.holds is False
    assert reason(plan) == "when: not step2.taken and plan.available  → false because step2.taken=True, plan.available=False"
    assert reason(d[("section", "always")]) == "when: true  → true (always)"
    assert expl.selected("example") == ["low-any", "low-no-usce"]
    assert expl.selected("faq") == []


def test_an_example_needs_its_band_and_its_rule(project, strategy):
    low_with_usce = derive(make_profile(usce_months=3, step2={"result": "pass", "score": 224, "attempts": 1}),
                           strategy, AS_OF)
    d = decisions(explain(low_with_usce, project.rules, applicant_id="t", source="t"))
    rule_false = d[("example", "low-no-usce")]
    assert (rule_false.band_matches, rule_false.holds, rule_false.selected) == (True, False, False)
    assert reason(rule_false) == ("band 'low' matches band.id='low';  when: flags.no_usce  → false because "
                                  "flags.no_usce=False")
    wrong_band = d[("example", "solid-any")]
    assert (wrong_band.band_matches, wrong_band.holds, wrong_band.selected) == (False, True, False)
    assert reason(wrong_band).startswith("band 'solid' does not match band.id='low';")


def test_the_first_layout_that_holds_wins_and_later_ones_say_so(project, strategy):
    facts = derive(make_profile(), strategy, AS_OF)
    d = decisions(explain(facts, project.rules, applicant_id="t", source="t"))
    assert [d[("layout", i)].selected for i in ("recovery", "wide", "standard")] == [False, True, False]
    assert d[("layout", "standard")].holds is True
    assert "an earlier layout, wide, was chosen" in reason(d[("layout", "standard")])


def test_header_says_why_the_band_and_the_tier(strategy):
    projected = derive(make_profile(step2={"result": "pending", "exam_date": date(2027, 6, 1),
                                           "practice": [{"date": date(2027, 5, 2), "score": 226}]}),
                       strategy, AS_OF)
    facts = dict(key_facts(projected))
    assert facts["band"] == "low (projected) because basis 226 (practice, 2027-05-02)"
    raised = derive(make_profile(graduation_year=2019, step1={"result": "pass", "attempts": 2},
                                 step2={"result": "pass", "score": 250, "attempts": 1, "exam_date": date(2026, 5, 1)}),
                    strategy, AS_OF)
    line = dict(key_facts(raised))["programs"]
    assert line.startswith("T4: 140–180 programs; base tier T1 from basis 250, raised by failure (1 failed attempt(s))")
    assert "long_gap (gap 8)" in line
    pending = dict(key_facts(derive(make_profile(step2=None), strategy, AS_OF)))
    assert pending["band"] == "pending because there is no Step 2 CK score and no practice score yet"
    assert pending["programs"] == "no number yet (band pending)"


def test_every_rule_is_shown_with_the_file_and_line_it_is_written_on():
    options = BuildOptions(profiles=ROOT / "profiles", content=ROOT / "content", theme=ROOT / "themes" / "default",
                           as_of=AS_OF)
    inputs = load_inputs(options)
    profiles, problems = load_cohort(options, inputs)
    assert profiles and not problems
    expl = explain(derive(profiles[0], inputs.strategy, AS_OF), inputs.rules, applicant_id=profiles[0].id,
                   source=profiles[0].source)
    assert len(expl.decisions) == len(inputs.content.items()) + len(inputs.theme.layouts)
    text = format_text(expl)
    for d in expl.decisions:
        assert f"  {d.id} " in text and f"[{d.where}]" in text
        written = Path(d.source).read_text().splitlines()[d.line - 1]
        if d.kind == "example" and "when:" not in written:  # no rule of its own: the band line decides
            assert written.startswith(f"band: {d.band}"), d
        else:
            assert d.rule.splitlines()[0].strip() in written, (d, written)


def test_cli_explains_one_applicant(tmp_path, capsys):
    options = write_project(tmp_path, sections=[{"id": "always", "when": "true"},
                                                {"id": "no-usce", "when": "flags.no_usce"}],
                            examples=[{"id": "solid-any", "band": "solid"}],
                            profiles={"ana": profile_yaml("Ana"), "bad": "name: [\n"})
    args = ["explain", "ana", "--as-of", "2026-11-25", "--profiles", str(options.profiles), "--content",
            str(options.content), "--theme", str(options.theme)]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert out.startswith("ana: Ana  (")
    assert "band       solid because basis 238 (official, 2026-06-01)" in out
    assert "  no-usce  ·  when: flags.no_usce  → false because flags.no_usce=False" in out
    assert "  solid-any  ✓  band 'solid' matches band.id='solid';  when: true  → true (always)" in out
    assert "1 problem(s) in other profiles" in err  # bad.yaml is not ana's business, but worth a note

    assert main(args[:1] + ["bad"] + args[2:]) == 1
    _, err = capsys.readouterr()
    assert "bad.yaml" in err and "invalid YAML" in err
    assert main(args[:1] + ["nobody"] + args[2:]) == 1
    assert "no profile has the id 'nobody'" in capsys.readouterr().err


def test_explain_applicant_uses_the_real_loader(tmp_path):
    options = write_project(tmp_path, sections=[{"id": "always", "when": "true"}],
                            profiles={"eve": profile_yaml("Eve", score=None, step1="pending")})
    expl, others = explain_applicant(options, "eve")
    assert (expl.id, expl.name, others) == ("eve", "Eve", [])
    assert expl.facts["band"]["id"] == "pending"
