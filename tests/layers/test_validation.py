"""Validation of deliberately broken packs: each problem names the feature and the fix."""

import pandas as pd
import pytest
import shapely

from geo.errors import LayerValidationError
from layers import ensure_valid, read_pack, validate_pack

from .conftest import to_wgs, write_pack


def _issues(tmp_path, communities, roads, stations, **extra):
    pack = read_pack(write_pack(tmp_path, communities, roads, stations, extra=extra or None))
    return [str(i) for i in validate_pack(pack)], pack


def test_good_pack_has_no_issues(tmp_path, frames):
    issues, pack = _issues(tmp_path, *frames)
    assert issues == []
    assert ensure_valid(pack) == []


def test_invalid_geometry_is_named_with_its_repair(tmp_path, frames):
    communities, roads, stations = frames
    bowtie = shapely.Polygon([(0, 0), (1000, 1000), (1000, 0), (0, 1000)])
    communities.loc[1, "geometry"] = to_wgs(bowtie)
    issues, pack = _issues(tmp_path, communities, roads, stations)
    assert any(
        "communities[440303010001]: is invalid (Self-intersection" in i and "make_valid" in i
        for i in issues
    )
    with pytest.raises(LayerValidationError, match="440303010001"):
        ensure_valid(pack)


def test_empty_geometry(tmp_path, frames):
    communities, roads, stations = frames
    roads.loc[0, "geometry"] = shapely.LineString()
    issues, _ = _issues(tmp_path, communities, roads, stations)
    assert any(i.startswith("key_roads[test-lu]: has no geometry") for i in issues)


def test_overlap_over_one_square_metre(tmp_path, frames):
    communities, roads, stations = frames
    communities.loc[1, "geometry"] = to_wgs(shapely.box(990, 0, 2000, 1000))
    issues, _ = _issues(tmp_path, communities, roads, stations)
    overlap = [i for i in issues if "overlap by" in i]
    assert len(overlap) == 1
    assert "440303010002/440303010001" in overlap[0] or "440303010001/440303010002" in overlap[0]
    assert "10,000" in overlap[0] or "9,9" in overlap[0]


def test_gap_inside_the_jurisdiction_is_reported_not_blocking(tmp_path, frames):
    communities, roads, stations = frames
    west = shapely.box(0, 0, 1000, 1000).difference(shapely.box(400, 400, 600, 600))
    communities.loc[0, "geometry"] = to_wgs(west)
    issues, pack = _issues(tmp_path, communities, roads, stations)
    gaps = [i for i in issues if "belongs to no community" in i]
    assert len(gaps) == 1
    assert "40,0" in gaps[0] or "39,9" in gaps[0]
    assert len(ensure_valid(pack)) == 1  # a warning, returned, not raised


@pytest.mark.parametrize(
    ("code", "problem"), [("44030301000X", "malformed code"), ("440303010002", "repeats the code")]
)
def test_duplicate_or_malformed_codes(tmp_path, frames, code, problem):
    communities, roads, stations = frames
    communities.loc[1, "code"] = code
    issues, _ = _issues(tmp_path, communities, roads, stations)
    assert any(problem in i for i in issues), issues


def test_community_and_road_without_squad(tmp_path, frames):
    communities, roads, stations = frames
    communities.loc[0, "squad"] = None
    roads.loc[0, "squad"] = "north"
    issues, _ = _issues(tmp_path, communities, roads, stations)
    assert any(i.startswith("communities[440303010002]: has no squad.") for i in issues)
    assert any("key_roads[test-lu]: names an unknown squad 'north'" in i for i in issues)


def test_coordinates_outside_any_plausible_range(tmp_path, frames):
    communities, roads, stations = frames
    # Metres written into a file that claims lon/lat: the classic missing-CRS mistake.
    metric = communities.to_crs("EPSG:4547").set_crs("EPSG:4326", allow_override=True)
    pack = read_pack(write_pack(tmp_path, communities, roads, stations))
    pack = pack.__class__(
        **{**pack.__dict__, "communities": pack.communities.assign(geometry=metric.geometry.values)}
    )
    issues = [str(i) for i in validate_pack(pack)]
    assert any("out of any plausible range" in i and "source_crs" in i for i in issues)


def test_unknown_station_kind_and_missing_base(tmp_path, frames):
    communities, roads, stations = frames
    stations.loc[0, "kind"] = "kiosk"
    squads = [
        {"code": "west", "name_zh": "一", "name_en": "1", "base_station": "nowhere"},
        {"code": "east", "name_zh": "二", "name_en": "2", "base_station": "base"},
    ]
    issues, _ = _issues(tmp_path, communities, roads, stations, squads=squads)
    assert any("stations[base]: has an unknown kind 'kiosk'" in i for i in issues)
    assert any("squads[west]: names a base station 'nowhere'" in i for i in issues)


def test_issue_order_is_stable(tmp_path, frames):
    communities, roads, stations = frames
    communities.loc[0, "squad"] = None
    first, _ = _issues(tmp_path / "a", communities, roads, stations)
    second, _ = _issues(tmp_path / "b", communities, roads, stations)
    assert first == second
    assert isinstance(pd.Series(first), pd.Series)
