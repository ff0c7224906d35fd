"""Request and response models of incidents and the categories.

Times carry a zone (``2026-11-27T09:30:00+08:00``); naive times are refused. Locations follow
:class:`service.core.schemas.Location` (declared crs, finite coordinates, no unknown fields).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, HttpUrl, ValidationInfo, field_validator

from ..core.schemas import Input, Location, LocationRead, ShortText
from .categories import get_category
from .models import INCIDENT_SOURCES, INCIDENT_STATUSES

__all__ = [
    "CategoryRead",
    "DuplicateCandidate",
    "IncidentCreate",
    "IncidentCreated",
    "IncidentFeatures",
    "IncidentList",
    "IncidentRead",
    "Resolution",
    "Source",
    "Status",
]

Source = Literal["daily_inspection", "complaint", "special_inspection", "patrol"]
Status = Literal[
    "reported",
    "accepted",
    "filed",
    "dispatched",
    "on_scene",
    "in_progress",
    "handled",
    "verified_closed",
    "closed",
    "rejected",
    "duplicate",
    "parked",
    "on_hold",
]
assert set(Source.__args__) == set(INCIDENT_SOURCES)  # type: ignore[attr-defined]
assert set(Status.__args__) == set(INCIDENT_STATUSES)  # type: ignore[attr-defined]


class IncidentCreate(Input):
    """A new incident report."""

    category: str = Field(description="Category code C01..C21 (see GET /categories).")
    location: Location
    occurred_at: AwareDatetime = Field(description="When the problem was seen, with zone.")
    reported_at: AwareDatetime | None = Field(
        None, description="When it was reported, with zone; default: when received."
    )
    source: Source
    reporter: ShortText | None = Field(
        None,
        description="Information group (info-group:440303010002) or reporter id; "
        "no personal names.",
    )
    urgent: bool = False
    description: str = Field("", max_length=5000)
    photo_urls: list[HttpUrl] = Field(default_factory=list, max_length=20)
    address: str | None = Field(None, max_length=500)

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        try:
            return get_category(value).code
        except KeyError as exc:
            raise ValueError(str(exc.args[0]) if exc.args else str(exc)) from None

    @field_validator("reported_at")
    @classmethod
    def _reported_after_occurred(
        cls, value: datetime | None, info: ValidationInfo
    ) -> datetime | None:
        occurred_at = info.data.get("occurred_at")  # absent when it failed validation itself
        if value is not None and occurred_at is not None and occurred_at > value:
            msg = (
                f"reported_at ({value.isoformat()}) is before occurred_at "
                f"({occurred_at.isoformat()}): a problem is reported after it is seen."
            )
            raise ValueError(msg)
        return value


class Resolution(BaseModel):
    """Who answers for a point: community, squad, key road, and how sure the answer is."""

    layer_version: str
    community_code: str
    community_name: str
    community_squad: str
    squad: str
    squad_name: str | None = None
    key_road_id: str | None = None
    key_road_name: str | None = None
    key_road_m: float | None = None
    boundary_m: float | None = Field(
        None, description="Distance to the nearest community boundary (null beyond 100 m)."
    )
    near_boundary: bool = False


class DuplicateCandidate(BaseModel):
    """An open incident of the same category, near in space and time."""

    id: str
    category: str
    status: str
    occurred_at: datetime
    distance_m: float
    hours_apart: float
    community_code: str


class IncidentRead(BaseModel):
    """A stored incident with its stored resolution."""

    id: str = Field(description="Public id, e.g. QSH-2026-000123.")
    number: int = Field(description="Database id; GET /incidents/{number} works too.")
    category: str
    category_name: str
    location: LocationRead
    input_location: LocationRead
    occurred_at: datetime
    reported_at: datetime
    received_at: datetime
    updated_at: datetime
    source: str
    reporter: str | None
    urgent: bool
    description: str
    photo_urls: list[str]
    address: str | None
    status: str
    resolution: Resolution
    flags: list[str] = Field(description="urgent, near_boundary, on_key_road.")
    created_by: str


class IncidentCreated(IncidentRead):
    """The response to a new incident: the incident plus its nearest possible duplicates."""

    possible_duplicates: list[DuplicateCandidate] = Field(
        description="The nearest open reports of the same category within the duplicate "
        "radius and window (JIEDAO_DUPLICATE_LIMIT of them at most, nearest first)."
    )
    possible_duplicates_total: int = Field(description="How many such reports there are in all.")


class IncidentList(BaseModel):
    """A page of incidents, newest first."""

    total: int
    limit: int
    offset: int
    items: list[IncidentRead]


class CategoryRead(BaseModel):
    """One of the 21 enforcement categories."""

    code: str
    number: int
    name_zh: str
    name_en: str
    lead_department: str
    time_limit_hours: float
    gbt_major: str | None
    gbt_minor: str | None
    keywords: list[str]
    urgent_by_default: bool


class IncidentFeatures(BaseModel):
    """A page of incidents as a GeoJSON FeatureCollection (``format=geojson``)."""

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]
    total: int
    limit: int
    offset: int
