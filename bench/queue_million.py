"""Benchmark: the dispatcher's queue and a recommendation with 10^6 stored incidents.

The worked demo month (``jiedao demo``, ending at a fixed moment in the early shift, so the
squads' units are on duty) is stored, then copied back in time by SQL until the database holds
a million incidents, the copies closed (verified_closed) as old cases are; the open ones are
the month's own. Against a live ``jiedao serve`` as a signed-in dispatcher, open loop:

- ``GET /incidents?open=true&limit=1000``: the console's poll of the queue (and its count);
- ``GET /incidents/{id}/recommendations`` for the open cases in turn;
- ``GET /healthz`` at the same rate, the baseline of server and HTTP.

Printed per database: rows stored, the time to store them, p50 and p99 (target p99 < 200 ms).

    python bench/queue_million.py [--database postgis|spatialite|both] [--rows 1000000]
        [--rate 20] [--seconds 30]

Measured 2026-12-04 (10^6 rows, 38 open, 20 requests/s for 20 s, 2 workers), p50 / p99 ms:
PostGIS queue 15 / 27, recommendations 15 / 26; SpatiaLite queue 9 / 15, recommendations
11 / 17. Before the status index the queue was p50 97 / p99 411 ms at 10^5 rows on PostGIS;
before the per-thread transformer fix, recommendations had p99 0.7-1.2 s in a worker's first
seconds.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._live import HEADER, bearer, live_server, open_loop, row
from service.core.db import make_engine
from service.incidents.models import Incident

USERS = {"bench-dispatch": {"title": "dispatcher", "role": "dispatcher"}}
END = "2026-11-30T10:30:00+08:00"  # a Monday morning: the early shift is out
# Columns copied as they are; the times are moved back and the status closed.
_TIMES = ("occurred_at", "reported_at", "received_at", "updated_at")


def _fill(url: str, *, rows: int, folder: str) -> None:
    """The demo month, then copies of it back in time until ``rows`` incidents are stored."""
    env = {**os.environ, "JIEDAO_DATABASE_URL": url, "JIEDAO_DATA_DIR": folder}
    jiedao = Path(sys.executable).parent / "jiedao"
    subprocess.run(
        [jiedao, "demo", "--days", "30", "--now", END], env=env, check=True, capture_output=True
    )
    engine = make_engine(url)
    with engine.begin() as conn:
        month = conn.scalar(select(func.count(Incident.id))) or 1
        copies = math.ceil(rows / month) - 1
        columns = [c.name for c in Incident.__table__.columns if c.name != "id"]
        if engine.dialect.name == "postgresql":
            shifted = {c: f"{c} - k * interval '31 days'" for c in _TIMES}
            series = "generate_series(1, :copies) AS k"
            source = f"incidents CROSS JOIN {series}"
            prefix = ""
        else:
            shifted = {c: f"datetime({c}, '-' || (k.n * 31) || ' days')" for c in _TIMES}
            prefix = (
                "WITH RECURSIVE k(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM k WHERE n < :copies) "
            )
            source = "incidents CROSS JOIN k"
        values = {
            **{c: c for c in columns},
            **shifted,
            "status": "'verified_closed'",
            "idempotency_key": "NULL",
            "request_fingerprint": "NULL",
        }
        conn.execute(
            text(
                f"{prefix}INSERT INTO incidents ({', '.join(columns)}) "
                f"SELECT {', '.join(values[c] for c in columns)} FROM {source} "
                "WHERE incidents.id <= :month"
            ),
            {"copies": copies, "month": month},
        )
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE incidents"))
        else:
            conn.execute(text("ANALYZE"))
    engine.dispose()


def run(database: str, *, rows: int, rate: float, seconds: float) -> None:
    with tempfile.TemporaryDirectory() as folder:
        began = time.perf_counter()
        stored: dict[str, float] = {}

        def prepare(url: str) -> None:
            _fill(url, rows=rows, folder=folder)
            stored["s"] = time.perf_counter() - began

        with live_server(database, workers=2, users=USERS, folder=folder, prepare=prepare) as base:
            headers = bearer(base, "bench-dispatch")
            queue = httpx.get(
                f"{base}/incidents",
                params={"open": "true", "limit": 1000},
                headers=headers,
                timeout=60,
            ).json()
            open_ids = [item["id"] for item in queue["items"]]
            count = int(rate * seconds)
            print(
                f"\n{database}: {rows:,} incidents ({queue['total']} open) stored in "
                f"{stored['s']:.0f} s; {rate:g} requests/s for {seconds:g} s each, 2 workers"
            )
            print(HEADER)
            health = open_loop(base, [("/healthz", None)] * count, rate=rate, headers=headers)
            print(row("GET /healthz (baseline)", health))
            polls = [("/incidents?open=true&limit=1000", None)] * count
            print(
                row(
                    "GET /incidents?open=true (queue)",
                    open_loop(base, polls, rate=rate, headers=headers),
                )
            )
            asks = [
                (f"/incidents/{open_ids[k % len(open_ids)]}/recommendations", None)
                for k in range(count)
            ]
            print(row("GET .../recommendations", open_loop(base, asks, rate=rate, headers=headers)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("postgis", "spatialite", "both"), default="both")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rate", type=float, default=20.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    for database in ("postgis", "spatialite") if args.database == "both" else (args.database,):
        run(database, rows=args.rows, rate=args.rate, seconds=args.seconds)


if __name__ == "__main__":
    main()
