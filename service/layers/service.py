"""Layer versions in the database: import a pack, list and activate versions, rebuild a pack.

Each import is a new :class:`~service.layers.models.LayerVersion` (MapIt's ``Generation``);
one version
is active. :class:`JurisdictionCache` keeps the resolver of the active version in memory and
rebuilds it when another version is activated, in this process or any other, because it checks
the active version's id on every use.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import geopandas as gpd
import pandas as pd
import shapely
from fastapi import Depends, Request
from geoalchemy2.shape import from_shape
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import layers
from geo import crs as geocrs
from geo.crs import STORAGE_CRS
from geo.jurisdiction import Jurisdiction, ResolveParams
from geo.roadgraph import RoadGraph, from_lines
from layers.pack import (
    COMMUNITY_COLUMNS,
    KEY_ROAD_COLUMNS,
    PLACE_COLUMNS,
    ROAD_COLUMNS,
    SQUAD_COLUMNS,
    STATION_COLUMNS,
)

from ..core.audit import record
from ..core.config import Settings
from ..core.deps import ReadSessionDep
from ..core.errors import ConflictError, InvalidInputError, UnavailableError
from ..core.schemas import LocationRead
from . import store
from .models import Community, KeyRoad, LayerVersion, Place, RoadSegment, Squad, Station
from .schemas import ResolveResult
from .store import active_version, get_version, list_versions

__all__ = [
    "ActiveLayer",
    "JurisdictionCache",
    "LayerDep",
    "NetworkCache",
    "NetworkDep",
    "activate_version",
    "active_layer_or_none",
    "active_version",
    "community_codes",
    "ensure_layers",
    "get_version",
    "import_pack",
    "layer_label",
    "list_versions",
    "load_pack",
    "resolve_point",
    "squad_codes",
]


log = logging.getLogger(__name__)


def _text(value: Any) -> str | None:
    """A column value as text, with pandas' missing values (None, NaN, NA) as None."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value)
    return text or None


def _multi(geom: shapely.Geometry) -> shapely.Geometry:
    # The columns hold MULTI types so one polygon and several parts store alike.
    if isinstance(geom, shapely.Polygon):
        return shapely.MultiPolygon([geom])
    if isinstance(geom, shapely.LineString):
        return shapely.MultiLineString([geom])
    return geom


def _wkb(geom: shapely.Geometry) -> Any:
    return from_shape(_multi(geom), srid=4326)  # type: ignore[arg-type]


def import_pack(
    session: Session, pack: layers.LayerPack, *, actor: str, activate: bool = False
) -> LayerVersion:
    """Validate ``pack`` and store it as a new layer version, in the caller's transaction.

    Raises :class:`geo.errors.LayerValidationError` listing every problem, or
    :class:`~service.core.errors.ConflictError` when the label (``name@version``) exists.
    The first version imported into an empty database is activated whatever ``activate`` says.
    """
    warnings = layers.ensure_valid(pack)
    if store.label_exists(session, pack.label):
        raise ConflictError(
            "label",
            f"Layer version {pack.label} is already stored.",
            "give the pack a new version in pack.json (or import with another version) and "
            "activate it; stored versions are never overwritten, so incidents keep theirs.",
        )
    first = not store.any_version(session)
    version = LayerVersion(
        name=pack.name,
        version=pack.version,
        label=pack.label,
        title=_text(pack.metadata.get("title")),
        metadata_={**_jsonable(pack.metadata), "warnings": [str(w) for w in warnings]},
        active=False,
        created_by=actor,
    )
    session.add(version)
    session.flush()
    vid = version.id
    session.add_all(
        Community(
            version_id=vid,
            code=str(r.code),
            name_zh=str(r.name_zh),
            name_pinyin=_text(r.name_pinyin),
            name_en=_text(r.name_en),
            aliases=[str(a) for a in r.aliases],
            squad=str(r.squad),
            geom=_wkb(r.geometry),
        )
        for r in pack.communities.itertuples(index=False)
    )
    session.add_all(
        Squad(
            version_id=vid,
            code=str(r.code),
            name_zh=str(r.name_zh),
            name_en=_text(r.name_en),
            base_station=_text(r.base_station),
        )
        for r in pack.squads.itertuples(index=False)
    )
    session.add_all(
        KeyRoad(
            version_id=vid,
            road_id=str(r.road_id),
            name_zh=str(r.name_zh),
            name_pinyin=_text(r.name_pinyin),
            road_class=_text(r.road_class),
            squad=str(r.squad),
            geom=_wkb(r.geometry),
        )
        for r in pack.key_roads.itertuples(index=False)
    )
    session.add_all(
        Station(
            version_id=vid,
            code=str(r.code),
            name_zh=str(r.name_zh),
            name_en=_text(r.name_en),
            kind=str(r.kind),
            squad=_text(r.squad),
            geom=_wkb(r.geometry),
        )
        for r in pack.stations.itertuples(index=False)
    )
    if pack.roads is not None:
        session.add_all(
            RoadSegment(
                version_id=vid,
                road_id=str(r.road_id),
                name_zh=_text(r.name_zh),
                road_class=str(r.road_class),
                oneway=bool(r.oneway),
                key_road_id=_text(r.key_road_id),
                geom=_wkb(r.geometry),
            )
            for r in pack.roads.itertuples(index=False)
        )
    if pack.places is not None:
        session.add_all(
            Place(
                version_id=vid,
                place_id=str(r.place_id),
                name_zh=str(r.name_zh),
                kind=_text(r.kind),
                community=_text(r.community),
                geom=_wkb(r.geometry),
            )
            for r in pack.places.itertuples(index=False)
        )
    session.flush()
    record(
        session,
        actor=actor,
        action="import",
        entity="layer_version",
        entity_id=pack.label,
        detail={
            "communities": len(pack.communities),
            "key_roads": len(pack.key_roads),
            "stations": len(pack.stations),
            "warnings": len(warnings),
        },
    )
    if activate or first:
        activate_version(session, vid, actor=actor)
    return version


def ensure_layers(session: Session, settings: Settings, *, actor: str) -> str | None:
    """Import and activate the configured pack (``settings.layer_pack``, default the bundled
    one) when the database holds no layer version, in the caller's transaction.

    Returns the label imported, or None when a version is already stored, including when
    another process (a second worker starting on the same empty database) imported it first:
    its import is caught as :class:`ConflictError` or :class:`IntegrityError` and undone to a
    savepoint, so the caller's transaction carries on. Raises :class:`FileNotFoundError` when
    the database holds no version and there is no pack to import, and
    :class:`geo.errors.LayerValidationError` for an invalid pack.
    """
    if store.any_version(session):
        return None
    pack = layers.read_pack(settings.layer_pack)
    try:
        with session.begin_nested():
            version = import_pack(session, pack, actor=actor, activate=True)
    except (ConflictError, IntegrityError) as exc:
        log.info(
            "Layer version %s was imported by another process meanwhile (%s).",
            pack.label,
            type(exc).__name__,
        )
        return None
    return version.label


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def activate_version(session: Session, label_or_id: str | int, *, actor: str) -> LayerVersion:
    """Make one version the active one. Stored incidents keep the version that resolved them."""
    version = get_version(session, label_or_id)
    previous = store.active_label(session)
    # Deactivate first: the partial unique index allows one active row at any moment.
    session.execute(update(LayerVersion).where(LayerVersion.active.is_(True)).values(active=False))
    session.flush()
    session.expire_all()
    version.active = True
    version.activated_at = datetime.now(UTC)
    version.activated_by = actor
    session.flush()
    record(
        session,
        actor=actor,
        action="activate",
        entity="layer_version",
        entity_id=version.label,
        before={"active_version": previous},
        after={"active_version": version.label},
        detail={"previous": previous},
    )
    return version


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    data = {c: [r[c] for r in rows] for c in columns}
    geometry = gpd.GeoSeries([r["geometry"] for r in rows], crs=STORAGE_CRS)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_CRS)


def load_pack(session: Session, version_id: int | None = None) -> layers.LayerPack:
    """Rebuild a :class:`layers.LayerPack` from the database (the active version by default)."""
    version = active_version(session) if version_id is None else get_version(session, version_id)
    places = _frame(store.feature_rows(session, Place, version.id, PLACE_COLUMNS), PLACE_COLUMNS)
    roads = _frame(store.feature_rows(session, RoadSegment, version.id, ROAD_COLUMNS), ROAD_COLUMNS)
    # Stored as MULTI types; the routing graph wants one line per piece.
    roads["geometry"] = [
        shapely.line_merge(g) if g.geom_type == "MultiLineString" else g for g in roads.geometry
    ]
    squads = pd.DataFrame(
        [
            {c: getattr(s, c) for c in SQUAD_COLUMNS}
            for s in session.scalars(
                select(Squad).where(Squad.version_id == version.id).order_by(Squad.id)
            )
        ],
        columns=list(SQUAD_COLUMNS),
    )
    metadata = {k: v for k, v in version.metadata_.items() if k != "warnings"}
    return layers.LayerPack(
        name=version.name,
        version=version.version,
        communities=_frame(
            store.feature_rows(session, Community, version.id, COMMUNITY_COLUMNS), COMMUNITY_COLUMNS
        ),
        key_roads=_frame(
            store.feature_rows(session, KeyRoad, version.id, KEY_ROAD_COLUMNS), KEY_ROAD_COLUMNS
        ),
        stations=_frame(
            store.feature_rows(session, Station, version.id, STATION_COLUMNS), STATION_COLUMNS
        ),
        squads=squads,
        places=places if len(places) else None,
        roads=roads if len(roads) else None,
        metadata=metadata,
    )


@dataclass(frozen=True)
class ActiveLayer:
    """The active layer version with its pack and resolver."""

    version_id: int
    label: str
    pack: layers.LayerPack
    jurisdiction: Jurisdiction
    community_lookup: dict[str, str]
    squad_names: dict[str, str]

    @property
    def community_names(self) -> dict[str, str]:
        """Community code to its Chinese name."""
        communities = self.pack.communities
        return dict(zip(communities["code"].astype(str), communities["name_zh"], strict=True))


class JurisdictionCache:
    """The resolver of the active layer version, rebuilt when the active version changes."""

    def __init__(self, params: ResolveParams) -> None:
        self.params = params
        self._lock = threading.Lock()
        self._current: ActiveLayer | None = None

    def get(self, session: Session) -> ActiveLayer:
        """The active layer; one cheap query checks that it is still the active one."""
        row = store.active_row(session)
        if row is None:
            active_version(session)  # raises with the fix
        assert row is not None
        current = self._current
        if current is not None and current.version_id == row.id:
            return current
        with self._lock:
            if self._current is None or self._current.version_id != row.id:
                self._current = self._build(session, row.id, row.label)
            return self._current

    def _build(self, session: Session, version_id: int, label: str) -> ActiveLayer:
        pack = load_pack(session, version_id)
        jurisdiction = Jurisdiction.build(pack.communities, pack.key_roads, params=self.params)
        squad_names = {str(s.code): str(s.name_zh) for s in pack.squads.itertuples(index=False)}
        return ActiveLayer(
            version_id=version_id,
            label=label,
            pack=pack,
            jurisdiction=jurisdiction,
            community_lookup=pack.community_lookup(),
            squad_names=squad_names,
        )


def community_codes(
    session: Session, name: str, *, lookup: Mapping[str, str] | None = None
) -> set[str]:
    """Codes of the communities called ``name`` (code, Chinese name, pinyin, English name or
    alias): 坭岗 and 泥岗 give the same code.

    ``lookup`` is the active version's :attr:`ActiveLayer.community_lookup` (cached in memory);
    a name it does not know is looked up in every stored version, for names of older ones.
    """
    key = name.strip()
    if lookup is not None:
        code = lookup.get(key) or lookup.get(key.lower())
        if code is not None:
            return {code}
    key = key.lower()
    found: set[str] = set()
    spellings_of = store.community_spellings(session)
    for code, name_zh, pinyin, name_en, aliases in spellings_of:
        spellings = {code, name_zh, pinyin, name_en, *(aliases or [])}
        if key in {s.strip().lower() for s in spellings if s}:
            found.add(code)
    if not found:
        known = sorted({str(row[1]) for row in spellings_of})
        raise InvalidInputError(
            "community",
            f"No community is called {name!r}.",
            f"use a code, name or alias of one of: {', '.join(known)}.",
        )
    return found


def squad_codes(session: Session, name: str, *, field: str = "squad") -> set[str]:
    """Codes of the squads called ``name`` (code, Chinese or English name, any version);
    ``field`` is the input named in the error."""
    key = name.strip().lower()
    squads = store.squad_spellings(session)
    found = {
        code
        for code, name_zh, name_en in squads
        if key in {s.strip().lower() for s in (code, name_zh, name_en) if s}
    }
    if not found:
        known = sorted({f"{c} ({n})" for c, n, _ in squads})
        raise InvalidInputError(
            field,
            f"No squad is called {name!r}.",
            f"use the code or name of one of: {', '.join(known)}.",
        )
    return found


def layer_label(session: Session, version_id: int) -> str | None:
    """The label (``name@version``) of layer version ``version_id``."""
    return store.label_of(session, version_id)


def layer_names(
    session: Session, version_ids: set[int]
) -> tuple[dict[int, str], dict[tuple[int, str], str]]:
    """Labels of ``version_ids`` and their squads' Chinese names by ``(version_id, code)``."""
    return store.labels_and_squads(session, version_ids)


class NetworkCache:
    """The routing graph of each layer version, built once from its roads layer."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._graphs: dict[int, RoadGraph] = {}

    def get(self, layer: ActiveLayer) -> RoadGraph:
        """The road graph of ``layer``; :class:`UnavailableError` (503) when it has no roads."""
        with self._lock:
            if layer.version_id not in self._graphs:
                roads = layer.pack.roads
                if roads is None or not len(roads):
                    raise UnavailableError(
                        "roads",
                        f"Layer version {layer.label} has no road network.",
                        "import a layer pack whose pack.json names a 'roads' layer (see "
                        "layers/qingshuihe/roads.geojson) and activate it.",
                    )
                self._graphs[layer.version_id] = from_lines(roads)
            return self._graphs[layer.version_id]


def resolve_point(layer: ActiveLayer, *, lon: float, lat: float, crs: str) -> ResolveResult:
    """Who answers for a point (community, squad, key road), without storing anything."""
    system = geocrs.parse_crs(crs)
    wlon, wlat = geocrs.to_wgs84([lon], [lat], source=system)
    resolved = layer.jurisdiction.resolve_one(float(wlon[0]), float(wlat[0]))
    squad = resolved["squad"]
    return ResolveResult.model_validate(
        {
            **resolved,
            "input_location": LocationRead(lon=lon, lat=lat, crs=system),
            "location": LocationRead(lon=float(wlon[0]), lat=float(wlat[0])),
            "layer_version": layer.label,
            "squad_name": layer.squad_names.get(str(squad)) if squad else None,
        }
    )


# -- request dependencies: the active layer and its road graph ------------------------------


def get_layer(request: Request, session: ReadSessionDep) -> ActiveLayer:
    """The active layer version and its resolver (503 when none is active)."""
    cache: JurisdictionCache = request.app.state.jurisdiction_cache
    return cache.get(session)


def active_layer_or_none(request: Request, session: Session) -> ActiveLayer | None:
    """The active layer version, or None when the database has none (for optional uses)."""
    cache: JurisdictionCache = request.app.state.jurisdiction_cache
    try:
        return cache.get(session)
    except UnavailableError:
        return None


def get_network(request: Request, layer: Annotated[ActiveLayer, Depends(get_layer)]) -> RoadGraph:
    """The road graph of the active layer version (503 when it has none)."""
    cache: NetworkCache = request.app.state.network_cache
    return cache.get(layer)


LayerDep = Annotated[ActiveLayer, Depends(get_layer)]
NetworkDep = Annotated[RoadGraph, Depends(get_network)]
