"""API schemas (Pydantic), apart from the ORM models; :mod:`service.crud` converts between them.

Input rules worth knowing:

- coordinates are finite numbers in range; NaN and Infinity are refused even though Python's
  JSON parser accepts them;
- ``crs`` is declared per location (``wgs84``, ``gcj02`` for Amap/Tencent, ``bd09`` for Baidu);
- times carry a zone (``2026-11-27T09:30:00+08:00``); naive times are refused;
- unknown fields are refused, so a typo such as ``lng`` is reported instead of ignored.
"""

from __future__ import annotations

from datetime import date as date_type
from datetime import datetime, time
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationInfo,
    field_validator,
    model_validator,
)

from geo.crs import parse_crs
from geo.errors import UnknownCRSError

from .categories import get_category
from .models import INCIDENT_SOURCES, INCIDENT_STATUSES

__all__ = [
    "ActiveLayerRead",
    "CategoryRead",
    "DuplicateCandidate",
    "ErrorItem",
    "ErrorResponse",
    "IncidentCreate",
    "IncidentCreated",
    "IncidentList",
    "IncidentRead",
    "LayerVersionRead",
    "Location",
    "LocationRead",
    "Resolution",
    "ResolveResult",
]

Source = Literal["daily_inspection", "complaint", "special_inspection", "patrol"]
Status = Literal["reported", "accepted", "filed", "dispatched", "on_scene", "in_progress",
                 "handled", "verified_closed", "closed", "rejected", "duplicate", "parked",
                 "on_hold"]
assert set(Source.__args__) == set(INCIDENT_SOURCES)  # type: ignore[attr-defined]
assert set(Status.__args__) == set(INCIDENT_STATUSES)  # type: ignore[attr-defined]

Longitude = Annotated[float, Field(ge=-180.0, le=180.0, allow_inf_nan=False,
                                   description="Degrees east, in the declared crs.")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, allow_inf_nan=False,
                                  description="Degrees north, in the declared crs.")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(_Input):
    """A point as submitted, with its declared coordinate system."""

    lon: Longitude
    lat: Latitude
    crs: str = Field("wgs84", description="wgs84 (GPS), gcj02 (Amap, Tencent) or bd09 (Baidu).")

    @field_validator("crs")
    @classmethod
    def _known_crs(cls, value: str) -> str:
        try:
            return parse_crs(value)
        except UnknownCRSError as exc:
            raise ValueError(str(exc)) from None


class IncidentCreate(_Input):
    """A new incident report."""

    category: str = Field(description="Category code C01..C21 (see GET /categories).")
    location: Location
    occurred_at: AwareDatetime = Field(description="When the problem was seen, with zone.")
    reported_at: AwareDatetime | None = Field(
        None, description="When it was reported, with zone; default: when received.")
    source: Source
    reporter: ShortText | None = Field(
        None, description="Information group (info-group:440303010002) or reporter id; "
                          "no personal names.")
    urgent: bool = False
    description: str = Field("", max_length=5000)
    photo_urls: list[HttpUrl] = Field(default_factory=list, max_length=20)
    address: str | None = Field(None, max_length=500)
    actor: ShortText | None = Field(
        None, description="Who makes this write; the X-Actor header takes precedence.")

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str) -> str:
        try:
            return get_category(value).code
        except KeyError as exc:
            raise ValueError(str(exc.args[0]) if exc.args else str(exc)) from None

    @field_validator("reported_at")
    @classmethod
    def _reported_after_occurred(cls, value: datetime | None, info: ValidationInfo
                                 ) -> datetime | None:
        occurred_at = info.data.get("occurred_at")  # absent when it failed validation itself
        if value is not None and occurred_at is not None and occurred_at > value:
            msg = (f"reported_at ({value.isoformat()}) is before occurred_at "
                   f"({occurred_at.isoformat()}): a problem is reported after it is seen.")
            raise ValueError(msg)
        return value


class LocationRead(BaseModel):
    """A point: WGS84 as stored, or as submitted with its crs."""

    lon: float
    lat: float
    crs: str = "wgs84"


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
        None, description="Distance to the nearest community boundary (null beyond 100 m).")
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
    """The response to a new incident: the incident plus possible duplicates."""

    possible_duplicates: list[DuplicateCandidate]


class IncidentList(BaseModel):
    """A page of incidents, newest first."""

    total: int
    limit: int
    offset: int
    items: list[IncidentRead]


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


class ErrorItem(BaseModel):
    """One problem with a request."""

    field: str | None = Field(description="Dotted path of the input at fault, e.g. location.lat.")
    message: str
    fix: str


class ErrorResponse(BaseModel):
    """Every error of the jiedao API (Open311 routes use the Open311 error format)."""

    detail: list[ErrorItem]


# -- patrol plans ---------------------------------------------------------------------------

Mode = Literal["foot", "ebike", "car"]
ShiftName = Literal["early", "late"]


class UnitIn(_Input):
    """A unit on duty for the shift."""

    unit_id: ShortText
    mode: Mode
    start_station: ShortText | None = Field(
        None, description="Station code where the unit starts; default: the squad's base.")
    end_station: ShortText | None = Field(
        None, description="Station code where the unit ends; default: its start station.")
    break_start: time | None = Field(None, description="Earliest start of the meal break.")
    break_end: time | None = Field(None, description="Latest end of the meal break.")
    break_minutes: int = Field(30, ge=0, le=120)

    @model_validator(mode="after")
    def _break_fits(self) -> UnitIn:
        if (self.break_start is None) != (self.break_end is None):
            msg = "give both break_start and break_end (e.g. 11:30 and 13:00), or neither."
            raise ValueError(msg)
        return self


class TaskIn(_Input):
    """A mandatory visit: a follow-up check or a scheduled inspection."""

    task_id: ShortText
    location: Location
    dwell_minutes: float = Field(15.0, gt=0, le=240)
    window_start: time | None = None
    window_end: time | None = None
    note: str = Field("", max_length=500)


class PlanCreate(_Input):
    """What to plan: a squad's shift on a day, with its units, tasks and search budget."""

    squad: ShortText = Field(description="Squad code or name: west, east, 巡查一中队 ...")
    date: date_type
    shift: ShiftName
    units: list[UnitIn] | None = Field(
        None, max_length=20, description="Units on duty; default: the squad's standard roster "
                                         "(two on foot, one e-bike, one patrol car).")
    tasks: list[TaskIn] = Field(default_factory=list, max_length=100)
    hotspot_days: int = Field(28, ge=1, le=365, description="Incidents of this many days "
                                                            "before the plan's date rank the "
                                                            "hot spots.")
    max_hotspots: int = Field(40, ge=0, le=300)
    sweep_key_roads: bool = Field(True, description="Every key-road piece of the squad must "
                                                    "be swept once in the shift.")
    revisit_every_hours: float = Field(2.0, gt=0, le=8)
    time_limit_s: float = Field(10.0, gt=0, le=120)
    seed: int = Field(0, ge=0)


class ReplanCreate(_Input):
    """Re-plan the rest of a shift from now: where the units are and what is done."""

    now: AwareDatetime
    positions: dict[str, Location] = Field(
        default_factory=dict, description="Current position per unit id; default: where its "
                                          "last finished stop was.")
    done: list[str] | None = Field(
        None, description="Target ids done; default: the stops whose departure is before now.")
    removed_units: list[str] = Field(default_factory=list,
                                     description="Units taken away (e.g. by a dispatch).")
    time_limit_s: float = Field(10.0, gt=0, le=120)
