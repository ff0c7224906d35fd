"""The jurisdiction map page: communities by squad, key roads, stations and recent incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Literal

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from maps import render_jurisdiction
from maps.assets import offline_html
from service.api.deps import LayerDep, SessionDep, SettingsDep
from service.categories import CATEGORIES
from service.models import Incident

__all__ = ["router"]

router = APIRouter(tags=["map"])

_COLUMNS = ("category", "lon", "lat", "occurred_at", "source", "urgent", "description",
            "community_code", "community_name", "squad", "key_road_id", "key_road_name", "status")


@router.get("/", response_class=HTMLResponse)
def jurisdiction_map(session: SessionDep, settings: SettingsDep, layer: LayerDep,
                     basemap: Literal["osm", "tianditu", "amap"] = "osm",
                     days: int = Query(7, ge=0, le=366)) -> HTMLResponse:
    """The jurisdiction map with the incidents of the last ``days`` days."""
    since = datetime.now(UTC) - timedelta(days=days)
    rows = session.scalars(select(Incident).where(Incident.occurred_at >= since)).all()
    incidents = pd.DataFrame([{c: getattr(r, c) for c in _COLUMNS} for r in rows],
                             columns=list(_COLUMNS))
    m = render_jurisdiction(layer.pack, incidents=incidents, basemap=basemap,
                            tianditu_key=settings.tianditu_key,
                            categories={c.code: c.name_zh for c in CATEGORIES},
                            link_params={"days": str(days)},
                            pages=[("调度台 dispatcher console", "/console"),
                                   ("热点分析 hot spots", "/maps/hotspots"),
                                   ("API 文档 docs", "/docs")])
    return HTMLResponse(offline_html(m, asset_base="/static/vendor"))
