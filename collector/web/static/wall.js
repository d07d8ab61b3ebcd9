// NOC wall: draws the snapshot it gets on every (re)connect, then applies update diffs.
// One element per device tile, nothing else per device, so 2,000 devices stay light.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const site = params.get("site") || "";
  const department = params.get("department") || "";
  const token = params.get("token") || "";
  const MAX_INCIDENTS = 80;
  if (params.get("kiosk") === "1") document.body.classList.add("kiosk");

  const $ = (id) => document.getElementById(id);
  const tilesEl = $("tiles");
  const tiles = new Map(); // device id -> element
  let offsetMs = 0; // server clock - local clock
  let incidents = [];
  let source = null;
  let retryTimer = null;

  $("f-site").value = site;
  $("f-department").value = department;
  $("scope").textContent = [site && "site " + site, department && "dept. " + department].filter(Boolean).join(" · ");

  function query() {
    const q = new URLSearchParams();
    if (site) q.set("site", site);
    if (department) q.set("department", department);
    if (token) q.set("token", token);
    const s = q.toString();
    return s ? "?" + s : "";
  }

  function setTile(el, t) {
    el.className = "t s-" + t.status;
    el.dataset.status = t.status;
    el.textContent = t.name;
    el.title = t.name + (t.site ? " (" + t.site + ")" : "") + (t.info ? "\n" + t.info : "");
  }

  function newTile(t) {
    const el = document.createElement("div");
    el.dataset.id = t.id;
    setTile(el, t);
    tiles.set(t.id, el);
    return el;
  }

  function sizeTiles() {
    // The largest tile (about 2:1) that fits every device on the screen without scrolling.
    const n = Math.max(1, tiles.size);
    const wrap = tilesEl.parentElement;
    const w = wrap.clientWidth - 12, h = wrap.clientHeight - 12, gap = 3;
    let size = 180;
    while (size > 8) {
      const cols = Math.max(1, Math.floor((w + gap) / (size + gap)));
      const rows = Math.ceil(n / cols);
      const dense = size < 64;
      const height = dense ? Math.round(size * 0.6) : 38;
      if (rows * (height + gap) <= h) break;
      size -= size > 40 ? 4 : 1;
    }
    document.documentElement.style.setProperty("--tile", size + "px");
    tilesEl.classList.toggle("dense", size < 64);
  }
  // Header wrapping, window size or kiosk zoom change the room left for tiles.
  new ResizeObserver(() => sizeTiles()).observe(tilesEl.parentElement);

  function drawSnapshot(msg) {
    tiles.clear();
    const frag = document.createDocumentFragment();
    for (const t of msg.tiles) frag.appendChild(newTile(t));
    tilesEl.replaceChildren(frag);
    drawLists(msg);
    sizeTiles(); // after the header is filled in: its height decides the space left
  }

  function applyUpdate(msg) {
    for (const id of msg.remove) {
      const el = tiles.get(id);
      if (el) { el.remove(); tiles.delete(id); }
    }
    let added = false;
    for (const t of msg.upsert) {
      const el = tiles.get(t.id);
      if (el) setTile(el, t);
      else { insertSorted(newTile(t), t.id); added = true; }
    }
    drawLists(msg);
    if (added || msg.remove.length) sizeTiles();
  }

  function insertSorted(el, id) {
    // Tiles keep the server's order (device id), so a person learns where a device sits.
    for (const [other, otherEl] of tiles) {
      if (other > id && otherEl !== el && otherEl.parentNode) { tilesEl.insertBefore(el, otherEl); return; }
    }
    tilesEl.appendChild(el);
  }

  function drawLists(msg) {
    offsetMs = msg.now * 1000 - Date.now();
    const h = msg.header;
    for (const s of ["P1", "P2", "P3", "P4"]) $("c-" + s).textContent = h.by_severity[s] || 0;
    for (const k of ["breached", "unreachable", "maintenance", "devices"]) $("c-" + k).textContent = h[k];
    $("c-availability").textContent = h.availability == null ? "–" : (h.availability * 100).toFixed(1) + " %";
    incidents = msg.incidents;
    drawIncidents();
    drawSupplies(msg.supplies, msg.supplies_more);
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text != null) e.textContent = text;
    return e;
  }

  function drawIncidents() {
    const list = $("incidents");
    const frag = document.createDocumentFragment();
    for (const i of incidents.slice(0, MAX_INCIDENTS)) {
      const li = el("li", "inc sev-" + i.sev);
      li.dataset.no = i.no;
      li.dataset.due = i.due;
      li.dataset.breached = i.breached ? "1" : "";
      li.appendChild(el("span", "sev", i.sev));
      li.appendChild(el("span", "cd", ""));
      li.appendChild(el("span", "what", i.name + " — " + i.summary));
      const who = i.assignee ? " · " + i.assignee : "";
      li.appendChild(el("span", "sub", "#" + i.no + " " + i.state + who + " · " + (i.due_kind === "respond" ? "respond" : "resolve") + " by " + new Date(i.due * 1000).toLocaleString()));
      frag.appendChild(li);
    }
    if (!incidents.length) frag.appendChild(el("li", "empty-note", "No open incidents."));
    list.replaceChildren(frag);
    $("inc-more").textContent = incidents.length > MAX_INCIDENTS ? "+" + (incidents.length - MAX_INCIDENTS) + " more" : "";
    tickCountdowns();
  }

  function fmtLeft(sec) {
    const a = Math.abs(sec);
    const d = Math.floor(a / 86400), hh = Math.floor((a % 86400) / 3600), mm = Math.floor((a % 3600) / 60), ss = Math.floor(a % 60);
    const two = (x) => String(x).padStart(2, "0");
    const body = d > 0 ? d + "d " + two(hh) + "h" : two(hh) + ":" + two(mm) + ":" + two(ss);
    return sec < 0 ? "+" + body : body;
  }

  function tickCountdowns() {
    const now = (Date.now() + offsetMs) / 1000;
    for (const li of $("incidents").children) {
      if (!li.dataset.due) continue;
      const left = Number(li.dataset.due) - now;
      const breached = left < 0 || li.dataset.breached === "1";
      li.classList.toggle("breached", breached);
      li.querySelector(".cd").textContent = fmtLeft(left);
    }
    const d = new Date(Date.now() + offsetMs);
    $("clock").textContent = d.toLocaleTimeString();
  }

  function drawSupplies(supplies, more) {
    const frag = document.createDocumentFragment();
    for (const s of supplies) {
      const li = el("li", "sup");
      li.appendChild(el("span", "what", s.name + " — " + s.label));
      const bar = el("span", "bar");
      const fill = el("i");
      const left = s.percent == null ? null : s.receptacle ? 100 - s.percent : s.percent;
      fill.style.width = (left == null ? 0 : Math.max(2, left)) + "%";
      bar.title = left == null ? s.state : (s.receptacle ? "fill " + s.percent + "%" : s.percent + "% left");
      bar.appendChild(fill);
      li.appendChild(bar);
      const days = s.days != null ? (s.days < 1 ? "<1 d" : Math.round(s.days) + " d") : (s.percent != null ? Math.round(s.receptacle ? s.percent : s.percent) + "%" : s.state.replace("_", " "));
      li.appendChild(el("span", "days", days));
      frag.appendChild(li);
    }
    if (!supplies.length) frag.appendChild(el("li", "empty-note", "No supply running out."));
    $("supplies").replaceChildren(frag);
    $("sup-more").textContent = more ? "+" + more + " more" : "";
  }

  function setConn(up, text) {
    const c = $("conn");
    c.className = "conn " + (up ? "up" : "down");
    c.textContent = text;
  }

  function showProblem(text) {
    const p = $("problem");
    p.hidden = !text;
    p.textContent = text || "";
  }

  function connect() {
    clearTimeout(retryTimer);
    if (source) source.close();
    setConn(false, "connecting…");
    source = new EventSource("/api/v1/wall/stream" + query());
    source.addEventListener("open", () => { setConn(true, "live"); showProblem(""); });
    source.addEventListener("snapshot", (e) => { drawSnapshot(JSON.parse(e.data)); setConn(true, "live"); });
    source.addEventListener("update", (e) => applyUpdate(JSON.parse(e.data)));
    source.addEventListener("error", () => {
      setConn(false, "reconnecting…");
      // EventSource retries by itself after network errors, but gives up after an HTTP error status:
      // find out why, then start over (a restarting collector answers again soon).
      if (source.readyState === EventSource.CLOSED) {
        fetch("/api/v1/wall/state" + query(), { cache: "no-store" }).then((r) => {
          if (r.status === 401 || r.status === 403) showProblem("This wall needs a viewer token: open /wall?token=… (or set http.anonymous_wall).");
        }).catch(() => {}).finally(() => { retryTimer = setTimeout(connect, 3000); });
      }
    });
  }

  $("controls").addEventListener("submit", (e) => {
    e.preventDefault();
    const q = new URLSearchParams(location.search);
    for (const k of ["site", "department"]) {
      const v = $("f-" + k).value.trim();
      if (v) q.set(k, v); else q.delete(k);
    }
    location.search = q.toString();
  });

  setInterval(tickCountdowns, 1000);
  connect();
})();
