"""The database goes away and comes back: every request meanwhile is a 503 with Retry-After
(nothing half-stored), and the service recovers by itself.

PostgreSQL is reached through a TCP relay the test cuts (open connections reset, new ones
refused) and restores; SpatiaLite's outage is another writer holding its lock past the busy
timeout. Both run against the real database of the ``client`` fixture.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlean
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from geo.roadgraph import from_lines
from service.app import create_app
from service.core.config import Settings
from service.core.errors import ErrorResponse
from service.incidents.models import Incident

from .helpers import activate_bundled_pack, as_, body


class Relay:
    """A TCP relay from 127.0.0.1 to a PostgreSQL socket that can be cut and restored."""

    def __init__(self, target: str | tuple[str, int]) -> None:
        self.target = target
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        """Refuse new connections and reset the open ones, as a crashed server would."""
        if self._listener is not None:
            # shutdown wakes the accept() blocked in the relay's thread; close alone would not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            family = socket.AF_UNIX if isinstance(self.target, str) else socket.AF_INET
            server = socket.socket(family, socket.SOCK_STREAM)
            server.connect(self.target)
            with self._lock:
                self._open += [client, server]
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _relayed(url: str) -> tuple[Relay, str]:
    """A started relay to the server of ``url``, and the URL that goes through it."""
    parsed = make_url(url)
    host = parsed.query.get("host") or parsed.host or "/var/run/postgresql"
    port = int(parsed.query.get("port") or parsed.port or 5432)
    target: str | tuple[str, int] = (
        f"{host}/.s.PGSQL.{port}" if str(host).startswith("/") else (str(host), port)
    )
    relay = Relay(target)
    relay.start()
    through = parsed.set(host="127.0.0.1", port=relay.port, query={})
    return relay, through.render_as_string(hide_password=False)


def _assert_unavailable(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["Retry-After"].isdigit()
    [item] = ErrorResponse.model_validate(answer.json()).detail
    assert "database" in item.message
    assert "nothing" in item.message
    assert "again" in item.fix


def _incidents(client: TestClient) -> int:
    with client.app.state.sessionmaker() as session:  # type: ignore[attr-defined]
        return int(session.scalar(select(func.count()).select_from(Incident)) or 0)


@pytest.fixture
def second_app(client: TestClient) -> Iterator[tuple[TestClient, Relay | None, str]]:
    """A second service on the ``client``'s database: through a relay for PostgreSQL, with a
    short busy timeout for SpatiaLite. Yields it, the relay (None for SpatiaLite) and the URL."""
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    relay = None
    url = settings.database_url
    if url.startswith("postgresql"):
        relay, url = _relayed(url)
    patched = settings.model_copy(update={"database_url": url, "sqlite_busy_timeout_s": 0.5})
    try:
        with TestClient(create_app(patched)) as other:
            yield other, relay, settings.database_url
    finally:
        if relay is not None:
            relay.cut()


def test_an_outage_is_a_503_with_retry_after_and_the_service_recovers(client, second_app):
    other, relay, url = second_app
    headers = as_(client, "dispatch")
    report = {**as_(client, "info"), "Idempotency-Key": "outage-report-1"}
    report_body = body()
    assert other.get("/incidents", headers=headers).status_code == 200
    before = _incidents(client)

    held = None
    if relay is not None:
        relay.cut()
    else:  # another writer holds SpatiaLite's lock past the busy timeout
        held = sqlean.connect(str(Path(make_url(url).database or "")), isolation_level=None)
        held.execute("BEGIN IMMEDIATE")
    try:
        if relay is not None:
            _assert_unavailable(other.get("/incidents", headers=headers))
            _assert_unavailable(other.get("/readyz"))
            page = other.get("/console", headers={**headers, "Accept": "text/html"})
            assert page.status_code == 503
            assert "Database unavailable" in page.text
            assert 'http-equiv="refresh"' in page.text  # it reloads itself
        else:  # readers do not wait for SpatiaLite's writer
            assert other.get("/incidents", headers=headers).status_code == 200
        _assert_unavailable(other.post("/incidents", json=report_body, headers=report))
    finally:
        if relay is not None:
            relay.start()
        if held is not None:
            held.rollback()
            held.close()
    assert _incidents(client) == before  # nothing of the refused report was stored

    # Back: the same connections' pool recovers without a restart; the retried report is
    # stored once.
    assert other.get("/readyz").json()["status"] == "ready"
    first = other.post("/incidents", json=report_body, headers=report)
    assert first.status_code == 201, first.text
    again = other.post("/incidents", json=report_body, headers=report)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert _incidents(client) == before + 1


def test_ready_reports_the_active_layer_and_its_road_graph(client):
    pack = activate_bundled_pack(client)
    ready = client.get("/readyz", headers={"Authorization": ""})
    assert ready.status_code == 200, ready.text
    assert ready.json()["layer_version"] == pack.label
    assert ready.json()["road_nodes"] == len(from_lines(pack.roads).node_ids)
