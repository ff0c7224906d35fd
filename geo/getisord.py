"""Getis-Ord Gi* hot spots on counted cells, with permutation inference and FDR, ArcGIS-style bins.

:func:`getis_ord` takes cells from :mod:`geo.cells` and gives each cell:

- ``gi_z``: Gi* standardised against its permutation distribution (sign: hot > 0, cold < 0);
- ``gi_p``: the two-sided pseudo p-value of ``permutations`` seeded permutations,
  ``min(1, 2 * (min(#sims >= obs, #sims <= obs) + 1) / (permutations + 1))``; ties count against
  significance, so cells in a sea of zeros are not called cold for being equal to their zeros;
- ``gi_p_fdr``: that p adjusted by Benjamini-Hochberg over the tested cells;
- ``gi_bin``: -3..3 as ArcGIS's Hot Spot Analysis: ±3 at 99 %, ±2 at 95 %, ±1 at 90 % confidence,
  0 not significant, from the FDR-adjusted p (a cell is significant at level a under BH exactly
  when its adjusted p is <= a).

The statistic is esda's ``G_Local(y, w, transform="B", star=True)``: the sum of the values of a
cell and its neighbours over the total. Neighbours are queen contiguity (cells that share an edge
or a corner; on a square grid the 8 around) or a distance band between cell centres.

Inference. ``"total"`` (the default) permutes all values, the focal cell's included: the
randomisation under which Getis and Ord derived Gi*'s mean and variance and which ArcGIS's z-test
approximates. ``"conditional"`` runs esda's conditional randomisation (the focal value held
fixed, as GeoDa and PySAL do for LISA); it then tests the neighbours only, so a cell with many
incidents amid ordinary neighbours is not called hot but its neighbours are. On planted data
(tests/geo/test_getisord.py) total randomisation finds the planted cells where conditional
randomisation misses most of them, and both keep the false-positive rate on random data.

The tested value is the count per km² of the cell's part inside the study area (``value=
"density"``), so a cell cut by the boundary is not a cold spot for being small; cells with less
than ``min_cover`` of their area inside, and cells with no neighbour, are not tested (bin 0, p
NaN). The cost is in cells, not incidents: incidents are counted first, and a few thousand cells
with 999 permutations take well under a second.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Final, Literal

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely
from libpysal.graph import Graph
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree
from scipy.stats import false_discovery_control

from . import crs as geocrs

__all__ = [
    "BIN_LABELS",
    "TRENDS",
    "CompareParams",
    "GiParams",
    "compare_periods",
    "confidence_bins",
    "fdr_adjust",
    "getis_ord",
]

Inference = Literal["total", "conditional"]
Neighbours = Literal["queen", "distance"]
Value = Literal["density", "count"]

BIN_LABELS: Final[dict[int, str]] = {
    3: "热点 99% hot spot",
    2: "热点 95% hot spot",
    1: "热点 90% hot spot",
    0: "不显著 not significant",
    -1: "冷点 90% cold spot",
    -2: "冷点 95% cold spot",
    -3: "冷点 99% cold spot",
}
# (bin, significance level) from the strictest: ArcGIS's 99 / 95 / 90 % confidence.
_LEVELS: Final = ((3, 0.01), (2, 0.05), (1, 0.10))
# Permutations are drawn in blocks so memory stays cells x block, not cells x permutations.
_BLOCK: Final = 200
# Two Gi* values this close (relative) are a tie: sums of the same counts in another order.
_TIE: Final = 1e-9
_QUEEN_TOLERANCE_M: Final = 0.05


@dataclass(frozen=True, slots=True)
class GiParams:
    """How Gi* is computed and tested.

    Parameters
    ----------
    permutations
        Permutations for the pseudo p-values. With 999 the smallest two-sided p is 0.002, and
        after FDR over ``n`` cells a cell reaches 99 % only when about ``n / 5`` cells sit at
        that floor: on a sub-district grid the 99 % bin needs 9999 (about 0.2 s).
    seed
        Seed of the permutations: the same cells and seed give the same result.
    inference
        ``"total"`` or ``"conditional"`` randomisation (see the module docstring).
    fdr
        Bin on Benjamini-Hochberg adjusted p-values (``False``: on raw p, as ArcGIS without
        its FDR option; many false hot spots on a grid of hundreds of cells).
    neighbours
        ``"queen"`` (shared edge or corner) or ``"distance"`` (centres within ``distance_m``).
    distance_m
        The distance band; ``None`` takes 1.5 times the median spacing of the cells (a 150 m
        grid: 225 m, which is the queen neighbourhood).
    value
        ``"density"`` (count per km² inside the area) or ``"count"``.
    min_cover
        Cells with less of their area inside the study area are not tested.
    """

    permutations: int = 999
    seed: int = 0
    inference: Inference = "total"
    fdr: bool = True
    neighbours: Neighbours = "queen"
    distance_m: float | None = None
    value: Value = "density"
    min_cover: float = 0.5

    def __post_init__(self) -> None:
        if not (isinstance(self.permutations, int) and 99 <= self.permutations <= 99_999):
            msg = (
                f"Expected permutations in [99, 99999], got {self.permutations!r}; 999 "
                "resolves p down to 0.002, 9999 to 0.0002."
            )
            raise ValueError(msg)
        if self.inference not in ("total", "conditional"):
            msg = f"Expected inference 'total' or 'conditional', got {self.inference!r}."
            raise ValueError(msg)
        if self.neighbours not in ("queen", "distance"):
            msg = f"Expected neighbours 'queen' or 'distance', got {self.neighbours!r}."
            raise ValueError(msg)
        if self.distance_m is not None and not (
            math.isfinite(self.distance_m) and self.distance_m > 0
        ):
            msg = f"Expected distance_m > 0 metres or None, got {self.distance_m!r}."
            raise ValueError(msg)
        if self.value not in ("density", "count"):
            msg = f"Expected value 'density' or 'count', got {self.value!r}."
            raise ValueError(msg)
        if not 0.0 <= self.min_cover <= 1.0:
            msg = f"Expected min_cover in [0, 1], got {self.min_cover!r}."
            raise ValueError(msg)


def fdr_adjust(p: ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (NaN stays NaN and is not counted as a test).

    ``q_(i) = min over j >= i of p_(j) * m / j`` for the sorted p of the ``m`` tests, capped at 1;
    rejecting ``q <= a`` is the BH step-up procedure at false discovery rate ``a``. Computed by
    :func:`scipy.stats.false_discovery_control` on the non-NaN values (scipy rejects NaN).
    """
    values = np.asarray(p, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    tested = ~np.isnan(values)
    if tested.any():
        out[tested] = false_discovery_control(values[tested], method="bh")
    return out


def confidence_bins(z: ArrayLike, p: ArrayLike) -> NDArray[np.int8]:
    """ArcGIS bins -3..3 from a direction (sign of ``z``) and a (preferably adjusted) p."""
    z_a = np.asarray(z, dtype=np.float64)
    p_a = np.asarray(p, dtype=np.float64)
    level = np.zeros(p_a.shape, dtype=np.int8)
    for value, alpha in reversed(_LEVELS):
        level[p_a <= alpha] = value
    return (level * np.sign(np.nan_to_num(z_a))).astype(np.int8)


def _neighbour_pairs(
    cells: gpd.GeoDataFrame, params: GiParams
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    metric = np.asarray(cells.to_crs(geocrs.METRIC_CRS).geometry.values, dtype=object)
    if params.neighbours == "queen":
        # A hair of tolerance: H3 and reprojected edges agree only to float precision.
        left, right = shapely.STRtree(metric).query(
            metric, predicate="dwithin", distance=_QUEEN_TOLERANCE_M
        )
    else:
        xy = shapely.get_coordinates(shapely.centroid(metric))
        tree = cKDTree(xy)
        band = params.distance_m
        if band is None:  # 1.5 times the median distance to the nearest other cell
            band = 1.5 * float(np.median(tree.query(xy, k=2)[0][:, 1])) if len(xy) > 1 else 1.0
        pairs = tree.query_pairs(band, output_type="ndarray")
        left = np.concatenate([pairs[:, 0], pairs[:, 1]]).astype(np.intp)
        right = np.concatenate([pairs[:, 1], pairs[:, 0]]).astype(np.intp)
    off = left != right
    return left[off], right[off]


def _tallies(
    sims: NDArray[np.float64], observed: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    tie = _TIE * np.abs(observed)[:, None] + 1e-300
    return (
        (sims >= observed[:, None] - tie).sum(axis=1),
        (sims <= observed[:, None] + tie).sum(axis=1),
    )


def _total_permutations(
    y: NDArray[np.float64], weights: sp.csr_matrix, observed: NDArray[np.float64], params: GiParams
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Two-sided pseudo p and permutation z under total randomisation.

    Each permutation shuffles all values; one sparse product gives every cell's Gi* for a
    block of permutations at once.
    """
    rng = np.random.default_rng(params.seed)
    n = len(y)
    at_least = np.zeros(n, dtype=np.int64)
    at_most = np.zeros(n, dtype=np.int64)
    total = np.zeros(n)
    squares = np.zeros(n)
    done = 0
    while done < params.permutations:
        block = min(_BLOCK, params.permutations - done)
        shuffled = rng.permuted(np.broadcast_to(y, (block, n)), axis=1)
        sims = np.asarray(weights @ shuffled.T) / y.sum()
        ge, le = _tallies(sims, observed)
        at_least += ge
        at_most += le
        total += sims.sum(axis=1)
        squares += (sims * sims).sum(axis=1)
        done += block
    mean = total / done
    sd = np.sqrt(np.maximum(squares / done - mean * mean, 0.0))
    return _p_and_z(at_least, at_most, observed, mean, sd, done)


def _p_and_z(
    at_least: NDArray[np.int64],
    at_most: NDArray[np.int64],
    observed: NDArray[np.float64],
    mean: NDArray[np.float64],
    sd: NDArray[np.float64],
    permutations: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    p = np.minimum(1.0, 2.0 * (np.minimum(at_least, at_most) + 1) / (permutations + 1))
    spread = sd > _TIE * np.maximum(np.abs(mean), 1e-300)
    z = np.where(spread, (observed - mean) / np.where(spread, sd, 1.0), 0.0)
    # The direction follows the tail the p-value counts, never a rounding of z.
    z = np.where(at_least == at_most, 0.0, z)
    return p, z


def _graph(weights: sp.csr_matrix) -> Any:
    return Graph.from_sparse(weights)


def getis_ord(
    cells: gpd.GeoDataFrame, *, params: GiParams | None = None, column: str = "count"
) -> gpd.GeoDataFrame:
    """Gi* hot and cold spots of counted cells.

    Parameters
    ----------
    cells
        A frame from :mod:`geo.cells` (``count``, ``area_km2``, ``cover``, geometry); any
        polygons or lines with those columns will do.
    params
        Permutations, seed, inference, FDR, neighbours, tested value.
    column
        The count column to test (e.g. ``count_C02`` for one category).

    Returns
    -------
    geopandas.GeoDataFrame
        ``cells`` with ``gi_value``, ``gi_z``, ``gi_p``, ``gi_p_fdr``, ``gi_bin`` (int -3..3),
        ``gi_tested`` and ``gi_neighbours``; ``attrs`` gain ``gi_params`` and ``gi_tested``.
    """
    params = params or GiParams()
    for name in (column, "area_km2", "cover"):
        if name not in cells.columns:
            msg = (
                f"cells lack the {name!r} column: build them with geo.cells (grid_cells, "
                "h3_cells, community_cells or road_cells)."
            )
            raise ValueError(msg)
    counts = cells[column].to_numpy(dtype=np.float64)
    area = cells["area_km2"].to_numpy(dtype=np.float64)
    if params.value == "density":
        value = np.divide(counts, area, out=np.zeros_like(counts), where=area > 0)
    else:
        value = counts
    candidate = (cells["cover"].to_numpy(dtype=np.float64) >= params.min_cover) & (area > 0)
    index = np.flatnonzero(candidate)
    left, right = (
        _neighbour_pairs(cells.iloc[index], params)
        if len(index)
        else (np.empty(0, np.intp), np.empty(0, np.intp))
    )
    degree = np.bincount(left, minlength=len(index))
    # A cell with no neighbour is not tested: Gi* is about a neighbourhood. Neighbourhood is
    # symmetric, so every pair joins two kept cells; renumber them.
    keep = degree > 0
    position = np.cumsum(keep) - 1
    index = index[keep]
    n = len(index)

    out = cells.copy()
    z_all = np.zeros(len(cells))
    p_all = np.full(len(cells), np.nan)
    degree_all = np.zeros(len(cells), dtype=np.int64)
    degree_all[index] = degree[keep]
    y = value[index]
    if n >= 2 and y.sum() > 0:
        # Binary weights with the cell itself: Gi* (star) sums the cell and its neighbours.
        weights = sp.csr_matrix(
            (np.ones(len(left)), (position[left], position[right])), shape=(n, n)
        ) + sp.identity(n, format="csr")
        p, z = _test(y, weights, params)
        p_all[index] = p
        z_all[index] = z
    elif n:
        # No incidents (or one cell): nothing can cluster; every tested cell has p = 1.
        p_all[index] = 1.0
    q_all = fdr_adjust(p_all)
    out["gi_value"] = value
    out["gi_z"] = z_all
    out["gi_p"] = p_all
    out["gi_p_fdr"] = q_all
    out["gi_bin"] = confidence_bins(z_all, q_all if params.fdr else p_all)
    tested = np.zeros(len(cells), dtype=bool)
    tested[index] = True
    out["gi_tested"] = tested
    out["gi_neighbours"] = degree_all
    out.attrs.update(cells.attrs)
    out.attrs["gi_params"] = {
        "permutations": params.permutations,
        "seed": params.seed,
        "inference": params.inference,
        "fdr": params.fdr,
        "neighbours": params.neighbours,
        "value": params.value,
        "min_cover": params.min_cover,
        "column": column,
    }
    out.attrs["gi_tested"] = int(tested.sum())
    return out


def _test(
    y: NDArray[np.float64], weights: sp.csr_matrix, params: GiParams
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    conditional = params.inference == "conditional"
    with warnings.catch_warnings():
        # esda warns that its default alternative will change; we compute p from the
        # simulations ourselves (two-sided, ties against), so the default is never used.
        warnings.filterwarnings(
            "ignore", message="The alternative hypothesis", category=DeprecationWarning
        )
        statistic = esda.G_Local(
            y,
            _graph(weights),
            transform="B",
            star=True,
            permutations=params.permutations if conditional else 0,
            keep_simulations=conditional,
            n_jobs=1,
            seed=params.seed,
        )
    observed = np.asarray(statistic.Gs, dtype=np.float64)
    if not conditional:
        return _total_permutations(y, weights, observed, params)
    sims = np.asarray(statistic.rGs, dtype=np.float64).reshape(len(y), -1)
    at_least, at_most = _tallies(sims, observed)
    return _p_and_z(at_least, at_most, observed, sims.mean(axis=1), sims.std(axis=1), sims.shape[1])


TRENDS: Final[dict[str, str]] = {
    "new": "新出现 new",
    "intensifying": "加剧 intensifying",
    "persistent": "持续 persistent",
    "diminishing": "减弱 diminishing",
    "sporadic": "反复 sporadic",
    "ended": "已消退 ended",
}


@dataclass(frozen=True, slots=True)
class CompareParams:
    """When a change in a hot spot's count is a change.

    Parameters
    ----------
    min_change
        Relative change against the previous periods' mean count (0.25 = 25 %).
    min_count_change
        And at least this many incidents, so 2 -> 3 is not "intensifying".
    """

    min_change: float = 0.25
    min_count_change: int = 3

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_change) and 0.0 <= self.min_change < 1.0):
            msg = f"Expected min_change in [0, 1), got {self.min_change!r} (0.25 = 25 %)."
            raise ValueError(msg)
        if self.min_count_change < 0:
            msg = f"Expected min_count_change >= 0, got {self.min_count_change!r}."
            raise ValueError(msg)


def _aligned(frame: pd.DataFrame, ids: pd.Index, column: str, fill: float) -> NDArray[Any]:
    series = pd.Series(frame[column].to_numpy(), index=frame["cell_id"].astype(str))
    return series.reindex(ids).fillna(fill).to_numpy(dtype=np.float64)


def compare_periods(
    current: gpd.GeoDataFrame, *previous: gpd.GeoDataFrame, params: CompareParams | None = None
) -> gpd.GeoDataFrame:
    """Label this period's hot spots against the previous period(s).

    A cell is *hot* in a period when its ``gi_bin`` > 0 (any confidence). With ``current`` and
    ``previous`` (the most recent first, all from :func:`getis_ord` on the same kind of cells):

    - **new**: hot now and hot in none of the previous periods;
    - **intensifying**: hot now and in every previous period, and its count rose by at least
      ``min_change`` (relative to the previous periods' mean) and ``min_count_change``;
    - **diminishing**: hot now and in every previous period, and its count fell by as much;
    - **persistent**: hot now and in every previous period, with neither;
    - **sporadic**: hot now and in some previous periods but not all;
    - **ended**: hot in the most recent previous period and not now.

    Other cells get ``""``. Cells missing from a period count as zero incidents and not hot.

    Returns
    -------
    geopandas.GeoDataFrame
        ``current`` with ``trend``, ``previous_count`` (mean over the previous periods),
        ``change`` (count minus that mean) and ``hot_before`` (in how many previous periods
        the cell was hot).
    """
    params = params or CompareParams()
    if not previous:
        msg = "compare_periods needs at least one previous period: compare_periods(now, before)."
        raise ValueError(msg)
    for frame in (current, *previous):
        missing = {"cell_id", "count", "gi_bin"} - set(frame.columns)
        if missing:
            msg = f"A period lacks {', '.join(sorted(missing))}: run getis_ord on its cells first."
            raise ValueError(msg)
        _check_same_cells(current, frame)
    ids = pd.Index(current["cell_id"].astype(str))
    now_hot = current["gi_bin"].to_numpy() > 0
    count = current["count"].to_numpy(dtype=np.float64)
    before_hot = np.stack([_aligned(f, ids, "gi_bin", 0) > 0 for f in previous])
    before_count = np.stack([_aligned(f, ids, "count", 0) for f in previous]).mean(axis=0)
    hot_before = before_hot.sum(axis=0)
    change = count - before_count
    rose = (count >= before_count * (1 + params.min_change)) & (change >= params.min_count_change)
    fell = (count <= before_count * (1 - params.min_change)) & (-change >= params.min_count_change)
    always = hot_before == len(previous)
    trend = np.full(len(ids), "", dtype=object)
    trend[now_hot & always] = "persistent"
    trend[now_hot & always & rose] = "intensifying"
    trend[now_hot & always & fell] = "diminishing"
    trend[now_hot & (hot_before == 0)] = "new"
    trend[now_hot & (hot_before > 0) & ~always] = "sporadic"
    trend[~now_hot & before_hot[0]] = "ended"
    out = current.copy()
    out["trend"] = trend
    out["previous_count"] = before_count
    out["change"] = change
    out["hot_before"] = hot_before.astype(np.int64)
    out.attrs.update(current.attrs)
    return out


def _check_same_cells(a: pd.DataFrame, b: pd.DataFrame) -> None:
    for key in ("cell_kind", "cell_m", "resolution", "segment_m"):
        if key in a.attrs and key in b.attrs and a.attrs[key] != b.attrs[key]:
            msg = (
                f"The periods use different cells ({key} {a.attrs[key]!r} vs "
                f"{b.attrs[key]!r}): count every period on the same cells."
            )
            raise ValueError(msg)
