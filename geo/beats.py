"""Beats: the part of a squad's area that each foot or e-bike patrol walks or rides.

Beats are drawn around the hot spots' presence visits, which they share: each foot patrol one
share, each e-bike (about twice the ground) two. k-means (scikit-learn) starts the centres, then
a few rounds of balanced assignment (SciPy's minimum-cost assignment of each visit to a centre
with as many seats as its share) and re-centring keep the groups the right size and compact. A
beat is the street points (every 80 m along the streets) nearer its centre than any other and
within reach of its spots (300 m beyond the farthest, at least 500 m a share); each group goes
to the unit of its size whose station is nearest, by a second assignment. Without enough hot
spots, street points stand in for the visits. A squad leader may draw a unit's beat by hand:
it is what lies inside the outline, and the other beats share the rest. Cars have no beat: they
cover the whole area, including the streets no beat reaches, and the key roads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment
from sklearn.cluster import KMeans

from . import crs as geocrs
from .roadgraph import RoadGraph

__all__ = [
    "BEAT_MODES",
    "Beat",
    "BeatError",
    "BeatParams",
    "density",
    "draw_beats",
    "street_points",
]

# Modes that patrol a beat; cars cover the squad's whole area.
BEAT_MODES: Final = ("foot", "ebike")
# A street point at a hot spot weighs at most this much more than a quiet one.
_MAX_HEAT: Final = 4.0
# Shares of the hot spots' visits: an e-bike covers about twice the ground of a foot patrol.
_SHARES: Final = {"foot": 1, "ebike": 2}
# Rounds of balanced assignment and re-centring after k-means.
_ROUNDS: Final = 5


class BeatError(ValueError):
    """A beat drawn by hand that cannot be used; ``unit_id`` names its unit."""

    def __init__(self, message: str, unit_id: str) -> None:
        super().__init__(message, unit_id)  # both in args: the error crosses processes
        self.message = message
        self.unit_id = unit_id

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class BeatParams:
    """How beats are drawn.

    Parameters
    ----------
    spread_m
        Reach of a hot spot's weight over the street points (Gaussian sigma, metres).
    spacing_m
        Street points lie this far apart along every street of the area.
    margin_m, min_reach_m
        A foot beat reaches this far beyond its farthest hot spot, and at least
        ``min_reach_m`` from its centre.
    outline_m
        Buffer around the beat's nodes when its outline is drawn.
    seed
        Seed of k-means' initial centres.
    """

    spread_m: float = 150.0
    spacing_m: float = 80.0
    margin_m: float = 300.0
    min_reach_m: float = 500.0
    outline_m: float = 40.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.spread_m > 0 and self.outline_m > 0 and self.margin_m >= 0):
            msg = "Expected spread_m > 0, outline_m > 0 and margin_m >= 0."
            raise ValueError(msg)
        if not self.min_reach_m > 0:
            msg = f"Expected min_reach_m > 0, got {self.min_reach_m}."
            raise ValueError(msg)
        if not self.spacing_m >= 10:
            msg = f"Expected spacing_m >= 10, got {self.spacing_m}."
            raise ValueError(msg)


@dataclass(frozen=True)
class Beat:
    """One unit's beat: its street points (lon, lat rows), outline (WGS84), anchor and spots.

    ``spots`` are the indices (into the hot spots given) of the spots that are this beat's.
    """

    unit_id: str
    points: NDArray[np.float64]
    outline: shapely.Geometry
    anchor: tuple[float, float]  # lon, lat of the node nearest the beat's centre
    spots: tuple[int, ...] = ()


def street_points(
    graph: RoadGraph, area: shapely.Geometry, *, spacing_m: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Points every ``spacing_m`` along the streets inside ``area``: (lon, lat) and EPSG:4547
    rows, each place once however many edges (two directions) run through it."""
    lengths = graph.length_m
    counts = np.maximum(1, np.floor(lengths / spacing_m).astype(int))
    edge = np.repeat(np.arange(graph.n_edges), counts)
    step = (
        np.concatenate([(np.arange(c) + 0.5) / c for c in counts]) if len(counts) else np.zeros(0)
    )
    along = shapely.line_interpolate_point(
        graph.metric_geometry[edge], np.asarray(step) * lengths[edge]
    )
    xy = np.column_stack([shapely.get_x(along), shapely.get_y(along)]).reshape(-1, 2)
    xy = np.concatenate([xy, np.column_stack([graph.x, graph.y])])
    _, unique = np.unique(np.round(xy / 5.0), axis=0, return_index=True)
    xy = xy[np.sort(unique)]
    lon, lat = geocrs.from_metric(xy[:, 0], xy[:, 1])
    inside = shapely.contains_xy(area, lon, lat)
    return np.column_stack([lon, lat])[inside], xy[inside]


def density(
    xy: NDArray[np.float64],
    *,
    spots_xy: NDArray[np.float64],
    spot_weights: NDArray[np.float64],
    spread_m: float,
) -> NDArray[np.float64]:
    """One plus the hot-spot weight within reach of each point (Gaussian in distance), at most
    :data:`_MAX_HEAT` more: incident density, for drawing patrol waypoints."""
    weight = np.ones(len(xy))
    if len(spot_weights):
        dx = xy[:, None, 0] - spots_xy[None, :, 0]
        dy = xy[:, None, 1] - spots_xy[None, :, 1]
        near = np.exp(-(dx**2 + dy**2) / (2 * spread_m**2))
        heat = near @ spot_weights / max(float(spot_weights.max()), 1e-9)
        weight += _MAX_HEAT * np.minimum(heat, 1.0)
    return weight


def _balanced_groups(
    points: NDArray[np.float64], shares: Sequence[int], *, seed: int
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Centres and a group per point: groups sized by ``shares`` (within one), compact."""
    k = len(shares)
    centres = KMeans(n_clusters=k, random_state=seed, n_init=4).fit(points).cluster_centers_
    seats = [-(-len(points) * share // sum(shares)) for share in shares]  # ceil
    owner = np.repeat(np.arange(k), seats)
    group = np.zeros(len(points), dtype=np.intp)
    for _ in range(_ROUNDS):
        distance = np.hypot(*(points[:, None, :] - centres[None, :, :]).transpose(2, 0, 1))
        rows, cols = linear_sum_assignment(distance[:, owner])
        group[rows] = owner[cols]
        centres = np.asarray(
            [
                points[group == g].mean(axis=0) if (group == g).any() else centres[g]
                for g in range(k)
            ]
        )
    return centres, group


def _outline(xy: NDArray[np.float64], radius: float) -> shapely.Geometry:
    """The street points' neighbourhood, simplified (WGS84): one or more polygons."""
    around = shapely.union_all(shapely.buffer(shapely.points(xy), radius, quad_segs=4))
    return geocrs.geometry_from_metric(shapely.simplify(around, 5.0))


def draw_beats(
    graph: RoadGraph,
    *,
    area: shapely.Geometry,
    units: Sequence[tuple[str, str, tuple[float, float]]],
    spots_lonlat: NDArray[np.float64],
    spot_visits: NDArray[np.int64],
    drawn: Mapping[str, shapely.Geometry] | None = None,
    params: BeatParams | None = None,
) -> tuple[Beat, ...]:
    """One beat per foot or e-bike unit in ``units`` (``(unit_id, mode, (lon, lat))``).

    ``spot_visits`` gives the presence visits of each hot spot in ``spots_lonlat``: the beats
    share them, an e-bike's beat taking :data:`_SHARES` times a foot patrol's. ``drawn`` gives
    the outline (WGS84) a squad leader drew for some units: such a beat is the street points
    and the hot spots inside it, and the other beats share what is left.

    Raises
    ------
    ValueError
        ``area`` holds fewer street points than there are beats to draw.
    BeatError
        A drawn beat holds no street point, or one is drawn for a unit that has no beat.
    """
    params = params or BeatParams()
    drawn = dict(drawn or {})
    walkers = [(uid, mode, where) for uid, mode, where in units if mode in BEAT_MODES]
    unknown = sorted(set(drawn) - {uid for uid, _, _ in walkers})
    if unknown:
        msg = (
            f"A beat is drawn for {unknown[0]}, which is not a foot or e-bike unit on duty: "
            "draw beats only for those (cars cover the whole area)."
        )
        raise BeatError(msg, unknown[0])
    if not walkers:
        return ()
    lonlat, xy = street_points(graph, area, spacing_m=params.spacing_m)
    sx, sy = geocrs.to_metric(spots_lonlat[:, 0], spots_lonlat[:, 1])
    spot_xy = np.column_stack([sx, sy]).reshape(-1, 2)
    taken = np.zeros(len(xy), dtype=bool)
    beats: list[tuple[int, Beat]] = []
    spoken_for: set[int] = set()
    for row, (uid, _, _) in enumerate(walkers):
        if uid not in drawn:
            continue
        beat = _drawn_beat(uid, drawn[uid], lonlat, xy, spots_lonlat, spot_visits)
        taken |= shapely.contains_xy(drawn[uid], lonlat[:, 0], lonlat[:, 1])
        spoken_for.update(beat.spots)
        beats.append((row, beat))
    free = [(row, w) for row, w in enumerate(walkers) if w[0] not in drawn]
    if free:
        beats += _balanced_beats(
            [w for _, w in free],
            [row for row, _ in free],
            lonlat[~taken],
            xy[~taken],
            spot_xy,
            np.where(np.isin(np.arange(len(spot_xy)), sorted(spoken_for)), 0, spot_visits),
            params,
        )
    return tuple(beat for _, beat in sorted(beats, key=lambda b: b[0]))


def _drawn_beat(
    unit_id: str,
    outline: shapely.Geometry,
    lonlat: NDArray[np.float64],
    xy: NDArray[np.float64],
    spots_lonlat: NDArray[np.float64],
    spot_visits: NDArray[np.int64],
) -> Beat:
    """The beat a squad leader drew for ``unit_id``: what lies inside ``outline``."""
    inside = shapely.contains_xy(outline, lonlat[:, 0], lonlat[:, 1])
    if not inside.any():
        msg = (
            f"The beat drawn for {unit_id} holds no street of the squad's area: draw it over "
            "the streets the unit should patrol."
        )
        raise BeatError(msg, unit_id)
    spots = np.flatnonzero(
        shapely.contains_xy(outline, spots_lonlat[:, 0], spots_lonlat[:, 1]) & (spot_visits > 0)
    )
    centre = xy[inside].mean(axis=0)
    anchor = lonlat[inside][int(np.argmin(np.hypot(*(xy[inside] - centre).T)))]
    return Beat(
        unit_id=unit_id,
        points=lonlat[inside],
        outline=outline,
        anchor=(float(anchor[0]), float(anchor[1])),
        spots=tuple(int(s) for s in spots),
    )


def _balanced_beats(
    walkers: Sequence[tuple[str, str, tuple[float, float]]],
    rows: Sequence[int],
    lonlat: NDArray[np.float64],
    xy: NDArray[np.float64],
    spot_xy: NDArray[np.float64],
    spot_visits: NDArray[np.int64],
    params: BeatParams,
) -> list[tuple[int, Beat]]:
    """Beats for ``walkers`` (at ``rows`` of the caller's list), by balanced k-means of the
    hot spots' visits over the street points ``lonlat`` / ``xy``."""
    if len(xy) < len(walkers):
        msg = (
            f"The squad's area holds {len(xy)} street points, too few for "
            f"{len(walkers)} beats: check the area polygon and the road network."
        )
        raise ValueError(msg)
    visits = np.repeat(np.arange(len(spot_xy)), np.maximum(spot_visits, 0))
    shares = [_SHARES[mode] for _, mode, _ in walkers]
    # Street points stand in for visits when there are too few hot spots to share.
    from_spots = len(visits) >= sum(shares)
    centres, group = _balanced_groups(
        spot_xy[visits] if from_spots else xy, shares, seed=params.seed
    )
    nearest = np.argmin(
        np.hypot(*(xy[:, None, :] - centres[None, :, :]).transpose(2, 0, 1)), axis=1
    )
    # Groups to units: stations near their beats, a group of e-bike size to an e-bike.
    ux, uy = geocrs.to_metric([w[2][0] for w in walkers], [w[2][1] for w in walkers])
    cost = np.hypot(ux[:, None] - centres[None, :, 0], uy[:, None] - centres[None, :, 1])
    cost += 1e7 * (np.asarray(shares)[:, None] != np.asarray(shares)[None, :])
    beats = []
    for row, g in zip(*linear_sum_assignment(cost), strict=True):
        mine = sorted({int(s) for s in visits[group == g]}) if from_spots else []
        reach = params.min_reach_m * shares[g]
        if mine:
            far = float(np.hypot(*(spot_xy[mine] - centres[g]).T).max())
            reach = max(reach, far + params.margin_m)
        inside = (nearest == g) & (np.hypot(*(xy - centres[g]).T) <= reach)
        if not inside.any():
            inside[int(np.argmin(np.hypot(*(xy - centres[g]).T)))] = True
        beat = _beat(walkers[row][0], lonlat[inside], xy[inside], centres[g], mine, params)
        beats.append((rows[row], beat))
    return beats


def _beat(
    unit_id: str,
    lonlat: NDArray[np.float64],
    xy: NDArray[np.float64],
    centre: NDArray[np.float64],
    spots: Sequence[int],
    params: BeatParams,
) -> Beat:
    anchor = lonlat[int(np.argmin(np.hypot(*(xy - centre).T)))]
    return Beat(
        unit_id=unit_id,
        points=lonlat,
        outline=_outline(xy, params.outline_m),
        anchor=(float(anchor[0]), float(anchor[1])),
        spots=tuple(spots),
    )
