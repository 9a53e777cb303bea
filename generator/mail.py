"""`matchguide email`: one message per applicant, written to the outbox or sent over SMTP.

Dry by default: messages go to `output/outbox/<id>.eml` and nothing leaves the
machine. With `send=True` the run connects and logs in first (a bad password or
an untrusted certificate stops it before any message goes out), then delivers
each guide once, journalled in the send ledger (generator/ledger.py).
"""

from __future__ import annotations

import datetime as dt
import email.policy
import email.utils
import hashlib
import ipaddress
import json
import os
import re
import smtplib
import ssl
import time
import traceback
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path, PurePosixPath
from typing import Callable, Mapping, Sequence
from urllib.parse import quote, urlsplit

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from generator import manifest, yamlstrict
from generator.errors import DeliveryError, InputError, MatchguideError, Problem
from generator.ledger import CHANGED, SEND, SKIP, UNKNOWN, History, Ledger, read as read_ledger
from generator.writer import BuildLock

SECURITY_PORTS = {"starttls": 587, "tls": 465, "none": 25}
ENV_VARS = ("MATCHGUIDE_SMTP_HOST", "MATCHGUIDE_SMTP_PORT", "MATCHGUIDE_SMTP_USER", "MATCHGUIDE_SMTP_PASSWORD",
            "MATCHGUIDE_SMTP_SECURITY", "MATCHGUIDE_SMTP_FROM", "MATCHGUIDE_SITE_URL")
FAILURES_NAME = "email-failures.json"
# 7bit: non-ASCII text goes quoted-printable, so any server takes it without 8BITMIME.
_POLICY = email.policy.default.clone(cte_type="7bit")
_WIRE = _POLICY.clone(linesep="\r\n")
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u0085\u2028\u2029]")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_PREVIEW_SENDER = Address("matchguide preview", "preview", "example.invalid")


@dataclass
class EmailOptions:
    """What `matchguide email` was asked to do."""

    out_dir: Path
    theme_dir: Path
    ledger_path: Path
    send: bool = False
    only: Sequence[str] | None = None
    limit: int | None = None
    rate_per_minute: float = 30.0
    resend_changed: bool = False
    retry_unknown: bool = False
    max_retries: int = 3
    backoff_seconds: float = 2.0
    profiles_dir: Path | None = None  # where the addresses are; default: profiles/ beside the output folder


@dataclass
class EmailResult:
    """What a run did, applicant ids per outcome."""

    written: list[str] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # guides that could not be addressed or read
    remaining: list[str] = field(default_factory=list)  # due but not attempted (--limit, or the run stopped)
    dry_run: bool = True
    outbox: Path | None = None
    failures_file: Path | None = None
    stopped: str | None = None

    @property
    def ok(self) -> bool:
        """True when nothing went wrong (skips and changed guides are not failures)."""
        return not (self.unknown or self.refused or self.failed or self.problems or self.stopped)

    def summary(self) -> str:
        """A few lines for the advisor: counts, then what to do next."""
        counts = (f"already sent {len(self.skipped)}, changed not re-sent {len(self.changed)}, "
                  f"unknown {len(self.unknown)}, not ready {len(self.problems)}")
        if self.dry_run:
            lines = [f"Dry run: wrote {len(self.written)} message(s) to {self.outbox}; nothing was sent.",
                     f"Would send {len(self.written)}, {counts}.",
                     "To send for real, set " + ", ".join(ENV_VARS[:6]) + " (and MATCHGUIDE_SITE_URL for the "
                     "guide link; see docs/email.md), then run `matchguide email --send`."]
        else:
            lines = [f"Sent {len(self.sent)}, {counts}, refused {len(self.refused)}, failed {len(self.failed)}."]
            if self.failures_file and not self.ok:
                lines.append(f"Details: {self.failures_file}")
        if self.stopped:
            lines.append(f"Stopped early: {self.stopped}")
        if self.remaining or self.failed or self.stopped:
            lines.append(f"{len(self.remaining) + len(self.failed)} message(s) still due. Rerun `matchguide email --send` to resume: "
                         "nothing already sent is sent again.")
        if self.unknown:
            lines.append("Outcome unknown for " + ", ".join(self.unknown) + ": check the mailbox or server log; "
                         "to send again anyway use `--retry-unknown --only " + " ".join(self.unknown) + "`.")
        if self.changed:
            lines.append("Changed since sent: " + ", ".join(self.changed) + " (send the new guide with `--resend-changed`).")
        lines += [f"not ready: {p}" for p in self.problems]
        return "\n".join(lines)


@dataclass(frozen=True)
class SmtpConfig:
    """The SMTP server and sender, from MATCHGUIDE_SMTP_* variables."""

    host: str
    port: int
    security: str
    sender: Address
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: Path | None = None
    timeout: float = 30.0


@dataclass(frozen=True)
class Draft:
    """One rendered message, before its PDF is attached."""

    id: str
    to: Address
    subject: str
    text: str
    html: str
    pdf_path: Path
    pdf_name: str
    pdf_sha256: str
    message_id: str


def run_email(options: EmailOptions, *, env: Mapping[str, str] = os.environ,
              reporter: Callable[[str], None] | None = None,
              recipients: Mapping[str, str] | None = None) -> EmailResult:
    """Write every applicant's message to the outbox, or send the ones due (options.send)."""
    report = reporter or (lambda _message: None)
    out_dir = options.out_dir
    _check_options(options)
    config = smtp_config(env) if options.send else None
    sender = config.sender if config else _optional_sender(env, report)
    site_url = site_url_from(env)
    templates = Templates(options.theme_dir)
    with BuildLock(out_dir):  # no build may swap the PDFs while we read them
        doc = manifest.read(out_dir)
        if doc is None or not isinstance(doc.get("profiles"), list):
            raise InputError(Problem(str(out_dir / manifest.NAME), None, None,
                                     "missing or unreadable; run `matchguide build` first"))
        if recipients is None:
            recipients, notes = load_recipients(options.profiles_dir or out_dir.resolve().parent / "profiles")
            for note in notes:
                report(f"note: {note}")
        result = EmailResult(dry_run=not options.send)
        drafts = _drafts(doc, options, recipients, templates, sender, site_url, result, report)
        if not options.send:
            records, notes = read_ledger(options.ledger_path)
            for note in notes:
                report(f"note: {note}")
            history = History(records)
            due = _plan(drafts, history, options, result, report)
            _write_outbox(out_dir, due, sender, result, report)
            return result
        with Ledger(options.ledger_path) as ledger:
            for note in ledger.notes:
                report(f"note: {note}")
            due = _plan(drafts, ledger.history, options, result, report)
            _deliver_all(due, config, ledger, options, result, report)
        result.failures_file = _write_failures(options.ledger_path.parent / FAILURES_NAME, result, recipients)
        return result


def _check_options(options: EmailOptions) -> None:
    problems = []
    if options.rate_per_minute <= 0:
        problems.append(Problem("options", None, "rate", "must be more than 0 messages per minute"))
    if options.limit is not None and options.limit < 0:
        problems.append(Problem("options", None, "limit", "must be 0 or more"))
    if options.max_retries < 0 or options.backoff_seconds < 0:
        problems.append(Problem("options", None, "retries", "retries and backoff cannot be negative"))
    if options.ledger_path.resolve().is_relative_to(options.out_dir.resolve()):
        problems.append(Problem(str(options.ledger_path), None, None, "the send ledger must live outside the output "
                                "folder, which every build replaces (default: .matchguide/ledger.jsonl)"))
    if problems:
        raise InputError(problems)


def smtp_config(env: Mapping[str, str]) -> SmtpConfig:
    """Read and check the MATCHGUIDE_SMTP_* variables; every problem is reported at once."""
    problems: list[Problem] = []

    def bad(var: str, message: str) -> None:
        problems.append(Problem("environment", None, var, message))

    host = env.get("MATCHGUIDE_SMTP_HOST", "").strip()
    if not host or _CONTROL.search(host) or " " in host:
        bad("MATCHGUIDE_SMTP_HOST", "not set (the SMTP server, e.g. smtp.example.org)" if not host else "not a host name")
    security = env.get("MATCHGUIDE_SMTP_SECURITY", "starttls").strip().lower()
    if security not in SECURITY_PORTS:
        bad("MATCHGUIDE_SMTP_SECURITY", f"expected starttls, tls or none, got {security!r}")
    elif security == "none" and host and not _is_loopback(host):
        bad("MATCHGUIDE_SMTP_SECURITY", "'none' sends the password and the guides unencrypted; "
            "it is only allowed for a server on this machine (localhost, 127.0.0.1, ::1)")
    port = SECURITY_PORTS.get(security, 587)
    if env.get("MATCHGUIDE_SMTP_PORT", "").strip():
        try:
            port = int(env["MATCHGUIDE_SMTP_PORT"])
            if not 0 < port < 65536:
                raise ValueError
        except ValueError:
            bad("MATCHGUIDE_SMTP_PORT", "expected a port number from 1 to 65535")
    user = env.get("MATCHGUIDE_SMTP_USER") or None
    password = env.get("MATCHGUIDE_SMTP_PASSWORD") or None
    if bool(user) != bool(password):
        bad("MATCHGUIDE_SMTP_PASSWORD" if user else "MATCHGUIDE_SMTP_USER", "set both the user and the password, or neither")
    sender = parse_sender(env.get("MATCHGUIDE_SMTP_FROM", ""))
    if sender is None:
        bad("MATCHGUIDE_SMTP_FROM", "expected one address, e.g. 'Dr. Lee <lee@example.org>'")
    cafile = Path(env["MATCHGUIDE_SMTP_CAFILE"]) if env.get("MATCHGUIDE_SMTP_CAFILE") else None
    if cafile is not None and not cafile.is_file():
        bad("MATCHGUIDE_SMTP_CAFILE", f"no such file: {cafile}")
    timeout = 30.0
    try:
        timeout = float(env.get("MATCHGUIDE_SMTP_TIMEOUT") or 30.0)
    except ValueError:
        bad("MATCHGUIDE_SMTP_TIMEOUT", "expected seconds, e.g. 30")
    if problems:
        raise DeliveryError(problems)
    return SmtpConfig(host, port, security, sender, user, password, cafile, timeout)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def parse_sender(value: str) -> Address | None:
    """`Name <addr>` or `addr` as one Address, or None when it is not exactly one valid address."""
    if not value or _CONTROL.search(value):
        return None
    pairs = email.utils.getaddresses([value])
    if len(pairs) != 1:
        return None
    return make_address(*pairs[0])


def make_address(name: str, addr: str) -> Address | None:
    """An Address with a header-safe display name, or None for an unusable address."""
    if not addr or _CONTROL.search(addr) or not addr.isascii():
        return None
    try:
        address = Address(display_name=" ".join(_CONTROL.sub(" ", name or "").split()), addr_spec=addr.strip())
    except (ValueError, IndexError):
        return None
    return address if address.username and address.domain else None


def _optional_sender(env: Mapping[str, str], report: Callable[[str], None]) -> Address:
    sender = parse_sender(env.get("MATCHGUIDE_SMTP_FROM", ""))
    if sender is None:
        report(f"note: MATCHGUIDE_SMTP_FROM is not set or not one address; the outbox shows {_PREVIEW_SENDER}")
    return sender or _PREVIEW_SENDER


def site_url_from(env: Mapping[str, str]) -> str | None:
    """MATCHGUIDE_SITE_URL with a trailing slash, or None when it is not set."""
    value = env.get("MATCHGUIDE_SITE_URL", "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.netloc or _CONTROL.search(value) or re.search(r"[\s\"'<>]", value):
        raise DeliveryError(Problem("environment", None, "MATCHGUIDE_SITE_URL",
                                    "expected the published site's address, e.g. https://advisor.github.io/repo/"))
    return value if value.endswith("/") else value + "/"


def guide_link(site_url: str | None, html_path: str | None) -> str | None:
    """The guide's public address: the site URL + the manifest's html path without `site/`."""
    if not site_url or not html_path:
        return None
    pure = PurePosixPath(html_path.removeprefix("site/"))
    if pure.is_absolute() or ".." in pure.parts:
        return None
    return site_url + quote(str(pure))


def load_recipients(profiles_dir: Path) -> tuple[dict[str, str], list[str]]:
    """Applicant id -> email address from the profiles' `id` and `email`, and notes about files that failed."""
    addresses: dict[str, str] = {}
    notes: list[str] = []
    for path in sorted([*profiles_dir.glob("*.yaml"), *profiles_dir.glob("*.yml")]):
        try:
            data = yamlstrict.load(path.read_bytes(), str(path)).data
        except (OSError, InputError) as exc:
            notes.append(f"{path}: cannot read the address: {exc}".splitlines()[0])
            continue
        if not isinstance(data, dict):
            continue
        applicant_id = data.get("id", path.stem)
        if isinstance(applicant_id, str) and isinstance(data.get("email"), str):
            addresses.setdefault(applicant_id, data["email"])
    return addresses, notes


class Templates:
    """The theme's email templates: subject.txt, body.txt (plain) and body.html (autoescaped)."""

    NAMES = ("subject.txt", "body.txt", "body.html")

    def __init__(self, theme_dir: Path):
        self.folder = theme_dir / "email"
        loader = jinja2.FileSystemLoader(self.folder)
        plain = SandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False)
        html = SandboxedEnvironment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=True)
        self.templates = {}
        for name, env in zip(self.NAMES, (plain, plain, html)):
            try:
                self.templates[name] = env.get_template(name)
            except jinja2.TemplateNotFound:
                raise InputError(Problem(str(self.folder / name), None, None, "email template missing")) from None
            except jinja2.TemplateSyntaxError as exc:
                raise InputError(Problem(str(self.folder / name), exc.lineno, None, exc.message or "syntax error")) from None

    def render(self, context: dict) -> tuple[str, str, str]:
        """Subject (one line, CR/LF removed), plain-text body and HTML body."""
        out = []
        for name in self.NAMES:
            template = self.templates[name]
            try:
                out.append(template.render(context))
            except jinja2.TemplateError as exc:
                line = next((n for frame, n in traceback.walk_tb(exc.__traceback__)
                             if frame.f_code.co_filename == template.filename), None)
                raise InputError(Problem(str(self.folder / name), line, None, str(exc))) from None
        subject = " ".join(_CONTROL.sub(" ", out[0]).split())
        if not subject:
            raise InputError(Problem(str(self.folder / "subject.txt"), None, None, "renders an empty subject"))
        return subject, out[1], out[2]


def message_id(applicant_id: str, pdf_sha256: str, domain: str) -> str:
    """The same guide for the same applicant always gets the same Message-ID."""
    digest = hashlib.sha256(f"{applicant_id}\n{pdf_sha256}".encode()).hexdigest()[:32]
    return f"<matchguide.{digest}@{domain}>"


def _drafts(doc: dict, options: EmailOptions, recipients: Mapping[str, str], templates: Templates,
            sender: Address, site_url: str | None, result: EmailResult, report: Callable[[str], None]) -> list[Draft]:
    entries = {e.get("id"): e for e in doc["profiles"] if isinstance(e, dict)}
    if options.only:
        unknown = [i for i in options.only if i not in entries]
        if unknown:
            raise InputError([Problem(str(options.out_dir / manifest.NAME), None, "--only",
                                      f"no built guide for {i!r}") for i in unknown])
    for applicant_id in sorted(set(recipients) - set(entries)):
        report(f"note: {applicant_id}: no guide in the manifest (not built?); skipped")
    if not site_url:
        report("note: MATCHGUIDE_SITE_URL is not set; the messages say the link will follow separately")
    drafts = []
    for applicant_id in (dict.fromkeys(options.only) if options.only else sorted(entries, key=str)):
        entry = entries[applicant_id]
        try:
            drafts.append(_draft(entry, doc, options.out_dir, recipients, templates, sender, site_url))
        except MatchguideError as exc:
            result.problems += exc.problems
            for p in exc.problems:
                report(f"not ready: {p}")
    return drafts


def _draft(entry: dict, doc: dict, out_dir: Path, recipients: Mapping[str, str], templates: Templates,
           sender: Address, site_url: str | None) -> Draft:
    applicant_id = entry.get("id")
    source = str(entry.get("source") or f"manifest: {applicant_id}")
    if not isinstance(applicant_id, str) or not _ID.match(applicant_id):
        raise DeliveryError(Problem(str(out_dir / manifest.NAME), None, "id", f"not an applicant id: {applicant_id!r}"))
    name = entry.get("name") if isinstance(entry.get("name"), str) else applicant_id
    to = make_address(name, recipients.get(applicant_id, ""))
    if to is None:
        why = "no email address" if not recipients.get(applicant_id) else "the email address cannot be used (ASCII only)"
        raise DeliveryError(Problem(source, None, "email", why))
    pdf_rel = entry.get("pdf")
    pure = PurePosixPath(pdf_rel) if isinstance(pdf_rel, str) else None
    if pure is None or pure.is_absolute() or ".." in pure.parts or not pure.parts:
        raise DeliveryError(Problem(source, None, "pdf", "no PDF was built for this guide"))
    pdf_path = out_dir.joinpath(*pure.parts)
    try:
        pdf_sha256 = hashlib.sha256(pdf_path.read_bytes()).hexdigest()
    except OSError as exc:
        raise DeliveryError(Problem(str(pdf_path), None, None, f"cannot read the PDF: {exc.strerror or exc}")) from None
    link = guide_link(site_url, entry.get("html"))
    context = {"name": to.display_name or name, "link": link, "cycle": doc.get("cycle"), "band": entry.get("band"),
               "programs": entry.get("programs"), "pdf_filename": pure.name, "sender_name": sender.display_name}
    subject, text, html = templates.render(context)
    return Draft(applicant_id, to, subject, text, html, pdf_path, pure.name, pdf_sha256,
                 message_id(applicant_id, pdf_sha256, sender.domain))


def _plan(drafts: list[Draft], history: History, options: EmailOptions, result: EmailResult,
          report: Callable[[str], None]) -> list[Draft]:
    due = []
    for draft in drafts:
        decision, why = history.decide(draft.id, draft.pdf_sha256, resend_changed=options.resend_changed,
                                       retry_unknown=options.retry_unknown)
        if decision == SEND:
            due.append(draft)
            continue
        {SKIP: result.skipped, CHANGED: result.changed, UNKNOWN: result.unknown}[decision].append(draft.id)
        report(f"{draft.id}: {why}")
    if options.limit is not None and len(due) > options.limit:
        result.remaining += [d.id for d in due[options.limit:]]
        report(f"--limit {options.limit}: {len(due) - options.limit} message(s) left for a later run")
        due = due[:options.limit]
    return due


def build_message(draft: Draft, sender: Address, pdf: bytes) -> EmailMessage:
    """The full message: plain text and HTML alternatives, the PDF attached."""
    msg = EmailMessage(policy=_POLICY)
    msg["From"] = sender
    msg["To"] = draft.to
    msg["Subject"] = draft.subject
    msg["Date"] = email.utils.format_datetime(dt.datetime.now(dt.timezone.utc))
    msg["Message-ID"] = draft.message_id
    msg.set_content(draft.text)
    msg.add_alternative(draft.html, subtype="html")
    msg.add_attachment(pdf, maintype="application", subtype="pdf", filename=draft.pdf_name)
    return msg


def _read_pdf(draft: Draft) -> bytes:
    try:
        pdf = draft.pdf_path.read_bytes()
    except OSError as exc:
        raise DeliveryError(Problem(str(draft.pdf_path), None, None, f"cannot read the PDF: {exc.strerror or exc}")) from None
    if hashlib.sha256(pdf).hexdigest() != draft.pdf_sha256:
        raise DeliveryError(Problem(str(draft.pdf_path), None, None, "the PDF changed during this run; rerun to send it"))
    return pdf


def _write_outbox(out_dir: Path, due: list[Draft], sender: Address, result: EmailResult,
                  report: Callable[[str], None]) -> None:
    outbox = out_dir / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    for stale in outbox.glob("*.eml"):  # the outbox shows this run only
        stale.unlink()
    result.outbox = outbox
    for draft in due:
        try:
            data = build_message(draft, sender, _read_pdf(draft)).as_bytes(policy=_WIRE)
        except DeliveryError as exc:
            result.problems += exc.problems
            report(f"not ready: {exc}")
            continue
        _atomic_write(outbox / f"{draft.id}.eml", data)
        result.written.append(draft.id)
        report(f"{draft.id}: wrote outbox/{draft.id}.eml (to {draft.to.addr_spec})")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _write_failures(path: Path, result: EmailResult, recipients: Mapping[str, str]) -> Path:
    """Every message that did not go out in this send run, with why (rewritten each run)."""
    reasons = [("unknown", i) for i in result.unknown] + [("refused", i) for i in result.refused] \
        + [("failed", i) for i in result.failed]
    doc = {"at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
           "stopped": result.stopped,
           "failures": [{"id": i, "state": s, "email": recipients.get(i)} for s, i in reasons]
           + [{"id": None, "state": "not ready", "problem": str(p)} for p in result.problems],
           "remaining": result.remaining}
    _atomic_write(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


# --- SMTP -------------------------------------------------------------------

class _Fatal(Exception):
    """The server cannot be used at all (login, TLS, certificate): stop before sending."""


class _Retry(Exception):
    """Not delivered, worth another try; `reconnect` when the connection is gone."""

    def __init__(self, detail: str, reconnect: bool):
        super().__init__(detail)
        self.reconnect = reconnect


class _Refused(Exception):
    """The server refused the recipient (5xx on RCPT)."""


class _Rejected(Exception):
    """A permanent (5xx) answer to MAIL or DATA: not delivered."""


class _Unknown(Exception):
    """The message was transmitted but no answer came: it may have been delivered."""


class _Stop(Exception):
    """The run cannot go on (server gone, login refused); what is left waits for the next run."""


class _Session:
    """One logged-in SMTP connection, reopened after a drop."""

    def __init__(self, config: SmtpConfig):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def open(self) -> None:
        """Connect, secure and log in, or raise _Fatal / _Retry."""
        if self.smtp is not None:
            return
        c = self.config
        try:
            context = ssl.create_default_context()
            if c.cafile:
                context.load_verify_locations(cafile=str(c.cafile))
            if c.security == "tls":
                smtp = smtplib.SMTP_SSL(c.host, c.port, timeout=c.timeout, context=context)
            else:
                smtp = smtplib.SMTP(c.host, c.port, timeout=c.timeout)
            try:
                smtp.ehlo()
                if c.security == "starttls":
                    smtp.starttls(context=context)
                    smtp.ehlo()
                if c.user:
                    smtp.login(c.user, c.password or "")
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise _Fatal(f"login as {c.user!r} refused: {_reply(exc)}; check MATCHGUIDE_SMTP_USER and "
                         "MATCHGUIDE_SMTP_PASSWORD") from None
        except ssl.SSLCertVerificationError as exc:
            raise _Fatal(f"the server's certificate is not trusted ({exc.verify_message}); if it uses a private CA, "
                         "set MATCHGUIDE_SMTP_CAFILE to that CA's certificate") from None
        except ssl.SSLError as exc:
            raise _Fatal(f"TLS failed ({exc.reason or exc}); check MATCHGUIDE_SMTP_SECURITY and MATCHGUIDE_SMTP_PORT") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise _Fatal(f"the server does not support what we need ({exc}); check MATCHGUIDE_SMTP_SECURITY") from None
        except smtplib.SMTPResponseException as exc:
            if exc.smtp_code >= 500:
                raise _Fatal(f"the server refused the session: {_reply(exc)}") from None
            raise _Retry(f"server busy: {_reply(exc)}", reconnect=True) from None
        except OSError as exc:  # refused, reset, timed out, disconnected
            raise _Retry(f"cannot reach {c.host}:{c.port}: {exc.strerror or exc or type(exc).__name__}", reconnect=True) from None
        self.smtp = smtp

    def close(self) -> None:
        """Say goodbye if the server still listens; forget the connection either way."""
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()

    def reset(self) -> None:
        """Abandon a failed transaction (RSET), or drop the connection if that fails."""
        if self.smtp is not None:
            try:
                if self.smtp.rset()[0] == 250:
                    return
            except (OSError, smtplib.SMTPException):
                pass
            self.smtp.close()
            self.smtp = None

    def transaction(self, sender: str, recipient: str, payload: bytes) -> str:
        """MAIL, RCPT, DATA for one message; returns the server's acceptance."""
        smtp = self.smtp
        assert smtp is not None
        try:
            _expect(*smtp.mail(sender), "MAIL FROM")
            code, reply = smtp.rcpt(recipient)
            if code >= 500:
                raise _Refused(f"{code} {_text(reply)}")
            _expect(code, reply, "RCPT TO", ok=(250, 251))
            _expect(*smtp.docmd("DATA"), "DATA", ok=(354,))
            smtp.send(payload)  # an incomplete send never carries the final ".": not delivered
        except (OSError, smtplib.SMTPException) as exc:
            raise _Retry(f"connection lost ({exc or type(exc).__name__})", reconnect=True) from None
        try:
            code, reply = smtp.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            raise _Unknown(f"no answer after the message was transmitted ({exc or type(exc).__name__})") from None
        _expect(code, reply, "end of DATA")
        return f"{code} {_text(reply)}"


def _expect(code: int, reply: bytes, step: str, ok: tuple[int, ...] = (250,)) -> None:
    if code in ok:
        return
    detail = f"{step}: {code} {_text(reply)}"
    if 400 <= code < 500 or code == -1:
        raise _Retry(detail, reconnect=code in (421, -1))
    raise _Rejected(detail)


def _text(reply: bytes | str) -> str:
    return (reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)).replace("\n", " ")


def _reply(exc: smtplib.SMTPResponseException) -> str:
    return f"{exc.smtp_code} {_text(exc.smtp_error)}"


def _payload(msg: EmailMessage) -> bytes:
    """The DATA bytes: CRLF lines, leading dots doubled, the final '.' line."""
    data = re.sub(rb"(?m)^\.", b"..", msg.as_bytes(policy=_WIRE))
    return (data if data.endswith(b"\r\n") else data + b"\r\n") + b".\r\n"


def _deliver_all(due: list[Draft], config: SmtpConfig, ledger: Ledger, options: EmailOptions,
                 result: EmailResult, report: Callable[[str], None]) -> None:
    if not due:
        report("nothing to send")
        return
    session = _Session(config)
    try:
        _with_retries(session.open, options, report, "connect")
    except (_Fatal, _Retry) as exc:
        raise DeliveryError(Problem(f"{config.host}:{config.port}", None, None, f"{exc}; nothing was sent")) from None
    report(f"connected to {config.host}:{config.port} ({config.security}); sending {len(due)} message(s)")
    interval, last = 60.0 / options.rate_per_minute, None
    try:
        for index, draft in enumerate(due):
            if last is not None:
                time.sleep(max(0.0, interval - (time.monotonic() - last)))
            last = time.monotonic()
            try:
                outcome = _deliver_one(draft, session, config, ledger, options, report)
            except _Stop as exc:
                result.failed.append(draft.id)
                result.stopped = str(exc)
                result.remaining += [d.id for d in due[index + 1:]]
                report(f"stopping: {exc}")
                break
            getattr(result, outcome).append(draft.id)
    finally:
        session.close()


def _deliver_one(draft: Draft, session: _Session, config: SmtpConfig, ledger: Ledger,
                 options: EmailOptions, report: Callable[[str], None]) -> str:
    """Deliver one message with retries: sent, refused, failed or unknown; _Stop when the run cannot go on."""
    try:
        payload = _payload(build_message(draft, config.sender, _read_pdf(draft)))
    except DeliveryError as exc:
        report(f"{draft.id}: failed: {exc}")
        return "failed"
    record = (draft.id, draft.pdf_sha256, draft.message_id)

    def attempt() -> str:
        session.open()
        ledger.append(*record, "sending")  # durable before the server sees anything
        try:
            return session.transaction(config.sender.addr_spec, draft.to.addr_spec, payload)
        except _Retry as exc:
            ledger.append(*record, "failed", str(exc))
            session.close() if exc.reconnect else session.reset()
            raise

    try:
        reply = _with_retries(attempt, options, report, draft.id)
    except _Refused as exc:
        ledger.append(*record, "refused", str(exc))
        session.reset()
        report(f"{draft.id}: refused by the server: {exc}")
        return "refused"
    except _Rejected as exc:
        ledger.append(*record, "failed", str(exc))
        session.reset()
        report(f"{draft.id}: failed: {exc}")
        return "failed"
    except _Unknown as exc:
        session.close()
        report(f"{draft.id}: outcome unknown: {exc}; it will not be re-sent without --retry-unknown")
        return "unknown"
    except _Retry as exc:
        report(f"{draft.id}: failed after {options.max_retries} retries: {exc}")
        if exc.reconnect:
            raise _Stop(f"the server stopped answering ({exc})") from None
        return "failed"
    except _Fatal as exc:
        raise _Stop(str(exc)) from None
    ledger.append(*record, "sent", reply)
    report(f"{draft.id}: sent to {draft.to.addr_spec}")
    return "sent"


def _with_retries(action: Callable[[], str | None], options: EmailOptions, report: Callable[[str], None], what: str):
    """Run action, retrying _Retry with exponential backoff (bounded by options.max_retries)."""
    for retry in range(options.max_retries + 1):
        try:
            return action()
        except _Retry as exc:
            if retry == options.max_retries:
                raise
            delay = min(options.backoff_seconds * 2 ** retry, 60.0)
            report(f"{what}: {exc}; retrying in {delay:g} s")
            time.sleep(delay)
