"""Incidents: create (one or in bulk), read, filter, and suggest duplicates.

Public ids look like ``QSH-2026-000123``: a prefix from the settings, the year the incident was
received (Beijing time) and the database id. They are derived, not stored, so they cost no second
write; :func:`parse_incident_id` accepts them or the bare number.

Idempotency: a create with an ``Idempotency-Key`` stores the key and a fingerprint (SHA-256 of the
validated input and the actor) in the incident's own row, so the incident, its audit row and its
key commit together or not at all. A retry with the same key and the same input gets the stored
incident back (``created`` is False); with other input it is refused, naming the key.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Final

import numpy as np
from geoalchemy2.shape import from_shape
from shapely import Point
from sqlalchemy import Integer, Select, column, func, insert, or_, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo import crs as geocrs
from geo.jurisdiction import Jurisdiction

from ..categories import get_category
from ..models import CLOSED_STATUSES, Incident, LayerVersion, Squad
from ..schemas import (
    DuplicateCandidate,
    IncidentCreate,
    IncidentCreated,
    IncidentRead,
    LocationRead,
    Resolution,
)
from .audit import record
from .errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "IncidentFilter",
    "IntakeParams",
    "create_incident",
    "create_incidents_bulk",
    "find_duplicates",
    "get_incident",
    "incident_reads",
    "list_incidents",
    "parse_incident_id",
    "public_id",
    "request_fingerprint",
]

BEIJING: Final = timezone(timedelta(hours=8), "CST")
_PUBLIC_ID: Final = re.compile(r"^(?:[A-Za-z]{2,8}-\d{4}-)?0*(\d{1,12})$")
# A report may be stamped a little ahead of the server's clock; beyond this it is a wrong zone.
_CLOCK_SKEW: Final = timedelta(minutes=10)
_M_PER_DEG: Final = 111_320.0


@dataclass(frozen=True, slots=True)
class IntakeParams:
    """Settings that govern intake: the public id prefix and the duplicate rule."""

    id_prefix: str = "QSH"
    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 24.0


def public_id(incident: Incident, prefix: str = "QSH") -> str:
    """``PREFIX-YYYY-NNNNNN``: the year received (Beijing time) and the database id."""
    year = incident.received_at.astimezone(BEIJING).year
    return f"{prefix}-{year}-{incident.id:06d}"


def parse_incident_id(text_id: str) -> int:
    """The database id of ``QSH-2026-000123`` or ``123``."""
    match = _PUBLIC_ID.match(text_id.strip())
    if match is None:
        raise NotFoundError("id", f"{text_id!r} is not an incident id.",
                            "use the id returned when the incident was created, e.g. "
                            "QSH-2026-000123, or its number (123).")
    return int(match.group(1))


def request_fingerprint(payload: Mapping[str, Any], actor: str) -> str:
    """SHA-256 of a request's fields and its actor: what an idempotent retry must repeat."""
    canonical = json.dumps({"input": payload, "actor": actor}, sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- spatial filters ------------------------------------------------------------------------


def _bbox_clause(session: Session, bbox: tuple[float, float, float, float]) -> Any:
    """A filter on incidents.geom that uses the spatial index (R*Tree or GiST)."""
    minx, miny, maxx, maxy = bbox
    if session.get_bind().dialect.name == "sqlite":
        rowids = text(
            "SELECT rowid FROM SpatialIndex WHERE f_table_name = 'incidents' "
            "AND f_geometry_column = 'geom' "
            "AND search_frame = BuildMbr(:minx, :miny, :maxx, :maxy, 4326)"
        ).bindparams(minx=minx, miny=miny, maxx=maxx, maxy=maxy).columns(column("rowid", Integer))
        return Incident.id.in_(rowids)
    return Incident.geom.op("&&")(func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326))


def _around(lon: float, lat: float, radius_m: float) -> tuple[float, float, float, float]:
    # A box a little larger than the circle; the exact metric distance is checked afterwards.
    dlat = radius_m * 1.05 / _M_PER_DEG
    dlon = radius_m * 1.05 / (_M_PER_DEG * max(math.cos(math.radians(lat)), 1e-6))
    return lon - dlon, lat - dlat, lon + dlon, lat + dlat


def find_duplicates(session: Session, incident: Incident, *, params: IntakeParams
                    ) -> list[DuplicateCandidate]:
    """Open incidents of the same category, reported before this one, within
    ``duplicate_radius_m`` (EPSG:4547 metres) and ``duplicate_window_hours`` of occurred_at."""
    window = timedelta(hours=params.duplicate_window_hours)
    query = (select(Incident)
             .where(Incident.category == incident.category,
                    Incident.status.not_in(sorted(CLOSED_STATUSES)),
                    Incident.id < incident.id,
                    Incident.occurred_at >= incident.occurred_at - window,
                    Incident.occurred_at <= incident.occurred_at + window,
                    _bbox_clause(session, _around(incident.lon, incident.lat,
                                                  params.duplicate_radius_m))))
    candidates = list(session.scalars(query))
    if not candidates:
        return []
    x0, y0 = geocrs.to_metric([incident.lon], [incident.lat])
    xs, ys = geocrs.to_metric([c.lon for c in candidates], [c.lat for c in candidates])
    distances = np.hypot(xs - x0[0], ys - y0[0])
    found = [
        DuplicateCandidate(
            id=public_id(c, params.id_prefix), category=c.category, status=c.status,
            occurred_at=_utc(c.occurred_at), distance_m=round(float(d), 1),
            hours_apart=round(abs((c.occurred_at - incident.occurred_at).total_seconds())
                              / 3600.0, 2),
            community_code=c.community_code)
        for c, d in zip(candidates, distances, strict=True)
        if d <= params.duplicate_radius_m]
    return sorted(found, key=lambda d: (d.distance_m, d.id))


# -- conversion -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Names:
    labels: dict[int, str]
    squads: dict[tuple[int, str], str]


def _names(session: Session, version_ids: set[int]) -> _Names:
    if not version_ids:
        return _Names({}, {})
    labels = dict(session.execute(select(LayerVersion.id, LayerVersion.label)
                                  .where(LayerVersion.id.in_(version_ids))).all())
    squads = {(vid, code): name for vid, code, name in session.execute(
        select(Squad.version_id, Squad.code, Squad.name_zh)
        .where(Squad.version_id.in_(version_ids))).all()}
    return _Names(labels, squads)


def _flags(incident: Incident) -> list[str]:
    flags = []
    if incident.urgent:
        flags.append("urgent")
    if incident.near_boundary:
        flags.append("near_boundary")
    if incident.key_road_id:
        flags.append("on_key_road")
    return flags


def _utc(value: datetime) -> datetime:
    # Rows just written still hold the zone they were sent in; answer in UTC either way.
    return value.astimezone(UTC)


def _read(incident: Incident, names: _Names, prefix: str) -> IncidentRead:
    vid = incident.layer_version_id
    return IncidentRead(
        id=public_id(incident, prefix), number=incident.id, category=incident.category,
        category_name=get_category(incident.category).name_zh,
        location=LocationRead(lon=incident.lon, lat=incident.lat),
        input_location=LocationRead(lon=incident.input_lon, lat=incident.input_lat,
                                    crs=incident.input_crs),
        occurred_at=_utc(incident.occurred_at), reported_at=_utc(incident.reported_at),
        received_at=_utc(incident.received_at), updated_at=_utc(incident.updated_at),
        source=incident.source, reporter=incident.reporter, urgent=incident.urgent,
        description=incident.description, photo_urls=list(incident.photo_urls),
        address=incident.address, status=incident.status,
        resolution=Resolution(
            layer_version=names.labels.get(vid, str(vid)),
            community_code=incident.community_code, community_name=incident.community_name,
            community_squad=incident.community_squad, squad=incident.squad,
            squad_name=names.squads.get((vid, incident.squad)),
            key_road_id=incident.key_road_id, key_road_name=incident.key_road_name,
            key_road_m=incident.key_road_m, boundary_m=incident.boundary_m,
            near_boundary=incident.near_boundary),
        flags=_flags(incident), created_by=incident.created_by)


def incident_reads(session: Session, incidents: list[Incident], *, prefix: str = "QSH"
                   ) -> list[IncidentRead]:
    """Convert ORM incidents to API schemas, with layer labels and squad names."""
    names = _names(session, {i.layer_version_id for i in incidents})
    return [_read(i, names, prefix) for i in incidents]


# -- create ---------------------------------------------------------------------------------


def _to_wgs84(location_lon: float, location_lat: float, crs: str) -> tuple[float, float]:
    lon, lat = geocrs.to_wgs84([location_lon], [location_lat], source=crs)
    return float(lon[0]), float(lat[0])


def _outside_error(jurisdiction: Jurisdiction, lon: float, lat: float,
                   resolved: dict[str, object], crs: str) -> InvalidInputError:
    code = resolved.get("nearest_community_code")
    names = dict(zip(jurisdiction.codes, jurisdiction.names, strict=True))
    name = names.get(code, code)
    distance = resolved.get("outside_m")
    how_far = f"{distance:,.0f} m" if isinstance(distance, float) else "far"
    hint = ""
    if -90.0 <= lon <= 90.0 and not jurisdiction.resolve_one(lat, lon)["outside"]:
        hint = " Swapping lon and lat puts it inside: lon and lat look swapped."
    return InvalidInputError(
        "location",
        f"The point ({lon:.6f}, {lat:.6f} WGS84, declared {crs}) is {how_far} outside the "
        f"jurisdiction; the nearest community is {name} ({code}).{hint}",
        "check that location.crs says how the point was picked (wgs84 for GPS, gcj02 for "
        "Amap/Tencent, bd09 for Baidu) and that lon and lat are not swapped; a problem outside "
        "the sub-district belongs to its neighbour.")


def create_incident(*, session: Session, incident_in: IncidentCreate, actor: str,
                    jurisdiction: Jurisdiction, layer_version_id: int,
                    params: IntakeParams | None = None, idempotency_key: str | None = None,
                    fingerprint: str | None = None) -> tuple[IncidentCreated, bool]:
    """Resolve and store one incident with its audit row, and commit.

    Returns the stored incident with possible duplicates, and whether it was created now
    (False for an idempotent replay). ``fingerprint`` identifies the request for
    idempotency (default: the validated input and the actor; give one when the input holds
    server-made values, such as Open311's receive time). Raises :class:`InvalidInputError`
    for a point outside the jurisdiction or a time in the future, :class:`ConflictError` for
    a reused key.
    """
    params = params or IntakeParams()
    if fingerprint is None:
        fingerprint = request_fingerprint(
            incident_in.model_dump(mode="json", exclude={"actor"}), actor)
    if idempotency_key is not None:
        replay = _replay(session, idempotency_key, fingerprint, params)
        if replay is not None:
            return replay, False

    received_at = datetime.now(UTC)
    loc = incident_in.location
    lon, lat = _to_wgs84(loc.lon, loc.lat, loc.crs)
    resolved = jurisdiction.resolve_one(lon, lat)
    if resolved["outside"]:
        raise _outside_error(jurisdiction, lon, lat, resolved, loc.crs)
    reported_at = incident_in.reported_at or received_at
    for name, value in (("occurred_at", incident_in.occurred_at), ("reported_at", reported_at)):
        if value > received_at + _CLOCK_SKEW:
            raise InvalidInputError(
                name, f"{name} {value.isoformat()} is in the future (server time "
                f"{received_at.astimezone(BEIJING).isoformat()}).",
                "check the time zone: Beijing time is +08:00.")

    incident = Incident(
        category=incident_in.category, description=incident_in.description,
        photo_urls=[str(u) for u in incident_in.photo_urls], address=incident_in.address,
        lon=lon, lat=lat, geom=from_shape(Point(lon, lat), srid=4326),
        input_crs=loc.crs, input_lon=loc.lon, input_lat=loc.lat,
        occurred_at=incident_in.occurred_at, reported_at=reported_at, received_at=received_at,
        updated_at=received_at, source=incident_in.source, reporter=incident_in.reporter,
        urgent=incident_in.urgent, status="reported", layer_version_id=layer_version_id,
        **_resolution_columns(resolved), created_by=actor, idempotency_key=idempotency_key,
        request_fingerprint=fingerprint if idempotency_key is not None else None)
    session.add(incident)
    try:
        session.flush()
        record(session, actor=actor, action="create", entity="incident", entity_id=incident.id,
               detail={"category": incident.category, "source": incident.source,
                       "idempotency_key": idempotency_key})
        created = _created(session, incident, params)
        session.commit()
    except IntegrityError:
        # A concurrent request with the same key won the race: answer as its replay.
        session.rollback()
        if idempotency_key is None:
            raise
        replay = _replay(session, idempotency_key, fingerprint, params)
        if replay is None:
            raise
        return replay, False
    return created, True


def _resolution_columns(resolved: Mapping[Any, Any]) -> dict[str, Any]:
    return {key: resolved[key] for key in (
        "community_code", "community_name", "community_squad", "squad", "key_road_id",
        "key_road_name", "key_road_m", "boundary_m", "near_boundary", "outside",
        "nearest_community_code")}


def _created(session: Session, incident: Incident, params: IntakeParams) -> IncidentCreated:
    read = incident_reads(session, [incident], prefix=params.id_prefix)[0]
    return IncidentCreated(**read.model_dump(),
                           possible_duplicates=find_duplicates(session, incident, params=params))


def _replay(session: Session, key: str, fingerprint: str, params: IntakeParams
            ) -> IncidentCreated | None:
    stored = session.scalar(select(Incident).where(Incident.idempotency_key == key))
    if stored is None:
        return None
    if stored.request_fingerprint != fingerprint:
        raise ConflictError(
            "Idempotency-Key",
            f"Idempotency-Key {key!r} was already used for incident "
            f"{public_id(stored, params.id_prefix)} with a different request.",
            "send a new key for a new report; reuse a key only to retry the identical request.")
    return _created(session, stored, params)


def create_incidents_bulk(*, session: Session, items: list[IncidentCreate], actor: str,
                          jurisdiction: Jurisdiction, layer_version_id: int) -> int:
    """Resolve ``items`` in one vectorised call and insert them in the caller's transaction.

    All or nothing: a point outside the jurisdiction raises :class:`InvalidInputError` naming
    the first such item, before anything is written. Returns the number inserted. The caller
    commits (e.g. with :func:`service.db.session_scope`).
    """
    if not items:
        return 0
    lon = np.empty(len(items))
    lat = np.empty(len(items))
    by_crs: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        by_crs.setdefault(item.location.crs, []).append(i)
    for crs, index in by_crs.items():
        lon[index], lat[index] = geocrs.to_wgs84([items[i].location.lon for i in index],
                                                 [items[i].location.lat for i in index],
                                                 source=crs)
    frame = jurisdiction.resolve(lon, lat)
    outside = np.flatnonzero(frame["outside"].to_numpy())
    if len(outside):
        first = int(outside[0])
        raise InvalidInputError(
            f"items[{first}].location",
            f"{len(outside)} of {len(items)} points lie outside the jurisdiction, the first "
            f"at ({lon[first]:.6f}, {lat[first]:.6f}).",
            "check the declared crs of those items or drop them; nothing was stored.")
    received_at = datetime.now(UTC)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    rows = []
    for i, (item, resolved) in enumerate(zip(items, records, strict=True)):
        x, y = float(lon[i]), float(lat[i])
        rows.append({
            "category": item.category, "description": item.description,
            "photo_urls": [str(u) for u in item.photo_urls], "address": item.address,
            "lon": x, "lat": y, "geom": f"SRID=4326;POINT({x!r} {y!r})",
            "input_crs": item.location.crs, "input_lon": item.location.lon,
            "input_lat": item.location.lat, "occurred_at": item.occurred_at,
            "reported_at": item.reported_at or item.occurred_at, "received_at": received_at,
            "updated_at": received_at, "source": item.source, "reporter": item.reporter,
            "urgent": item.urgent, "status": "reported", "layer_version_id": layer_version_id,
            **_resolution_columns(resolved), "near_boundary": bool(resolved["near_boundary"]),
            "outside": False, "created_by": actor})
    session.execute(insert(Incident), rows)
    record(session, actor=actor, action="bulk_create", entity="incident",
           detail={"count": len(rows), "layer_version_id": layer_version_id})
    session.flush()
    return len(rows)


# -- read -----------------------------------------------------------------------------------


def get_incident(*, session: Session, incident_id: str | int, prefix: str = "QSH") -> Incident:
    """One incident by public id or number; :class:`NotFoundError` names what to check."""
    number = incident_id if isinstance(incident_id, int) else parse_incident_id(incident_id)
    incident = session.get(Incident, number)
    if incident is None or (isinstance(incident_id, str) and not incident_id.isdigit()
                            and public_id(incident, prefix) != incident_id.strip().upper()):
        raise NotFoundError("id", f"No incident {incident_id}.",
                            "check the id (GET /incidents lists the stored ones).")
    return incident


@dataclass(frozen=True, slots=True)
class IncidentFilter:
    """Filters of :func:`list_incidents`; ``None`` means no filter."""

    ids: list[int] | None = None
    community_codes: set[str] | None = None
    squads: set[str] | None = None
    categories: set[str] | None = None
    statuses: set[str] | None = None
    exclude_statuses: set[str] | None = None
    sources: set[str] | None = None
    since: datetime | None = None
    until: datetime | None = None
    time_field: str = "occurred_at"
    bbox: tuple[float, float, float, float] | None = None


def _filtered(session: Session, query: Select[Any], flt: IncidentFilter) -> Select[Any]:
    time_column = getattr(Incident, flt.time_field)
    conditions: list[Any] = []
    if flt.ids is not None:
        conditions.append(Incident.id.in_(flt.ids))
    if flt.community_codes is not None:
        conditions.append(Incident.community_code.in_(sorted(flt.community_codes)))
    if flt.squads is not None:
        conditions.append(or_(Incident.squad.in_(sorted(flt.squads)),
                              Incident.community_squad.in_(sorted(flt.squads))))
    if flt.categories is not None:
        conditions.append(Incident.category.in_(sorted(flt.categories)))
    if flt.statuses is not None:
        conditions.append(Incident.status.in_(sorted(flt.statuses)))
    if flt.exclude_statuses is not None:
        conditions.append(Incident.status.not_in(sorted(flt.exclude_statuses)))
    if flt.sources is not None:
        conditions.append(Incident.source.in_(sorted(flt.sources)))
    if flt.since is not None:
        conditions.append(time_column >= flt.since)
    if flt.until is not None:
        conditions.append(time_column < flt.until)
    if flt.bbox is not None:
        minx, miny, maxx, maxy = flt.bbox
        conditions += [_bbox_clause(session, flt.bbox), Incident.lon.between(minx, maxx),
                       Incident.lat.between(miny, maxy)]
    return query.where(*conditions)


def list_incidents(*, session: Session, filters: IncidentFilter | None = None,
                   limit: int = 100, offset: int = 0) -> tuple[int, list[Incident]]:
    """The total matching ``filters`` and one page of them, newest occurred_at first."""
    flt = filters or IncidentFilter()
    total = session.scalar(_filtered(session, select(func.count(Incident.id)), flt)) or 0
    page = _filtered(session, select(Incident), flt).order_by(
        getattr(Incident, flt.time_field).desc(), Incident.id.desc()).limit(limit).offset(offset)
    return int(total), list(session.scalars(page))
