"""The plan solver's worker process dies with the service worker that started it: a killed
worker must not leave an idle solver (and its road graph's memory) behind on every restart."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

_PARENT = """
import multiprocessing, sys, time
from service.plans import solver
solver.workers(1)
solver._executor().submit(solver._ready).result(timeout=120)
print(*(child.pid for child in multiprocessing.active_children()), flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it waits only for its (new) parent to reap it.
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split()[2] != "Z"


def test_the_solver_exits_when_its_parent_is_killed() -> None:
    with subprocess.Popen(
        [sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True
    ) as parent:
        _kill_and_watch(parent)


def _kill_and_watch(parent: subprocess.Popen[str]) -> None:
    try:
        assert parent.stdout is not None
        children = [int(pid) for pid in parent.stdout.readline().split()]
        assert children, "the solver process started"
        assert all(_alive(pid) for pid in children)
        parent.send_signal(signal.SIGKILL)  # no atexit, no shutdown: as a crash would
        parent.wait(10)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in children), "the solver outlived its parent"
    finally:
        parent.kill()
        parent.wait()
