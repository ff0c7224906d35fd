"""Readers and an independent checker for the TOP (Chao) and TOPTW (Cordeau) literature sets.

The instances stay in ``../shared/bench`` and are read at run time; nothing is copied into the
repository. The checker deliberately shares no code with :mod:`geo.patrol`: it recomputes every
route from the raw coordinates with the rounding convention of the best-known scores, so a solver
bug in scaling or timing cannot hide behind the solver's own numbers.

Rounding conventions (they are part of the BKS, see ``../shared/bench/README.md``):

* Chao TOP: real Euclidean distances, no service times, ``Tmax`` bounds each route's length;
  start at the first point, end at the last one.
* Cordeau TOPTW: Euclidean distances floored to 2 decimals, service times, time windows on the
  start of service, every route starts and ends at node 0 whose closing time is ``Tmax``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SHARED = Path(os.environ.get("JIEDAO_SHARED", Path(__file__).resolve().parents[2] / "shared"))
BENCH = SHARED / "bench"

# Tolerance of the checker on times: the instances' numbers have at most 3 decimals, and a
# solution that is late by less than this is a float artefact, not a violation.
TOLERANCE = 1e-6


@dataclass(frozen=True)
class Instance:
    """One literature instance in a solver-neutral form.

    Attributes
    ----------
    name
        ``p4.3.t`` or ``pr01-m2``.
    family
        ``"chao"`` or ``"cordeau"``.
    vehicles
        Number of routes ``m``.
    xy
        Coordinates, shape ``(n, 2)``.
    service, score, open_, close
        Per node; ``open_``/``close`` bound the start of service.
    tmax
        Latest return to the end node (route duration limit).
    start, end
        Start and end node of every route.
    bks
        Best-known score, or ``None`` when the table has none.
    """

    name: str
    family: str
    vehicles: int
    xy: np.ndarray
    service: np.ndarray
    score: np.ndarray
    open_: np.ndarray
    close: np.ndarray
    tmax: float
    start: int
    end: int
    bks: float | None

    @property
    def n(self) -> int:
        """Number of nodes including start and end."""
        return len(self.xy)

    def distances(self) -> np.ndarray:
        """Travel-time matrix with the instance's rounding convention."""
        diff = self.xy[:, None, :] - self.xy[None, :, :]
        dist = np.sqrt((diff**2).sum(axis=2))
        if self.family == "cordeau":
            # Floor to 2 decimals; the +1e-9 protects exact grid values from 12.34 -> 12.33.
            dist = np.floor(dist * 100.0 + 1e-9) / 100.0
        return dist

    def customers(self) -> list[int]:
        """Nodes that may be visited (all but start and end)."""
        return [i for i in range(self.n) if i not in (self.start, self.end)]


def _bks_table(path: Path, *, with_m: bool) -> dict[str, float]:
    table: dict[str, float] = {}
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split()
        key = f"{parts[0]}-m{parts[1]}" if with_m else parts[0]
        table[key] = float(parts[2] if with_m else parts[1])
    return table


def read_chao(path: Path, bks: dict[str, float] | None = None) -> Instance:
    """Read a Chao TOP file: ``n``, ``m``, ``tmax`` lines, then ``x y score`` per node."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    n = int(lines[0][1])
    m = int(lines[1][1])
    tmax = float(lines[2][1])
    rows = np.array([[float(v) for v in ln[:3]] for ln in lines[3 : 3 + n]])
    name = path.name.removesuffix(".txt")
    zeros = np.zeros(n)
    return Instance(
        name=name,
        family="chao",
        vehicles=m,
        xy=rows[:, :2],
        service=zeros,
        score=rows[:, 2].copy(),
        open_=zeros.copy(),
        close=np.full(n, tmax),
        tmax=tmax,
        start=0,
        end=n - 1,
        bks=None if bks is None else bks.get(name),
    )


def read_cordeau(path: Path, vehicles: int, bks: dict[str, float] | None = None) -> Instance:
    """Read a Cordeau TOPTW file (``i x y d S f a list O C``) for ``vehicles`` routes."""
    lines = [ln.split() for ln in path.read_text().splitlines() if ln.strip()]
    # The header's third field counts the customers; the depot (node 0) comes on top.
    customers = int(lines[0][2])
    nodes = lines[2 : 3 + customers]
    xy = np.array([[float(r[1]), float(r[2])] for r in nodes])
    service = np.array([float(r[3]) for r in nodes])
    score = np.array([float(r[4]) for r in nodes])
    # The opening and closing times are the last two fields: the list before them varies.
    open_ = np.array([float(r[-2]) for r in nodes])
    close = np.array([float(r[-1]) for r in nodes])
    base = path.name.removesuffix(".txt")
    name = f"{base}-m{vehicles}"
    return Instance(
        name=name,
        family="cordeau",
        vehicles=vehicles,
        xy=xy,
        service=service,
        score=score,
        open_=open_,
        close=close,
        tmax=float(close[0]),
        start=0,
        end=0,
        bks=None if bks is None else bks.get(name),
    )


def load_set(family: str, patterns: Sequence[str] = ()) -> list[Instance]:
    """All instances of ``"chao"`` (sets 1-6) or ``"cordeau"`` (pr01-pr10 x m 1-4).

    ``patterns`` are shell-like globs on the instance name (``p4.3.*``, ``pr0[1-5]-m2``).
    """
    import fnmatch

    found: list[Instance] = []
    if family == "chao":
        bks = _bks_table(BENCH / "top" / "BKS_top_chao.txt", with_m=False)
        for path in sorted((BENCH / "top" / "chao").glob("p[1-6].*.txt")):
            found.append(read_chao(path, bks))
    elif family == "cordeau":
        bks = _bks_table(BENCH / "toptw" / "BKS_toptw.txt", with_m=True)
        for k in range(1, 11):
            path = BENCH / "toptw" / "cordeau" / f"pr{k:02d}.txt"
            for m in range(1, 5):
                found.append(read_cordeau(path, m, bks))
    else:
        msg = f"unknown set {family!r}: use 'chao' or 'cordeau'"
        raise ValueError(msg)
    if patterns:
        found = [i for i in found if any(fnmatch.fnmatch(i.name, p) for p in patterns)]

    def key(inst: Instance) -> tuple[object, ...]:
        return tuple(int(t) if t.isdigit() else t for t in re.split(r"(\d+)", inst.name))

    return sorted(found, key=key)


@dataclass(frozen=True)
class CheckResult:
    """Outcome of :func:`check`: ``ok`` with the recomputed score, or the first violation."""

    ok: bool
    score: float
    problem: str = ""


def check(instance: Instance, routes: Sequence[Sequence[int]]) -> CheckResult:
    """Recompute routes (customer node ids, start/end excluded) from the raw instance.

    Verifies the number of routes, that each customer is visited at most once and is a real
    customer, the time windows on the start of service (waiting allowed), and the return to the
    end node by ``Tmax``. Distances are recomputed pairwise here, not taken from any matrix.
    """
    if len(routes) > instance.vehicles:
        return CheckResult(False, 0.0, f"{len(routes)} routes for {instance.vehicles} vehicles")
    seen: set[int] = set()
    total = 0.0

    def dist(a: int, b: int) -> float:
        d = math.hypot(*(instance.xy[a] - instance.xy[b]))
        if instance.family == "cordeau":
            d = math.floor(d * 100.0 + 1e-9) / 100.0
        return d

    for r, route in enumerate(routes):
        t = float(instance.open_[instance.start])
        prev = instance.start
        for node in route:
            if node in (instance.start, instance.end) or not 0 <= node < instance.n:
                return CheckResult(False, 0.0, f"route {r}: node {node} is not a customer")
            if node in seen:
                return CheckResult(False, 0.0, f"node {node} visited twice")
            seen.add(node)
            t = max(t + dist(prev, node), float(instance.open_[node]))
            if t > instance.close[node] + TOLERANCE:
                return CheckResult(
                    False,
                    0.0,
                    f"route {r}: node {node} starts at {t:.4f} > close {instance.close[node]}",
                )
            t += float(instance.service[node])
            total += float(instance.score[node])
            prev = node
        t += dist(prev, instance.end)
        if t > instance.tmax + TOLERANCE:
            return CheckResult(False, 0.0, f"route {r}: returns at {t:.4f} > Tmax {instance.tmax}")
    return CheckResult(True, total)


def gap_percent(instance: Instance, score: float) -> float:
    """Gap to the best-known score in percent (positive = below the BKS)."""
    if instance.bks is None:
        return float("nan")
    if instance.bks == 0:
        return 0.0 if score >= 0 else 100.0
    return 100.0 * (instance.bks - score) / instance.bks
