"""The patrol planning problem and its plan as plain frozen dataclasses, validated on
construction: :class:`Unit` and :class:`Target` make a :class:`PatrolProblem`; a
:class:`PatrolPlan` holds each unit's :class:`UnitRoute` of :class:`Visit` and the
:class:`Dropped` targets with their reason. :mod:`geo.patrol` solves one into the other."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = [
    "DROP_REASONS",
    "Dropped",
    "PatrolPlan",
    "PatrolProblem",
    "Target",
    "Unit",
    "UnitRoute",
    "Visit",
]

DROP_REASONS = ("no time", "window missed", "unreachable")


@dataclass(frozen=True)
class Unit:
    """A patrol unit on duty: where it starts and ends, its shift, its mode and its break.

    ``matrix_key`` names the travel-time matrix of its mode (units of one mode share it).
    ``break_window`` is the interval that must contain the whole break of ``break_s`` seconds.
    ``travel_weight`` weighs its travel seconds in the cost that breaks ties between plans of
    equal prize (a foot patrol on its beat can be made cheaper than a car). Each visit short of
    ``min_visits`` costs ``short_visit_cost_s`` seconds of travel in that cost: a soft floor
    that keeps every unit in the work.
    """

    unit_id: str
    start: int
    end: int
    shift_start_s: float
    shift_end_s: float
    matrix_key: str = "default"
    break_window: tuple[float, float] | None = None
    break_s: float = 0.0
    travel_weight: float = 1.0
    min_visits: int = 0
    short_visit_cost_s: float = 0.0

    def __post_init__(self) -> None:
        if not (0 <= self.travel_weight <= 10):
            msg = f"Unit {self.unit_id!r}: travel_weight must be in [0, 10]."
            raise ValueError(msg)
        if self.min_visits < 0 or self.short_visit_cost_s < 0:
            msg = f"Unit {self.unit_id!r}: min_visits and short_visit_cost_s must be >= 0."
            raise ValueError(msg)
        if self.start < 0 or self.end < 0:
            msg = f"Unit {self.unit_id!r}: start/end must be location indices >= 0."
            raise ValueError(msg)
        if not self.shift_end_s > self.shift_start_s:
            msg = (
                f"Unit {self.unit_id!r}: shift_end_s ({self.shift_end_s}) must be after "
                f"shift_start_s ({self.shift_start_s})."
            )
            raise ValueError(msg)
        if self.break_window is not None:
            lo, hi = self.break_window
            if not self.break_s > 0:
                msg = f"Unit {self.unit_id!r}: break_window given, so set break_s > 0."
                raise ValueError(msg)
            if hi - lo < self.break_s:
                msg = (
                    f"Unit {self.unit_id!r}: break_window {self.break_window} is shorter "
                    f"than break_s={self.break_s}; widen it."
                )
                raise ValueError(msg)
        elif self.break_s:
            msg = f"Unit {self.unit_id!r}: break_s given without break_window; give both."
            raise ValueError(msg)


@dataclass(frozen=True)
class Target:
    """Something to visit: a hot spot, a road sweep, a mandatory inspection.

    ``windows`` bound the start of service (inclusive; empty = any time in the shift).
    ``alternatives`` are further locations any one of which serves the target (a road segment
    swept in either direction). ``priority`` is the prize collected by a visit. ``units``
    limits who may serve it (empty = any unit). Targets sharing a ``spot`` are visits of one
    place in different periods: no unit goes from one straight to another (no back-to-back
    visits of the same spot).
    """

    target_id: str
    location: int
    dwell_s: float = 0.0
    priority: float = 1.0
    windows: tuple[tuple[float, float], ...] = ()
    mandatory: bool = False
    kind: str = "hotspot"
    alternatives: tuple[int, ...] = ()
    units: tuple[str, ...] = ()
    spot: str = ""

    def __post_init__(self) -> None:
        if self.location < 0 or any(a < 0 for a in self.alternatives):
            msg = f"Target {self.target_id!r}: locations must be indices >= 0."
            raise ValueError(msg)
        if not (self.dwell_s >= 0 and math.isfinite(self.dwell_s)):
            msg = f"Target {self.target_id!r}: dwell_s must be finite and >= 0."
            raise ValueError(msg)
        if not (self.priority >= 0 and math.isfinite(self.priority)):
            msg = f"Target {self.target_id!r}: priority must be finite and >= 0."
            raise ValueError(msg)
        for lo, hi in self.windows:
            if not lo <= hi:
                msg = (
                    f"Target {self.target_id!r}: window ({lo}, {hi}) opens after it "
                    f"closes; give (open_s, close_s)."
                )
                raise ValueError(msg)

    @property
    def locations(self) -> tuple[int, ...]:
        """The main location followed by the alternatives."""
        return (self.location, *self.alternatives)


@dataclass(frozen=True)
class PatrolProblem:
    """Units, targets and one travel-time matrix (seconds, ``np.inf`` = no path) per mode."""

    units: tuple[Unit, ...]
    targets: tuple[Target, ...]
    travel: Mapping[str, np.ndarray]

    def __post_init__(self) -> None:
        sizes = set()
        for key, matrix in self.travel.items():
            if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
                msg = f"travel[{key!r}] must be a square matrix, got shape {matrix.shape}."
                raise ValueError(msg)
            if np.isnan(matrix).any() or (matrix < 0).any():
                msg = f"travel[{key!r}] has NaN or negative entries; use np.inf for no path."
                raise ValueError(msg)
            sizes.add(matrix.shape[0])
        if len(sizes) > 1:
            msg = f"All travel matrices must cover the same locations, got sizes {sizes}."
            raise ValueError(msg)
        size = sizes.pop() if sizes else 0
        ids = [u.unit_id for u in self.units]
        if len(set(ids)) != len(ids):
            msg = "Unit ids must be unique."
            raise ValueError(msg)
        tids = [t.target_id for t in self.targets]
        if len(set(tids)) != len(tids):
            msg = "Target ids must be unique."
            raise ValueError(msg)
        for u in self.units:
            if u.matrix_key not in self.travel:
                msg = (
                    f"Unit {u.unit_id!r}: no travel matrix for mode {u.matrix_key!r}; "
                    f"add travel[{u.matrix_key!r}]."
                )
                raise ValueError(msg)
            if max(u.start, u.end) >= size:
                msg = f"Unit {u.unit_id!r}: start/end outside the {size} matrix locations."
                raise ValueError(msg)
        for t in self.targets:
            if max(t.locations) >= size:
                msg = f"Target {t.target_id!r}: location outside the {size} matrix locations."
                raise ValueError(msg)
            unknown = set(t.units) - set(ids)
            if unknown:
                msg = f"Target {t.target_id!r}: units {sorted(unknown)} are not in the problem."
                raise ValueError(msg)


@dataclass(frozen=True)
class Visit:
    """One stop of a route; ``kind == "break"`` marks the unit's break (no target)."""

    target_id: str
    location: int
    kind: str
    arrival_s: float
    start_s: float
    departure_s: float
    prize: float
    done: bool = False

    @property
    def wait_s(self) -> float:
        """Idle time between arrival and start of service."""
        return self.start_s - self.arrival_s


@dataclass(frozen=True)
class UnitRoute:
    """A unit's ordered visits with time totals (travel, dwell incl. break, waiting)."""

    unit_id: str
    visits: tuple[Visit, ...]
    start_s: float
    end_s: float
    travel_s: float
    dwell_s: float
    wait_s: float
    prize: float


@dataclass(frozen=True)
class Dropped:
    """A target left out, with one of :data:`DROP_REASONS`."""

    target_id: str
    reason: str


@dataclass(frozen=True)
class PatrolPlan:
    """The result of :func:`plan_patrols` or :func:`replan`.

    ``objective`` is the collected prize (the quantity maximised); ``status`` is OR-Tools'
    routing status; ``wall_time_s`` includes model building.
    """

    routes: tuple[UnitRoute, ...]
    dropped: tuple[Dropped, ...]
    objective: float
    status: str
    wall_time_s: float

    def route(self, unit_id: str) -> UnitRoute:
        """The route of ``unit_id``."""
        for r in self.routes:
            if r.unit_id == unit_id:
                return r
        msg = f"No route for unit {unit_id!r}."
        raise KeyError(msg)
