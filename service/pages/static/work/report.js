/* jiedao daily report (信息日报), the information officer's page: pick the day, tap the map
 * where each problem is, choose its category (one of the 21, or a matter for another
 * department), save the draft and submit it to the group head. */
(function () {
  "use strict";
  var W = Work, el = W.el;
  var ME = W.ME;
  var MATTERS = [["public_order", "治安 public order (派出所)"],
                 ["rental_housing", "出租屋 rental housing"],
                 ["business_licence", "无照经营 business licence"]];
  var state = {items: [], report: null, point: null, names: {}};
  var $ = function (id) { return document.getElementById(id); };
  var message = $("r-message");

  var map = L.map("map").setView([22.583, 114.11], 15);
  L.tileLayer("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, attribution: "© OpenStreetMap contributors"
  }).addTo(map);
  var itemLayer = L.layerGroup().addTo(map);
  map.getContainer().leafletMap = map;  // for the browser test to find a point on screen
  var marker = null;
  map.on("click", function (e) {
    state.point = e.latlng;
    if (marker) { marker.setLatLng(e.latlng); } else { marker = L.marker(e.latlng).addTo(map); }
    $("i-add").disabled = locked();
  });

  function locked() {
    return !!state.report && (state.report.status === "submitted" ||
                              state.report.status === "approved");
  }
  function url() { return "/reports/daily/" + ME.community + "/" + $("r-day").value; }
  function defaultDay() {
    var now = new Date().toLocaleTimeString("en-GB", {timeZone: W.TZ, hour12: false});
    return now < "09:30" ? W.day(-1) : W.day(0);  // yesterday's report is due at 09:30
  }
  function nowTime() {
    return new Date().toLocaleTimeString("en-GB", {timeZone: W.TZ, hour12: false}).slice(0, 5);
  }

  function kindName(item) {
    if (item.category) { return state.names[item.category] || item.category; }
    var found = MATTERS.filter(function (m) { return m[0] === item.matter; })[0];
    return found ? found[1] : item.matter;
  }
  function render() {
    var list = $("r-items");
    W.clear(list);
    itemLayer.clearLayers();
    state.items.forEach(function (item, i) {
      var when = item.discovered_at.slice(11, 16);
      var remove = el("button", {type: "button", cls: "remove", text: "删除 remove",
                                 "aria-label": "remove item " + (i + 1)});
      remove.disabled = locked();
      remove.addEventListener("click", function () { state.items.splice(i, 1); render(); });
      list.appendChild(el("li", {"data-item": String(i + 1)}, [
        el("strong", {text: kindName(item)}), " · " + when,
        item.urgent ? el("span", {cls: "state missing", text: "紧急 urgent"}) : null,
        item.description ? el("div", {cls: "hint", text: item.description}) : null,
        item.incident ? el("div", {cls: "hint", text: "已立案 " + item.incident}) : null,
        remove
      ]));
      L.circleMarker([item.location.lat, item.location.lon], {radius: 7, color: "#b91c1c"})
        .bindTooltip((i + 1) + ". " + kindName(item)).addTo(itemLayer);
    });
    $("r-count").textContent = String(state.items.length);
    $("r-nothing").disabled = locked() || state.items.length > 0;
    if (state.items.length) { $("r-nothing").checked = false; }
    ["r-save", "r-submit"].forEach(function (id) { $(id).disabled = locked(); });
    $("i-add").disabled = locked() || !state.point;
    var shown = state.report ? W.STATES[state.report.status] + " · " +
      W.STATES[state.report.state] : "未填报 not filed";
    $("r-state").textContent = shown;
    $("r-state").className = "state " + (state.report ? state.report.status : "");
    var note = $("r-note");
    note.hidden = !(state.report && state.report.status === "returned");
    note.textContent = note.hidden ? "" : "组长退回 returned: " + state.report.return_note;
  }

  function load() {
    W.say(message, "");
    W.api("GET", url()).then(function (report) {
      state.report = report;
      state.items = report.items.map(function (i) {
        var item = {location: {lon: i.lon, lat: i.lat, crs: "wgs84"},
                    discovered_at: i.discovered_at, urgent: i.urgent,
                    description: i.description};
        if (i.category) { item.category = i.category; } else { item.matter = i.matter; }
        if (i.incident) { item.incident = i.incident; }
        return item;
      });
      $("r-nothing").checked = report.nothing_to_report;
      render();
    }).catch(function (error) {
      state.report = null;
      state.items = [];
      render();
      if (error.status !== 404) { W.say(message, error.message, "error"); }
    });
  }

  function add() {
    var kind = $("i-kind").value;
    var time = $("i-time").value || nowTime();
    var item = {
      location: {lon: state.point.lng, lat: state.point.lat, crs: "wgs84"},
      discovered_at: $("r-day").value + "T" + time + ":00+08:00",
      urgent: $("i-urgent").checked,
      description: $("i-text").value.trim()
    };
    if (kind.indexOf("matter:") === 0) { item.matter = kind.slice(7); }
    else { item.category = kind; }
    state.items.push(item);
    $("i-text").value = "";
    $("i-urgent").checked = false;
    render();
  }

  function save() {
    var body = {items: state.items, nothing_to_report: $("r-nothing").checked};
    return W.api("PUT", url(), body).then(function (report) {
      state.report = report;
      render();
      return report;
    });
  }

  $("i-add").addEventListener("click", add);
  $("r-save").addEventListener("click", function () {
    save().then(function () { W.say(message, "草稿已保存 draft saved", "ok"); })
      .catch(function (error) { W.say(message, error.message, "error"); });
  });
  $("r-submit").addEventListener("click", function () {
    if (!state.items.length && !$("r-nothing").checked) {
      W.say(message, "请添加条目, 或勾选“今日无上报事项” add an item, or tick nothing to report",
            "error");
      return;
    }
    save().then(function () { return W.api("POST", url() + "/submit"); })
      .then(function (report) {
        state.report = report;
        render();
        W.say(message, "已提交组长审核 submitted to the group head", "ok");
      })
      .catch(function (error) { W.say(message, error.message, "error"); });
  });
  $("r-day").addEventListener("change", load);

  W.api("GET", "/categories").then(function (categories) {
    var select = $("i-kind");
    categories.forEach(function (c) {
      state.names[c.code] = c.name_zh;
      select.appendChild(el("option", {value: c.code, text: c.code + " " + c.name_zh}));
    });
    var group = el("optgroup", {label: "转送其他部门 other departments"});
    MATTERS.forEach(function (m) {
      group.appendChild(el("option", {value: "matter:" + m[0], text: m[1]}));
    });
    select.appendChild(group);
    $("r-day").value = defaultDay();
    $("i-time").value = nowTime();
    load();
  });
  W.api("GET", "/layers/active").then(function (layer) {
    var mine = layer.communities.features.filter(function (f) {
      return f.properties.code === ME.community;
    });
    if (mine.length) {
      var area = L.geoJSON(mine, {style: {color: "#1d4ed8", weight: 2, fillOpacity: 0.05}})
        .addTo(map);
      map.fitBounds(area.getBounds());
    }
  }).catch(function () { /* the map still takes taps without the outline */ });
})();
