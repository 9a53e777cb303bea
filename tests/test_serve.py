"""`matchguide serve`: a real server on loopback, real rebuilds, real Ctrl-C."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from email.message import Message
from queue import Empty, Queue
from pathlib import Path

import pytest

from generator.write import manifest
from generator.build import build
from generator.project import BuildOptions, display
from generator.errors import BuildError
from generator.events import BufferReporter
from generator.authoring.serve import VERSION_PATH, serve
from tests.conftest import AS_OF, ROOT

PROFILES = ("aisha-rahman", "fatima-benali", "karim-haddad")
KEY = "serve-test-site-key-0123456789abcdef"
WAIT = 20.0  # seconds; a rebuild of three HTML guides takes well under one


class Recorder(BufferReporter):
    """Records events and lets a test wait for them (serve reports from its own thread)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = threading.Condition()

    def event(self, kind: str, **data) -> None:
        with self.changed:
            super().event(kind, **data)
            self.changed.notify_all()

    def wait_for(self, kind: str, count: int = 1) -> list[dict]:
        with self.changed:
            assert self.changed.wait_for(lambda: len(self.kinds(kind)) >= count, timeout=WAIT), \
                f"no {count} {kind!r} event(s) in {WAIT} s; got {[k for k, _ in self.events]}"
            return self.kinds(kind)

    def since(self, mark: int, kind: str) -> list[dict]:
        return [d for k, d in self.events[mark:] if k == kind]


def project_copy(root: Path) -> BuildOptions:
    """A private copy of the inputs (three profiles) and build options that write only under it."""
    shutil.copytree(ROOT / "content", root / "content")
    shutil.copytree(ROOT / "themes" / "default", root / "theme")
    (root / "profiles").mkdir()
    for pid in PROFILES:
        shutil.copy(ROOT / "profiles" / f"{pid}.yaml", root / "profiles")
    return BuildOptions(profiles=root / "profiles", content=root / "content", theme=root / "theme",
                        out=root / "out", state=root / "state", pdf=False, as_of=AS_OF)


def get(url: str, method: str = "GET") -> tuple[int, Message, bytes]:
    request = urllib.request.Request(url, method=method)
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def version(base: str) -> dict:
    return json.loads(get(base + VERSION_PATH.lstrip("/"))[2])


def guide_url(base: str, options: BuildOptions, pid: str) -> tuple[str, Path]:
    entry = next(e for e in manifest.read(options.out)["profiles"] if e["id"] == pid)
    return base + entry["html"].removeprefix("site/").removesuffix("index.html"), options.out / entry["html"]


@pytest.fixture()
def served(tmp_path: Path, monkeypatch):
    """serve() running in a thread on a free loopback port; stopped (and checked stopped) at the end."""
    monkeypatch.setenv("MATCHGUIDE_SITE_KEY", KEY)
    options = project_copy(tmp_path)
    recorder, stop = Recorder(), threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            serve(options, host="127.0.0.1", port=0, reporter=recorder, stop_event=stop, poll=0.1)
        except BaseException as exc:  # surfaced by the test below, not lost in the thread
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    url = recorder.wait_for("serving")[0]["url"]
    yield url, options, recorder, stop, thread
    stop.set()
    thread.join(10)
    assert not thread.is_alive() and not errors


def test_serves_the_build_with_live_reload_added_only_to_responses(served):
    base, options, recorder, _, _ = served
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/", base)
    assert version(base) == {"build": 1, "error": None}
    url, on_disk = guide_url(base, options, "aisha-rahman")
    for page_url, disk in ((base, options.out / "site" / "index.html"), (url, on_disk)):
        status, headers, body = get(page_url)
        assert status == 200 and headers["Content-Type"].startswith("text/html")
        assert headers["Cache-Control"] == "no-store" and int(headers["Content-Length"]) == len(body)
        assert body.count(b"<script") == 1 and VERSION_PATH.encode() in body
        assert body.index(b"<script") < body.lower().rindex(b"</body>")
        assert b"<script" not in disk.read_bytes()  # the published files stay script-free
        without_script = body.replace(body[body.index(b"<script"):body.index(b"</script>\n") + 10], b"")
        relaxed = re.search(rb"; script-src 'sha256-[A-Za-z0-9+/=]+'; connect-src 'self'\">", without_script)
        assert relaxed, "the page's policy does not allow the reload script"  # and only it (tests/test_csp.py)
        assert without_script.replace(relaxed.group(0), b'">') == disk.read_bytes()
    status, headers, css = get(base + "assets/style.css")
    assert status == 200 and headers["Content-Type"] == "text/css" and headers["Cache-Control"] == "no-store"
    assert css == (options.out / "site" / "assets" / "style.css").read_bytes()
    head = get(url, method="HEAD")
    assert head[0] == 200 and head[2] == b"" and int(head[1]["Content-Length"]) == len(get(url)[2])


def test_no_directory_listing_a_404_page_and_a_redirect_to_the_folder(served):
    base, options, _, _, _ = served
    url, _ = guide_url(base, options, "aisha-rahman")
    for missing in ("g/", "g/nothing-here/", "nope.html", "../manifest.json", "%2e%2e/manifest.json"):
        status, _, body = get(base + missing)
        assert status == 404, missing
        assert b"This page does not exist" in body and b"aisha-rahman" not in body
    status, headers, _ = get(url.rstrip("/"))
    assert status == 301 and headers["Location"] == "/" + url.removeprefix(base)
    status, _, body = get(base + "__matchguide/")
    assert status == 200 and all(f">{pid}</a>".encode() in body for pid in PROFILES)


def test_an_edit_rebuilds_that_guide_only_and_open_pages_see_a_new_build(served):
    base, options, recorder, _, _ = served
    url, _ = guide_url(base, options, "karim-haddad")
    mark = len(recorder.events)
    profile = options.profiles / "karim-haddad.yaml"
    profile.write_text(profile.read_text().replace("name: Karim Haddad", "name: Karim Haddad-Renamed"))
    recorder.wait_for("rebuilt", 2)
    assert version(base) == {"build": 2, "error": None}
    assert [d["paths"] for d in recorder.since(mark, "changed")] == [[display(profile)]]
    assert [d["id"] for d in recorder.since(mark, "guide")] == ["karim-haddad"]
    assert sorted(d["id"] for d in recorder.since(mark, "kept")) == ["aisha-rahman", "fatima-benali"]
    assert b"Karim Haddad-Renamed" in get(url)[2]


def test_a_broken_input_keeps_the_last_good_build_and_shows_the_error(served):
    base, options, recorder, _, _ = served
    url, _ = guide_url(base, options, "aisha-rahman")
    before = get(url)[2]
    bad = options.content / "sections" / "99-broken.md"
    bad.write_text("---\nid: broken\ntitle: Broken\norder: 99\nwhen: \"no_such_fact\"\n---\nText.\n")
    recorder.wait_for("build_failed")
    state = version(base)
    assert state["build"] == 1 and "99-broken.md" in state["error"] and "no_such_fact" in state["error"]
    assert any("99-broken.md" in str(d["problem"]) for d in recorder.kinds("problem"))
    status, _, body = get(url)
    assert status == 200 and body == before  # the previous good build is still served
    bad.unlink()
    recorder.wait_for("rebuilt", 2)
    assert version(base) == {"build": 2, "error": None}


def test_stop_event_shuts_the_server_down(served):
    base, _, recorder, stop, thread = served
    port = int(base.rsplit(":", 1)[1].strip("/"))
    stop.set()
    thread.join(5)
    assert not thread.is_alive() and recorder.events[-1][0] == "stopped"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_a_port_in_use_is_reported_before_any_build(tmp_path: Path):
    options = project_copy(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(BuildError, match=f"127.0.0.1:{port}: cannot serve here"):
            serve(options, host="127.0.0.1", port=port, reporter=Recorder(), stop_event=threading.Event())
    assert not options.out.exists()


def test_ctrl_c_stops_the_cli_cleanly(tmp_path: Path):
    project_copy(tmp_path)
    env = {**os.environ, "MATCHGUIDE_SITE_KEY": KEY, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "generator", "serve", "--no-pdf", "--port", "0", "--as-of", AS_OF.isoformat(),
         "--profiles", "profiles", "--content", "content", "--theme", "theme"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        # Ctrl-C as a terminal delivers it: a suite started in the background without job control (`make test &`
        # in a script) ignores SIGINT, its children inherit that, and Python then never raises KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        # A thread reads stderr: select() on a buffered text pipe can miss lines already in Python's buffer.
        queue: Queue[str] = Queue()
        reader = threading.Thread(target=lambda: [queue.put(line) for line in iter(proc.stderr.readline, "")], daemon=True)
        reader.start()
        lines, deadline = [], time.monotonic() + WAIT
        while time.monotonic() < deadline and not any("serving" in line for line in lines):
            try:
                lines.append(queue.get(timeout=0.2))
            except Empty:
                pass
        serving = next(line for line in lines if "serving" in line)
        url = re.search(r"at (http://127\.0\.0\.1:\d+/)", serving).group(1)
        assert get(url)[0] == 200
        assert (tmp_path / ".matchguide" / "preview" / "site" / "index.html").is_file()  # not output/
        assert not (tmp_path / "output").exists()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            pass  # reported below, with what the command printed
        running = proc.poll() is None
        if running:  # say where it is stuck: faulthandler prints every thread's stack on SIGABRT
            proc.send_signal(signal.SIGABRT)
            proc.wait(timeout=WAIT)
        reader.join(5)  # the pipe closes when the process ends
        err = "".join(queue.get() for _ in range(queue.qsize()))
    finally:
        proc.kill() if proc.poll() is None else None
    assert not running, f"still running {WAIT} s after Ctrl-C:\n{err}"
    assert proc.returncode == 0, err
    assert "stopped" in err and "Traceback" not in err
    assert [line for line in lines if line.startswith("[")] == [f"[{i}/3] {pid}: built ({band})\n" for i, (pid, band)
                                                               in enumerate(zip(PROFILES, ("solid", "pending", "strong")), 1)]
