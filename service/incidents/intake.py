"""Intake: create incidents, one (a live report) or in bulk (imported history), and the
possible duplicates a create answers with.

Idempotency: a create with an ``Idempotency-Key`` stores the key and a fingerprint (SHA-256 of the
validated input and the actor) in the incident's own row, so the incident, its audit row and its
key commit together or not at all. A retry with the same key and the same input gets the stored
incident back (``created`` is False); with other input it is refused, naming the key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import numpy as np
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geo import crs as geocrs
from geo.errors import OutsideJurisdictionError
from geo.jurisdiction import Jurisdiction

from ..core.audit import record
from ..core.errors import ConflictError, InvalidInputError
from ..core.timezones import BEIJING
from . import store
from .models import Incident
from .reads import LayerNames, as_utc, incident_read, load_names, public_id
from .schemas import DuplicateCandidate, IncidentCreate, IncidentCreated

__all__ = [
    "IntakeParams",
    "create_incident",
    "create_incidents_bulk",
    "find_duplicates",
    "request_fingerprint",
]

# A report may be stamped a little ahead of the server's clock; beyond this it is a wrong zone.
_CLOCK_SKEW: Final = timedelta(minutes=10)


@dataclass(frozen=True, slots=True)
class IntakeParams:
    """Settings that govern intake: the public id prefix and the duplicate rule."""

    id_prefix: str = "QSH"
    duplicate_radius_m: float = 50.0
    duplicate_window_hours: float = 24.0
    duplicate_limit: int = 5


def request_fingerprint(payload: Mapping[str, Any], actor: str) -> str:
    """SHA-256 of a request's fields and its actor: what an idempotent retry must repeat."""
    canonical = json.dumps(
        {"input": payload, "actor": actor},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# -- duplicates -----------------------------------------------------------------------------


def find_duplicates(
    *, session: Session, incident: Incident, params: IntakeParams, community: str | None = None
) -> tuple[list[DuplicateCandidate], int]:
    """The nearest ``duplicate_limit`` open incidents of the same category, reported before
    this one, within ``duplicate_radius_m`` (EPSG:4547 metres) and ``duplicate_window_hours``
    of occurred_at (in ``community`` only, when given), and how many there are in all."""
    window = timedelta(hours=params.duplicate_window_hours)
    rows = store.open_before(
        session,
        incident,
        window=window,
        bbox=geocrs.degree_box(incident.lon, incident.lat, params.duplicate_radius_m),
        community=community,
    )
    if not rows:
        return [], 0
    x0, y0 = geocrs.to_metric([incident.lon], [incident.lat])
    xs, ys = geocrs.to_metric([r.lon for r in rows], [r.lat for r in rows])
    distances = np.hypot(xs - x0[0], ys - y0[0])
    within = np.flatnonzero(distances <= params.duplicate_radius_m)
    # Nearest first, then the older report (the smaller id) of two at one distance.
    nearest = sorted(within, key=lambda i: (round(float(distances[i]), 1), rows[i].id))
    found = [
        DuplicateCandidate(
            id=public_id(rows[i], prefix=params.id_prefix),
            category=rows[i].category,
            status=rows[i].status,
            occurred_at=as_utc(rows[i].occurred_at),
            distance_m=round(float(distances[i]), 1),
            hours_apart=round(
                abs((rows[i].occurred_at - incident.occurred_at).total_seconds()) / 3600.0, 2
            ),
            community_code=rows[i].community_code,
        )
        for i in nearest[: params.duplicate_limit]
    ]
    return found, len(within)


# -- create ---------------------------------------------------------------------------------
#
# One row builder and one time check serve both creates. They differ, on purpose, in one default:
# a missing ``reported_at`` is the receive time for a live report (create_incident), and
# ``occurred_at`` for imported history (create_incidents_bulk), which has no receive time of its
# own.


def _to_wgs84(location_lon: float, location_lat: float, crs: str) -> tuple[float, float]:
    lon, lat = geocrs.to_wgs84([location_lon], [location_lat], source=crs)
    return float(lon[0]), float(lat[0])


def _outside_error(
    jurisdiction: Jurisdiction,
    lon: float,
    lat: float,
    resolved: Mapping[Any, Any],
    crs: str,
    *,
    subject: str = "The point",
) -> OutsideJurisdictionError:
    """What is outside, how far, and the nearest community; the API answers it as a 422 on
    the field ``location`` with the fix (:mod:`service.core.errors`)."""
    code = resolved.get("nearest_community_code")
    names = dict(zip(jurisdiction.codes, jurisdiction.names, strict=True))
    name = names.get(code, code)
    distance = resolved.get("outside_m")
    how_far = f"{distance:,.0f} m" if isinstance(distance, float) else "far"
    hint = ""
    if -90.0 <= lon <= 90.0 and not jurisdiction.resolve_one(lat, lon)["outside"]:
        hint = " Swapping lon and lat puts it inside: lon and lat look swapped."
    return OutsideJurisdictionError(
        f"{subject} ({lon:.6f}, {lat:.6f} WGS84, declared {crs}) is {how_far} outside the "
        f"jurisdiction; the nearest community is {name} ({code}).{hint}"
    )


def _check_times(
    occurred_at: datetime, reported_at: datetime, received_at: datetime, *, where: str = ""
) -> None:
    """Refuse times ahead of the server's clock (beyond a little skew): a wrong zone."""
    for name, value in (("occurred_at", occurred_at), ("reported_at", reported_at)):
        if value > received_at + _CLOCK_SKEW:
            raise InvalidInputError(
                f"{where}{name}",
                f"{where}{name} {value.isoformat()} is in the future (server "
                f"time {received_at.astimezone(BEIJING).isoformat()}).",
                "check the time zone: Beijing time is +08:00.",
            )


def _resolution_columns(resolved: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        key: resolved[key]
        for key in (
            "community_code",
            "community_name",
            "community_squad",
            "squad",
            "key_road_id",
            "key_road_name",
            "key_road_m",
            "boundary_m",
            "nearest_community_code",
        )
    }


def _row(
    item: IncidentCreate,
    lon: float,
    lat: float,
    resolved: Mapping[Any, Any],
    *,
    reported_at: datetime,
    received_at: datetime,
    layer_version_id: int,
    actor: str,
) -> dict[str, Any]:
    """The incidents row of a resolved report (inside the jurisdiction), both creates alike."""
    x, y = float(lon), float(lat)
    loc = item.location
    return {
        "category": item.category,
        "description": item.description,
        "photo_urls": [str(u) for u in item.photo_urls],
        "address": item.address,
        "lon": x,
        "lat": y,
        "geom": f"SRID=4326;POINT({x!r} {y!r})",
        "input_crs": loc.crs,
        "input_lon": loc.lon,
        "input_lat": loc.lat,
        "occurred_at": item.occurred_at,
        "reported_at": reported_at,
        "received_at": received_at,
        "updated_at": received_at,
        "source": item.source,
        "reporter": item.reporter,
        "urgent": item.urgent,
        "status": "reported",
        "layer_version_id": layer_version_id,
        **_resolution_columns(resolved),
        "near_boundary": bool(resolved["near_boundary"]),
        "outside": False,
        "created_by": actor,
    }


def create_incident(
    *,
    session: Session,
    incident_in: IncidentCreate,
    actor: str,
    jurisdiction: Jurisdiction,
    layer_version_id: int,
    params: IntakeParams | None = None,
    idempotency_key: str | None = None,
    fingerprint: str | None = None,
    duplicates_in: str | None = None,
    layer_label: str | None = None,
    squad_names: Mapping[str, str] | None = None,
) -> tuple[IncidentCreated, bool]:
    """Resolve and store one incident with its audit row, in the caller's unit of work.

    A missing ``reported_at`` is the receive time. Returns the stored incident with possible
    duplicates, and whether it was created now (False for an idempotent replay).
    ``fingerprint`` identifies the request for idempotency (default: the validated input and
    the actor; give one when the input holds server-made values, such as Open311's receive
    time). Raises :class:`geo.errors.OutsideJurisdictionError` for a point outside the
    jurisdiction, :class:`InvalidInputError` for a time in the future, :class:`ConflictError`
    for a reused key. ``duplicates_in`` limits the possible duplicates to one community (what
    an information officer may see). ``layer_label`` and ``squad_names`` (code to Chinese
    name) of the layer version, when the caller has them, spare the answer two queries.
    """
    params = params or IntakeParams()
    if fingerprint is None:
        fingerprint = request_fingerprint(
            incident_in.model_dump(mode="json", exclude={"actor"}), actor
        )
    if idempotency_key is not None:
        replay = _replay(session, idempotency_key, fingerprint, params, duplicates_in)
        if replay is not None:
            return replay, False

    received_at = datetime.now(UTC)
    loc = incident_in.location
    lon, lat = _to_wgs84(loc.lon, loc.lat, loc.crs)
    resolved = jurisdiction.resolve_one(lon, lat)
    if resolved["outside"]:
        raise _outside_error(jurisdiction, lon, lat, resolved, loc.crs)
    reported_at = incident_in.reported_at or received_at
    _check_times(incident_in.occurred_at, reported_at, received_at)

    incident = Incident(
        **_row(
            incident_in,
            lon,
            lat,
            resolved,
            reported_at=reported_at,
            received_at=received_at,
            layer_version_id=layer_version_id,
            actor=actor,
        ),
        idempotency_key=idempotency_key,
        request_fingerprint=fingerprint if idempotency_key is not None else None,
    )
    if idempotency_key is None:
        session.add(incident)
        session.flush()
    else:
        try:
            # A savepoint: when the key's unique index refuses the row, only it is undone and
            # the unit of work carries on to answer with the stored incident.
            with session.begin_nested():
                session.add(incident)
                session.flush()
        except IntegrityError as exc:
            # A concurrent request with the same key won the race: answer as its replay.
            if not store.is_idempotency_conflict(exc):
                raise
            replay = _replay(session, idempotency_key, fingerprint, params, duplicates_in)
            if replay is None:
                raise
            return replay, False
    record(
        session,
        actor=actor,
        action="create",
        entity="incident",
        entity_id=incident.id,
        after={
            "category": incident.category,
            "source": incident.source,
            "status": incident.status,
            "urgent": incident.urgent,
            "community": incident.community_code,
            "squad": incident.squad,
            "lon": incident.lon,
            "lat": incident.lat,
        },
        detail={"idempotency_key": idempotency_key},
    )
    known = None
    if layer_label is not None and squad_names is not None:
        known = LayerNames(
            {layer_version_id: layer_label},
            {(layer_version_id, code): name for code, name in squad_names.items()},
        )
    return _created(session, incident, params, duplicates_in, known=known), True


def _created(
    session: Session,
    incident: Incident,
    params: IntakeParams,
    duplicates_in: str | None,
    *,
    known: LayerNames | None = None,
) -> IncidentCreated:
    names = known or load_names(session, {incident.layer_version_id})
    read = incident_read(incident, names, params.id_prefix)
    nearest, total = find_duplicates(
        session=session, incident=incident, params=params, community=duplicates_in
    )
    return IncidentCreated(
        **read.model_dump(), possible_duplicates=nearest, possible_duplicates_total=total
    )


def _replay(
    session: Session,
    key: str,
    fingerprint: str,
    params: IntakeParams,
    duplicates_in: str | None,
) -> IncidentCreated | None:
    stored = store.by_idempotency_key(session, key)
    if stored is None:
        return None
    if stored.request_fingerprint != fingerprint:
        raise ConflictError(
            "Idempotency-Key",
            f"Idempotency-Key {key!r} was already used for incident "
            f"{public_id(stored, prefix=params.id_prefix)} with a different request.",
            "send a new key for a new report; reuse a key only to retry the identical request.",
        )
    return _created(session, stored, params, duplicates_in)


def create_incidents_bulk(
    *,
    session: Session,
    items: list[IncidentCreate],
    actor: str,
    jurisdiction: Jurisdiction,
    layer_version_id: int,
) -> int:
    """Resolve ``items`` in one vectorised call and insert them in the caller's transaction.

    For imported history (the demo month, a migration): a missing ``reported_at`` is the item's
    ``occurred_at``, not the receive time. The same checks as :func:`create_incident` apply,
    all or nothing, before anything is written: a point outside the jurisdiction raises
    :class:`geo.errors.OutsideJurisdictionError` naming the first such item, a time in the
    future :class:`InvalidInputError` naming it (``items[3].occurred_at``). One audit row
    records the count and the first and last id. Returns the number inserted. The caller
    commits (e.g. with :func:`service.core.db.unit_of_work`).
    """
    if not items:
        return 0
    lon = np.empty(len(items))
    lat = np.empty(len(items))
    by_crs: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        by_crs.setdefault(item.location.crs, []).append(i)
    for crs, index in by_crs.items():
        lon[index], lat[index] = geocrs.to_wgs84(
            [items[i].location.lon for i in index],
            [items[i].location.lat for i in index],
            source=crs,
        )
    frame = jurisdiction.resolve(lon, lat)
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    outside = np.flatnonzero(frame["outside"].to_numpy())
    if len(outside):
        first = int(outside[0])
        raise _outside_error(
            jurisdiction,
            float(lon[first]),
            float(lat[first]),
            records[first],
            items[first].location.crs,
            subject=f"{len(outside)} of {len(items)} points lie outside the jurisdiction and "
            f"nothing was stored. The first, items[{first}].location",
        )
    received_at = datetime.now(UTC)
    rows = []
    for i, (item, resolved) in enumerate(zip(items, records, strict=True)):
        reported_at = item.reported_at or item.occurred_at
        _check_times(item.occurred_at, reported_at, received_at, where=f"items[{i}].")
        rows.append(
            _row(
                item,
                lon[i],
                lat[i],
                resolved,
                reported_at=reported_at,
                received_at=received_at,
                layer_version_id=layer_version_id,
                actor=actor,
            )
        )
    ids = store.insert_many(session, rows)
    record(
        session,
        actor=actor,
        action="bulk_create",
        entity="incident",
        entity_id=f"{ids[0]}..{ids[-1]}",
        detail={
            "count": len(ids),
            "first_id": ids[0],
            "last_id": ids[-1],
            "layer_version_id": layer_version_id,
        },
    )
    session.flush()
    return len(ids)
