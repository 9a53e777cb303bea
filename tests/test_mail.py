"""`matchguide email`: outbox, delivery to real SMTP servers on loopback, the send ledger."""

from __future__ import annotations

import base64
import io
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from generator.console import ConsoleProgress
from generator.errors import DeliveryError, InputError
from generator.deliver.addresses import ALLOW_EXAMPLE_ENV
from generator.deliver.message import guide_link
from generator.deliver.sending import EmailOptions, load_recipients, run_email
from generator.deliver.smtp import smtp_config
from tests.smtp_fixtures import PASSWORD, USER, Authenticator, Mailbox, make_certs, start_server

ROOT = Path(__file__).resolve().parent.parent
THEME = ROOT / "themes" / "default"
SITE_URL = "https://advisor.github.io/guides/"
APPLICANTS = [  # id, name, email
    ("aisha-rahman", "Aisha Rahman", "aisha.rahman@example.org"),
    ("bilal-khan", "Bilal Khan", "bilal.khan@example.org"),
    ("chen-wei", "Chen Wei", "chen.wei@example.org"),
    ("dana-osei", "Dana Osei", "dana.osei@example.org"),
    ("elif-yilmaz", "Elif Yılmaz", "elif.yilmaz@example.org"),
]


class Shown(ConsoleProgress):
    """An email run's events, kept, and shown as the console shows them in a log: plain lines."""

    def __init__(self) -> None:
        super().__init__(io.StringIO(), tty=False)
        self.events: list[tuple[str, dict]] = []

    def event(self, kind: str, **data) -> None:
        self.events.append((kind, data))
        super().event(kind, **data)

    @property
    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def messages(self) -> dict[str, list[str]]:
        """Applicant id -> the outcomes reported for them, in order."""
        out: dict[str, list[str]] = {}
        for kind, data in self.events:
            if kind == "message":
                out.setdefault(data["id"], []).append(data["outcome"])
        return out


@pytest.fixture(scope="session")
def pdf_bytes():
    """Real, distinct PDFs (WeasyPrint), one per applicant plus a changed version of each."""
    from weasyprint import HTML

    return {(i, version): HTML(string=f"<h1>Guide for {name}</h1><p>version {version}</p>").write_pdf()
            for i, name, _ in APPLICANTS for version in (1, 2)}


@pytest.fixture(scope="session")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs"))


@dataclass
class Project:
    root: Path
    pdfs: dict

    @property
    def out(self) -> Path:
        return self.root / "output"

    @property
    def ledger(self) -> Path:
        return self.root / ".matchguide" / "ledger.jsonl"

    def options(self, **kw) -> EmailOptions:
        settings = dict(out_dir=self.out, theme_dir=THEME, ledger_path=self.ledger, profiles_dir=self.root / "profiles",
                        content_dir=ROOT / "content",
                        rate_per_minute=100_000, backoff_seconds=0.01, max_retries=2)
        return EmailOptions(**{**settings, **kw})

    def pdf(self, applicant_id: str) -> bytes:
        return (self.out / "pdf" / f"{applicant_id}.pdf").read_bytes()

    def rebuild_pdf(self, applicant_id: str, version: int) -> None:
        (self.out / "pdf" / f"{applicant_id}.pdf").write_bytes(self.pdfs[(applicant_id, version)])

    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.ledger.read_text().splitlines()] if self.ledger.exists() else []


def profile_text(name: str, address: str) -> str:
    """A valid profile: the addresses are read through the profile loader, as the build reads them."""
    return (f"name: {json.dumps(name)}\nemail: {address}\ngraduation_year: 2021\n"
            "step1: {result: pass, attempts: 1}\n")


def make_project(root: Path, pdfs: dict, applicants=APPLICANTS) -> Project:
    """A built output folder (manifest + PDFs) and the profiles holding the addresses."""
    (root / "output" / "pdf").mkdir(parents=True)
    (root / "profiles").mkdir()
    entries = []
    for n, (applicant_id, name, address) in enumerate(applicants):
        (root / "output" / "pdf" / f"{applicant_id}.pdf").write_bytes(pdfs.get((applicant_id, 1), pdfs[("aisha-rahman", 1)]))
        (root / "profiles" / f"{applicant_id}.yaml").write_text(profile_text(name, address), "utf-8")
        entries.append({"id": applicant_id, "name": name, "source": f"profiles/{applicant_id}.yaml", "band": "solid",
                        "basis": {"kind": "official", "score": 238}, "programs": {"min": 120, "max": 160},
                        "flags": [], "sections": [], "examples": [],
                        "html": f"site/g/{n:04d}k9x2f7m1c8/index.html", "pdf": f"pdf/{applicant_id}.pdf"})
    manifest = {"generator": "matchguide 0.1.0", "cycle": 2027, "as_of": "2026-11-25", "profiles": entries, "errors": []}
    (root / "output" / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return Project(root, pdfs)


@pytest.fixture
def project(tmp_path, pdf_bytes):
    return make_project(tmp_path, pdf_bytes)


@pytest.fixture
def server():
    """A plain SMTP server on loopback and its mailbox."""
    box = Mailbox()
    controller = start_server(box)
    yield box, controller.port
    controller.stop()


def smtp_env(port: int, **extra: str) -> dict[str, str]:
    env = {"MATCHGUIDE_SMTP_HOST": "127.0.0.1", "MATCHGUIDE_SMTP_PORT": str(port), "MATCHGUIDE_SMTP_SECURITY": "none",
           "MATCHGUIDE_SMTP_FROM": "Dr. Lee <lee@example.org>", "MATCHGUIDE_SITE_URL": SITE_URL,
           "MATCHGUIDE_SMTP_TIMEOUT": "5", ALLOW_EXAMPLE_ENV: "1"}  # the test cohort's addresses are at example.org
    return {**env, **extra}


def emails() -> dict[str, str]:
    return {i: address for i, _, address in APPLICANTS}


def attachment(msg) -> bytes:
    (part,) = list(msg.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    return part.get_content()


def test_dry_run_writes_the_outbox_and_sends_nothing(project, server):
    box, port = server
    shown = Shown()
    result = run_email(project.options(), env=smtp_env(port), reporter=shown)
    assert sorted(result.written) == sorted(emails()) and result.sent == []
    assert box.received == [] and box.sessions == 0
    assert not project.ledger.exists()
    eml = message_from_bytes((project.out / "outbox" / "aisha-rahman.eml").read_bytes(), policy=policy.default)
    assert eml["To"].addresses[0].addr_spec == "aisha.rahman@example.org"
    assert eml["Subject"] == "Aisha Rahman, your residency guide for the ERAS 2028 season"
    assert attachment(eml) == project.pdf("aisha-rahman")
    assert SITE_URL + "g/0000k9x2f7m1c8/index.html" in eml.get_body(("plain",)).get_content()
    assert 'href="https://advisor.github.io/guides/g/0000k9x2f7m1c8/index.html"' in eml.get_body(("html",)).get_content()
    assert "matchguide email --send" in result.summary() and "nothing was sent" in result.summary()
    assert shown.messages() == {i: ["written"] for i in sorted(emails())}  # one event per applicant
    assert ("email_start", {"applicants": len(APPLICANTS), "send": False}) in shown.events
    assert "aisha-rahman: wrote outbox/aisha-rahman.eml (to aisha.rahman@example.org)" in shown.lines


def test_send_delivers_every_guide_once_with_the_pdf_byte_identical(project, server):
    box, port = server
    shown = Shown()
    result = run_email(project.options(send=True), env=smtp_env(port), reporter=shown)
    assert shown.messages() == {i: ["sent"] for i in sorted(emails())}
    assert [k for k, _ in shown.events if k != "message"] == ["email_start", "connected", "email_done"]
    assert sorted(result.sent) == sorted(emails()) and result.ok
    by_rcpt = {rcpts[0]: message_from_bytes(data, policy=policy.default) for rcpts, data in box.received}
    for applicant_id, name, address in APPLICANTS:
        msg = by_rcpt[address]
        assert attachment(msg) == project.pdf(applicant_id)
        assert msg["To"].addresses[0].display_name == name
        assert msg["From"].addresses[0].addr_spec == "lee@example.org"
    states = [(r["id"], r["state"]) for r in project.records()]
    assert states == [(i, s) for i in sorted(emails()) for s in ("sending", "sent")]
    sent_ids = {r["id"]: r["message_id"] for r in project.records()}
    assert {m["To"].addresses[0].addr_spec: m["Message-ID"] for m in box.messages()} == \
        {emails()[i]: mid for i, mid in sent_ids.items()}

    shown = Shown()
    again = run_email(project.options(send=True), env=smtp_env(port), reporter=shown)
    assert again.sent == [] and sorted(again.skipped) == sorted(emails())
    assert shown.messages() == {i: ["skipped"] for i in sorted(emails())}
    assert "nothing to send" in shown.lines
    assert len(box.received) == len(APPLICANTS) and box.sessions == 1  # the rerun did not even connect


def test_a_server_that_dies_mid_cohort_loses_nothing_and_duplicates_nothing(project):
    first = Mailbox(die_after=2)
    controller = start_server(first)
    port = controller.port
    shown = Shown()
    try:
        result = run_email(project.options(send=True), env=smtp_env(port), reporter=shown)
    finally:
        controller.stop()
    assert len(result.sent) == 2 and result.stopped and len(result.failed) == 1 and len(result.remaining) == 2
    assert list(shown.messages().values()) == [["sent"], ["sent"], ["stopped"]]
    assert "Rerun `matchguide email --send` to resume" in result.summary()
    assert json.loads((project.ledger.parent / "email-failures.json").read_text())["stopped"] == result.stopped
    with pytest.raises(DeliveryError, match="cannot reach .*nothing was sent"):  # while it is down
        run_email(project.options(send=True), env=smtp_env(port))

    second = Mailbox()
    controller = start_server(second, port=port)  # the same server comes back
    try:
        resumed = run_email(project.options(send=True), env=smtp_env(port))
    finally:
        controller.stop()
    assert sorted(resumed.skipped) == sorted(result.sent) and resumed.ok
    for _, _, address in APPLICANTS:
        assert first.count(address) + second.count(address) == 1, address


def test_a_connection_cut_after_the_message_leaves_it_unknown_and_not_resent(project, server):
    box, port = server
    box.drop.add("chen.wei@example.org")
    result = run_email(project.options(send=True), env=smtp_env(port))
    assert result.unknown == ["chen-wei"] and len(result.sent) == 4
    assert [r["state"] for r in project.records() if r["id"] == "chen-wei"] == ["sending"]

    again = run_email(project.options(send=True), env=smtp_env(port))
    assert again.unknown == ["chen-wei"] and again.sent == []
    assert "--retry-unknown" in again.summary()
    assert box.count("chen.wei@example.org") == 1


def test_a_message_left_sending_is_resent_only_with_retry_unknown(project, server, pdf_bytes):
    box, port = server
    run_email(project.options(send=True, only=["aisha-rahman"]), env=smtp_env(port))
    sha = hashlib.sha256(project.pdf("bilal-khan")).hexdigest()
    with project.ledger.open("a") as fh:  # as if the process died mid-transaction
        fh.write(json.dumps({"id": "bilal-khan", "pdf_sha256": sha, "message_id": "<x@example.org>",
                             "state": "sending"}) + "\n")
    result = run_email(project.options(send=True), env=smtp_env(port))
    assert result.unknown == ["bilal-khan"] and box.count("bilal.khan@example.org") == 0
    assert sorted(result.sent) == ["chen-wei", "dana-osei", "elif-yilmaz"] and not result.ok

    retried = run_email(project.options(send=True, retry_unknown=True), env=smtp_env(port))
    assert retried.sent == ["bilal-khan"] and box.count("bilal.khan@example.org") == 1


def test_a_changed_guide_is_resent_only_with_resend_changed(project, server):
    box, port = server
    run_email(project.options(send=True), env=smtp_env(port))
    project.rebuild_pdf("dana-osei", 2)
    result = run_email(project.options(send=True), env=smtp_env(port))
    assert result.changed == ["dana-osei"] and result.sent == []
    assert "--resend-changed" in result.summary()
    dry = run_email(project.options(), env=smtp_env(port))
    assert dry.written == [] and dry.changed == ["dana-osei"]

    resent = run_email(project.options(send=True, resend_changed=True), env=smtp_env(port))
    assert resent.sent == ["dana-osei"]
    dana = [m for m in box.messages() if m["To"].addresses[0].addr_spec == "dana.osei@example.org"]
    assert len(dana) == 2 and attachment(dana[1]) == project.pdf("dana-osei") != attachment(dana[0])
    assert dana[0]["Message-ID"] != dana[1]["Message-ID"]


def test_a_refused_recipient_is_recorded_and_the_cohort_goes_on(project, server):
    box, port = server
    box.refuse.add("bilal.khan@example.org")
    shown = Shown()
    result = run_email(project.options(send=True), env=smtp_env(port), reporter=shown)
    assert result.refused == ["bilal-khan"] and len(result.sent) == 4
    assert shown.messages()["bilal-khan"] == ["refused"]
    assert "bilal-khan: refused: RCPT TO: 550 5.1.1 No such mailbox" in shown.lines
    assert [r["state"] for r in project.records() if r["id"] == "bilal-khan"] == ["sending", "refused"]
    failures = json.loads((project.ledger.parent / "email-failures.json").read_text())["failures"]
    assert failures == [{"id": "bilal-khan", "state": "refused", "email": "bilal.khan@example.org",
                         "detail": "RCPT TO: 550 5.1.1 No such mailbox"}]
    box.refuse.clear()  # the address was fixed: a rerun sends only that one
    assert run_email(project.options(send=True), env=smtp_env(port)).sent == ["bilal-khan"]


def test_a_temporary_failure_is_retried_and_delivered_once(project, server):
    box, port = server
    box.busy_once.add("elif.yilmaz@example.org")
    shown = Shown()
    result = run_email(project.options(send=True, only=["elif-yilmaz"]), env=smtp_env(port), reporter=shown)
    assert result.sent == ["elif-yilmaz"] and box.count("elif.yilmaz@example.org") == 1
    (retry,) = [data for kind, data in shown.events if kind == "retry"]
    assert retry["what"] == "elif-yilmaz" and retry["delay"] == 0.01 and shown.messages() == {"elif-yilmaz": ["sent"]}
    assert [r["state"] for r in project.records()] == ["sending", "failed", "sending", "sent"]


def test_limit_and_only_choose_what_goes_out(project, server):
    box, port = server
    shown = Shown()
    result = run_email(project.options(send=True, limit=2), env=smtp_env(port), reporter=shown)
    assert result.sent == ["aisha-rahman", "bilal-khan"] and len(result.remaining) == 3
    assert "--limit 2: 3 message(s) left for a later run" in shown.lines and shown.total == shown.done == 2
    result = run_email(project.options(send=True, only=["elif-yilmaz", "chen-wei"]), env=smtp_env(port))
    assert result.sent == ["elif-yilmaz", "chen-wei"]
    with pytest.raises(InputError, match="no built guide for 'nobody'"):
        run_email(project.options(send=True, only=["nobody"]), env=smtp_env(port))
    assert len(box.received) == 4


def test_rate_spaces_the_messages(project, server):
    box, port = server
    result = run_email(project.options(send=True, limit=3, rate_per_minute=300), env=smtp_env(port))
    assert len(result.sent) == 3 and len(box.arrivals) == 3
    gaps = [later - earlier for earlier, later in zip(box.arrivals, box.arrivals[1:])]
    # 300 a minute is one every 0.2 s, as the server receives them: no burst, and no needless wait
    assert all(0.15 <= gap < 2.0 for gap in gaps), gaps  # (a send's own time varies a little)


def test_names_cannot_inject_headers(tmp_path, pdf_bytes, server):
    box, port = server
    evil = [("eve", 'Eve\r\nBcc: attacker@evil.example\r\nSubject: pwned', "eve@example.org"),
            ("mallory", 'Mallory "M" <mallory@evil.example>, x; y', "mallory@example.org")]
    project = make_project(tmp_path, pdf_bytes, evil)
    # The profile loader refuses such names; here they reach the manifest anyway (a last line of defence).
    result = run_email(project.options(send=True), env=smtp_env(port),
                       recipients={i: address for i, _, address in evil})
    assert sorted(result.sent) == ["eve", "mallory"]
    assert sorted(r for rcpts, _ in box.received for r in rcpts) == ["eve@example.org", "mallory@example.org"]
    for msg in box.messages():
        assert msg["Bcc"] is None and len(msg.get_all("Subject")) == 1 and len(msg.get_all("To")) == 1
        (to,) = msg["To"].addresses
        assert to.addr_spec in ("eve@example.org", "mallory@example.org")
        assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    names = {m["To"].addresses[0].display_name for m in box.messages()}
    assert names == {"Eve Bcc: attacker@evil.example Subject: pwned", 'Mallory "M" <mallory@evil.example>, x; y'}


def test_without_a_site_url_the_message_promises_no_link(project):
    result = run_email(project.options(only=["chen-wei"]), env={ALLOW_EXAMPLE_ENV: "1"})
    assert result.written == ["chen-wei"]
    eml = message_from_bytes((project.out / "outbox" / "chen-wei.eml").read_bytes(), policy=policy.default)
    text = eml.get_body(("plain",)).get_content()
    assert "Everything is in the attached PDF" in text
    assert "follow" not in text and "link" not in text.lower() and "separate message" not in text
    assert "http" not in text and "href" not in eml.get_body(("html",)).get_content()


def test_bad_credentials_stop_before_any_message(project, certs):
    box = Mailbox()
    controller = start_server(box, tls_context=certs.server_context(), require_starttls=True,
                              authenticator=Authenticator(), auth_require_tls=True)
    env = smtp_env(controller.port, MATCHGUIDE_SMTP_SECURITY="starttls", MATCHGUIDE_SMTP_CAFILE=str(certs.ca),
                   MATCHGUIDE_SMTP_USER=USER, MATCHGUIDE_SMTP_PASSWORD=PASSWORD + "-wrong")
    try:
        with pytest.raises(DeliveryError, match="login as 'advisor@example.org' refused.*nothing was sent") as err:
            run_email(project.options(send=True), env=env)
    finally:
        controller.stop()
    assert box.received == [] and project.records() == []
    assert PASSWORD not in str(err.value) and err.value.__cause__ is None


def test_an_untrusted_certificate_stops_before_any_message(project, certs):
    box = Mailbox()
    controller = start_server(box, tls_context=certs.server_context(rogue=True), require_starttls=True,
                              authenticator=Authenticator(), auth_require_tls=True)
    env = smtp_env(controller.port, MATCHGUIDE_SMTP_SECURITY="starttls", MATCHGUIDE_SMTP_CAFILE=str(certs.ca),
                   MATCHGUIDE_SMTP_USER=USER, MATCHGUIDE_SMTP_PASSWORD=PASSWORD)
    try:
        with pytest.raises(DeliveryError, match="certificate is not trusted"):
            run_email(project.options(send=True), env=env)
    finally:
        controller.stop()
    assert box.received == [] and project.records() == []


def test_starttls_and_implicit_tls_work_with_a_trusted_private_ca(project, certs):
    auth = Authenticator()
    box = Mailbox()
    starttls = start_server(box, tls_context=certs.server_context(), require_starttls=True, authenticator=auth,
                            auth_require_tls=True)
    env = smtp_env(starttls.port, MATCHGUIDE_SMTP_SECURITY="starttls", MATCHGUIDE_SMTP_CAFILE=str(certs.ca),
                   MATCHGUIDE_SMTP_USER=USER, MATCHGUIDE_SMTP_PASSWORD=PASSWORD)
    try:
        assert run_email(project.options(send=True, only=["aisha-rahman"]), env=env).sent == ["aisha-rahman"]
    finally:
        starttls.stop()
    # aiosmtpd only counts STARTTLS as TLS, so it must be told AUTH is fine on an implicit-TLS port
    tls = start_server(box, ssl_context=certs.server_context(), authenticator=auth, auth_require_tls=False)
    env.update(MATCHGUIDE_SMTP_PORT=str(tls.port), MATCHGUIDE_SMTP_SECURITY="tls")
    try:
        assert run_email(project.options(send=True, only=["bilal-khan"]), env=env).sent == ["bilal-khan"]
    finally:
        tls.stop()
    assert auth.attempts == [(USER, PASSWORD)] * 2 and len(box.received) == 2


def test_the_password_never_appears_in_output(project, certs, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    shown = Shown()
    secrets = [PASSWORD, base64.b64encode(PASSWORD.encode()).decode(),
               base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()]
    box = Mailbox(refuse={"chen.wei@example.org"}, drop={"dana.osei@example.org"})
    controller = start_server(box, tls_context=certs.server_context(), require_starttls=True,
                              authenticator=Authenticator(), auth_require_tls=True)
    env = smtp_env(controller.port, MATCHGUIDE_SMTP_SECURITY="starttls", MATCHGUIDE_SMTP_CAFILE=str(certs.ca),
                   MATCHGUIDE_SMTP_USER=USER, MATCHGUIDE_SMTP_PASSWORD=PASSWORD)
    texts = [repr(smtp_config(env))]
    try:
        result = run_email(project.options(send=True), env=env, reporter=shown)
        texts += [result.summary(), repr(result)]
        for wrong in (PASSWORD + "x", "short"):
            with pytest.raises(DeliveryError) as err:
                run_email(project.options(send=True, resend_changed=True, retry_unknown=True),
                          env={**env, "MATCHGUIDE_SMTP_PASSWORD": wrong}, reporter=shown)
            texts += [str(err.value), repr(err.value), repr(err.value.problems)]
    finally:
        controller.stop()
    assert result.refused == ["chen-wei"] and result.unknown == ["dana-osei"]
    captured = capsys.readouterr()
    texts += shown.lines + [caplog.text, captured.out, captured.err]
    texts += [p.read_text("utf-8", "replace") for p in project.root.rglob("*") if p.is_file() and p.suffix != ".pdf"]
    for secret in secrets:
        assert not [t for t in texts if secret in t], secret


def test_smtp_settings_are_checked_all_at_once():
    with pytest.raises(DeliveryError) as err:
        smtp_config({"MATCHGUIDE_SMTP_HOST": "smtp.example.org", "MATCHGUIDE_SMTP_SECURITY": "none",
                     "MATCHGUIDE_SMTP_PORT": "99999", "MATCHGUIDE_SMTP_USER": "x", "MATCHGUIDE_SMTP_FROM": "a@b, c@d"})
    fields = {p.field for p in err.value.problems}
    assert fields == {"MATCHGUIDE_SMTP_SECURITY", "MATCHGUIDE_SMTP_PORT", "MATCHGUIDE_SMTP_PASSWORD",
                      "MATCHGUIDE_SMTP_FROM"}
    assert "only allowed for a server on this machine" in str(err.value)
    config = smtp_config({"MATCHGUIDE_SMTP_HOST": "::1", "MATCHGUIDE_SMTP_SECURITY": "none",
                          "MATCHGUIDE_SMTP_FROM": "Dr. Lee <lee@example.org>"})
    assert (config.port, config.sender.addr_spec) == (25, "lee@example.org")
    assert smtp_config({"MATCHGUIDE_SMTP_HOST": "smtp.example.org", "MATCHGUIDE_SMTP_FROM": "a@example.org"}).port == 587


def test_guide_link_joins_the_site_url_and_the_published_path():
    assert guide_link("https://a.github.io/r/", "site/g/abc/index.html") == "https://a.github.io/r/g/abc/index.html"
    assert guide_link(None, "site/g/abc/index.html") is None
    assert guide_link("https://a.github.io/r/", "site/../secret") is None


def test_addresses_come_from_the_profiles_and_gaps_are_reported(tmp_path, pdf_bytes):
    project = make_project(tmp_path, pdf_bytes, APPLICANTS[:3])
    (project.root / "profiles" / "bilal-khan.yaml").write_text("name: Bilal Khan\n", "utf-8")  # no email
    (project.root / "profiles" / "zed.yaml").write_text(profile_text("Zed", "zed@example.org"), "utf-8")  # no guide
    (project.root / "profiles" / "broken.yaml").write_text("name: [\n", "utf-8")
    addresses, notes = load_recipients(project.options(), json.loads((project.out / "manifest.json").read_text()))
    assert addresses == {"aisha-rahman": "aisha.rahman@example.org", "chen-wei": "chen.wei@example.org",
                         "zed": "zed@example.org"}
    assert {Path(n.split(":")[0]).name for n in notes} == {"broken.yaml", "bilal-khan.yaml"}
    assert any("bilal-khan.yaml" in n and "email" in n for n in notes)
    shown = Shown()
    result = run_email(project.options(), env={ALLOW_EXAMPLE_ENV: "1"}, reporter=shown)
    assert result.written == ["aisha-rahman", "chen-wei"]
    assert [str(p) for p in result.problems] == ["profiles/bilal-khan.yaml: email: no email address"]
    assert any("zed: no guide in the manifest" in line for line in shown.lines)


def test_the_ledger_survives_a_torn_last_line_and_must_live_outside_output(project, server):
    box, port = server
    project.ledger.parent.mkdir(parents=True)
    project.ledger.write_text('{"id": "aisha-rahman", "pdf_sha256": "ab', "utf-8")  # crash mid-write
    shown = Shown()
    result = run_email(project.options(send=True, only=["aisha-rahman"]), env=smtp_env(port), reporter=shown)
    assert result.sent == ["aisha-rahman"] and any("incomplete last record" in line for line in shown.lines)
    records = [json.loads(line) for line in project.ledger.read_text().splitlines()[1:]]
    assert [r["state"] for r in records] == ["sending", "sent"]
    with pytest.raises(InputError, match="outside the output folder"):
        run_email(project.options(ledger_path=project.out / "ledger.jsonl"), env={ALLOW_EXAMPLE_ENV: "1"})


def test_a_template_error_names_the_file_and_line(project, tmp_path):
    theme = tmp_path / "theme"
    (theme / "email").mkdir(parents=True)
    for name in ("subject.txt", "body.html"):
        (theme / "email" / name).write_text((THEME / "email" / name).read_text())
    (theme / "email" / "body.txt").write_text("Dear {{ name }},\n\n{{ nickname }}\n")
    with pytest.raises(InputError) as err:
        run_email(project.options(theme_dir=theme), env={ALLOW_EXAMPLE_ENV: "1"})
    assert str(err.value).startswith(f"{theme / 'email' / 'body.txt'}:3: ") and "nickname" in str(err.value)


def test_the_email_command_in_a_pipe_shows_one_plain_line_per_applicant(project):
    shutil.copytree(ROOT / "content" / "data", project.root / "content" / "data")  # the strategy the profiles need
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHGUIDE_")}
    proc = subprocess.run([sys.executable, "-m", "generator", "email", "--theme", str(THEME)], cwd=project.root,
                          env={**env, "FORCE_COLOR": "1", ALLOW_EXAMPLE_ENV: "1"}, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout + proc.stderr
    lines = proc.stderr.splitlines()
    assert [line for line in lines if not line.startswith("note: ")] == \
        [f"{i}: wrote outbox/{i}.eml (to {address})" for i, address in sorted(emails().items())]
    assert "Dry run: wrote 5 message(s)" in proc.stdout


def test_a_resent_guide_says_what_changed_and_that_the_program_list_changed(project, server):
    box, port = server
    manifest_path = project.out / "manifest.json"
    doc = json.loads(manifest_path.read_text())
    plist = {"count": 3, "short": False, "reach": ["P1"], "target": ["P2"], "likely": ["P3"],
             "signals": {"gold": [], "silver": []}, "excluded": {}, "confirm_visa": []}
    for entry in doc["profiles"]:
        entry["program_list"] = plist
    manifest_path.write_text(json.dumps(doc))
    assert run_email(project.options(send=True), env=smtp_env(port)).sent
    sending = [r for r in project.records() if r["state"] == "sending"]
    assert all(r["guide"]["program_list"]["programs"] == ["P1", "P2", "P3"] for r in sending)
    first = box.messages()[0]
    assert "updated" not in first["Subject"] and "What changed" not in first.get_body(("plain",)).get_content()

    # Dana's list changes (one program out, another in) and her guide is rebuilt; Elif's guide changes otherwise.
    doc["profiles"][3]["program_list"] = {**plist, "likely": ["P9"], "confirm_visa": ["P9"]}
    manifest_path.write_text(json.dumps(doc))
    project.rebuild_pdf("dana-osei", 2)
    project.rebuild_pdf("elif-yilmaz", 2)
    resent = run_email(project.options(send=True, resend_changed=True), env=smtp_env(port))
    assert sorted(resent.sent) == ["dana-osei", "elif-yilmaz"]
    sent_on = sending[0]["at"][:10]
    by_address = {m["To"].addresses[0].addr_spec: m for m in box.messages()[len(APPLICANTS):]}
    dana = by_address["dana.osei@example.org"]
    text = dana.get_body(("plain",)).get_content()
    assert dana["Subject"] == "Dana Osei, your updated residency guide for the ERAS 2028 season"
    assert f"since the version we sent on {sent_on}" in text
    assert "- program list: 1 added, 1 removed, visa to confirm: 0 → 1" in text
    assert "Your program list changed" in text and "Your program list changed" in dana.get_body(("html",)).get_content()
    elif_text = by_address["elif.yilmaz@example.org"].get_body(("plain",)).get_content()
    assert "- the wording or dates changed; band, programs, sections and program list are the same" in elif_text
    assert "Your program list changed" not in elif_text
