"""Shared by the benchmark scripts: where ../shared is, and how a step is timed."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

SHARED = Path(os.environ.get("JIEDAO_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def median_seconds(run: Callable[[], object], repeats: int) -> float:
    """Median wall time of ``repeats`` runs: these machines are shared and noisy."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)
