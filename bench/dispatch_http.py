"""Benchmark: dispatch over HTTP on PostGIS, against a live ``jiedao serve``.

1. Recommendation latency: 50 units with positions, requests for 1,000-odd incidents sent
   open-loop at 50 requests per second; p50 and p99, beside ``GET /healthz`` at the same rate
   in the same run as the baseline (what the server and HTTP cost before any work).
2. Position intake: batches of pings posted by concurrent clients for a fixed time; pings per
   second accepted (each ping stored, duplicates none).

Runs on a throwaway PostgreSQL + PostGIS (``scripts/postgis``), as the signed-in people who would
do each step: the administrator makes the units and their device tokens, each unit's device posts
its positions, a dispatcher files the incidents and asks for recommendations.

    python bench/dispatch_http.py [--seconds 20] [--rate 50] [--batch 500] [--clients 4]
        [--workers 2]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._live import HEADER, bearer, live_server, open_loop, row
from layers import read_pack

MODES = ("foot", "foot", "ebike", "car", "car")
USERS = {
    "bench-admin": {"title": "administrator", "role": "admin"},
    "bench-dispatch": {"title": "dispatcher", "role": "dispatcher"},
}


def _units(base: str, rng: np.random.Generator) -> dict[str, dict[str, str]]:
    """50 units at random points, each with its device's headers."""
    pack = read_pack()
    lon0, lat0, lon1, lat1 = pack.communities.total_bounds
    admin = bearer(base, "bench-admin")
    devices = {}
    now = datetime.now(UTC)
    with httpx.Client(base_url=base, timeout=30) as client:
        for i in range(50):
            code = f"bench-{i}"
            client.post(
                "/units",
                headers=admin,
                json={
                    "unit_id": code,
                    "name": code,
                    "squad": ("west", "east")[i % 2],
                    "mode": MODES[i % len(MODES)],
                    "status": "available",
                },
            ).raise_for_status()
            issued = client.post(f"/units/{code}/device-token", headers=admin)
            issued.raise_for_status()
            devices[code] = {"Authorization": f"Bearer {issued.json()['token']}"}
            client.post(
                f"/units/{code}/positions",
                headers=devices[code],
                json={
                    "pings": [
                        {
                            "at": now.isoformat(),
                            "lon": float(rng.uniform(lon0, lon1)),
                            "lat": float(rng.uniform(lat0, lat1)),
                        }
                    ]
                },
            ).raise_for_status()
    return devices


def _incidents(base: str, rng: np.random.Generator, headers: dict[str, str]) -> list[int]:
    pack = read_pack()
    lon0, lat0, lon1, lat1 = pack.communities.total_bounds
    inside = pack.communities.union_all()
    now = datetime.now(UTC)
    made: list[int] = []
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        while len(made) < 200:
            lon, lat = float(rng.uniform(lon0, lon1)), float(rng.uniform(lat0, lat1))
            if not inside.contains(shapely.Point(lon, lat)):
                continue
            answer = client.post(
                "/incidents",
                json={
                    "category": "C02",
                    "location": {"lon": lon, "lat": lat},
                    "occurred_at": (now - timedelta(minutes=5)).isoformat(),
                    "source": "patrol",
                    "urgent": bool(rng.random() < 0.2),
                },
            )
            answer.raise_for_status()
            made.append(int(answer.json()["id"]))
    return made


def _intake(
    base: str, devices: dict[str, dict[str, str]], batch: int, clients: int, seconds: float
) -> tuple[int, float]:
    """Pings posted in batches by ``clients`` concurrent devices for ``seconds``: (stored, s)."""
    stored = 0
    lock = threading.Lock()
    start_at = datetime.now(UTC) - timedelta(hours=2)
    units = list(devices)

    def worker(k: int) -> None:
        nonlocal stored
        with httpx.Client(base_url=base, timeout=30) as client:
            rng = np.random.default_rng(k)
            sent = 0
            while time.perf_counter() < stop:
                unit = units[(k + sent) % len(units)]
                # Interleaved milliseconds: every ping of every client has its own time.
                pings = [
                    {
                        "at": (
                            start_at + timedelta(milliseconds=(sent * batch + j) * clients + k)
                        ).isoformat(),
                        "lon": 114.09 + float(rng.normal(0, 0.003)),
                        "lat": 22.58 + float(rng.normal(0, 0.003)),
                    }
                    for j in range(batch)
                ]
                answer = client.post(
                    f"/units/{unit}/positions", headers=devices[unit], json={"pings": pings}
                )
                answer.raise_for_status()
                with lock:
                    stored += int(answer.json()["stored"])
                sent += 1

    began = time.perf_counter()
    stop = began + seconds
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return stored, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="jiedao serve --workers")
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="jiedao-dispatch-")
    with live_server("postgis", workers=args.workers, users=USERS, folder=folder) as base:
        rng = np.random.default_rng(0)
        devices = _units(base, rng)
        dispatcher = bearer(base, "bench-dispatch")
        incidents = _incidents(base, rng, dispatcher)
        paths = [(f"/incidents/{i}/recommendations", None) for i in incidents]
        # Steady state: the first requests build each worker's per-mode caches and database
        # connections; sent together, so that every worker gets some.
        open_loop(base, paths[:80], rate=40, headers=dispatcher)
        count = int(args.rate * args.seconds)
        baseline = open_loop(base, [("/healthz", None)] * (count // 2), rate=args.rate, headers={})
        latency = open_loop(
            base,
            [paths[k % len(paths)] for k in range(count)],
            rate=args.rate,
            headers=dispatcher,
        )
        stored, took = _intake(base, devices, args.batch, args.clients, args.seconds / 2)
    print(
        f"PostGIS, 50 units, {len(incidents)} incidents, open loop at {args.rate:g} req/s, "
        f"{args.workers} server worker(s)"
    )
    print(HEADER)
    print(row("GET /healthz (baseline)", baseline))
    print(row("GET /incidents/{id}/recommendations", latency))
    print(
        f"position intake: {stored:,} pings in {took:.1f} s = {stored / took:,.0f} pings/s "
        f"({args.clients} devices, batches of {args.batch})"
    )


if __name__ == "__main__":
    main()
