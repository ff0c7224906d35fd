"""Benchmark: how long an incident report waits while a shift plan is being solved.

On the embedded SpatiaLite database with the bundled Qingshuihe layers, in one process: a west
squad plan (late shift, a search limit it cannot reach, a ``--solve-s`` cap) is solved while a
client files ``--reports`` incidents one after another. Printed: the reports' median and
maximum latency with no plan running (the baseline), with the plan solved in the service's
own process (``JIEDAO_PLAN_WORKERS=0``), and with the plan solved in a worker process (the
default), and the ratio to the baseline.

    python bench/plan_intake.py [--reports 20] [--solve-s 6]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
import warnings
from typing import Any

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import people
from service.core.config import Settings

PASSWORD = "bench-password-0"
_done: list[float] = []  # when each report was answered
_solved: list[float] = []  # when the plan was answered


def _token(client: TestClient, username: str, role: str, **scope: Any) -> dict[str, str]:
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        people.create_user(
            session,
            username=username,
            title=role,
            role=role,
            password=PASSWORD,
            actor="bench",
            **scope,
        )
        session.commit()
    answer = client.post("/auth/token", data={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _reports(client: TestClient, headers: dict[str, str], count: int) -> list[float]:
    """Latency of each of ``count`` reports, filed one after another (their ends in _done)."""
    took = []
    for i in range(count):
        started = time.perf_counter()
        answer = client.post(
            "/incidents",
            headers=headers,
            json={
                "category": "C02",
                "location": {"lon": 114.1007, "lat": 22.5812},
                "occurred_at": "2026-12-03T10:00:00+08:00",
                "source": "complaint",
                "description": f"bench {i}",
            },
        )
        took.append(time.perf_counter() - started)
        _done.append(time.perf_counter())
        assert answer.status_code == 201, answer.text
    return took


def _run(workers: int, *, reports: int, solve_s: float, plan: bool) -> tuple[list[float], str]:
    folder = tempfile.mkdtemp(prefix="jiedao-bench-")
    settings = Settings(  # type: ignore[call-arg]
        database_url=f"sqlite:///{folder}/bench.sqlite",
        data_dir=folder,
        plan_workers=workers,
        _env_file=None,
    )
    with TestClient(create_app(settings)) as client:
        leader = _token(client, "leader-w", "squad_leader", squad="west")
        dispatcher = _token(client, "dispatch", "dispatcher")
        _reports(client, dispatcher, 3)  # warm: caches, the worker process
        if not plan:
            return _reports(client, dispatcher, reports), "-"
        body = {
            "squad": "west",
            "date": "2026-11-20",
            "shift": "late",
            "time_limit_s": solve_s,
            "solution_limit": 100_000,
        }
        client.post("/plans", json={**body, "time_limit_s": 1}, headers=leader)  # warm

        def solve() -> None:
            answer = client.post("/plans", json=body, headers=leader)
            assert answer.status_code == 201, answer.text
            _solved.append(time.perf_counter())

        solving = threading.Thread(target=solve)
        solving.start()
        time.sleep(0.5)
        _done.clear()
        took = _reports(client, dispatcher, reports)
        solving.join()
        during = sum(1 for done in _done if done < _solved[-1])
        return took, f"{during}/{reports}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20)
    parser.add_argument("--solve-s", type=float, default=6.0)
    args = parser.parse_args()
    baseline, _ = _run(1, reports=args.reports, solve_s=args.solve_s, plan=False)
    rows = [("no plan running (baseline)", (baseline, "-"))]
    rows.append(
        ("plan solved in-process", _run(0, reports=args.reports, solve_s=args.solve_s, plan=True))
    )
    rows.append(
        ("plan solved in a worker", _run(1, reports=args.reports, solve_s=args.solve_s, plan=True))
    )
    base = statistics.median(baseline)
    print(
        f"{'reports filed while':30} {'median ms':>10} {'max ms':>9} {'max/baseline':>13} "
        f"{'answered during the solve':>26}"
    )
    for name, (took, during) in rows:
        median = statistics.median(took)
        print(
            f"{name:30} {median * 1000:10.1f} {max(took) * 1000:9.1f} "
            f"{max(took) / base:13.1f} {during:>26}"
        )


if __name__ == "__main__":
    main()
