"""Benchmark: resolve 1,000,000 random points against jurisdiction layers.

Prints points per second for community+squad assignment and for the full resolution (key road,
boundary distance, near-boundary flag, nearest community for outside points), each with its
ratio to a bare ``shapely.STRtree`` bulk query and to ``geopandas.sjoin`` on the same polygons,
all timed in this process (medians of several runs: these machines are shared and noisy).

    OMP_NUM_THREADS=1 python bench/resolve.py [--points 1000000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._timing import SHARED, median_seconds
from geo.jurisdiction import Jurisdiction
from layers import pack_from_areas, read_pack


def bench(
    label: str,
    communities: gpd.GeoDataFrame,
    roads: gpd.GeoDataFrame | None,
    bbox: tuple[float, float, float, float],
    *,
    points: int,
    repeats: int,
) -> None:
    rng = np.random.default_rng(0)
    lon = rng.uniform(bbox[0], bbox[2], points)
    lat = rng.uniform(bbox[1], bbox[3], points)
    start = time.perf_counter()
    jurisdiction = Jurisdiction.build(communities, roads)
    build_s = time.perf_counter() - start

    polygons = np.asarray(communities.geometry.values)
    tree = shapely.STRtree(polygons)
    frame = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
    areas = communities[["code", "geometry"]]

    # The baseline gets its points ready-made: only the bulk query is timed.
    points_array = shapely.points(lon, lat)

    def strtree() -> object:
        return tree.query(points_array, predicate="intersects")

    timings = {
        "assign (community, squad)": median_seconds(
            lambda: jurisdiction.squad_of(jurisdiction.assign(lon, lat)), repeats
        ),
        "resolve (full)": median_seconds(lambda: jurisdiction.resolve(lon, lat), repeats),
        "bare STRtree.query": median_seconds(strtree, repeats),
        "geopandas.sjoin": median_seconds(
            lambda: gpd.sjoin(frame, areas, predicate="intersects"), max(1, repeats // 2)
        ),
    }
    outside = float((jurisdiction.assign(lon, lat) < 0).mean())
    print(
        f"\n## {label}: {len(communities)} polygons, "
        f"{0 if roads is None else len(roads)} key roads, {points:,} points "
        f"({outside:.0%} outside), index built in {build_s:.2f} s"
    )
    print(f"{'step':28} {'median s':>9} {'points/s':>12} {'vs STRtree':>11} {'vs sjoin':>9}")
    base, sjoin_s = timings["bare STRtree.query"], timings["geopandas.sjoin"]
    for name, seconds in timings.items():
        print(
            f"{name:28} {seconds:9.3f} {points / seconds:12,.0f} "
            f"{seconds / base:10.2f}x {seconds / sjoin_s:8.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    print(
        f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
        "GEOS and the numpy kernels used here run on one core"
    )

    pack = read_pack()
    bench(
        "bundled Qingshuihe pack",
        pack.communities,
        pack.key_roads,
        tuple(pack.communities.total_bounds),
        points=args.points,
        repeats=args.repeats,
    )
    luohu_path = SHARED / "data" / "luohu_streets_handdrawn_wgs84.geojson"
    if luohu_path.exists():
        luohu = pack_from_areas(luohu_path, code_field="adcode", name_field="name")
        # The same box as above, now against the 10 Luohu sub-districts.
        bench(
            "10 Luohu sub-districts (../shared)",
            luohu.communities,
            None,
            tuple(pack.communities.total_bounds),
            points=args.points,
            repeats=args.repeats,
        )
    else:
        print(f"\n(skipped the Luohu run: {luohu_path} not found)")


if __name__ == "__main__":
    main()
