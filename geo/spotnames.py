"""Names a squad leader can read for hot spots: community · street · main category.

A hot spot's id is its grid cell (``g150m-3397-16646``): a stable key that links a plan back to
the hot-spot map, but not a place anyone on the street knows. :func:`name_hotspots` names each
spot from layers the system already holds:

- the community that covers its point (:class:`geo.jurisdiction.Jurisdiction`, covers and its
  tie-break); a point outside every community takes the nearest one;
- the nearest named street within ``street_m`` of its point (the road network's pieces and the
  key roads, by ``name_zh``); where no named street is that near, ``热点 N``, the spot's rank in
  the list, so the name claims no direction or landmark it does not know;
- the display name of its main category (the most common among its incidents).

So ``梅园 · 泥岗西路 · 占道施工与摆摊设点``, or ``玉龙 · 热点 3 · 违法建设``. Two spots that would
share a name (two cells along one street with the same problem) are told apart by ``(2)``,
``(3)`` in rank order, so each name in a list points at one spot.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import crs as geocrs
from .jurisdiction import Jurisdiction
from .shift import HotSpot

__all__ = ["SEPARATOR", "SpotNameParams", "hotspot_names", "name_hotspots"]

SEPARATOR: Final = " · "
_NAME_COLUMN: Final = "name_zh"


@dataclass(frozen=True, slots=True)
class SpotNameParams:
    """How hot spots are named.

    Parameters
    ----------
    street_m
        A named street farther than this from the spot's point does not name it (metres; 150 is
        one cell of the planner's grid).
    """

    street_m: float = 150.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.street_m) and self.street_m >= 0):
            msg = f"Expected street_m to be a distance >= 0 metres, got {self.street_m!r}."
            raise ValueError(msg)


def _communities(lon: np.ndarray, lat: np.ndarray, jurisdiction: Jurisdiction | None) -> list[str]:
    """The name of the community covering each point, or of the nearest one outside them."""
    if jurisdiction is None or not len(lon):
        return [""] * len(lon)
    resolved = jurisdiction.resolve(lon, lat)
    by_code = dict(zip(jurisdiction.codes, jurisdiction.names, strict=True))
    names = []
    for covering, nearest in zip(
        resolved["community_name"], resolved["nearest_community_code"], strict=True
    ):
        if pd.notna(covering):
            names.append(str(covering))
        elif pd.notna(nearest):
            names.append(str(by_code.get(nearest, "")))
        else:
            names.append("")
    return names


def _streets(
    lon: np.ndarray, lat: np.ndarray, streets: gpd.GeoDataFrame | None, limit_m: float
) -> list[str]:
    """The name of the nearest named street within ``limit_m`` of each point, or ``""``."""
    found = [""] * len(lon)
    if streets is None or not len(streets) or _NAME_COLUMN not in streets.columns:
        return found
    names = streets[_NAME_COLUMN]
    named = streets[names.notna() & (names.astype(str).str.strip() != "")]
    if not len(named) or not len(lon):
        return found
    # Sorted by name, so that between equidistant streets the answer never depends on file order.
    named = named.assign(_key=named[_NAME_COLUMN].astype(str).str.strip()).sort_values(
        "_key", kind="stable"
    )
    lines = np.asarray(named.to_crs(geocrs.METRIC_CRS).geometry.values, dtype=object)
    x, y = geocrs.to_metric(lon, lat)
    hits = shapely.STRtree(lines).query_nearest(
        shapely.points(x, y), max_distance=limit_m, all_matches=True
    )
    keys = named["_key"].to_numpy(dtype=object)
    # all_matches keeps every street at the smallest distance; the first by name wins.
    for point, line in zip(hits[0], hits[1], strict=True):
        if not found[int(point)] or str(keys[int(line)]) < found[int(point)]:
            found[int(point)] = str(keys[int(line)])
    return found


def hotspot_names(
    lon: Sequence[float] | np.ndarray,
    lat: Sequence[float] | np.ndarray,
    categories: Sequence[str],
    *,
    jurisdiction: Jurisdiction | None,
    streets: gpd.GeoDataFrame | None = None,
    category_names: Mapping[str, str] | None = None,
    params: SpotNameParams | None = None,
) -> list[str]:
    """A readable name per ranked hot spot: ``community · street · category``.

    Parameters
    ----------
    lon, lat
        The spots' points, WGS84, best spot first (the rank ``N`` of ``热点 N`` is the position
        here, from 1).
    categories
        Each spot's main category code (``""`` for none: the name leaves it out).
    jurisdiction
        Resolves each point to its community; ``None`` leaves the community out.
    streets
        Lines with ``name_zh`` in any CRS (road pieces, key roads); unnamed ones are skipped.
    category_names
        Category code to display name (``{"C02": "占道施工与摆摊设点"}``); a code not in it is
        shown as the code.
    params
        How near a street must be to name a spot.

    Returns
    -------
    list of str
        One name per spot, in order, each naming one spot only.
    """
    params = params or SpotNameParams()
    lon_a, lat_a = geocrs.check_lonlat(lon, lat)
    lon_a, lat_a = lon_a.ravel(), lat_a.ravel()
    if len(categories) != len(lon_a):
        msg = f"Expected one category per spot: {len(lon_a)} spots, {len(categories)} categories."
        raise ValueError(msg)
    category_names = category_names or {}
    communities = _communities(lon_a, lat_a, jurisdiction)
    near = _streets(lon_a, lat_a, streets, params.street_m)
    names: list[str] = []
    seen: dict[str, int] = {}
    for rank, (community, street, code) in enumerate(
        zip(communities, near, categories, strict=True), start=1
    ):
        what = category_names.get(code, code) if code else ""
        parts = [community, street or f"热点 {rank}", what]
        name = SEPARATOR.join(p for p in parts if p)
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def name_hotspots(
    spots: Sequence[HotSpot],
    *,
    jurisdiction: Jurisdiction | None,
    streets: gpd.GeoDataFrame | None = None,
    category_names: Mapping[str, str] | None = None,
    params: SpotNameParams | None = None,
) -> list[HotSpot]:
    """The ranked ``spots`` with their :attr:`~geo.shift.HotSpot.name` set by
    :func:`hotspot_names` (main category: each spot's ``label``); ids and all else unchanged.
    """
    if not spots:
        return []
    names = hotspot_names(
        [s.lon for s in spots],
        [s.lat for s in spots],
        [s.label for s in spots],
        jurisdiction=jurisdiction,
        streets=streets,
        category_names=category_names,
        params=params,
    )
    return [replace(spot, name=name) for spot, name in zip(spots, names, strict=True)]
