"""`matchguide email`: one message per applicant, written to the outbox or sent over SMTP.

Dry by default: messages go to `output/outbox/<id>.eml` and nothing leaves the
machine. With `send=True` the run connects and logs in first (a bad password or
an untrusted certificate stops it before any message goes out), then delivers
each guide once, journalled in the send ledger (generator/ledger.py).
"""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import email.utils
import hashlib
import json
import os
import re
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
from generator.errors import DeliveryError, InputError, Problem
from generator.ledger import CHANGED, SEND, SKIP, UNKNOWN, History, Ledger, read as read_ledger
from generator.smtp import CONTROL, Mailer, SmtpConfig, SendingStopped, dot_stuffed, make_address, parse_sender, smtp_config
from generator.writer import BuildLock, atomic_write
from generator.render import ConfinedLoader

ENV_VARS = ("MATCHGUIDE_SMTP_HOST", "MATCHGUIDE_SMTP_PORT", "MATCHGUIDE_SMTP_USER", "MATCHGUIDE_SMTP_PASSWORD",
            "MATCHGUIDE_SMTP_SECURITY", "MATCHGUIDE_SMTP_FROM", "MATCHGUIDE_SITE_URL")
FAILURES_NAME = "email-failures.json"
# 7bit: non-ASCII text goes quoted-printable, so any server takes it without 8BITMIME.
_POLICY = email.policy.default.clone(cte_type="7bit")
_WIRE = _POLICY.clone(linesep="\r\n")
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
    details: dict[str, str] = field(default_factory=dict)  # id -> why it was not sent

    @property
    def ok(self) -> bool:
        """True when nothing went wrong (skips and changed guides are not failures)."""
        return not (self.unknown or self.refused or self.failed or self.problems or self.stopped)

    def summary(self) -> str:
        """A few lines for the advisor: counts, then what to do next."""
        counts = (f"already sent {len(self.skipped)}, changed not re-sent {len(self.changed)}, "
                  f"unknown {len(self.unknown)}")
        if self.dry_run:
            lines = [f"Dry run: wrote {len(self.written)} message(s) to {self.outbox}; nothing was sent.",
                     f"Would send {len(self.written)}, {counts}, not ready {len(self.problems)}.",
                     "To send for real, set " + ", ".join(ENV_VARS[:6]) + " (and MATCHGUIDE_SITE_URL for the "
                     "guide link; see docs/email.md), then run `matchguide email --send`."]
        else:
            lines = [f"Sent {len(self.sent)}, {counts}, refused {len(self.refused)}, failed {len(self.failed)}, "
                     f"not ready {len(self.problems)}."]
            if self.failures_file and not self.ok:
                lines.append(f"Details: {self.failures_file}")
        if self.stopped:
            lines.append(f"Stopped early: {self.stopped}")
        if self.dry_run and self.remaining:
            lines.append(f"{len(self.remaining)} more message(s) are due beyond --limit.")
        elif self.remaining or self.failed or self.refused:
            lines.append(f"{len(self.remaining) + len(self.failed) + len(self.refused)} message(s) not delivered yet. "
                         "Rerun `matchguide email --send` to resume: nothing already sent is sent again.")
        if self.unknown:
            lines.append("Outcome unknown for " + ", ".join(self.unknown) + ": check the mailbox or server log; "
                         "to send again anyway use `--retry-unknown --only " + " ".join(self.unknown) + "`.")
        if self.changed:
            lines.append("Changed since sent: " + ", ".join(self.changed) + " (send the new guide with `--resend-changed`).")
        lines += [f"not ready: {p}" for p in self.problems]
        return "\n".join(lines)


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
            due = _plan(drafts, History(records), options, result, report)
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
    if parts.scheme not in ("https", "http") or not parts.netloc or CONTROL.search(value) or re.search(r"[\s\"'<>]", value):
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
        loader = ConfinedLoader(self.folder)
        common = {"loader": loader, "undefined": jinja2.StrictUndefined, "trim_blocks": True, "lstrip_blocks": True}
        plain = SandboxedEnvironment(autoescape=False, **common)
        html = SandboxedEnvironment(autoescape=True, **common)
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
        subject = " ".join(CONTROL.sub(" ", out[0]).split())
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
    drafts, template_problems = [], set()
    for applicant_id in (dict.fromkeys(options.only) if options.only else sorted(entries, key=str)):
        entry = entries[applicant_id]
        try:
            drafts.append(_draft(entry, doc, options.out_dir, recipients, templates, sender, site_url))
        except InputError as exc:  # the theme's fault, not this applicant's: nobody gets a message
            template_problems.update(exc.problems)
        except DeliveryError as exc:
            result.problems += exc.problems
            for p in exc.problems:
                report(f"not ready: {p}")
    if template_problems:
        raise InputError(sorted(template_problems, key=str))
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
    if to.domain.lower().endswith(".invalid"):  # `matchguide new` leaves a placeholder to fill in
        raise DeliveryError(Problem(source, None, "email", f"{to.addr_spec} is a placeholder; write the real address"))
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
        if decision != SKIP:
            result.details[draft.id] = why
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


def wire_bytes(message: EmailMessage, draft: Draft) -> bytes:
    """The message as sent, after checking that serializing it made no header of its own.

    Python before 3.11.10 decodes an encoded word (`=?utf-8?q?=0D=0A...?=`) while folding a header and
    writes the CR/LF it holds (CVE-2024-6923); profiles refuse such names, and this is the last guard.
    """
    data = message.as_bytes(policy=_WIRE)
    written = email.parser.BytesHeaderParser(policy=email.policy.compat32).parsebytes(data).keys()
    if sorted(written) != sorted(message.keys()):
        raise DeliveryError(Problem(f"outbox/{draft.id}.eml", None, "email",
                                    f"the message to {draft.id} would carry headers it was not given; not written"))
    return data


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
            data = wire_bytes(build_message(draft, sender, _read_pdf(draft)), draft)
        except DeliveryError as exc:
            result.problems += exc.problems
            report(f"not ready: {exc}")
            continue
        atomic_write(outbox / f"{draft.id}.eml", data)
        result.written.append(draft.id)
        report(f"{draft.id}: wrote outbox/{draft.id}.eml (to {draft.to.addr_spec})")


def _write_failures(path: Path, result: EmailResult, recipients: Mapping[str, str]) -> Path:
    """Every message that did not go out in this send run, with why (rewritten each run)."""
    reasons = [("unknown", i) for i in result.unknown] + [("refused", i) for i in result.refused] \
        + [("failed", i) for i in result.failed]
    doc = {"at": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat(),
           "stopped": result.stopped,
           "failures": [{"id": i, "state": s, "email": recipients.get(i), "detail": result.details.get(i)}
                        for s, i in reasons]
           + [{"id": None, "state": "not ready", "problem": str(p)} for p in result.problems],
           "remaining": result.remaining}
    atomic_write(path, (json.dumps(doc, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))
    return path


def _deliver_all(due: list[Draft], config: SmtpConfig, ledger: Ledger, options: EmailOptions,
                 result: EmailResult, report: Callable[[str], None]) -> None:
    if not due:
        report("nothing to send")
        return
    with Mailer(config, max_retries=options.max_retries, backoff_seconds=options.backoff_seconds,
                report=report) as mailer:
        mailer.connect()  # a bad login or certificate stops the run here, before any message
        report(f"connected to {config.host}:{config.port} ({config.security}); sending {len(due)} message(s)")
        interval, last = 60.0 / options.rate_per_minute, None
        for index, draft in enumerate(due):
            if last is not None:
                time.sleep(max(0.0, interval - (time.monotonic() - last)))
            last = time.monotonic()
            try:
                payload = dot_stuffed(wire_bytes(build_message(draft, config.sender, _read_pdf(draft)), draft))
            except DeliveryError as exc:
                result.failed.append(draft.id)
                result.details[draft.id] = str(exc)
                report(f"{draft.id}: failed: {exc}")
                continue

            def journal(state: str, detail: str | None, draft: Draft = draft) -> None:
                ledger.append(draft.id, draft.pdf_sha256, draft.message_id, state, detail)

            try:
                state, detail = mailer.deliver(draft.to.addr_spec, payload, journal, label=draft.id)
            except SendingStopped as exc:
                result.failed.append(draft.id)
                result.details[draft.id] = result.stopped = str(exc)
                result.remaining += [d.id for d in due[index + 1:]]
                report(f"{draft.id}: not sent; stopping: {exc}")
                return
            getattr(result, state).append(draft.id)
            if state != "sent":
                result.details[draft.id] = detail
            report(f"{draft.id}: {state}" + (f" to {draft.to.addr_spec}" if state == "sent" else f": {detail}"))
