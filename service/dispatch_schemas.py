"""API schemas of dispatch: units, roster, status, positions, assignments, case steps, backup."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import AwareDatetime, Field, field_validator

from .schemas import Location, Mode, ShortText, _Input

__all__ = [
    "ROLES",
    "AssignmentCreate",
    "BackupCreate",
    "EventCreate",
    "Ping",
    "PingBatch",
    "RosterPut",
    "StatusChange",
    "UnitCreate",
]

# Crew by role (捆绑执法: enforcement officers with the station's police officers); never names.
ROLES: Final = ("enforcement_officer", "police_officer", "auxiliary_officer", "driver")
UnitCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,49}$",
                                description="The unit's id, e.g. west-car-1.")]
UnitStatusName = Literal["off_duty", "available", "en_route", "on_scene", "on_break",
                         "returning"]
Step = Literal["accepted", "rejected", "duplicate", "on_scene", "handled", "verified_closed",
               "reopened", "parked", "unparked"]


class UnitCreate(_Input):
    """A patrol unit or a unit of the backup team."""

    unit_id: UnitCode
    name: ShortText
    squad: ShortText = Field(description="Squad code (west, east) or name; backup: its squad "
                                         "of attachment.")
    mode: Mode
    members: dict[str, Annotated[int, Field(ge=0, le=20)]] = Field(
        default_factory=dict, description=f"Crew count by role: {', '.join(ROLES)}.")
    home_station: ShortText | None = Field(None, description="Station code of the layer.")
    team: Literal["patrol", "backup"] = "patrol"
    status: Literal["off_duty", "available"] = "off_duty"

    @field_validator("members")
    @classmethod
    def _roles(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(ROLES))
        if unknown:
            msg = (f"unknown role(s) {', '.join(unknown)}: count members by role "
                   f"({', '.join(ROLES)}), never by name.")
            raise ValueError(msg)
        return value


class RosterPut(_Input):
    """The units on duty in one shift."""

    units: list[UnitCode] = Field(max_length=200)


class StatusChange(_Input):
    """A unit's new status and why."""

    status: UnitStatusName
    reason: str | None = Field(None, max_length=500)


class Ping(Location):
    """One position report: a point with its declared crs, device time, accuracy and speed."""

    at: AwareDatetime = Field(description="Device time with zone.")
    accuracy_m: float | None = Field(None, ge=0, le=100_000, allow_inf_nan=False)
    speed_mps: float | None = Field(None, ge=0, le=100, allow_inf_nan=False)


class PingBatch(_Input):
    """A batch of pings (any order)."""

    pings: list[Ping] = Field(min_length=1, max_length=5000)


class AssignmentCreate(_Input):
    """Send a unit to the incident; ``replace`` supersedes the active assignment."""

    unit_id: UnitCode
    replace: bool = False
    reason: str | None = Field(None, max_length=500)


class EventCreate(_Input):
    """A step of the case lifecycle."""

    step: Step
    note: str | None = Field(None, max_length=2000)
    duplicate_of: str | None = Field(None, max_length=40,
                                     description="For step duplicate: the original's id.")


class BackupCreate(_Input):
    """A call for backup: violent obstruction (暴力抗法) or a public-order case."""

    reason: Literal["violent_obstruction", "public_order"]
    note: str | None = Field(None, max_length=2000)
