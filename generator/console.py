"""Console display of build, serve and email runs: a progress bar on a terminal, plain lines in CI.

The library reports events (generator/events.py); this module shows them on a
stream it is given. On a terminal the progress is one line redrawn with `\\r`;
anything else (problems, notes) is printed above it. On a pipe or a CI log
every step is its own plain line, so logs stay readable.
"""

from __future__ import annotations

import re
import shutil
import time
from typing import Any, Callable, Iterable, Mapping, TextIO

from generator.events import Reporter
from generator.write.roster import summary_rows

BAR_WIDTH = 24
REDRAW_EVERY = 0.05  # seconds; a terminal cannot show more, and a 1000-guide build should not spend time drawing
_CLEAR = "\r\x1b[K"
_APPLICANT_LINE = re.compile(r"^([a-z0-9][a-z0-9-]{0,63}): ")


class ConsoleProgress(Reporter):
    """Shows events on a stream: a single-line progress bar on a TTY, one plain line per step otherwise."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic):
        self.stream = stream
        self.quiet = quiet
        self.tty = stream.isatty() if tty is None else tty
        self.clock = clock
        self._bar_shown = False
        self._last_draw = float("-inf")
        self.reset()

    def reset(self, total: int | None = None, pdf: bool = False, label: str = "guides") -> None:
        """Start counting a new run of `total` items (None: unknown), with or without PDFs."""
        self.total = total
        self.pdf = pdf
        self.label = label
        self.done = self.built = self.pdfs = self.failed = 0
        self.current = ""

    def advance(self, current: str, plain: str | None = None) -> None:
        """One item done: redraw the bar on a terminal, else print `plain` (if any) as a line."""
        self.done += 1
        self.current = current
        if self.tty:
            self._draw()
        elif plain is not None:
            self.line(plain)

    # -- events ---------------------------------------------------------------------------------

    def event(self, kind: str, **data: Any) -> None:
        """Show one build or serve event."""
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(**data)

    def _on_start(self, guides: int, pdf: bool = False, **_: Any) -> None:
        self.reset(guides, pdf)
        self._draw(force=True)

    def _on_guide(self, id: str, **data: Any) -> None:
        self.built += 1
        band = f" ({data['band']})" if data.get("band") else ""
        self.advance(id, f"{self._count(self.done + 1, self.total)} {id}: built{band}")

    def _on_kept(self, id: str, **_: Any) -> None:
        self.advance(id, f"{self._count(self.done + 1, self.total)} {id}: unchanged")

    def _on_pdf(self, id: str, pages: int | None = None, **_: Any) -> None:
        self.pdfs += 1
        self.current = id
        if self.tty:
            self._draw()
        else:
            self.line(f"  pdf {self._count(self.pdfs, self.pdf_total)} {id}: {pages} pages")

    def _on_problem(self, problem: Any, **_: Any) -> None:
        self.failed += 1
        self.line(f"error: {problem}", always=True)

    def _on_warning(self, problem: Any, **_: Any) -> None:
        self.line(f"warning: {problem}", always=True)

    def _on_done(self, **_: Any) -> None:
        self.current = ""
        self._draw(force=True)
        self._end_bar()

    def _on_serving(self, url: str, root: str, **_: Any) -> None:
        self.line(f"serving {root} at {url} (live reload on; Ctrl-C to stop)", always=True)

    def _on_changed(self, paths: list[str], **_: Any) -> None:
        shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
        self.line(f"changed: {shown}; rebuilding", always=True)

    def _on_rebuilt(self, number: int, built: int, kept: int, problems: int, **_: Any) -> None:
        self.line(f"build #{number}: {built} built, {kept} unchanged, {problems} problem(s); open pages reload",
                  always=True)

    def _on_build_failed(self, number: int, **_: Any) -> None:
        kept = f"still serving build #{number}" if number else "nothing to serve until it is fixed"
        self.line(f"build failed (see above); {kept}", always=True)

    def _on_stopped(self, **_: Any) -> None:
        self.line("stopped", always=True)

    # -- drawing --------------------------------------------------------------------------------

    @property
    def pdf_total(self) -> int | None:
        """PDFs expected: one per guide built, known once every guide is written."""
        if not self.pdf:
            return 0
        return self.built if self.total is not None and self.done >= self.total else None

    def line(self, text: str, *, always: bool = False) -> None:
        """Print a line of its own (above the bar on a terminal); quiet mode keeps only `always` lines."""
        if self.quiet and not always:
            return
        if self._bar_shown:
            self.stream.write(_CLEAR)
        self.stream.write(text + "\n")
        self.stream.flush()
        if self._bar_shown:
            self._draw(force=True)

    def close(self) -> None:
        """Leave the terminal on a fresh line."""
        self._end_bar()

    def _count(self, done: int, total: int | None) -> str:
        return f"[{done}/{total}]" if total is not None else f"[{done}]"

    def bar_text(self) -> str:
        """The progress line as it is drawn: bar, items done of total, PDFs done of total, current id."""
        expected_pdfs = self.pdf_total
        if self.pdf and expected_pdfs is None:  # guides still running: each one left may need a PDF
            expected_pdfs = self.built + max((self.total or 0) - self.done, 0)
        total = (self.total or 0) + (expected_pdfs or 0)
        fraction = (self.done + self.pdfs) / total if total else 0.0
        filled = round(BAR_WIDTH * min(fraction, 1.0))
        parts = [f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}]",
                 f"{self.label} {self.done}/{self.total if self.total is not None else '?'}"]
        if self.pdf:
            parts.append(f"PDFs {self.pdfs}/{self.pdf_total if self.pdf_total is not None else '…'}")
        if self.failed:
            parts.append(f"{self.failed} problem(s)")
        if self.current:
            parts.append(self.current)
        return " · ".join(parts)

    def _draw(self, force: bool = False) -> None:
        if not self.tty or self.quiet:
            return
        now = self.clock()
        if not force and now - self._last_draw < REDRAW_EVERY:
            return
        self._last_draw = now
        width = shutil.get_terminal_size((80, 24)).columns - 1
        self.stream.write(_CLEAR + self.bar_text()[:width])
        self.stream.flush()
        self._bar_shown = True

    def _end_bar(self) -> None:
        if self._bar_shown:
            self.stream.write("\n")
            self.stream.flush()
            self._bar_shown = False


class MessageProgress:
    """Adapts the email run's `reporter(message)` callback: each message a line, and a bar of applicants done."""

    def __init__(self, console: ConsoleProgress, ids: Iterable[str]):
        self.console = console
        self.ids = set(ids)
        self.seen: set[str] = set()
        console.reset(len(self.ids), label="applicants")

    def __call__(self, message: str) -> None:
        """Show one message of the email run; the first line that starts with an applicant's id counts them done."""
        match = _APPLICANT_LINE.match(message)
        if match and match.group(1) in self.ids - self.seen and "retrying in" not in message:
            self.seen.add(match.group(1))
            self.console.advance(match.group(1))
        self.console.line(message, always=True)  # redraws the bar below it, with this count

    def close(self) -> None:
        """Leave the terminal on a fresh line after the run."""
        self.console.close()


def summary_table(doc: Mapping[str, Any], statuses: Mapping[str, str] | None = None) -> str:
    """The end-of-run table, one row per guide of the manifest: id, band, basis, programs, flags, pages, status."""
    entries = {e["id"]: e for e in doc.get("profiles", [])}
    rows = []
    for row in summary_rows(doc):
        entry = entries[row["id"]]
        basis = entry["basis"]
        rows.append([
            row["id"],
            row["band"],
            basis["kind"] if basis["score"] is None else f"{basis['kind']} {basis['score']}",
            row["programs"],
            row["flags"],
            "—" if entry.get("pages") is None else str(entry["pages"]),
            (statuses or {}).get(row["id"], "—"),
        ])
    header = ["id", "band", "basis", "programs", "flags", "pages", "status"]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    numeric = {header.index("pages")}

    def fmt(cells: list[str]) -> str:
        return "  ".join(c.rjust(w) if i in numeric else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    lines = [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]
    errors = doc.get("errors") or []
    if errors:
        files = len({e.get("source") for e in errors})
        lines.append(f"{len(errors)} problem(s) in {files} file(s); guides that depend on them were not built "
                     "(see the errors above).")
    return "\n".join(lines)
