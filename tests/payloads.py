"""The payload corpus of the hardening tests, and a small real project to push it through.

Every payload is either *inert* (it loads, and every output shows it as literal
text) or *rejected* (the loader refuses it with a located error). There is no
third kind: a payload that loads must never become markup, a link, a template,
a header or a control character in any output.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path

from generator.build import BuildOptions, BuildResult, build

ROOT = Path(__file__).resolve().parent.parent
MINI = ROOT / "tests" / "golden" / "mini"
AS_OF = date(2026, 11, 25)
EVIL = "evil.example"


@dataclass(frozen=True)
class Payload:
    """One hostile string; `rejected` is a fragment of the loader's message, or None when it must load."""

    key: str
    text: str
    rejected: str | None = None


INERT = [
    Payload("script-tag", '<script>alert("xss")</script>'),
    Payload("img-onerror", "<img src=x onerror=alert(1)>"),
    Payload("svg-onload", '"><svg/onload=alert(1)>'),
    Payload("attr-break", "' onmouseover='alert(1)' x='"),
    Payload("js-url", "javascript:alert(document.cookie)"),
    Payload("md-link-js", "[click me](javascript:alert(1))"),
    Payload("md-link", f"[win a prize](https://{EVIL}/phish)"),
    Payload("md-image", f"![pixel](https://{EVIL}/track.png)"),
    Payload("md-autolink", f"<https://{EVIL}/auto>"),
    Payload("md-ref-link", f"[ref][1] [1]: https://{EVIL}/ref"),
    Payload("bare-url", f"https://{EVIL}/bare"),
    Payload("jinja-expr", "{{ 7*7 }}"),
    Payload("jinja-stmt", "{% for x in range(3) %}loop{% endfor %}"),
    Payload("jinja-ssti", "{{ ''.__class__.__mro__[1].__subclasses__() }}"),
    Payload("html-entities", "&lt;b&gt;Tom &amp; Jerry&#33;&lt;/b&gt;"),
    Payload("md-specials", "**Bold** _under_ `code` # not a heading ~~gone~~"),
    Payload("md-table", "| a | b | --- |"),
    Payload("quotes", "O'Brien \"Quote\" back\\slash"),
    Payload("unicode", "Zoë Ñandú-Łukasz Ørsted 王小明 محمد 🙂"),
    Payload("long", "Abcdefghij" * 8),  # 80 characters: the longest a practice exam name may be
    Payload("header-ish", f"Eve <eve@{EVIL}>, Bcc: all@{EVIL}"),
]

REJECTED = [
    # Python < 3.11.10 decodes encoded words while folding headers, CR/LF included (CVE-2024-6923).
    Payload("encoded-word", f"=?utf-8?q?=0D=0ABcc:_all@{EVIL}?=", "encoded word"),
    Payload("encoded-word-spaced", f"Ann =?x y?q?=0D=0A Bcc: all@{EVIL}?= Lee", "encoded word"),
    Payload("crlf", f"Ann\r\nBcc: all@{EVIL}", "control character"),
    Payload("lf", "Ann\nSubject: free money", "control character"),
    Payload("cr", "Ann\rTo: x", "control character"),
    Payload("nul", "Ann\x00Bob", "control character"),
    Payload("tab", "Ann\tBob", "control character"),
    Payload("escape", "Ann\x1b[31mred", "control character"),
    Payload("c1-nel", "Ann\x85Bob", "control character"),
    Payload("rtl-override", "Ann\u202egpj.exe", "control character"),
    Payload("line-separator", "Ann\u2028Bob", "control character"),
    Payload("too-long", "A" * 121, "at most"),
    Payload("blank", "   ", "must not be blank"),
]

# The id is a path segment and a key: anything but [a-z0-9-] is refused.
BAD_IDS = ["../../etc/passwd", "<script>", "Aisha", "a b", "a/b", "-lead", "a" * 65, "javascript:x", "a\u202eb", "é"]
BAD_EMAILS = [
    f"a@example.org\r\nBcc: all@{EVIL}",
    f"a@example.org\nBcc: all@{EVIL}",
    '"<script>"@example.org',
    f"a@example.org, b@{EVIL}",
    f"Eve <eve@{EVIL}>",
    "a@example.org>",
    "a@example.org\x00",
]


def quoted(text: str) -> str:
    """A YAML double-quoted scalar for any text (JSON strings are YAML; control characters become escapes)."""
    return json.dumps(text, ensure_ascii=False)


def profile_yaml(*, name: str = "Test Applicant", email: str = "applicant@example.org", advisor: str | None = "Dr. Lee",
                 practice_name: str | None = "NBME 13", applicant_id: str | None = None) -> str:
    """A valid profile (pending Step 2 CK with one practice exam), each text field written as given."""
    lines = [f"name: {quoted(name)}", f"email: {quoted(email)}", "graduation_year: 2022", "cycle: 2027",
             "step1: {result: pass, attempts: 1}",
             "step2_ck:", "  result: pending", "  exam_date: 2027-05-20", "  practice:",
             f"    - {{date: 2027-03-01, score: 231, name: {quoted(practice_name)}}}" if practice_name is not None
             else "    - {date: 2027-03-01, score: 231}",
             "visa: j1", "usce_months: 4"]
    if advisor is not None:
        lines.append(f"advisor: {quoted(advisor)}")
    if applicant_id is not None:
        lines.insert(0, f"id: {quoted(applicant_id)}")
    return "\n".join(lines) + "\n"


# A section that prints every profile text field in the Markdown contexts an author might use.
PROBE = """---
id: probe
title: Probe
order: 5
when: "true"
---
Name: {{ name }}

- Advisor: {{ advisor }}
- Practice exam: {{ step2.latest_practice_name }}

| who | value |
|---|---|
| name | {{ name }} |

[{{ name }}](https://example.org/ok) and **{{ name }}**

### {{ name }}
"""


class Project:
    """A real project in a temporary folder: profiles, content and a copy of the default theme."""

    def __init__(self, root: Path, *, content: Path = MINI / "content", profiles: Path | None = MINI / "profiles"):
        self.root = root
        shutil.copytree(content, root / "content")
        shutil.copytree(ROOT / "themes" / "default", root / "themes" / "default")
        (root / "profiles").mkdir()
        if profiles is not None:
            for path in profiles.glob("*.yaml"):
                shutil.copy(path, root / "profiles" / path.name)

    @property
    def out(self) -> Path:
        return self.root / "output"

    @property
    def theme(self) -> Path:
        return self.root / "themes" / "default"

    def write(self, rel: str, data: str | bytes) -> Path:
        """Write one file under the project (folders made as needed)."""
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        return path

    def options(self, **kw) -> BuildOptions:
        """Build options for this project; keywords override (pdf defaults to False)."""
        base = dict(profiles=self.root / "profiles", content=self.root / "content", theme=self.theme, out=self.out,
                    state=self.root / ".matchguide", pdf=False, as_of=AS_OF)
        return BuildOptions(**{**base, **kw})

    def build(self, **kw) -> BuildResult:
        """Build in this process."""
        return build(self.options(**kw))

    def command(self, *args: str) -> list[str]:
        """The argv of `python -m generator build ...` (run it in the project folder)."""
        return cli_command(*args)

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run the real CLI build in the project folder."""
        return subprocess.run(cli_command(*args), cwd=self.root, capture_output=True, text=True, timeout=timeout,
                              env=cli_env())

    def debris(self) -> list[str]:
        """Leftovers a finished build must not leave: staging and old trees, temporary files."""
        found = [p.name for p in self.root.iterdir() if p.name in (".output.staging", ".output.old")]
        if self.out.is_dir():
            found += [str(p.relative_to(self.root)) for p in self.out.rglob("*") if p.name.endswith(".tmp")]
            found += [str(p.relative_to(self.root)) for p in self.out.rglob(".pdf-src")]
        return found


def cli_command(*args: str) -> list[str]:
    """The argv of `python -m generator build --as-of <the tests' date> ...`."""
    return [sys.executable, "-m", "generator", "build", "--as-of", AS_OF.isoformat(), *args]


def cli_env() -> dict[str, str]:
    """The environment for a CLI subprocess: ours, with the repository importable and no site key override."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "MATCHGUIDE_SITE_KEY"}
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under a folder, by relative path, with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


class Page(HTMLParser):
    """An HTML page as a reader and a browser see it: elements with attributes, and visible text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self._hidden = 0
        self._ids: list[tuple[str | None, str]] = []  # (id of the innermost element with one, its tag)
        self.text_by_id: dict[str, list[str]] = {}
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag in ("script", "style"):
            self._hidden += 1
        if tag not in ("br", "img", "meta", "link", "input", "hr", "col"):
            self._ids.append((dict(attrs).get("id"), tag))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1
        while self._ids:
            _, open_tag = self._ids.pop()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._hidden:
            return
        self.chunks.append(data)
        for element_id, _ in self._ids:
            if element_id:
                self.text_by_id.setdefault(element_id, []).append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)

    def text_of(self, element_id: str) -> str:
        """The visible text inside the element with this id."""
        return "".join(self.text_by_id.get(element_id, []))

    def urls(self) -> list[str]:
        """Every URL-valued attribute in the page."""
        return [value or "" for _, attrs in self.elements for name, value in attrs.items()
                if name in ("href", "src", "action", "formaction", "srcset", "xlink:href", "poster", "data")]
