"""API schemas of dispatch: units, roster, status, positions, assignments, case steps, backup."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from ..core.schemas import Input, Location, Mode, ShortText

__all__ = [
    "ROLES",
    "AssignmentCancelled",
    "AssignmentCreate",
    "AssignmentCreated",
    "AssignmentRead",
    "BackupCreate",
    "BackupRead",
    "Clocks",
    "EventCreate",
    "Ping",
    "PingBatch",
    "PingResult",
    "PositionRead",
    "Recommendation",
    "Recommendations",
    "RosterPut",
    "RosterRead",
    "RosterSet",
    "StatusChange",
    "StepRecorded",
    "Timeline",
    "TimelineEvent",
    "UnitCreate",
    "UnitRead",
]

# Crew by role (捆绑执法: enforcement officers with the station's police officers); never names.
ROLES: Final = ("enforcement_officer", "police_officer", "auxiliary_officer", "driver")
UnitCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$", description="The unit's id, e.g. west-car-1."
    ),
]
UnitStatusName = Literal["off_duty", "available", "en_route", "on_scene", "on_break", "returning"]
Step = Literal[
    "accepted",
    "rejected",
    "duplicate",
    "on_scene",
    "handled",
    "verified_closed",
    "reopened",
    "parked",
    "unparked",
]


class UnitCreate(Input):
    """A patrol unit or a unit of the backup team."""

    unit_id: UnitCode
    name: ShortText
    squad: ShortText = Field(
        description="Squad code (west, east) or name; backup: its squad of attachment."
    )
    mode: Mode
    members: dict[str, Annotated[int, Field(ge=0, le=20)]] = Field(
        default_factory=dict, description=f"Crew count by role: {', '.join(ROLES)}."
    )
    home_station: ShortText | None = Field(None, description="Station code of the layer.")
    team: Literal["patrol", "backup"] = "patrol"
    status: Literal["off_duty", "available"] = "off_duty"

    @field_validator("members")
    @classmethod
    def _roles(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            msg = (
                f"unknown role(s) {', '.join(unknown)}: count members by role "
                f"({', '.join(ROLES)}), never by name."
            )
            raise ValueError(msg)
        return value


class RosterPut(Input):
    """The units on duty in one shift."""

    units: list[UnitCode] = Field(max_length=200)


class StatusChange(Input):
    """A unit's new status and why."""

    status: UnitStatusName
    reason: str | None = Field(None, max_length=500)


class Ping(Location):
    """One position report: a point with its declared crs, device time, accuracy and speed."""

    at: AwareDatetime = Field(description="Device time with zone.")
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)
    speed_mps: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)


class PingBatch(Input):
    """A batch of pings (any order)."""

    pings: list[Ping] = Field(min_length=1, max_length=5000)


class AssignmentCreate(Input):
    """Send a unit to the incident; ``replace`` supersedes the active assignment."""

    unit_id: UnitCode
    replace: bool = False
    reason: str | None = Field(None, max_length=500)


class EventCreate(Input):
    """A step of the case lifecycle."""

    step: Step
    note: str | None = Field(None, max_length=2000)
    duplicate_of: str | None = Field(
        None, max_length=40, description="For step duplicate: the original's id."
    )


class BackupCreate(Input):
    """A call for backup: violent obstruction (暴力抗法) or a public-order case."""

    reason: Literal["violent_obstruction", "public_order"]
    note: str | None = Field(None, max_length=2000)


# -- responses ------------------------------------------------------------------------------


class PositionRead(BaseModel):
    """A unit's newest position by device time, and how old it is."""

    lon: float
    lat: float
    at: str = Field(description="Device time, Beijing time.")
    accuracy_m: float | None
    age_s: float


class UnitRead(BaseModel):
    """A unit with its status, last position (age) and stale flag."""

    unit_id: str
    name: str
    squad: str
    mode: str
    team: str
    members: dict[str, int]
    home_station: str | None
    status: str
    status_at: str
    allowed_next: list[str] = Field(description="Statuses the unit may go to next.")
    last_position: PositionRead | None
    stale: bool = Field(description="No ping for JIEDAO_STALE_AFTER_S seconds (or none).")


class PingResult(BaseModel):
    """What a batch of pings did."""

    unit_id: str
    received: int
    stored: int
    duplicates: int
    out_of_order: int
    last_position_updated: bool


class RosterSet(BaseModel):
    """The units now on duty in a shift."""

    date: str
    shift: str
    units: list[str]


class RosterRead(BaseModel):
    """The units on duty in a shift, with their status and position."""

    date: str
    shift: str
    units: list[UnitRead]


class Recommendation(BaseModel):
    """An available unit and its road travel time to the incident."""

    unit_id: str
    squad: str
    mode: str
    eta_s: float
    distance_m: float
    stale: bool
    own_squad: bool
    position_age_s: float


class Recommendations(BaseModel):
    """Units ranked by road travel time to an incident."""

    incident: str
    squad: str
    urgent: bool
    stale_after_s: float
    units: list[Recommendation]


class AssignmentRead(BaseModel):
    """A unit sent to an incident, and how the assignment ended."""

    id: int
    incident_number: int
    unit_id: str | None
    status: str
    assigned_at: str | None
    assigned_by: str
    cancelled_at: str | None
    cancelled_by: str | None
    reason: str | None


class AssignmentCreated(AssignmentRead):
    """A new assignment, what it changed, and the re-plan of the unit's shift."""

    incident: str
    incident_status: str
    unit_status: str
    superseded: AssignmentRead | None
    replanned_from_plan_id: int | None
    replanned_plan_id: int | None
    replan_error: str | None


class AssignmentCancelled(AssignmentRead):
    """A cancelled assignment and the incident's status after it."""

    incident_status: str


class StepRecorded(BaseModel):
    """A lifecycle step recorded on an incident."""

    incident: str
    step: str
    status: str
    at: str
    actor: str
    note: str | None
    detail: dict[str, Any]


class TimelineEvent(BaseModel):
    """One step of a case: who and when."""

    step: str
    status: str | None
    at: str | None
    actor: str
    note: str | None
    detail: dict[str, Any]


class Timeline(BaseModel):
    """Every step of a case, oldest first, and the steps allowed next."""

    incident: str
    status: str
    events: list[TimelineEvent]
    next_steps: list[str]


class Clocks(BaseModel):
    """A case's clocks in working hours, and the urgent-case delays."""

    incident: str
    status: str
    time_limit_hours: float
    clock_starts: str
    started_at: str | None
    due_at: str | None
    closed_at: str | None
    overdue: bool
    remaining_working_hours: float | None
    working_hours_used: float
    calendar: dict[str, str]
    urgent: bool
    report_delay_s: float
    report_within_15_min: bool
    dispatch_delay_s: float | None
    arrival_delay_s: float | None
    waiting_for_dispatch_s: float | None
    dispatch_limit_s: float
    arrival_limit_s: float
    dispatch_late: bool
    arrival_late: bool


class BackupRead(BaseModel):
    """A backup request and its acknowledgement clock."""

    model_config = ConfigDict(extra="allow")  # waiting_s while open, acknowledged_after_s after

    id: int
    incident_number: int
    reason: str
    note: str | None
    requested_at: str | None
    requested_by: str
    alerted: list[str]
    police_station: str | None
    backup_units: list[str]
    acknowledged_at: str | None
    acknowledged_by: str | None
    open: bool
