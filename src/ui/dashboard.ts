/**
 * The dashboard page, served by the gateway at `/api/dashboard` (where the admin APIs answer): the
 * registry of MCP proxies (listen path, upstream, authentication, state, versions, and the tools,
 * resources and prompts each upstream exposes) and the "Activity by MCP" charts at both levels,
 * drawn with Chart.js (`chart-js.generated.ts`) and read again every two seconds, so they move as
 * traffic flows.
 *
 * The page holds no data and no secret: it asks for the Dashboard API key (kept in the tab's
 * sessionStorage) and calls the Dashboard API with it (`endpoints/observe.ts`). Everything the
 * upstreams or clients named (tool names, descriptions) is written as text, never as HTML.
 */

/** The page. Scripts come from the gateway itself (`script-src 'self'`). */
export function dashboardHtml(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MCP gateway: activity by MCP</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; color: #1d2330; background: #f5f6f8; }
  header { background: #1d2330; color: #fff; padding: 12px 20px; display: flex; gap: 16px; align-items: center; }
  header h1 { font-size: 18px; margin: 0; flex: 1; }
  main { padding: 16px 20px; }
  section { background: #fff; border-radius: 6px; padding: 12px 16px; margin-bottom: 16px; box-shadow: 0 1px 2px #0002; }
  h2 { font-size: 15px; margin: 0 0 8px; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e4e6ea; vertical-align: top; }
  .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; }
  .chart { position: relative; height: 240px; }
  .muted { color: #6b7280; }
  #login { max-width: 420px; margin: 40px auto; }
  input, select, button { font: inherit; padding: 4px 8px; }
</style>
</head>
<body>
<header><h1>MCP gateway · Activity by MCP</h1>
  <label>Window <select id="minutes"><option value="15">15 min</option><option value="60" selected>1 hour</option><option value="1440">24 hours</option></select></label>
  <span id="status" class="muted"></span></header>
<main>
  <section id="login" hidden>
    <h2>Dashboard API key</h2>
    <form id="key-form"><input id="key" type="password" autocomplete="off" placeholder="Authorization key" required> <button>Open</button></form>
    <p id="key-error" class="muted"></p>
  </section>
  <div id="dashboard" hidden>
    <section><h2>Registry of MCP proxies</h2>
      <table><thead><tr><th>Proxy</th><th>Listen path</th><th>Upstream</th><th>Authentication</th><th>State</th><th>Versions</th><th>Tools</th><th>Resources</th><th>Prompts</th></tr></thead>
      <tbody id="registry"></tbody></table></section>
    <h2>Proxies</h2>
    <div class="grid">
      <section><h2>Requests over time</h2><div class="chart"><canvas id="proxy-volume"></canvas></div></section>
      <section><h2>Errors over time</h2><div class="chart"><canvas id="proxy-errors"></canvas></div></section>
      <section><h2>Requests by HTTP status</h2><div class="chart"><canvas id="proxy-status"></canvas></div></section>
      <section><h2>Errors by mcp_error_code</h2><div class="chart"><canvas id="proxy-codes"></canvas></div></section>
    </div>
    <h2>Tools, resources and prompts <select id="api"><option value="">every proxy</option></select></h2>
    <div class="grid">
      <section><h2>Calls over time</h2><div class="chart"><canvas id="primitive-volume"></canvas></div></section>
      <section><h2>Most called</h2><div class="chart"><canvas id="most-called"></canvas></div></section>
      <section><h2>Highest error rate</h2><div class="chart"><canvas id="error-rate"></canvas></div></section>
      <section><h2>Slowest (average and p95, ms)</h2><div class="chart"><canvas id="slowest"></canvas></div></section>
    </div>
  </div>
</main>
<script src="/api/dashboard/chart.js"></script>
<script src="/api/dashboard/app.js"></script>
</body>
</html>`;
}

/** The page's script: reads the Dashboard API and keeps the charts current. */
export const DASHBOARD_JS = `"use strict";
(function () {
  var KEY = "mcp-gateway-dashboard-key";
  var COLORS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];
  var charts = {};
  var timer;
  var $ = function (id) { return document.getElementById(id); };

  function api(path) {
    return fetch(path, { headers: { authorization: sessionStorage.getItem(KEY) || "" } }).then(function (res) {
      if (res.status === 403) throw new Error("forbidden");
      if (!res.ok) throw new Error("HTTP " + res.status);
      return res.json();
    });
  }

  function chart(id, type, data, options) {
    var existing = charts[id];
    if (existing) {
      existing.data.labels = data.labels;
      existing.data.datasets = data.datasets;
      existing.update("none");
      return existing;
    }
    var config = { type: type, data: data, options: Object.assign({ animation: false, maintainAspectRatio: false, responsive: true }, options || {}) };
    charts[id] = new Chart($(id), config);
    return charts[id];
  }

  function time(t) { var d = new Date(t); return ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
  function color(i) { return COLORS[i % COLORS.length]; }
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); return td; }
  function names(list) { return list.map(function (item) { return item.name; }); }

  function registry(body) {
    var tbody = $("registry");
    tbody.replaceChildren();
    var select = $("api");
    var chosen = select.value;
    select.replaceChildren();
    var all = document.createElement("option"); all.value = ""; all.textContent = "every proxy"; select.appendChild(all);
    body.proxies.forEach(function (p) {
      var row = document.createElement("tr");
      row.dataset.api = p.api_id;
      cell(row, p.name + " (" + p.api_id + ")");
      cell(row, p.listen_path);
      cell(row, p.upstream);
      cell(row, p.authentication.length ? p.authentication.join(", ") : "open");
      cell(row, p.state);
      cell(row, p.versions.join(", "));
      var tools = cell(row, names(p.tools).join(", ")); tools.className = "tools";
      var resources = cell(row, names(p.resources).join(", ")); resources.className = "resources";
      var prompts = cell(row, names(p.prompts).join(", ")); prompts.className = "prompts";
      if (p.catalog_error) cell(row, "upstream: " + p.catalog_error).className = "muted";
      tbody.appendChild(row);
      var option = document.createElement("option"); option.value = p.api_id; option.textContent = p.name; select.appendChild(option);
    });
    select.value = chosen;
  }

  function proxies(body) {
    var list = body.proxies;
    var labels = list.length ? list[0].series.map(function (p) { return time(p.t); }) : [];
    chart("proxy-volume", "line", { labels: labels, datasets: list.map(function (p, i) {
      return { label: p.api_id, data: p.series.map(function (s) { return s.requests; }), borderColor: color(i), backgroundColor: color(i), tension: 0.2 };
    }) }, { scales: { y: { beginAtZero: true } } });
    chart("proxy-errors", "line", { labels: labels, datasets: list.map(function (p, i) {
      return { label: p.api_id, data: p.series.map(function (s) { return s.errors; }), borderColor: color(i), backgroundColor: color(i), tension: 0.2 };
    }) }, { scales: { y: { beginAtZero: true } } });
    var statuses = {};
    var codes = {};
    list.forEach(function (p) { Object.keys(p.by_status).forEach(function (s) { statuses[s] = true; }); Object.keys(p.by_error_code).forEach(function (c) { codes[c] = true; }); });
    var statusLabels = Object.keys(statuses).sort();
    var codeLabels = Object.keys(codes).sort();
    chart("proxy-status", "bar", { labels: statusLabels, datasets: list.map(function (p, i) {
      return { label: p.api_id, data: statusLabels.map(function (s) { return p.by_status[s] || 0; }), backgroundColor: color(i) };
    }) }, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } });
    chart("proxy-codes", "bar", { labels: codeLabels, datasets: list.map(function (p, i) {
      return { label: p.api_id, data: codeLabels.map(function (c) { return p.by_error_code[c] || 0; }), backgroundColor: color(i) };
    }) }, { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } });
  }

  function label(p) { return p.type + " " + p.name + ($("api").value ? "" : " (" + p.api_id + ")"); }

  function primitives(body) {
    var top = body.primitives.slice().sort(function (a, b) { return b.calls - a.calls; }).slice(0, 8);
    var labels = top.length ? top[0].series.map(function (p) { return time(p.t); }) : [];
    chart("primitive-volume", "line", { labels: labels, datasets: top.map(function (p, i) {
      return { label: label(p), data: p.series.map(function (s) { return s.requests; }), borderColor: color(i), backgroundColor: color(i), tension: 0.2 };
    }) }, { scales: { y: { beginAtZero: true } } });
    var bar = { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } };
    chart("most-called", "bar", { labels: body.most_called.map(label), datasets: [{ label: "calls", data: body.most_called.map(function (p) { return p.calls; }), backgroundColor: COLORS[0] }] }, bar);
    chart("error-rate", "bar", { labels: body.highest_error_rate.map(label), datasets: [{ label: "error rate (%)", data: body.highest_error_rate.map(function (p) { return Math.round(p.error_rate * 1000) / 10; }), backgroundColor: COLORS[1] }] }, bar);
    var slow = body.slowest_avg;
    chart("slowest", "bar", { labels: slow.map(label), datasets: [
      { label: "average (ms)", data: slow.map(function (p) { return p.avg_ms; }), backgroundColor: COLORS[3] },
      { label: "p95 (ms)", data: slow.map(function (p) { return p.p95_ms; }), backgroundColor: COLORS[4] }
    ] }, { indexAxis: "y", scales: { x: { beginAtZero: true } } });
  }

  function refresh() {
    var minutes = $("minutes").value;
    var apiId = $("api").value;
    return Promise.all([
      api("/api/activity/mcp/registry"),
      api("/api/activity/mcp?minutes=" + minutes),
      api("/api/activity/mcp/primitives?minutes=" + minutes + (apiId ? "&api_id=" + encodeURIComponent(apiId) : ""))
    ]).then(function (answers) {
      registry(answers[0]);
      proxies(answers[1]);
      primitives(answers[2]);
      $("status").textContent = "updated " + new Date().toLocaleTimeString();
      document.body.dataset.updated = String(Date.now());
    });
  }

  function start() {
    $("login").hidden = true;
    $("dashboard").hidden = false;
    clearInterval(timer);
    refresh().catch(fail);
    timer = setInterval(function () { refresh().catch(fail); }, 2000);
  }

  function fail(error) {
    if (String(error.message) === "forbidden") {
      clearInterval(timer);
      sessionStorage.removeItem(KEY);
      $("dashboard").hidden = true;
      $("login").hidden = false;
      $("key-error").textContent = "That key was refused.";
    } else {
      $("status").textContent = "not updated: " + error.message;
    }
  }

  $("key-form").addEventListener("submit", function (event) {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value);
    $("key").value = "";
    start();
  });
  $("minutes").addEventListener("change", function () { refresh().catch(fail); });
  $("api").addEventListener("change", function () { refresh().catch(fail); });
  if (sessionStorage.getItem(KEY)) start(); else $("login").hidden = false;
})();
`;
