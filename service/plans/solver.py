"""Where a shift plan is solved: in a worker process of its own.

OR-Tools' search runs in C++ and calls back into Python for every arc it weighs, so a solve
holds the GIL most of the time: in the service's process, a report filed during a plan's
seconds of search waited for it (a 3.3 s answer instead of 20 ms, measured on the demo
network). A worker process keeps every other request at its normal latency. The same request
and seed give the same plan in either place; ``JIEDAO_PLAN_WORKERS=0`` solves in-process
(a debugger, a platform without ``spawn``).

Progress crosses from the worker through a list proxy of a :mod:`multiprocessing` manager (one
small server process, started with the pool): the worker writes ``[share, phase]`` at most a few
times a second, the caller's thread reads it while it waits.
"""

from __future__ import annotations

import atexit
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from multiprocessing.managers import SyncManager
from typing import Any

from geo.roadgraph import RoadGraph
from geo.shift import PlanProgress
from geo.shiftplan import ShiftPlan, plan_shift

__all__ = ["solve", "warm_up", "workers"]

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_manager: SyncManager | None = None
_workers = 1
# How often progress crosses between the processes (seconds).
_REPORT_EVERY_S = 0.25


def workers(count: int) -> None:
    """Set how many worker processes solve plans (0: in this process); read at start-up."""
    global _workers
    _workers = count


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # spawn, never fork: the service has threads, and a forked child could inherit a
            # held lock.
            _pool = ProcessPoolExecutor(
                max_workers=_workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_exit_with_parent,
            )
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def _progress_manager() -> SyncManager:
    global _manager
    with _lock:
        if _manager is None:
            _manager = multiprocessing.get_context("spawn").Manager()
            atexit.register(_manager.shutdown)
        return _manager


def _exit_with_parent() -> None:
    """In the solver process: exit as soon as the service worker that started it is gone.

    A worker killed (or stopped by its supervisor without running atexit) would otherwise
    leave its solver behind, idle and holding a road graph's memory, one more per restart.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # waits on the parent's sentinel: returns once it has exited
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _ready() -> bool:
    return True  # importing this module in the worker loaded the planner


def warm_up() -> None:
    """Start the worker now, in the background: the first plan does not wait for its start
    (a few seconds of imports)."""
    if _workers:
        _executor().submit(_ready)


class _Throttled:
    """In the worker: passes ``(share, phase)`` to the shared cell at most every
    ``_REPORT_EVERY_S``, and always a change of phase."""

    def __init__(self, cell: Any) -> None:
        self.cell, self.last, self.phase = cell, 0.0, ""

    def __call__(self, share: float, phase: str) -> None:
        now = time.monotonic()
        if phase != self.phase or now - self.last >= _REPORT_EVERY_S:
            self.cell[:] = [share, phase]
            self.last, self.phase = now, phase


def _plan_reporting(graph: RoadGraph, cell: Any, **options: Any) -> ShiftPlan:
    return plan_shift(graph, on_progress=_Throttled(cell), **options)


def _wait(job: Future[ShiftPlan], cell: Any, on_progress: PlanProgress) -> ShiftPlan:
    told: tuple[float, str] | None = None
    while True:
        try:
            return job.result(timeout=_REPORT_EVERY_S)
        except FutureTimeout:
            share, phase = cell[:]
            if phase and (share, phase) != told:
                told = (share, phase)
                on_progress(share, phase)


def solve(
    graph: RoadGraph, *, on_progress: PlanProgress | None = None, **options: Any
) -> ShiftPlan:
    """:func:`geo.shiftplan.plan_shift` on ``graph`` with ``options``, in a worker process.

    ``on_progress`` is told ``(share, phase)`` in the caller's thread while it waits. Errors of
    the planner (an infeasible plan, an unusable graph) come back as they were raised, so the
    callers answer them as before.
    """
    if _workers == 0:
        return plan_shift(graph, on_progress=on_progress, **options)
    if on_progress is None:
        return _executor().submit(plan_shift, graph, **options).result()
    cell = _progress_manager().list([0.0, ""])
    return _wait(_executor().submit(_plan_reporting, graph, cell, **options), cell, on_progress)
