"""The send ledger: an append-only journal of every message `matchguide email --send` tried.

Each line is one JSON record `{"id", "pdf_sha256", "message_id", "state", ...}`; a `sending`
record also carries `guide`, a snapshot of what the guide said (generator/deliver/changes.py), so
the roster and `--resend-changed` can tell what changed since the guide was sent.
`sending` is written (flushed and fsynced) before the SMTP transaction starts and
`sent`, `refused` or `failed` after it ends, so a crash or a dropped connection
leaves `sending` as the last word: the outcome is unknown and the message is not
sent again unless the advisor says so. The ledger lives outside `output/`, which
every build replaces and `make clean` deletes.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from generator.errors import DeliveryError, Problem
from generator.write.writer import fsync_dir

STATES = ("sending", "sent", "refused", "failed")
SEND, SKIP, CHANGED, UNKNOWN = "send", "skip", "changed", "unknown"


@dataclass(frozen=True)
class Record:
    """One ledger line."""

    id: str
    pdf_sha256: str
    message_id: str
    state: str
    at: str = ""
    detail: str | None = None
    guide: dict | None = None  # the snapshot of the guide, on `sending` records


@dataclass(frozen=True)
class Delivery:
    """Where one applicant's current guide stands in the ledger (for the roster)."""

    state: str  # "sent", "changed", "failed", "unknown" or "not sent"
    at: str = ""  # when the current guide was sent or last tried
    detail: str | None = None
    sent_at: str = ""  # when the guide that was last sent went out (state "changed")
    sent_guide: dict | None = None  # that guide's snapshot, when the ledger has one


def default_path(out_dir: Path) -> Path:
    """`.matchguide/ledger.jsonl` in the project folder, i.e. beside the output folder."""
    return out_dir.resolve().parent / ".matchguide" / "ledger.jsonl"


def read(path: Path) -> tuple[list[Record], list[str]]:
    """All records of a ledger (none when it does not exist), and notes about a torn last line."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise DeliveryError(Problem(str(path), None, None, f"cannot read the send ledger: {exc.strerror or exc}")) from None
    records: list[Record] = []
    notes: list[str] = []
    lines = raw.split(b"\n")
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            records.append(_parse(line))
        except (ValueError, TypeError, KeyError) as exc:
            if number == len(lines):  # no newline after it: a write cut short by a crash
                notes.append(f"{path}:{number}: ignored an incomplete last record (interrupted write)")
                continue
            raise DeliveryError(Problem(str(path), number, None, f"not a ledger record ({exc}); "
                                        "the ledger is append-only: restore it rather than edit it")) from None
    return records, notes


def _parse(line: bytes) -> Record:
    data = json.loads(line)
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    record = Record(id=data["id"], pdf_sha256=data["pdf_sha256"], message_id=data["message_id"],
                    state=data["state"], at=data.get("at", ""), detail=data.get("detail"),
                    guide=data.get("guide") if isinstance(data.get("guide"), dict) else None)
    if record.state not in STATES:
        raise ValueError(f"unknown state {record.state!r}")
    if not all(isinstance(v, str) for v in (record.id, record.pdf_sha256, record.message_id)):
        raise ValueError("id, pdf_sha256 and message_id must be strings")
    return record


class History:
    """The last state of every (applicant, PDF) pair the ledger has seen."""

    def __init__(self, records: list[Record] = ()):
        self._last: dict[str, dict[str, Record]] = {}
        self._guides: dict[tuple[str, str], dict] = {}
        for record in records:
            self.add(record)

    def add(self, record: Record) -> None:
        """Take one more record into account (records arrive in ledger order)."""
        versions = self._last.setdefault(record.id, {})
        versions.pop(record.pdf_sha256, None)  # re-insert: the dict keeps the latest last
        versions[record.pdf_sha256] = record
        if record.guide is not None:
            self._guides[(record.id, record.pdf_sha256)] = record.guide

    def knows(self, applicant_id: str) -> bool:
        """True when the ledger holds any record for this applicant."""
        return applicant_id in self._last

    @property
    def latest(self) -> str:
        """The time of the ledger's latest record ("" when it is empty)."""
        return max((r.at for versions in self._last.values() for r in versions.values()), default="")

    def delivery(self, applicant_id: str, pdf_sha256: str | None) -> Delivery:
        """The state of this guide as the ledger tells it, in the terms `decide` acts on."""
        versions = self._last.get(applicant_id, {})
        this = versions.get(pdf_sha256) if pdf_sha256 else None
        if this is not None and this.state == "sent":
            return Delivery("sent", this.at)
        if this is not None and this.state == "sending":
            return Delivery("unknown", this.at, "an attempt ended without a known outcome")
        delivered = [r for sha, r in versions.items() if sha != pdf_sha256 and r.state in ("sent", "sending")]
        if delivered:
            last = delivered[-1]
            detail = None if this is None else f"the new guide's last attempt: {this.state}"
            return Delivery("changed", this.at if this else "", detail, last.at,
                            self._guides.get((applicant_id, last.pdf_sha256)))
        if this is not None:
            return Delivery("failed", this.at, f"{this.state}: {this.detail}" if this.detail else this.state)
        return Delivery("not sent")

    def sent_guide(self, applicant_id: str, pdf_sha256: str) -> tuple[str, dict | None] | None:
        """(when, snapshot) of the other guide of this applicant last delivered, if one was."""
        found = self.delivery(applicant_id, pdf_sha256)
        return (found.sent_at, found.sent_guide) if found.state == "changed" else None

    def last(self, applicant_id: str, pdf_sha256: str) -> Record | None:
        """The latest record of this exact guide, if any."""
        return self._last.get(applicant_id, {}).get(pdf_sha256)

    def decide(self, applicant_id: str, pdf_sha256: str, *, resend_changed: bool, retry_unknown: bool) -> tuple[str, str]:
        """What to do with this guide now: (SEND | SKIP | CHANGED | UNKNOWN, why)."""
        versions = self._last.get(applicant_id, {})
        this = versions.get(pdf_sha256)
        if this is not None and this.state == "sent":
            return SKIP, f"already sent ({this.at})" if this.at else "already sent"
        if this is not None and this.state == "sending":
            if retry_unknown:
                return SEND, "outcome of an earlier attempt unknown; retrying as asked"
            when = f" ({this.at})" if this.at else ""
            return UNKNOWN, (f"an earlier attempt{when} ended without a known outcome (crash or dropped connection); "
                             "check the mailbox or server log, then rerun with --retry-unknown to send it again")
        delivered = [r for sha, r in versions.items() if sha != pdf_sha256 and r.state in ("sent", "sending")]
        if delivered:
            if resend_changed:
                return SEND, "guide changed since it was sent; re-sending as asked"
            return CHANGED, "guide changed since it was sent; not re-sent (use --resend-changed)"
        return SEND, "not sent yet" if this is None else f"previous attempt {this.state}"


class Ledger:
    """The ledger opened for a send run: locked against a second sender, appended with fsync."""

    def __init__(self, path: Path):
        self.path = path
        self._fh: IO[bytes] | None = None
        self.history = History()
        self.notes: list[str] = []

    def __enter__(self) -> Ledger:
        created = not self.path.exists()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "ab")
        except OSError as exc:
            raise DeliveryError(Problem(str(self.path), None, None,
                                        f"cannot open the send ledger: {exc.strerror or exc}")) from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            raise DeliveryError(Problem(str(self.path), None, None,
                                        "another `matchguide email --send` is using this ledger; wait for it to finish")) from None
        self._fh = fh
        if created:
            fsync_dir(self.path.parent)
        records, self.notes = read(self.path)  # read under the lock: nobody else appends now
        self.history = History(records)
        if fh.tell() and not self.path.read_bytes().endswith(b"\n"):
            self._write(b"\n")  # start after a torn record, never inside it
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def append(self, applicant_id: str, pdf_sha256: str, message_id: str, state: str, detail: str | None = None,
               guide: dict | None = None) -> Record:
        """Append one record and make it durable before returning."""
        if state not in STATES:
            raise ValueError(f"unknown ledger state {state!r}")
        at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        record = Record(applicant_id, pdf_sha256, message_id, state, at, detail, guide)
        data: dict = {"id": applicant_id, "pdf_sha256": pdf_sha256, "message_id": message_id, "state": state, "at": at}
        if detail:
            data["detail"] = detail
        if guide is not None:
            data["guide"] = guide
        self._write(json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n")
        self.history.add(record)
        return record

    def _write(self, data: bytes) -> None:
        if self._fh is None:
            raise RuntimeError("the ledger is not open")
        try:
            self._fh.write(data)
            self._fh.flush()
            os.fsync(self._fh.fileno())
        except OSError as exc:
            # Without a durable record we must not go on: the next run could send twice.
            raise DeliveryError(Problem(str(self.path), None, None,
                                        f"cannot write the send ledger: {exc.strerror or exc}")) from None
