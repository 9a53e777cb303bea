"""Every applicant's name prints (issue 13, item 7): the PDF embeds a font for every script, and `check` warns,
with file, line and code point, about a character no installed font has."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.test_cohort import build, check, errors, manifest, project

NAMES = {  # id: (name, a font family pdffonts must list)
    "wang-fang": ("王芳", "Noto-Sans-CJK"),
    "kim-minjun": ("김민준", "Noto-Sans-CJK"),
    "tanaka-yuki": ("田中 ゆき", "Noto-Sans-CJK"),
    "priya-patel": ("प्रिया पटेल", "Noto-Sans-Devanagari"),
    "omar-haddad": ("عمر حداد", "DejaVu-Sans"),
    "olga-ivanova": ("Ольга Иванова", "DejaVu-Sans"),
    "star-person": ("Star 🌟 Person", "Noto-Color-Emoji"),
}
POPPLER = shutil.which("pdffonts") and shutil.which("pdftotext")


def poppler(tool: str, pdf: Path) -> str:
    return subprocess.run([tool, str(pdf), "-"] if tool == "pdftotext" else [tool, str(pdf)], capture_output=True,
                          text=True, check=True, timeout=120).stdout


def test_names_in_every_script_have_a_font_and_check_says_nothing(tmp_path: Path):
    root = project(tmp_path / "p", {pid: name for pid, (name, _) in NAMES.items()})
    code, out, err = check(root)
    assert (code, err) == (0, ""), err
    assert "0 warning(s)" in out


@pytest.mark.parametrize("written, code_point, field, line", [
    pytest.param('name: "Ola \\U00016A70 Tangsa"', "U+16A70", "name", 1, id="tangsa-letter"),
    pytest.param('advisor: "Dr. \\uE000"', "U+E000", "advisor", 7, id="private-use"),
])
def test_a_character_no_font_has_is_a_located_warning(tmp_path: Path, written: str, code_point: str, field: str,
                                                      line: int):
    root = project(tmp_path / "p", {"wang-fang": "王芳"})
    lines = (root / "profiles" / "wang-fang.yaml").read_text("utf-8").splitlines()
    if field == "name":
        lines[0] = written
    else:
        lines.append(written)
    (root / "profiles" / "wang-fang.yaml").write_text("\n".join(lines) + "\n", "utf-8")
    code, out, err = check(root)
    assert code == 0 and errors(err) == [] and err.splitlines() == [
        f"warning: profiles/wang-fang.yaml:{line}: {field}: {code_point} has no font in the PDF (it prints as an "
        "empty box); install a font that has it, such as one of the Noto fonts"]
    code, out, err = check(root, "--strict")
    assert code == 1


@pytest.mark.slow
@pytest.mark.skipif(not POPPLER, reason="needs pdffonts and pdftotext (poppler-utils; `make browsers` installs it)")
def test_the_pdf_embeds_a_font_for_every_script_and_gives_the_name_back(tmp_path: Path, monkeypatch, capsys):
    root = project(tmp_path / "p", {pid: name for pid, (name, _) in NAMES.items()})
    code, out, err = build(root, monkeypatch, capsys, "--jobs", "2")
    assert (code, errors(err)) == (0, []), err
    assert sorted(e["id"] for e in manifest(root)["profiles"]) == sorted(NAMES)
    for pid, (name, family) in NAMES.items():
        pdf = root / "output" / "pdf" / f"{pid}.pdf"
        fonts = poppler("pdffonts", pdf)
        assert family in fonts, f"{pid}: no {family} embedded:\n{fonts}"
        embedded = [row.split() for row in fonts.splitlines()[2:]]
        assert embedded and all(cols[-5] == "yes" for cols in embedded), fonts  # every font embedded (emb column)
        text = poppler("pdftotext", pdf)  # pdftotext may space out a combining mark (`पटे ल`): compare without spaces
        assert "".join(name.split()) in "".join(text.split()), f"{pid}: pdftotext does not give back {name!r}"
        if pid != "priya-patel":
            assert name in text
