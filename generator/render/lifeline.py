"""Worker processes die with the build that started them.

A forked worker (a PDF worker, an HTML rendering worker) must not outlive its
parent: after a `kill -9` of the build it would go on rendering into a staging
folder the next build owns. On Linux the kernel kills the worker when its
parent dies (`prctl(PR_SET_PDEATHSIG)`); elsewhere a watchdog thread notices
that the parent changed and ends the worker.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time

_PR_SET_PDEATHSIG = 1
WATCH_SECONDS = 0.5


def die_with_parent(parent_pid: int) -> None:
    """Call first thing in a forked worker: end this process as soon as `parent_pid` (its parent) dies."""
    if not (sys.platform.startswith("linux") and _set_death_signal()):
        threading.Thread(target=_watch, args=(parent_pid,), daemon=True, name="matchguide-lifeline").start()
    if os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)


def _set_death_signal() -> bool:
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(WATCH_SECONDS)
    os._exit(1)
