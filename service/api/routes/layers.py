"""Layer versions: list them, show the active one with its features, activate another."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from fastapi import APIRouter

from ... import layerstore
from ...models import LayerVersion
from ...schemas import ActiveLayerRead, ErrorResponse, LayerVersionRead
from ..deps import ActorDep, LayerDep, SessionDep

__all__ = ["router"]

router = APIRouter(prefix="/layers", tags=["layers"])


def _read(version: LayerVersion) -> LayerVersionRead:
    warnings = version.metadata_.get("warnings", [])
    return LayerVersionRead(
        id=version.id, label=version.label, name=version.name, version=version.version,
        title=version.title, active=version.active, created_at=version.created_at,
        created_by=version.created_by, activated_at=version.activated_at,
        activated_by=version.activated_by,
        warnings=[str(w) for w in warnings] if isinstance(warnings, list) else [])


def _geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    result: dict[str, Any] = frame.to_geo_dict(na="null", drop_id=True)
    return result


@router.get("")
def list_layer_versions(session: SessionDep) -> list[LayerVersionRead]:
    """Every stored layer version, oldest first; one is active."""
    return [_read(v) for v in layerstore.list_versions(session)]


@router.get("/active", responses={503: {"model": ErrorResponse}})
def read_active_layer(session: SessionDep, layer: LayerDep) -> ActiveLayerRead:
    """The active version with its communities, key roads and stations as GeoJSON."""
    pack = layer.pack
    return ActiveLayerRead(
        **_read(layerstore.get_version(session, layer.version_id)).model_dump(),
        squads=pack.squads.astype(object).where(pack.squads.notna(), None).to_dict("records"),
        communities=_geojson(pack.communities), key_roads=_geojson(pack.key_roads),
        stations=_geojson(pack.stations))


@router.post("/{label}/activate", responses={404: {"model": ErrorResponse}})
def activate_layer_version(label: str, session: SessionDep, actor: ActorDep
                           ) -> LayerVersionRead:
    """Make a version active. New incidents resolve against it; stored ones keep theirs."""
    version = layerstore.activate_version(session, label, actor=actor or "anonymous")
    session.commit()
    return _read(version)
