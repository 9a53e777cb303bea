"""Where messages are written rather than sent: the outbox of a dry run, and the failures file of a send run."""

from __future__ import annotations

import datetime as dt
import json
from email.headerregistry import Address
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

from generator.deliver.message import Draft, build_message, read_pdf, wire_bytes
from generator.errors import DeliveryError
from generator.events import Reporter
from generator.write.writer import atomic_write

if TYPE_CHECKING:
    from generator.deliver.sending import EmailResult


def write_outbox(out_dir: Path, due: list[Draft], sender: Address, result: EmailResult,
                  report: Reporter) -> None:
    """A dry run's result: each due message as outbox/<id>.eml, and nothing else from earlier runs."""
    outbox = out_dir / "outbox"
    outbox.mkdir(parents=True, exist_ok=True)
    for stale in outbox.glob("*.eml"):  # the outbox shows this run only
        stale.unlink()
    result.outbox = outbox
    for draft in due:
        try:
            data = wire_bytes(build_message(draft, sender, read_pdf(draft)), draft)
        except DeliveryError as exc:
            result.problems += exc.problems
            report.event("message", id=draft.id, outcome="not_ready", detail=str(exc))
            continue
        atomic_write(outbox / f"{draft.id}.eml", data)
        result.written.append(draft.id)
        report.event("message", id=draft.id, outcome="written", to=draft.to.addr_spec)


def write_failures(path: Path, result: EmailResult, recipients: Mapping[str, str]) -> Path:
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
