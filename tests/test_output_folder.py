"""The output folder in the real world: reached through a symbolic link, left by a killed build, rebuilt without PDFs.

Every case drives the real `python -m generator build` in a project folder (issue 13, items 8 to 10).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from generator.write.writer import BuildLock
from tests.payloads import Project, cli_env, snapshot
from tests.test_failures import _group_alive, add_people, gated_section, use_bomb_svg


@pytest.fixture
def site(tmp_path: Path) -> Project:
    return Project(tmp_path / "site")


def linked_output(site: Project) -> Path:
    """`output` as a link to a folder elsewhere (as on a machine whose big disk is mounted apart); the target."""
    target = site.root.parent / "big-disk" / "guides"
    target.parent.mkdir()
    site.out.symlink_to(target, target_is_directory=True)
    return target


def no_staging(*folders: Path) -> list[str]:
    """Staging or old trees left in these folders."""
    return sorted(p.name for folder in folders for p in folder.iterdir() if p.name.endswith((".staging", ".old")))


# --- 8. --out through a symbolic link ---------------------------------------------------------------------------

def test_a_build_through_a_linked_output_updates_the_target_and_keeps_the_link(site: Project) -> None:
    target = linked_output(site)
    first = site.cli("--no-pdf")
    assert first.returncode == 0, first.stderr
    assert site.out.is_symlink() and site.out.resolve() == target.resolve()
    assert (target / "manifest.json").is_file() and (target / "site" / "index.html").is_file()
    profile = site.root / "profiles" / "ada-okafor.yaml"
    profile.write_text(profile.read_text().replace("Ada Okafor", "Ada Okafor-Bello"))
    second = site.cli("--no-pdf")  # the build that crashed: the staging name was left as a link
    assert second.returncode == 0, second.stderr
    assert site.out.is_symlink() and site.out.resolve() == target.resolve()
    assert "Ada Okafor-Bello" in (target / "manifest.json").read_text()
    assert site.cli("--no-pdf", "--force").returncode == 0
    assert no_staging(site.root, target.parent) == []
    assert not (site.root / ".output.lock").exists()  # the lock is beside the real folder
    assert (target.parent / ".guides.lock").exists()


def test_a_staging_link_left_by_an_older_version_is_removed_not_followed(site: Project) -> None:
    assert site.cli("--no-pdf").returncode == 0
    before = snapshot(site.out)
    (site.root / ".output.staging").symlink_to(site.out, target_is_directory=True)
    done = site.cli("--no-pdf", "--force")
    assert done.returncode == 0, done.stderr  # was: OSError: Cannot call rmtree on a symbolic link
    assert snapshot(site.out).keys() == before.keys()
    assert site.debris() == []


@pytest.mark.parametrize("held", ["target", "link"])
def test_builds_through_a_link_and_its_target_exclude_each_other(site: Project, held: str) -> None:
    target = linked_output(site)
    assert site.cli("--no-pdf").returncode == 0
    before = snapshot(target)
    other = site.out if held == "target" else target
    with BuildLock(target if held == "target" else site.out):
        refused = site.cli("--no-pdf", "--force", "--out", str(other))
    assert refused.returncode == 1
    assert "is using this output folder" in refused.stderr
    assert snapshot(target) == before


def test_a_dangling_output_link_is_built_into_its_target(site: Project) -> None:
    target = site.root.parent / "not-yet" / "guides"
    target.parent.mkdir()
    site.out.symlink_to(target, target_is_directory=True)
    done = site.cli("--no-pdf")
    assert done.returncode == 0, done.stderr
    assert site.out.is_symlink() and (target / "manifest.json").is_file()


def test_an_output_that_is_a_file_is_a_located_error(site: Project) -> None:
    site.write("output", "notes\n")
    done = site.cli("--no-pdf")
    assert done.returncode == 1
    assert "error: output: the output folder is a file, not a folder" in done.stderr
    assert "Traceback" not in done.stderr and site.out.read_text() == "notes\n"


# --- 9. A killed build's workers die with it; the lock is not inherited -------------------------------------------

def _started_then_sleep(conn, seconds: float) -> None:
    conn.send("started")  # past the fork and its handlers
    time.sleep(seconds)


def test_a_forked_worker_does_not_hold_the_build_lock(site: Project) -> None:
    parent, child_end = multiprocessing.Pipe()
    with BuildLock(site.out):
        child = multiprocessing.get_context("fork").Process(target=_started_then_sleep, args=(child_end, 10),
                                                            daemon=True)
        child.start()
        assert parent.recv() == "started"
    try:
        assert child.is_alive()
        with BuildLock(site.out):  # the child still runs, and does not hold the lock
            pass
        done = site.cli("--no-pdf")
        assert done.returncode == 0, done.stderr
    finally:
        child.kill()
        child.join()


@pytest.mark.slow
def test_kill_9_of_the_build_alone_ends_its_workers_and_a_rebuild_runs_at_once(site: Project) -> None:
    add_people(site, 9)  # 12 guides with PDFs; one takes about ten seconds (10,000 rectangles to draw)
    site.write("themes/default/assets/slow.svg", use_bomb_svg(4))
    site.write("content/sections/45-slow.md", gated_section("slow", "![slow](slow.svg)", "Ada Okafor"))
    staging = site.root / ".output.staging"
    proc = subprocess.Popen(site.command("--jobs", "2"), cwd=site.root, env=cli_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while len(list((staging / "pdf").glob("*.pdf"))) < 11 and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert proc.poll() is None, "the build finished before it could be killed; give it more work"
        assert not (staging / "pdf" / "ada-okafor.pdf").exists()  # the slow guide is still rendering
        os.kill(proc.pid, signal.SIGKILL)  # the build alone, as the OOM killer or `kill -9 PID` does
        proc.wait(30)
        rebuild = site.cli("--no-pdf")  # at once: no worker holds the lock
        gone = _group_alive(proc.pid) == []
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # whatever is left of the group this test started
        except ProcessLookupError:
            pass
        proc.wait(30)
    assert rebuild.returncode == 0, rebuild.stderr
    assert gone, "PDF workers outlived the killed build"
    assert len((site.out / "manifest.json").read_text()) > 0 and site.debris() == []
