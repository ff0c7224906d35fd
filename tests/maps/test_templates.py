"""The page chrome comes from Jinja2 templates that parse and escape every value they show."""

import html
import re
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import LineString, box

from geo.campaign import CampaignTarget
from geo.shiftplan import PlannedStop, ShiftPlan, UnitPlan
from maps import render_jurisdiction, render_plan
from maps._templating import ENVIRONMENT, render
from maps.hotspots import filter_form, render_hotspots

MAPS = Path(__file__).resolve().parents[2] / "maps"
# Script, attribute break-out and ampersand: nothing of it may reach the page unescaped.
PAYLOAD = "<script>alert('x')</script> & \"Co\""
BREAKOUT = "x' onmouseover='alert(1)"


def _box(page: str, box_id: str) -> str:
    """The HTML of the ``<div id='box_id'>`` box (its nested divs included)."""
    start = page.index(f"<div id='{box_id}'")
    depth = 0
    for tag in re.finditer(r"<(/?)div\b", page[start:]):
        depth += -1 if tag.group(1) else 1
        if depth == 0:
            return page[start : start + tag.end() + 1]
    raise AssertionError(f"{box_id} is not closed")


def _escaped(chrome: str, text: str) -> None:
    """``text`` shows in ``chrome`` as text: escaped in the source, itself once unescaped."""
    assert text not in chrome
    assert "<script>alert" not in chrome
    assert text in html.unescape(chrome)


def test_every_template_parses():
    names = ENVIRONMENT.list_templates()
    assert "filter_form.html.j2" in names
    for name in names:
        ENVIRONMENT.get_template(name)
    # Every template the renderers ask for is there, shipped beside the package.
    asked = {
        name
        for source in MAPS.glob("*.py")
        for name in re.findall(r"render\(\s*\"([^\"]+)\"", source.read_text("utf-8"))
    }
    assert asked == {name for name in names if not name.startswith("_")}  # "_": macros only
    assert all((MAPS / "templates" / name).is_file() for name in names)


def test_templates_refuse_missing_values():
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        render("routes_title.html.j2", title="t")


def test_jurisdiction_chrome_escapes_titles_and_category_names(squares_pack):
    incidents = pd.DataFrame(
        {"category": ["C01"], "lon": [114.085], "lat": [22.575], "description": [PAYLOAD]}
    )
    page = (
        render_jurisdiction(
            squares_pack,
            incidents=incidents,
            title=PAYLOAD,
            categories={"C01": PAYLOAD},
            pages=[(PAYLOAD, "/a?b=1&c=2")],
        )
        .get_root()
        .render()
    )
    assert "<script>alert" not in page
    title, legend = _box(page, "jiedao-title"), _box(page, "jiedao-legend")
    _escaped(title, PAYLOAD)
    _escaped(legend, f"C01 {PAYLOAD} (1)")
    assert "href='/a?b=1&amp;c=2'" in title


def test_hotspot_chrome_escapes_titles_names_and_form_values():
    cells = gpd.GeoDataFrame(
        {
            "cell_id": ["a", "b"],
            "count": [9, 1],
            "gi_bin": [3, 0],
            "gi_z": [3.2, 0.1],
            "gi_p": [0.001, 0.9],
            "gi_p_fdr": [0.002, 0.9],
        },
        geometry=[box(114.080, 22.570, 114.081, 22.571), box(114.081, 22.570, 114.082, 22.571)],
        crs="EPSG:4326",
    )
    target = CampaignTarget(
        rank=1,
        cell_id=BREAKOUT,
        lon=114.0805,
        lat=22.5705,
        bounds=(114.080, 22.570, 114.081, 22.571),
        count=9,
        categories=(("C01", 9),),
        gi_bin=3,
        gi_z=3.2,
        gi_p_fdr=0.002,
        trend="",
        previous_count=None,
        change=None,
        community_code="c",
        community_name=PAYLOAD,
        squad="west",
        key_road="",
        key_road_m=None,
        place="",
        place_m=None,
    )
    form = filter_form(
        action="/maps/hotspots",
        values={"start": BREAKOUT, "extra": PAYLOAD},
        choices={"category": [("", "全部 all"), ("C01", PAYLOAD)]},
        links=[(PAYLOAD, "/x?a=1&b=2")],
    )
    page = (
        render_hotspots(
            cells,
            targets=[target],
            title=PAYLOAD,
            categories={"C01": PAYLOAD},
            squads={"west": PAYLOAD},
            controls=form,
        )
        .get_root()
        .render()
    )
    assert "<script>alert" not in page
    assert "onmouseover='alert" not in page
    title, targets = _box(page, "jiedao-title"), _box(page, "jiedao-targets")
    _escaped(title, PAYLOAD)
    _escaped(targets, f"{PAYLOAD} · {PAYLOAD} · 9 件 incidents")
    _escaped(targets, f"<span style='color:#555'>{PAYLOAD} 9</span>")
    _escaped(targets, f"data-cell='{BREAKOUT}'")
    # The form is the caller's HTML: kept as HTML, its own values escaped.
    assert "<form id='jiedao-filters'" in title
    _escaped(form, f"value='{BREAKOUT}'")
    _escaped(form, f"<option value='C01'>{PAYLOAD}</option>")
    _escaped(form, f"name='extra' value='{PAYLOAD}'")
    assert "href='/x?a=1&amp;b=2'" in form


def test_route_chrome_escapes_the_title_and_unit_names():
    stop = PlannedStop(
        target_id="t",
        kind="hotspot",
        label=PAYLOAD,
        lon=114.085,
        lat=22.575,
        arrival_s=8 * 3600,
        start_s=8 * 3600,
        departure_s=8 * 3600 + 600,
        priority=2.0,
    )
    unit = UnitPlan(
        unit_id=PAYLOAD,
        mode="foot",
        stops=(stop,),
        path=LineString([(114.08, 22.57), (114.085, 22.575)]),
        distance_m=800.0,
        travel_s=600.0,
        dwell_s=600.0,
        wait_s=0.0,
        priority=2.0,
    )
    plan = ShiftPlan(
        shift=(7 * 3600, 15 * 3600),
        units=(unit,),
        coverage={},
        dropped=(),
        objective=0.0,
        solver_status="test",
        wall_time_s=0.0,
    )
    page = render_plan(plan, title=PAYLOAD).get_root().render()
    assert "<script>alert" not in page
    _escaped(_box(page, "jiedao-title"), PAYLOAD)
    _escaped(_box(page, "jiedao-legend"), f"{PAYLOAD} (步巡 foot): 1 stops, 0.8 km")
