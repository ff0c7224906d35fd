"""Reading packs and layers from GeoJSON, GeoPackage and Shapefile, with declared CRSs."""

import numpy as np
import pytest
import shapely

from geo import crs
from layers import read_pack
from layers.loader import read_layer

from .conftest import write_pack


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [
        (".geojson", "GeoJSON"),
        (".gpkg", "GPKG"),
        pytest.param(
            ".shp",
            "ESRI Shapefile",
            marks=[
                pytest.mark.filterwarnings(
                    "ignore:Column names longer than 10 characters:UserWarning"
                ),
                pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning"),
                pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
            ],
        ),
    ],
)
def test_pack_reads_the_same_from_every_format(tmp_path, frames, suffix, driver):
    pack = read_pack(write_pack(tmp_path / driver, *frames, suffix=suffix, driver=driver))
    communities = frames[0]
    assert pack.communities["code"].tolist() == communities["code"].tolist()
    assert pack.communities["aliases"].tolist() == [["坭岗"], []]
    assert pack.communities.crs.to_epsg() == 4326
    # Shapefiles rewind rings, so compare normalised shapes.
    assert shapely.equals_exact(
        shapely.normalize(pack.communities.geometry.values),
        shapely.normalize(communities.geometry.values),
        tolerance=1e-9,
    ).all()
    assert pack.key_roads["squad"].tolist() == ["west"]
    assert pack.community_lookup()["坭岗"] == "440303010002"
    assert pack.community_lookup()["泥岗"] == "440303010002"


def test_squad_area_is_the_union_of_its_communities(tmp_path, frames):
    pack = read_pack(write_pack(tmp_path, *frames))
    areas = pack.squad_areas().set_index("code")
    assert areas.loc["west", "geometry"].equals(pack.communities.geometry.iloc[0])
    assert areas.loc["west", "base_station"] == "base"


def test_projected_files_are_reprojected_to_wgs84(tmp_path, frames):
    communities = frames[0]
    communities.to_crs("EPSG:4547").to_file(tmp_path / "c.gpkg", driver="GPKG")
    back = read_layer(tmp_path / "c.gpkg")
    assert back.crs.to_epsg() == 4326
    assert np.allclose(
        shapely.get_coordinates(back.geometry.values),
        shapely.get_coordinates(communities.geometry.values),
        atol=1e-8,
    )


@pytest.mark.parametrize(
    ("system", "forward"), [("gcj02", crs.wgs84_to_gcj02), ("bd09", crs.wgs84_to_bd09)]
)
def test_declared_gcj02_and_bd09_sources_are_converted(tmp_path, frames, system, forward):
    communities = frames[0].copy()
    shifted = communities.copy()
    shifted["geometry"] = shapely.transform(
        communities.geometry.values, lambda c: np.column_stack(forward(c[:, 0], c[:, 1]))
    )
    shifted.to_file(tmp_path / "shifted.geojson", driver="GeoJSON")
    raw = read_layer(tmp_path / "shifted.geojson")
    back = read_layer(tmp_path / "shifted.geojson", source_crs=system)
    original = shapely.get_coordinates(communities.geometry.values)
    assert not np.allclose(shapely.get_coordinates(raw.geometry.values), original, atol=1e-4)
    assert np.allclose(shapely.get_coordinates(back.geometry.values), original, atol=1e-8)


@pytest.mark.filterwarnings("ignore:Column names longer than 10 characters:UserWarning")
@pytest.mark.filterwarnings("ignore:'crs' was not provided:UserWarning")
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name:RuntimeWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_file_without_crs_asks_for_one(tmp_path, frames):
    frames[0].set_crs(None, allow_override=True).to_file(tmp_path / "nocrs.shp")
    with pytest.raises(ValueError, match=r"declares no CRS\. Pass source_crs"):
        read_layer(tmp_path / "nocrs.shp")
    assert read_layer(tmp_path / "nocrs.shp", source_crs="wgs84").crs.to_epsg() == 4326


def test_missing_and_unsupported_files_say_what_to_give(tmp_path):
    with pytest.raises(FileNotFoundError, match="GeoJSON, GeoPackage or Shapefile"):
        read_layer(tmp_path / "none.geojson")
    (tmp_path / "x.kml").write_text("<kml/>", encoding="utf-8")
    with pytest.raises(ValueError, match=r"unsupported format '\.kml'"):
        read_layer(tmp_path / "x.kml")
    with pytest.raises(FileNotFoundError, match=r"no pack\.json"):
        read_pack(tmp_path)
