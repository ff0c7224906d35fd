"""PNG snapshots of rendered map pages, for the monthly meeting's printed pack.

A page is rendered by Debian's headless Chromium through Playwright. Its ``/static`` assets are
answered from the package folder by a request route, so a snapshot needs no running server and
no network; basemap tiles are fetched when the network allows and skipped when it does not.
The Chinese labels need a CJK font on the machine (``fonts-noto-cjk``); without one Chromium
draws empty boxes.
"""

from __future__ import annotations

import mimetypes
import shutil
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote, urlparse

from . import STATIC_DIR
from .crud.errors import UnavailableError

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "png_snapshot"]

CHROMIUM: Final = "/usr/bin/chromium"
# Headless in a container: no sandbox (root), no GPU, nothing that calls home.
CHROMIUM_ARGS: Final = ("--no-sandbox", "--disable-gpu", "--disable-background-networking",
                        "--disable-component-update", "--disable-sync", "--no-first-run")
# Tiles keep arriving for a while after "load"; this is how long a snapshot waits for them.
_SETTLE_MS: Final = 1500
_ORIGIN: Final = "http://jiedao.snapshot"


def _serve_static(route: Any) -> None:
    path = unquote(urlparse(route.request.url).path)
    target = (STATIC_DIR / path.removeprefix("/static/")).resolve()
    if not target.is_relative_to(STATIC_DIR) or not target.is_file():
        route.fulfill(status=404, body="")
        return
    kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    route.fulfill(status=200, body=target.read_bytes(), headers={"Content-Type": kind})


def png_snapshot(html: str, *, width: int = 1600, height: int = 1000,
                 executable: str = CHROMIUM) -> bytes:
    """The page ``html`` (whose assets load from ``/static``) as a PNG of ``width`` x ``height``.

    Raises :class:`UnavailableError` naming the package to install when Chromium or
    Playwright is missing.
    """
    if not Path(executable).exists() and shutil.which("chromium") is None:
        raise UnavailableError(
            None, "PNG snapshots need Debian's chromium, which is not installed.",
            "install it: apt-get install chromium fonts-noto-cjk (scripts/setup does so as root).")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise UnavailableError(
            None, "PNG snapshots need the playwright package.",
            "pip install playwright (no browser download: jiedao uses /usr/bin/chromium).",
        ) from None
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable,
                                             args=list(CHROMIUM_ARGS))
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.route(f"{_ORIGIN}/static/**", _serve_static)
            page.route(f"{_ORIGIN}/", lambda route: route.fulfill(
                status=200, body=html, headers={"Content-Type": "text/html; charset=utf-8"}))
            page.goto(f"{_ORIGIN}/", wait_until="load", timeout=30_000)
            page.wait_for_timeout(_SETTLE_MS)
            return page.screenshot(type="png", full_page=False)
        finally:
            browser.close()
