/* jiedao planning page (巡逻规划): the squad leader picks a shift, sets the units on duty, adds
 * tasks by clicking the map, plans (with a progress bar), and reads the routes, beats, hot spots,
 * each unit's timeline and the plan's figures; during the shift it shows the units' positions
 * and the dosage, and re-plans from now. Every piece of data goes into the DOM through
 * textContent (never innerHTML). */
(function () {
  "use strict";

  var ME = JSON.parse(document.getElementById("me").textContent);
  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var TZ = "Asia/Shanghai";
  var LIVE_MS = 15000;
  var PLAN_LIMIT_S = 20;  // the plan's safety cap on the search (the iteration limit comes first)
  // Names of modes, stops and shifts: one table (maps/labels.py) for maps, exports and pages.
  var LABELS = JSON.parse(document.getElementById("labels").textContent);
  var MODE = LABELS.modes;
  var MEAL = {early: ["11:30", "13:00"], late: ["17:30", "19:00"]};
  var ROSTER = [["foot", 2], ["ebike", 1], ["car", 1]];
  var COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b"];
  var KIND = LABELS.kinds;
  var GANTT = {
    travel: "#94a3b8", patrol: "#86efac", hotspot: "#dc2626", revisit: "#dc2626",
    sweep: "#15803d", task: "#2563eb", "break": "#a16207", transfer: "#475569", wait: "#f1f5f9"
  };
  var FIGURES = [
    ["utilisation_min", "最低利用率 utilisation, lowest unit", true],
    ["utilisation_mean", "平均利用率 utilisation, mean", true],
    ["idle_units", "无目标单元 units with no target", false],
    ["hotspot_presence", "热点到访率 hot-spot presence", true],
    ["key_roads_swept", "重点路段覆盖 key roads swept", true],
    ["returned_on_time", "按时返回 back on time", true]
  ];
  function can(p) { return ME.permissions.indexOf(p) >= 0; }

  var state = {
    stations: [], squads: [], units: [], tasks: [], taskSeq: 1,
    plan: null, previous: null, pins: {}, excluded: {},
    beats: {}, drawing: null, stored: []
  };

  // -- DOM and API helpers --------------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "cls") { node.className = attrs[k]; }
      else if (k.indexOf("data-") === 0 || k === "title" || k === "type" ||
               k === "aria-label" || k === "href" || k === "target") {
        node.setAttribute(k, attrs[k]);
      } else { node[k] = attrs[k]; }
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) {
        node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
      }
    });
    return node;
  }
  function $(id) { return document.getElementById(id); }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function clock(iso) {
    return new Date(iso).toLocaleTimeString("zh-CN", {hour12: false, timeZone: TZ,
                                                      hour: "2-digit", minute: "2-digit"});
  }
  function share(v) { return v === null || v === undefined ? "—" : Math.round(v * 100) + "%"; }
  function errorText(data) {
    if (!data || !data.detail) { return null; }
    if (typeof data.detail === "string") { return data.detail; }
    return data.detail.map(function (d) {
      return (d.field ? d.field + ": " : "") + d.message + (d.fix ? " (" + d.fix + ")" : "");
    }).join("; ");
  }
  function api(path, body) {
    var options = body === undefined ? {} : {
      method: "POST", body: JSON.stringify(body),
      headers: {"Content-Type": "application/json", "X-CSRF-Token": CSRF}
    };
    return fetch(path, options).then(function (r) {
      if (r.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      }
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok) { throw new Error(errorText(data) || ("HTTP " + r.status)); }
        return data;
      });
    });
  }
  function say(text, kind) {
    var box = $("p-message");
    box.textContent = text || "";
    box.className = kind || "";
  }
  function today() {
    var now = new Date(Date.now() + 24 * 3600 * 1000);  // tomorrow's shift by default
    return now.toLocaleDateString("sv-SE", {timeZone: TZ});
  }

  // -- map ---------------------------------------------------------------------------------

  var map = L.map("map").setView([22.583, 114.095], 14);
  L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, attribution: "© OpenStreetMap contributors"
  }).addTo(map);
  var areaLayer = L.layerGroup().addTo(map);
  var beatLayer = L.layerGroup().addTo(map);
  var spotLayer = L.layerGroup().addTo(map);
  var routeLayer = L.layerGroup().addTo(map);
  var taskLayer = L.layerGroup().addTo(map);
  var drawnLayer = L.layerGroup().addTo(map);  // beats drawn by hand, and the one being drawn
  var previousLayer = L.layerGroup().addTo(map);  // the previous plan's routes, to compare
  var liveLayer = L.layerGroup().addTo(map);
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    var box = el("div", {cls: "legend", id: "plan-legend"}, [
      el("strong", {text: "图例 Legend"}),
      el("div", {text: "彩色线 = 单元路线 coloured line = a unit's route"}),
      el("div", {text: "虚线区 = 巡区 dashed area = a unit's beat"}),
      el("div", {text: "灰虚线 = 上一版路线 grey dashes = the previous plan's routes"}),
      el("div", {text: "橙圈 = 热点 (越深越重) orange = hot spot (darker = busier)"}),
      el("div", {text: "绿线 = 重点路段 green = key road"}),
      el("div", {text: "蓝针 = 必巡任务 blue pin = task"}),
      el("div", {text: "方块 = 单元实时位置 square = unit now"})
    ]);
    return box;
  };
  legend.addTo(map);

  map.on("click", function (e) {
    if (!can("plans:create")) { return; }
    if (state.drawing) {  // a beat being drawn takes the clicks
      state.drawing.corners.push({lon: +e.latlng.lng.toFixed(6), lat: +e.latlng.lat.toFixed(6)});
      drawBeats();
      return;
    }
    var task = {
      task_id: "task-" + state.taskSeq++, lon: +e.latlng.lng.toFixed(6),
      lat: +e.latlng.lat.toFixed(6), dwell: 15, start: "", end: "", note: ""
    };
    state.tasks.push(task);
    drawTasks();
  });

  function colourOf(i) { return COLOURS[i % COLOURS.length]; }

  function drawArea() {
    clear(areaLayer);
    var squad = $("p-squad").value;
    (state.layer.communities.features || []).forEach(function (f) {
      if (f.properties.squad !== squad) { return; }
      L.geoJSON(f, {style: {color: "#334155", weight: 2, fill: false}})
        .bindTooltip(f.properties.name_zh || f.properties.code).addTo(areaLayer);
    });
    (state.layer.key_roads.features || []).forEach(function (f) {
      if (f.properties.squad !== squad) { return; }
      L.geoJSON(f, {style: {color: "#15803d", weight: 5, opacity: 0.5}})
        .bindTooltip("重点路段 key road " + (f.properties.name_zh || "")).addTo(areaLayer);
    });
    var bounds = L.featureGroup(areaLayer.getLayers()).getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, {padding: [10, 10]}); }
  }

  // -- units and tasks ---------------------------------------------------------------------

  function defaultUnits() {
    var squad = $("p-squad").value;
    var meal = MEAL[$("p-shift").value];
    var base = (state.squads.filter(function (s) { return s.code === squad; })[0] || {})
      .base_station || "";
    var units = [];
    ROSTER.forEach(function (pair) {
      for (var k = 1; k <= pair[1]; k++) {
        units.push({unit_id: squad + "-" + pair[0] + "-" + k, mode: pair[0], station: base,
                    meal_start: meal[0], meal_end: meal[1]});
      }
    });
    return units;
  }

  function select(options, value, onChange, label) {
    var node = el("select", {"aria-label": label});
    options.forEach(function (o) {
      node.appendChild(el("option", {value: o[0], text: o[1], selected: o[0] === value}));
    });
    node.addEventListener("change", function () { onChange(node.value); });
    return node;
  }
  function input(type, value, onChange, label) {
    var node = el("input", {type: type, value: value, "aria-label": label});
    node.addEventListener("input", function () { onChange(node.value); });
    node.addEventListener("change", function () { onChange(node.value); });
    return node;
  }

  function drawUnits() {
    var body = $("p-units").querySelector("tbody");
    clear(body);
    var stations = state.stations.map(function (s) { return [s.code, s.name]; });
    state.units.forEach(function (u, i) {
      body.appendChild(el("tr", {"data-unit": u.unit_id}, [
        el("td", {}, [input("text", u.unit_id, function (v) { u.unit_id = v; }, "unit id")]),
        el("td", {}, [select(Object.keys(MODE).map(function (m) { return [m, MODE[m]]; }),
                             u.mode, function (v) { u.mode = v; }, "mode")]),
        el("td", {}, [select(stations, u.station, function (v) { u.station = v; }, "station")]),
        el("td", {cls: "meal"}, [
          input("time", u.meal_start, function (v) { u.meal_start = v; }, "meal from"),
          input("time", u.meal_end, function (v) { u.meal_end = v; }, "meal until")]),
        el("td", {}, [el("div", {cls: "actions"}, [
          u.mode === "car" || !can("plans:create") ? null :
            el("button", {type: "button", cls: "beat" + (state.beats[u.unit_id] ? " drawn" : ""),
                          text: state.beats[u.unit_id] ? "巡区 ✓" : "✎ 巡区",
                          title: state.beats[u.unit_id]
                            ? "手绘巡区 beat drawn by hand: click to draw again"
                            : "在地图上画巡区 draw this unit's beat on the map",
                          onclick: function () { startBeat(u.unit_id); }}),
          el("button", {type: "button", text: "×", title: "移除 remove",
                        onclick: function () {
                          delete state.beats[u.unit_id];
                          state.units.splice(i, 1); drawUnits(); drawBeats();
                        }})])])
      ]));
    });
  }

  // -- beats drawn by hand: click the corners, then finish ----------------------------------

  function startBeat(unitId) {
    state.drawing = {unit_id: unitId, corners: []};
    $("p-draw").hidden = false;
    $("p-draw-text").textContent = "画 " + unitId + " 的巡区：在地图上依次点击边界各点，再点完成 " +
      "Draw " + unitId + "'s beat: click its corners on the map in order, then Finish.";
    map.getContainer().classList.add("drawing");
    drawBeats();
  }

  function stopBeat(keep) {
    var drawing = state.drawing;
    state.drawing = null;
    $("p-draw").hidden = true;
    map.getContainer().classList.remove("drawing");
    if (keep && drawing) {
      if (drawing.corners.length < 3) {
        say("巡区至少需要三个点 A beat needs at least three corners: draw it again.", "error");
      } else {
        state.beats[drawing.unit_id] = drawing.corners;
        say("已画 " + drawing.unit_id + " 的巡区，重新规划生效 Beat drawn for " + drawing.unit_id +
            ": plan the shift to use it.");
      }
    }
    drawUnits();
    drawBeats();
  }

  function clearBeat(unitId) { delete state.beats[unitId]; drawUnits(); drawBeats(); }

  function drawBeats() {
    clear(drawnLayer);
    Object.keys(state.beats).forEach(function (unitId) {
      L.polygon(state.beats[unitId].map(function (c) { return [c.lat, c.lon]; }),
                {color: "#7c3aed", weight: 2, dashArray: "6 3", fillOpacity: 0.05})
        .bindTooltip(unitId + " 手绘巡区 beat drawn by hand").addTo(drawnLayer);
    });
    var list = $("p-beats");
    clear(list);
    Object.keys(state.beats).forEach(function (unitId) {
      list.appendChild(el("li", {"data-beat": unitId}, [
        "手绘巡区 beat of " + unitId + " (" + state.beats[unitId].length + " 点 corners) ",
        el("button", {type: "button", text: "×", title: "恢复自动 back to automatic",
                      onclick: function () { clearBeat(unitId); }})
      ]));
    });
    if (state.drawing && state.drawing.corners.length) {
      var line = state.drawing.corners.map(function (c) { return [c.lat, c.lon]; });
      L.polyline(line, {color: "#7c3aed", weight: 2}).addTo(drawnLayer);
      line.forEach(function (p) {
        L.circleMarker(p, {radius: 4, color: "#7c3aed", fillOpacity: 1}).addTo(drawnLayer);
      });
    }
  }

  function drawTasks() {
    var list = $("p-tasks");
    clear(list);
    clear(taskLayer);
    state.tasks.forEach(function (t, i) {
      L.marker([t.lat, t.lon], {title: t.task_id}).bindTooltip(t.task_id + " " + t.note)
        .addTo(taskLayer);
      list.appendChild(el("li", {"data-task": t.task_id}, [
        el("strong", {text: t.task_id}), " ",
        input("time", t.start, function (v) { t.start = v; }, "task window from"), "–",
        input("time", t.end, function (v) { t.end = v; }, "task window until"), " ",
        input("number", t.dwell, function (v) { t.dwell = +v; }, "task minutes"), "分 min ",
        input("text", t.note, function (v) { t.note = v; }, "task note"),
        el("button", {type: "button", text: "×", title: "移除 remove",
                      onclick: function () { state.tasks.splice(i, 1); drawTasks(); }})
      ]));
    });
  }

  function loadRoster() {
    var squad = $("p-squad").value;
    return api("/roster/" + $("p-date").value + "/" + $("p-shift").value).then(function (r) {
      var meal = MEAL[$("p-shift").value];
      var mine = r.units.filter(function (u) { return u.squad === squad; });
      if (!mine.length) { say("排班表无本中队单元，使用标准编组 No roster for the squad: the standard four units."); return; }
      state.units = mine.map(function (u) {
        return {unit_id: u.unit_id, mode: u.mode, station: u.home_station || "",
                meal_start: meal[0], meal_end: meal[1]};
      });
      drawUnits();
      say("已载入排班表 " + mine.length + " 个单元 Loaded " + mine.length + " units from the roster.");
    }).catch(function (e) { say(e.message, "error"); });
  }

  // -- planning ----------------------------------------------------------------------------

  function request() {
    return {
      squad: $("p-squad").value, date: $("p-date").value, shift: $("p-shift").value,
      units: state.units.map(function (u) {
        var out = {unit_id: u.unit_id, mode: u.mode, start_station: u.station || null};
        if (u.meal_start && u.meal_end) { out.break_start = u.meal_start; out.break_end = u.meal_end; }
        return out;
      }),
      tasks: state.tasks.map(function (t) {
        return {task_id: t.task_id, location: {lon: t.lon, lat: t.lat}, dwell_minutes: t.dwell,
                window_start: t.start || null, window_end: t.end || null, note: t.note};
      }),
      pin_hotspots: state.pins,
      exclude_hotspots: Object.keys(state.excluded),
      beats: beatsOnDuty(),
      time_limit_s: PLAN_LIMIT_S
    };
  }

  function beatsOnDuty() {
    var out = {};
    state.units.forEach(function (u) {
      if (state.beats[u.unit_id] && u.mode !== "car") {
        out[u.unit_id] = {outline: state.beats[u.unit_id]};
      }
    });
    return out;
  }

  // The phases of a plan job (GET /plans/jobs/{id}), as the bar names them.
  var PHASES = {
    queued: "排队 queued", inputs: "准备 beats and travel times", search: "搜索 searching routes",
    legs: "巡逻段 patrol legs", done: "完成 done"
  };

  function progress(job, what, began) {
    var box = $("p-progress");
    box.hidden = false;
    var pct = Math.round(100 * (job.progress || 0));
    box.querySelector(".fill").style.width = pct + "%";
    $("p-progress-text").textContent = what + " " + pct + "% · " +
      (PHASES[job.phase] || job.phase) + " · " + ((Date.now() - began) / 1000).toFixed(0) + " s";
  }

  // A plan solved in the background: the job is polled for its progress until it is done (then
  // its plan is read) or failed (then its reasons are the error).
  function planJob(path, body, what) {
    var began = Date.now();
    say("");
    progress({progress: 0, phase: "queued"}, what, began);
    var poll = function (job) {
      progress(job, what, began);
      if (job.status === "done") { return api(job.links.plan); }
      if (job.status === "failed") {
        throw new Error(errorText({detail: job.error}) || "规划失败 the plan failed");
      }
      return new Promise(function (resolve) { setTimeout(resolve, 400); })
        .then(function () { return api(job.links.self); }).then(poll);
    };
    return api(path, body).then(poll).then(function (doc) {
      $("p-progress").hidden = true;
      return doc;
    }, function (e) {
      $("p-progress").hidden = true;
      throw e;
    });
  }

  function plan() {
    var previous = state.plan && state.plan.squad === $("p-squad").value &&
      state.plan.date === $("p-date").value && state.plan.shift === $("p-shift").value
      ? state.plan : null;
    planJob("/plans/jobs", request(), "规划中 planning").then(function (doc) {
      show(doc, previous);
      refreshStored();
    }).catch(function (e) { say(e.message, "error"); });
  }

  function replan() {
    var removed = Array.prototype.slice.call(
      document.querySelectorAll("#r-remove input:checked")).map(function (c) { return c.value; });
    var now = state.plan.date + "T" + ($("r-now").value || "12:00") + ":00+08:00";
    planJob("/plans/" + state.plan.id + "/replan/jobs",
            {now: now, removed_units: removed, time_limit_s: PLAN_LIMIT_S}, "重排中 re-planning")
      .then(function (doc) { show(doc, state.plan); refreshStored(); })
      .catch(function (e) { say(e.message, "error"); });
  }

  // -- the result --------------------------------------------------------------------------

  function hours(h) {
    if (!h || !h.length) { return ""; }
    var top = h.map(function (v, i) { return [v, i]; }).filter(function (p) { return p[0] > 0; })
      .sort(function (a, b) { return b[0] - a[0]; }).slice(0, 3)
      .map(function (p) { return p[1] + ":00"; });
    return top.length ? " · 高发 busiest " + top.join(", ") : "";
  }

  // A hot spot by its name (community · street · category); its cell id is the key, shown
  // only as a tooltip. Plans stored before spots had names fall back to category and cell.
  function spotName(h) { return h.name || ((h.label || "") + " " + h.spot_id).trim(); }

  function drawResult(doc) {
    clear(beatLayer); clear(spotLayer); clear(routeLayer);
    var top = Math.max.apply(null, doc.hotspots.map(function (h) { return h.priority; }).concat([1]));
    doc.hotspots.forEach(function (h) {
      var cats = (h.categories || []).slice(0, 3).map(function (c) { return c[0] + "×" + c[1]; });
      L.circle([h.lat, h.lon], {radius: 70, color: "#b45309", weight: 1, fillColor: "#f97316",
                                fillOpacity: 0.15 + 0.55 * h.priority / top})
        .bindTooltip(spotName(h) + " · " + (h.count || 0) + " 起 incidents · " +
                     cats.join(" ") + hours(h.hours) + " · " + h.spot_id)
        .addTo(spotLayer);
    });
    doc.units.forEach(function (u, i) {
      var colour = colourOf(i);
      if (u.beat) {
        L.geoJSON(u.beat, {style: {color: colour, weight: 1, dashArray: "4 4", fillOpacity: 0.08}})
          .bindTooltip(u.unit_id + " 巡区 beat").addTo(beatLayer);
      }
      if (u.path && u.path.length > 1) {
        L.polyline(u.path.map(function (p) { return [p[1], p[0]]; }),
                   {color: colour, weight: 3, opacity: 0.85})
          .bindTooltip(u.unit_id).addTo(routeLayer);
      }
      u.stops.forEach(function (s) {
        if (s.kind === "patrol") { return; }
        L.circleMarker([s.lat, s.lon], {radius: 5, color: colour, fillColor: "#fff",
                                        fillOpacity: 1, weight: 2})
          .bindTooltip(u.unit_id + " " + s.seq + ". " + clock(s.start) + " " +
                       (KIND[s.kind] || s.kind) + " " + (s.label || ""))
          .addTo(routeLayer);
      });
    });
  }

  // The previous plan's routes under this one's, grey and dashed: what changed, on the map.
  function drawPrevious(previous) {
    clear(previousLayer);
    if (!previous) { return; }
    previous.units.forEach(function (u) {
      if (u.path && u.path.length > 1) {
        L.polyline(u.path.map(function (p) { return [p[1], p[0]]; }),
                   {color: "#64748b", weight: 2, opacity: 0.7, dashArray: "2 6"})
          .bindTooltip("上一版 #" + previous.id + " previous: " + u.unit_id).addTo(previousLayer);
      }
    });
  }

  function drawFigures(doc, previous) {
    var body = $("r-metrics").querySelector("tbody");
    clear(body);
    $("r-prev-head").textContent = previous ? "上一版 #" + previous.id + " Previous" : "上一版 Previous";
    FIGURES.forEach(function (f) {
      var now = doc.metrics ? doc.metrics[f[0]] : null;
      var before = previous && previous.metrics ? previous.metrics[f[0]] : null;
      body.appendChild(el("tr", {"data-figure": f[0]}, [
        el("td", {text: f[1]}),
        el("td", {text: f[2] ? share(now) : String(now === null || now === undefined ? "—" : now)}),
        el("td", {text: previous ? (f[2] ? share(before) : String(before === null || before === undefined ? "—" : before)) : "—"})
      ]));
    });
  }

  function segment(bar, span, from, to, kind, title) {
    var a = (new Date(from) - span[0]) / (span[1] - span[0]);
    var b = (new Date(to) - span[0]) / (span[1] - span[0]);
    if (!(b > a)) { return; }
    var part = el("div", {cls: "seg seg-" + kind, title: title || (KIND[kind] || kind)});
    part.style.left = (100 * Math.max(0, a)) + "%";
    part.style.width = (100 * (Math.min(1, b) - Math.max(0, a))) + "%";
    part.style.background = GANTT[kind] || "#64748b";
    bar.appendChild(part);
  }

  function drawGantt(doc) {
    var box = $("r-gantt");
    clear(box);
    var legendBox = $("r-legend");
    clear(legendBox);
    ["travel", "patrol", "hotspot", "sweep", "task", "break", "transfer"].forEach(function (k) {
      var chip = el("span", {cls: "chip"});
      chip.style.background = GANTT[k];
      legendBox.appendChild(el("span", {cls: "item"}, [chip, KIND[k]]));
    });
    var span = [new Date(doc.shift_start), new Date(doc.shift_end)];
    doc.units.forEach(function (u, i) {
      var bar = el("div", {cls: "bar"});
      var t = doc.shift_start;
      u.stops.forEach(function (s) {
        segment(bar, span, t, s.arrival, s.kind === "patrol" ? "patrol" : "travel");
        segment(bar, span, s.arrival, s.start, "wait");
        segment(bar, span, s.start, s.departure, s.kind,
                clock(s.start) + "–" + clock(s.departure) + " " + (KIND[s.kind] || s.kind) +
                " " + (s.label || ""));
        t = s.departure;
      });
      if (u.returns) { segment(bar, span, t, u.returns, "travel"); }
      var name = el("div", {cls: "who", text: u.unit_id});
      name.style.borderLeft = "6px solid " + colourOf(i);
      box.appendChild(el("div", {cls: "gantt-row", "data-unit": u.unit_id}, [name, bar]));
    });
  }

  function drawUnitsList(doc) {
    var list = $("r-units");
    clear(list);
    doc.units.forEach(function (u) {
      var targets = u.stops.filter(function (s) {
        return ["hotspot", "revisit", "sweep", "task"].indexOf(s.kind) >= 0;
      }).length;
      var util = u.utilisation === undefined ? "" : " · 利用率 " + share(u.utilisation);
      list.appendChild(el("li", {"data-unit": u.unit_id}, [
        el("strong", {text: u.unit_id}), " " + (MODE[u.mode] || u.mode) + " · " + targets +
          " 目标 targets · " + (u.distance_m / 1000).toFixed(1) + " km" + util +
          (u.returns ? " · 返回 back " + clock(u.returns) : "") + (u.removed ? " · 已调离 removed" : ""),
        " ",
        el("a", {href: "/plans/" + doc.id + "/briefing?unit=" + encodeURIComponent(u.unit_id),
                 target: "_blank", text: "任务单 briefing", cls: "briefing"}),
        " · ",
        el("a", {href: "/plans/" + doc.id + "/gpx?unit=" + encodeURIComponent(u.unit_id),
                 text: "GPX"}),
        u.note ? el("div", {cls: "note", text: u.note}) : null
      ]));
    });
    var dropped = $("r-dropped");
    clear(dropped);
    doc.dropped.forEach(function (d) {
      dropped.appendChild(el("li", {text: (d.label || d.target_id) + ": " + d.reason,
                                    title: d.target_id}));
    });
    if (!doc.dropped.length) { dropped.appendChild(el("li", {text: "无 none"})); }
  }

  function drawPins(doc) {
    var list = $("p-pins");
    clear(list);
    $("p-pins-box").hidden = !doc.hotspots.length || !can("plans:create");
    var units = [["", "自动 automatic"]].concat(doc.units.filter(function (u) { return !u.removed; })
      .map(function (u) { return [u.unit_id, u.unit_id]; }));
    doc.hotspots.forEach(function (h) {
      var box = el("input", {type: "checkbox", checked: !!state.excluded[h.spot_id],
                             "aria-label": "exclude " + spotName(h)});
      box.addEventListener("change", function () {
        if (box.checked) { state.excluded[h.spot_id] = true; } else { delete state.excluded[h.spot_id]; }
      });
      list.appendChild(el("li", {"data-spot": h.spot_id}, [
        el("span", {cls: "spot-name", text: spotName(h) + " ", title: h.spot_id}),
        select(units, state.pins[h.spot_id] || "", function (v) {
          if (v) { state.pins[h.spot_id] = v; } else { delete state.pins[h.spot_id]; }
        }, "pin " + spotName(h)),
        el("label", {}, [box, "不巡 exclude"])
      ]));
    });
  }

  function drawLive(doc) {
    var remove = $("r-remove");
    if (remove) {
      clear(remove);
      doc.units.filter(function (u) { return !u.removed; }).forEach(function (u) {
        remove.appendChild(el("label", {}, [
          el("input", {type: "checkbox", value: u.unit_id}), " 调离 take away " + u.unit_id]));
      });
      $("r-now").value = new Date().toLocaleTimeString("en-GB", {hour12: false, timeZone: TZ,
                                                                 hour: "2-digit", minute: "2-digit"});
    }
    api("/plans/" + doc.id + "/dosage").then(function (d) {
      $("r-dosage").textContent = "计划到访已完成 planned stops visited: " +
        (d.share === null ? "—" : share(d.share)) + " (" + d.units.map(function (u) {
          return u.unit_id + " " + u.visited + "/" + u.planned;
        }).join(", ") + ")";
    }).catch(function () { $("r-dosage").textContent = ""; });
  }

  function show(doc, previous) {
    state.plan = doc;
    state.previous = previous || null;
    $("r-empty").hidden = true;
    $("result").hidden = false;
    $("r-title").textContent = "规划 #" + doc.id + " · " + doc.squad_name + " · " + doc.date + " " +
      (LABELS.shifts[doc.shift] || doc.shift) +
      (doc.replanned_at ? " · 重排于 re-planned at " + clock(doc.replanned_at) : "");
    drawResult(doc);
    drawPrevious(previous);
    drawFigures(doc, previous);
    drawGantt(doc);
    drawUnitsList(doc);
    drawPins(doc);
    drawLive(doc);
    live();
  }

  function refreshStored() {
    var list = $("r-stored");
    api("/plans?squad=" + encodeURIComponent($("p-squad").value) + "&date=" + $("p-date").value +
        "&limit=20").then(function (rows) {
      clear(list);
      state.stored = rows;
      rows.forEach(function (r) {
        list.appendChild(el("li", {}, [el("a", {href: "#", text: "#" + r.id + " " + r.shift +
          (r.replan_of ? " (重排 re-plan of #" + r.replan_of + ")" : "") + " " + clock(r.created_at),
          onclick: function (e) { e.preventDefault(); openStored(r); }})]));
      });
    }).catch(function () { clear(list); });
  }

  // A stored plan, compared with the one before it: the plan it re-plans, or else the newest
  // older plan of the same shift.
  function openStored(row) {
    var older = state.stored.filter(function (r) {
      return r.shift === row.shift && r.date === row.date && r.id < row.id;
    })[0];
    var before = row.replan_of || (older ? older.id : null);
    api("/plans/" + row.id).then(function (doc) {
      if (!before) { show(doc, null); return; }
      api("/plans/" + before).then(function (previous) { show(doc, previous); })
        .catch(function () { show(doc, null); });
    }).catch(function (e) { say(e.message, "error"); });
  }

  // The units' live positions over their planned routes (the dosage follows from them).
  function live() {
    if (!state.plan || !can("units:read")) { return; }
    var ids = {};
    state.plan.units.forEach(function (u, i) { ids[u.unit_id] = i; });
    api("/units").then(function (units) {
      clear(liveLayer);
      units.forEach(function (u) {
        if (!(u.unit_id in ids) || !u.last_position) { return; }
        L.marker([u.last_position.lat, u.last_position.lon], {
          icon: L.divIcon({className: "live-unit", html: "", iconSize: [14, 14]})
        }).bindTooltip(u.unit_id + " " + u.status).addTo(liveLayer);
      });
      $("updated").textContent = "位置更新 positions " + new Date().toLocaleTimeString("zh-CN", {hour12: false, timeZone: TZ});
    }).catch(function () { /* positions are a help, not the page */ });
  }

  // -- start -------------------------------------------------------------------------------

  function start() {
    $("p-date").value = today();
    api("/layers/active").then(function (layer) {
      state.layer = layer;
      state.squads = layer.squads;
      state.stations = (layer.stations.features || []).map(function (f) {
        return {code: f.properties.code, name: (f.properties.name_zh || f.properties.code)};
      });
      var squadSelect = $("p-squad");
      layer.squads.forEach(function (s) {
        squadSelect.appendChild(el("option", {value: s.code, text: s.name_zh + " " + s.code}));
      });
      if (ME.squad) { squadSelect.value = ME.squad; squadSelect.disabled = ME.role === "squad_leader"; }
      state.units = defaultUnits();
      drawUnits();
      drawArea();
      refreshStored();
    }).catch(function (e) { say(e.message, "error"); });
    ["p-squad", "p-shift", "p-date"].forEach(function (id) {
      $(id).addEventListener("change", function () {
        state.units = defaultUnits(); drawUnits(); drawArea(); refreshStored();
      });
    });
    $("p-add-unit").addEventListener("click", function () {
      var meal = MEAL[$("p-shift").value];
      state.units.push({unit_id: $("p-squad").value + "-unit-" + (state.units.length + 1),
                        mode: "foot", station: (state.units[0] || {}).station || "",
                        meal_start: meal[0], meal_end: meal[1]});
      drawUnits();
    });
    $("p-roster").addEventListener("click", loadRoster);
    if ($("p-plan")) { $("p-plan").addEventListener("click", plan); }
    if ($("r-replan")) { $("r-replan").addEventListener("click", replan); }
    if ($("p-draw-done")) {
      $("p-draw-done").addEventListener("click", function () { stopBeat(true); });
      $("p-draw-cancel").addEventListener("click", function () { stopBeat(false); });
    }
    setInterval(live, LIVE_MS);
  }
  start();
}());
