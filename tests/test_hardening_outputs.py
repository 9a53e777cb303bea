"""Hardening, the output side: applicant data stays inert; PDFs read only the project's assets.

The payload corpus (tests/payloads.py) goes through every profile text field that
reaches output, in real builds: the shipped content (HTML), the mini site (HTML,
PDF) and the email outbox of a dry run. The PDF tests build guides whose content
and theme reach for files outside the asset folders and for a loopback web server.
"""

from __future__ import annotations

import email.header
import email.parser
import email.policy
import email.utils
import json
import html as htmlmod
import http.server
import io
import re
import threading
from pathlib import Path

import pytest
from pypdf import PdfReader

from generator.deliver.addresses import ALLOW_EXAMPLE_ENV
from generator.errors import BuildError
from generator.deliver.sending import EmailOptions, run_email
from tests.payloads import (BAD_EMAILS, BAD_IDS, EVIL, INERT, PROBE, REJECTED, ROOT, Page, Payload, Project,
                            profile_yaml, snapshot)

CANARY = "CANARY-5d1e0c"
FIELDS = {"name": 1, "practice": 10, "advisor": 13}  # the line of each text field in profile_yaml()
PLAIN = Payload("plain", "Plain Person")


def payload_profile(payload: Payload) -> str:
    """One profile with the payload in every text field that reaches output."""
    return profile_yaml(name=payload.text, advisor=payload.text, practice_name=payload.text,
                        email=f"{payload.key}@example.org")


def make_payload_site(root: Path, content: Path) -> Project:
    site = Project(root, content=content, profiles=None)
    site.write("content/sections/05-probe.md", PROBE.replace("order: 5\n", "order: 5\ntemplate: glance\n"))
    for payload in [PLAIN, *INERT]:
        site.write(f"profiles/payload-{payload.key}.yaml", payload_profile(payload))
    return site


@pytest.fixture(scope="module")
def shipped(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict]:
    """The shipped content and theme, HTML only, one guide per payload."""
    site = make_payload_site(tmp_path_factory.mktemp("shipped") / "site", ROOT / "content")
    result = site.build()
    assert result.ok, result.problems
    return site, {e["id"]: e for e in result.entries}


@pytest.fixture(scope="module")
def printed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, dict]:
    """The mini content with PDFs, one guide per payload, then an email dry run over them."""
    site = make_payload_site(tmp_path_factory.mktemp("printed") / "site", ROOT / "tests" / "golden" / "mini" / "content")
    result = site.build(pdf=True, jobs=2)
    assert result.ok, result.problems
    outcome = run_email(EmailOptions(out_dir=site.out, theme_dir=site.theme, ledger_path=site.root / ".matchguide" /
                                     "ledger.jsonl"), env={ALLOW_EXAMPLE_ENV: "1"})
    assert outcome.ok and len(outcome.written) == len(INERT) + 1, outcome.summary()
    return site, {e["id"]: e for e in result.entries}


def structure(page: Page) -> list[tuple[str, tuple[str, ...]]]:
    """Every element and its attribute names: what a payload must never change."""
    return [(tag, tuple(sorted(attrs))) for tag, attrs in page.elements]


def assert_inert_html(source: str, payload: Payload, baseline: Page) -> None:
    page = Page(source)
    assert structure(page) == structure(baseline), "the payload changed the page's elements or attributes"
    assert not re.search(r"<\s*script", source, re.IGNORECASE)
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", source, re.IGNORECASE), "an event attribute in a tag"
    for url in page.urls():
        assert not url.strip().lower().startswith(("javascript:", "vbscript:", "data:text")), url
        assert EVIL not in url, url
    assert sum(1 for url in page.urls() if url == "https://example.org/ok") == 1
    # Shown literally, where each field is printed: the theme (autoescaped) and the Markdown body.
    title = re.search(r"<title>(.*?)</title>", source, re.DOTALL).group(1)
    assert htmlmod.unescape(title) == payload.text
    probe = page.text_of("probe")
    for line in (f"Name: {payload.text}", f"Advisor: {payload.text}", f"Practice exam: {payload.text}",
                 f"name\n{payload.text}", f"({payload.text}, 1 Mar 2027)"):
        assert line in probe, f"{line!r} is not shown literally"
    assert page.text.count(payload.text) >= 8


def decoded_header(raw: bytes, name: str) -> str:
    """One header of a raw message, unfolded and with its encoded words decoded."""
    value = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)[name]
    return " ".join(str(email.header.make_header(email.header.decode_header(value))).split())


def guide_html(site: Project, entry: dict) -> str:
    return (site.out / entry["html"]).read_text("utf-8")


@pytest.mark.parametrize("payload", INERT, ids=[p.key for p in INERT])
def test_payloads_are_inert_in_the_shipped_guides(shipped, payload: Payload) -> None:
    site, entries = shipped
    baseline = Page(guide_html(site, entries["payload-plain"]))
    assert_inert_html(guide_html(site, entries[f"payload-{payload.key}"]), payload, baseline)


@pytest.mark.slow
@pytest.mark.parametrize("payload", INERT, ids=[p.key for p in INERT])
def test_payloads_are_inert_in_html_pdf_and_email(printed, payload: Payload) -> None:
    site, entries = printed
    entry = entries[f"payload-{payload.key}"]
    assert_inert_html(guide_html(site, entry), payload, Page(guide_html(site, entries["payload-plain"])))
    # The PDF shows the literal text (line breaks may fall anywhere in a long name, so compare without spaces).
    reader = PdfReader(site.out / entry["pdf"])
    text = "".join(page.extract_text() for page in reader.pages)
    if payload.key != "unicode":  # the default fonts have no CJK or Arabic glyphs; its HTML and email are checked
        assert re.sub(r"\s+", "", payload.text) in re.sub(r"\s+", "", text)
    assert reader.metadata.title.startswith(payload.text)
    for page in reader.pages:
        for annotation in page.get("/Annots") or []:
            action = annotation.get_object().get("/A") or {}
            assert action.get("/S") != "/JavaScript" and EVIL not in str(action.get("/URI", ""))
    # The email: one recipient, one subject, no header of the payload's making.
    raw = (site.out / "outbox" / f"payload-{payload.key}.eml").read_bytes()
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(raw)
    assert sorted(message.keys()) == sorted(["From", "To", "Subject", "Date", "Message-ID", "MIME-Version",
                                             "Content-Type"])
    assert len(message.get_all("To")) == 1 and len(message.get_all("Subject")) == 1
    # Decoded as RFC 2047 says (adjacent encoded words join without the space; Python's parser adds one).
    to, subject = decoded_header(raw, "To"), decoded_header(raw, "Subject")
    assert email.utils.parseaddr(to) == (payload.text, f"{payload.key}@example.org")
    assert subject.strip() == f"{payload.text}, your residency guide for the ERAS 2028 season"
    assert not re.search(rb"^(bcc|cc|reply-to):", raw, re.IGNORECASE | re.MULTILINE)
    plain = message.get_body(("plain",)).get_content()
    assert f"Dear {payload.text}," in plain
    body = message.get_body(("html",)).get_content()
    page = Page(body)
    assert not re.search(r"<\s*script", body, re.IGNORECASE) and f"Dear {payload.text}," in page.text
    assert all(EVIL not in url and not url.lower().startswith("javascript:") for url in page.urls())


def test_a_header_the_email_library_would_invent_is_refused(printed) -> None:
    """The last guard: a name that slipped past the loader (here, edited into the manifest) cannot add headers."""
    site, _ = printed
    manifest = json.loads((site.out / "manifest.json").read_text())
    entry = next(e for e in manifest["profiles"] if e["id"] == "payload-plain")
    entry["name"] = f"=?utf-8?q?=0D=0ABcc:_all@{EVIL}?="
    (site.out / "manifest.json").write_text(json.dumps(manifest))
    outcome = run_email(EmailOptions(out_dir=site.out, theme_dir=site.theme, ledger_path=site.root / ".matchguide" /
                                     "ledger.jsonl", only=["payload-plain", "payload-script-tag"]), env={ALLOW_EXAMPLE_ENV: "1"})
    assert outcome.written == ["payload-script-tag"]
    (problem,) = outcome.problems
    assert str(problem) == "outbox/payload-plain.eml: email: the message to payload-plain would carry headers it " \
                           "was not given; not written"
    assert not (site.out / "outbox" / "payload-plain.eml").exists()


@pytest.fixture
def chdir_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    site = Project(tmp_path / "site")
    monkeypatch.chdir(site.root)
    return site


def test_payloads_the_loader_refuses_are_located_errors(chdir_site: Project) -> None:
    site = chdir_site
    expected = []  # (file, line, field path or None for a whole-file refusal, fragment)
    for payload in REJECTED:
        for field, line in FIELDS.items():
            values = {"name": "Plain Person", "advisor": "Dr. Lee", "practice_name": "NBME 13"}
            values["practice_name" if field == "practice" else field] = payload.text
            rel = f"profiles/rejected-{payload.key}-{field}.yaml"
            site.write(rel, profile_yaml(**values, email=f"{payload.key}-{field}@example.org"))
            path = {"practice": "step2_ck.practice[0].name"}.get(field, field)
            expected.append((rel, line, path, payload.rejected))
    for i, bad in enumerate(BAD_IDS):
        site.write(f"profiles/bad-id-{i}.yaml", profile_yaml(applicant_id=bad, email=f"id{i}@example.org"))
        expected.append((f"profiles/bad-id-{i}.yaml", 1, "id", "expected an id"))
    for i, bad in enumerate(BAD_EMAILS):
        site.write(f"profiles/bad-email-{i}.yaml", profile_yaml(email=bad, name=f"Email Person {i}"))
        smuggled = "\x00" in bad  # an escaped NUL is refused as a character before the address is read
        expected.append((f"profiles/bad-email-{i}.yaml", 2, "email",
                         "must not contain control characters" if smuggled else "expected an email address"))
    site.write("profiles/Bad Name.yaml", profile_yaml(name="File Person", email="file@example.org"))
    expected.append(("profiles/Bad Name.yaml", None, "id", "the file name 'Bad Name' is not a valid id"))
    result = site.build()
    for rel, line, field, fragment in expected:
        matches = [p for p in result.problems if p.source == rel and fragment in p.message]
        assert matches, f"{rel}: no problem with {fragment!r}: {[str(p) for p in result.problems if p.source == rel]}"
        problem = matches[0]
        assert problem.field in (field, None) and (line is None or problem.line == line), str(problem)
    built = {e["id"] for e in result.entries}
    assert built == {"ada-okafor", "bruno-reis", "chen-wu"}  # nothing refused was built


# --- 5. PDFs read nothing outside the project's assets and nothing from the network -----------------------------

class CanaryServer(http.server.ThreadingHTTPServer):
    """A loopback web server that answers every request with a canary image and remembers it was asked."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
                server.hits.append(self.path)
                body = canary_svg().encode()
                self.send_response(200)
                self.send_header("Content-Type", "image/svg+xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


@pytest.fixture
def canary_server():
    server = CanaryServer()
    yield server
    server.stop()


def canary_svg() -> str:
    """An image whose text a PDF would carry if the image were drawn."""
    return f'<svg xmlns="http://www.w3.org/2000/svg" width="300" height="30"><text y="20">{CANARY}</text></svg>'


def plant_canaries(site: Project) -> None:
    """Files outside the asset folders that must never reach an output; one is linked from inside them."""
    site.write("outside.svg", canary_svg())
    site.write("outside.css", f'body::after {{ content: "{CANARY}" }}')
    site.write("themes/secret.txt", CANARY)
    site.write("secret.txt", CANARY)
    (site.root / "content" / "assets").mkdir(parents=True, exist_ok=True)
    (site.root / "content" / "assets" / "leak.svg").symlink_to(site.root / "outside.svg")
    outside = (site.root / "outside.svg").as_uri()
    site.write("themes/default/assets/nested.svg",
               '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="300" '
               f'height="60"><image href="{outside}" width="300" height="30"/>'
               '<image xlink:href="../../../outside.svg" y="30" width="300" height="30"/></svg>')


def assert_no_canary(site: Project) -> None:
    """No output file holds a canary, in its bytes or in the text a PDF reader extracts."""
    for path in sorted(p for p in site.root.rglob("*") if p.is_file() and _is_output(site, p)):
        data = path.read_bytes()
        assert CANARY.encode() not in data and b"root:x:0:0" not in data, path
        if path.suffix == ".pdf":
            text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
            assert CANARY not in text and "root:x:0:0" not in text, path


def _is_output(site: Project, path: Path) -> bool:
    rel = path.relative_to(site.root).parts
    return rel[0] in ("output", ".output.staging", ".output.old")


ATTACKS = {
    # applicant: (the Markdown in a section only that applicant gets, what the error must name)
    "etc-passwd": ("![x](/etc/passwd)", "file:///etc/passwd"),
    "file-url": ("![x](file:///etc/hostname)", "file:///etc/hostname"),
    "dotdot": ("![x](../../secret.txt)", "/themes/secret.txt"),
    "dotdot-deep": ("![x](" + "../" * 12 + "etc/passwd)", "file:///etc/passwd"),
    "encoded-dotdot": ("![x](..%2F..%2F..%2Fsecret.txt)", "..%2F..%2F..%2Fsecret.txt"),
    "symlink-out": ("![x](../../../content/assets/leak.svg)", "/content/assets/leak.svg"),
    "nested-svg": ("![x](nested.svg)", "/outside.svg"),
    "http-loopback": ("![x]({server}/canary.svg)", "{server}/canary.svg"),
    "link-attachment": ("[x]({server}/page) and <{server}/auto>", None),  # links are not fetched at all
}


def attacker_name(key: str) -> str:
    return "Attack " + key.replace("-", " ").title().replace(" ", "")


@pytest.mark.slow
def test_pdfs_read_nothing_outside_the_assets(tmp_path: Path, canary_server: CanaryServer) -> None:
    site = Project(tmp_path / "site", profiles=None)
    plant_canaries(site)
    site.write("profiles/control.yaml", profile_yaml(name="Control Person", email="control@example.org"))
    for i, (key, (markdown, _)) in enumerate(ATTACKS.items()):
        name = attacker_name(key)
        site.write(f"profiles/attack-{key}.yaml", profile_yaml(name=name, email=f"{key}@example.org"))
        site.write(f"content/sections/{60 + i}-{key}.md", f"---\nid: probe-{key}\ntitle: Attack\norder: {60 + i}\n"
                   f"when: \"name == '{name}'\"\n---\nSee:\n\n{markdown.format(server=canary_server.url)}\n")
    result = site.build(pdf=True, jobs=2)
    built = {e["id"] for e in result.entries}
    assert built == {"control", "attack-link-attachment"}, result.problems
    for key, (_, named) in ATTACKS.items():
        if named is None:
            continue
        mine = [str(p) for p in result.problems if f"attack-{key}.pdf" in p.source or f"attack-{key}.yaml" in p.message]
        assert mine and any(named.format(server=canary_server.url) in p for p in mine), (key, mine)
        assert not (site.out / "pdf" / f"attack-{key}.pdf").exists()
    assert canary_server.hits == []
    assert_no_canary(site)
    reader = PdfReader(site.out / "pdf" / "control.pdf")
    assert "Control Person" in reader.pages[0].extract_text()


@pytest.mark.slow
def test_a_theme_stylesheet_cannot_reach_outside_and_a_missing_asset_is_named(tmp_path: Path,
                                                                              canary_server: CanaryServer) -> None:
    site = Project(tmp_path / "site")
    plant_canaries(site)
    outside = site.root / "outside.css"
    style = site.theme / "assets" / "style.css"
    style.write_text(f'@import url("{outside.as_uri()}");\n@import url("../../../outside.css");\n'
                     f'@import url("{canary_server.url}/remote.css");\n' + style.read_text()
                     + f'\nhtml {{ background-image: url("../../../outside.svg"); }}\n'
                     + f'main {{ background-image: url("{canary_server.url}/bg.svg"); }}\n')
    base = site.theme / "base.html"
    base.write_text(base.read_text().replace('style.css">', 'style.css">\n<link rel="stylesheet" '
                                             'href="{{ page.assets }}missing.css">'))
    result = site.build(pdf=True, jobs=1, only=["ada-okafor"])
    (problem,) = [str(p) for p in result.problems]
    assert "output/pdf/ada-okafor.pdf: pdf: " in problem
    assert f"not found in the asset folders: {(site.theme / 'assets' / 'missing.css').as_uri()}" in problem
    for url in (outside.as_uri(), (site.root / "outside.svg").as_uri(), f"{canary_server.url}/remote.css",
                f"{canary_server.url}/bg.svg"):
        assert url in problem, url
    assert canary_server.hits == []
    assert_no_canary(site)


def test_a_theme_asset_linked_outside_stops_the_build(tmp_path: Path) -> None:
    site = Project(tmp_path / "site")
    plant_canaries(site)
    assert site.build().ok
    before = snapshot(site.out)
    (site.theme / "assets" / "leak.svg").symlink_to(site.root / "outside.svg")
    with pytest.raises(BuildError) as caught:
        site.build(force=True)
    (problem,) = caught.value.problems
    assert problem.source.endswith("themes/default/assets/leak.svg") and "outside its folder" in problem.message
    assert snapshot(site.out) == before
    assert_no_canary(site)


def test_an_image_url_markdown_refuses_fails_the_guide_with_its_line(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    site = Project(tmp_path / "site")
    monkeypatch.chdir(site.root)
    site.write("content/sections/45-img.md", '---\nid: img\ntitle: Img\norder: 40\nwhen: "true"\n---\nText.\n\n'
               "![x](file:///etc/passwd) and [y](vbscript:msgbox) and ![z](data:text/html;base64,PHNjcmlwdD4=)\n")
    result = site.build()
    assert len(result.problems) == 3 and not result.entries
    for problem in result.problems:
        assert str(problem).startswith("content/sections/45-img.md:9: body: link or image URL not allowed: ")
        for url in ("file:///etc/passwd", "vbscript:msgbox", "data:text/html;base64,PHNjcmlwdD4="):
            assert url in problem.message
