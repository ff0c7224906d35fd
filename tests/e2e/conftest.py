"""The service as the README runs it (`jiedao demo`, then `jiedao serve` on a free port) and
Debian's chromium driven by Playwright, shared by the end-to-end tests.

``server`` is module-scoped: each test module gets its own database and server, SpatiaLite
unless a test asks for ``postgis`` (``@pytest.mark.parametrize("server", [...], indirect=True)``);
the PostGIS server gets a database of its own, apart from the one the API tests reset.
``browser`` skips when chromium is missing, except when ``CI=true``, where it fails.

The server runs in demo mode, as ``./scripts/run`` does: it prints one demo user per role with
a one-time password, which ``server`` reads from its output (``server.password(name)``,
``server.auth(name)`` for API headers, :func:`sign_in` for a page).
"""

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from service.core.chromium import CHROMIUM, CHROMIUM_ARGS
from service.core.config import Settings

from ..conftest import _postgis_url

BIN = Path(sys.executable).parent


class Server(str):
    """The base URL, with the demo users' one-time passwords printed at start."""

    passwords: dict[str, str]

    def password(self, username: str) -> str:
        return self.passwords[username]

    def auth(self, username: str) -> dict[str, str]:
        """API headers of a fresh sign-in of ``username``."""
        answer = httpx.post(
            f"{self}/auth/token",
            data={"username": username, "password": self.password(username)},
        )
        assert answer.status_code == 200, answer.text
        return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def sign_in(page, server: Server, username: str, *, then: str = "/console") -> None:
    """Sign in through the login page, as a person would."""
    page.goto(f"{server}{then}", wait_until="domcontentloaded")
    page.wait_for_selector("form[action='/login']", timeout=15_000)
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", server.password(username))
    page.click("button[type=submit]")
    page.wait_for_url(f"{server}{then}", timeout=15_000)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fresh_postgis_database(name: str) -> str:
    """A new, empty PostGIS database beside the test one (skips or fails as the API tests do)."""
    url = make_url(Settings(database_url=_postgis_url()).database_url)  # type: ignore[call-arg]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    fresh = url.set(database=name)
    engine = create_engine(fresh)
    with engine.begin() as conn:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
    engine.dispose()
    return fresh.render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def server(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("e2e")
    database = getattr(request, "param", "spatialite")
    url = (
        _fresh_postgis_database("jiedao_e2e")
        if database == "postgis"
        else f"sqlite:///{workdir}/jiedao.sqlite"
    )
    env = {
        **os.environ,
        "JIEDAO_DATABASE_URL": url,
        "JIEDAO_PORT": str(_free_port()),
        "JIEDAO_DATA_DIR": str(workdir),
        "COLUMNS": "200",  # the demo users' table on one line each
    }
    demo = subprocess.run(
        [BIN / "jiedao", "demo", "--days", "7", "--seed", "3"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert demo.returncode == 0, demo.stdout + demo.stderr
    assert "Stored" in demo.stdout
    again = subprocess.run(
        [BIN / "jiedao", "demo", "--if-empty"],
        env=env,
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "nothing to do" in again.stdout
    log = workdir / "serve.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [BIN / "jiedao", "serve", "--demo"],
            env=env,
            cwd=workdir,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{env['JIEDAO_PORT']}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"jiedao serve did not come up: {log.read_text()}")
            time.sleep(0.3)
        printed = log.read_text()
        server = Server(base)
        server.passwords = dict(re.findall(r"(demo-[a-z0-9-]+)\s*│\s*([A-Za-z0-9]{12})\b", printed))
        assert len(server.passwords) >= 7, printed
        yield server
    finally:
        process.terminate()
        process.wait(timeout=20)


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which("chromium") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Debian's chromium is required on CI (apt-get install chromium)")
        pytest.skip("Debian's chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            yield chromium
        finally:
            chromium.close()
