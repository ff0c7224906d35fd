/* jiedao case team page (案件统计与案卷): the period's GB/T 30428 indicators with their
 * exports, the case files to retrieve, and one file: timeline, documents, typical-case
 * summary, archive. Writes only where the role may (casefiles:write). */
(function () {
  "use strict";
  var W = Work, el = W.el, ME = W.ME;
  var $ = function (id) { return document.getElementById(id); };
  var CAN_WRITE = ME.permissions.indexOf("casefiles:write") >= 0;
  var COLUMNS = [["reports", "上报"], ["valid", "有效"], ["filed", "立案"], ["closed", "结案"],
                 ["closure_rate", "结案率"], ["on_time_closure_rate", "按期结案率"],
                 ["rework_rate", "返工率"], ["overdue", "超期"], ["parked", "挂账"]];
  var LABEL = {community: "community_name", category: "category_name"};
  var BY = {community: "社区 community", squad: "中队 squad", category: "类别 category",
            source: "来源 source", month: "月份 month"};
  var FINAL = ["verified_closed", "closed", "rejected", "duplicate"];
  var current = null;
  var message = $("f-message");

  function period() { return {start: $("c-start").value, end: $("c-end").value}; }

  function stats() {
    var by = $("c-by").value;
    var params = new URLSearchParams(Object.assign(period(), {by: by}));
    $("c-csv").href = "/statistics/cases?" + params + "&format=csv";
    $("c-xlsx").href = "/statistics/cases?" + params + "&format=xlsx";
    W.api("GET", "/statistics/cases?" + params).then(function (data) {
      var head = $("c-stats").querySelector("thead"), body = $("c-stats").querySelector("tbody");
      W.clear(head);
      W.clear(body);
      head.appendChild(el("tr", {}, [el("th", {text: BY[by]})].concat(
        COLUMNS.map(function (c) { return el("th", {text: c[1]}); }))));
      data.rows.concat([Object.assign({}, data.total, {_total: true})]).forEach(function (row) {
        var name = row._total ? "合计 all" : (row[LABEL[by]] || row[by]);
        body.appendChild(el("tr", {"data-key": row._total ? "total" : String(row[by])},
          [el("td", {text: name})].concat(COLUMNS.map(function (c) {
            var v = row[c[0]];
            return el("td", {cls: "num", text: c[0].indexOf("rate") > 0 ? W.share(v) : String(v)});
          }))));
      });
    }).catch(function (error) { W.say(message, error.message, "error"); });
  }

  function files() {
    var params = new URLSearchParams(period());
    if ($("c-q").value.trim()) { params.set("q", $("c-q").value.trim()); }
    if ($("c-typical").checked) { params.set("typical", "true"); }
    if ($("c-archived").checked) { params.set("archived", "true"); }
    W.api("GET", "/casefiles?" + params).then(function (data) {
      var body = $("c-files").querySelector("tbody");
      W.clear(body);
      $("c-total").textContent = String(data.total);
      data.items.forEach(function (f) {
        var row = el("tr", {cls: "clickable", "data-case": f.id}, [
          el("td", {text: f.id}), el("td", {text: f.community_name}),
          el("td", {text: f.category_name}), el("td", {text: f.outcome}),
          el("td", {text: (f.typical ? "典型 " : "") + (f.archived ? "已归档" : "") +
                          (f.documents ? " " + f.documents + " 份" : "")})
        ]);
        row.addEventListener("click", function () { show(f.id); });
        body.appendChild(row);
      });
    }).catch(function (error) { W.say(message, error.message, "error"); });
  }

  function show(id) {
    return W.api("GET", "/casefiles/" + id).then(function (file) {
      current = file;
      var i = file.incident;
      $("f-panel").hidden = false;
      $("f-title").textContent = i.id + " · " + i.category_name;
      $("f-meta").textContent = i.community_name + " · " + i.source + " · 上报 " +
        W.clock(i.reported_at) + " · 期限 due " + (file.clocks.due_at ? W.clock(file.clocks.due_at) : "—") +
        (file.clocks.overdue ? " · 超期 overdue" : "") + " · " + file.outcome +
        (i.description ? " · " + i.description : "");
      var photos = $("f-photos");
      W.clear(photos);
      i.photo_urls.forEach(function (u, n) {
        photos.appendChild(el("a", {href: u, target: "_blank", rel: "noopener",
                                    text: "照片 photo " + (n + 1)}));
        photos.appendChild(document.createTextNode(" "));
      });
      var steps = $("f-timeline");
      W.clear(steps);
      file.timeline.forEach(function (e) {
        steps.appendChild(el("li", {}, [el("strong", {text: e.step}), " " +
          (e.at ? W.clock(e.at) : "") + " · " + e.actor + (e.note ? " · " + e.note : "")]));
      });
      var docs = $("f-documents");
      W.clear(docs);
      file.documents.forEach(function (d) {
        docs.appendChild(el("li", {}, [d.kind + " · ", el("a", {href: d.url, text: d.title}),
                                       " · " + d.added_by]));
      });
      if (!file.documents.length) { docs.appendChild(el("li", {cls: "hint", text: "无 none"})); }
      $("t-summary").value = file.typical_summary || "";
      $("f-add").hidden = !CAN_WRITE || file.archived;
      $("t-mark").disabled = !CAN_WRITE;
      $("t-unmark").disabled = !CAN_WRITE || !file.typical;
      // Only a closed case is archived (归档); the server refuses the others anyway.
      $("f-archive").disabled = !CAN_WRITE || file.archived || FINAL.indexOf(file.outcome) < 0;
      W.say(message, file.archived ? "已归档 archived " + W.clock(file.archived_at) + " · " +
            file.archived_by : (file.typical ? "典型案例 typical case" : ""), "ok");
    }).catch(function (error) { W.say(message, error.message, "error"); });
  }

  function write(method, suffix, body, done) {
    W.api(method, "/casefiles/" + current.incident.id + suffix, body).then(function () {
      files();
      return show(current.incident.id);
    }).then(function () {
      if (done) { W.say(message, done, "ok"); }
    }).catch(function (error) { W.say(message, error.message, "error"); });
  }
  $("d-add").addEventListener("click", function () {
    write("POST", "/documents", {kind: $("d-kind").value, title: $("d-title").value.trim(),
                                 url: $("d-url").value.trim()}, "文书已添加 document added");
  });
  $("t-mark").addEventListener("click", function () {
    write("PUT", "/typical", {summary: $("t-summary").value.trim()}, "已标为典型 marked typical");
  });
  $("t-unmark").addEventListener("click", function () { write("DELETE", "/typical"); });
  $("f-archive").addEventListener("click", function () {
    write("POST", "/archive", {note: ""}, "已归档 archived");
  });
  ["c-start", "c-end", "c-by"].forEach(function (id) {
    $(id).addEventListener("change", function () { stats(); files(); });
  });
  ["c-q", "c-typical", "c-archived"].forEach(function (id) {
    $(id).addEventListener("change", files);
  });
  var today = W.day(0);
  $("c-start").value = today.slice(0, 8) + "01";
  $("c-end").value = today;
  stats();
  files();
})();
