"""Gi* hot spots: recall of planted spots, false positives on random data after FDR, bins,
degenerate input, and the period comparison."""

import esda
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box

from geo import crs
from geo.cells import grid_cells
from geo.getisord import (
    CompareParams,
    GiParams,
    compare_periods,
    confidence_bins,
    fdr_adjust,
    getis_ord,
)
from geo.synthetic import PlantParams, plant_incidents
from layers import read_pack

SEEDS = (0, 1, 2)


@pytest.fixture(scope="module")
def pack():
    return read_pack()


@pytest.fixture(scope="module")
def planted(pack):
    """Three seeded runs: realistic background with 8 planted spots, 5,000 incidents each."""
    runs = []
    for seed in SEEDS:
        truth = plant_incidents(
            pack.communities, roads=pack.key_roads, params=PlantParams(n=5000, seed=seed)
        )
        runs.append((truth, grid_cells(truth.incidents, pack.communities)))
    return runs


def _hot(result: pd.DataFrame) -> set[str]:
    return set(result.loc[result["gi_bin"] > 0, "cell_id"])


def test_planted_hot_spots_are_found(planted):
    found = []
    for seed, (truth, cells) in zip(SEEDS, planted, strict=True):
        result = getis_ord(cells, params=GiParams(seed=seed))
        hot = _hot(result)
        found += [cell in hot for cell in truth.planted_cells]
        # The planted cells are hot, not merely tested: the metric can fail. Cells far from
        # every spot are rarely hot (the background has busier streets and neighbourhoods).
        spots = crs.to_metric(truth.spots["lon"].to_numpy(), truth.spots["lat"].to_numpy())
        x, y = crs.to_metric(result["lon"].to_numpy(), result["lat"].to_numpy())
        far = np.min(np.hypot(x[:, None] - spots[0], y[:, None] - spots[1]), axis=1) > 500
        assert (result["gi_bin"].to_numpy()[far] > 0).mean() < 0.1
    assert np.mean(found) >= 0.9


def test_conditional_randomisation_tests_the_neighbours_only(planted):
    # The documented reason for the default: esda's conditional randomisation holds the
    # planted cell's own count fixed, and misses most planted cells that total finds.
    truth, cells = planted[0]
    total = _hot(getis_ord(cells, params=GiParams(seed=0)))
    conditional = _hot(getis_ord(cells, params=GiParams(seed=0, inference="conditional")))
    recall_total = np.mean([c in total for c in truth.planted_cells])
    recall_conditional = np.mean([c in conditional for c in truth.planted_cells])
    assert recall_total > recall_conditional


@pytest.mark.parametrize("inference", ["total", "conditional"])
def test_random_data_gives_at_most_the_expected_false_positives(pack, inference):
    runs_with_any, raw_share = 0, []
    for seed in range(8):
        truth = plant_incidents(
            pack.communities,
            params=PlantParams(n=3000, hot_share=0.0, background="uniform", seed=100 + seed),
        )
        result = getis_ord(
            grid_cells(truth.incidents, pack.communities),
            params=GiParams(seed=seed, inference=inference),
        )
        tested = result["gi_tested"].to_numpy()
        flagged = (result["gi_bin"].to_numpy() != 0) & tested
        # BH at 10 % (the 90 % bin): with no hot spot at all, P(any flag) <= 0.10.
        runs_with_any += bool(flagged.any())
        assert flagged.mean() <= 0.10
        raw_share.append(float((result["gi_p"].to_numpy()[tested] <= 0.05).mean()))
    # Binomial(8, 0.1): three or more runs with a flag has probability 0.04.
    assert runs_with_any <= 2
    # The raw p-values are calibrated, not just conservative: about 5 % fall under 0.05.
    assert 0.025 <= np.mean(raw_share) <= 0.075


def test_fdr_off_flags_what_raw_p_says(pack):
    truth = plant_incidents(
        pack.communities, params=PlantParams(n=3000, hot_share=0.0, background="uniform", seed=7)
    )
    cells = grid_cells(truth.incidents, pack.communities)
    raw = getis_ord(cells, params=GiParams(fdr=False, seed=7))
    assert (raw["gi_bin"] != 0).sum() == ((raw["gi_p"] <= 0.10) & (raw["gi_z"] != 0)).sum()
    assert (raw["gi_bin"] != 0).sum() > (
        getis_ord(cells, params=GiParams(seed=7))["gi_bin"] != 0
    ).sum()


def test_same_seed_same_result_other_seed_other_draws(planted):
    _, cells = planted[1]
    a = getis_ord(cells, params=GiParams(seed=5))
    b = getis_ord(cells, params=GiParams(seed=5))
    c = getis_ord(cells, params=GiParams(seed=6))
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["gi_p"].dropna(), c["gi_p"].dropna())
    # Permutation noise only: confidence may step across a threshold, direction never flips.
    assert (np.sign(a["gi_bin"]) * np.sign(c["gi_bin"]) < 0).sum() == 0
    assert (np.sign(a["gi_bin"]) != np.sign(c["gi_bin"])).mean() < 0.05


def test_fdr_adjust_is_benjamini_hochberg():
    rng = np.random.default_rng(0)
    p = np.concatenate([rng.uniform(0, 0.002, 20), rng.uniform(0, 1, 180)])
    q = fdr_adjust(p)
    for alpha in (0.01, 0.05, 0.1):
        # Step-up: reject the k smallest, k the largest with p_(k) <= k alpha / m.
        ranked = np.sort(p)
        passing = np.flatnonzero(ranked <= np.arange(1, 201) * alpha / 200)
        k = passing.max() + 1 if len(passing) else 0
        assert (q <= alpha).sum() == k
        # esda's cut-off agrees where it rejects something.
        if k:
            assert set(np.flatnonzero(q <= alpha)) == set(np.flatnonzero(p <= esda.fdr(p, alpha)))
    with_nan = fdr_adjust(np.array([0.01, np.nan, 0.04]))
    assert np.isnan(with_nan[1])
    assert with_nan[[0, 2]] == pytest.approx([0.02, 0.04])


def _hand_written_bh(p):
    """Oracle: the hand-written Benjamini-Hochberg that fdr_adjust was before it called scipy.

    ``q_(i) = min over j >= i of p_(j) * m / j`` over the sorted non-NaN p, capped at 1; NaN
    stays NaN and is not counted as a test.
    """
    values = np.asarray(p, dtype=np.float64)
    out = np.full(values.shape, np.nan)
    tested = np.flatnonzero(~np.isnan(values))
    m = len(tested)
    if m == 0:
        return out
    order = tested[np.argsort(values[tested], kind="stable")]
    scaled = values[order] * m / np.arange(1, m + 1)
    out[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return out


def _random_p_values():
    rng = np.random.default_rng(0)
    arrays = [rng.uniform(0, 1, n) for n in (2, 3, 10, 200, 5000)]
    # Permutation p-values: a lattice with many ties, NaN for untested cells, exact 0 and 1.
    lattice = 2 * rng.integers(1, 501, 1000) / 1000
    lattice[rng.uniform(size=1000) < 0.2] = np.nan
    arrays += [np.minimum(lattice, 1.0), np.r_[0.0, 1.0, 1.0, rng.uniform(0, 0.01, 30)]]
    # Signal among noise, as after a hot-spot run, with NaN sprinkled in.
    mixed = np.concatenate([rng.uniform(0, 0.002, 20), rng.uniform(0, 1, 180)])
    mixed[rng.choice(200, 15, replace=False)] = np.nan
    return [*arrays, mixed]


def test_fdr_adjust_equals_the_hand_written_benjamini_hochberg(planted):
    # The p-values of the hot-spot runs on the planted fixtures (ties, NaN for untested cells),
    # the arrays of test_fdr_adjust_is_benjamini_hochberg, seeded random arrays, edge cases.
    runs = [
        getis_ord(cells, params=GiParams(seed=seed))
        for seed, (_, cells) in zip(SEEDS, planted, strict=True)
    ]
    rng = np.random.default_rng(0)
    cases = [
        *(r["gi_p"].to_numpy() for r in runs),
        np.concatenate([rng.uniform(0, 0.002, 20), rng.uniform(0, 1, 180)]),
        np.array([0.01, np.nan, 0.04]),
        *_random_p_values(),
        np.array([]),
        np.array([np.nan, np.nan]),
        np.array([0.3]),
        [0.5, 0.6, 0.1, 0.001],
    ]
    for p in cases:
        q, expected = fdr_adjust(p), _hand_written_bh(p)
        assert q.dtype == np.float64
        assert q.shape == expected.shape
        np.testing.assert_array_equal(np.isnan(q), np.isnan(expected))
        np.testing.assert_allclose(q, expected, rtol=1e-12, atol=0)
        # The bins are decisions q <= alpha: the same cells at every ArcGIS level.
        for alpha in (0.01, 0.05, 0.10):
            np.testing.assert_array_equal(q <= alpha, expected <= alpha)
    for run in runs:  # and getis_ord reports exactly what fdr_adjust gives
        np.testing.assert_array_equal(run["gi_p_fdr"].to_numpy(), fdr_adjust(run["gi_p"]))
    assert any((r["gi_p_fdr"] <= 0.05).any() for r in runs)  # the runs reject something


def test_bins_follow_arcgis_confidence_levels():
    z = np.array([5.0, 3.0, 2.0, 1.0, -2.0, -3.0, -5.0, 0.0])
    p = np.array([0.001, 0.03, 0.08, 0.2, 0.09, 0.04, 0.005, 0.001])
    assert confidence_bins(z, p).tolist() == [3, 2, 1, 0, -1, -2, -3, 0]


def _square_area(cells_per_side: int = 12) -> tuple[gpd.GeoDataFrame, tuple[float, float]]:
    size = 150.0 * cells_per_side
    x0, y0 = 150.0 * 3380, 150.0 * 16640
    return gpd.GeoDataFrame(
        geometry=[box(x0, y0, x0 + size, y0 + size)], crs=crs.METRIC_CRS
    ).to_crs(crs.STORAGE_CRS), (x0, y0)


def _points(x: object, y: object) -> pd.DataFrame:
    lon, lat = crs.from_metric(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return pd.DataFrame({"lon": lon, "lat": lat})


def test_no_incidents_and_one_busy_cell_are_not_hot_or_cold_spots():
    area, (x0, y0) = _square_area()
    empty = getis_ord(grid_cells(_points([], []), area))
    assert (empty["gi_bin"] == 0).all()
    assert (empty.loc[empty["gi_tested"], "gi_p"] == 1.0).all()
    # 200 incidents in one cell: a shuffle puts them in any 3 x 3 window with chance 9/144,
    # so the block around the cell gets p of about 0.12 (not significant), and the empty rest
    # ties with its zeros: p = 1, never a cold spot.
    one = getis_ord(grid_cells(_points(np.full(200, x0 + 700), np.full(200, y0 + 700)), area))
    busy = one.loc[one["count"] > 0, ["col", "row"]].to_numpy()
    assert len(busy) == 1
    block = ((one["col"] - busy[0, 0]).abs() <= 1) & ((one["row"] - busy[0, 1]).abs() <= 1)
    assert block.sum() == 9
    assert one.loc[block, "gi_p"].to_numpy() == pytest.approx(2 * 9 / 144, abs=0.06)
    assert (one.loc[block, "gi_z"] > 0).all()
    assert (one.loc[~block, "gi_p"] == 1.0).all()
    assert (one["gi_bin"] == 0).all()


def test_a_busy_block_in_a_quiet_grid_is_a_hot_spot_and_the_quiet_rest_is_not_cold():
    area, (x0, y0) = _square_area()
    rng = np.random.default_rng(4)
    # Background one incident per cell on average, and a 3 x 3 block with ten times that.
    bx, by = rng.uniform(x0, x0 + 1800, 144), rng.uniform(y0, y0 + 1800, 144)
    hx, hy = rng.uniform(x0 + 600, x0 + 1050, 90), rng.uniform(y0 + 600, y0 + 1050, 90)
    cells = grid_cells(_points(np.r_[bx, hx], np.r_[by, hy]), area)
    result = getis_ord(cells, params=GiParams(seed=1))
    centre = result.set_index("cell_id").loc["g150m-3385-16645"]
    assert centre["gi_bin"] >= 1
    assert centre["gi_p"] == pytest.approx(0.002)  # the floor of 999 permutations
    assert (result["gi_bin"] >= 0).all()
    # After FDR over 144 cells that floor cannot reach 99 %; 9,999 permutations can.
    assert (result["gi_bin"] < 3).all()
    finer = getis_ord(cells, params=GiParams(seed=1, permutations=9999))
    assert finer.set_index("cell_id").loc["g150m-3385-16645", "gi_bin"] == 3


def test_edge_slivers_and_islands_are_not_tested(pack):
    _, (x0, y0) = _square_area()
    shifted = gpd.GeoDataFrame(
        geometry=[box(x0 + 100, y0 + 100, x0 + 1000, y0 + 1000)], crs=crs.METRIC_CRS
    ).to_crs(crs.STORAGE_CRS)
    rng = np.random.default_rng(5)
    cells = grid_cells(
        _points(rng.uniform(x0 + 100, x0 + 1000, 400), rng.uniform(y0 + 100, y0 + 1000, 400)),
        shifted,
    )
    result = getis_ord(cells, params=GiParams(min_cover=0.5))
    assert (result["gi_tested"] == (result["cover"] >= 0.5)).all()
    assert result.loc[~result["gi_tested"], "gi_p"].isna().all()
    assert (result.loc[~result["gi_tested"], "gi_bin"] == 0).all()
    # Two far-apart cells: neither has a neighbour, so nothing is tested.
    lone = cells.iloc[[0, -1]]
    assert not getis_ord(lone)["gi_tested"].any()


def test_distance_band_on_a_grid_is_the_queen_neighbourhood(planted):
    _, cells = planted[2]
    queen = getis_ord(cells, params=GiParams(seed=3))
    band = getis_ord(cells, params=GiParams(seed=3, neighbours="distance"))
    assert (queen["gi_neighbours"] == band["gi_neighbours"]).all()
    pd.testing.assert_series_equal(queen["gi_bin"], band["gi_bin"])
    assert queen["gi_neighbours"].max() == 8


def test_gi_params_and_input_validation(planted):
    with pytest.raises(ValueError, match="permutations"):
        GiParams(permutations=10)
    with pytest.raises(ValueError, match="inference"):
        GiParams(inference="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="min_cover"):
        GiParams(min_cover=2.0)
    with pytest.raises(ValueError, match=r"geo\.cells"):
        getis_ord(planted[0][1].drop(columns="cover"))


def _period(
    bins: list[int], counts: list[int], ids: tuple[str, ...] = ("a", "b", "c", "d", "e", "f")
) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"cell_id": list(ids), "count": counts, "gi_bin": bins},
        geometry=[box(i, 0, i + 1, 1) for i in range(len(ids))],
        crs=crs.STORAGE_CRS,
    )


def test_compare_periods_labels_follow_their_definitions():
    now = _period([2, 2, 2, 1, 0, 3], [40, 20, 10, 30, 5, 12])
    before = _period([0, 2, 2, 1, 2, 1], [10, 20, 30, 20, 30, 8])
    labelled = compare_periods(now, before)
    assert labelled["trend"].tolist() == [
        "new",
        "persistent",
        "diminishing",
        "intensifying",
        "ended",
        "intensifying",
    ]
    assert labelled["previous_count"].tolist() == [10, 20, 30, 20, 30, 8]
    assert labelled["change"].tolist() == [30, 0, -20, 10, -25, 4]
    # 8 -> 12 is +50 % and 4 incidents: intensifying by default (3), persistent when a rise
    # must be at least 5 incidents.
    assert (
        compare_periods(now, before, params=CompareParams(min_count_change=5))["trend"].iloc[5]
        == "persistent"
    )
    # With two earlier periods, hot in one of them only is sporadic.
    older = _period([0, 0, 2, 1, 0, 0], [0, 0, 30, 20, 0, 0])
    two = compare_periods(now, before, older)
    assert two["trend"].tolist()[:4] == ["new", "sporadic", "diminishing", "intensifying"]
    assert two["hot_before"].tolist() == [0, 1, 2, 2, 1, 1]


def test_compare_periods_needs_matching_cells():
    now = _period([2] * 6, [1] * 6)
    with pytest.raises(ValueError, match="previous period"):
        compare_periods(now)
    other = _period([2] * 6, [1] * 6)
    now.attrs["cell_m"], other.attrs["cell_m"] = 150.0, 250.0
    with pytest.raises(ValueError, match="same cells"):
        compare_periods(now, other)
    with pytest.raises(ValueError, match="getis_ord"):
        compare_periods(now, other.drop(columns="gi_bin"))
    # A cell absent from the earlier period counts as zero and not hot.
    fewer = _period([2] * 5, [1] * 5, ids=("a", "b", "c", "d", "e"))
    assert compare_periods(_period([2] * 6, [9] * 6), fewer)["trend"].iloc[5] == "new"
