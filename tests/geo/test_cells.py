"""Counting incidents per cell: grid, H3, communities, key-road segments; filters; weekly counts."""

import datetime as dt

import geopandas as gpd
import h3
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import LineString, box

from geo import crs
from geo.cells import (
    category_columns,
    community_cells,
    grid_cell_id,
    grid_cells,
    h3_cells,
    road_cells,
    weekly_counts,
)
from geo.incidentfilter import IncidentFilter
from geo.jurisdiction import Jurisdiction
from layers import read_pack

# A 600 m square on the 150 m grid (4 x 4 cells) in EPSG:4547, near Qingshuihe.
X0, Y0 = 150.0 * 3390, 150.0 * 16650


def _area(x0: float = X0, y0: float = Y0, size: float = 600.0) -> gpd.GeoDataFrame:
    square = box(x0, y0, x0 + size, y0 + size)
    return gpd.GeoDataFrame(geometry=[square], crs=crs.METRIC_CRS).to_crs(crs.STORAGE_CRS)


def _incidents(x: object, y: object, **columns: object) -> pd.DataFrame:
    lon, lat = crs.from_metric(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return pd.DataFrame({"lon": lon, "lat": lat, **columns})


@pytest.fixture(scope="module")
def pack():
    return read_pack()


def test_grid_counts_every_cell_of_the_area_with_stable_ids():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(X0, X0 + 600, 500), rng.uniform(Y0, Y0 + 600, 500)
    cells = grid_cells(_incidents(x, y), _area(), by_category=False)
    assert len(cells) == 16
    assert cells["count"].sum() == 500
    assert np.allclose(cells["cover"], 1.0)
    assert cells["area_km2"].sum() == pytest.approx(0.36, rel=1e-6)
    # Ids come from the metric coordinates alone: floor(x / 150), floor(y / 150).
    expected = pd.Series(
        [
            grid_cell_id(int(c), int(r), 150.0)
            for c, r in zip(np.floor(x / 150), np.floor(y / 150), strict=True)
        ]
    ).value_counts()
    got = cells.set_index("cell_id")["count"]
    assert got[got > 0].sort_index().to_dict() == expected.sort_index().to_dict()
    # Another period over the same area has the same cells, whatever its incidents.
    other = grid_cells(_incidents(x[:3], y[:3]), _area(), by_category=False)
    assert list(other["cell_id"]) == list(cells["cell_id"])
    assert other["count"].sum() == 3


def test_grid_keeps_empty_cells_and_edge_cells_with_their_cover():
    # A square shifted by half a cell touches 5 x 5 cells: 9 whole, 12 halves, 4 quarters.
    cells = grid_cells(_incidents([], []), _area(X0 + 75, Y0 + 75), by_category=False)
    assert len(cells) == 25
    assert (cells["count"] == 0).all()
    assert sorted(np.round(cells["cover"], 6).value_counts().items()) == [
        (0.25, 4),
        (0.5, 12),
        (1.0, 9),
    ]
    assert cells["area_km2"].sum() == pytest.approx(0.36, rel=1e-6)
    # An edge cell's anchor lies in its part inside the area, where a map should zoom.
    area = crs.to_metric(*_area(X0 + 75, Y0 + 75).geometry.iloc[0].exterior.xy)
    inside = shapely.contains_xy(
        shapely.Polygon(np.column_stack(area)).buffer(0.01),
        *crs.to_metric(cells["lon"], cells["lat"]),
    )
    assert inside.all()


def test_grid_accepts_a_geodataframe_and_counts_categories():
    rng = np.random.default_rng(1)
    x, y = rng.uniform(X0, X0 + 600, 300), rng.uniform(Y0, Y0 + 600, 300)
    category = rng.choice(["C01", "C02", "C06"], 300)
    frame = _incidents(x, y, category=category)
    points = gpd.GeoDataFrame(
        {"category": category}, geometry=gpd.points_from_xy(x, y), crs=crs.METRIC_CRS
    )
    by_columns = grid_cells(frame, _area())
    by_points = grid_cells(points, _area())
    assert category_columns(by_columns) == ["count_C01", "count_C02", "count_C06"]
    pd.testing.assert_frame_equal(
        by_columns.drop(columns="geometry"), by_points.drop(columns="geometry")
    )
    assert (by_columns[category_columns(by_columns)].sum(axis=1) == by_columns["count"]).all()
    assert by_columns["count_C02"].sum() == (category == "C02").sum()


def test_incidents_outside_the_area_are_dropped_and_reported():
    cells = grid_cells(_incidents([X0 + 10, X0 - 500], [Y0 + 10, Y0 + 10]), _area())
    assert cells["count"].sum() == 1
    assert cells.attrs["dropped"] == 1
    assert cells.attrs["incidents"] == 1
    assert cells.attrs["cell_kind"] == "grid"


def test_bad_grid_input_names_the_fix():
    with pytest.raises(ValueError, match="cell_m"):
        grid_cells(_incidents([], []), _area(), cell_m=1.0)
    with pytest.raises(ValueError, match="lon and lat"):
        grid_cells(pd.DataFrame({"x": [1.0]}), _area())
    with pytest.raises(ValueError, match="no polygon"):
        grid_cells(_incidents([], []), shapely.Point(114.0, 22.5))
    with pytest.raises(ValueError, match="lat"):
        grid_cells(pd.DataFrame({"lon": [114.1], "lat": [95.0]}), _area())


def _timed() -> pd.DataFrame:
    # From Monday 2026-11-02, one incident every 5 hours into a third week; naive local times.
    when = pd.date_range("2026-11-02 00:30", periods=70, freq="5h")
    n = len(when)
    rng = np.random.default_rng(2)
    return _incidents(
        rng.uniform(X0, X0 + 600, n),
        rng.uniform(Y0, Y0 + 600, n),
        occurred_at=when,
        category=np.where(np.arange(n) % 3 == 0, "C02", "C01"),
        source=np.where(np.arange(n) % 2 == 0, "complaint", "patrol"),
    )


def test_filters_select_by_category_source_period_shift_and_weekday():
    incidents = _timed()
    when = pd.DatetimeIndex(incidents["occurred_at"])
    hour = when.hour + when.minute / 60
    nov5, nov9 = pd.Timestamp("2026-11-05"), pd.Timestamp("2026-11-09")
    cases = {
        IncidentFilter(categories=("C02",)): incidents["category"] == "C02",
        IncidentFilter(sources=["patrol"]):  # type: ignore[arg-type]  # lists are fine
        incidents["source"] == "patrol",
        IncidentFilter(start="2026-11-05", end=dt.date(2026, 11, 9)): (when >= nov5)
        & (when < nov9),
        IncidentFilter(shift=(7, 15)): (hour >= 7) & (hour < 15),
        IncidentFilter(shift=(22, 6)): (hour >= 22) | (hour < 6),
        IncidentFilter(weekdays=(5, 6)): when.day_of_week >= 5,
        IncidentFilter(categories="C01", weekdays=0):  # type: ignore[arg-type]
        (incidents["category"] == "C01") & (when.day_of_week == 0),
    }
    for where, expected in cases.items():
        mask = where.mask(incidents)
        assert mask.tolist() == np.asarray(expected).tolist(), where
        assert grid_cells(incidents, _area(), where=where)["count"].sum() == mask.sum()
        assert 0 < mask.sum() < len(incidents), where  # each case really filters


def test_filter_reads_aware_times_in_local_time():
    incidents = _timed()
    aware = incidents.assign(
        occurred_at=pd.DatetimeIndex(incidents["occurred_at"])
        .tz_localize("Asia/Shanghai")
        .tz_convert("UTC")
    )
    where = IncidentFilter(shift=(7, 15), start="2026-11-03T00:00+08:00")
    assert where.mask(aware).tolist() == where.mask(incidents).tolist()
    assert IncidentFilter().keeps_all
    assert not where.keeps_all
    text = IncidentFilter(categories=("C02",), shift=(22, 6), weekdays=(5, 6)).describe()
    assert "C02" in text
    assert "22:00–06:00" in text
    assert "周六、周日" in text


def test_filter_validation_names_the_field():
    with pytest.raises(ValueError, match="weekdays"):
        IncidentFilter(weekdays=(7,))
    with pytest.raises(ValueError, match="shift"):
        IncidentFilter(shift=(8, 8))
    with pytest.raises(ValueError, match="shift"):
        IncidentFilter(shift=(8, 25))
    with pytest.raises(ValueError, match="end"):
        IncidentFilter(start="2026-11-05", end="2026-11-01")
    with pytest.raises(ValueError, match="start"):
        IncidentFilter(start="not a date")
    with pytest.raises(ValueError, match="categories"):
        IncidentFilter(categories=())
    with pytest.raises(TypeError, match="sources"):
        IncidentFilter(sources=(1, 2))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'source' column"):
        IncidentFilter(sources=("patrol",)).mask(pd.DataFrame({"lon": [1.0], "lat": [1.0]}))


def test_h3_cells_agree_with_h3_and_cover_the_area(pack):
    rng = np.random.default_rng(3)
    west, south, east, north = pack.communities.total_bounds
    lon, lat = rng.uniform(west, east, 2000), rng.uniform(south, north, 2000)
    area = pack.communities
    for resolution in (9, 10):
        cells = h3_cells(
            pd.DataFrame({"lon": lon, "lat": lat}), area, resolution=resolution, by_category=False
        )
        ids = set(cells["cell_id"])
        expected = pd.Series(
            [h3.latlng_to_cell(a, o, resolution) for o, a in zip(lon, lat, strict=True)]
        )
        counted = expected[expected.isin(ids)].value_counts()
        got = cells.set_index("cell_id")["count"]
        assert got[got > 0].sort_index().to_dict() == counted.sort_index().to_dict()
        # The cells tile the area: their in-area parts add up to it.
        total = area.to_crs(crs.METRIC_CRS).union_all().area / 1e6
        assert cells["area_km2"].sum() == pytest.approx(total, rel=1e-6)
        assert (cells["cover"] > 0).all()
        assert cells.attrs["resolution"] == resolution
    with pytest.raises(ValueError, match="resolution"):
        h3_cells(pd.DataFrame({"lon": lon, "lat": lat}), area, resolution=15)


def test_community_counts_match_the_jurisdiction(pack):
    rng = np.random.default_rng(4)
    west, south, east, north = pack.communities.total_bounds
    lon, lat = rng.uniform(west, east, 3000), rng.uniform(south, north, 3000)
    cells = community_cells(
        pd.DataFrame({"lon": lon, "lat": lat}), pack.communities, by_category=False
    )
    jurisdiction = Jurisdiction.build(pack.communities)
    assigned = jurisdiction.assign(lon, lat)
    expected = pd.Series(jurisdiction.codes[assigned[assigned >= 0]]).value_counts()
    assert cells.set_index("cell_id")["count"].to_dict() == {
        code: int(expected.get(code, 0)) for code in cells["cell_id"]
    }
    assert cells.attrs["dropped"] == int((assigned < 0).sum())
    assert set(cells.columns) >= {"name_zh", "squad", "area_km2"}
    assert cells["area_km2"].sum() == pytest.approx(13.46, abs=0.05)


def test_community_boundary_point_goes_to_the_lower_code():
    left = box(0, 0, 1000, 1000)
    right = box(1000, 0, 2000, 1000)
    communities = gpd.GeoDataFrame(
        {"code": ["B2", "A1"], "name_zh": ["乙", "甲"], "squad": ["east", "west"]},
        geometry=[right, left],
        crs=crs.METRIC_CRS,
    ).to_crs(crs.STORAGE_CRS)
    edge = communities.geometry.iloc[0].exterior.coords[3]  # a vertex on the shared edge
    frame = pd.DataFrame({"lon": [edge[0]], "lat": [edge[1]]})
    cells = community_cells(frame, communities)
    counts = cells.set_index("cell_id")["count"]
    assert counts["A1"] + counts["B2"] == 1
    assert list(cells["cell_id"]) == ["A1", "B2"]


def test_road_segments_take_the_nearest_incidents_within_the_buffer():
    road = LineString([(X0, Y0), (X0 + 1000, Y0)])
    roads = gpd.GeoDataFrame(
        {"road_id": ["r1"], "name_zh": ["测试路"], "squad": ["west"]},
        geometry=[road],
        crs=crs.METRIC_CRS,
    ).to_crs(crs.STORAGE_CRS)
    # Along the road at 10 m off it, one 100 m off (dropped), one past its end (dropped).
    x = np.array([X0 + 50, X0 + 260, X0 + 990, X0 + 500, X0 + 1100])
    y = np.array([Y0 + 10, Y0 - 10, Y0 + 10, Y0 + 100, Y0])
    cells = road_cells(_incidents(x, y, category=["C02"] * 5), roads, segment_m=200.0)
    assert list(cells["cell_id"]) == [f"r1#{k}" for k in range(1, 6)]
    assert cells["length_km"].to_numpy() == pytest.approx([0.2] * 5)
    assert cells["count"].tolist() == [1, 1, 0, 0, 1]
    assert cells.attrs["dropped"] == 2
    assert cells["area_km2"].to_numpy() == pytest.approx([0.2 * 0.06] * 5, rel=1e-3)
    with pytest.raises(ValueError, match="buffer_m"):
        road_cells(_incidents(x, y), roads, buffer_m=0.0)


def test_weekly_counts_start_on_monday_and_add_up():
    incidents = _timed()
    weekly = weekly_counts(incidents, _area())
    assert list(weekly.columns) == ["week", "cell_id", "lon", "lat", "count"]
    weeks = sorted(weekly["week"].unique())
    assert [pd.Timestamp(w).strftime("%Y-%m-%d %a") for w in weeks] == [
        "2026-11-02 Mon",
        "2026-11-09 Mon",
        "2026-11-16 Mon",
    ]
    when = pd.DatetimeIndex(incidents["occurred_at"])
    per_week = weekly.groupby("week")["count"].sum().tolist()
    nov9, nov16 = pd.Timestamp("2026-11-09"), pd.Timestamp("2026-11-16")
    assert per_week == [
        int((when < nov9).sum()),
        int(((when >= nov9) & (when < nov16)).sum()),
        int((when >= nov16).sum()),
    ]
    cells = grid_cells(incidents, _area())
    assert set(weekly["cell_id"]) <= set(cells["cell_id"])
    filtered = weekly_counts(incidents, _area(), where=IncidentFilter(categories=("C02",)))
    assert filtered["count"].sum() == (incidents["category"] == "C02").sum()
    assert weekly_counts(incidents.iloc[:0], _area()).empty
