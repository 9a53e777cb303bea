"""`matchguide serve`: build, serve the site on loopback, rebuild when an input changes, reload open pages.

The files on disk stay exactly what `matchguide build` writes: the live-reload
script is added to HTML responses only, as they are served. A failed rebuild
is reported and the previous good build stays on disk and on screen.
"""

from __future__ import annotations

import html
import json
import os
import socket
import threading
import traceback
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from typing import Any, Iterable
from urllib.parse import urlsplit

from generator.write import manifest
from generator.build import build
from generator.project import BuildOptions, display
from generator.errors import BuildError, MatchguideError, Problem
from generator.events import Reporter

VERSION_PATH = "/__matchguide/version"
INDEX_PATH = "/__matchguide/"
POLL_SECONDS = 0.5
_EDITOR_DEBRIS = ("~", ".swp", ".swx", ".tmp")

# Polls the build number each second; reloads when it changes, shows the last build error meanwhile.
RELOAD_SCRIPT = """<script>/* matchguide serve: live reload (added while serving; never in the built files) */
(function () {
  var build = %(build)d, box = null;
  function show(error) {
    if (!error) { if (box) { box.remove(); box = null; } return; }
    if (!box) {
      box = document.createElement("pre");
      box.setAttribute("role", "alert");
      box.className = "matchguide-serve-error";
      box.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:2147483647;margin:0;max-height:40vh;" +
        "overflow:auto;padding:.75em 1em;background:#fff4f4;color:#7a1010;border-top:3px solid #c62828;" +
        "font:13px/1.4 monospace;white-space:pre-wrap";
      document.body.appendChild(box);
    }
    box.textContent = "matchguide serve: the last build failed; showing the previous one.\\n" + error;
  }
  function poll() {
    fetch("%(version)s", {cache: "no-store"}).then(function (r) { return r.json(); }).then(function (v) {
      if (v.build !== build) { location.reload(); return; }
      show(v.error);
      setTimeout(poll, 1000);
    }, function () { setTimeout(poll, 1000); });
  }
  setTimeout(poll, 1000);
})();
</script>
"""


@dataclass
class ServeState:
    """What the server tells pages: the number of the last good build and the last attempt's error."""

    build: int = 0
    error: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def version(self) -> dict[str, Any]:
        """The body of /__matchguide/version."""
        with self.lock:
            return {"build": self.build, "error": self.error}

    def succeeded(self, error: str | None) -> int:
        """Count a good build (perhaps with problems in some profiles); returns its number."""
        with self.lock:
            self.build += 1
            self.error = error
            return self.build

    def failed(self, error: str) -> None:
        """Record a failed build; pages keep showing the previous one."""
        with self.lock:
            self.error = error


def inject(page: bytes, build_number: int) -> bytes:
    """The page with the live-reload script added before `</body>` (or at the end)."""
    script = (RELOAD_SCRIPT % {"build": build_number, "version": VERSION_PATH}).encode()
    at = page.lower().rfind(b"</body>")
    return page[:at] + script + page[at:] if at >= 0 else page + script


def snapshot(roots: Iterable[Path]) -> dict[str, tuple[int, int]]:
    """Every watched file's (mtime in ns, size), by path; hidden files and editor debris are left out."""
    seen: dict[str, tuple[int, int]] = {}
    for root in roots:
        if os.path.isfile(root):  # a single file watched on its own: the program spreadsheet given by --programs
            st = os.stat(root)
            seen[str(root)] = (st.st_mtime_ns, st.st_size)
            continue
        for folder, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for name in files:
                if name.startswith(".") or name.endswith(_EDITOR_DEBRIS):
                    continue
                path = os.path.join(folder, name)
                try:
                    st = os.stat(path)
                except OSError:  # deleted while we looked
                    continue
                seen[path] = (st.st_mtime_ns, st.st_size)
    return seen


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """The paths added, removed or modified between two snapshots, sorted."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


def serve(options: BuildOptions, *, host: str = "127.0.0.1", port: int = 8000, reporter: Reporter | None = None,
          stop_event: threading.Event | None = None, poll: float = POLL_SECONDS) -> None:
    """Build, serve `options.out/site` on host:port and rebuild on every change until stop_event is set."""
    reporter = reporter or Reporter()
    stop = stop_event or threading.Event()
    state = ServeState()
    site = Path(os.path.abspath(options.out)) / "site"
    server = _listen(host, port, site, options.out, state)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
                              name="matchguide-serve")
    thread.start()
    roots = [options.content, options.theme, options.profiles, *([options.programs] if options.programs else [])]
    try:
        seen = snapshot(roots)
        _rebuild(options, state, reporter)
        url = _url(host, server.server_address[1])
        reporter.event("serving", url=url, root=display(site), index=url + INDEX_PATH.lstrip("/"))
        while not stop.wait(poll):
            now = snapshot(roots)
            if now == seen:
                continue
            while not stop.wait(poll):  # let an editor finish saving a group of files
                settled = snapshot(roots)
                if settled == now:
                    break
                now = settled
            if stop.is_set():
                break
            paths, seen = changes(seen, now), now
            reporter.event("changed", paths=[display(Path(p)) for p in paths])
            _rebuild(options, state, reporter)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        reporter.event("stopped")


def _rebuild(options: BuildOptions, state: ServeState, reporter: Reporter) -> None:
    try:
        result = build(options, reporter)
    except MatchguideError as exc:
        problems = exc.problems
    except Exception as exc:  # a bug in a build must not take the preview down: report it where it happened
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        problems = [Problem(frame.filename, frame.lineno, None, f"internal error: {type(exc).__name__}: {exc}")]
    else:
        text = "\n".join(str(p) for p in result.problems) or None
        number = state.succeeded(text)
        reporter.event("rebuilt", number=number, built=len(result.rebuilt), kept=len(result.kept),
                       problems=len(result.problems))
        return
    for p in problems:
        reporter.event("problem", problem=p)
    state.failed("\n".join(str(p) for p in problems))
    reporter.event("build_failed", number=state.build)


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A browser that drops a connection mid-reload is normal here; never print (library code)."""


def _listen(host: str, port: int, site: Path, out_dir: Path, state: ServeState) -> _Server:
    def handler(*args: Any) -> _Handler:
        return _Handler(*args, directory=str(site), state=state, out_dir=out_dir)

    server_class = _Server
    if ":" in host:
        server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
    try:
        return server_class((host, port), handler)
    except OSError as exc:
        raise BuildError(Problem(f"{host}:{port}", None, None,
                                 f"cannot serve here: {exc.strerror or exc}; choose another --port or --host")) from None


class _Handler(SimpleHTTPRequestHandler):
    """Static files of the built site, live reload added to HTML; no directory listings (like GitHub Pages)."""

    def __init__(self, *args: Any, directory: str, state: ServeState, out_dir: Path):
        self.state = state
        self.out_dir = out_dir
        super().__init__(*args, directory=directory)

    def do_GET(self) -> None:
        self._respond(send_body=True)

    def do_HEAD(self) -> None:
        self._respond(send_body=False)

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")  # a reload must fetch the new stylesheet too
        super().end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Requests are not logged: library code does not print."""

    def _respond(self, send_body: bool) -> None:
        path = urlsplit(self.path).path
        if path == VERSION_PATH:
            return self._send(HTTPStatus.OK, "application/json", json.dumps(self.state.version()).encode(), send_body)
        if path == INDEX_PATH:
            return self._send(HTTPStatus.OK, "text/html; charset=utf-8", self._index(), send_body)
        target = Path(self.translate_path(self.path))
        if target.is_dir():
            if not path.endswith("/"):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", path + "/")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target = target / "index.html"
        if not target.is_file():
            return self._not_found(send_body)
        if target.suffix.lower() not in (".html", ".htm"):
            return super().do_GET() if send_body else super().do_HEAD()
        try:
            page = target.read_bytes()
        except OSError:  # replaced by a rebuild between the check and the read
            return self._not_found(send_body)
        self._send(HTTPStatus.OK, "text/html; charset=utf-8", inject(page, self.state.build), send_body)

    def _not_found(self, send_body: bool) -> None:
        try:
            page = (Path(self.directory) / "404.html").read_bytes()
        except OSError:
            page = b"<!DOCTYPE html><title>Not found</title><p>Nothing here (yet): see the console of matchguide serve."
        self._send(HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", inject(page, self.state.build), send_body)

    def _index(self) -> bytes:
        doc = manifest.read(self.out_dir) or {"profiles": []}
        items = []
        for entry in doc.get("profiles", []):
            rel = PurePosixPath(entry["html"]).relative_to("site")
            href = "/" + (str(rel.parent) + "/" if rel.name == "index.html" else str(rel))
            items.append(f'<li><a href="{html.escape(href)}">{html.escape(entry["id"])}</a> '
                         f'({html.escape(str(entry.get("band")))})</li>')
        body = ("<!DOCTYPE html><html lang=\"en\"><meta charset=\"utf-8\"><title>matchguide serve</title>"
                "<h1>Guides in this preview</h1><ul>" + "".join(items) + "</ul></html>")
        return inject(body.encode(), self.state.build)

    def _send(self, status: HTTPStatus, content_type: str, body: bytes, send_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)
