/* Shared helpers of the work pages: DOM building through textContent (never innerHTML), the
 * JSON API with the page's CSRF token, and messages. */
var Work = (function () {
  "use strict";
  var CSRF = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var TZ = "Asia/Shanghai";

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") { node.textContent = attrs[k]; }
      else if (k === "cls") { node.className = attrs[k]; }
      else { node.setAttribute(k, attrs[k]); }
    });
    (children || []).forEach(function (c) {
      if (c !== null && c !== undefined) {
        node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
      }
    });
    return node;
  }
  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }
  function errorText(data) {
    if (!data || !data.detail) { return null; }
    if (typeof data.detail === "string") { return data.detail; }
    return data.detail.map(function (d) {
      return (d.field ? d.field + ": " : "") + d.message + (d.fix ? " (" + d.fix + ")" : "");
    }).join("; ");
  }
  function api(method, path, body) {
    var options = {method: method, headers: {"X-CSRF-Token": CSRF}};
    if (body !== undefined) {
      options.body = JSON.stringify(body);
      options.headers["Content-Type"] = "application/json";
    }
    return fetch(path, options).then(function (r) {
      if (r.status === 401) {
        window.location.assign("/login?next=" + encodeURIComponent(window.location.pathname));
      }
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        if (!r.ok) {
          var error = new Error(errorText(data) || ("HTTP " + r.status));
          error.status = r.status;
          throw error;
        }
        return data;
      });
    });
  }
  function say(node, text, kind) {
    node.textContent = text || "";
    node.className = "message " + (kind || "");
  }
  function day(offsetDays) {
    var when = new Date(Date.now() + (offsetDays || 0) * 86400000);
    return when.toLocaleDateString("sv-SE", {timeZone: TZ});
  }
  function clock(iso) {
    return new Date(iso).toLocaleString("zh-CN", {hour12: false, timeZone: TZ,
      month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
  }
  function share(v) { return v === null || v === undefined ? "—" : (v * 100).toFixed(1) + "%"; }
  var STATES = {
    draft: "草稿 draft", submitted: "待审核 submitted", approved: "已审核 approved",
    returned: "已退回 returned", on_time: "按时 on time", late: "迟报 late",
    missing: "缺报 missing", pending: "未到期 pending"
  };
  return {el: el, clear: clear, api: api, say: say, day: day, clock: clock, share: share,
          STATES: STATES, TZ: TZ, ME: JSON.parse(document.getElementById("me").textContent)};
})();
