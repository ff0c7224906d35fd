"""Resolve a point to its community, squad and key road without storing anything."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from geo import crs as geocrs

from ...schemas import ErrorResponse, LocationRead, ResolveResult
from ..deps import LayerDep

__all__ = ["router"]

router = APIRouter(prefix="/resolve", tags=["jurisdiction"])


@router.get("", responses={422: {"model": ErrorResponse}, 503: {"model": ErrorResponse}})
def resolve_point(
        layer: LayerDep,
        lon: Annotated[float, Query(ge=-180, le=180, allow_inf_nan=False)],
        lat: Annotated[float, Query(ge=-90, le=90, allow_inf_nan=False)],
        crs: Annotated[str, Query(description="wgs84, gcj02 or bd09.")] = "wgs84",
) -> ResolveResult:
    """Who answers for a point: community, squad, key road, distance to the boundary."""
    system = geocrs.parse_crs(crs)
    wlon, wlat = geocrs.to_wgs84([lon], [lat], source=system)
    resolved = layer.jurisdiction.resolve_one(float(wlon[0]), float(wlat[0]))
    squad = resolved["squad"]
    return ResolveResult.model_validate({
        **resolved,
        "input_location": LocationRead(lon=lon, lat=lat, crs=system),
        "location": LocationRead(lon=float(wlon[0]), lat=float(wlat[0])),
        "layer_version": layer.label,
        "squad_name": layer.squad_names.get(str(squad)) if squad else None})
