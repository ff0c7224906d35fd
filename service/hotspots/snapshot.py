"""PNG snapshots of rendered map pages, for the monthly meeting's printed pack.

A page is rendered by Debian's headless Chromium itself (``--screenshot``): no browser driver is
needed, so the service installs and runs without Playwright (which only the browser tests use).
The page must be standalone (its scripts and styles inlined, see
:func:`maps.assets.standalone_html`): it is opened from a temporary file, with no server.
Basemap tiles are fetched when the network allows and skipped when it does not. The Chinese
labels need a CJK font on the machine (``fonts-noto-cjk``); without one Chromium draws boxes.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Final

from ..core.errors import UnavailableError

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "png_snapshot"]

CHROMIUM: Final = "/usr/bin/chromium"
# Headless in a container: no sandbox (root), no GPU, nothing that calls home.
CHROMIUM_ARGS: Final = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# Scripts (Leaflet drawing the layers) and tiles need a moment after load: virtual time, so a
# loaded machine waits as long as an idle one, in page time.
_SETTLE_MS: Final = 4000
_TIMEOUT_S: Final = 90.0


def _chromium(executable: str) -> str:
    if Path(executable).exists():
        return executable
    found = shutil.which("chromium")
    if found is None:
        raise UnavailableError(
            None,
            "PNG snapshots need Debian's chromium, which is not installed.",
            "install it: apt-get install chromium fonts-noto-cjk (scripts/setup does so as root).",
        )
    return found


def png_snapshot(
    html: str, *, width: int = 1600, height: int = 1000, executable: str = CHROMIUM
) -> bytes:
    """The standalone page ``html`` as a PNG of ``width`` x ``height`` pixels.

    Parameters
    ----------
    html
        A page that needs no server (assets inlined).
    width, height
        The window, in CSS pixels.
    executable
        Chromium's path; ``chromium`` on the PATH when it does not exist.

    Returns
    -------
    bytes
        The PNG.

    Raises
    ------
    UnavailableError
        When Chromium is missing or fails to render (503, naming what to install or check).
    """
    browser = _chromium(executable)
    with tempfile.TemporaryDirectory(prefix="jiedao-snapshot-") as folder:
        page = Path(folder) / "page.html"
        page.write_text(html, encoding="utf-8")
        shot = Path(folder) / "page.png"
        command = [
            browser,
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={folder}/profile",
            f"--window-size={width},{height}",
            "--hide-scrollbars",
            f"--virtual-time-budget={_SETTLE_MS}",
            f"--screenshot={shot}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise UnavailableError(
                None,
                f"Chromium took longer than {_TIMEOUT_S:.0f} s to render the snapshot.",
                "retry when the machine is less busy.",
            ) from None
        if not shot.is_file():
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise UnavailableError(
                None,
                f"Chromium rendered no snapshot (exit {done.returncode}: {detail[0]}).",
                "check that /usr/bin/chromium runs headless here.",
            )
        return shot.read_bytes()
