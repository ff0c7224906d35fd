/* jiedao report review (日报审核), the group head's page: the reports waiting for approval,
 * each item of the one opened, approve or return it with a note; the last two weeks' state.
 * It refreshes itself every 30 s. */
(function () {
  "use strict";
  var W = Work, el = W.el, ME = W.ME;
  var $ = function (id) { return document.getElementById(id); };
  var message = $("v-message");
  var open = null;  // the day of the report opened
  var names = {};
  var MATTERS = {public_order: "治安 public order", rental_housing: "出租屋 rental housing",
                 business_licence: "无照经营 business licence"};

  function url(day) { return "/reports/daily/" + ME.community + "/" + day; }

  function refresh() {
    var params = new URLSearchParams({start: W.day(-14), end: W.day(0)});
    return W.api("GET", "/reports/compliance?" + params).then(function (data) {
      var days = data.days.filter(function (d) { return d.community === ME.community; });
      var queue = $("v-queue"), rows = $("v-days").querySelector("tbody");
      W.clear(queue);
      W.clear(rows);
      var waiting = days.filter(function (d) { return d.status === "submitted"; });
      waiting.forEach(function (d) {
        var button = el("button", {type: "button", "data-day": d.date,
                                   text: d.date + " · " + d.items + " 条 items"});
        button.addEventListener("click", function () { show(d.date); });
        queue.appendChild(el("li", {}, [button]));
      });
      if (!waiting.length) { queue.appendChild(el("li", {cls: "hint", text: "无 nothing waiting"})); }
      $("v-count").textContent = String(waiting.length);
      days.slice().reverse().forEach(function (d) {
        rows.appendChild(el("tr", {"data-day": d.date}, [
          el("td", {text: d.date}),
          el("td", {}, [el("span", {cls: "state " + d.state, text: W.STATES[d.state]}),
                        d.status ? " " + W.STATES[d.status] : ""]),
          el("td", {cls: "num", text: String(d.items)}),
          el("td", {cls: "num", text: String(d.urgent_late)})
        ]));
      });
    }).catch(function (error) { W.say(message, error.message, "error"); });
  }

  function show(day) {
    W.api("GET", url(day)).then(function (report) {
      open = day;
      $("v-report").hidden = false;
      $("v-title").textContent = report.community_name + " " + day + " · " +
        W.STATES[report.status] + " · " + report.filed_by;
      var body = $("v-items").querySelector("tbody");
      W.clear(body);
      if (report.nothing_to_report) {
        body.appendChild(el("tr", {}, [el("td", {colspan: "4", text: "今日无上报事项 nothing to report"})]));
      }
      report.items.forEach(function (item) {
        body.appendChild(el("tr", {}, [
          el("td", {text: String(item.seq)}),
          el("td", {text: item.category ? (names[item.category] || item.category)
                                        : MATTERS[item.matter]}),
          el("td", {text: W.clock(item.discovered_at) + (item.urgent ? " 紧急" : "")}),
          el("td", {text: item.description || ""})
        ]));
      });
      var waiting = report.status === "submitted";
      $("v-approve").disabled = !waiting;
      $("v-return").disabled = !waiting;
    }).catch(function (error) { W.say(message, error.message, "error"); });
  }

  $("v-approve").addEventListener("click", function () {
    W.api("POST", url(open) + "/approve").then(function (report) {
      W.say(message, open + " 已审核通过 approved: " + report.items.length + " 条已转办 items routed", "ok");
      $("v-report").hidden = true;
      refresh();
    }).catch(function (error) { W.say(message, error.message, "error"); });
  });
  $("v-return").addEventListener("click", function () {
    var note = $("v-note").value.trim();
    if (!note) { W.say(message, "退回请写明原因 write what to change", "error"); return; }
    W.api("POST", url(open) + "/return", {note: note}).then(function () {
      W.say(message, open + " 已退回 returned", "ok");
      $("v-report").hidden = true;
      $("v-note").value = "";
      refresh();
    }).catch(function (error) { W.say(message, error.message, "error"); });
  });

  W.api("GET", "/categories").then(function (categories) {
    categories.forEach(function (c) { names[c.code] = c.name_zh; });
  });
  refresh();
  setInterval(refresh, 30000);
})();
