// Operator view: device list and detail, incident list and detail with lifecycle actions.
// Plain DOM + fetch against /api/v1; the token lives in localStorage; charts are uPlot (vendored).
"use strict";
(function () {
  const view = document.getElementById("view");
  const tokenInput = document.getElementById("token");
  const TOKEN_KEY = "fleetwatch.token";
  // A link may carry the token (?token=..., as `make demo` prints): keep it, then drop it from the address bar.
  const fromUrl = new URLSearchParams(location.search).get("token");
  if (fromUrl) {
    localStorage.setItem(TOKEN_KEY, fromUrl);
    history.replaceState(null, "", location.pathname + location.hash);
  }
  tokenInput.value = localStorage.getItem(TOKEN_KEY) || "";

  document.getElementById("tokenform").addEventListener("submit", (e) => {
    e.preventDefault();
    localStorage.setItem(TOKEN_KEY, tokenInput.value.trim());
    route();
  });

  function msg(text, ok) {
    const m = document.getElementById("msg");
    m.hidden = !text;
    m.className = "msg" + (ok ? " ok" : "");
    m.textContent = text || "";
  }

  async function api(path, options) {
    const headers = { "Content-Type": "application/json" };
    const token = localStorage.getItem(TOKEN_KEY);
    if (token) headers.Authorization = "Bearer " + token;
    const r = await fetch("/api/v1" + path, { ...options, headers });
    if (r.status === 204) return null;
    const body = await r.json().catch(() => ({}));
    if (!r.ok) {
      const detail = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail || body);
      const why = r.status === 401 ? "enter a valid API token above" : r.status === 403 ? "your token's role cannot do this" : "";
      throw new Error(r.status + ": " + detail + (why ? " (" + why + ")" : ""));
    }
    return body;
  }

  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (v != null) e.setAttribute(k, v);
    }
    for (const c of children.flat()) if (c != null) e.append(c instanceof Node ? c : String(c));
    return e;
  }
  const badge = (s) => h("span", { class: "badge " + s }, s);
  const when = (t) => (t == null ? "–" : new Date(typeof t === "number" ? t * 1000 : t).toLocaleString());
  const link = (href, text) => h("a", { href }, text);

  // -- devices ------------------------------------------------------------------------------------------

  async function devicesPage() {
    const devices = await api("/devices");
    const input = h("input", { placeholder: "filter: name, site, model…", size: 30 });
    const tbody = h("tbody");
    const draw = () => {
      const q = input.value.toLowerCase();
      tbody.replaceChildren(...devices.filter((d) => !q || JSON.stringify(d).toLowerCase().includes(q)).map((d) =>
        h("tr", {},
          h("td", {}, link("/ui/devices/" + encodeURIComponent(d.device_id), d.device_id)),
          h("td", {}, d.sys_name || ""), h("td", {}, d.labels.site || ""), h("td", {}, d.labels.department || ""),
          h("td", {}, [d.vendor, d.model].filter(Boolean).join(" ")), h("td", {}, d.address || ""),
          h("td", {}, badge(d.status)), h("td", {}, d.open_incidents || ""), h("td", {}, when(d.last_seen)))));
    };
    input.addEventListener("input", draw);
    draw();
    view.replaceChildren(h("h1", {}, "Devices (" + devices.length + ")"), h("div", { class: "filter" }, input),
      h("table", {}, h("thead", {}, h("tr", {}, ...["Device", "Name", "Site", "Department", "Model", "Address", "Status", "Incidents", "Last seen"].map((x) => h("th", {}, x)))), tbody));
  }

  function supplyRow(s, forecast) {
    const remaining = s.percent == null ? null : s.percent;
    const low = s.class === "receptacle" ? remaining != null && remaining >= 90 : (remaining != null && remaining <= 10) || ["low", "near_empty", "empty"].includes(s.state);
    const fill = h("i", { class: (low ? "low " : "") + (s.color || ""), style: "width:" + (remaining == null ? 0 : remaining) + "%" });
    const days = forecast && forecast.days_to_empty != null ? " · " + Math.round(forecast.days_to_empty) + " d left" : "";
    return h("div", { class: "supply", "data-supply": s.index },
      h("span", { title: s.part_number || "" }, s.description + (s.class === "receptacle" ? " (fill)" : "")),
      h("span", { class: "bar" }, fill),
      h("span", {}, (remaining == null ? s.state.replace("_", " ") : remaining.toFixed(0) + " %") + days));
  }

  function chart(el, title, series, unit, range) {
    if (!series.length) { el.replaceChildren(h("p", { class: "muted" }, "No " + title.toLowerCase() + " history.")); return; }
    // uPlot wants one shared x array: merge timestamps, null where a series has no point.
    const xs = [...new Set(series.flatMap((s) => s.points.map((p) => p[0])))].sort((a, b) => a - b);
    const index = new Map(xs.map((x, i) => [x, i]));
    const ys = series.map((s) => { const y = new Array(xs.length).fill(null); for (const [x, v] of s.points) y[index.get(x)] = v; return y; });
    const colors = ["#343a40", "#15aabf", "#d6336c", "#fab005", "#7048e8", "#2b8a3e", "#e8590c"];
    const opts = {
      title, width: Math.max(360, el.clientWidth - 10), height: 240,
      series: [{}, ...series.map((s, i) => ({ label: s.name, stroke: colors[i % colors.length], width: 2, spanGaps: true, value: (u, v) => (v == null ? "–" : v.toFixed(unit === "%" ? 0 : 0) + (unit || "")) }))],
      scales: { x: { time: true, range: () => range } },
      axes: [{}, { size: 60 }],
    };
    el.replaceChildren();
    new uPlot(opts, [xs, ...ys], el);
  }

  async function devicePage(id) {
    const d = await api("/devices/" + encodeURIComponent(id));
    const p = d.latest || {};
    const supplies = h("div", { class: "card" }, h("h2", {}, "Supplies"), ...(p.supplies || []).map((s) => supplyRow(s, d.forecasts[s.index])));
    if (!(p.supplies || []).length) supplies.append(h("p", { class: "muted" }, "No supplies reported."));
    const trays = (p.trays || []).map((t) => h("tr", {}, h("td", {}, t.name || t.index), h("td", {}, t.percent == null ? t.state : t.percent.toFixed(0) + " %"), h("td", {}, t.media || "")));
    const counters = Object.entries(p.counters || {}).filter(([k, v]) => k !== "unit" && v != null).map(([k, v]) => h("tr", {}, h("td", {}, k.replace(/_/g, " ")), h("td", {}, Number(v).toLocaleString())));
    const status = p.printer_status || {};
    const supplyChart = h("div", { class: "card", id: "chart-supply" });
    const pageChart = h("div", { class: "card", id: "chart-pages" });
    view.replaceChildren(
      h("h1", {}, d.sys_name || d.device_id, " ", badge(d.status)),
      h("div", { class: "grid" },
        h("div", { class: "card" }, h("h2", {}, "Identity"), h("dl", {},
          ...[["Device", d.device_id], ["Model", [d.vendor, d.model].filter(Boolean).join(" ")], ["Serial", d.serial], ["Address", d.address], ["Location", d.location], ["Labels", Object.entries(d.labels).map(([k, v]) => k + "=" + v).join(", ")], ["Reachable", d.reachable ? "yes" : "no"], ["Last seen", when(d.last_seen)], ["Printer state", [status.printer_status, status.device_status].filter(Boolean).join(" / ")], ["Errors", (status.error_flags || []).join(", ")]]
            .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v || "–")]).flat())),
        supplies,
        h("div", { class: "card" }, h("h2", {}, "Counters"), h("table", {}, h("tbody", {}, ...counters)), trays.length ? [h("h2", {}, "Trays"), h("table", {}, h("tbody", {}, ...trays))] : null),
        h("div", { class: "card" }, h("h2", {}, "Open incidents"), d.incidents.length ? h("ul", {}, ...d.incidents.map((i) => h("li", {}, badge(i.severity), " ", link("/ui/incidents/" + i.number, "#" + i.number + " " + i.summary)))) : h("p", { class: "muted" }, "None."))),
      h("div", { class: "grid" }, supplyChart, pageChart),
      h("h2", {}, "Inventory events"), h("ul", {}, ...d.events.map((e) => h("li", {}, when(e.ts), " ", e.kind, " ", JSON.stringify(e.detail)))));
    const since = Date.now() / 1000 - 30 * 86400;
    const [sup, pages] = await Promise.all([
      api("/devices/" + encodeURIComponent(id) + "/history?metric=supply_percent&since=" + since),
      api("/devices/" + encodeURIComponent(id) + "/history?metric=page_count&label=counter%3Dtotal_pages&since=" + since),
    ]);
    const range = [since, Date.now() / 1000];
    chart(supplyChart, "Supply levels (%)", sup.series.map((s) => ({ name: s.labels.description || s.labels.supply, points: s.points })), "%", range);
    chart(pageChart, "Page counter", pages.series.map((s) => ({ name: s.labels.counter, points: s.points })), "", range);
  }

  // -- incidents ----------------------------------------------------------------------------------------

  function due(i) {
    const t = i.acknowledged_at ? i.resolve_due : i.response_due;
    const over = new Date(t) < new Date() && ["open", "acknowledged", "in_progress"].includes(i.state);
    return h("span", { class: over ? "overdue" : "" }, (i.acknowledged_at ? "resolve " : "respond ") + when(t));
  }

  async function incidentsPage() {
    const params = new URLSearchParams(location.search);
    const active = params.get("all") !== "1";
    const incidents = await api("/incidents" + (active ? "?active=true" : ""));
    view.replaceChildren(
      h("h1", {}, (active ? "Open incidents" : "All incidents") + " (" + incidents.length + ")"),
      h("div", { class: "filter" }, active ? link("?all=1", "show all") : link("?", "open only")),
      h("table", {}, h("thead", {}, h("tr", {}, ...["#", "Sev.", "State", "Device", "Summary", "Opened", "Due", "Assignee"].map((x) => h("th", {}, x)))),
        h("tbody", {}, ...incidents.map((i) => h("tr", {},
          h("td", {}, link("/ui/incidents/" + i.number, "#" + i.number)), h("td", {}, badge(i.severity)), h("td", {}, i.state),
          h("td", {}, link("/ui/devices/" + encodeURIComponent(i.device), i.device)), h("td", {}, i.summary),
          h("td", {}, when(i.opened_at)), h("td", {}, due(i)), h("td", {}, i.assignee || ""))))));
  }

  async function act(number, action, body) {
    try {
      await api("/incidents/" + number + "/" + action, { method: "POST", body: body ? JSON.stringify(body) : undefined });
      msg("#" + number + ": " + action + " done", true);
      await incidentPage(number);
    } catch (e) { msg(e.message); }
  }

  function actionForm(label, fields, onsubmit) {
    const inputs = fields.map(([name, placeholder]) => h("input", { name, placeholder, required: "" }));
    return h("form", { onsubmit: (e) => { e.preventDefault(); onsubmit(Object.fromEntries(inputs.map((i) => [i.name, i.value]))); } }, ...inputs, h("button", { type: "submit" }, label));
  }

  async function incidentPage(number) {
    const { incident: i, timeline } = await api("/incidents/" + number);
    const active = ["open", "acknowledged", "in_progress"].includes(i.state);
    const actions = h("div", { class: "actions" });
    if (i.state === "open") actions.append(h("button", { onclick: () => act(number, "ack") }, "Acknowledge"));
    if (active) {
      actions.append(actionForm("Assign", [["assignee", "person"]], (b) => act(number, "assign", b)));
      actions.append(actionForm("Resolve", [["cause", "cause"], ["action", "action taken"]], (b) => act(number, "resolve", b)));
    }
    if (i.state === "resolved") actions.append(h("button", { onclick: () => act(number, "close") }, "Close"));
    if (["resolved", "closed"].includes(i.state)) actions.append(actionForm("Reopen", [["reason", "why"]], (b) => act(number, "reopen", b)));
    actions.append(actionForm("Add note", [["text", "note"]], (b) => act(number, "note", b)));
    view.replaceChildren(
      h("h1", {}, badge(i.severity), " #" + i.number + " " + i.summary),
      actions,
      h("div", { class: "grid" },
        h("div", { class: "card" }, h("dl", {}, ...[
          ["State", i.state], ["Device", link("/ui/devices/" + encodeURIComponent(i.device), i.device)], ["Rule", i.rule], ["Tier", i.tier],
          ["Opened", when(i.opened_at)], ["Respond by", when(i.response_due) + (i.response_met === false ? " (missed)" : "")],
          ["Resolve by", when(i.resolve_due) + (i.resolve_met === false ? " (missed)" : "")], ["Assignee", i.assignee || "–"],
          ["Symptom", i.symptom || "–"], ["Readings", JSON.stringify(i.readings)], ["Runbook", i.runbook || "–"],
          ["Cause / action", [i.cause, i.action, i.result].filter(Boolean).join(" · ") || "–"]]
          .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]).flat())),
        h("div", { class: "card" }, h("h2", {}, "Timeline"), h("ol", { class: "timeline" }, ...timeline.map((e) =>
          h("li", {}, when(e.at), " ", h("b", {}, e.action), " by " + e.actor, Object.keys(e.data).length ? h("span", { class: "muted" }, " " + JSON.stringify(e.data)) : null))))));
  }

  // -- routing ------------------------------------------------------------------------------------------

  async function route() {
    msg("");
    const parts = location.pathname.replace(/^\/ui\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
    try {
      if (parts[0] === "devices" && parts[1]) await devicePage(parts[1]);
      else if (parts[0] === "incidents" && parts[1]) await incidentPage(Number(parts[1]));
      else if (parts[0] === "incidents") await incidentsPage();
      else await devicesPage();
    } catch (e) {
      msg(e.message);
    }
  }

  route();
})();
