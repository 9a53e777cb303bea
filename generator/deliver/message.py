"""One applicant's message: the theme's email templates, the draft, the MIME message as it goes on the wire."""

from __future__ import annotations

import datetime as dt
import email.parser
import email.policy
import email.utils
import hashlib
import os
import re
import traceback
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from pathlib import Path, PurePosixPath
from typing import Mapping, Sequence
from urllib.parse import quote, urlsplit

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from generator.deliver.changes import differences, snapshot
from generator.deliver.ledger import History
from generator.deliver.addresses import undeliverable
from generator.deliver.smtp import CONTROL, make_address
from generator.errors import DeliveryError, InputError, Problem
from generator.load.ids import ID_RE
from generator.render.html import ConfinedLoader
from generator.write import manifest

# 7bit: non-ASCII text goes quoted-printable, so any server takes it without 8BITMIME.
_POLICY = email.policy.default.clone(cte_type="7bit")
_WIRE = _POLICY.clone(linesep="\r\n")


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
    guide: dict | None = None  # the snapshot the ledger keeps with the message (deliver/changes.py)
    changes: dict | None = None  # what changed since the guide last sent, when one was


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


def guide_locations(doc: dict, out: Path, only: Sequence[str], env: Mapping[str, str] = os.environ) -> list[str]:
    """Where `build --only` put each guide: page and PDF on disk, and the page's address on the site when
    MATCHGUIDE_SITE_URL is set."""
    try:
        site_url = site_url_from(env)
    except DeliveryError:
        site_url = None
    lines = []
    for entry in (e for e in doc.get("profiles", []) if isinstance(e, dict) and e.get("id") in only):
        pdf = f" (PDF: {out / entry['pdf']})" if entry.get("pdf") else ""
        lines.append(f"{entry['id']}: {out / entry['html']}{pdf}")
        link = guide_link(site_url, entry.get("html"))
        lines.append(f"  on the site, once published: {link}" if link else
                     "  set MATCHGUIDE_SITE_URL to see its address on the published site")
    return lines


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


def draft_for(entry: dict, doc: dict, out_dir: Path, recipients: Mapping[str, str], templates: Templates,
              sender: Address, site_url: str | None, history: History | None = None, *,
              allow_example: bool = False) -> Draft:
    """One applicant's message from their manifest entry; DeliveryError when they cannot be written to.

    With the ledger's `history`, a guide that replaces one already sent gets `changes` in its template
    context: what changed since then, as the roster shows it.
    """
    applicant_id = entry.get("id")
    source = str(entry.get("source") or f"manifest: {applicant_id}")
    if not isinstance(applicant_id, str) or not ID_RE.match(applicant_id):
        raise DeliveryError(Problem(str(out_dir / manifest.NAME), None, "id", f"not an applicant id: {applicant_id!r}"))
    name = entry.get("name") if isinstance(entry.get("name"), str) else applicant_id
    to = make_address(name, recipients.get(applicant_id, ""))
    if to is None:
        why = "no email address" if not recipients.get(applicant_id) else "the email address cannot be used (ASCII only)"
        raise DeliveryError(Problem(source, None, "email", why))
    refused = undeliverable(to.addr_spec, allow_example=allow_example)
    if refused:  # `matchguide new` leaves a placeholder to fill in; the sample cohort uses example.org
        raise DeliveryError(Problem(source, None, "email", refused))
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
    guide = snapshot(entry, doc.get("section_titles"))
    changes = changes_since_sent(history, applicant_id, pdf_sha256, guide) if history else None
    context = {"name": to.display_name or name, "link": link, "cycle": doc.get("cycle"), "band": entry.get("band"),
               "programs": entry.get("programs"), "pdf_filename": pure.name, "sender_name": sender.display_name,
               "changes": changes}
    subject, text, html = templates.render(context)
    return Draft(applicant_id, to, subject, text, html, pdf_path, pure.name, pdf_sha256,
                 message_id(applicant_id, pdf_sha256, sender.domain), guide, changes)


def changes_since_sent(history: History, applicant_id: str, pdf_sha256: str, guide: dict) -> dict | None:
    """What changed since this applicant's guide was last sent (None when none was, or it is this one).

    `sent_on` (YYYY-MM-DD), `lines` (short sentences), `program_list_changed` and `known` (False when the
    earlier guide was sent before the ledger kept snapshots).
    """
    previous = history.sent_guide(applicant_id, pdf_sha256)
    if previous is None:
        return None
    sent_at, sent_guide = previous
    return {"sent_on": sent_at[:10], **differences(sent_guide, guide)}


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


def read_pdf(draft: Draft) -> bytes:
    """The attachment, checked against the digest the draft was made from."""
    try:
        pdf = draft.pdf_path.read_bytes()
    except OSError as exc:
        raise DeliveryError(Problem(str(draft.pdf_path), None, None, f"cannot read the PDF: {exc.strerror or exc}")) from None
    if hashlib.sha256(pdf).hexdigest() != draft.pdf_sha256:
        raise DeliveryError(Problem(str(draft.pdf_path), None, None, "the PDF changed during this run; rerun to send it"))
    return pdf
