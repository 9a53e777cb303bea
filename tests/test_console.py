"""The console display of build, serve and email events: rich bars on a terminal, plain lines in a pipe."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from rich.console import Console

from generator.build import build
from generator.console import ConsoleProgress, show_summary
from generator.project import BuildOptions
from generator.write import manifest
from tests.conftest import AS_OF, ROOT

PROFILES = ("aisha-rahman", "fatima-benali", "karim-haddad")
KEY = "console-test-site-key-0123456789abcdef"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BUILD_EVENTS = [("start", {"guides": 3, "pdf": True}), ("guide", {"id": "a", "band": "solid"}),
                ("problem", {"problem": "profiles/c.yaml:4: step2_ck.score: expected an integer"}),
                ("guide", {"id": "b", "band": "low"}), ("kept", {"id": "d"}),
                ("pdf", {"id": "a", "pages": 14}), ("pdf", {"id": "b", "pages": 12}), ("done", {})]


def terminal() -> tuple[io.StringIO, Console]:
    """A rich console that believes it draws on a terminal, writing into a buffer."""
    buffer = io.StringIO()
    return buffer, Console(file=buffer, force_terminal=True, color_system="truecolor", width=100)


def last_frame(text: str) -> list[str]:
    """The lines of the last frame a rich live display drew (escape codes removed)."""
    final = text.rsplit("\x1b[?25l", 1)[-1]  # each start of the bars hides the cursor
    frames = re.split(r"\r\x1b\[2K(?:\x1b\[1A\x1b\[2K)*", final)
    return [line.rstrip() for line in ANSI.sub("", frames[-1]).splitlines() if line.strip()]


def project_copy(root: Path) -> BuildOptions:
    """A private copy of the inputs (three profiles), HTML only."""
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copytree(ROOT / "themes" / "default", root / "theme")
    (root / "profiles").mkdir()
    for pid in PROFILES:
        shutil.copy(ROOT / "profiles" / f"{pid}.yaml", root / "profiles")
    return BuildOptions(profiles=root / "profiles", content=root / "content", theme=root / "theme",
                        out=root / "out", state=root / "state", pdf=False, as_of=AS_OF)


def test_plain_lines_when_not_a_terminal():
    out = io.StringIO()
    console = ConsoleProgress(out, tty=False)
    for kind, data in BUILD_EVENTS:
        console.event(kind, **data)
    assert out.getvalue() == ("[1/3] a: built (solid)\nerror: profiles/c.yaml:4: step2_ck.score: expected an integer\n"
                              "[2/3] b: built (low)\n[3/3] d: unchanged\n  pdf [1/2] a: 14 pages\n"
                              "  pdf [2/2] b: 12 pages\n")
    assert "\x1b" not in out.getvalue() and "\r" not in out.getvalue()


def test_a_terminal_shows_progress_bars_with_problems_printed_above():
    out, rich_console = terminal()
    console = ConsoleProgress(out, console=rich_console)
    assert console.tty
    for kind, data in BUILD_EVENTS[:5]:
        console.event(kind, **data)
    assert console.pdf_total == 2  # known once every guide is written: one per guide built
    for kind, data in BUILD_EVENTS[5:]:
        console.event(kind, **data)
    text = out.getvalue()
    assert "\x1b[" in text and "━" in text  # drawn, in colour
    assert "error: profiles/c.yaml:4: step2_ck.score: expected an integer\n" in ANSI.sub("", text)
    guides, pdfs = last_frame(text)
    assert re.fullmatch(r"guides ━{20,} 3/3 1 problem\(s\)", guides.strip())
    assert re.fullmatch(r"PDFs ━{20,} 2/2", pdfs.strip())
    assert "\x1b[38;2;114;156;31m" in text.rsplit("\x1b[?25l", 1)[-1]  # the finished colour: the bars are full
    assert text.endswith("\x1b[?25h")  # the cursor is back


def test_quiet_shows_only_problems_and_serve_lines_even_on_a_terminal():
    out, rich_console = terminal()
    console = ConsoleProgress(out, quiet=True, console=rich_console)
    console.event("start", guides=1)
    console.event("guide", id="a", band="solid")
    console.event("problem", problem="x.yaml:1: bad")
    console.event("rebuilt", number=2, built=1, kept=0, problems=1)
    console.event("done")
    assert out.getvalue() == "error: x.yaml:1: bad\nbuild #2: 1 built, 0 unchanged, 1 problem(s); open pages reload\n"


EMAIL_EVENTS = [("note", {"text": "MATCHGUIDE_SITE_URL is not set"}), ("email_start", {"applicants": 2, "send": True}),
                ("connected", {"host": "127.0.0.1", "port": 2525, "security": "none", "messages": 2}),
                ("message", {"id": "ana", "outcome": "sent", "detail": "250 OK", "to": "a@example.org"}),
                ("retry", {"what": "bo", "error": "451 try later", "delay": 2.0}),
                ("message", {"id": "bo", "outcome": "refused", "detail": "RCPT TO: 550 no", "to": "b@example.org"}),
                ("email_done", {})]


def test_email_events_become_lines_and_count_applicants():
    out = io.StringIO()
    console = ConsoleProgress(out, tty=False)
    for kind, data in EMAIL_EVENTS:
        console.event(kind, **data)
    assert out.getvalue().splitlines() == [
        "note: MATCHGUIDE_SITE_URL is not set", "connected to 127.0.0.1:2525 (none); sending 2 message(s)",
        "ana: sent to a@example.org", "bo: 451 try later; retrying in 2 s", "bo: refused: RCPT TO: 550 no"]
    assert console.done == console.total == 2 and console.label == "applicants"


def test_email_progress_on_a_terminal_ends_on_the_full_count():
    out, rich_console = terminal()
    console = ConsoleProgress(out, console=rich_console)
    for kind, data in EMAIL_EVENTS:
        console.event(kind, **data)
    console.close()
    plain = ANSI.sub("", out.getvalue())
    for line in ("note: MATCHGUIDE_SITE_URL is not set", "ana: sent to a@example.org", "bo: refused: RCPT TO: 550 no"):
        assert line + "\n" in plain
    (bar,) = last_frame(out.getvalue())
    assert re.fullmatch(r"applicants ━{20,} 2/2", bar.strip())


def test_summary_table_from_a_real_manifest(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("MATCHGUIDE_SITE_KEY", KEY)
    options = project_copy(tmp_path)
    result = build(options)
    doc = manifest.read(options.out)
    out = io.StringIO()
    show_summary(doc, {i: "built" for i in result.rebuilt}, out, tty=False)
    assert "\x1b" not in out.getvalue()
    table = [line for line in out.getvalue().splitlines() if line.strip()]
    assert table[0].split() == ["id", "band", "basis", "programs", "flags", "pages", "status"]
    assert set(table[1].strip()) == {"─"}  # the rule under the header
    rows = {line.split()[0]: line for line in table[2:]}
    assert list(rows) == list(PROFILES)
    assert re.search(r"aisha-rahman +solid +official 238 +120–160 +long_gap +— +built$", rows["aisha-rahman"].rstrip())
    assert re.search(r"karim-haddad +strong \(projected\) +practice \d+ ", rows["karim-haddad"])
    assert re.search(r"fatima-benali +pending +none +— ", rows["fatima-benali"])
    starts = {line.index(line.split()[1], len(line.split()[0])) for line in table[2:]}
    assert starts == {table[0].index("band")}  # columns line up


def test_a_piped_build_has_plain_lines_and_no_escape_codes(tmp_path: Path):
    project_copy(tmp_path)
    env = {**os.environ, "MATCHGUIDE_SITE_KEY": KEY, "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    args = [sys.executable, "-m", "generator", "build", "--no-pdf", "--as-of", AS_OF.isoformat(), "--profiles",
            "profiles", "--content", "content", "--theme", "theme", "--out", "out"]
    proc = subprocess.run(args, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr
    assert proc.stderr.splitlines() == [f"[{i}/3] {pid}: built ({band})" for i, (pid, band)
                                        in enumerate(zip(PROFILES, ("solid", "pending", "strong")), 1)]
    assert [line.split()[0] for line in proc.stdout.splitlines()[2:-1] if line.strip()] == list(PROFILES)
    assert proc.stdout.splitlines()[-1].startswith("built 3 guide(s), 0 unchanged")

    quiet = subprocess.run(args + ["--quiet", "--force"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert quiet.stdout.splitlines() == [line for line in quiet.stdout.splitlines() if line.startswith("built 3")]
