"""A squad's shift: who is on duty, what to cover, and the plan that comes back.

The inputs of :func:`geo.shiftplan.plan_shift` (units, hot spots, tasks, key-road pieces) and
its answer (stops with clock times, paths, key-road coverage and the plan's figures), as plain
frozen dataclasses. Times are seconds from midnight of the plan's day; places are WGS84.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import shapely

from .planmetrics import SWEPT_SHARE, PlanMetrics, measure
from .roadgraph import MODES

__all__ = [
    "HOUR",
    "PLAN_PHASES",
    "SHIFTS",
    "HotSpot",
    "PhaseProgress",
    "PlanProgress",
    "PlannedStop",
    "ShiftPlan",
    "Sweep",
    "Task",
    "UnitOnDuty",
    "UnitPlan",
]

HOUR: Final = 3600.0
# The plan's two shifts, seconds from midnight.
SHIFTS: Final[dict[str, tuple[float, float]]] = {
    "early": (7 * HOUR, 15 * HOUR),
    "late": (15 * HOUR, 23 * HOUR),
}


@dataclass(frozen=True)
class UnitOnDuty:
    """A unit on a shift: its mode, where it starts and ends (lon, lat), its meal break."""

    unit_id: str
    mode: str
    start: tuple[float, float]
    end: tuple[float, float]
    break_window: tuple[float, float] | None = None
    break_s: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            msg = f"Unit {self.unit_id!r}: mode {self.mode!r} unknown; use one of {MODES}."
            raise ValueError(msg)


@dataclass(frozen=True)
class HotSpot:
    """A place to patrol: priority (the prize), when the problem occurs, how long to stay.

    ``profile`` holds its incidents per hour of the day (24 values from midnight): it decides
    the periods the spot is hot. ``count`` and ``categories`` (name and count, most first) say
    why it is a hot spot. ``label`` is its main category's code; ``name`` what a squad leader
    calls it (:func:`geo.spotnames.name_hotspots`, e.g. ``梅园 · 泥岗西路 · 违法建设``), its
    stops' label when given; ``spot_id`` stays the stable key.
    """

    spot_id: str
    lon: float
    lat: float
    priority: float
    windows: tuple[tuple[float, float], ...] = ()
    dwell_s: float | None = None
    label: str = ""
    profile: tuple[float, ...] = ()
    count: float = 0.0
    categories: tuple[tuple[str, float], ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        if self.profile and len(self.profile) != 24:
            msg = (
                f"Hot spot {self.spot_id!r}: profile needs 24 hourly values, "
                f"got {len(self.profile)}."
            )
            raise ValueError(msg)


@dataclass(frozen=True)
class Task:
    """A mandatory visit (a follow-up check, a scheduled inspection) inside its windows."""

    task_id: str
    lon: float
    lat: float
    dwell_s: float
    windows: tuple[tuple[float, float], ...] = ()
    label: str = ""


@dataclass(frozen=True)
class Sweep:
    """A key-road piece to travel at least once in the shift."""

    sweep_id: str
    road_id: str
    name: str
    geometry: shapely.LineString
    oneway: bool = False


@dataclass(frozen=True)
class PlannedStop:
    """One stop of a unit's route, with clock times in seconds from midnight."""

    target_id: str
    kind: str  # "hotspot", "task", "sweep", "patrol", "transfer" or "break"
    label: str
    lon: float
    lat: float
    arrival_s: float
    start_s: float
    departure_s: float
    priority: float


@dataclass(frozen=True)
class UnitPlan:
    """A unit's shift: stops, the path along the streets, and the time and distance split.

    ``return_s`` is when it is back at its end station; ``beat`` outlines its beat (WGS84),
    ``None`` for a car.
    """

    unit_id: str
    mode: str
    stops: tuple[PlannedStop, ...]
    path: shapely.LineString
    distance_m: float
    travel_s: float
    dwell_s: float
    wait_s: float
    priority: float
    start_s: float = 0.0
    return_s: float = 0.0
    break_s: float = 0.0
    beat: shapely.Geometry | None = None


@dataclass(frozen=True)
class ShiftPlan:
    """The squad's shift: unit plans, key-road coverage, targets left out and why."""

    shift: tuple[float, float]
    units: tuple[UnitPlan, ...]
    coverage: dict[str, float]  # sweep_id -> share of the piece under the day's paths
    dropped: tuple[tuple[str, str, str], ...]  # (target_id, kind, reason)
    objective: float
    solver_status: str
    wall_time_s: float
    presence: tuple[str, ...] = ()  # ids of the (hot spot, hot period) visits planned for

    @property
    def metrics(self) -> PlanMetrics:
        """Utilisation, idle units, presence, key roads swept, on-time returns."""
        return measure(self.units, shift=self.shift, presence=self.presence, coverage=self.coverage)

    @property
    def covered_share(self) -> float:
        """Share of key-road pieces swept (1.0 when there are none)."""
        if not self.coverage:
            return 1.0
        return sum(v >= SWEPT_SHARE for v in self.coverage.values()) / len(self.coverage)


# The phases of a plan in order, with the share of the work each ends at: the inputs (beats,
# travel matrices) take about a tenth of a default plan's time, the search most of the rest.
PLAN_PHASES: Final = {"inputs": 0.1, "search": 0.95, "legs": 1.0, "done": 1.0}

PlanProgress = Callable[[float, str], None]


class PhaseProgress:
    """Maps a phase's own share onto the whole plan's, never falling."""

    def __init__(self, on_progress: PlanProgress | None) -> None:
        self.on_progress = on_progress
        self.shown = 0.0

    def __call__(self, phase: str, share: float) -> None:
        """Tell that ``phase`` is ``share`` (0-1) done."""
        if self.on_progress is None:
            return
        ends = list(PLAN_PHASES.values())
        index = list(PLAN_PHASES).index(phase)
        begins = ends[index - 1] if index else 0.0
        self.shown = max(self.shown, begins + (ends[index] - begins) * min(1.0, max(0.0, share)))
        self.on_progress(self.shown, phase)
