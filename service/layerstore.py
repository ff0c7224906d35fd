"""Layer versions in the database: import a pack, list and activate versions, rebuild a pack.

Each import is a new :class:`~service.models.LayerVersion` (MapIt's ``Generation``); one version
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
from typing import Any

import geopandas as gpd
import pandas as pd
import shapely
from geoalchemy2.shape import from_shape, to_shape
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import layers
from geo.crs import STORAGE_CRS
from geo.jurisdiction import Jurisdiction, ResolveParams
from layers.pack import (
    COMMUNITY_COLUMNS,
    KEY_ROAD_COLUMNS,
    PLACE_COLUMNS,
    ROAD_COLUMNS,
    SQUAD_COLUMNS,
    STATION_COLUMNS,
)

from .config import Settings
from .crud.audit import record
from .crud.errors import ConflictError, InvalidInputError, NotFoundError, UnavailableError
from .models import Community, KeyRoad, LayerVersion, Place, RoadSegment, Squad, Station

__all__ = [
    "ActiveLayer",
    "JurisdictionCache",
    "activate_version",
    "active_version",
    "community_codes",
    "ensure_layers",
    "get_version",
    "import_pack",
    "list_versions",
    "load_pack",
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


def import_pack(session: Session, pack: layers.LayerPack, *, actor: str,
                activate: bool = False) -> LayerVersion:
    """Validate ``pack`` and store it as a new layer version, in the caller's transaction.

    Raises :class:`geo.errors.LayerValidationError` listing every problem, or
    :class:`~service.crud.errors.ConflictError` when the label (``name@version``) exists.
    The first version imported into an empty database is activated whatever ``activate`` says.
    """
    warnings = layers.ensure_valid(pack)
    if session.scalar(select(LayerVersion.id).where(LayerVersion.label == pack.label)):
        raise ConflictError(
            "label", f"Layer version {pack.label} is already stored.",
            "give the pack a new version in pack.json (or import with another version) and "
            "activate it; stored versions are never overwritten, so incidents keep theirs.")
    first = session.scalar(select(LayerVersion.id).limit(1)) is None
    version = LayerVersion(
        name=pack.name, version=pack.version, label=pack.label,
        title=_text(pack.metadata.get("title")),
        metadata_={**_jsonable(pack.metadata), "warnings": [str(w) for w in warnings]},
        active=False, created_by=actor)
    session.add(version)
    session.flush()
    vid = version.id
    session.add_all(
        Community(version_id=vid, code=str(r.code), name_zh=str(r.name_zh),
                  name_pinyin=_text(r.name_pinyin), name_en=_text(r.name_en),
                  aliases=[str(a) for a in r.aliases], squad=str(r.squad), geom=_wkb(r.geometry))
        for r in pack.communities.itertuples(index=False))
    session.add_all(
        Squad(version_id=vid, code=str(r.code), name_zh=str(r.name_zh), name_en=_text(r.name_en),
              base_station=_text(r.base_station))
        for r in pack.squads.itertuples(index=False))
    session.add_all(
        KeyRoad(version_id=vid, road_id=str(r.road_id), name_zh=str(r.name_zh),
                name_pinyin=_text(r.name_pinyin), road_class=_text(r.road_class),
                squad=str(r.squad), geom=_wkb(r.geometry))
        for r in pack.key_roads.itertuples(index=False))
    session.add_all(
        Station(version_id=vid, code=str(r.code), name_zh=str(r.name_zh), name_en=_text(r.name_en),
                kind=str(r.kind), squad=_text(r.squad), geom=_wkb(r.geometry))
        for r in pack.stations.itertuples(index=False))
    if pack.roads is not None:
        session.add_all(
            RoadSegment(version_id=vid, road_id=str(r.road_id), name_zh=_text(r.name_zh),
                        road_class=str(r.road_class), oneway=bool(r.oneway),
                        key_road_id=_text(r.key_road_id), geom=_wkb(r.geometry))
            for r in pack.roads.itertuples(index=False))
    if pack.places is not None:
        session.add_all(
            Place(version_id=vid, place_id=str(r.place_id), name_zh=str(r.name_zh),
                  kind=_text(r.kind), community=_text(r.community), geom=_wkb(r.geometry))
            for r in pack.places.itertuples(index=False))
    session.flush()
    record(session, actor=actor, action="import", entity="layer_version", entity_id=pack.label,
           detail={"communities": len(pack.communities), "key_roads": len(pack.key_roads),
                   "stations": len(pack.stations), "warnings": len(warnings)})
    if activate or first:
        activate_version(session, vid, actor=actor)
    return version


def _any_version(session: Session) -> bool:
    return session.scalar(select(LayerVersion.id).limit(1)) is not None


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
    if _any_version(session):
        return None
    pack = layers.read_pack(settings.layer_pack)
    try:
        with session.begin_nested():
            version = import_pack(session, pack, actor=actor, activate=True)
    except (ConflictError, IntegrityError) as exc:
        log.info("Layer version %s was imported by another process meanwhile (%s).",
                 pack.label, type(exc).__name__)
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


def list_versions(session: Session) -> list[LayerVersion]:
    """Every stored layer version, oldest first."""
    return list(session.scalars(select(LayerVersion).order_by(LayerVersion.id)))


def get_version(session: Session, label_or_id: str | int) -> LayerVersion:
    """A layer version by label (``name@version``) or numeric id."""
    query = select(LayerVersion)
    if isinstance(label_or_id, int) or str(label_or_id).isdigit():
        query = query.where(LayerVersion.id == int(label_or_id))
    else:
        query = query.where(LayerVersion.label == str(label_or_id))
    version = session.scalar(query)
    if version is None:
        labels = ", ".join(v.label for v in list_versions(session)) or "none"
        raise NotFoundError("label", f"No layer version {label_or_id!r}.",
                            f"use one of the stored versions ({labels}) or import the pack first.")
    return version


def active_version(session: Session) -> LayerVersion:
    """The active layer version; raises when the database has none."""
    version = session.scalar(select(LayerVersion).where(LayerVersion.active.is_(True)))
    if version is None:
        raise UnavailableError(
            None, "No layer version is active, so no point can be resolved.",
            "import a layer pack (jiedao layers import PATH --activate) or restart the service "
            "to import the bundled pack.")
    return version


def activate_version(session: Session, label_or_id: str | int, *, actor: str) -> LayerVersion:
    """Make one version the active one. Stored incidents keep the version that resolved them."""
    version = get_version(session, label_or_id)
    previous = session.scalar(select(LayerVersion.label).where(LayerVersion.active.is_(True)))
    # Deactivate first: the partial unique index allows one active row at any moment.
    session.execute(update(LayerVersion).where(LayerVersion.active.is_(True))
                    .values(active=False))
    session.flush()
    session.expire_all()
    version.active = True
    version.activated_at = datetime.now(UTC)
    version.activated_by = actor
    session.flush()
    record(session, actor=actor, action="activate", entity="layer_version",
           entity_id=version.label, detail={"previous": previous})
    return version


def _frame(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> gpd.GeoDataFrame:
    data = {c: [r[c] for r in rows] for c in columns}
    geometry = gpd.GeoSeries([r["geometry"] for r in rows], crs=STORAGE_CRS)
    return gpd.GeoDataFrame(data, geometry=geometry, crs=STORAGE_CRS)


def _rows(session: Session, model: Any, version_id: int, columns: tuple[str, ...]
          ) -> list[dict[str, Any]]:
    result = []
    for obj in session.scalars(select(model).where(model.version_id == version_id)
                               .order_by(model.id)):
        row = {c: getattr(obj, c) for c in columns}
        row["geometry"] = to_shape(obj.geom)
        result.append(row)
    return result


def load_pack(session: Session, version_id: int | None = None) -> layers.LayerPack:
    """Rebuild a :class:`layers.LayerPack` from the database (the active version by default)."""
    version = (active_version(session) if version_id is None
               else get_version(session, version_id))
    places = _frame(_rows(session, Place, version.id, PLACE_COLUMNS), PLACE_COLUMNS)
    roads = _frame(_rows(session, RoadSegment, version.id, ROAD_COLUMNS), ROAD_COLUMNS)
    # Stored as MULTI types; the routing graph wants one line per piece.
    roads["geometry"] = [shapely.line_merge(g) if g.geom_type == "MultiLineString" else g
                         for g in roads.geometry]
    squads = pd.DataFrame(
        [{c: getattr(s, c) for c in SQUAD_COLUMNS}
         for s in session.scalars(select(Squad).where(Squad.version_id == version.id)
                                  .order_by(Squad.id))],
        columns=list(SQUAD_COLUMNS))
    metadata = {k: v for k, v in version.metadata_.items() if k != "warnings"}
    return layers.LayerPack(
        name=version.name, version=version.version,
        communities=_frame(_rows(session, Community, version.id, COMMUNITY_COLUMNS),
                           COMMUNITY_COLUMNS),
        key_roads=_frame(_rows(session, KeyRoad, version.id, KEY_ROAD_COLUMNS), KEY_ROAD_COLUMNS),
        stations=_frame(_rows(session, Station, version.id, STATION_COLUMNS), STATION_COLUMNS),
        squads=squads, places=places if len(places) else None,
        roads=roads if len(roads) else None, metadata=metadata)


@dataclass(frozen=True)
class ActiveLayer:
    """The active layer version with its pack and resolver."""

    version_id: int
    label: str
    pack: layers.LayerPack
    jurisdiction: Jurisdiction
    community_lookup: dict[str, str]
    squad_names: dict[str, str]


class JurisdictionCache:
    """The resolver of the active layer version, rebuilt when the active version changes."""

    def __init__(self, params: ResolveParams) -> None:
        self.params = params
        self._lock = threading.Lock()
        self._current: ActiveLayer | None = None

    def get(self, session: Session) -> ActiveLayer:
        """The active layer; one cheap query checks that it is still the active one."""
        row = session.execute(select(LayerVersion.id, LayerVersion.label)
                              .where(LayerVersion.active.is_(True))).first()
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
        return ActiveLayer(version_id=version_id, label=label, pack=pack,
                           jurisdiction=jurisdiction, community_lookup=pack.community_lookup(),
                           squad_names=squad_names)


def community_codes(session: Session, name: str, *, lookup: Mapping[str, str] | None = None
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
    for code, name_zh, pinyin, name_en, aliases in session.execute(
            select(Community.code, Community.name_zh, Community.name_pinyin, Community.name_en,
                   Community.aliases)).all():
        spellings = {code, name_zh, pinyin, name_en, *(aliases or [])}
        if key in {s.strip().lower() for s in spellings if s}:
            found.add(code)
    if not found:
        known = sorted({n for (n,) in session.execute(select(Community.name_zh)).all()})
        raise InvalidInputError("community", f"No community is called {name!r}.",
                                f"use a code, name or alias of one of: {', '.join(known)}.")
    return found


def squad_codes(session: Session, name: str, *, field: str = "squad") -> set[str]:
    """Codes of the squads called ``name`` (code, Chinese or English name, any version);
    ``field`` is the input named in the error."""
    key = name.strip().lower()
    found = {code for code, name_zh, name_en in session.execute(
        select(Squad.code, Squad.name_zh, Squad.name_en))
        if key in {s.strip().lower() for s in (code, name_zh, name_en) if s}}
    if not found:
        known = sorted({f"{c} ({n})" for c, n in session.execute(
            select(Squad.code, Squad.name_zh)).all()})
        raise InvalidInputError(field, f"No squad is called {name!r}.",
                                f"use the code or name of one of: {', '.join(known)}.")
    return found
