"""Units: create and read, the duty roster, status changes and positions (AVL).

Status changes go through :mod:`service.dispatch.unitstatus` and a conditional UPDATE
(``WHERE status =
the status read``), so two concurrent changes cannot both apply; each change writes a
``unit_status_events`` row. Pings are inserted with ``ON CONFLICT DO NOTHING`` on (unit, device
time): a repeated ping is counted, not stored twice. The unit's last position moves only to a
newer device time (a conditional UPDATE too), so a late, out-of-order ping joins the track
without replacing a newer position.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Final

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo import crs as geocrs

from ..core.audit import record
from ..core.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from ..core.timezones import BEIJING
from ..layers.service import ActiveLayer
from . import unitstatus
from .models import DutyRoster, Unit, UnitPing, UnitStatusEvent
from .schemas import Ping, UnitCreate

__all__ = [
    "IntakeResult",
    "add_pings",
    "change_status",
    "create_unit",
    "get_roster",
    "get_unit",
    "list_units",
    "put_roster",
    "track",
    "unit_read",
]

_CLOCK_SKEW: Final = timedelta(minutes=10)
_TRACK_LIMIT: Final = 20_000


def get_unit(session: Session, code: str, *, field: str = "unit_id") -> Unit:
    """The unit with id ``code``; :class:`NotFoundError` names ``field``."""
    unit = session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        raise NotFoundError(
            field,
            f"No unit {code!r}.",
            "check the unit id (GET /units lists them) or create it with POST /units.",
        )
    return unit


def unit_read(unit: Unit, *, now: datetime, stale_after_s: float) -> dict[str, Any]:
    """A unit as the API returns it: status, last position, its age and the stale flag."""
    position = None
    age = 0.0
    if unit.last_at is not None and unit.last_lon is not None and unit.last_lat is not None:
        age = (now - unit.last_at).total_seconds()
        position = {
            "lon": unit.last_lon,
            "lat": unit.last_lat,
            "at": unit.last_at.astimezone(BEIJING).isoformat(),
            "accuracy_m": unit.last_accuracy_m,
            "age_s": round(age, 1),
        }
    return {
        "unit_id": unit.code,
        "name": unit.name,
        "squad": unit.squad,
        "mode": unit.mode,
        "team": unit.team,
        "members": dict(unit.members),
        "home_station": unit.home_station,
        "status": unit.status,
        "status_at": unit.status_at.astimezone(BEIJING).isoformat(),
        "allowed_next": list(unitstatus.allowed_next(unit.status)),
        "last_position": position,
        # No position at all is stale too: nobody knows where the unit is.
        "stale": position is None or age > stale_after_s,
    }


def create_unit(
    session: Session, data: UnitCreate, *, actor: str, now: datetime, layer: ActiveLayer | None
) -> Unit:
    """Store a new unit (and its first status event), in the caller's unit of work."""
    squad = data.squad
    if layer is not None:
        squads = {str(c) for c in layer.pack.squads["code"]}
        names = {str(r.name_zh): str(r.code) for r in layer.pack.squads.itertuples(index=False)}
        squad = names.get(squad, squad)
        if squad not in squads:
            raise InvalidInputError(
                "squad",
                f"No squad {data.squad!r} in layer {layer.label}.",
                f"use one of {', '.join(sorted(squads))}.",
            )
        stations = {str(c) for c in layer.pack.stations["code"]}
        if data.home_station is not None and data.home_station not in stations:
            raise InvalidInputError(
                "home_station",
                f"No station {data.home_station!r} in layer {layer.label}.",
                f"use one of {', '.join(sorted(stations))}.",
            )
    if session.scalar(select(Unit.id).where(Unit.code == data.unit_id)) is not None:
        raise ConflictError(
            "unit_id",
            f"Unit {data.unit_id} already exists.",
            "choose another unit id, or change the unit's status with POST /units/{id}/status.",
        )
    unit = Unit(
        code=data.unit_id,
        name=data.name,
        squad=squad,
        mode=data.mode,
        members=dict(data.members),
        home_station=data.home_station,
        team=data.team,
        status=data.status,
        status_at=now,
        created_at=now,
        created_by=actor,
    )
    try:
        with session.begin_nested():  # a concurrent create of the same id loses here
            session.add(unit)
            session.flush()
    except IntegrityError:
        raise ConflictError(
            "unit_id", f"Unit {data.unit_id} already exists.", "choose another unit id."
        ) from None
    session.add(
        UnitStatusEvent(
            unit_id=unit.id,
            previous=None,
            status=unit.status,
            at=now,
            actor=actor,
            reason="created",
        )
    )
    record(
        session,
        actor=actor,
        action="create",
        entity="unit",
        entity_id=unit.code,
        detail={"squad": squad, "mode": unit.mode, "team": unit.team},
    )
    return unit


def list_units(
    session: Session,
    *,
    squad: str | None = None,
    status: str | None = None,
    team: str | None = None,
) -> list[Unit]:
    """Units, by squad and id, filtered."""
    query = select(Unit).order_by(Unit.squad, Unit.code)
    if squad:
        query = query.where(Unit.squad == squad)
    if status:
        query = query.where(Unit.status == status)
    if team:
        query = query.where(Unit.team == team)
    return list(session.scalars(query))


def put_roster(
    session: Session,
    day: date,
    shift: str,
    codes: Sequence[str],
    *,
    actor: str,
    now: datetime,
    squad: str | None = None,
) -> list[str]:
    """Replace the units on duty in ``shift`` of ``day``; returns their ids.

    With ``squad`` (a squad leader's roster), every unit listed must be of that squad, and
    only that squad's units are replaced: the other squad's roster stays.
    """
    if len(set(codes)) != len(codes):
        twice = sorted({c for c in codes if codes.count(c) > 1})
        raise InvalidInputError(
            "units", f"Unit(s) {', '.join(twice)} listed twice.", "list each unit once."
        )
    units = []
    for i, code in enumerate(codes):
        unit = get_unit(session, code, field=f"units[{i}]")
        if squad is not None and unit.squad != squad:
            raise PermissionDeniedError(
                f"units[{i}]",
                f"Unit {unit.code} is of squad {unit.squad}; a squad leader sets the roster "
                f"of their own squad ({squad}) only.",
                "leave it out; its squad leader sets it.",
                permission="scope:squad",
            )
        units.append(unit)
    on_duty = (
        select(DutyRoster.id)
        .join(Unit, Unit.id == DutyRoster.unit_id)
        .where(DutyRoster.roster_date == day, DutyRoster.shift == shift)
    )
    if squad is not None:
        on_duty = on_duty.where(Unit.squad == squad)
    before = sorted(
        session.scalars(
            select(Unit.code)
            .join(DutyRoster, DutyRoster.unit_id == Unit.id)
            .where(DutyRoster.id.in_(on_duty))
        )
    )
    session.execute(
        delete(DutyRoster)
        .where(DutyRoster.id.in_(on_duty))
        .execution_options(synchronize_session=False)
    )
    session.add_all(
        DutyRoster(roster_date=day, shift=shift, unit_id=u.id, created_at=now, created_by=actor)
        for u in units
    )
    record(
        session,
        actor=actor,
        action="roster",
        entity="duty_roster",
        entity_id=f"{day.isoformat()}/{shift}" + (f"/{squad}" if squad else ""),
        before={"units": before},
        after={"units": sorted(codes)},
        at=now,
    )
    session.flush()
    return sorted(codes)


def get_roster(session: Session, day: date, shift: str) -> list[Unit]:
    """The units on duty in ``shift`` of ``day``."""
    return list(
        session.scalars(
            select(Unit)
            .join(DutyRoster, DutyRoster.unit_id == Unit.id)
            .where(DutyRoster.roster_date == day, DutyRoster.shift == shift)
            .order_by(Unit.code)
        )
    )


def change_status(
    session: Session,
    unit: Unit,
    wanted: str,
    *,
    actor: str,
    now: datetime,
    reason: str | None = None,
) -> UnitStatusEvent:
    """Move ``unit`` to ``wanted`` if the state machine allows it, in the caller's transaction.

    Raises :class:`ConflictError` naming the allowed next states, or when another request
    changed the status meanwhile.
    """
    current = unit.status
    try:
        unitstatus.check(current, wanted)
    except unitstatus.InvalidUnitTransition as exc:
        raise ConflictError(
            "status", str(exc), f"choose one of {', '.join(exc.allowed) or 'none'}."
        ) from None
    changed = session.execute(
        update(Unit)
        .where(Unit.id == unit.id, Unit.status == current)
        .values(status=wanted, status_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(unit)
        raise ConflictError(
            "status",
            f"Unit {unit.code} is now {unit.status}: its status changed meanwhile.",
            "reload the unit and try again.",
        )
    session.refresh(unit)
    event = UnitStatusEvent(
        unit_id=unit.id, previous=current, status=wanted, at=now, actor=actor, reason=reason
    )
    session.add(event)
    record(
        session,
        actor=actor,
        action="status",
        entity="unit",
        entity_id=unit.code,
        before={"status": current},
        after={"status": wanted},
        detail={"reason": reason} if reason else None,
        at=now,
    )
    session.flush()
    return event


@dataclass(frozen=True, slots=True)
class IntakeResult:
    """What a batch of pings did."""

    received: int
    stored: int
    duplicates: int
    out_of_order: int
    last_position_updated: bool


def add_pings(
    session: Session, unit: Unit, pings: Sequence[Ping], *, now: datetime
) -> IntakeResult:
    """Store ``pings`` of ``unit`` (all or none), in the caller's transaction.

    Raises :class:`InvalidInputError` naming ``pings[i].at`` for a device time in the future.
    """
    for i, ping in enumerate(pings):
        if ping.at > now + _CLOCK_SKEW:
            raise InvalidInputError(
                f"pings[{i}].at",
                f"pings[{i}].at {ping.at.isoformat()} is in the future "
                f"(server time {now.astimezone(BEIJING).isoformat()}).",
                "check the device clock and its zone: Beijing time is +08:00.",
            )
    rows: dict[datetime, dict[str, Any]] = {}
    by_crs: dict[str, list[int]] = {}
    for i, ping in enumerate(pings):
        by_crs.setdefault(ping.crs, []).append(i)
    lon = [0.0] * len(pings)
    lat = [0.0] * len(pings)
    for crs, index in by_crs.items():
        xs, ys = geocrs.to_wgs84(
            [pings[i].lon for i in index], [pings[i].lat for i in index], source=crs
        )
        for k, i in enumerate(index):
            lon[i], lat[i] = float(xs[k]), float(ys[k])
    for i, ping in enumerate(pings):
        at = ping.at.astimezone(BEIJING)
        if at in rows:
            continue  # the same ping twice in one batch
        rows[at] = {
            "unit_id": unit.id,
            "at": at,
            "received_at": now,
            "lon": lon[i],
            "lat": lat[i],
            "geom": f"SRID=4326;POINT({lon[i]!r} {lat[i]!r})",
            "accuracy_m": ping.accuracy_m,
            "speed_mps": ping.speed_mps,
        }
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    stmt = insert(UnitPing).on_conflict_do_nothing(index_elements=["unit_id", "at"])
    inserted = list(session.scalars(stmt.returning(UnitPing.at), list(rows.values())))
    previous = unit.last_at
    newest = max(rows)
    out_of_order = sum(1 for at in rows if previous is not None and at < previous)
    newest_row = rows[newest]
    moved = session.execute(
        update(Unit)
        .where(Unit.id == unit.id, or_(Unit.last_at.is_(None), Unit.last_at < newest))
        .values(
            last_at=newest,
            last_received_at=now,
            last_lon=newest_row["lon"],
            last_lat=newest_row["lat"],
            last_accuracy_m=newest_row["accuracy_m"],
        )
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return IntakeResult(
        received=len(pings),
        stored=len(inserted),
        duplicates=len(pings) - len(inserted),
        out_of_order=out_of_order,
        last_position_updated=moved.rowcount == 1,  # type: ignore[attr-defined]
    )


def track(
    session: Session, unit: Unit, *, since: datetime | None, until: datetime | None
) -> dict[str, Any]:
    """The unit's pings from ``since`` to ``until`` (exclusive) as GeoJSON: one LineString
    of the track (when it has two points or more) and one Point per ping, in device-time
    order."""
    query = select(UnitPing).where(UnitPing.unit_id == unit.id).order_by(UnitPing.at)
    if since is not None:
        query = query.where(UnitPing.at >= since)
    if until is not None:
        query = query.where(UnitPing.at < until)
    pings = list(session.scalars(query.limit(_TRACK_LIMIT)))
    coords = [[p.lon, p.lat] for p in pings]
    features: list[dict[str, Any]] = []
    if len(coords) >= 2:
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": coords},
                "properties": {"unit_id": unit.code, "kind": "track", "points": len(coords)},
            }
        )
    features += [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p.lon, p.lat]},
            "properties": {
                "unit_id": unit.code,
                "kind": "ping",
                "at": p.at.astimezone(BEIJING).isoformat(),
                "accuracy_m": p.accuracy_m,
                "speed_mps": p.speed_mps,
            },
        }
        for p in pings
    ]
    return {
        "type": "FeatureCollection",
        "features": features,
        "truncated": len(pings) == _TRACK_LIMIT,
    }
