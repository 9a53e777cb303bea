"""The send ledger: an append-only journal of every message `matchguide email --send` tried.

Each line is one JSON record `{"id", "pdf_sha256", "message_id", "state", ...}`.
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
                    state=data["state"], at=data.get("at", ""), detail=data.get("detail"))
    if record.state not in STATES:
        raise ValueError(f"unknown state {record.state!r}")
    if not all(isinstance(v, str) for v in (record.id, record.pdf_sha256, record.message_id)):
        raise ValueError("id, pdf_sha256 and message_id must be strings")
    return record


class History:
    """The last state of every (applicant, PDF) pair the ledger has seen."""

    def __init__(self, records: list[Record] = ()):
        self._last: dict[str, dict[str, Record]] = {}
        for record in records:
            self.add(record)

    def add(self, record: Record) -> None:
        """Take one more record into account (records arrive in ledger order)."""
        versions = self._last.setdefault(record.id, {})
        versions.pop(record.pdf_sha256, None)  # re-insert: the dict keeps the latest last
        versions[record.pdf_sha256] = record

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

    def append(self, applicant_id: str, pdf_sha256: str, message_id: str, state: str, detail: str | None = None) -> Record:
        """Append one record and make it durable before returning."""
        if state not in STATES:
            raise ValueError(f"unknown ledger state {state!r}")
        at = dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()
        record = Record(applicant_id, pdf_sha256, message_id, state, at, detail)
        data = {"id": applicant_id, "pdf_sha256": pdf_sha256, "message_id": message_id, "state": state, "at": at}
        if detail:
            data["detail"] = detail
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
