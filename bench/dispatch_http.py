"""Benchmark: dispatch over HTTP on PostGIS, against a live ``jiedao serve``.

1. Recommendation latency: 50 units with positions, requests for 1,000-odd incidents sent
   open-loop at 50 requests per second; p50 and p99, beside ``GET /healthz`` at the same rate
   in the same run as the baseline (what the server and HTTP cost before any work).
2. Position intake: batches of pings posted by concurrent clients for a fixed time; pings per
   second accepted (each ping stored, duplicates none).

Starts a throwaway PostgreSQL + PostGIS with ``scripts/postgis`` unless --database-url is given.

    python bench/dispatch_http.py [--seconds 20] [--rate 50] [--batch 500] [--clients 4]
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import psycopg
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from layers import read_pack  # noqa: E402

MODES = ("foot", "foot", "ebike", "car", "car")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


_PG_ENV = {"JIEDAO_PG_DIR": "/tmp/jiedao-pg-bench", "JIEDAO_PG_PORT": "54339"}


def _start_postgis() -> str:
    """A fresh database on a throwaway cluster: units of earlier runs must not count."""
    env = {**os.environ, **_PG_ENV}
    url = subprocess.run(
        [ROOT / "scripts" / "postgis", "start"], env=env, check=True, capture_output=True, text=True
    ).stdout.strip()
    name = f"jiedao_bench_{os.getpid()}"
    with psycopg.connect(url.replace("/jiedao_test?", "/postgres?"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(url.replace("/jiedao_test?", f"/{name}?"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url.replace("/jiedao_test?", f"/{name}?")


def _serve(url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "JIEDAO_DATABASE_URL": url, "JIEDAO_PORT": str(port)}
    process = subprocess.Popen(
        [Path(sys.executable).parent / "jiedao", "serve", "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.3)
    process.terminate()
    msg = "jiedao serve did not start"
    raise RuntimeError(msg)


def _setup(client: httpx.Client, rng: np.random.Generator, run: str) -> tuple[list[str], list[int]]:
    pack = read_pack()
    lon0, lat0, lon1, lat1 = pack.communities.total_bounds
    inside = pack.communities.union_all()
    units = []
    now = datetime.now(UTC)
    for i in range(50):
        code = f"b{run}-{i}"
        client.post(
            "/units",
            json={
                "unit_id": code,
                "name": code,
                "squad": ("west", "east")[i % 2],
                "mode": MODES[i % len(MODES)],
                "status": "available",
            },
        ).raise_for_status()
        client.post(
            f"/units/{code}/positions",
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
        units.append(code)
    incidents = []
    while len(incidents) < 200:
        lon, lat = float(rng.uniform(lon0, lon1)), float(rng.uniform(lat0, lat1))
        if not inside.contains(shapely.Point(lon, lat)):
            continue
        made = client.post(
            "/incidents",
            json={
                "category": "C02",
                "location": {"lon": lon, "lat": lat},
                "occurred_at": (now - timedelta(minutes=5)).isoformat(),
                "source": "patrol",
                "urgent": bool(rng.random() < 0.2),
            },
        )
        made.raise_for_status()
        incidents.append(made.json()["id"])
    return units, incidents


def _open_loop(base: str, paths: list[str], rate: float, seconds: float) -> np.ndarray:
    """Send GETs at a fixed rate regardless of answers; latencies in ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    client = httpx.Client(base_url=base, timeout=10)

    def one(path: str) -> None:
        start = time.perf_counter()
        client.get(path).raise_for_status()
        with lock:
            latencies.append((time.perf_counter() - start) * 1000)

    with ThreadPoolExecutor(16) as pool:
        begin = time.perf_counter()
        for k in range(int(rate * seconds)):
            wait = begin + k / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            pool.submit(one, paths[k % len(paths)])
    client.close()
    return np.asarray(latencies)


def _intake(
    base: str, units: list[str], batch: int, clients: int, seconds: float
) -> tuple[int, float]:
    stored = 0
    lock = threading.Lock()
    start_at = datetime.now(UTC) - timedelta(hours=2)

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
                response = client.post(f"/units/{unit}/positions", json={"pings": pings})
                response.raise_for_status()
                with lock:
                    stored += int(response.json()["stored"])
                sent += 1

    began = time.perf_counter()
    stop = began + seconds
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return stored, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2, help="jiedao serve --workers")
    args = parser.parse_args()
    url = args.database_url or _start_postgis()
    port = _free_port()
    server = _serve(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            units, incidents = _setup(client, np.random.default_rng(0), str(port))
        paths = [f"/incidents/{i}/recommendations" for i in incidents]
        # Steady state: the first requests build each worker's per-mode caches and database
        # connections. Separate connections, sent together, so that every worker gets some.
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda path: httpx.get(base + path, timeout=60).raise_for_status(), paths[:80]
                )
            )
        baseline = _open_loop(base, ["/healthz"], args.rate, args.seconds / 2)
        latency = _open_loop(base, paths, args.rate, args.seconds)
        print(
            f"PostGIS, 50 units, {len(incidents)} incidents, open loop at {args.rate:g} req/s, "
            f"{args.workers} server worker(s)"
        )
        print(f"{'request':34} {'n':>6} {'p50 ms':>8} {'p99 ms':>8}")
        for name, values in (
            ("GET /healthz (baseline)", baseline),
            ("GET /incidents/{id}/recommendations", latency),
        ):
            print(
                f"{name:34} {len(values):6d} {np.percentile(values, 50):8.1f} "
                f"{np.percentile(values, 99):8.1f}"
            )
        stored, took = _intake(base, units, args.batch, args.clients, args.seconds / 2)
        print(
            f"position intake: {stored:,} pings in {took:.1f} s = {stored / took:,.0f} pings/s "
            f"({args.clients} clients, batches of {args.batch})"
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
        if args.database_url is None:  # the throwaway cluster this run started
            subprocess.run(
                [ROOT / "scripts" / "postgis", "stop"],
                env={**os.environ, **_PG_ENV},
                check=False,
                capture_output=True,
            )


if __name__ == "__main__":
    main()
