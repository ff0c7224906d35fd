"""Response models of the layers domain: layer versions and point resolution."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from ..core.schemas import LocationRead

__all__ = ["ActiveLayerRead", "LayerVersionRead", "ResolveResult"]


class ResolveResult(BaseModel):
    """The resolution of a point, without storing anything."""

    input_location: LocationRead
    location: LocationRead
    layer_version: str
    outside: bool
    community_code: str | None
    community_name: str | None
    community_squad: str | None
    squad: str | None
    squad_name: str | None
    key_road_id: str | None
    key_road_name: str | None
    key_road_m: float | None
    boundary_m: float | None
    near_boundary: bool
    nearest_community_code: str | None
    outside_m: float | None


class LayerVersionRead(BaseModel):
    """A stored layer version."""

    id: int
    label: str
    name: str
    version: str
    title: str | None
    active: bool
    created_at: datetime
    created_by: str
    activated_at: datetime | None
    activated_by: str | None
    warnings: list[str] = Field(default_factory=list)


class ActiveLayerRead(LayerVersionRead):
    """The active layer version with its features as GeoJSON FeatureCollections."""

    squads: list[dict[str, Any]]
    communities: dict[str, Any]
    key_roads: dict[str, Any]
    stations: dict[str, Any]
