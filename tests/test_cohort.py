"""What real cohorts contain (issue 13, items 1-6): namesakes, everyday-word ids and names, the naughty strings as
names, leaks that withhold one guide, odd files in profiles/, characters written as YAML escapes, small messages.

Every test drives the real command line: `python -m generator check` in a subprocess, `build` through cli.main.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main
from tests.conftest import ROOT

AS_OF = "2026-11-25"
KEY = "cohort-test-site-key-0123456789"
BLNS = ROOT / "tests" / "fixtures" / "blns" / "blns.json"


def profile(name: str, email: str, *, extra: str = "") -> str:
    """A valid profile; the name written as a JSON string (a YAML double-quoted scalar: escapes are decoded)."""
    return (f"name: {json.dumps(name, ensure_ascii=False)}\nemail: {email}\ngraduation_year: 2021\n"
            "step1: {result: pass, attempts: 1}\nstep2_ck: {result: pass, score: 241, attempts: 1}\nvisa: j1\n" + extra)


def project(root: Path, people: dict[str, str] | None = None) -> Path:
    """content/ and themes/ of the repository and one profile per (file stem -> name)."""
    root.mkdir(parents=True, exist_ok=True)
    for name in ("content", "themes"):
        shutil.copytree(ROOT / name, root / name)
    (root / "profiles").mkdir()
    for stem, name in (people or {}).items():
        (root / "profiles" / f"{stem}.yaml").write_text(profile(name, f"{stem}@example.org"), "utf-8")
    return root


def check(root: Path, *args: str) -> tuple[int, str, str]:
    """`python -m generator check` in a subprocess: (exit code, stdout, stderr)."""
    env = {**os.environ, "MATCHGUIDE_SITE_KEY": KEY, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "generator", "check", "--as-of", AS_OF, "--quiet", *args], cwd=root,
                          env=env, capture_output=True, text=True, timeout=600)
    return done.returncode, done.stdout, done.stderr


def build(root: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture, *args: str) -> tuple[int, str, str]:
    """`matchguide build` through cli.main in the project folder: (exit code, stdout, stderr)."""
    monkeypatch.chdir(root)
    monkeypatch.setenv("MATCHGUIDE_SITE_KEY", KEY)
    capsys.readouterr()
    code = main(["build", "--as-of", AS_OF, "--quiet", *args])
    out, err = capsys.readouterr()
    return code, out, err


def counted(summary: str) -> int:
    """The problem count of a `check` or `build` summary line."""
    return int(re.search(r"(\d+) problem\(s\)", summary).group(1))


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error: ")]


def manifest(root: Path) -> dict:
    return json.loads((root / "output" / "manifest.json").read_text("utf-8"))


# ---------------------------------------------------------------- 1. namesakes

NAMESAKES = {"li-wei": "Li Wei", "li-wei-2": "Li  Wei", "maria-gonzalez": "Maria Gonzalez",
             "maria-gonzalez-b": "MARIA GONZALEZ", "mohammed-ahmed": "Mohammed Ahmed", "m-ahmed": "Mohammed Ahmed",
             "wei-li": "李伟", "wei-li-2": "李伟"}


def test_namesakes_each_get_their_guide_and_nothing_is_blocked(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", NAMESAKES)
    code, out, err = check(root)
    assert (code, errors(err)) == (0, []), err
    assert build(root, monkeypatch, capsys, "--no-pdf")[0] == 0
    doc = manifest(root)
    assert sorted(e["id"] for e in doc["profiles"]) == sorted(NAMESAKES) and doc["errors"] == []
    # with an earlier good output in place, a later change is published too
    (root / "profiles" / "li-wei.yaml").write_text(profile("Li Wei", "li.wei.new@example.org"), "utf-8")
    code, _, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert (code, errors(err)) == (0, [])
    assert "li-wei" in {e["id"] for e in manifest(root)["profiles"]}


# ---------------------------------------------------------------- 2. everyday words

EVERYDAY = {"other": "Other Person", "grace": "Grace", "may": "May", "internal": "Ines Ternal", "one": "1",
            "dash": "-", "nil": "null", "index": "Index", "guide": "Guide", "page": "Page", "style": "Style"}


def test_everyday_word_ids_and_names_block_nothing(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", EVERYDAY)
    code, out, err = check(root)
    assert (code, errors(err)) == (0, []), err
    code, out, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert (code, errors(err)) == (0, []), err
    assert sorted(e["id"] for e in manifest(root)["profiles"]) == sorted(EVERYDAY)


# ---------------------------------------------------------------- 3. a real leak withholds one guide

def plant(root: Path, text: str) -> None:
    path = root / "themes" / "default" / "layouts" / "guide.html"
    source = path.read_text("utf-8")
    anchor = source.index('<p class="cover-name">')
    path.write_text(source[:anchor] + text + source[anchor:], "utf-8")


@pytest.mark.parametrize("planted", [
    pytest.param("Pri<b>ya</b> Nair", id="split-inside-a-word"),
    pytest.param("<span>Priya</span><span>Nair</span>", id="split-between-words"),
    pytest.param("PRIYA\n   nair", id="case-and-line-break"),
    pytest.param("<a href='../priya-nair/'>plan</a>", id="id-in-a-link"),
    pytest.param("PRIYA-NAIR@example.ORG", id="email"),
])
def test_a_leak_withholds_only_the_guide_concerned_and_check_says_so_first(tmp_path: Path, monkeypatch, capsys,
                                                                           planted: str):
    root = project(tmp_path / "p", {"aisha-rahman": "Aisha Rahman", "priya-nair": "Priya Nair", "may": "May"})
    assert build(root, monkeypatch, capsys, "--no-pdf")[0] == 0
    first = {e["id"]: e for e in manifest(root)["profiles"]}
    aisha = (root / "output" / first["aisha-rahman"]["html"]).read_bytes()
    plant(root, "{% if f.name == 'Aisha Rahman' %}<p>" + planted + "</p>{% endif %}")
    what = "email" if "@" in planted else "id" if "href" in planted else "name"
    code, out, err = check(root)
    assert code == 1 and errors(err) == [
        f"error: profiles/aisha-rahman.yaml: its guide would expose the {what} of profiles/priya-nair.yaml; "
        "a build withholds that guide"]
    code, out, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert code == 1 and errors(err) == [
        f"error: {first['aisha-rahman']['html']}: published file exposes the {what} of profiles/priya-nair.yaml; "
        "the guide of profiles/aisha-rahman.yaml is withheld"]
    assert counted(out) == 1
    doc = manifest(root)
    assert sorted(e["id"] for e in doc["profiles"]) == ["may", "priya-nair"]  # everyone else is published
    assert [e["id"] for e in doc["kept_previous"]] == ["aisha-rahman"]  # her last good guide stays
    assert (root / "output" / first["aisha-rahman"]["html"]).read_bytes() == aisha


def test_a_leak_on_a_page_every_visitor_sees_stops_the_build(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", {"aisha-rahman": "Aisha Rahman", "priya-nair": "Priya Nair"})
    path = root / "themes" / "default" / "landing.html"
    path.write_text(path.read_text("utf-8").replace("</main>", "<p>Well done, Priya Nair</p></main>", 1), "utf-8")
    code, _, err = check(root)
    assert code == 1 and "error: site/index.html: published file would expose the name of profiles/priya-nair.yaml; " \
                         "refusing to publish" in err
    code, _, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert code == 1 and "site/index.html: published file exposes the name of profiles/priya-nair.yaml" in err
    assert not (root / "output").exists()


@pytest.mark.slow
def test_a_name_only_the_pdf_shows_is_found_in_its_compressed_streams(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", {"aisha-rahman": "Aisha Rahman", "priya-nair": "Priya Nair",
                                    "li-wei": "Li Wei", "li-wei-2": "Li Wei"})
    plant(root, "{% if page.for_pdf and f.name == 'Aisha Rahman' %}<p>Priya Nair</p>{% endif %}")
    code, out, err = check(root)
    assert code == 1 and "profiles/aisha-rahman.yaml: its guide would expose the name of profiles/priya-nair.yaml" in err
    code, out, err = build(root, monkeypatch, capsys, "--jobs", "1")
    html = {e["id"]: e["html"] for e in manifest(root)["profiles"]}
    assert code == 1 and sorted(html) == ["li-wei", "li-wei-2", "priya-nair"]
    assert re.fullmatch(r"error: site/g/\w+/guide\.pdf: published file exposes the name of profiles/priya-nair\.yaml; "
                        r"the guide of profiles/aisha-rahman\.yaml is withheld", errors(err)[0]), err
    published = sorted(p.parent.name for p in (root / "output" / "site" / "g").glob("*/guide.pdf"))
    assert published == sorted(Path(h).parent.name for h in html.values())  # no earlier version: nothing of hers


# ---------------------------------------------------------------- the naughty strings as names

def test_the_naughty_strings_as_names_publish_the_cohort(tmp_path: Path, monkeypatch, capsys):
    names = list(dict.fromkeys(json.loads(BLNS.read_text("utf-8"))))  # each made unique
    assert len(names) > 500
    people = {f"n{i:03d}": name for i, name in enumerate(names)}
    root = project(tmp_path / "p", people)
    code, out, check_err = check(root)
    checked = counted(out)
    code, out, err = build(root, monkeypatch, capsys, "--no-pdf")
    doc = manifest(root)  # the cohort is published
    built = {e["id"] for e in doc["profiles"]}
    reasons: dict[str, list[str]] = {}
    for line in errors(err):
        match = re.match(r"error: (profiles/(n\d{3})\.yaml)(:\d+)?: .+", line)
        assert match, f"not located: {line!r}"
        reasons.setdefault(match.group(2), []).append(line)
    assert built | set(reasons) == set(people) and not built & set(reasons)  # built, or refused with a reason
    assert len(built) > 450
    assert counted(out) == checked == len(errors(err)) == len(errors(check_err))


# ---------------------------------------------------------------- 4. every file in profiles/ is accounted for

def test_every_entry_of_the_profiles_folder_is_read_or_reported(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", {"aisha-rahman": "Aisha Rahman"})
    folder = root / "profiles"
    (folder / "Ana-Souza.YAML").write_text(profile("Ana Souza", "ana@example.org", extra="id: ana-souza\n"), "utf-8")
    (folder / "lucia-fernandez.yml").write_text(profile("Lucía Fernández", "lucia@example.org"), "utf-8")
    (folder / "karim-haddad.Yml").write_text(profile("Karim Haddad", "karim@example.org"), "utf-8")
    (folder / "ghost.yaml").symlink_to("gone.yaml")
    (folder / "x.yaml").mkdir()
    (folder / "notes.txt").write_text("call Ana on Monday", "utf-8")
    (folder / ".hidden.yaml").write_text("name: [", "utf-8")  # hidden files and editor back-ups are left alone
    (folder / "aisha-rahman.yaml~").write_text("name: [", "utf-8")
    (folder / "README.md").write_text("Profiles of this cohort.", "utf-8")
    expected = [
        "error: profiles/ghost.yaml: not read: a symbolic link to gone.yaml, which does not exist",
        "error: profiles/notes.txt: not read: profile files end in .yaml or .yml; rename it, or move it out of the "
        "profiles folder",
        "error: profiles/x.yaml: not read: a folder named like a profile; profiles are files directly in the "
        "profiles folder, not in sub-folders",
    ]
    code, out, err = check(root)
    assert (code, errors(err), counted(out)) == (1, expected, 3)
    code, out, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert (code, errors(err), counted(out)) == (1, expected, 3)
    assert sorted(e["id"] for e in manifest(root)["profiles"]) == [
        "aisha-rahman", "ana-souza", "karim-haddad", "lucia-fernandez"]
    assert {e["id"]: e["source"] for e in manifest(root)["profiles"]}["ana-souza"] == "profiles/Ana-Souza.YAML"


def test_a_profile_file_named_in_capitals_without_an_id_is_reported(tmp_path: Path):
    root = project(tmp_path / "p")
    (root / "profiles" / "Ana-Souza.YAML").write_text(profile("Ana Souza", "ana@example.org"), "utf-8")
    code, out, err = check(root)
    assert code == 1 and errors(err) == [
        "error: profiles/Ana-Souza.YAML:1: id: the file name 'Ana-Souza' is not a valid id (lowercase letters, "
        "digits and hyphens, starting with a letter or digit, at most 64 characters); rename the file or add an id "
        "field"], err


# ---------------------------------------------------------------- 5. characters written as YAML escapes

@pytest.mark.parametrize("escape, message", [
    pytest.param("\\uFFFE", "name: must not contain U+FFFE, a noncharacter (written as an escape); remove it",
                 id="noncharacter-fffe"),
    pytest.param("\\uFDD0", "name: must not contain U+FDD0, a noncharacter (written as an escape); remove it",
                 id="noncharacter-fdd0"),
    pytest.param("\\U0010FFFF", "name: must not contain U+10FFFF, a noncharacter (written as an escape); remove it",
                 id="noncharacter-plane-16"),
    pytest.param("\\x07", "name: must not contain control characters such as line breaks (found U+0007)", id="bell"),
    pytest.param("\\x85", "name: must not contain control characters such as line breaks (found U+0085)", id="nel"),
    pytest.param("\\u202E", "name: must not contain control characters such as line breaks (found U+202E)",
                 id="bidi-override"),
    pytest.param("\\u2066", "name: must not contain control characters such as line breaks (found U+2066)",
                 id="bidi-isolate"),
])
def test_characters_written_as_escapes_are_checked_decoded(tmp_path: Path, monkeypatch, capsys, escape: str,
                                                           message: str):
    root = project(tmp_path / "p", {"aisha-rahman": "Aisha Rahman"})
    (root / "profiles" / "karim-haddad.yaml").write_text(
        f'name: "Karim {escape} Haddad"\n' + profile("x", "karim@example.org").split("\n", 1)[1], "utf-8")
    code, out, err = check(root)
    assert (code, errors(err)) == (1, [f"error: profiles/karim-haddad.yaml:1: {message}"])
    code, out, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert (code, errors(err)) == (1, [f"error: profiles/karim-haddad.yaml:1: {message}"])
    assert [e["id"] for e in manifest(root)["profiles"]] == ["aisha-rahman"]
    char = chr(int(re.search(r"U\+([0-9A-F]+)", message).group(1), 16))
    texts = [p for p in (root / "output").rglob("*") if p.suffix in (".html", ".ics", ".json", ".csv")]
    assert texts and not any(char in p.read_text("utf-8") for p in texts)  # not in the pages, roster or calendars


@pytest.mark.parametrize("char", ["\ufdd0", "\ufffe"])
def test_a_noncharacter_typed_raw_is_refused_like_an_escaped_one(tmp_path: Path, char: str):
    root = project(tmp_path / "p")
    (root / "profiles" / "karim-haddad.yaml").write_text(profile(f"Karim {char} Haddad", "karim@example.org"), "utf-8")
    code, out, err = check(root)
    assert errors(err) == [f"error: profiles/karim-haddad.yaml:1: file contains U+{ord(char):04X}, a noncharacter; "
                           "remove it"]


# ---------------------------------------------------------------- 6. small messages

def test_a_huge_profile_is_reported_in_human_sizes(tmp_path: Path):
    root = project(tmp_path / "p")
    (root / "profiles" / "big.yaml").write_text(profile("Big File", "big@example.org") + "#" * (5 * 1024 * 1024),
                                                "utf-8")
    code, out, err = check(root)
    assert errors(err) == ["error: profiles/big.yaml: file is larger than 256 KB (5 MB)"]


def test_control_characters_in_keys_and_values_keep_each_message_on_one_line(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", {"aisha-rahman": "Aisha Rahman"})
    body = profile("Karim Haddad", "karim@example.org")
    (root / "profiles" / "karim-haddad.yaml").write_text(body + '"na\\nme\\u202e": 1\n"visa\\r": j1\n', "utf-8")
    expected = [
        "error: profiles/karim-haddad.yaml:7: na\\nme\\u202e: unknown field 'na\\nme\\u202e'; did you mean 'name'?",
        "error: profiles/karim-haddad.yaml:8: visa\\r: unknown field 'visa\\r'; did you mean 'visa'?",
    ]
    code, out, err = check(root)
    assert errors(err) == expected and len(err.splitlines()) == 2
    code, out, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert errors(err) == expected and len(err.splitlines()) == 2
    roster = (root / "output" / "roster.html").read_text("utf-8")
    assert "\u202e" not in roster


def test_check_and_build_count_the_same_problems(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", {"aisha-rahman": "Aisha Rahman", "li-wei": "Li Wei", "li-wei-2": "Li Wei"})
    folder = root / "profiles"
    (folder / "dup.yaml").write_text(profile("Dup Person", "dup@example.org", extra="id: aisha-rahman\n"), "utf-8")
    (folder / "bad.yaml").write_text(profile("Bad", "not-an-email"), "utf-8")
    (folder / "x.yaml").mkdir()
    (folder / "broken.yml").write_text("name: [\n", "utf-8")
    (folder / "escaped.yaml").write_text(profile("Karim \ufffe Haddad", "karim@example.org"), "utf-8")
    (folder / "notes.txt").write_text("call Ana", "utf-8")
    plant(root, "{% if f.name == 'Aisha Rahman' %}<p>Li Wei</p>{% endif %}")
    code, out, check_err = check(root)
    checked = counted(out)
    code, out, err = build(root, monkeypatch, capsys, "--no-pdf")
    assert counted(out) == checked == len(errors(err)) == len(errors(check_err)) >= 6
