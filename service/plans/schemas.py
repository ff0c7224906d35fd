"""Request and response models of patrol plans."""

from __future__ import annotations

from datetime import date as date_type
from datetime import time
from typing import Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from ..core.errors import ErrorItem
from ..core.schemas import Input, Location, Mode, ShiftName, ShortText

__all__ = [
    "DEFAULT_SOLUTION_LIMIT",
    "BeatIn",
    "Dosage",
    "PlanCreate",
    "PlanJobRead",
    "PlanRead",
    "PlanSummary",
    "ReplanCreate",
    "TaskIn",
    "UnitIn",
]

# Iterations of the planner's search: its stopping rule, so plans do not depend on the clock.
# On the bundled network and the demo month an iteration takes 0.7-3 s on one core, and the
# objective on the demo week was the same at 3, 6 and 12 iterations: 6 keeps a plan near the
# former 10 s budget, counted in work rather than seconds.
DEFAULT_SOLUTION_LIMIT: Final = 6


class UnitIn(Input):
    """A unit on duty for the shift."""

    unit_id: ShortText
    mode: Mode
    start_station: ShortText | None = Field(
        None, description="Station code where the unit starts; default: the squad's base."
    )
    end_station: ShortText | None = Field(
        None, description="Station code where the unit ends; default: its start station."
    )
    break_start: time | None = Field(None, description="Earliest start of the meal break.")
    break_end: time | None = Field(None, description="Latest end of the meal break.")
    break_minutes: int = Field(30, ge=0, le=120)

    @model_validator(mode="after")
    def _break_fits(self) -> UnitIn:
        if (self.break_start is None) != (self.break_end is None):
            msg = "give both break_start and break_end (e.g. 11:30 and 13:00), or neither."
            raise ValueError(msg)
        return self


class BeatIn(Input):
    """A beat drawn by hand: the outline a foot or e-bike unit patrols."""

    outline: list[Location] = Field(
        min_length=3,
        max_length=500,
        description="The outline's corners in order (the ring closes by itself), each with "
        "its coordinate system.",
    )


class TaskIn(Input):
    """A mandatory visit: a follow-up check or a scheduled inspection."""

    task_id: ShortText
    location: Location
    dwell_minutes: float = Field(15.0, gt=0, le=240)
    window_start: time | None = None
    window_end: time | None = None
    note: str = Field("", max_length=500)


class PlanCreate(Input):
    """What to plan: a squad's shift on a day, with its units, tasks and search budget."""

    squad: ShortText = Field(description="Squad code or name: west, east, 巡查一中队 ...")
    date: date_type
    shift: ShiftName
    units: list[UnitIn] | None = Field(
        None,
        max_length=20,
        description="Units on duty; default: the squad's standard roster "
        "(two on foot, one e-bike, one patrol car).",
    )
    tasks: list[TaskIn] = Field(default_factory=list, max_length=100)
    hotspot_days: int = Field(
        28,
        ge=1,
        le=365,
        description="Incidents of this many days before the plan's date rank the hot spots.",
    )
    max_hotspots: int = Field(40, ge=0, le=300)
    sweep_key_roads: bool = Field(
        True, description="Every key-road piece of the squad must be swept once in the shift."
    )
    revisit_every_hours: float = Field(2.0, gt=0, le=8)
    pin_hotspots: dict[ShortText, ShortText] = Field(
        default_factory=dict,
        max_length=300,
        description="Hot spot id -> the unit that makes its visits (from a previous plan's "
        "hotspots).",
    )
    exclude_hotspots: list[ShortText] = Field(
        default_factory=list, max_length=300, description="Hot spot ids not to plan for."
    )
    beats: dict[ShortText, BeatIn] = Field(
        default_factory=dict,
        max_length=20,
        description="Unit id -> the beat the squad leader drew for that foot or e-bike unit; "
        "the other beats are drawn around what is left.",
    )
    time_limit_s: float = Field(
        60.0,
        gt=0,
        le=600,
        description="Safety cap on the search's wall-clock time; the "
        "search normally stops at solution_limit first.",
    )
    solution_limit: int = Field(
        DEFAULT_SOLUTION_LIMIT,
        ge=1,
        le=100_000,
        description="Search iterations: the same request and seed give the same plan on any "
        "machine, however loaded (unless time_limit_s runs out first).",
    )
    seed: int = Field(0, ge=0)


class ReplanCreate(Input):
    """Re-plan the rest of a shift from now: where the units are and what is done."""

    now: AwareDatetime
    positions: dict[str, Location] = Field(
        default_factory=dict,
        description="Current position per unit id; default: where its last finished stop was.",
    )
    done: list[str] | None = Field(
        None, description="Target ids done; default: the stops whose departure is before now."
    )
    removed_units: list[str] = Field(
        default_factory=list, description="Units taken away (e.g. by a dispatch)."
    )
    time_limit_s: float = Field(60.0, gt=0, le=600)
    solution_limit: int = Field(DEFAULT_SOLUTION_LIMIT, ge=1, le=100_000)


# -- responses ------------------------------------------------------------------------------


class PlanRead(BaseModel):
    """A stored plan: per unit the ordered stops with times, its path and totals; key-road
    coverage; targets left out and why; links to its map and exports."""

    model_config = ConfigDict(extra="allow")  # replanned_at, removed_units on a re-plan

    id: int
    replan_of: int | None
    created_at: str
    created_by: str
    layer_version: str | None
    squad: str
    squad_name: str
    date: str
    shift: str
    shift_start: str
    shift_end: str
    solver: dict[str, Any]
    coverage: dict[str, Any]
    units: list[dict[str, Any]]
    dropped: list[dict[str, Any]]
    hotspots: list[dict[str, Any]]
    hotspot_source: str | None = None
    links: dict[str, str]


class PlanSummary(BaseModel):
    """One line of the plan list."""

    id: int
    squad: str
    date: str
    shift: str
    replan_of: int | None
    created_at: str
    coverage: float | None
    objective: float | None
    href: str


class Dosage(BaseModel):
    """Which planned stops the units' tracks actually visited."""

    plan_id: int
    radius_m: float
    min_share: float
    share: float | None
    units: list[dict[str, Any]]


class PlanJobRead(BaseModel):
    """A plan being solved in the background: poll it until ``status`` is done or failed."""

    id: int
    kind: Literal["plan", "replan"]
    squad: str
    replan_of: int | None
    status: Literal["queued", "running", "done", "failed"]
    progress: float = Field(description="Share of the work done, 0-1.")
    phase: str = Field(
        description="queued, inputs (beats, travel times), search, legs (patrol legs), done, "
        "failed or interrupted."
    )
    created_by: str
    created_at: str
    updated_at: str
    plan_id: int | None = Field(description="The stored plan, once done.")
    error: list[ErrorItem] | None = Field(
        description="Why it failed: the same items a refused POST /plans answers with."
    )
    links: dict[str, str]
