"""The pages: the jurisdiction map (``/``) and the dispatcher's console (``/console``).

The console (调度台) is a live page of open incidents, units, recommendations and assignment,
built on the JSON API alone (``/static/console/console.js`` polls it). Every asset is served
from ``/static`` so the pages work on an intranet without internet access.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from maps import render_jurisdiction
from maps.assets import offline_html

from ..core.deps import SessionDep, SettingsDep
from ..core.errors import ERROR_RESPONSES
from ..incidents import service as incidents_service
from ..layers.service import LayerDep
from .service import render

__all__ = ["router"]

router = APIRouter(responses=ERROR_RESPONSES)


@router.get("/", response_class=HTMLResponse, tags=["map"])
def jurisdiction_map(
    session: SessionDep,
    settings: SettingsDep,
    layer: LayerDep,
    basemap: Literal["osm", "tianditu", "amap"] = "osm",
    days: int = Query(7, ge=0, le=366),
) -> HTMLResponse:
    """The jurisdiction map with the incidents of the last ``days`` days."""
    since = datetime.now(UTC) - timedelta(days=days)
    incidents = incidents_service.map_frame(session, since=since)
    m = render_jurisdiction(
        layer.pack,
        incidents=incidents,
        basemap=basemap,
        tianditu_key=settings.tianditu_key,
        categories={c.code: c.name_zh for c in incidents_service.CATEGORIES},
        link_params={"days": str(days)},
        pages=[
            ("调度台 dispatcher console", "/console"),
            ("热点分析 hot spots", "/maps/hotspots"),
            ("API 文档 docs", "/docs"),
        ],
    )
    return HTMLResponse(offline_html(m, asset_base="/static/vendor"))


@router.get("/console", response_class=HTMLResponse, tags=["console"])
def console() -> HTMLResponse:
    """The dispatcher's live page: map, queue, incident detail, recommended units, assign."""
    return HTMLResponse(render("console.html.j2"), headers={"Cache-Control": "no-store"})
