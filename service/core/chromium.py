"""Pages rendered by headless Chromium: PNG snapshots of map pages and PDF documents (the
monthly meeting's pack), for print.

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

from .exceptions import UnavailableError

__all__ = ["CHROMIUM", "CHROMIUM_ARGS", "pdf_document", "png_snapshot"]

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
            "Snapshots and PDFs need Debian's chromium, which is not installed.",
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
    return _render(
        html,
        executable=executable,
        output="page.png",
        flags=(
            f"--window-size={width},{height}",
            "--hide-scrollbars",
            f"--virtual-time-budget={_SETTLE_MS}",
        ),
        output_flag="--screenshot",
        what="snapshot",
    )


def pdf_document(html: str, *, executable: str = CHROMIUM) -> bytes:
    """The standalone page ``html`` printed to PDF (A4 unless its CSS ``@page`` says
    otherwise), without Chromium's header and footer.

    Raises
    ------
    UnavailableError
        When Chromium is missing or fails to print (503, naming what to install or check).
    """
    return _render(
        html,
        executable=executable,
        output="page.pdf",
        flags=("--no-pdf-header-footer", f"--virtual-time-budget={_SETTLE_MS}"),
        output_flag="--print-to-pdf",
        what="PDF",
    )


def _render(
    html: str,
    *,
    executable: str,
    output: str,
    flags: tuple[str, ...],
    output_flag: str,
    what: str,
) -> bytes:
    browser = _chromium(executable)
    with tempfile.TemporaryDirectory(prefix="jiedao-render-") as folder:
        page = Path(folder) / "page.html"
        page.write_text(html, encoding="utf-8")
        result = Path(folder) / output
        command = [
            browser,
            "--headless",
            *CHROMIUM_ARGS,
            f"--user-data-dir={folder}/profile",
            *flags,
            f"{output_flag}={result}",
            page.as_uri(),
        ]
        try:
            done = subprocess.run(command, capture_output=True, timeout=_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise UnavailableError(
                None,
                f"Chromium took longer than {_TIMEOUT_S:.0f} s to render the {what}.",
                "retry when the machine is less busy.",
            ) from None
        if not result.is_file():
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise UnavailableError(
                None,
                f"Chromium rendered no {what} (exit {done.returncode}: {detail[0]}).",
                "check that /usr/bin/chromium runs headless here.",
            )
        return result.read_bytes()
