"""Incidents: report one, list and filter them (JSON or GeoJSON), read one; the categories."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from ... import crud, layerstore
from ...categories import CATEGORIES, get_category
from ...crud.errors import InvalidInputError
from ...schemas import (
    CategoryRead,
    ErrorResponse,
    IncidentCreate,
    IncidentCreated,
    IncidentList,
    IncidentRead,
    Source,
    Status,
)
from ..deps import ActorDep, IntakeDep, LayerDep, SessionDep

__all__ = ["categories_router", "router"]

router = APIRouter(prefix="/incidents", tags=["incidents"])
categories_router = APIRouter(prefix="/categories", tags=["categories"])

GEOJSON = "application/geo+json"
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (404, 409, 413, 422, 503)}


@router.post("", status_code=201, responses=_ERRORS)
def create_incident(incident_in: IncidentCreate, response: Response, session: SessionDep,
                    layer: LayerDep, intake: IntakeDep, actor: ActorDep,
                    idempotency_key: Annotated[str | None, Header(
                        min_length=1, max_length=200,
                        description="Retry-safe key: a retry with the same key and body "
                                    "returns the stored incident (200) instead of a copy."
                    )] = None) -> IncidentCreated:
    """Report an incident; the answer carries its resolution and possible duplicates.

    201 when stored now; 200 with the same body when ``Idempotency-Key`` repeats an earlier
    identical request (header ``Idempotent-Replayed: true``).
    """
    created, new = crud.create_incident(
        session=session, incident_in=incident_in,
        actor=actor or incident_in.actor or "anonymous", jurisdiction=layer.jurisdiction,
        layer_version_id=layer.version_id, params=intake, idempotency_key=idempotency_key)
    response.headers["Location"] = f"/incidents/{created.id}"
    if not new:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return created


def _bbox(text: str) -> tuple[float, float, float, float]:
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        values = []
    if (len(values) != 4 or not all(abs(v) < 1e3 for v in values)
            or values[0] > values[2] or values[1] > values[3]):
        raise InvalidInputError("bbox", f"bbox {text!r} is not minlon,minlat,maxlon,maxlat.",
                                "give four WGS84 numbers, e.g. 114.10,22.57,114.13,22.58.")
    return values[0], values[1], values[2], values[3]


def feature_collection(items: list[IncidentRead]) -> dict[str, Any]:
    """Incidents as a GeoJSON FeatureCollection (WGS84 points)."""
    features = []
    for item in items:
        properties = item.model_dump(mode="json", exclude={"location"})
        features.append({"type": "Feature", "id": item.id,
                         "geometry": {"type": "Point",
                                      "coordinates": [item.location.lon, item.location.lat]},
                         "properties": properties})
    return {"type": "FeatureCollection", "features": features}


@router.get("", responses={200: {"content": {GEOJSON: {}}}, **_ERRORS})
def list_incidents(
        session: SessionDep, intake: IntakeDep,
        community: Annotated[str | None, Query(
            description="Community code, name or alias (坭岗 and 泥岗 both work).")] = None,
        squad: Annotated[str | None, Query(description="Squad code or name.")] = None,
        category: Annotated[str | None, Query(description="Category code, e.g. C02.")] = None,
        status: Status | None = None, source: Source | None = None,
        since: Annotated[AwareDatetime | None, Query(
            description="occurred_at >= since (ISO 8601 with zone).")] = None,
        until: Annotated[AwareDatetime | None, Query(
            description="occurred_at < until (ISO 8601 with zone).")] = None,
        bbox: Annotated[str | None, Query(
            description="minlon,minlat,maxlon,maxlat in WGS84.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
        format: Annotated[Literal["json", "geojson"] | None, Query(
            description="json (default) or geojson; or send Accept: application/geo+json."
        )] = None,
        accept: Annotated[str | None, Header()] = None) -> Any:
    """List incidents, newest first, filtered; as JSON or a GeoJSON FeatureCollection."""
    categories = None
    if category is not None:
        try:
            categories = {get_category(category).code}
        except KeyError as exc:
            raise InvalidInputError("category", str(exc.args[0]),
                                    "use a code listed by GET /categories.") from None
    filters = crud.IncidentFilter(
        community_codes=layerstore.community_codes(session, community) if community else None,
        squads=layerstore.squad_codes(session, squad) if squad else None,
        categories=categories, statuses={status} if status else None,
        sources={source} if source else None, since=since, until=until,
        bbox=_bbox(bbox) if bbox else None)
    total, rows = crud.list_incidents(session=session, filters=filters, limit=limit,
                                      offset=offset)
    items = crud.incident_reads(session, rows, prefix=intake.id_prefix)
    if format == "geojson" or (format is None and accept and GEOJSON in accept):
        return JSONResponse({**feature_collection(items), "total": total, "limit": limit,
                             "offset": offset}, media_type=GEOJSON)
    return IncidentList(total=total, limit=limit, offset=offset, items=items)


@router.get("/{incident_id}", responses=_ERRORS)
def read_incident(incident_id: str, session: SessionDep, intake: IntakeDep) -> IncidentRead:
    """One incident by its public id (QSH-2026-000123) or number."""
    incident = crud.get_incident(session=session, incident_id=incident_id,
                                 prefix=intake.id_prefix)
    return crud.incident_reads(session, [incident], prefix=intake.id_prefix)[0]


@categories_router.get("")
def list_categories() -> list[CategoryRead]:
    """The 21 enforcement categories of the plan."""
    return [CategoryRead(code=c.code, number=c.number, name_zh=c.name_zh, name_en=c.name_en,
                         lead_department=c.lead_department,
                         time_limit_hours=c.time_limit_hours, gbt_major=c.gbt_major,
                         gbt_minor=c.gbt_minor, keywords=list(c.keywords),
                         urgent_by_default=c.urgent_by_default) for c in CATEGORIES]
