"""Layer versions: list them, show the active one with its features, activate another; and
resolve a point to its community, squad and key road without storing anything."""

from __future__ import annotations

from typing import Annotated, Any

import geopandas as gpd
from fastapi import APIRouter, Depends, Query

from ..auth.service import Principal, allow, require
from ..core.deps import SessionDep
from ..core.errors import ERROR_RESPONSES, errors
from . import service
from .models import LayerVersion
from .schemas import ActiveLayerRead, LayerVersionRead, ResolveResult
from .service import LayerDep

__all__ = ["resolve_router", "router"]

router = APIRouter(prefix="/layers", tags=["layers"], responses=ERROR_RESPONSES)
resolve_router = APIRouter(prefix="/resolve", tags=["jurisdiction"], responses=ERROR_RESPONSES)


def _read(version: LayerVersion) -> LayerVersionRead:
    warnings = version.metadata_.get("warnings", [])
    return LayerVersionRead(
        id=version.id,
        label=version.label,
        name=version.name,
        version=version.version,
        title=version.title,
        active=version.active,
        created_at=version.created_at,
        created_by=version.created_by,
        activated_at=version.activated_at,
        activated_by=version.activated_by,
        warnings=[str(w) for w in warnings] if isinstance(warnings, list) else [],
    )


def _geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    result: dict[str, Any] = frame.to_geo_dict(na="null", drop_id=True)
    return result


@router.get("", response_model=list[LayerVersionRead], dependencies=[allow("reference:read")])
def list_layer_versions(session: SessionDep) -> list[LayerVersionRead]:
    """Every stored layer version, oldest first; one is active."""
    return [_read(v) for v in service.list_versions(session)]


@router.get("/active", response_model=ActiveLayerRead, dependencies=[allow("reference:read")])
def read_active_layer(session: SessionDep, layer: LayerDep) -> ActiveLayerRead:
    """The active version with its communities, key roads and stations as GeoJSON."""
    pack = layer.pack
    return ActiveLayerRead(
        **_read(service.get_version(session, layer.version_id)).model_dump(),
        squads=pack.squads.astype(object).where(pack.squads.notna(), None).to_dict("records"),
        communities=_geojson(pack.communities),
        key_roads=_geojson(pack.key_roads),
        stations=_geojson(pack.stations),
    )


@router.post("/{label}/activate", response_model=LayerVersionRead, responses=errors(404))
def activate_layer_version(
    label: str,
    session: SessionDep,
    principal: Annotated[Principal, Depends(require("layers:write"))],
) -> LayerVersionRead:
    """Make a version active. New incidents resolve against it; stored ones keep theirs."""
    return _read(service.activate_version(session, label, actor=principal.name))


@resolve_router.get("", response_model=ResolveResult, dependencies=[allow("reference:read")])
def resolve_point(
    layer: LayerDep,
    lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
    lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
    crs: Annotated[str, Query(description="wgs84, gcj02 or bd09.")] = "wgs84",
) -> ResolveResult:
    """Who answers for a point: community, squad, key road, distance to the boundary."""
    return service.resolve_point(layer, lon=lon, lat=lat, crs=crs)
