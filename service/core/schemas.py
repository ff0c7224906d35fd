"""Schema pieces every domain shares: the strict input base, a declared-CRS point, short texts,
unit modes and shift names.

Input rules worth knowing:

- coordinates are finite numbers in range; NaN and Infinity are refused even though Python's
  JSON parser accepts them;
- ``crs`` is declared per location (``wgs84``, ``gcj02`` for Amap/Tencent, ``bd09`` for Baidu);
- unknown fields are refused, so a typo such as ``lng`` is reported instead of ignored.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field, field_validator

from geo.crs import parse_crs
from geo.errors import UnknownCRSError

__all__ = [
    "FeatureCollection",
    "Input",
    "Latitude",
    "Location",
    "LocationRead",
    "Longitude",
    "Mode",
    "RowId",
    "ShiftName",
    "ShortText",
]

Mode = Literal["foot", "ebike", "car"]
ShiftName = Literal["early", "late"]
Longitude = Annotated[
    float,
    Field(
        ge=-180.0, le=180.0, allow_inf_nan=False, description="Degrees east, in the declared crs."
    ),
]
Latitude = Annotated[
    float,
    Field(
        ge=-90.0, le=90.0, allow_inf_nan=False, description="Degrees north, in the declared crs."
    ),
]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]
# A stored row's id in a URL. The id columns are INTEGER, 32-bit signed on PostgreSQL, so a
# larger number can name no row and is refused here rather than failing in the database.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A stored id (1 to 2^31-1).")]


class Input(BaseModel):
    """Base of every request body: unknown fields refused, text stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Location(Input):
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


class LocationRead(BaseModel):
    """A point: WGS84 as stored, or as submitted with its crs."""

    lon: float
    lat: float
    crs: str = "wgs84"


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (WGS84); members beyond ``features`` describe the query."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[dict[str, Any]]
