"""`matchguide email`: one message per applicant, written to the outbox or sent over SMTP.

Dry by default: messages go to `output/outbox/<id>.eml` and nothing leaves the
machine. With `send=True` the run connects and logs in first (a bad password or
an untrusted certificate stops it before any message goes out), then delivers
each guide once, journalled in the send ledger (generator/deliver/ledger.py).
"""

from __future__ import annotations

import os
import time
from datetime import date
from dataclasses import dataclass, field
from email.headerregistry import Address
from pathlib import Path
from typing import Mapping, Sequence

from generator.deliver.addresses import ALLOW_EXAMPLE_ENV
from generator.deliver.ledger import CHANGED, SEND, SKIP, UNKNOWN, History, Ledger, read as read_ledger
from generator.deliver.message import Draft, Templates, build_message, draft_for, read_pdf, site_url_from, wire_bytes
from generator.deliver.outbox import write_failures, write_outbox
from generator.deliver.smtp import Mailer, SmtpConfig, SendingStopped, dot_stuffed, parse_sender, smtp_config
from generator.errors import DeliveryError, InputError, Problem
from generator.events import Reporter
from generator.load.profiles import load_profiles
from generator.load.strategy import load_strategy
from generator.write import manifest
from generator.write.writer import BuildLock

ENV_VARS = ("MATCHGUIDE_SMTP_HOST", "MATCHGUIDE_SMTP_PORT", "MATCHGUIDE_SMTP_USER", "MATCHGUIDE_SMTP_PASSWORD",
            "MATCHGUIDE_SMTP_SECURITY", "MATCHGUIDE_SMTP_FROM", "MATCHGUIDE_SITE_URL")
FAILURES_NAME = "email-failures.json"
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
    content_dir: Path | None = None  # whose strategy data the profiles are checked against; default: content/ beside it
    programs: Path | None = None  # the program spreadsheet the lists must still match; default: content/data/programs.csv


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


def stale_program_sheet(doc: dict, options: EmailOptions) -> Problem | None:
    """A problem when the program spreadsheet changed since the build: the guides would carry old lists."""
    built = doc.get("program_sheet")
    project = Path(os.path.abspath(options.out_dir)).parent
    path = options.programs or (options.content_dir or project / "content") / "data" / "programs.csv"
    from generator.load.programs import load_programs

    if not isinstance(built, dict):
        return None  # the build read no spreadsheet (or predates them): its guides hold no list to go stale
    now = load_programs(path, str(path)) if path.is_file() else None
    if now is not None and now.digest == built.get("digest"):
        return None
    return Problem(str(path), None, None, "the program spreadsheet changed since the last build, so the guides "
                                          "hold old program lists; run `matchguide build` first")


def run_email(options: EmailOptions, *, env: Mapping[str, str] = os.environ,
              reporter: Reporter | None = None, recipients: Mapping[str, str] | None = None) -> EmailResult:
    """Write every applicant's message to the outbox, or send the ones due (options.send).

    Reports events: `email_start` (applicants), `note` (text), one `message` (id, outcome, detail, to) per
    applicant, `limited`, `connected`, `retry` (from the SMTP client), `nothing_due`, `email_done`.
    """
    report = reporter or Reporter()
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
        stale = stale_program_sheet(doc, options)
        if stale and options.send:
            raise InputError(stale)
        if stale:
            report.event("note", text=str(stale))
        if recipients is None:
            recipients, notes = load_recipients(options, doc)
            for note in notes:
                report.event("note", text=note)
        result = EmailResult(dry_run=not options.send)
        report.event("email_start", applicants=len(options.only or doc["profiles"]), send=options.send)
        allow_example = env.get(ALLOW_EXAMPLE_ENV, "").strip() == "1"
        if not options.send:
            records, notes = read_ledger(options.ledger_path)
            for note in notes:
                report.event("note", text=note)
            history = History(records)
            drafts = _drafts(doc, options, recipients, templates, sender, site_url, result, report, history,
                             allow_example=allow_example)
            due = _plan(drafts, history, options, result, report)
            write_outbox(out_dir, due, sender, result, report)
            report.event("email_done")
            return result
        with Ledger(options.ledger_path) as ledger:
            for note in ledger.notes:
                report.event("note", text=note)
            drafts = _drafts(doc, options, recipients, templates, sender, site_url, result, report, ledger.history,
                             allow_example=allow_example)
            due = _plan(drafts, ledger.history, options, result, report)
            _deliver_all(due, config, ledger, options, result, report)
        result.failures_file = write_failures(options.ledger_path.parent / FAILURES_NAME, result, recipients)
        report.event("email_done")
        return result


def load_recipients(options: EmailOptions, doc: dict) -> tuple[dict[str, str], list[str]]:
    """Applicant id -> address, read through the profile loader as the build read them, and notes on the rest.

    The profiles are checked against the build's cycle and date (from the manifest): a profile that
    would not build gets no message, and its problem is noted.
    """
    project = Path(os.path.abspath(options.out_dir)).parent  # beside the output as named, even if it is a link
    profiles_dir = options.profiles_dir or project / "profiles"
    strategy_file = (options.content_dir or project / "content") / "data" / "strategy.yaml"
    try:
        as_of = date.fromisoformat(str(doc.get("as_of")))
        cycle = int(doc["cycle"])
    except (KeyError, TypeError, ValueError):
        raise InputError(Problem(str(options.out_dir / manifest.NAME), None, "as_of",
                                 "the manifest has no build date or cycle; run `matchguide build` again")) from None
    strategy = load_strategy(strategy_file, str(strategy_file))
    profiles, problems = load_profiles(profiles_dir, default_cycle=cycle, passing_standard=strategy.standard_on,
                                       as_of=as_of, source_prefix=str(profiles_dir))
    notes = [f"{p}; no message for this profile" for p in problems]
    return {p.id: p.email for p in profiles}, notes


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


def _optional_sender(env: Mapping[str, str], report: Reporter) -> Address:
    sender = parse_sender(env.get("MATCHGUIDE_SMTP_FROM", ""))
    if sender is None:
        report.event("note", text=f"MATCHGUIDE_SMTP_FROM is not set or not one address; the outbox shows {_PREVIEW_SENDER}")
    return sender or _PREVIEW_SENDER


def _drafts(doc: dict, options: EmailOptions, recipients: Mapping[str, str], templates: Templates,
            sender: Address, site_url: str | None, result: EmailResult, report: Reporter,
            history: History, *, allow_example: bool) -> list[Draft]:
    entries = {e.get("id"): e for e in doc["profiles"] if isinstance(e, dict)}
    if options.only:
        unknown = [i for i in options.only if i not in entries]
        if unknown:
            raise InputError([Problem(str(options.out_dir / manifest.NAME), None, "--only",
                                      f"no built guide for {i!r}") for i in unknown])
    for applicant_id in sorted(set(recipients) - set(entries)):
        report.event("note", text=f"{applicant_id}: no guide in the manifest (not built?); skipped")
    if not site_url:
        report.event("note", text="MATCHGUIDE_SITE_URL is not set; the messages carry the PDF and no link to the "
                                  "online guide (set it to include the link)")
    drafts, template_problems = [], set()
    for applicant_id in (dict.fromkeys(options.only) if options.only else sorted(entries, key=str)):
        entry = entries[applicant_id]
        try:
            drafts.append(draft_for(entry, doc, options.out_dir, recipients, templates, sender, site_url, history,
                                    allow_example=allow_example))
        except InputError as exc:  # the theme's fault, not this applicant's: nobody gets a message
            template_problems.update(exc.problems)
        except DeliveryError as exc:
            result.problems += exc.problems
            report.event("message", id=applicant_id, outcome="not_ready", detail="; ".join(map(str, exc.problems)))
    if template_problems:
        raise InputError(sorted(template_problems, key=str))
    return drafts


def _plan(drafts: list[Draft], history: History, options: EmailOptions, result: EmailResult,
          report: Reporter) -> list[Draft]:
    due = []
    for draft in drafts:
        decision, why = history.decide(draft.id, draft.pdf_sha256, resend_changed=options.resend_changed,
                                       retry_unknown=options.retry_unknown)
        if decision == SEND:
            due.append(draft)
            continue
        outcome = {SKIP: "skipped", CHANGED: "changed", UNKNOWN: "unknown"}[decision]
        getattr(result, outcome).append(draft.id)
        if decision != SKIP:
            result.details[draft.id] = why
        report.event("message", id=draft.id, outcome=outcome, detail=why)
    if options.limit is not None and len(due) > options.limit:
        result.remaining += [d.id for d in due[options.limit:]]
        report.event("limited", limit=options.limit, left=len(due) - options.limit)
        due = due[:options.limit]
    return due


def _deliver_all(due: list[Draft], config: SmtpConfig, ledger: Ledger, options: EmailOptions,
                 result: EmailResult, report: Reporter) -> None:
    if not due:
        report.event("nothing_due")
        return
    with Mailer(config, max_retries=options.max_retries, backoff_seconds=options.backoff_seconds,
                reporter=report) as mailer:
        mailer.connect()  # a bad login or certificate stops the run here, before any message
        report.event("connected", host=config.host, port=config.port, security=config.security, messages=len(due))
        interval, last = 60.0 / options.rate_per_minute, None
        for index, draft in enumerate(due):
            if last is not None:
                time.sleep(max(0.0, interval - (time.monotonic() - last)))
            last = time.monotonic()
            try:
                payload = dot_stuffed(wire_bytes(build_message(draft, config.sender, read_pdf(draft)), draft))
            except DeliveryError as exc:
                result.failed.append(draft.id)
                result.details[draft.id] = str(exc)
                report.event("message", id=draft.id, outcome="failed", detail=str(exc))
                continue

            def journal(state: str, detail: str | None, draft: Draft = draft) -> None:
                ledger.append(draft.id, draft.pdf_sha256, draft.message_id, state, detail,
                              draft.guide if state == "sending" else None)

            try:
                state, detail = mailer.deliver(draft.to.addr_spec, payload, journal, label=draft.id)
            except SendingStopped as exc:
                result.failed.append(draft.id)
                result.details[draft.id] = result.stopped = str(exc)
                result.remaining += [d.id for d in due[index + 1:]]
                report.event("message", id=draft.id, outcome="stopped", detail=str(exc))
                return
            getattr(result, state).append(draft.id)
            if state != "sent":
                result.details[draft.id] = detail
            report.event("message", id=draft.id, outcome=state, detail=detail, to=draft.to.addr_spec)
