"""Units: create, list and read them (status, last position, stale flag), change their status,
take their positions (AVL pings) and give their tracks; the duty roster per shift."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, ValidationError

from ...crud import units as crud_units
from ...crud.errors import InvalidInputError
from ...dispatch_schemas import Ping, PingBatch, RosterPut, StatusChange, UnitCreate
from ...schemas import ErrorResponse, ShiftName
from ..deps import ActorDep, NowDep, SessionDep, SettingsDep, active_layer_or_none

__all__ = ["roster_router", "router"]

router = APIRouter(prefix="/units", tags=["units"])
roster_router = APIRouter(prefix="/roster", tags=["units"])
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 422)}
_PING_EXAMPLE = {"at": "2026-11-27T09:30:00+08:00", "lon": 114.1007, "lat": 22.5812,
                 "crs": "wgs84", "accuracy_m": 8.0, "speed_mps": 1.2}


@router.post("", status_code=201, responses=_ERRORS)
def create_unit(unit_in: UnitCreate, request: Request, session: SessionDep, actor: ActorDep,
                now: NowDep, settings: SettingsDep, response: Response) -> dict[str, Any]:
    """Create a patrol (or backup team) unit; its crew is counted by role."""
    unit = crud_units.create_unit(session, unit_in, actor=actor or "anonymous", now=now,
                                  layer=active_layer_or_none(request, session))
    session.commit()
    response.headers["Location"] = f"/units/{unit.code}"
    return crud_units.unit_read(unit, now=now, stale_after_s=settings.stale_after_s)


@router.get("", responses=_ERRORS)
def list_units(session: SessionDep, now: NowDep, settings: SettingsDep,
               squad: str | None = None, status: str | None = None,
               team: str | None = None) -> list[dict[str, Any]]:
    """Every unit with its status, last position (age) and stale flag (no ping for
    ``JIEDAO_STALE_AFTER_S`` seconds, default 120)."""
    return [crud_units.unit_read(u, now=now, stale_after_s=settings.stale_after_s)
            for u in crud_units.list_units(session, squad=squad, status=status, team=team)]


@router.get("/{unit_id}", responses=_ERRORS)
def read_unit(unit_id: str, session: SessionDep, now: NowDep, settings: SettingsDep
              ) -> dict[str, Any]:
    """One unit."""
    unit = crud_units.get_unit(session, unit_id)
    return crud_units.unit_read(unit, now=now, stale_after_s=settings.stale_after_s)


@router.post("/{unit_id}/status", responses=_ERRORS)
def change_status(unit_id: str, change: StatusChange, session: SessionDep, actor: ActorDep,
                  now: NowDep, settings: SettingsDep) -> dict[str, Any]:
    """Change a unit's status; a change the state machine refuses gets 409 naming the
    statuses allowed next."""
    unit = crud_units.get_unit(session, unit_id)
    crud_units.change_status(session, unit, change.status, actor=actor or "anonymous",
                             now=now, reason=change.reason)
    session.commit()
    return crud_units.unit_read(unit, now=now, stale_after_s=settings.stale_after_s)


@router.post("/{unit_id}/positions", responses=_ERRORS)
def add_positions(unit_id: str, session: SessionDep, now: NowDep,
                  payload: Annotated[dict[str, Any], Body(
                      description="One ping, or a batch {\"pings\": [...]}.",
                      openapi_examples={"one": {"value": _PING_EXAMPLE},
                                        "batch": {"value": {"pings": [_PING_EXAMPLE]}}})]
                  ) -> dict[str, Any]:
    """Store one ping or a batch: all or nothing. Repeated pings (same unit and device time)
    are counted, not stored twice; a ping older than the last position joins the track but
    does not move the unit."""
    try:
        pings = (PingBatch.model_validate(payload).pings if "pings" in payload
                 else [Ping.model_validate(payload)])
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    unit = crud_units.get_unit(session, unit_id)
    result = crud_units.add_pings(session, unit, pings, now=now)
    session.commit()
    return {"unit_id": unit.code, "received": result.received, "stored": result.stored,
            "duplicates": result.duplicates, "out_of_order": result.out_of_order,
            "last_position_updated": result.last_position_updated}


@router.get("/{unit_id}/track", responses={200: {"content": {"application/geo+json": {}}},
                                           **_ERRORS})
def unit_track(unit_id: str, session: SessionDep,
               since: Annotated[AwareDatetime | None, Query(
                   description="Device time >= since (ISO 8601 with zone).")] = None,
               until: Annotated[AwareDatetime | None, Query(
                   description="Device time < until (ISO 8601 with zone).")] = None
               ) -> JSONResponse:
    """The unit's track as GeoJSON: a LineString in time order and one Point per ping."""
    if since is not None and until is not None and since >= until:
        raise InvalidInputError("until", "until is not after since.",
                                "give until later than since.")
    unit = crud_units.get_unit(session, unit_id)
    return JSONResponse(crud_units.track(session, unit, since=since, until=until),
                        media_type="application/geo+json")


@roster_router.put("/{day}/{shift}", responses=_ERRORS)
def put_roster(day: date, shift: ShiftName, roster: RosterPut, session: SessionDep,
               actor: ActorDep, now: NowDep) -> dict[str, Any]:
    """Set the units on duty in a shift (replaces the list)."""
    codes = crud_units.put_roster(session, day, shift, roster.units,
                                  actor=actor or "anonymous", now=now)
    session.commit()
    return {"date": day.isoformat(), "shift": shift, "units": codes}


@roster_router.get("/{day}/{shift}", responses=_ERRORS)
def get_roster(day: date, shift: ShiftName, session: SessionDep, now: NowDep,
               settings: SettingsDep) -> dict[str, Any]:
    """The units on duty in a shift, with their status and position."""
    units = crud_units.get_roster(session, day, shift)
    return {"date": day.isoformat(), "shift": shift,
            "units": [crud_units.unit_read(u, now=now, stale_after_s=settings.stale_after_s)
                      for u in units]}
