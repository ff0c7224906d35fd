"""Road graphs: the real Futian OSM graph against networkx, snapping, noding and OSM reading."""

import math

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import pytest
import shapely

from geo import crs
from geo.roadgraph import (
    RoadGraphError,
    SpeedParams,
    component_labels,
    from_lines,
    largest_component,
    read_graphml,
    read_osm,
    road_class,
)
from geo.travel import distance_matrix, route, travel_time_matrix
from tests.shared_data import shared_file

# A street grid origin in Qingshuihe, EPSG:4547 metres (easting, northing).
X0, Y0 = 519_000.0, 2_497_000.0


def metric_length(line):
    x, y = crs.to_metric(*shapely.get_coordinates(line).T)
    return shapely.length(shapely.LineString(np.column_stack([x, y])))


def lines_frame(rows):
    """Lines given in local metres from (X0, Y0) as a WGS84 frame with the pack's columns."""
    geoms = []
    for coords in (r[0] for r in rows):
        xy = np.asarray(coords, dtype=float) + np.array([X0, Y0])
        geoms.append(shapely.LineString(np.column_stack(crs.from_metric(xy[:, 0], xy[:, 1]))))
    return gpd.GeoDataFrame(
        {
            "road_class": [r[1] for r in rows],
            "oneway": [r[2] for r in rows],
            "name_zh": [f"路{i}" for i in range(len(rows))],
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def lonlat(x, y):
    lon, lat = crs.from_metric(np.atleast_1d(x) + X0, np.atleast_1d(y) + Y0)
    return lon, lat


# -- the real OSM graph ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def futian_path():
    return shared_file("data", "futian_osm_drive_graph.graphml")


@pytest.fixture(scope="module")
def futian(futian_path):
    return read_graphml(futian_path)


def reference_graph(path, mode, factor, speeds):
    """networkx DiGraph with independently computed weights (cheapest parallel edge)."""
    source = ox.load_graphml(path)
    graph = nx.DiGraph()
    graph.add_nodes_from(source.nodes)
    for u, v, data in source.edges(data=True):
        cls = road_class(data["highway"])
        maxspeed = data.get("maxspeed")
        cap = (
            min(float(s) for s in maxspeed)
            if isinstance(maxspeed, list)
            else (float(maxspeed) if maxspeed else math.inf)
        )
        kmh = getattr(speeds, mode).get(cls)
        if u == v or kmh is None:
            continue  # self-loops never shorten a path; closed classes carry no one
        kmh = min(kmh, cap)
        geom = data.get("geometry") or shapely.LineString(
            [
                (source.nodes[u]["x"], source.nodes[u]["y"]),
                (source.nodes[v]["x"], source.nodes[v]["y"]),
            ]
        )
        length = metric_length(geom)
        pairs = [(u, v)]
        if mode not in speeds.oneway_modes and data["oneway"]:
            pairs.append((v, u))
        for a, b in pairs:
            weights = {"length": length, "time": length / (kmh / 3.6) * factor}
            if graph.has_edge(a, b):
                for key, w in weights.items():
                    graph[a][b][key] = min(graph[a][b][key], w)
            else:
                graph.add_edge(a, b, **weights)
    return graph


@pytest.mark.shared
def test_futian_graph_loads_with_metric_lengths(futian, futian_path):
    assert futian.n_nodes == 1970
    # 3,908 directed OSMnx edges: each mirrored two-way pair is stored once.
    source = ox.load_graphml(futian_path)
    two_way = sum(1 for *_, d in source.edges(data=True) if not d["oneway"])
    assert futian.n_edges == 3908 - two_way // 2
    osm_length = np.asarray([d["length"] for *_, d in source.edges(data=True)])
    assert futian.length_m.sum() == pytest.approx(
        osm_length.sum()
        - sum(d["length"] for *_, d in source.edges(data=True) if not d["oneway"]) / 2,
        rel=2e-3,
    )
    assert set(futian.road_class) <= {
        "expressway",
        "trunk",
        "primary",
        "secondary",
        "tertiary",
        "residential",
        "service",
    }


@pytest.mark.shared
@pytest.mark.parametrize(
    ("mode", "shift", "factor"),
    [("car", "late", 1.25), ("ebike", "early", 1.0), ("foot", "late", 1.0)],
)
def test_matrices_equal_networkx_shortest_paths(futian, futian_path, mode, shift, factor):
    reference = reference_graph(futian_path, mode, factor, futian.speeds)
    rng = np.random.default_rng(42)
    sources = rng.choice(futian.node_ids, 30, replace=False)
    times = travel_time_matrix(futian, sources, futian.node_ids, mode=mode, shift=shift)
    dists = distance_matrix(futian, sources, futian.node_ids, mode=mode)
    for row, source in enumerate(sources):
        for weight, ours in (("time", times[row]), ("length", dists[row])):
            lengths = nx.single_source_dijkstra_path_length(reference, source, weight=weight)
            expected = np.asarray([lengths.get(n, np.inf) for n in futian.node_ids])
            np.testing.assert_allclose(ours, expected, rtol=1e-9)
    assert np.isinf(times).any()  # the extract is clipped: some nodes cannot be reached


@pytest.mark.shared
def test_one_way_streets_make_the_matrix_asymmetric_for_cars_only(futian, futian_path):
    rng = np.random.default_rng(7)
    nodes = rng.choice(futian.node_ids, 60, replace=False)
    car = travel_time_matrix(futian, nodes, mode="car")
    both = np.isfinite(car) & np.isfinite(car.T)
    gap = np.abs(np.where(both, car, 0.0) - np.where(both, car.T, 0.0))
    asymmetric = both & (gap > 1.0)
    assert asymmetric.any()
    i, j = np.argwhere(asymmetric)[0]
    reference = reference_graph(futian_path, "car", 1.0, futian.speeds)
    forward = nx.dijkstra_path_length(reference, nodes[i], nodes[j], weight="time")
    backward = nx.dijkstra_path_length(reference, nodes[j], nodes[i], weight="time")
    assert (car[i, j], car[j, i]) == (pytest.approx(forward), pytest.approx(backward))
    foot = distance_matrix(futian, nodes, mode="foot")
    np.testing.assert_allclose(foot, foot.T, rtol=1e-9)  # walkers ignore one-way signs


@pytest.mark.shared
def test_late_shift_slows_cars_by_its_factor(futian):
    nodes = futian.node_ids[:40]
    early = travel_time_matrix(futian, nodes, mode="car", shift="early")
    late = travel_time_matrix(futian, nodes, mode="car", shift="late")
    finite = np.isfinite(early)
    np.testing.assert_allclose(late[finite], 1.25 * early[finite], rtol=1e-12)


@pytest.mark.shared
def test_snap_finds_the_edge_at_a_known_offset(futian):
    rng = np.random.default_rng(3)
    tree = shapely.STRtree(futian.metric_geometry)
    checked = 0
    for edge in rng.permutation(futian.n_edges):
        line = futian.metric_geometry[edge]
        if futian.length_m[edge] < 80:
            continue
        mid = line.interpolate(0.5, normalized=True)
        ahead = line.interpolate(0.5 * line.length + 1.0)
        dx, dy = ahead.x - mid.x, ahead.y - mid.y
        norm = math.hypot(dx, dy)
        point = shapely.Point(mid.x - 8.0 * dy / norm, mid.y + 8.0 * dx / norm)
        near = tree.query(point, predicate="dwithin", distance=30.0)
        if set(near) - {edge} or futian.road_class[edge] == "expressway":
            continue  # another road nearby would be a fair answer too
        lon, lat = crs.from_metric([point.x], [point.y])
        snapped = futian.snap(lon, lat)
        assert snapped.edge[0] == edge
        assert snapped.access_m[0] == pytest.approx(8.0, abs=0.05)
        assert snapped.offset_m[0] == pytest.approx(futian.length_m[edge] / 2, abs=0.5)
        checked += 1
        if checked == 5:
            break
    assert checked == 5


@pytest.mark.shared
def test_route_follows_the_matrix_and_starts_at_the_points(futian):
    component = largest_component(futian, mode="car")
    assert np.all(component_labels(component, mode="car") == 0)
    rng = np.random.default_rng(11)
    west, south, east, north = (
        *np.percentile(component.lon, [10]),
        *np.percentile(component.lat, [10]),
        *np.percentile(component.lon, [90]),
        *np.percentile(component.lat, [90]),
    )
    lon, lat = rng.uniform(west, east, 6), rng.uniform(south, north, 6)
    snapped = component.snap(lon, lat, mode="car", max_snap_m=500)
    times = travel_time_matrix(component, snapped, mode="car", shift="late")
    dists = distance_matrix(component, snapped, mode="car")
    assert np.isfinite(times).all()  # one strongly connected component
    for i, j in [(0, 1), (1, 0), (2, 5), (4, 3)]:
        fast = route(component, snapped.take(i), snapped.take(j), mode="car", shift="late")
        short = route(component, snapped.take(i), snapped.take(j), mode="car", weight="length")
        assert fast.time_s == pytest.approx(times[i, j], rel=1e-9)
        assert short.length_m == pytest.approx(dists[i, j], rel=1e-9)
        assert metric_length(short.geometry) == pytest.approx(short.length_m, rel=1e-6)
        assert metric_length(fast.geometry) == pytest.approx(fast.length_m, rel=1e-6)
        start, end = shapely.get_coordinates(fast.geometry)[[0, -1]]
        np.testing.assert_allclose(start, (lon[i], lat[i]), atol=1e-9)
        np.testing.assert_allclose(end, (lon[j], lat[j]), atol=1e-9)
        assert (
            fast.nodes[0]
            in component.node_ids[[component.u[snapped.edge[i]], component.v[snapped.edge[i]]]]
        )


# -- hand-built networks ---------------------------------------------------------------------


def test_crossing_lines_become_four_edges_at_one_node():
    graph = from_lines(
        lines_frame(
            [
                ([(0, 0), (200, 0)], "primary", False),
                ([(100, -100), (100, 100)], "residential", False),
            ]
        )
    )
    assert graph.n_edges == 4
    assert graph.n_nodes == 5
    degree = np.bincount(np.r_[graph.u, graph.v], minlength=graph.n_nodes)
    centre = int(np.argmax(degree))
    assert degree[centre] == 4
    assert (graph.x[centre] - X0, graph.y[centre] - Y0) == (
        pytest.approx(100, abs=1e-3),
        pytest.approx(0, abs=1e-3),
    )
    np.testing.assert_allclose(np.sort(graph.length_m), [100] * 4, rtol=1e-6)
    assert set(graph.name) == {"路0", "路1"}


def test_t_junction_within_half_a_metre_connects_but_five_metres_does_not():
    graph = from_lines(
        lines_frame(
            [
                ([(0, 0), (200, 0)], "secondary", False),
                ([(80, 0.5), (80, 100)], "residential", False),
                ([(150, 5.0), (150, 100)], "residential", False),
            ]
        )
    )
    ends = graph.snap_nodes(graph.node_ids)
    dist = distance_matrix(graph, ends, mode="foot")
    top_near = np.argmin(np.hypot(graph.x - X0 - 80, graph.y - Y0 - 100))
    top_far = np.argmin(np.hypot(graph.x - X0 - 150, graph.y - Y0 - 100))
    west = np.argmin(np.hypot(graph.x - X0, graph.y - Y0))
    # The through road bends to meet the T's digitized end: lengths move by under snap_m.
    assert dist[top_near, west] == pytest.approx(80 + 100, abs=0.6)
    assert dist[top_far, west] == np.inf
    assert graph.n_edges == 4  # the main road split once, at the welded T


def test_partial_edges_on_a_street_and_on_a_one_way_street():
    graph = from_lines(
        lines_frame(
            [
                ([(0, 0), (100, 0)], "residential", False),
                ([(0, 20), (100, 20)], "residential", True),
            ]
        )
    )
    lon, lat = lonlat([20, 70, 20, 70], [-5, -5, 25, 25])
    pts = graph.snap(lon, lat, mode="car")
    np.testing.assert_allclose(pts.access_m, 5.0, atol=1e-6)
    np.testing.assert_allclose(pts.offset_m, [20, 70, 20, 70], atol=1e-6)
    car = distance_matrix(graph, pts, mode="car")
    assert car[0, 1] == pytest.approx(50 + 10, abs=1e-6)
    assert car[1, 0] == pytest.approx(50 + 10, abs=1e-6)  # two-way: straight back
    assert car[2, 3] == pytest.approx(50 + 10, abs=1e-6)  # along the one-way street
    assert car[3, 2] == np.inf  # against it, with no way around
    foot = distance_matrix(graph, graph.snap(lon, lat, mode="foot"), mode="foot")
    assert foot[3, 2] == pytest.approx(60, abs=1e-6)
    speeds = SpeedParams()
    seconds = travel_time_matrix(graph, pts, mode="car")
    expected = 50 / (speeds.car["residential"] / 3.6) + 10 / (speeds.access_kmh["car"] / 3.6)
    assert seconds[2, 3] == pytest.approx(expected, rel=1e-9)
    path = route(graph, pts.take(0), pts.take(1), mode="car", weight="length")
    assert path.length_m == pytest.approx(60, abs=1e-6)
    assert len(path.nodes) == 0
    with pytest.raises(RoadGraphError, match="No car route"):
        route(graph, pts.take(3), pts.take(2), mode="car")


def test_snapping_limits_and_modes():
    graph = from_lines(
        lines_frame(
            [([(0, 0), (100, 0)], "expressway", True), ([(0, 30), (100, 30)], "residential", False)]
        )
    )
    lon, lat = lonlat([50, 50], [5, 2000])
    assert (
        graph.snap(lon[:1], lat[:1], mode="car").edge[0]
        != graph.snap(lon[:1], lat[:1], mode="foot").edge[0]
    )  # walkers may not use the expressway
    with pytest.raises(RoadGraphError, match="max_snap_m"):
        graph.snap(lon, lat, max_snap_m=100)
    flagged = graph.snap(lon, lat, mode="car", max_snap_m=100, on_far="flag")
    assert flagged.ok.tolist() == [True, False]
    matrix = travel_time_matrix(graph, flagged, mode="car")
    assert np.isinf(matrix[1]).all()
    assert np.isinf(matrix[:, 1]).all()
    with pytest.raises(RoadGraphError, match="snapped for car"):
        travel_time_matrix(graph, flagged, mode="foot")


def test_speed_params_are_validated():
    with pytest.raises(ValueError, match="Unknown road class"):
        SpeedParams(car={"motorway": 80.0})
    with pytest.raises(ValueError, match="speed on primary"):
        SpeedParams(ebike={"primary": -3.0})
    with pytest.raises(ValueError, match="Unknown shift"):
        SpeedParams().factor("car", "night")
    with pytest.raises(ValueError, match="Unknown mode"):
        SpeedParams().factor("bus", "early")
    assert SpeedParams().speed_kmh("car", "primary", 20.0) == 20.0
    assert math.isnan(SpeedParams().speed_kmh("ebike", "expressway"))
    assert road_class(["secondary", "primary_link"]) == "primary"
    assert road_class("platform") is None


def test_unknown_road_class_in_a_layer_is_named():
    frame = lines_frame([([(0, 0), (100, 0)], "boulevard", False)])
    with pytest.raises(RoadGraphError, match="boulevard"):
        from_lines(frame)


OSM_XML = """<?xml version="1.0" encoding="UTF-8"?>
<osm version="0.6" generator="jiedao-test">
 <node id="1" lat="22.5500" lon="114.1000" version="1"/>
 <node id="2" lat="22.5500" lon="114.1010" version="1"/>
 <node id="3" lat="22.5500" lon="114.1020" version="1"/>
 <node id="4" lat="22.5510" lon="114.1010" version="1"/>
 <node id="5" lat="22.5520" lon="114.1010" version="1"/>
 <node id="6" lat="22.5490" lon="114.1010" version="1"/>
 <node id="7" lat="22.5480" lon="114.1010" version="1"/>
 <way id="10" version="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>
  <tag k="highway" v="primary"/><tag k="name" v="东门路"/><tag k="maxspeed" v="40"/></way>
 <way id="11" version="1"><nd ref="2"/><nd ref="4"/><nd ref="5"/>
  <tag k="highway" v="residential"/><tag k="oneway" v="yes"/></way>
 <way id="12" version="1"><nd ref="2"/><nd ref="6"/><nd ref="7"/>
  <tag k="highway" v="tertiary"/><tag k="oneway" v="-1"/></way>
 <way id="13" version="1"><nd ref="5"/><nd ref="3"/><tag k="highway" v="footway"/></way>
 <way id="14" version="1"><nd ref="1"/><nd ref="7"/><tag k="highway" v="proposed"/></way>
</osm>
"""


def test_read_osm_splits_ways_at_shared_nodes_and_honours_one_way(tmp_path):
    path = tmp_path / "small.osm"
    path.write_text(OSM_XML, encoding="utf-8")
    graph = read_osm(path)
    assert sorted(graph.node_ids.tolist()) == [1, 2, 3, 5, 7]  # 4 and 6 are inner nodes
    assert graph.n_edges == 5  # way 10 split at node 2; the proposed road is dropped
    pairs = {
        (int(graph.node_ids[u]), int(graph.node_ids[v])): (cls, bool(ow))
        for u, v, cls, ow in zip(graph.u, graph.v, graph.road_class, graph.oneway, strict=True)
    }
    assert pairs == {
        (1, 2): ("primary", False),
        (2, 3): ("primary", False),
        (2, 5): ("residential", True),
        (7, 2): ("tertiary", True),
        (5, 3): ("footway", False),
    }
    assert graph.maxspeed_kmh[graph.road_class == "primary"].tolist() == [40.0, 40.0]
    car = distance_matrix(graph, [2, 5, 7], mode="car")
    assert np.isfinite(car[0, 1])
    assert car[1, 0] == np.inf  # 2 -> 5 only
    assert np.isfinite(car[2, 0])
    assert car[0, 2] == np.inf  # oneway=-1: 7 -> 2 only
    foot = distance_matrix(graph, [2, 5, 7], mode="foot")
    assert np.isfinite(foot).all()
    expected = metric_length(
        shapely.LineString([(114.101, 22.55), (114.101, 22.551), (114.101, 22.552)])
    )
    assert car[0, 1] == pytest.approx(expected, rel=1e-9)


def test_empty_sources_raise_clear_errors(tmp_path):
    path = tmp_path / "empty.osm"
    path.write_text('<?xml version="1.0"?><osm version="0.6"></osm>', encoding="utf-8")
    with pytest.raises(RoadGraphError, match="no usable road"):
        read_osm(path)


@pytest.mark.shared
def test_many_to_few_searches_backwards_with_the_same_answers():
    graph = read_graphml(shared_file("data", "futian_osm_drive_graph.graphml"))
    rng = np.random.default_rng(11)
    lon0, lat0, lon1, lat1 = (graph.lon.min(), graph.lat.min(), graph.lon.max(), graph.lat.max())
    points = graph.snap(rng.uniform(lon0, lon1, 120), rng.uniform(lat0, lat1, 120), mode="car")
    many, few = points.take(np.arange(100)), points.take(np.arange(100, 103))
    backward = travel_time_matrix(graph, many, few, mode="car", shift="late")
    forward = np.vstack(
        [
            travel_time_matrix(graph, many.take([i]), few, mode="car", shift="late")
            for i in range(100)
        ]
    )
    np.testing.assert_allclose(backward, forward, rtol=1e-12)
    assert np.isfinite(backward).sum() > 150  # most pairs connect; one-way streets make some not
