"""Errors that say the fix, and nothing placeholder goes out: each through the real CLI (`generator.cli.main`).

Each case runs in a small real project (tests/payloads.py) with the current folder set to it, so messages show
the project-relative paths an advisor sees.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest

from generator.cli import main
from tests.payloads import Project

S = "content/sections/50-probe.md"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    site = Project(tmp_path / "site")
    monkeypatch.chdir(site.root)
    return site


def section(when: str = '"true"', body: str = "Body text.\n") -> str:
    """A section file: `when` on line 5, the body from line 7."""
    return f"---\nid: probe\ntitle: Probe\norder: 50\nwhen: {when}\n---\n{body}"


def run(capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


RULE_FIXES = {
    "assign": ("band.id = 'low'", "when: `=` sets a value; to compare, use `==`"),
    "is-none": ("step2.score is none", "when: `is none` is a test, and tests are not allowed in rules; write `== none`"),
    "is-not-none": ("not step2.exam_date is none", "write `!= none`"),
    "misspelt-fact": ("flags.step1_fial", "when: unknown fact 'flags.step1_fial'; did you mean 'flags.step1_fail'?"),
    "misspelt-root": ("flag.step1_fail", "when: unknown fact 'flag'; did you mean 'flags'?"),
}


@pytest.mark.parametrize("case", list(RULE_FIXES))
def test_rule_errors_say_the_fix(project: Project, capsys, case: str) -> None:
    rule, fragment = RULE_FIXES[case]
    project.write(S, section(when=f'"{rule}"'))
    code, _, err = run(capsys, "check", "--as-of", "2026-11-25")
    assert code == 1
    [line] = [line for line in err.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: {S}:5: when: ") and fragment in line, line
    assert "known here" not in line and "step2_fail, " not in line  # a suggestion, not the list of every fact
    assert "previous output" not in err  # check writes no output, so it has none to keep


def test_a_rule_comparing_with_an_impossible_value_is_a_check_warning(project: Project, capsys) -> None:
    project.write(S, section(when="\"visa == 'J1' or band.id in ['low', 'verylow']\""))
    code, out, err = run(capsys, "check", "--as-of", "2026-11-25", "--quiet")
    assert code == 0
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert warnings == [
        f"warning: {S}:5: when: visa is never 'J1': its values are 'j1', 'h1b', 'either', 'none', or none (not given); "
        "did you mean 'j1'? (in the rule \"visa == 'J1' or band.id in ['low', 'verylow']\")",
        f"warning: {S}:5: when: band.id is never 'verylow': its values are 'top', 'strong', 'solid', 'low', 'very_low', "
        "'pending'; did you mean 'very_low'? (in the rule \"visa == 'J1' or band.id in ['low', 'verylow']\")"]
    assert "0 problem(s), 2 warning(s)" in out
    assert run(capsys, "check", "--as-of", "2026-11-25", "--quiet", "--strict")[0] == 1


def test_an_unknown_name_in_a_body_is_reported_once_with_did_you_mean(project: Project, capsys) -> None:
    for i in range(6):  # more applicants: still one report per file and line
        project.write(f"profiles/extra-{i}.yaml", f"name: Extra Person {chr(65 + i)}\nemail: x{i}@example.org\n"
                      "graduation_year: 2020\nstep1: {result: pass, attempts: 1}\n")
    project.write(S, section(body="Line one.\n\nYour score: {{ step2.scroe }}, again {{ step2.scroe }}.\n"
                                  "{% for phase in plan.phases %}{{ phase.titel }}{% endfor %}{{ nosuch }}\n"))
    for command in ("check", "build"):
        code, _, err = run(capsys, command, "--as-of", "2026-11-25", *(["--no-pdf"] if command == "build" else []))
        errors = [line for line in err.splitlines() if line.startswith("error: ")]
        assert code == 1
        assert errors == [
            f"error: {S}:9: body: unknown name 'step2.scroe'; did you mean 'step2.score'?",
            f"error: {S}:10: body: unknown name 'nosuch'; the facts are listed in "
            "docs/architecture.md#facts-what-rules-and-section-bodies-can-use",
            f"error: {S}:10: body: unknown name 'phase.titel'; did you mean 'phase.title'?"], errors
        assert "dict object" not in err
    assert not (project.root / "output").exists()


def test_check_never_speaks_of_previous_output_but_build_does(project: Project, capsys) -> None:
    project.write(S, section(when='"band.id = 1"'))
    _, _, err = run(capsys, "check", "--as-of", "2026-11-25")
    assert "failed: 1 problem(s)" in err and "previous output" not in err
    _, _, err = run(capsys, "build", "--as-of", "2026-11-25", "--no-pdf")
    assert "failed: 1 problem(s); the previous output was left as it was" in err


def test_what_new_wrote_is_a_located_check_warning_until_corrected(project: Project, capsys) -> None:
    year = dt.date.today().year
    assert run(capsys, "new", "aisha-rahman")[0] == 0
    path = project.root / "profiles" / "aisha-rahman.yaml"
    lines = path.read_text().splitlines()
    at = {key: next(n for n, line in enumerate(lines, 1) if line.startswith(f"{key}:"))
          for key in ("name", "email", "graduation_year")}
    code, out, err = run(capsys, "check", "--quiet")
    assert code == 0
    assert [line for line in err.splitlines() if "aisha-rahman" in line] == [
        f"warning: profiles/aisha-rahman.yaml:{at['name']}: name: 'Aisha Rahman' is the name `matchguide new` made "
        "from the id; write the applicant's name as it should appear (if it is right, delete the line "
        "'# Placeholders from `matchguide new`: …')",
        f"warning: profiles/aisha-rahman.yaml:{at['email']}: email: aisha-rahman@example.invalid is a placeholder: "
        "addresses under .invalid never receive mail; write the applicant's real address",
        f"warning: profiles/aisha-rahman.yaml:{at['graduation_year']}: graduation_year: {year} is this year and "
        "Step 1 is pending, as `matchguide new` writes them; write the year of graduation and the Step 1 result"]
    assert "3 warning(s)" in out
    assert run(capsys, "check", "--quiet", "--strict")[0] == 1
    # Corrected values: no warning is left, even with the marker line still there.
    path.write_text(path.read_text().replace('"Aisha Rahman"', '"Aisha K. Rahman"')
                    .replace("aisha-rahman@example.invalid", "aisha@mail.example.pk")
                    .replace(f"graduation_year: {year}", "graduation_year: 2020")
                    .replace("result: pending  ", "result: pass     ").replace("attempts: 0  ", "attempts: 1  "))
    code, out, err = run(capsys, "check", "--quiet")
    assert code == 0 and "warning" not in err and "0 warning(s)" in out, err


def test_a_name_given_to_new_is_not_a_placeholder(project: Project, capsys) -> None:
    assert run(capsys, "new", "bo-li", "--name", "Bo Li", "--email", "bo@mail.example.cn",
               "--graduation-year", "2019")[0] == 0
    assert "Placeholders" not in (project.root / "profiles" / "bo-li.yaml").read_text()
    _, _, err = run(capsys, "check", "--quiet")
    assert "bo-li" not in err


def test_email_never_sends_to_a_placeholder_or_example_address(project: Project, capsys, monkeypatch) -> None:
    from tests.smtp_fixtures import Mailbox, start_server

    for key in [k for k in os.environ if k.startswith("MATCHGUIDE_")]:
        monkeypatch.delenv(key)
    ada = project.root / "profiles" / "ada-okafor.yaml"
    ada.write_text(ada.read_text().replace("ada.okafor@example.org", "ada.okafor@mail.example.ng"))
    assert run(capsys, "new", "zed-placeholder", "--graduation-year", "2020")[0] == 0
    assert run(capsys, "build", "--as-of", "2026-11-25")[0] == 0
    code, out, err = run(capsys, "email")
    assert code == 1
    assert sorted(p.name for p in (project.out / "outbox").iterdir()) == ["ada-okafor.eml"]
    eml = (project.out / "outbox" / "ada-okafor.eml").read_bytes().decode("ascii")
    assert "Everything is in the attached PDF" in eml and "separate message" not in eml  # no site URL: no promise
    assert "not ready: profiles/zed-placeholder.yaml: email: zed-placeholder@example.invalid is a placeholder: " \
           "addresses under .invalid never receive mail; write the applicant's real address in their profile" in out
    assert "not ready: profiles/bruno-reis.yaml: email: bruno.reis@example.org is an example address (example.org " \
           "is reserved for documentation and receives no mail)" in out
    box = Mailbox()
    server = start_server(box)
    try:
        monkeypatch.setenv("MATCHGUIDE_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("MATCHGUIDE_SMTP_PORT", str(server.port))
        monkeypatch.setenv("MATCHGUIDE_SMTP_SECURITY", "none")
        monkeypatch.setenv("MATCHGUIDE_SMTP_FROM", "Dr. Lee <lee@mail.example.ng>")
        assert run(capsys, "email", "--send", "--rate", "6000")[0] == 1
        assert [rcpts for rcpts, _ in box.received] == [["ada.okafor@mail.example.ng"]]
        monkeypatch.setenv("MATCHGUIDE_ALLOW_EXAMPLE_ADDRESSES", "1")  # a test server: example.org may go, .invalid never
        code, out, _ = run(capsys, "email", "--send", "--rate", "6000")
        assert code == 1 and "zed-placeholder@example.invalid is a placeholder" in out
        assert sorted(r for rcpts, _ in box.received for r in rcpts) == [
            "ada.okafor@mail.example.ng", "bruno.reis@example.org", "chen.wu@example.org"]
    finally:
        server.stop()


def test_a_wrong_id_gets_did_you_mean(project: Project, capsys) -> None:
    code, out, err = run(capsys, "explain", "ada-okafr", "--as-of", "2026-11-25")
    assert code == 1 and out == ""
    assert err.splitlines()[0] == "error: profiles: no profile has the id 'ada-okafr'; did you mean 'ada-okafor'?"
    assert "previous output" not in err
    code, _, err = run(capsys, "check", "--only", "chen-wo", "--as-of", "2026-11-25", "--quiet")
    assert code == 1 and "did you mean 'chen-wu'?" in err


def test_build_only_ends_with_where_the_guide_is(project: Project, capsys, monkeypatch) -> None:
    monkeypatch.delenv("MATCHGUIDE_SITE_URL", raising=False)
    code, out, _ = run(capsys, "build", "--as-of", "2026-11-25", "--only", "ada-okafor", "--no-pdf", "--quiet")
    assert code == 0
    manifest = json.loads((project.out / "manifest.json").read_text())
    [entry] = [e for e in manifest["profiles"] if e["id"] == "ada-okafor"]
    lines = out.splitlines()
    assert lines[-2] == f"ada-okafor: {Path('output') / entry['html']}"
    assert (project.root / "output" / entry["html"]).is_file()
    assert lines[-1] == "  set MATCHGUIDE_SITE_URL to see its address on the published site"
    monkeypatch.setenv("MATCHGUIDE_SITE_URL", "https://advisor.github.io/guides")
    _, out, _ = run(capsys, "build", "--as-of", "2026-11-25", "--only", "ada-okafor", "--no-pdf", "--quiet")
    assert out.splitlines()[-1] == "  on the site, once published: https://advisor.github.io/guides/" + \
        entry["html"].removeprefix("site/")
