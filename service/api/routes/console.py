"""The dispatcher's console (调度台): a live page of open incidents, units, recommendations and
assignment, built on the JSON API alone (``/static/console/console.js`` polls it).

The page is static HTML; every asset (Leaflet, the console's script and style) is served from
``/static`` so it works on an intranet without internet access.
"""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

__all__ = ["CONSOLE_HTML", "router"]

router = APIRouter(tags=["console"])

CONSOLE_HTML: Final = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>调度台 Dispatcher console · jiedao</title>
<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">
<link rel="stylesheet" href="/static/console/console.css">
</head>
<body>
<header id="bar">
  <h1>调度台 <span class="en">Dispatcher console</span></h1>
  <div id="counts"></div>
  <div id="updated" title="最近刷新 Last refresh">更新 updated --:--:--</div>
  <label id="actor-box">值班员 Operator <input id="actor" size="12" maxlength="60"
    title="记入时间线 recorded in the timeline (role, not name)"></label>
  <nav id="pages"><a href="/">辖区地图 map</a> · <a href="/maps/hotspots">热点 hot spots</a></nav>
</header>
<main id="layout">
  <section id="left">
    <div class="panel" id="queue-panel">
      <h2>待办队列 <span class="en">Queue</span> <span id="queue-count" class="badge"></span></h2>
      <ol id="queue" aria-label="queue"></ol>
    </div>
    <div class="panel" id="units-panel">
      <h2>执勤单元 <span class="en">Units</span> <span id="units-count" class="badge"></span></h2>
      <ul id="units" aria-label="units"></ul>
    </div>
  </section>
  <section id="map" aria-label="map"></section>
  <section id="right" class="panel">
    <div id="detail-empty">在队列或地图上选择一个事件<br>
      <span class="en">Select an incident in the queue or on the map</span></div>
    <div id="detail" hidden>
      <h2 id="d-title"></h2>
      <div id="d-badges"></div>
      <dl id="d-resolution"></dl>
      <p id="d-description"></p>
      <div id="d-assignment"></div>
      <div id="d-steps" aria-label="case steps"></div>
      <h3>推荐单元 <span class="en">Recommended units</span></h3>
      <div id="d-message" role="status"></div>
      <table id="d-recs">
        <thead><tr><th>单元 Unit</th><th>ETA 分钟 min</th><th>距离 km</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
      <div id="d-duplicates-box" hidden>
        <h3>可能重复 <span class="en">Possible duplicates</span></h3>
        <ul id="d-duplicates"></ul>
      </div>
      <h3>办理时间线 <span class="en">Timeline</span></h3>
      <ol id="d-timeline"></ol>
    </div>
  </section>
</main>
<script src="/static/vendor/leaflet/leaflet.js"></script>
<script src="/static/console/console.js"></script>
</body>
</html>
"""


@router.get("/console", response_class=HTMLResponse)
def console() -> HTMLResponse:
    """The dispatcher's live page: map, queue, incident detail, recommended units, assign."""
    return HTMLResponse(CONSOLE_HTML, headers={"Cache-Control": "no-store"})
