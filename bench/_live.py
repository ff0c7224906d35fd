"""Shared by the HTTP benchmarks: a throwaway database, a live ``jiedao serve`` on it, signed-in
users, and an open-loop load generator that reports latencies honestly."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import psycopg

from service.auth import people
from service.core.db import make_engine, make_sessionmaker, migrate

ROOT = Path(__file__).resolve().parents[1]

PASSWORD = "bench-password-0"
# A cluster of its own, away from the test suite's (scripts/postgis defaults).
_PG_ENV = {"JIEDAO_PG_DIR": "/tmp/jiedao-pg-bench", "JIEDAO_PG_PORT": "54339"}

Request = tuple[str, dict[str, Any] | None]  # (path, JSON body to POST, or None to GET)


@dataclass(frozen=True, slots=True)
class Sample:
    """What one open-loop phase measured."""

    due_at: np.ndarray  # s from the phase start at which each answered request was due
    latency_ms: np.ndarray  # from when it was due to its answer
    errors: Counter[str]  # by HTTP status or exception name
    seconds: float  # the phase's wall time
    first_error: dict[str, str]  # the first answer of each kind of error: what went wrong


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _postgis(action: str) -> str:
    return subprocess.run(
        [ROOT / "scripts" / "postgis", action],
        env={**os.environ, **_PG_ENV},
        check=action == "start",
        capture_output=True,
        text=True,
    ).stdout.strip()


def _fresh_postgis(name: str) -> str:
    """A new database on the bench cluster: rows of earlier runs must not count."""
    url = _postgis("start")
    with psycopg.connect(url.replace("/jiedao_test?", "/postgres?"), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(url.replace("/jiedao_test?", f"/{name}?"), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url.replace("/jiedao_test?", f"/{name}?")


def _add_users(url: str, users: dict[str, dict[str, str]]) -> None:
    """Users made in-process, as ``jiedao users add`` would (there is no open sign-up)."""
    engine = make_engine(url)
    migrate(engine)
    with make_sessionmaker(engine)() as session:
        for username, fields in users.items():
            people.create_user(
                session, username=username, password=PASSWORD, actor="bench", **fields
            )
        session.commit()
    engine.dispose()


def _wait_ready(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    msg = "jiedao serve did not become ready (run it by hand to see why)"
    raise RuntimeError(msg)


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:  # a worker stuck in a request must not hang the bench
        process.kill()
        process.wait()


@contextmanager
def live_server(
    database: str,
    *,
    workers: int,
    users: dict[str, dict[str, str]],
    folder: str,
    prepare: Callable[[str], None] | None = None,
) -> Iterator[str]:
    """``jiedao serve`` on a fresh PostGIS database or SpatiaLite file; yields its base URL.

    ``prepare(url)`` fills the migrated database before the server starts.
    """
    if database == "postgis":
        url = _fresh_postgis(f"jiedao_bench_{os.getpid()}")
    else:
        url = f"sqlite:///{folder}/bench.sqlite"
    try:
        _add_users(url, users)
        if prepare is not None:
            prepare(url)
        port = _free_port()
        env = {
            **os.environ,
            "JIEDAO_DATABASE_URL": url,
            # One signed-in client floods on purpose: the limits are what is not measured here.
            "JIEDAO_INTAKE_RATE_PER_USER": "100000000/minute",
            "JIEDAO_INTAKE_RATE_PER_ADDRESS": "100000000/minute",
            "JIEDAO_PORT": str(port),
            "JIEDAO_DATA_DIR": folder,
        }
        # BENCH_SERVER_LOG=path keeps the server's log (the cause of an error answer).
        log_path = os.environ.get("BENCH_SERVER_LOG")
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        process = subprocess.Popen(
            [Path(sys.executable).parent / "jiedao", "serve", "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_ready(base, process)
            yield base
        finally:
            _stop(process)
    finally:
        if database == "postgis":
            _postgis("stop")


def bearer(base: str, username: str) -> dict[str, str]:
    """Headers of a signed-in user."""
    answer = httpx.post(f"{base}/auth/token", data={"username": username, "password": PASSWORD})
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def open_loop(
    base: str,
    requests: Sequence[Request],
    *,
    rate: float,
    headers: dict[str, str],
    connections: int = 64,
) -> Sample:
    """Send each request at a fixed rate whatever the answers, on fresh connections.

    One asyncio loop (aiohttp) sends them: a thread per request in Python costs the load
    generator more CPU than the server spends on a health check, and on a 2-core machine that
    shows as server latency. A latency counts from when the request was due, not from when a
    connection was free to send it, so a server that falls behind shows in p99 instead of
    slowing the offered rate (no coordinated omission)."""
    return asyncio.run(_open_loop(base, requests, rate, headers, connections))


async def _open_loop(
    base: str,
    requests: Sequence[Request],
    rate: float,
    headers: dict[str, str],
    connections: int,
) -> Sample:
    due_at: list[float] = []
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    first_error: dict[str, str] = {}
    timeout = aiohttp.ClientTimeout(total=30)
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(
        base_url=base, headers=headers, timeout=timeout, connector=connector
    ) as session:
        loop = asyncio.get_running_loop()

        async def one(due: float, path: str, body: dict[str, Any] | None) -> None:
            kind = ""
            try:
                if body is None:
                    answer = await session.get(path)
                else:
                    answer = await session.post(path, json=body)
                async with answer:
                    text = await answer.text()
                    kind = "" if answer.status < 400 else str(answer.status)
            except (aiohttp.ClientError, TimeoutError) as error:
                kind, text = type(error).__name__, str(error)
            if kind:
                errors[kind] += 1
                first_error.setdefault(kind, text[:300])
            else:
                due_at.append(due - begin)
                latencies.append((loop.time() - due) * 1000)

        begin = loop.time()
        tasks = []
        for k, (path, body) in enumerate(requests):
            due = begin + k / rate
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            tasks.append(asyncio.create_task(one(due, path, body)))
        await asyncio.gather(*tasks)
        seconds = loop.time() - begin
    return Sample(np.asarray(due_at), np.asarray(latencies), errors, seconds, first_error)


HEADER = (
    f"{'request':36} {'ok':>7} {'errors':>6} {'per s':>8} {'p50 ms':>8} {'p99 ms':>8} "
    f"{'p99 0-10s':>9} {'p99 last10':>10}"
)


def row(name: str, sample: Sample) -> str:
    """One line under HEADER: counts, achieved rate, p50 and p99, p99 early and late."""

    def p99(values: np.ndarray, width: int = 8) -> str:
        return f"{np.percentile(values, 99):{width}.1f}" if len(values) else " " * (width - 1) + "-"

    due, latency = sample.due_at, sample.latency_ms
    first, last = due < 10, due >= due.max(initial=0) - 10
    p50 = f"{np.percentile(latency, 50):8.1f}" if len(latency) else "       -"
    return (
        f"{name:36} {len(latency):7d} {sample.errors.total():6d} "
        f"{len(latency) / sample.seconds:8.1f} {p50} {p99(latency)} "
        f"{p99(latency[first], 9)} {p99(latency[last], 10)}"
        + (f"  errors: {dict(sample.errors)}" if sample.errors else "")
        + "".join(f"\n    first {kind}: {text}" for kind, text in sample.first_error.items())
    )
