"""Incidents: report one, list and filter them (JSON or GeoJSON), read one; the categories."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime

from ..auth import service as auth_service
from ..auth.service import Principal, require
from ..core.deps import SessionDep
from ..core.errors import ERROR_RESPONSES, InvalidInputError, errors
from ..core.ratelimit import ThrottleDep
from ..layers import service as layers_service
from ..layers.service import LayerDep
from . import service
from .categories import CATEGORIES, get_category
from .models import CLOSED_STATUSES, OPEN_STATUSES
from .schemas import (
    CategoryRead,
    IncidentCreate,
    IncidentCreated,
    IncidentFeatures,
    IncidentList,
    IncidentRead,
    Source,
    Status,
)
from .service import IntakeDep

__all__ = ["categories_router", "router"]

router = APIRouter(prefix="/incidents", tags=["incidents"], responses=ERROR_RESPONSES)
categories_router = APIRouter(prefix="/categories", tags=["categories"])

GEOJSON = "application/geo+json"


@router.post(
    "",
    status_code=201,
    response_model=IncidentCreated,
    responses={
        200: {
            "model": IncidentCreated,
            "description": "An idempotent replay: the stored incident.",
        },
        **errors(409, 429),
    },
)
def create_incident(
    incident_in: IncidentCreate,
    response: Response,
    session: SessionDep,
    layer: LayerDep,
    intake: IntakeDep,
    throttle: ThrottleDep,
    principal: Annotated[Principal, Depends(require("incidents:create"))],
    idempotency_key: Annotated[
        str | None,
        Header(
            min_length=1,
            max_length=200,
            description="Retry-safe key: a retry with the same key and body "
            "returns the stored incident (200) instead of a copy.",
        ),
    ] = None,
) -> IncidentCreated:
    """Report an incident; the answer carries its resolution and possible duplicates.

    201 when stored now; 200 with the same body when ``Idempotency-Key`` repeats an earlier
    identical request (header ``Idempotent-Replayed: true``). An information officer files
    incidents of their own community only (403 otherwise, and nothing is stored). Over the
    intake rate limit per person or address: 429 with ``Retry-After``.
    """
    throttle.hit(principal.name)
    created, new = service.create_incident(
        session=session,
        incident_in=incident_in,
        actor=principal.name,
        jurisdiction=layer.jurisdiction,
        layer_version_id=layer.version_id,
        params=intake,
        idempotency_key=idempotency_key,
        # Near a boundary, a duplicate may lie next door: not an officer's to see.
        duplicates_in=auth_service.incident_scope(principal).community,
        layer_label=layer.label,
        squad_names=layer.squad_names,
    )
    # Checked after the resolution, inside the unit of work: a refusal rolls it all back.
    auth_service.ensure_community(principal, created.resolution.community_code)
    response.headers["Location"] = f"/incidents/{created.id}"
    if not new:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return created


_BBOX_FIX = "give minlon,minlat,maxlon,maxlat in WGS84 degrees, e.g. 114.10,22.57,114.13,22.58."
_BBOX_NAMES = ("minlon", "minlat", "maxlon", "maxlat")


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    if len(parts) != 4:
        raise InvalidInputError(
            "bbox", f"bbox {text!r} has {len(parts)} value(s), not 4.", _BBOX_FIX
        )
    values = []
    for name, part in zip(_BBOX_NAMES, parts, strict=True):
        try:
            value = float(part)
        except ValueError:
            value = math.nan
        limit = 180.0 if name.endswith("lon") else 90.0
        if not -limit <= value <= limit:  # NaN fails too
            raise InvalidInputError(
                "bbox",
                f"bbox {name} {part.strip()!r} is not a number in [-{limit:g}, {limit:g}].",
                _BBOX_FIX + " Check that lon and lat are not swapped.",
            )
        values.append(value)
    minlon, minlat, maxlon, maxlat = values
    for low, high, what in ((minlon, maxlon, "lon"), (minlat, maxlat, "lat")):
        if low >= high:
            raise InvalidInputError(
                "bbox", f"bbox min{what} {low:g} is not below max{what} {high:g}.", _BBOX_FIX
            )
    return minlon, minlat, maxlon, maxlat


def feature_collection(items: list[IncidentRead]) -> dict[str, Any]:
    """Incidents as a GeoJSON FeatureCollection (WGS84 points)."""
    features = []
    for item in items:
        properties = item.model_dump(mode="json", exclude={"location"})
        features.append(
            {
                "type": "Feature",
                "id": item.id,
                "geometry": {
                    "type": "Point",
                    "coordinates": [item.location.lon, item.location.lat],
                },
                "properties": properties,
            }
        )
    return {"type": "FeatureCollection", "features": features}


@router.get(
    "",
    response_model=IncidentList,
    responses={
        200: {
            "content": {
                GEOJSON: {
                    "schema": IncidentFeatures.model_json_schema(
                        ref_template="#/components/schemas/{model}"
                    )
                }
            }
        }
    },
)
def list_incidents(
    request: Request,
    session: SessionDep,
    intake: IntakeDep,
    principal: Annotated[Principal, Depends(require("incidents:read"))],
    community: Annotated[
        str | None, Query(description="Community code, name or alias (坭岗 and 泥岗 both work).")
    ] = None,
    squad: Annotated[
        str | None,
        Query(
            description="The squad that answers for the incident (on a key road, the road's "
            "squad): code or name."
        ),
    ] = None,
    community_squad: Annotated[
        str | None,
        Query(description="The squad of the community the incident lies in: code or name."),
    ] = None,
    category: Annotated[str | None, Query(description="Category code, e.g. C02.")] = None,
    status: Annotated[
        list[Status] | None, Query(description="One or more statuses (repeat the parameter).")
    ] = None,
    open: Annotated[
        bool | None,
        Query(description="true: only open cases (the dispatch queue); false: only closed ones."),
    ] = None,
    source: Source | None = None,
    since: Annotated[
        AwareDatetime | None, Query(description="occurred_at >= since (ISO 8601 with zone).")
    ] = None,
    until: Annotated[
        AwareDatetime | None, Query(description="occurred_at < until (ISO 8601 with zone).")
    ] = None,
    bbox: Annotated[str | None, Query(description="minlon,minlat,maxlon,maxlat in WGS84.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Annotated[
        Literal["json", "geojson"] | None,
        Query(description="json (default) or geojson; or send Accept: application/geo+json."),
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """List incidents, newest first, filtered; as JSON or a GeoJSON FeatureCollection.

    An information officer sees their community's incidents, a squad leader their squad's."""
    categories = None
    if category is not None:
        try:
            categories = {get_category(category).code}
        except KeyError as exc:
            raise InvalidInputError(
                "category", str(exc.args[0]), "use a code listed by GET /categories."
            ) from None
    statuses: set[str] | None = set(status) if status else None
    if open is False:
        statuses = (statuses or set(CLOSED_STATUSES)) & set(CLOSED_STATUSES)
    elif open is True:
        statuses = (statuses or set(OPEN_STATUSES)) & set(OPEN_STATUSES)
    codes = None
    if community:
        active = layers_service.active_layer_or_none(request, session)
        codes = layers_service.community_codes(
            session, community, lookup=active.community_lookup if active else None
        )
    filters = service.IncidentFilter(
        community_codes=codes,
        squads=layers_service.squad_codes(session, squad) if squad else None,
        community_squads=(
            layers_service.squad_codes(session, community_squad, field="community_squad")
            if community_squad
            else None
        ),
        categories=categories,
        statuses=statuses,
        sources={source} if source else None,
        since=since,
        until=until,
        bbox=_bbox(bbox) if bbox else None,
    )
    scope = auth_service.incident_scope(principal)
    if scope.community is not None:
        filters = replace(
            filters,
            community_codes={scope.community} & codes if codes is not None else {scope.community},
        )
    if scope.squad is not None:
        filters = replace(filters, either_squad=scope.squad)
    total, rows = service.list_incidents(
        session=session, filters=filters, limit=limit, offset=offset
    )
    items = _redacted(
        principal, service.incident_reads(session=session, incidents=rows, prefix=intake.id_prefix)
    )
    if format == "geojson" or (format is None and accept and GEOJSON in accept):
        return JSONResponse(
            {**feature_collection(items), "total": total, "limit": limit, "offset": offset},
            media_type=GEOJSON,
        )
    return IncidentList(total=total, limit=limit, offset=offset, items=items)


@router.get("/{incident_id}", response_model=IncidentRead, responses=errors(404))
def read_incident(
    incident_id: str,
    session: SessionDep,
    intake: IntakeDep,
    principal: Annotated[Principal, Depends(require("incidents:read"))],
) -> IncidentRead:
    """One incident by its public id (QSH-2026-000123) or number (404 outside one's scope)."""
    incident = service.get_visible_incident(
        session, principal, incident_id, prefix=intake.id_prefix
    )
    reads = service.incident_reads(session=session, incidents=[incident], prefix=intake.id_prefix)
    return _redacted(principal, reads)[0]


def _redacted(principal: Principal, items: list[IncidentRead]) -> list[IncidentRead]:
    """Who reported is for the roles that act on reports only."""
    if auth_service.can_read_reporter(principal):
        return items
    return [i.model_copy(update={"reporter": None}) for i in items]


@categories_router.get("", response_model=list[CategoryRead])
def list_categories(
    _principal: Annotated[Principal, Depends(require("reference:read"))],
) -> list[CategoryRead]:
    """The 21 enforcement categories of the plan."""
    return [CategoryRead.model_validate(c, from_attributes=True) for c in CATEGORIES]
