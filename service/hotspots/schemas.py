"""Response models of the hot-spot analysis (the cells are GeoJSON, see
:class:`service.core.schemas.FeatureCollection`)."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["CampaignTargetRead"]


class CampaignTargetRead(BaseModel):
    """One campaign target (集中整治): a hot cell, its categories, trend and whereabouts."""

    rank: int
    cell_id: str
    lon: float
    lat: float
    bounds: tuple[float, float, float, float] = Field(description="WGS84 west, south, east, north.")
    count: int
    categories: list[tuple[str, int]] = Field(description="Up to three (code, count).")
    gi_bin: int
    gi_z: float
    gi_p_fdr: float
    trend: str
    previous_count: float | None
    change: float | None
    community_code: str
    community_name: str
    squad: str
    key_road: str
    key_road_m: float | None
    place: str
    place_m: float | None
    where: str = Field(description="The target in words, for a briefing.")
