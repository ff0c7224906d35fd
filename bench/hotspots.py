"""Benchmark: hot-spot analysis and map for 100,000 and 1,000,000 incidents.

Seeded synthetic incidents (realistic background with 8 planted hot spots, ``geo.synthetic``)
over the bundled Qingshuihe study area are counted on the 150 m grid, tested with Gi* (999
permutations, FDR), smoothed into a kernel density surface, turned into campaign targets and
drawn as the hot-spot map. Prints the median time of each step, the HTML size, the recall of
the planted cells and the peak RSS; baselines in the same process: ``geopandas.sjoin`` of the
points into the grid polygons for the counting, and esda's stock ``G_Local`` (its conditional
randomisation) for the test. Targets: analysis (counting + Gi*) <= 5 s, map <= 3 s, HTML <= 5 MB,
memory under 4 GB at 1M.

    OMP_NUM_THREADS=1 python bench/hotspots.py [--sizes 100000 1000000] [--repeats 3]
                                               [--area qingshuihe|luohu]

``--area luohu`` spreads the incidents over the 10 sub-districts of Luohu district (78 km²,
../shared/data) instead: a district-scale grid of about 3,500 cells.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import esda
import geopandas as gpd
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._timing import median_seconds
from geo.campaign import campaign_targets
from geo.cells import community_cells, grid_cells, h3_cells, weekly_counts
from geo.density import kernel_density
from geo.getisord import GiParams, getis_ord
from geo.incidentfilter import IncidentFilter
from geo.jurisdiction import Jurisdiction
from geo.synthetic import PlantParams, plant_incidents
from layers import LayerPack, pack_from_areas, read_pack
from maps.hotspots import render_hotspots

TARGETS = {"analysis": 5.0, "map": 3.0, "html_mb": 5.0, "rss_gb": 4.0}


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _pack(area: str) -> LayerPack:
    if area == "qingshuihe":
        return read_pack()
    path = (
        Path(__file__).resolve().parents[2]
        / "shared"
        / "data"
        / "luohu_streets_handdrawn_wgs84.geojson"
    )
    if not path.exists():
        raise SystemExit(f"{path} not found: --area luohu needs ../shared beside the repository")
    return pack_from_areas(path, code_field="adcode", name_field="name")


def bench(n: int, *, repeats: int, days: int, area_name: str) -> None:
    pack = _pack(area_name)
    area = pack.communities
    start = time.perf_counter()
    truth = plant_incidents(area, roads=pack.key_roads, params=PlantParams(n=n, days=days, seed=0))
    generate_s = time.perf_counter() - start
    incidents = truth.incidents
    jurisdiction = Jurisdiction.build(pack.communities, pack.key_roads)

    cells = grid_cells(incidents, area)
    hot = getis_ord(cells)
    timings: dict[str, float] = {}
    timings["count, 150 m grid"] = median_seconds(lambda: grid_cells(incidents, area), repeats)
    timings["Gi* 999 permutations + FDR"] = median_seconds(lambda: getis_ord(cells), repeats)
    timings["analysis (count + Gi*)"] = (
        timings["count, 150 m grid"] + timings["Gi* 999 permutations + FDR"]
    )
    shift = IncidentFilter(categories=("C01", "C02"), shift=(7, 15), weekdays=(0, 1, 2, 3, 4))
    timings["count with a filter (2 categories, 07-15, Mon-Fri)"] = median_seconds(
        lambda: grid_cells(incidents, area, where=shift), repeats
    )
    timings["Gi* 9999 permutations"] = median_seconds(
        lambda: getis_ord(cells, params=GiParams(permutations=9999)), 1
    )
    fine = grid_cells(incidents, area, cell_m=50.0)
    timings[f"Gi* 999 on a 50 m grid ({len(fine):,} cells)"] = median_seconds(
        lambda: getis_ord(fine), 1
    )
    timings["kernel density (25 m)"] = median_seconds(
        lambda: kernel_density(incidents, area), repeats
    )
    timings["weekly counts"] = median_seconds(lambda: weekly_counts(incidents, area), repeats)
    timings["community counts"] = median_seconds(
        lambda: community_cells(incidents, pack.communities), repeats
    )
    timings["campaign targets"] = median_seconds(
        lambda: campaign_targets(
            hot, jurisdiction=jurisdiction, key_roads=pack.key_roads, places=pack.places
        ),
        repeats,
    )
    timings["count, H3 res 9"] = median_seconds(lambda: h3_cells(incidents, area), 1)

    heat = kernel_density(incidents, area)
    weekly = weekly_counts(incidents, area)
    communities = community_cells(incidents, pack.communities)
    targets = campaign_targets(
        hot, jurisdiction=jurisdiction, key_roads=pack.key_roads, places=pack.places
    )
    html = ""

    def draw() -> None:
        nonlocal html
        html = (
            render_hotspots(
                hot,
                communities=communities,
                key_roads=pack.key_roads,
                heat=heat,
                weekly=weekly,
                targets=targets,
                note="synthetic incidents",
            )
            .get_root()
            .render()
        )

    timings["map (build + render HTML)"] = median_seconds(draw, repeats)

    # Baselines: geopandas.sjoin into the same grid polygons; esda's stock G_Local.
    points = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(incidents["lon"], incidents["lat"]), crs="EPSG:4326"
    )
    polygons = cells[["cell_id", "geometry"]]
    timings["baseline: geopandas.sjoin count"] = median_seconds(
        lambda: gpd.sjoin(points, polygons, predicate="within")["cell_id"].value_counts(), 1
    )
    timings["baseline: esda G_Local (conditional)"] = median_seconds(lambda: _stock_esda(hot), 1)

    hot_cells = set(hot.loc[hot["gi_bin"] > 0, "cell_id"])
    recall = np.mean([c in hot_cells for c in truth.planted_cells])
    size_mb = len(html.encode()) / 1e6
    print(
        f"\n## {area_name}: {n:,} incidents over {days} days ({len(cells)} cells of 150 m, "
        f"{hot.attrs['gi_tested']} tested; generated in {generate_s:.2f} s)"
    )
    print(f"{'step':52} {'median s':>9}")
    for name, seconds in timings.items():
        print(f"{name:52} {seconds:9.3f}")
    print(
        f"HTML size {size_mb:.2f} MB; hot cells {len(hot_cells)}, cold "
        f"{int((hot['gi_bin'] < 0).sum())}; planted cells found {recall:.0%}; "
        f"{len(targets)} targets; peak RSS so far {peak_rss_mb():,.0f} MB"
    )
    verdicts = [
        ("analysis", timings["analysis (count + Gi*)"], TARGETS["analysis"], "s"),
        ("map", timings["map (build + render HTML)"], TARGETS["map"], "s"),
        ("HTML", size_mb, TARGETS["html_mb"], "MB"),
        ("peak RSS", peak_rss_mb() / 1024, TARGETS["rss_gb"], "GB"),
    ]
    print(
        "targets: "
        + "; ".join(
            f"{what} {value:.2f} {unit} <= {limit:g} {unit} {'ok' if value <= limit else 'MISSED'}"
            for what, value, limit, unit in verdicts
        )
    )


def _stock_esda(hot: gpd.GeoDataFrame) -> object:
    from libpysal.graph import Graph

    tested = hot[hot["gi_tested"]]
    graph = Graph.build_contiguity(tested, rook=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return esda.G_Local(
            tested["gi_value"].to_numpy(),
            graph,
            transform="B",
            star=True,
            permutations=999,
            seed=0,
            n_jobs=1,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--area", choices=["qingshuihe", "luohu"], default="qingshuihe")
    args = parser.parse_args()
    print(
        f"threads: OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}; "
        f"CPUs {os.cpu_count()}; esda {esda.__version__}"
    )
    for n in args.sizes:
        # 100k over 12 weeks; a million over a year (52 weekly frames in the animation).
        bench(n, repeats=args.repeats, days=84 if n <= 200_000 else 364, area_name=args.area)


if __name__ == "__main__":
    main()
