"""Benchmark: travel-time matrices on the real Futian OSM drive graph.

Prints the time to build the graph from GraphML, to snap 1,000 seeded random points in its
bounding box, and to compute a 50 x N node matrix and a 600 x 600 snapped-point matrix (car,
late shift), each a median of several runs, beside networkx ``single_source_dijkstra`` from
the same sources on the same weights (the graph's CSR adjacency, loaded into a DiGraph), all in
this process, with the speed ratio.

    OMP_NUM_THREADS=1 python bench/matrix.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import networkx as nx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._timing import SHARED, median_seconds
from geo.roadgraph import largest_component, read_graphml
from geo.travel import travel_time_matrix


def _networkx_rows(graph: nx.DiGraph, sources: np.ndarray, targets: np.ndarray) -> np.ndarray:
    out = np.full((len(sources), len(targets)), np.inf)
    for row, source in enumerate(sources):
        lengths = nx.single_source_dijkstra_path_length(graph, int(source), weight="weight")
        out[row] = [lengths.get(int(t), np.inf) for t in targets]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--graph", type=Path, default=SHARED / "data" / "futian_osm_drive_graph.graphml"
    )
    args = parser.parse_args()
    repeats = args.repeats

    build_s = median_seconds(lambda: read_graphml(args.graph), min(repeats, 3))
    graph = read_graphml(args.graph)
    n = graph.n_nodes
    print(f"graph: {n} nodes, {graph.n_edges} edges; build from GraphML {build_s * 1e3:.0f} ms")

    rng = np.random.default_rng(0)
    lon = rng.uniform(graph.lon.min(), graph.lon.max(), 1000)
    lat = rng.uniform(graph.lat.min(), graph.lat.max(), 1000)
    graph.snap(lon[:1], lat[:1], mode="car")  # build the STRtree once, as a service would
    snap_s = median_seconds(lambda: graph.snap(lon, lat, mode="car"), repeats)
    print(f"snap 1,000 points to edges: {snap_s * 1e3:.1f} ms")

    start = time.perf_counter()
    matrix = graph.adjacency(mode="car", shift="late")[0]
    csr_s = time.perf_counter() - start
    print(f"CSR adjacency (car, late), first use: {csr_s * 1e3:.1f} ms (then cached)")
    reference = nx.from_scipy_sparse_array(matrix, create_using=nx.DiGraph)

    sources = rng.choice(n, 50, replace=False)
    source_ids = graph.node_ids[sources]
    ours_50 = median_seconds(
        lambda: travel_time_matrix(graph, source_ids, graph.node_ids, mode="car", shift="late"),
        repeats,
    )
    nx_50 = median_seconds(lambda: _networkx_rows(reference, sources, np.arange(n)), repeats)
    check = travel_time_matrix(graph, source_ids, graph.node_ids, mode="car", shift="late")
    agree = np.allclose(check, _networkx_rows(reference, sources, np.arange(n)), rtol=1e-9)
    print(
        f"50 x {n} node matrix: {ours_50 * 1e3:.1f} ms; networkx {nx_50 * 1e3:.0f} ms; "
        f"x{nx_50 / ours_50:.0f}; equal: {agree}"
    )

    points = graph.snap(lon[:600], lat[:600], mode="car")
    ours_600 = median_seconds(
        lambda: travel_time_matrix(graph, points, mode="car", shift="late"), repeats
    )
    ends = np.unique(np.r_[graph.u[points.edge], graph.v[points.edge]])
    nx_600 = median_seconds(lambda: _networkx_rows(reference, ends, ends), max(1, repeats // 2))
    result = travel_time_matrix(graph, points, mode="car", shift="late")
    print(
        f"600 x 600 snapped-point matrix: {ours_600 * 1e3:.1f} ms; networkx from the "
        f"{len(ends)} edge-end nodes alone {nx_600 * 1e3:.0f} ms; x{nx_600 / ours_600:.0f}; "
        f"unreachable pairs {np.isinf(result).mean():.1%} (graph clipped at its bbox)"
    )
    core = largest_component(graph, mode="car")
    core_points = core.snap(lon[:600], lat[:600], mode="car")
    core_600 = median_seconds(
        lambda: travel_time_matrix(core, core_points, mode="car", shift="late"), repeats
    )
    core_result = travel_time_matrix(core, core_points, mode="car", shift="late")
    print(
        f"600 x 600 on the largest strongly connected part ({core.n_nodes} nodes): "
        f"{core_600 * 1e3:.1f} ms; unreachable pairs {np.isinf(core_result).mean():.1%}"
    )


if __name__ == "__main__":
    main()
