"""Hot spots: the Gi* cells as GeoJSON, the campaign targets (JSON, CSV, printable), and the
hot-spot map page with its filters, standalone download and PNG snapshot.

Every endpoint takes the same query parameters (:func:`hotspot_query`) and renders one
:class:`service.hotspots.HotspotAnalysis`.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from markupsafe import Markup

from geo.campaign import targets_table
from geo.getisord import BIN_LABELS
from maps.hotspots import filter_form

from ..auth.service import allow
from ..core.chromium import png_snapshot
from ..core.deps import NowDep, SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES
from ..core.schemas import FeatureCollection
from ..core.spreadsheet import csv_response
from ..core.timezones import BEIJING
from ..incidents.service import CATEGORIES
from ..layers.service import LayerDep
from ..pages.service import render, with_demo_banner
from .schemas import CampaignTargetRead
from .service import CATEGORY_NAMES, CELL_KINDS, HotspotAnalysis, HotspotQuery, analyse, map_html

__all__ = ["maps_router", "router"]

router = APIRouter(prefix="/hotspots", tags=["hotspots"], responses=ERROR_RESPONSES)
maps_router = APIRouter(prefix="/maps", tags=["hotspots"], responses=ERROR_RESPONSES)

GEOJSON = "application/geo+json"
DEFAULT_DAYS = 28
_CELL_COLUMNS = (
    "cell_id",
    "count",
    "area_km2",
    "gi_value",
    "gi_z",
    "gi_p",
    "gi_p_fdr",
    "gi_bin",
    "gi_tested",
    "gi_neighbours",
    "trend",
    "previous_count",
    "change",
    "hot_before",
    "name_zh",
    "squad",
)
_HOTSPOTS = allow("hotspots:read")


def hotspot_query(
    now: NowDep,
    start: Annotated[
        date | None,
        Query(description=f"First day (Beijing), default {DEFAULT_DAYS} days before end."),
    ] = None,
    end: Annotated[
        date | None, Query(description="Last day, included (default yesterday).")
    ] = None,
    category: Annotated[
        list[str] | None, Query(description="Category codes (repeat the parameter), e.g. C02.")
    ] = None,
    shift: Annotated[
        Literal["early", "late"] | None,
        Query(description="Only incidents in the shift's hours: early 07-15, late 15-23."),
    ] = None,
    weekday: Annotated[
        list[int] | None, Query(description="Days of the week, 0 = Monday ... 6 = Sunday (repeat).")
    ] = None,
    source: Annotated[
        list[str] | None,
        Query(description="Sources (repeat): daily_inspection, complaint, patrol, ..."),
    ] = None,
    squad: Annotated[str | None, Query(description="One squad's communities.")] = None,
    community: Annotated[
        str | None, Query(description="One community (code, name or alias).")
    ] = None,
    cells: Annotated[
        Literal["grid", "h3", "community", "road"],
        Query(description="grid (square, EPSG:4547), h3, community or road (key-road segments)."),
    ] = "grid",
    cell_m: Annotated[float, Query(description="Grid cell size in metres.")] = 150.0,
    h3_resolution: Annotated[int, Query(description="H3 resolution: 9 or 10.")] = 9,
    permutations: Annotated[int, Query(description="Gi* permutations.")] = 9999,
    seed: Annotated[int, Query(description="Seed of the permutations.")] = 0,
    compare: Annotated[
        int, Query(description="Previous periods of equal length compared for the trend.")
    ] = 1,
    top: Annotated[int, Query(ge=1, le=50, description="Campaign targets listed.")] = 10,
) -> HotspotQuery:
    """The analysis asked for; errors name the parameter and the fix."""
    last = end or (now.astimezone(BEIJING).date() - timedelta(days=1))
    first = start or (last - timedelta(days=DEFAULT_DAYS - 1))
    return HotspotQuery(
        start=first,
        end=last,
        categories=tuple(category or ()),
        shift=shift,
        weekdays=tuple(weekday or ()),
        sources=tuple(source or ()),
        squad=squad or None,
        community=community or None,
        cells=cells,
        cell_m=cell_m,
        h3_resolution=h3_resolution,
        permutations=permutations,
        seed=seed,
        compare=compare,
        top=top,
    )


QueryDep = Annotated[HotspotQuery, Depends(hotspot_query)]


def _params(query: HotspotQuery) -> dict[str, str]:
    """The query as the page's form values and basemap links (one category: the form's)."""
    out: dict[str, str] = {"start": query.start.isoformat(), "end": query.end.isoformat()}
    if query.categories:
        out["category"] = query.categories[0]
    for key in ("shift", "squad", "community"):
        if getattr(query, key):
            out[key] = str(getattr(query, key))
    if query.sources:
        out["source"] = query.sources[0]
    if query.cells != "grid":
        out["cells"] = query.cells
    return out


def _link(path: str, query: HotspotQuery, **extra: str) -> str:
    """A link to ``path`` with the whole query (every category, weekday, source; settings that
    differ from the defaults), so the downloads show what the page shows."""
    pairs: list[tuple[str, str]] = [
        (k, v) for k, v in _params(query).items() if k not in ("category", "source")
    ]
    pairs += [("category", c) for c in query.categories]
    pairs += [("weekday", str(d)) for d in query.weekdays]
    pairs += [("source", x) for x in query.sources]
    defaults = HotspotQuery(start=query.start, end=query.end)
    for key in ("cell_m", "h3_resolution", "permutations", "seed", "compare", "top"):
        if getattr(query, key) != getattr(defaults, key):
            pairs.append((key, f"{getattr(query, key):g}"))
    return f"{path}?{urlencode([*pairs, *extra.items()])}"


def _cells_geojson(analysis: HotspotAnalysis) -> dict[str, Any]:
    cells = analysis.cells
    keep = [c for c in cells.columns if c in _CELL_COLUMNS or c.startswith("count_")]
    shown = cells[[*keep, "geometry"]].copy()
    shown["bin_label"] = shown["gi_bin"].map(BIN_LABELS)
    collection: dict[str, Any] = json.loads(shown.to_json(na="null", drop_id=True))
    collection["query"] = {
        k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(analysis.query).items()
    }
    collection["query"]["start"] = analysis.query.start.isoformat()
    collection["query"]["end"] = analysis.query.end.isoformat()
    collection["incidents"] = analysis.incidents
    collection["previous_incidents"] = analysis.previous_incidents
    collection["filter"] = analysis.filter_text
    collection["note"] = analysis.note
    return collection


@router.get(
    "",
    response_model=FeatureCollection,
    responses={200: {"content": {GEOJSON: {}}}},
    dependencies=[_HOTSPOTS],
)
def hotspot_cells(query: QueryDep, session: SessionDep, layer: LayerDep) -> JSONResponse:
    """The cells with their counts and Gi* statistics (z, p, FDR-adjusted p, bin -3..3 as
    ArcGIS's hot-spot analysis) and the trend against the previous period, as GeoJSON."""
    analysis = analyse(session, layer, query)
    return JSONResponse(_cells_geojson(analysis), media_type=GEOJSON)


@router.get(
    "/targets",
    dependencies=[_HOTSPOTS],
    response_model=list[CampaignTargetRead],
    responses={200: {"content": {"text/csv": {}, "text/html": {}}}},
)
def campaign_target_list(
    query: QueryDep,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    format: Annotated[
        Literal["json", "csv", "html"],
        Query(description="json, csv (opens in Excel) or html (printable)."),
    ] = "json",
) -> Response:
    """The campaign targets (集中整治): the top hot cells with their categories, counts,
    trend, community, squad and nearest key road or place."""
    analysis = analyse(session, layer, query)
    if format == "json":
        return JSONResponse([{**asdict(t), "where": t.where} for t in analysis.targets])
    table = targets_table(analysis.targets, categories=CATEGORY_NAMES, squads=layer.squad_names)
    if format == "csv":
        return csv_response(table, filename=f"targets-{query.start}-{query.end}.csv")
    page = _printable(analysis, table.to_html(index=False, border=0, classes="targets"))
    return HTMLResponse(with_demo_banner(page, demo=settings.demo))


def _printable(analysis: HotspotAnalysis, table_html: str) -> str:
    """The printable campaign-target page around ``table_html`` (``DataFrame.to_html``)."""
    query = analysis.query
    # pandas' to_html escapes the cells' text itself, so the table goes in as markup; every
    # other value below is plain text, escaped by the template.
    table = Markup(table_html) if analysis.targets else None
    return render(
        "targets.html.j2",
        period=query.label(),
        filter_text=analysis.filter_text,
        incidents=analysis.incidents,
        permutations=query.permutations,
        map_link=_link("/maps/hotspots", query),
        note=analysis.note,
        table=table,
    )


@maps_router.get("/hotspots", response_class=HTMLResponse, dependencies=[_HOTSPOTS])
def hotspot_map(
    query: QueryDep,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    basemap: Literal["osm", "tianditu", "amap"] = "osm",
    download: Annotated[
        bool,
        Query(
            description="true: a standalone HTML file to save: libraries inlined, "
            "opens from disk, no filter form."
        ),
    ] = False,
) -> HTMLResponse:
    """The hot-spot map: Gi* cells by confidence with a legend, heat layer, community rates,
    key roads, the week-by-week animation and the campaign targets; filters in the page."""
    analysis = analyse(session, layer, query)
    params = _params(query)
    communities = layer.pack.communities
    controls = (
        ""
        if download
        else filter_form(
            action="/maps/hotspots",
            values={**params, "basemap": basemap},
            choices={
                "category": [
                    ("", "全部 all"),
                    *((c.code, f"{c.code} {c.name_zh}") for c in CATEGORIES),
                ],
                "shift": [
                    ("", "全天 all day"),
                    ("early", "早班 early 07-15"),
                    ("late", "晚班 late 15-23"),
                ],
                "squad": [("", "全街道 whole sub-district"), *sorted(layer.squad_names.items())],
                "community": [
                    ("", "全部 all"),
                    *zip(
                        communities["code"].astype(str),
                        communities["name_zh"].astype(str),
                        strict=True,
                    ),
                ],
                "source": [
                    ("", "全部 all"),
                    ("daily_inspection", "日常巡查 daily inspection"),
                    ("complaint", "群众投诉 complaint"),
                    ("special_inspection", "专项检查 special inspection"),
                    ("patrol", "巡逻发现 patrol"),
                ],
                "cells": [(k, k) for k in CELL_KINDS],
            },
            links=[
                ("下载 HTML download", _link("/maps/hotspots", query, download="true")),
                ("PNG 快照 snapshot", _link("/maps/hotspots.png", query)),
                ("整治目标表 printable targets", _link("/hotspots/targets", query, format="html")),
                ("CSV", _link("/hotspots/targets", query, format="csv")),
                ("GeoJSON", _link("/hotspots", query)),
            ],
        )
    )
    html = map_html(
        analysis,
        layer,
        basemap=basemap,
        tianditu_key=settings.tianditu_key,
        controls=controls,
        link_params=params,
        standalone=download,
    )
    headers = (
        {"Content-Disposition": f'attachment; filename="hotspots-{query.start}-{query.end}.html"'}
        if download
        else None
    )
    return HTMLResponse(with_demo_banner(html, demo=settings.demo), headers=headers)


@maps_router.get(
    "/hotspots.png",
    dependencies=[_HOTSPOTS],
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def hotspot_snapshot(
    query: QueryDep,
    session: SessionDep,
    layer: LayerDep,
    settings: SettingsDep,
    width: Annotated[int, Query(ge=400, le=4000)] = 1600,
    height: Annotated[int, Query(ge=300, le=4000)] = 1000,
) -> Response:
    """The hot-spot map as a PNG for the monthly meeting's pack (headless Chromium)."""
    analysis = analyse(session, layer, query)
    html = map_html(
        analysis, layer, basemap="osm", tianditu_key=settings.tianditu_key, standalone=True
    )
    png = png_snapshot(html, width=width, height=height)
    return Response(
        png,
        media_type="image/png",
        headers={
            "Content-Disposition": f'inline; filename="hotspots-{query.start}-{query.end}.png"'
        },
    )
