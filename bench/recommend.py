"""Benchmark: recommendation latency for 50 units, in-process, on two road networks.

For each of 1,000 seeded random incidents the 50 units (mixed modes, two squads) are ranked by
road travel time. Prints p50 and p99 per network: the real OSM graph of south-west Futian
(../shared) and the bundled Qingshuihe network. The HTTP figure comes with the dispatch API.

    OMP_NUM_THREADS=1 python bench/recommend.py [--incidents 1000]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._timing import SHARED
from geo.dispatch import UnitPosition, recommend_units
from geo.roadgraph import RoadGraph, largest_component, read_graphml, read_lines
from layers import bundled_pack_path

MODES = ("foot", "foot", "ebike", "car", "car")


def run(label: str, graph: RoadGraph, incidents: int) -> None:
    rng = np.random.default_rng(0)
    lon0, lat0, lon1, lat1 = graph.lon.min(), graph.lat.min(), graph.lon.max(), graph.lat.max()
    units = [
        UnitPosition(
            f"u{i}",
            "west" if i % 2 else "east",
            MODES[i % len(MODES)],
            float(rng.uniform(lon0, lon1)),
            float(rng.uniform(lat0, lat1)),
            age_s=float(rng.uniform(0, 300)),
        )
        for i in range(50)
    ]
    recommend_units(graph, units, lon=float(lon0), lat=float(lat0), squad="west")  # warm caches
    latencies = []
    for _ in range(incidents):
        lon, lat = float(rng.uniform(lon0, lon1)), float(rng.uniform(lat0, lat1))
        start = time.perf_counter()
        recommend_units(
            graph, units, lon=lon, lat=lat, squad="west", urgent=bool(rng.random() < 0.2)
        )
        latencies.append(time.perf_counter() - start)
    ms = np.asarray(latencies) * 1000
    print(
        f"{label:44} {graph.n_nodes:6d} {graph.n_edges:6d} {np.percentile(ms, 50):8.2f} "
        f"{np.percentile(ms, 99):8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, default=1000)
    args = parser.parse_args()
    print(f"{'network':44} {'nodes':>6} {'edges':>6} {'p50 ms':>8} {'p99 ms':>8}")
    futian = SHARED / "data" / "futian_osm_drive_graph.graphml"
    if futian.exists():
        run(
            "real OSM, south-west Futian (largest part)",
            largest_component(read_graphml(futian), mode="car"),
            args.incidents,
        )
    run(
        "bundled Qingshuihe network",
        read_lines(bundled_pack_path() / "roads.geojson"),
        args.incidents,
    )


if __name__ == "__main__":
    main()
