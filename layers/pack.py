"""A jurisdiction layer pack: communities, squads, key roads, stations and places of one area.

A pack on disk is a folder holding ``pack.json`` and the layer files it names::

    {
        "name": "qingshuihe",
        "version": "2026.11-approx",
        "title": "...",
        "official": false,
        "files": {
            "communities": "communities.geojson",
            "key_roads": "key_roads.geojson",
            "stations": "stations.geojson",
            "places": "places.geojson",
        },
        "squads": [
            {
                "code": "west",
                "name_zh": "巡查一中队",
                "name_en": "Squad 1 (west)",
                "base_station": "west-base",
            }
        ],
    }

Column contract (EPSG:4326):

- communities: ``code``, ``name_zh``, ``name_pinyin``, ``name_en``, ``aliases`` (list of str),
  ``squad``, Polygon/MultiPolygon geometry;
- key_roads: ``road_id``, ``name_zh``, ``name_pinyin``, ``road_class``, ``squad``, lines;
- stations: ``code``, ``name_zh``, ``name_en``, ``kind``, ``squad``, points;
- places (optional): ``place_id``, ``name_zh``, ``kind``, ``community``, points;
- roads (optional): the road network for routing, ``road_id``, ``name_zh``, ``road_class``,
  ``oneway``, ``key_road_id`` (the key road a piece belongs to, or empty), lines noded at
  intersections;
- squads (a plain frame): ``code``, ``name_zh``, ``name_en``, ``base_station``; the squad's area
  is the union of its communities (:meth:`LayerPack.squad_areas`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely

from geo.crs import STORAGE_CRS

from .limits import ReadLimits
from .loader import read_layer, read_metadata

__all__ = [
    "COMMUNITY_COLUMNS",
    "KEY_ROAD_COLUMNS",
    "PLACE_COLUMNS",
    "ROAD_COLUMNS",
    "SQUAD_COLUMNS",
    "STATION_COLUMNS",
    "LayerPack",
    "bundled_pack_path",
    "pack_from_areas",
    "read_pack",
]

COMMUNITY_COLUMNS = ("code", "name_zh", "name_pinyin", "name_en", "aliases", "squad")
KEY_ROAD_COLUMNS = ("road_id", "name_zh", "name_pinyin", "road_class", "squad")
STATION_COLUMNS = ("code", "name_zh", "name_en", "kind", "squad")
PLACE_COLUMNS = ("place_id", "name_zh", "kind", "community")
ROAD_COLUMNS = ("road_id", "name_zh", "road_class", "oneway", "key_road_id")
SQUAD_COLUMNS = ("code", "name_zh", "name_en", "base_station")

_BUNDLED = Path(__file__).resolve().parent


def _empty_frame(columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {c: pd.Series(dtype=object) for c in columns},
        geometry=gpd.GeoSeries([], crs=STORAGE_CRS),
        crs=STORAGE_CRS,
    )


@dataclass(frozen=True)
class LayerPack:
    """The layers of one jurisdiction, validated or not (see :func:`layers.validate_pack`)."""

    name: str
    version: str
    communities: gpd.GeoDataFrame
    key_roads: gpd.GeoDataFrame
    stations: gpd.GeoDataFrame
    squads: pd.DataFrame
    places: gpd.GeoDataFrame | None = None
    roads: gpd.GeoDataFrame | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``name@version``, the pack's identity in the database and the CLI."""
        return f"{self.name}@{self.version}"

    def squad_areas(self) -> gpd.GeoDataFrame:
        """One row per squad with its area: the union of its communities."""
        unions = (
            self.communities.dissolve(by="squad")[["geometry"]]
            if len(self.communities)
            else _empty_frame(())
        )
        frame = self.squads.set_index("code").join(unions, how="left")
        return gpd.GeoDataFrame(frame.reset_index(), geometry="geometry", crs=STORAGE_CRS)

    def community_lookup(self) -> dict[str, str]:
        """Every code, name and alias of a community mapped to its code (坭岗 and 泥岗 alike)."""
        lookup: dict[str, str] = {}
        for row in self.communities.itertuples(index=False):
            code = str(row.code)
            for key in (code, row.name_zh, row.name_pinyin, row.name_en, *list(row.aliases)):
                if isinstance(key, str) and key:
                    lookup[key] = code
                    lookup[key.lower()] = code
        return lookup

    def with_version(self, version: str) -> LayerPack:
        """A copy labelled with another version."""
        return replace(self, version=version)


def bundled_pack_path(name: str = "qingshuihe") -> Path:
    """The folder of a pack shipped with jiedao."""
    path = _BUNDLED / name
    if not (path / "pack.json").exists():
        available = sorted(p.name for p in _BUNDLED.iterdir() if (p / "pack.json").exists())
        msg = f"No bundled layer pack {name!r}; available: {', '.join(available) or 'none'}."
        raise FileNotFoundError(msg)
    return path


def _normalise_aliases(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            return [str(v) for v in json.loads(text)]
        return [v.strip() for v in text.replace(";", "|").split("|") if v.strip()]
    return [str(v) for v in value]


def _truthy(value: Any) -> bool:
    # Shapefiles and CSV-born layers spell booleans many ways.
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y", "t")
    return bool(value) if value is not None and not pd.isna(value) else False


def _with_columns(frame: gpd.GeoDataFrame, columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    frame = frame.copy()
    for column in columns:
        if column not in frame.columns:
            # Shapefiles cut field names at 10 characters (name_pinyin -> name_pinyi).
            truncated = column[:10]
            frame[column] = frame.pop(truncated) if truncated in frame.columns else None
    ordered = [*columns, *[c for c in frame.columns if c not in columns and c != "geometry"]]
    return gpd.GeoDataFrame(frame[[*ordered, "geometry"]], geometry="geometry", crs=frame.crs)


def _read_optional(
    folder: Path,
    files: dict[str, str],
    key: str,
    columns: tuple[str, ...],
    source_crs: str | None,
    limits: ReadLimits | None = None,
) -> gpd.GeoDataFrame | None:
    if key not in files:
        return None
    frame = read_layer(folder / files[key], source_crs=source_crs, limits=limits)
    return _with_columns(frame, columns)


def read_pack(
    path: str | Path | None = None,
    *,
    source_crs: str | None = None,
    limits: ReadLimits | None = None,
) -> LayerPack:
    """Read a layer pack folder (default: the bundled Qingshuihe pack).

    Codes are read as strings, aliases as lists, and every layer ends in EPSG:4326. Nothing is
    validated here; call :func:`layers.validate_pack` or :func:`layers.ensure_valid`. Each
    file is read within ``limits`` (:class:`layers.limits.ReadLimits`).
    """
    folder = Path(path) if path is not None else bundled_pack_path()
    manifest_path = folder / "pack.json" if folder.is_dir() else folder
    if not manifest_path.exists():
        msg = (
            f"{folder}: no pack.json. A layer pack is a folder with pack.json naming its "
            "layer files; see layers/qingshuihe/pack.json for the format."
        )
        raise FileNotFoundError(msg)
    folder = manifest_path.parent
    manifest: dict[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8"))
    files: dict[str, str] = manifest.get("files", {})
    if "communities" not in files:
        msg = f"{manifest_path}: 'files' must name a 'communities' layer."
        raise ValueError(msg)
    declared = source_crs or manifest.get("source_crs")

    communities = _with_columns(
        read_layer(folder / files["communities"], source_crs=declared, limits=limits),
        COMMUNITY_COLUMNS,
    )
    communities["code"] = communities["code"].map(lambda v: None if v is None else str(v))
    communities["aliases"] = communities["aliases"].map(_normalise_aliases)
    key_roads = (
        _read_optional(folder, files, "key_roads", KEY_ROAD_COLUMNS, declared, limits)
        if "key_roads" in files
        else _empty_frame(KEY_ROAD_COLUMNS)
    )
    stations = (
        _read_optional(folder, files, "stations", STATION_COLUMNS, declared, limits)
        if "stations" in files
        else _empty_frame(STATION_COLUMNS)
    )
    places = _read_optional(folder, files, "places", PLACE_COLUMNS, declared, limits)
    roads = _read_optional(folder, files, "roads", ROAD_COLUMNS, declared, limits)
    if roads is not None:
        roads["oneway"] = roads["oneway"].map(_truthy)
    squads = pd.DataFrame(manifest.get("squads", []), columns=list(SQUAD_COLUMNS))

    metadata = {k: v for k, v in manifest.items() if k not in ("files", "squads")}
    metadata["layers"] = {key: read_metadata(folder / name) for key, name in files.items()}
    return LayerPack(
        name=str(manifest.get("name", folder.name)),
        version=str(manifest.get("version", "1")),
        communities=communities,
        key_roads=key_roads,
        stations=stations,
        squads=squads,
        places=places,
        roads=roads,
        metadata=metadata,
    )


def pack_from_areas(
    path: str | Path,
    *,
    code_field: str,
    name_field: str,
    squad_field: str | None = None,
    name: str | None = None,
    version: str = "1",
    source_crs: str | None = None,
) -> LayerPack:
    """Make a pack from a single polygon layer (e.g. sub-districts or grid cells).

    Each area becomes a community; its squad is ``squad_field`` or, when not given, the area's own
    code, so every area answers for itself (属地兜底) until squads are assigned.
    """
    path = Path(path)
    areas = read_layer(path, source_crs=source_crs)
    for column in (code_field, name_field, squad_field):
        if column is not None and column not in areas.columns:
            msg = f"{path}: no column {column!r}; columns are {', '.join(map(str, areas.columns))}."
            raise ValueError(msg)
    codes = areas[code_field].astype(str)
    communities = gpd.GeoDataFrame(
        {
            "code": codes,
            "name_zh": areas[name_field].astype(str),
            "name_pinyin": None,
            "name_en": None,
            "aliases": [[] for _ in range(len(areas))],
            "squad": areas[squad_field].astype(str) if squad_field else codes,
        },
        geometry=shapely.make_valid(areas.geometry.values),
        crs=STORAGE_CRS,
    )
    squad_codes = sorted(set(communities["squad"]))
    squads = pd.DataFrame(
        {"code": squad_codes, "name_zh": squad_codes, "name_en": squad_codes, "base_station": None},
        columns=list(SQUAD_COLUMNS),
    )
    return LayerPack(
        name=name or path.stem,
        version=version,
        communities=communities,
        key_roads=_empty_frame(KEY_ROAD_COLUMNS),
        stations=_empty_frame(STATION_COLUMNS),
        squads=squads,
        metadata={"source": str(path), "official": False},
    )
