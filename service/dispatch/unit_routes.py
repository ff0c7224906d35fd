"""Units and the duty roster: create and list units, change a unit's status, post positions
(single or batched pings, in any declared CRS) and read a unit's track; put and read the roster
of a shift. The dispatch routes of one incident are in ``routes``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, ValidationError

from ..auth import service as auth_service
from ..auth.service import Principal, require
from ..core.deps import NowDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES, InvalidInputError, errors
from ..core.schemas import FeatureCollection, ShiftName
from ..layers import service as layers_service
from . import service
from .schemas import (
    Ping,
    PingBatch,
    PingResult,
    RosterPut,
    RosterRead,
    RosterSet,
    StatusChange,
    UnitCreate,
    UnitRead,
)

__all__ = ["roster_router", "units_router"]

units_router = APIRouter(prefix="/units", tags=["units"], responses=ERROR_RESPONSES)
roster_router = APIRouter(prefix="/roster", tags=["units"], responses=ERROR_RESPONSES)
_PING_EXAMPLE = {
    "at": "2026-11-27T09:30:00+08:00",
    "lon": 114.1007,
    "lat": 22.5812,
    "crs": "wgs84",
    "accuracy_m": 8.0,
    "speed_mps": 1.2,
}
GEOJSON = "application/geo+json"


def _as(permission: str) -> Any:
    # The route's rule, declared beside it: Annotated[Principal, _as("units:read")].
    return Depends(require(permission))


# -- units and the roster -------------------------------------------------------------------


@units_router.post("", status_code=201, response_model=UnitRead, responses=errors(409))
def create_unit(
    unit_in: UnitCreate,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, _as("units:create")],
    now: NowDep,
    settings: SettingsDep,
    response: Response,
) -> dict[str, Any]:
    """Create a patrol (or backup team) unit; its crew is counted by role. A squad leader
    creates units of their own squad."""
    unit = service.create_unit(
        session,
        unit_in,
        actor=principal.name,
        now=now,
        layer=layers_service.active_layer_or_none(request, session),
    )
    auth_service.ensure_squad(principal, unit.squad)
    response.headers["Location"] = f"/units/{unit.code}"
    return service.unit_read(unit, now=now, stale_after_s=settings.stale_after_s)


@units_router.get("", response_model=list[UnitRead])
def list_units(
    session: SessionDep,
    principal: Annotated[Principal, _as("units:read")],
    now: NowDep,
    settings: SettingsDep,
    squad: str | None = None,
    status: str | None = None,
    team: str | None = None,
) -> list[dict[str, Any]]:
    """Every unit with its status, last position (age) and stale flag (no ping for
    ``JIEDAO_STALE_AFTER_S`` seconds, default 120). A squad leader sees their squad's."""
    if principal.role == "squad_leader":
        squad = principal.squad
    return [
        service.unit_read(u, now=now, stale_after_s=settings.stale_after_s)
        for u in service.list_units(session, squad=squad, status=status, team=team)
    ]


@units_router.get("/{unit_id}", response_model=UnitRead, responses=errors(404))
def read_unit(
    unit_id: str,
    session: SessionDep,
    principal: Annotated[Principal, _as("units:read")],
    now: NowDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """One unit."""
    unit = service.get_unit(session, unit_id)
    auth_service.ensure_squad(principal, unit.squad, field="unit_id")
    return service.unit_read(unit, now=now, stale_after_s=settings.stale_after_s)


@units_router.post("/{unit_id}/status", response_model=UnitRead, responses=errors(404, 409))
def change_status(
    unit_id: str,
    change: StatusChange,
    session: SessionDep,
    principal: Annotated[Principal, _as("units:status")],
    now: NowDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """Change a unit's status (the dispatcher, or the unit's own device); a change the state
    machine refuses gets 409 naming the statuses allowed next."""
    unit = service.get_unit(session, unit_id)
    auth_service.ensure_unit(principal, unit.code, squad=unit.squad)
    service.change_status(
        session, unit, change.status, actor=principal.name, now=now, reason=change.reason
    )
    return service.unit_read(unit, now=now, stale_after_s=settings.stale_after_s)


@units_router.post("/{unit_id}/positions", response_model=PingResult, responses=errors(404))
def add_positions(
    unit_id: str,
    session: SessionDep,
    principal: Annotated[Principal, _as("units:positions")],
    now: NowDep,
    payload: Annotated[
        dict[str, Any],
        Body(
            description='One ping, or a batch {"pings": [...]}.',
            openapi_examples={
                "one": {"value": _PING_EXAMPLE},
                "batch": {"value": {"pings": [_PING_EXAMPLE]}},
            },
        ),
    ],
) -> dict[str, Any]:
    """Store one ping or a batch: all or nothing. Repeated pings (same unit and device time)
    are counted, not stored twice; a ping older than the last position joins the track but
    does not move the unit. Only the unit's own device may post them."""
    try:
        pings = (
            PingBatch.model_validate(payload).pings
            if "pings" in payload
            else [Ping.model_validate(payload)]
        )
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None
    unit = service.get_unit(session, unit_id)
    auth_service.ensure_unit(principal, unit.code, squad=unit.squad)
    result = service.add_pings(session, unit, pings, now=now)
    return {
        "unit_id": unit.code,
        "received": result.received,
        "stored": result.stored,
        "duplicates": result.duplicates,
        "out_of_order": result.out_of_order,
        "last_position_updated": result.last_position_updated,
    }


@units_router.get(
    "/{unit_id}/track",
    response_model=FeatureCollection,
    responses={200: {"content": {GEOJSON: {}}}, **errors(404)},
)
def unit_track(
    unit_id: str,
    session: SessionDep,
    principal: Annotated[Principal, _as("units:track")],
    since: Annotated[
        AwareDatetime | None, Query(description="Device time >= since (ISO 8601 with zone).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="Device time < until (ISO 8601 with zone).")
    ] = None,
) -> JSONResponse:
    """The unit's track as GeoJSON: a LineString in time order and one Point per ping."""
    if since is not None and until is not None and since >= until:
        raise InvalidInputError(
            "until", "until is not after since.", "give until later than since."
        )
    unit = service.get_unit(session, unit_id)
    auth_service.ensure_squad(principal, unit.squad, field="unit_id")
    return JSONResponse(
        service.track(session, unit, since=since, until=until), media_type="application/geo+json"
    )


@roster_router.put("/{day}/{shift}", response_model=RosterSet, responses=errors(404))
def put_roster(
    day: date,
    shift: ShiftName,
    roster: RosterPut,
    session: SessionDep,
    principal: Annotated[Principal, _as("roster:write")],
    now: NowDep,
) -> dict[str, Any]:
    """Set the units on duty in a shift (replaces the list). A squad leader sets their
    squad's units only; the other squad's stay as they are."""
    codes = service.put_roster(
        session,
        day,
        shift,
        roster.units,
        actor=principal.name,
        now=now,
        squad=principal.squad if principal.role == "squad_leader" else None,
    )
    return {"date": day.isoformat(), "shift": shift, "units": codes}


@roster_router.get("/{day}/{shift}", response_model=RosterRead)
def get_roster(
    day: date,
    shift: ShiftName,
    session: SessionDep,
    principal: Annotated[Principal, _as("units:read")],
    now: NowDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """The units on duty in a shift, with their status and position (a squad leader's:
    their squad's)."""
    units = service.get_roster(session, day, shift)
    if principal.role == "squad_leader":
        units = [u for u in units if u.squad == principal.squad]
    return {
        "date": day.isoformat(),
        "shift": shift,
        "units": [
            service.unit_read(u, now=now, stale_after_s=settings.stale_after_s) for u in units
        ],
    }
