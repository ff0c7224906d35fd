"""The monthly meeting's pack (issue 14 §4): the page's figures are the worked month's counted
by hand, and the PDF is printed by Chromium with the CJK font, checked as an image."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from service.core.chromium import CHROMIUM, pdf_document
from tests.service.casework import worked
from tests.service.helpers import as_

__all__ = ["worked"]  # the fixture, used by name

NOVEMBER = {"month": "2026-11", "map": "false"}


def _cells(page: str, name: str) -> list[str]:
    """The first figure of each cell of the indicator row named ``name``."""
    row = re.search(rf'<tr><td class="name">{name}</td>(.*?)</tr>', page, re.S)
    assert row, f"no row {name}"
    return re.findall(r"<td>([^<]*)<small", row.group(1))


def test_the_pack_shows_the_month_counted_by_hand(worked):
    client = worked["client"]
    answer = client.get("/meetings/monthly", params=NOVEMBER, headers=as_(client, "leader"))
    assert answer.status_code == 200, answer.text
    page = answer.text
    assert "月度例会材料" in page
    assert "2026-11-01 — 2026-11-30" in page
    # 梅园: reports, filed, closed, closure rate, on-time closure rate, rework rate, overdue,
    # parked (tests/service/casework.py's story; the same as test_statistics counts).
    assert _cells(page, "梅园") == ["6", "4", "2", "50.0%", "33.3%", "50.0%", "2", "1"]
    # October had one case (H) in 梅园: the change is against it; the year adds it.
    row = re.search(r'<tr><td class="name">梅园</td>(.*?)</tr>', page, re.S).group(1)
    assert "<small>+5</small><small>年 7</small>" in row
    # The overdue and parked list names D (open past due) and F (parked), not E (closed).
    numbers = worked["numbers"]
    assert numbers["D"] in page
    assert numbers["F"] in page
    assert numbers["E"] not in page
    assert client.get("/meetings/monthly", headers=as_(client, "info")).status_code == 403
    bad = client.get("/meetings/monthly", params={"month": "2026-13"}, headers=as_(client, "case"))
    assert bad.status_code == 422


def _tools_or_skip() -> None:
    missing = [
        tool
        for tool, path in (("chromium", CHROMIUM), ("pdftoppm", "/usr/bin/pdftoppm"))
        if not Path(path).exists() and shutil.which(tool) is None
    ]
    if missing and os.environ.get("CI") != "true":
        pytest.skip(f"{', '.join(missing)} missing (scripts/setup --test installs them)")


def test_the_pdf_is_printed_with_the_cjk_font_and_the_map(worked, tmp_path):
    _tools_or_skip()
    client = worked["client"]
    answer = client.get(
        "/meetings/monthly",
        params={"month": "2026-11", "format": "pdf"},
        headers=as_(client, "case"),
    )
    assert answer.status_code == 200, answer.text[:500]
    assert answer.headers["content-type"] == "application/pdf"
    assert answer.content.startswith(b"%PDF")
    pdf = tmp_path / "pack.pdf"
    pdf.write_bytes(answer.content)
    text = subprocess.run(
        ["pdftotext", "-l", "1", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "月度例会材料 2026-11" in text
    assert "梅园" in text
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")], check=True)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 2  # the tables, then the map
    first = Image.open(pages[0]).convert("L")
    assert first.width > first.height  # A4 landscape
    inked = sum(1 for v in first.tobytes() if v < 128) / (first.width * first.height)
    assert inked > 0.01  # text and table lines, not a blank page

    def coloured(path: Path) -> float:
        image = Image.open(path).convert("RGB")
        grid = [(x, y) for x in range(0, image.width, 2) for y in range(0, image.height, 2)]
        pixels = [image.getpixel(point) for point in grid]
        return sum(1 for r, g, b in pixels if max(r, g, b) - min(r, g, b) > 40) / len(pixels)

    # The map's snapshot (cells, legend swatches) is on a page of its own, after the tables.
    # (about 0.5 % of its pixels are coloured at 40 dpi; a page of tables has none or almost).
    assert max(coloured(page) for page in pages[1:]) > 0.002


def test_chinese_is_drawn_in_a_cjk_font_not_boxes(tmp_path):
    """Missing glyphs are all the same box, so two different strings would print alike."""
    _tools_or_skip()

    def printed(text: str) -> bytes:
        pdf = tmp_path / f"{len(list(tmp_path.iterdir()))}.pdf"
        style = 'font-family:"Noto Sans CJK SC",sans-serif;font-size:40px'
        pdf.write_bytes(pdf_document(f"<meta charset=\"utf-8\"><p style='{style}'>{text}</p>"))
        subprocess.run(
            ["pdftoppm", "-r", "30", "-png", "-singlefile", str(pdf), str(pdf)], check=True
        )
        return Image.open(f"{pdf}.png").convert("L").tobytes()

    assert printed("月度例会") != printed("清水河街")
