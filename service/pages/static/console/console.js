/* jiedao dispatcher console (调度台): polls the JSON API every 3 s and redraws the queue, the
 * units and the map; keeps the selected incident across refreshes. Every piece of data goes
 * into the DOM through textContent (never innerHTML), tooltips included. */
(function () {
  "use strict";

  var POLL_MS = 3000;
  var CLOSED = {verified_closed: 1, closed: 1, rejected: 1, duplicate: 1};
  var QUEUE_ROWS = 200;      // rows drawn in the queue
  var CLOCKS_TOP = 25;       // clocks fetched for the top of the queue
  var CLOCKS_PER_POLL = 6;   // at most this many clock requests per poll
  var CLOCKS_TTL_MS = 30000;
  // Who is signed in and what the role may do (the server still checks every request).
  var ME = JSON.parse(document.getElementById("me").textContent);
  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  function can(permission) { return ME.permissions.indexOf(permission) >= 0; }
  var TZ = "Asia/Shanghai";

  var STATUS = {
    reported: "已上报 reported", accepted: "已立案 accepted", filed: "已立案 filed",
    dispatched: "已派遣 dispatched", on_scene: "已到场 on scene", in_progress: "处置中 in progress",
    handled: "已处置 handled", verified_closed: "已结案 closed", closed: "已结案 closed",
    rejected: "不予立案 rejected", duplicate: "重复 duplicate", parked: "挂账 parked",
    on_hold: "暂缓 on hold"
  };
  var UNIT_STATUS = {
    off_duty: "下班 off duty", available: "空闲 available", en_route: "出动 en route",
    on_scene: "到场 on scene", on_break: "休息 on break", returning: "返回 returning"
  };
  var UNIT_COLOUR = {
    available: "#16a34a", en_route: "#2563eb", on_scene: "#ea580c", on_break: "#6b7280",
    returning: "#7c3aed", off_duty: "#9ca3af"
  };
  var MODE = JSON.parse(document.getElementById("labels").textContent).modes;
  var MODE_GLYPH = {foot: "步", ebike: "电", car: "车"};
  var STEP = {
    reported: "上报 reported", accepted: "立案 accepted", rejected: "不予立案 rejected",
    duplicate: "重复 duplicate", dispatched: "派遣 dispatched", reassigned: "改派 reassigned",
    assignment_cancelled: "取消派遣 assignment cancelled", on_scene: "到场 on scene",
    handled: "处置 handled", verified_closed: "核查结案 verified & closed",
    reopened: "返工 reopened", parked: "挂账 parked", unparked: "解除挂账 unparked",
    backup_requested: "请求支援 backup requested", backup_acknowledged: "支援已确认 backup ack"
  };

  var state = {
    incidents: [],          // open incidents, sorted for the queue
    byId: {},               // id -> incident (open ones)
    units: [],
    clocks: {},             // id -> {data, at}
    squads: {},             // code -> name_zh
    selected: null,         // incident id
    detail: null,           // last detail payload of the selection
    message: null,          // {text, kind} shown in the detail panel
    busy: false,
    gen: 0,
    paused: false,
    timer: null
  };

  // -- small DOM helpers (text only) ------------------------------------------------------

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === "text") { node.textContent = attrs[k]; }
        else if (k === "cls") { node.className = attrs[k]; }
        else if (k.indexOf("data-") === 0 || k === "title" || k === "type" ||
                 k === "aria-label") { node.setAttribute(k, attrs[k]); }
        else { node[k] = attrs[k]; }
      });
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) { return; }
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return node;
  }
  function $(id) { return document.getElementById(id); }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function hms(date) {
    return date.toLocaleTimeString("zh-CN", {hour12: false, timeZone: TZ});
  }
  function dayTime(iso) {
    if (!iso) { return "—"; }
    var d = new Date(iso);
    return d.toLocaleString("zh-CN", {hour12: false, timeZone: TZ, month: "2-digit",
                                      day: "2-digit", hour: "2-digit", minute: "2-digit"});
  }
  function age(iso) {
    var s = Math.max(0, (Date.now() - new Date(iso).getTime()) / 1000);
    if (s < 60) { return Math.round(s) + "秒 s"; }
    if (s < 3600) { return Math.round(s / 60) + "分 min"; }
    if (s < 86400) { return (s / 3600).toFixed(1) + "时 h"; }
    return (s / 86400).toFixed(1) + "天 d";
  }
  function label(map, key) { return map[key] || key; }
  function squadName(code) {
    return state.squads[code] ? state.squads[code] + " " + code : (code || "—");
  }

  function api(path, options) {
    return fetch(path, options).then(function (r) {
      if (r.status === 401) {  // the session ended (signed out, expired, disabled): sign in again
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      }
      return r.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : null; } catch (e) { data = null; }
        if (!r.ok) {
          var err = new Error(errorText(data) || ("HTTP " + r.status));
          err.status = r.status;
          err.data = data;
          throw err;
        }
        return data;
      });
    });
  }
  function errorText(data) {
    if (!data || !data.detail) { return null; }
    if (typeof data.detail === "string") { return data.detail; }
    return data.detail.map(function (d) {
      return d.message + (d.fix ? " (" + d.fix + ")" : "");
    }).join("; ");
  }

  // -- map --------------------------------------------------------------------------------

  var map = L.map("map", {zoomControl: true, preferCanvas: false}).setView([22.583, 114.095], 14);
  L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, attribution: "© OpenStreetMap contributors"
  }).addTo(map);
  var communityLayer = L.layerGroup().addTo(map);
  var incidentLayer = L.layerGroup().addTo(map);
  var unitLayer = L.layerGroup().addTo(map);
  var incidentMarkers = {};

  // The legend: what each incident colour and unit colour means, so the map reads without help.
  var INCIDENT_KEY = [
    ["#dc2626", "紧急待派 urgent, not dispatched"], ["#f59e0b", "待派 new, not dispatched"],
    ["#0d9488", "处置中 dispatched / on scene"], ["#9ca3af", "待核查·挂账 handled / parked"]
  ];
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    var box = el("div", {cls: "legend", id: "legend"});
    box.appendChild(el("strong", {text: "事件 Incidents"}));
    INCIDENT_KEY.forEach(function (item) {
      var dot = el("span", {cls: "dot"});
      dot.style.background = item[0];
      box.appendChild(el("div", {}, [dot, el("span", {text: item[1]})]));
    });
    box.appendChild(el("strong", {text: "单元 Units"}));
    Object.keys(UNIT_COLOUR).forEach(function (status) {
      if (status === "off_duty") { return; }  // off-duty units are not drawn
      var chip = el("span", {cls: "chip"});
      chip.style.background = UNIT_COLOUR[status];
      box.appendChild(el("div", {}, [chip, el("span", {text: label(UNIT_STATUS, status)})]));
    });
    var hollow = el("span", {cls: "chip hollow"});
    box.appendChild(el("div", {}, [hollow, el("span", {text: "空心 = 位置过期 stale position"})]));
    box.appendChild(el("div", {cls: "en", text: "步 foot · 电 e-bike · 车 car"}));
    return box;
  };
  legend.addTo(map);

  function incidentStyle(inc, selected) {
    var group = inc.status === "reported" || inc.status === "accepted" || inc.status === "filed"
      ? "new" : (inc.status === "handled" || inc.status === "parked" ||
                 inc.status === "on_hold") ? "waiting" : "active";
    var fill = {"new": "#f59e0b", active: "#0d9488", waiting: "#9ca3af"}[group];
    if (inc.urgent && group === "new") { fill = "#dc2626"; }
    return {
      radius: inc.urgent ? 9 : 6, fillColor: fill, fillOpacity: 0.85,
      color: selected ? "#111827" : (inc.urgent ? "#7f1d1d" : "#ffffff"),
      weight: selected ? 4 : (inc.urgent ? 2 : 1)
    };
  }

  function tooltipNode(lines) {
    var box = el("div", {cls: "tip"});
    lines.forEach(function (line, i) {
      box.appendChild(el(i === 0 ? "strong" : "div", {text: line}));
    });
    return box;
  }

  function drawIncidents() {
    incidentLayer.clearLayers();
    incidentMarkers = {};
    // Least urgent first so urgent markers end on top.
    state.incidents.slice().reverse().forEach(function (inc) {
      var m = L.circleMarker([inc.location.lat, inc.location.lon],
                             incidentStyle(inc, inc.id === state.selected));
      m.bindTooltip(tooltipNode([
        (inc.urgent ? "紧急 URGENT · " : "") + inc.category_name + " " + inc.category,
        inc.id + " · " + label(STATUS, inc.status),
        inc.resolution.community_name + " · " + squadName(inc.resolution.squad),
        "发生 occurred " + age(inc.occurred_at) + " ago"
      ]));
      m.on("click", function () { select(inc.id, false); });
      m.addTo(incidentLayer);
      incidentMarkers[inc.id] = m;
    });
  }

  function unitIcon(u) {
    var colour = UNIT_COLOUR[u.status] || "#6b7280";
    var node = el("div", {cls: "unit-icon" + (u.stale ? " stale" : ""),
                          text: MODE_GLYPH[u.mode] || "?"});
    node.style.borderColor = colour;
    if (u.stale) { node.style.color = colour; } else { node.style.background = colour; }
    return L.divIcon({className: "unit-marker", html: node, iconSize: [24, 24],
                      iconAnchor: [12, 12]});
  }

  function drawUnits() {
    unitLayer.clearLayers();
    state.units.forEach(function (u) {
      if (u.status === "off_duty" || !u.last_position) { return; }
      var p = u.last_position;
      var m = L.marker([p.lat, p.lon], {icon: unitIcon(u), keyboard: false,
                                        zIndexOffset: 1000});
      var lines = [u.name + " " + u.unit_id, label(UNIT_STATUS, u.status) + " · " +
                   label(MODE, u.mode) + " · " + squadName(u.squad),
                   "位置 position " + Math.round(p.age_s) + " s ago"];
      if (u.stale) { lines.push("位置过期 stale"); }
      m.bindTooltip(tooltipNode(lines));
      m.addTo(unitLayer);
    });
  }

  function loadLayer() {
    return api("/layers/active").then(function (layer) {
      (layer.squads || []).forEach(function (s) { state.squads[s.code] = s.name_zh; });
      var outlines = L.geoJSON(layer.communities, {
        interactive: false,
        style: function () {
          return {color: "#475569", weight: 1.5, opacity: 0.7, fill: true, fillOpacity: 0.03,
                  dashArray: null};
        }
      }).addTo(communityLayer);
      var bounds = outlines.getBounds();
      if (bounds.isValid()) { map.fitBounds(bounds, {padding: [10, 10]}); }
    }).catch(function () { /* no active layer: the map still shows incidents and units */ });
  }

  // -- queue ------------------------------------------------------------------------------

  function dueOf(inc) {
    var c = state.clocks[inc.id];
    return c && c.data && c.data.due_at ? new Date(c.data.due_at).getTime() : null;
  }

  function compare(a, b) {
    if (a.urgent !== b.urgent) { return a.urgent ? -1 : 1; }
    var da = dueOf(a), db = dueOf(b);
    if (da !== null && db !== null && da !== db) { return da - db; }
    if ((da === null) !== (db === null)) { return da === null ? 1 : -1; }
    return new Date(a.occurred_at).getTime() - new Date(b.occurred_at).getTime();
  }

  var queueNodes = {};  // id -> li; kept across refreshes so a click never hits a stale node

  function queueNode(id) {
    if (!queueNodes[id]) {
      var button = el("button", {type: "button", cls: "q-item", "data-incident-id": id});
      button.addEventListener("click", function () { select(id, true); });
      queueNodes[id] = el("li", {"data-incident-id": id}, [button]);
    }
    return queueNodes[id];
  }

  function drawQueue() {
    var list = $("queue");
    $("queue-count").textContent = String(state.incidents.length);
    var shown = {};
    state.incidents.slice(0, QUEUE_ROWS).forEach(function (inc) {
      var c = state.clocks[inc.id] && state.clocks[inc.id].data;
      var flags = el("span", {cls: "flags"});
      if (inc.urgent) { flags.appendChild(el("span", {cls: "tag urgent", text: "紧急 urgent"})); }
      if (c && c.overdue) { flags.appendChild(el("span", {cls: "tag overdue", text: "超时 overdue"})); }
      var due = c && c.due_at ? "限 due " + dayTime(c.due_at) : "";
      var li = queueNode(inc.id);
      var button = li.firstChild;
      button.setAttribute("data-status", inc.status);
      clear(button);
      button.appendChild(el("div", {cls: "q-line1"}, [
        el("span", {cls: "q-cat", text: inc.category_name}), flags]));
      button.appendChild(el("div", {cls: "q-line2"}, [
        el("span", {text: inc.resolution.community_name + " · " +
                          squadName(inc.resolution.squad)}),
        el("span", {cls: "q-status status-" + inc.status, text: label(STATUS, inc.status)})]));
      button.appendChild(el("div", {cls: "q-line3"}, [
        el("span", {cls: "q-id", text: inc.id}),
        el("span", {text: age(inc.occurred_at) + (due ? " · " + due : "")})]));
      li.className = (inc.id === state.selected ? "selected" : "") + (inc.urgent ? " urgent" : "");
      list.appendChild(li);  // moves it into queue order
      shown[inc.id] = true;
    });
    Array.prototype.slice.call(list.children).forEach(function (li) {
      var id = li.getAttribute("data-incident-id");
      if (!id || !shown[id]) {
        list.removeChild(li);
        if (id) { delete queueNodes[id]; }
      }
    });
    if (!state.incidents.length) {
      list.appendChild(el("li", {cls: "empty", text: "暂无待办事件 No open incidents"}));
    }
  }

  function drawUnitList() {
    if (!can("units:read")) { return; }  // the panel is hidden: nothing about units
    var list = $("units");
    clear(list);
    var order = {available: 0, en_route: 1, on_scene: 2, returning: 3, on_break: 4, off_duty: 5};
    var units = state.units.slice().sort(function (a, b) {
      return (order[a.status] - order[b.status]) || a.unit_id.localeCompare(b.unit_id);
    });
    var onDuty = 0;
    units.forEach(function (u) {
      if (u.status !== "off_duty") { onDuty += 1; }
      var dot = el("span", {cls: "dot" + (u.stale ? " stale" : "")});
      dot.style.borderColor = UNIT_COLOUR[u.status] || "#6b7280";
      if (!u.stale) { dot.style.background = UNIT_COLOUR[u.status] || "#6b7280"; }
      list.appendChild(el("li", {"data-unit-id": u.unit_id, "data-status": u.status,
                                 cls: u.status === "off_duty" ? "off" : ""}, [
        dot,
        el("span", {cls: "u-name", text: u.name + " "}),
        el("span", {cls: "u-id", text: u.unit_id}),
        el("span", {cls: "u-status", text: label(UNIT_STATUS, u.status)}),
        u.stale && u.status !== "off_duty"
          ? el("span", {cls: "tag stale", text: "过期 stale"}) : null
      ]));
    });
    $("units-count").textContent = onDuty + "/" + units.length;
    if (!units.length) { list.appendChild(el("li", {cls: "empty", text: "无单元 No units"})); }
  }

  // -- detail -----------------------------------------------------------------------------

  function row(dl, term, value) {
    dl.appendChild(el("dt", {text: term}));
    dl.appendChild(el("dd", {text: value === null || value === undefined ? "—" : value}));
  }

  function drawDetail(d) {
    var inc = d.incident;
    $("detail-empty").hidden = true;
    $("detail").hidden = false;
    $("detail").setAttribute("data-incident-id", inc.id);
    $("d-title").textContent = inc.category_name + " " + inc.category + " · " + inc.id;
    var badges = $("d-badges");
    clear(badges);
    badges.appendChild(el("span", {id: "d-status", cls: "tag status status-" + inc.status,
                                   "data-status": inc.status, text: label(STATUS, inc.status)}));
    if (inc.urgent) { badges.appendChild(el("span", {cls: "tag urgent", text: "紧急 urgent"})); }
    if (d.clocks && d.clocks.overdue) {
      badges.appendChild(el("span", {cls: "tag overdue", text: "超时 overdue"}));
    }
    var r = inc.resolution;
    var dl = $("d-resolution");
    clear(dl);
    row(dl, "社区 Community", r.community_name + " (" + r.community_code + ")");
    row(dl, "责任中队 Squad", (r.squad_name || state.squads[r.squad] || "") + " " + r.squad);
    row(dl, "重点道路 Key road", r.key_road_name
      ? r.key_road_name + (r.key_road_m !== null ? " · " + Math.round(r.key_road_m) + " m" : "")
      : "否 no");
    row(dl, "近边界 Near boundary", r.near_boundary
      ? "是 yes · " + Math.round(r.boundary_m) + " m" : "否 no");
    row(dl, "发生 Occurred", dayTime(inc.occurred_at) + " (" + age(inc.occurred_at) + ")");
    row(dl, "来源 Source", inc.source);
    if (inc.address) { row(dl, "地址 Address", inc.address); }
    if (d.clocks) {
      row(dl, "期限 Due", dayTime(d.clocks.due_at) + " · " + d.clocks.time_limit_hours +
          " 工作时 working h");
      if (d.clocks.remaining_working_hours !== null &&
          d.clocks.remaining_working_hours !== undefined) {
        row(dl, "剩余 Remaining", d.clocks.remaining_working_hours + " 工作时 working h");
      }
    }
    $("d-description").textContent = inc.description || "";

    var box = $("d-assignment");
    clear(box);
    if (d.active) {
      var cancel = can("dispatch:assign")
        ? el("button", {type: "button", cls: "cancel", text: "取消派遣 Cancel"}) : null;
      if (cancel) cancel.addEventListener("click", function () {
        var reason = window.prompt("取消原因 Reason for cancelling (optional)", "");
        if (reason === null) { return; }
        act("DELETE", "/incidents/" + encodeURIComponent(inc.id) + "/assignments/" +
            d.active.id + (reason ? "?reason=" + encodeURIComponent(reason) : ""), null,
            "已取消派遣 Assignment cancelled");
      });
      box.appendChild(el("div", {cls: "assigned"}, [
        el("span", {text: "已派 Assigned: " + d.active.unit_id + " · " +
                          dayTime(d.active.assigned_at) + " · " + (d.active.assigned_by || "")}),
        cancel]));
    }
    drawSteps(inc, d);

    var msg = $("d-message");
    msg.textContent = state.message ? state.message.text : "";
    msg.className = state.message ? state.message.kind : "";

    drawRecommendations(inc, d);

    var dups = inc.possible_duplicates || [];
    $("d-duplicates-box").hidden = !dups.length;
    var dupList = $("d-duplicates");
    clear(dupList);
    dups.forEach(function (p) {
      dupList.appendChild(el("li", {text: p.id + " · " + p.category + " · " +
        label(STATUS, p.status) + " · " + Math.round(p.distance_m) + " m · " +
        p.hours_apart.toFixed(1) + " h"}));
    });
    var more = (inc.possible_duplicates_total || 0) - dups.length;
    if (more > 0) {
      dupList.appendChild(el("li", {cls: "more", text: "另有 " + more + " 件 · " + more +
        " more within the duplicate radius"}));
    }

    var tl = $("d-timeline");
    clear(tl);
    (d.timeline ? d.timeline.events : []).forEach(function (e) {
      var detail = e.detail && e.detail.unit_id ? " → " + e.detail.unit_id : "";
      tl.appendChild(el("li", {"data-step": e.step}, [
        el("span", {cls: "t-at", text: dayTime(e.at)}),
        el("span", {cls: "t-step", text: label(STEP, e.step) + detail}),
        el("span", {cls: "t-actor", text: e.actor || ""}),
        e.note ? el("div", {cls: "t-note", text: e.note}) : null
      ]));
    });
  }

  // -- case steps (立案, 到场, 处置, 核查结案 ...) and backup ------------------------------

  // What each step asks for before it is sent: a note (reason) or the original's id.
  var STEP_INPUT = {
    rejected: ["note", "不予立案原因 Reason for rejecting"],
    parked: ["note", "挂账原因 Reason for parking (e.g. waiting for the owner department)"],
    reopened: ["note", "返工原因 What must be redone"],
    duplicate: ["duplicate_of", "原事件编号 Id of the original report (e.g. QSH-2026-000123)"]
  };

  function drawSteps(inc, d) {
    var box = $("d-steps");
    clear(box);
    var steps = (d.timeline && d.timeline.next_steps ? d.timeline.next_steps : []).slice();
    // The usual path first, the exceptions after it.
    var order = ["accepted", "on_scene", "handled", "verified_closed", "reopened", "unparked",
                 "parked", "rejected", "duplicate"];
    steps.sort(function (a, b) {
      var ia = order.indexOf(a), ib = order.indexOf(b);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
    steps = steps.filter(function (step) { return can(ME.steps[step] || "cases:step"); });
    steps.forEach(function (step) {
      var button = el("button", {type: "button", cls: "step", "data-step": step,
                                 text: label(STEP, step)});
      button.addEventListener("click", function () { sendStep(inc.id, step); });
      box.appendChild(button);
    });
    if (!CLOSED[inc.status] && can("backup:request")) {
      var backup = el("button", {type: "button", cls: "backup", text: "请求支援 Backup"});
      backup.addEventListener("click", function () { requestBackup(inc.id); });
      box.appendChild(backup);
    }
  }

  function sendStep(incidentId, step) {
    var body = {step: step};
    var need = STEP_INPUT[step];
    if (need) {
      var value = window.prompt(need[1], "");
      if (value === null) { return; }
      if (value) { body[need[0]] = value; }
    }
    act("POST", "/incidents/" + encodeURIComponent(incidentId) + "/events", body,
        label(STEP, step) + " ✓");
  }

  function requestBackup(incidentId) {
    var violent = window.confirm("暴力抗法? Violent obstruction?\n确定 OK = 是 yes · " +
                                 "取消 Cancel = 治安 public order");
    var note = window.prompt("情况说明 What is happening (optional)", "");
    if (note === null) { return; }
    var body = {reason: violent ? "violent_obstruction" : "public_order"};
    if (note) { body.note = note; }
    act("POST", "/incidents/" + encodeURIComponent(incidentId) + "/backup", body,
        "已请求支援 Backup requested: the backup team and the police station are alerted");
  }

  // One write to the API as the operator; the answer (or the error's fix) shows in the panel.
  // ``done`` is the success text, or a function of the answer that returns it.
  function act(method, path, body, done, failed) {
    state.busy = true;
    var options = {method: method, headers: {"X-CSRF-Token": CSRF}};
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    api(path, options).then(function (answer) {
      state.message = {text: typeof done === "function" ? done(answer) : done, kind: "ok"};
    }).catch(function (e) {
      var prefix = e.status === 409 ? "冲突 Conflict (409): " : (failed || "失败 Failed: ");
      state.message = {text: prefix + e.message, kind: "error"};
    }).then(function () {
      state.busy = false;
      poll();
    });
  }

  var recNodes = {};  // unit id -> {tr, button}; kept across refreshes (stable Assign buttons)

  function recNode(unitId) {
    if (!recNodes[unitId]) {
      var button = el("button", {type: "button", cls: "assign", "data-unit-id": unitId});
      button.addEventListener("click", function () {
        var d = state.detail;
        if (d && !state.busy) { assign(d.incident.id, unitId, !!d.active); }
      });
      recNodes[unitId] = {tr: el("tr", {"data-unit-id": unitId}), button: button};
    }
    return recNodes[unitId];
  }

  function drawRecommendations(inc, d) {
    var body = $("d-recs").querySelector("tbody");
    var open = !CLOSED[inc.status];
    var recs = d.recs ? d.recs.units : [];
    var shown = {};
    clear(body);
    if (d.recsError) {
      body.appendChild(el("tr", {}, [el("td", {colSpan: 4, cls: "empty", text: d.recsError})]));
    } else if (!recs.length) {
      body.appendChild(el("tr", {}, [el("td", {colSpan: 4, cls: "empty",
        text: "无空闲单元 No available unit with a position"})]));
    }
    recs.forEach(function (u) {
      var node = recNode(u.unit_id);
      shown[u.unit_id] = true;
      var tr = node.tr;
      clear(tr);
      tr.appendChild(el("td", {}, [
        el("div", {cls: "r-unit", text: u.unit_id}),
        el("div", {cls: "r-sub", text: label(MODE, u.mode) + " · " + squadName(u.squad) +
                                      (u.own_squad ? "" : " · 跨中队 other squad")}),
        u.stale ? el("span", {cls: "tag stale",
                              text: "位置过期 stale " + Math.round(u.position_age_s) + " s"})
                : null
      ]));
      tr.appendChild(el("td", {cls: "num eta", text: (u.eta_s / 60).toFixed(1)}));
      tr.appendChild(el("td", {cls: "num", text: (u.distance_m / 1000).toFixed(2)}));
      var action = el("td");
      if (open && can("dispatch:assign")) {
        node.button.textContent = d.active ? "改派 Reassign" : "派遣 Assign";
        node.button.disabled = state.busy;
        action.appendChild(node.button);
      }
      tr.appendChild(action);
      body.appendChild(tr);
    });
    Object.keys(recNodes).forEach(function (k) { if (!shown[k]) { delete recNodes[k]; } });
  }

  function loadDetail(id) {
    var enc = encodeURIComponent(id);
    var incident = api("/incidents/" + enc);
    var soft = function (p) { return p.catch(function () { return null; }); };
    return Promise.all([
      incident,
      soft(api("/incidents/" + enc + "/timeline")),
      can("units:read")
        ? api("/incidents/" + enc + "/recommendations").catch(function (e) {
          return {error: e.message};
        })
        : Promise.resolve({units: []}),
      soft(api("/incidents/" + enc + "/assignments")),
      soft(api("/incidents/" + enc + "/clocks"))
    ]).then(function (parts) {
      var previous = state.detail && state.detail.incident.id === id ? state.detail : null;
      var inc = parts[0];
      // Keep the duplicates that came with the report if the stored payload lacks them.
      if (!inc.possible_duplicates && previous && previous.incident.possible_duplicates) {
        inc.possible_duplicates = previous.incident.possible_duplicates;
        inc.possible_duplicates_total = previous.incident.possible_duplicates_total;
      }
      var active = (parts[3] || []).filter(function (a) { return a.status === "active"; });
      if (parts[4]) { state.clocks[id] = {data: parts[4], at: Date.now()}; }
      return {incident: inc, timeline: parts[1],
              recs: parts[2] && !parts[2].error ? parts[2] : null,
              recsError: parts[2] && parts[2].error
                ? "推荐不可用 Recommendations unavailable: " + parts[2].error : null,
              active: active.length ? active[active.length - 1] : null,
              clocks: parts[4]};
    });
  }

  function refreshDetail() {
    var id = state.selected;
    if (!id) { return Promise.resolve(); }
    return loadDetail(id).then(function (d) {
      if (state.selected !== id) { return; }
      state.detail = d;
      drawDetail(d);
    }).catch(function (e) {
      if (state.selected !== id) { return; }
      state.message = {text: "无法读取事件 Cannot load incident: " + e.message, kind: "error"};
      $("d-message").textContent = state.message.text;
      $("d-message").className = "error";
    });
  }

  function select(id, pan) {
    if (state.selected !== id) { state.message = null; }
    state.selected = id;
    drawQueue();
    drawIncidents();
    var m = incidentMarkers[id];
    if (pan && m && !map.getBounds().contains(m.getLatLng())) { map.panTo(m.getLatLng()); }
    refreshDetail();
  }

  function assign(incidentId, unitId, replace) {
    Array.prototype.forEach.call(document.querySelectorAll("button.assign"),
                                 function (b) { b.disabled = true; });
    var body = {unit_id: unitId};
    if (replace) { body.replace = true; }
    act("POST", "/incidents/" + encodeURIComponent(incidentId) + "/assignments", body,
        function (a) {
          return "已派遣 Assigned " + a.unit_id + " → " + incidentId +
                 (a.replan_error ? " · 重排失败 re-plan failed: " + a.replan_error : "");
        }, "派遣失败 Assignment failed: ");
  }

  // -- polling ----------------------------------------------------------------------------

  function fetchClocks() {
    var now = Date.now();
    var wanted = state.incidents.slice(0, CLOCKS_TOP).filter(function (inc) {
      var c = state.clocks[inc.id];
      return !c || now - c.at > CLOCKS_TTL_MS;
    }).slice(0, CLOCKS_PER_POLL);
    return Promise.all(wanted.map(function (inc) {
      return api("/incidents/" + encodeURIComponent(inc.id) + "/clocks").then(function (c) {
        state.clocks[inc.id] = {data: c, at: Date.now()};
      }).catch(function () { state.clocks[inc.id] = {data: null, at: Date.now()}; });
    }));
  }

  function poll() {
    if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    var gen = ++state.gen;
    var units = can("units:read") ? api("/units") : Promise.resolve([]);
    Promise.all([api("/incidents?open=true&limit=1000"), units]).then(function (parts) {
      if (gen !== state.gen) { return null; }  // a newer poll (after an assignment) won
      var incidents = parts[0].items;
      state.byId = {};
      incidents.forEach(function (inc) { state.byId[inc.id] = inc; });
      incidents.sort(compare);
      state.incidents = incidents;
      state.units = parts[1];
      return fetchClocks().then(function () {
        state.incidents.sort(compare);
        drawQueue();
        drawIncidents();
        drawUnits();
        drawUnitList();
        var counts = $("counts");
        clear(counts);
        var urgent = incidents.filter(function (i) { return i.urgent; }).length;
        var free = state.units.filter(function (u) { return u.status === "available"; }).length;
        // The queue shows at most the first 1000; the count is the stored total.
        var total = parts[0].total;
        counts.appendChild(el("span", {text: "待办 open " + total +
          (total > incidents.length ? " (显示 showing " + incidents.length + ")" : "")}));
        counts.appendChild(el("span", {cls: urgent ? "tag urgent" : "",
                                       text: "紧急 urgent " + urgent}));
        if (can("units:read")) {
          counts.appendChild(el("span", {text: "空闲单元 available " + free}));
        }
        return refreshDetail();
      }).then(function () {
        var u = $("updated");
        u.textContent = "更新 updated " + hms(new Date());
        u.className = "";
      });
    }).catch(function (e) {
      var u = $("updated");
      u.textContent = "连接失败 offline · " + hms(new Date()) + " · " + e.message;
      u.className = "error";
    }).then(function () {
      if (gen === state.gen && !state.paused) { state.timer = setTimeout(poll, POLL_MS); }
    });
  }

  // For tests and the browser console: stop and restart the automatic refresh.
  window.jiedaoConsole = {
    pause: function () {
      state.paused = true;
      if (state.timer) { clearTimeout(state.timer); state.timer = null; }
    },
    resume: function () { state.paused = false; poll(); },
    refresh: function () { poll(); }
  };

  loadLayer().then(function () { poll(); });
})();
