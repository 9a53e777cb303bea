"""How events look in a terminal: `build`, `serve` and `email` runs, shown by one reporter.

The library reports events (generator/events.py); `ConsoleProgress` shows them on
a stream it is given. On a terminal it draws rich progress bars (guides and PDFs,
or applicants) with every other line printed above them; on a pipe or a CI log
each step is one plain line with no escape codes, so logs stay readable. The
end-of-build summary is a rich table.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping, TextIO

from generator.events import Reporter
from generator.write.roster import summary_rows

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, TaskID
    from rich.table import Table

SUMMARY_COLUMNS = ("id", "band", "basis", "programs", "flags", "pages", "status")


class ConsoleProgress(Reporter):
    """Shows events on a stream: rich progress bars on a TTY, one plain line per step otherwise."""

    def __init__(self, stream: TextIO, *, quiet: bool = False, tty: bool | None = None,
                 console: Console | None = None):
        self.stream = stream
        self.quiet = quiet
        self.tty = (console.is_terminal if console is not None else stream.isatty()) if tty is None else tty
        self._console = console  # made on first use: a plain run (a pipe, CI) never imports rich
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self.reset(bars=False)

    def reset(self, total: int | None = None, pdf: bool = False, label: str = "guides", *, bars: bool = True) -> None:
        """Start counting a new run of `total` items (None: unknown), with or without PDFs; bars on a terminal."""
        self._stop_bars()
        self.total = total
        self.pdf = pdf
        self.label = label
        self.done = self.built = self.pdfs = self.failed = 0
        self.current = ""
        if bars and self.tty and not self.quiet:
            self._start_bars()

    # -- events ---------------------------------------------------------------------------------

    def event(self, kind: str, **data: Any) -> None:
        """Show one build, serve or email event."""
        handler = getattr(self, f"_on_{kind}", None)
        if handler is not None:
            handler(**data)

    # build
    def _on_start(self, guides: int, pdf: bool = False, **_: Any) -> None:
        self.reset(guides, pdf)

    def _on_guide(self, id: str, **data: Any) -> None:
        self.built += 1
        band = f" ({data['band']})" if data.get("band") else ""
        self._advance(id, f"{self._count(self.done + 1, self.total)} {id}: built{band}")

    def _on_kept(self, id: str, **_: Any) -> None:
        self._advance(id, f"{self._count(self.done + 1, self.total)} {id}: unchanged")

    def _on_stale(self, id: str, **_: Any) -> None:
        self.line(f"{id}: kept the previous version (this build failed for it)")

    def _on_pdf(self, id: str, pages: int | None = None, **_: Any) -> None:
        self.pdfs += 1
        self.current = id
        if self.tty:
            self._update()
        else:
            self.line(f"  pdf {self._count(self.pdfs, self.pdf_total)} {id}: {pages} pages")

    def _on_problem(self, problem: Any, **_: Any) -> None:
        self.failed += 1
        self.line(f"error: {problem}", always=True)

    def _on_warning(self, problem: Any, **_: Any) -> None:
        self.line(f"warning: {problem}", always=True)

    def _on_done(self, **_: Any) -> None:
        self.current = ""
        self._update()
        self._stop_bars()

    # serve
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

    # email
    def _on_email_start(self, applicants: int, **_: Any) -> None:
        self.reset(applicants, label="applicants")

    def _on_note(self, text: str, **_: Any) -> None:
        self.line(f"note: {text}", always=True)

    def _on_message(self, id: str, outcome: str, detail: str | None = None, to: str | None = None,
                    **_: Any) -> None:
        self._advance(id, None)
        self.line(message_line(id, outcome, detail, to), always=True)

    def _on_limited(self, limit: int, left: int, **_: Any) -> None:
        if self.total is not None:
            self.total = max(self.total - left, self.done)  # the bar ends at what this run does
        self.line(f"--limit {limit}: {left} message(s) left for a later run", always=True)

    def _on_connected(self, host: str, port: int, security: str, messages: int, **_: Any) -> None:
        self.line(f"connected to {host}:{port} ({security}); sending {messages} message(s)", always=True)

    def _on_retry(self, what: str, error: str, delay: float, **_: Any) -> None:
        self.line(f"{what}: {error}; retrying in {delay:g} s", always=True)

    def _on_nothing_due(self, **_: Any) -> None:
        self.line("nothing to send", always=True)

    def _on_email_done(self, **_: Any) -> None:
        self._on_done()

    # -- showing --------------------------------------------------------------------------------

    @property
    def pdf_total(self) -> int | None:
        """PDFs expected: one per guide built, known once every guide is written."""
        if not self.pdf:
            return 0
        return self.built if self.total is not None and self.done >= self.total else None

    def line(self, text: str, *, always: bool = False) -> None:
        """Print a line of its own (above the bars on a terminal); quiet mode keeps only `always` lines."""
        if self.quiet and not always:
            return
        if self.tty:
            self.console.print(text, markup=False, highlight=False, emoji=False, soft_wrap=True)
        else:
            self.stream.write(text + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Stop the bars, leaving the terminal on a fresh line."""
        self._stop_bars()

    @property
    def console(self) -> Console:
        """The rich console that draws on the stream (made on first use)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(file=self.stream, force_terminal=self.tty, highlight=False,
                                    width=None if self.tty else 10_000)
        return self._console

    def _advance(self, current: str, plain: str | None) -> None:
        """One item done: move the bar on a terminal, else print `plain` (if any) as a line."""
        self.done += 1
        self.current = current
        if self.tty:
            self._update()
        elif plain is not None:
            self.line(plain)

    def _count(self, done: int, total: int | None) -> str:
        return f"[{done}/{total}]" if total is not None else f"[{done}]"

    def _start_bars(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self._progress = Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                                  TextColumn("{task.fields[note]}"), console=self.console, refresh_per_second=8)
        self._tasks = {"items": self._progress.add_task(self.label, total=self.total, note="")}
        if self.pdf:
            self._tasks["pdfs"] = self._progress.add_task("PDFs", total=None, note="")
        self._progress.start()

    def _update(self) -> None:
        if self._progress is None:
            return
        problems = f"{self.failed} problem(s) " if self.failed else ""
        self._progress.update(self._tasks["items"], completed=self.done, total=self.total,
                              note=problems + self.current)
        if "pdfs" in self._tasks:
            expected = self.pdf_total
            if expected is None:  # guides still running: each one left may need a PDF
                expected = self.built + max((self.total or 0) - self.done, 0)
            self._progress.update(self._tasks["pdfs"], completed=self.pdfs, total=expected)

    def _stop_bars(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._tasks = {}


_MESSAGE_LINES = {
    "written": "{id}: wrote outbox/{id}.eml (to {to})",
    "sent": "{id}: sent to {to}",
    "not_ready": "{id}: not ready: {detail}",
    "stopped": "{id}: not sent; stopping: {detail}",
}


def message_line(applicant_id: str, outcome: str, detail: str | None, to: str | None) -> str:
    """The line one email `message` event shows: what happened to this applicant's message."""
    line = _MESSAGE_LINES.get(outcome, "{id}: {outcome}: {detail}")
    return line.format(id=applicant_id, outcome=outcome, detail=detail, to=to)


def summary_table(doc: Mapping[str, Any], statuses: Mapping[str, str] | None = None) -> Table:
    """The end-of-run table, one row per guide of the manifest: id, band, basis, programs, flags, pages, status."""
    from rich import box
    from rich.table import Table

    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold")
    for name in SUMMARY_COLUMNS:
        table.add_column(name, justify="right" if name == "pages" else "left", no_wrap=True)
    entries = {e["id"]: e for e in doc.get("profiles", [])}
    for row in summary_rows(dict(doc)):
        entry = entries[row["id"]]
        basis = entry["basis"]
        table.add_row(row["id"], row["band"],
                      basis["kind"] if basis["score"] is None else f"{basis['kind']} {basis['score']}",
                      row["programs"], row["flags"], "—" if entry.get("pages") is None else str(entry["pages"]),
                      (statuses or {}).get(row["id"], "—"))
    return table


def show_summary(doc: Mapping[str, Any], statuses: Mapping[str, str] | None, stream: TextIO, *,
                 tty: bool | None = None, console: Console | None = None) -> None:
    """Print the summary table on `stream` (colours on a terminal only), then a line on any problems."""
    from rich.console import Console

    if console is None:
        terminal = stream.isatty() if tty is None else tty
        console = Console(file=stream, force_terminal=terminal, highlight=False, width=None if terminal else 10_000)
    console.print(summary_table(doc, statuses))
    errors = doc.get("errors") or []
    if errors:
        files = len({e.get("source") for e in errors})
        console.print(f"{len(errors)} problem(s) in {files} file(s); guides that depend on them were not built "
                      "(see the errors above).", markup=False, highlight=False, soft_wrap=True)
