// Agent availability dashboard: renders the snapshots of /dashboard/events (server-sent events).
// Every number comes from the snapshot, which holds the query API's own answers; nothing is
// recomputed here except time in state (tenant event clock - agent's since) and chart scaling.
"use strict";
(() => {
  const STATES = ["AVAILABLE", "BUSY", "WRAP_UP", "AWAY", "UNKNOWN"];
  const STALE_AFTER_MS = 5000;
  const MAX_ALERTS = 60;
  const params = new URLSearchParams(location.search);
  const state = {
    tenant: params.get("tenant") || "",
    window: params.get("window") === "1h" ? "1h" : "15m",
    source: null,
    lastReceived: 0,
    snapshot: null,
  };
  const $ = (id) => document.getElementById(id);

  // --- tiny DOM helpers (text only: vendor strings are never parsed as HTML) ---
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.className = value;
      else if (name === "text") el.textContent = value;
      else el.setAttribute(name, String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }
  const SVG = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) el.setAttribute(name, String(value));
    for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    return el;
  }

  const cmp = (a, b) => (a < b ? -1 : a > b ? 1 : 0); // code-point order, as the server sorts

  // --- formatting ---
  const pct = (value) => `${value.toFixed(1)}%`;
  const ratio = (value) => `${(100 * value).toFixed(0)}%`;
  const clock = (iso) => (iso ? iso.slice(11, 19) : "—");
  function duration(ms) {
    const total = Math.max(0, Math.floor(ms / 1000));
    const d = Math.floor(total / 86400), hr = Math.floor((total % 86400) / 3600);
    const m = Math.floor((total % 3600) / 60), sec = total % 60;
    if (d) return `${d}d ${hr}h`;
    if (hr) return `${hr}h ${String(m).padStart(2, "0")}m`;
    return `${m}m ${String(sec).padStart(2, "0")}s`;
  }
  function groupLabel(g) {
    const vendor = g.vendor === "*" ? "all vendors" : g.vendor;
    if (g.group_type === "tenant") return [vendor, "whole tenant"];
    return [vendor, `${g.group_type} ${g.group_id}`];
  }
  const healthChip = (health) => h("span", { class: `chip health-${health}`, text: health.replace("_", " ") });

  // --- sections ---
  function tenantsOf(groups) {
    return [...new Set(groups.map((g) => g.tenant))].sort();
  }
  function visibleGroups(snap) {
    return snap.groups.filter((g) => !state.tenant || g.tenant === state.tenant);
  }
  function headlineGroup(groups, tenant) {
    const whole = groups.filter((g) => g.tenant === tenant && g.group_type === "tenant");
    return whole.find((g) => g.vendor === "*") || whole[0] || null;
  }
  function tenantClocks(snap) {
    // newest event time the processors have seen per tenant: "now" for time in state (event time,
    // so it stays right when the source's clock runs faster or slower than this browser's)
    const clocks = {};
    for (const g of snap.groups) {
      const t = Date.parse(g.event_clock || "");
      if (!Number.isNaN(t)) clocks[g.tenant] = Math.max(clocks[g.tenant] || 0, t);
    }
    for (const a of snap.agents) {
      const t = Date.parse(a.since || "");
      if (!Number.isNaN(t)) clocks[a.tenant] = Math.max(clocks[a.tenant] || 0, t);
    }
    return clocks;
  }

  function renderTenantSelect(snap) {
    const select = $("tenant");
    const tenants = tenantsOf(snap.groups);
    const wanted = ["", ...tenants].join("|");
    if (select.dataset.options !== wanted) {
      select.replaceChildren(h("option", { value: "", text: "all tenants" }),
        ...tenants.map((t) => h("option", { value: t, text: t })));
      select.dataset.options = wanted;
    }
    select.value = state.tenant;
  }

  function renderTenants(snap) {
    const cards = [];
    for (const tenant of tenantsOf(visibleGroups(snap))) {
      const g = headlineGroup(snap.groups, tenant);
      if (!g) continue;
      const c = g.counts;
      cards.push(h("div", {
        class: "tenant", style: `border-left-color: var(--${g.health})`, "data-tenant": tenant,
        "data-group": g.group, "data-available": c.available, "data-logged-in": c.logged_in, "data-health": g.health,
      },
      h("div", { class: "name" }, h("span", { text: tenant }), healthChip(g.health)),
      h("div", { class: "headline" },
        h("span", { class: "big" }, h("span", { "data-field": "available", text: c.available }), " / ",
          h("span", { "data-field": "logged_in", text: c.logged_in }), h("span", { class: "of", text: " avail. / logged in" })),
        h("span", { class: "percent", style: `color: var(--${g.health === "MONITOR" ? "ink" : g.health})`,
          "data-field": "percent_available", text: pct(g.percent_available) })),
      h("div", { class: "line" }, "util. ", h("b", { "data-field": "utilization", text: ratio(g.utilization) }),
        " · busy ", h("b", { text: c.busy }), " · wrap-up ", h("b", { text: c.wrap_up }), " · away ", h("b", { text: c.away }),
        c.unknown ? [" · unknown ", h("b", { text: c.unknown })] : null)));
    }
    $("tenants").replaceChildren(...cards);
  }

  function renderGroups(snap) {
    const rows = [];
    let tenant = null;
    for (const g of visibleGroups(snap)) {
      if (g.tenant !== tenant) {
        tenant = g.tenant;
        rows.push(h("tr", { class: "tenant-row" }, h("td", { colspan: 6, text: tenant })));
      }
      const [vendor, what] = groupLabel(g);
      const c = g.counts;
      rows.push(h("tr", {
        "data-group": g.group, "data-available": c.available, "data-logged-in": c.logged_in,
        "data-percent": g.percent_available, "data-utilization": g.utilization, "data-health": g.health,
        title: `${g.group}\nupdated ${g.updated_at || "—"} · event clock ${g.event_clock || "—"}`,
      },
      h("td", { class: "label" }, what, " ", h("span", { class: "type", text: vendor })),
      h("td", { class: "num", "data-field": "available", text: c.available }),
      h("td", { class: "num", "data-field": "logged_in", text: c.logged_in }),
      h("td", {}, h("div", { class: "pct" },
        h("span", { class: "bar" }, h("span", { class: `bg-${g.health}`, style: `width:${Math.min(100, g.percent_available)}%` })),
        h("span", { class: "value", "data-field": "percent_available", text: pct(g.percent_available) }))),
      h("td", { class: "num", "data-field": "utilization", text: ratio(g.utilization) }),
      h("td", { "data-field": "health" }, healthChip(g.health))));
    }
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 6, class: "empty", text: "no groups yet" })));
    $("groups").replaceChildren(...rows);
  }

  function renderObserved(snap) {
    const rows = [];
    for (const g of visibleGroups(snap)) {
      const o = g.observed;
      if (!o) continue;
      const [vendor, what] = groupLabel(g);
      const signed = (n) => (n > 0 ? `+${n}` : String(n));
      rows.push(h("tr", {
        class: o.matches ? "match" : "mismatch", "data-observed-group": g.group,
        "data-observed-available": o.available, "data-observed-logged-in": o.logged_in,
        "data-diff-available": o.difference.available, "data-diff-logged-in": o.difference.logged_in,
      },
      h("td", { class: "label", title: `${g.group} (${vendor})`, text: `${g.tenant} · ${what}` }),
      h("td", { class: "num", text: `${g.counts.available} / ${g.counts.logged_in}` }),
      h("td", { class: "num", text: `${o.available} / ${o.logged_in}` }),
      h("td", { class: "num diff", "data-field": "diff_available", text: signed(o.difference.available) }),
      h("td", { class: "num diff", "data-field": "diff_logged_in", text: signed(o.difference.logged_in) }),
      h("td", { text: `${clock(o.observed_at)} ${o.matches ? "✓ same" : "✗ differs"}` })));
    }
    if (!rows.length) rows.push(h("tr", {}, h("td", { colspan: 6, class: "empty", text: "no vendor snapshots for these groups" })));
    $("observed").replaceChildren(...rows);
  }

  function renderAgents(snap) {
    const clocks = tenantClocks(snap);
    const byTenant = new Map();
    for (const a of snap.agents) {
      if (state.tenant && a.tenant !== state.tenant) continue;
      if (!byTenant.has(a.tenant)) byTenant.set(a.tenant, []);
      byTenant.get(a.tenant).push(a);
    }
    const blocks = [];
    let loggedIn = 0, total = 0;
    for (const [tenant, agents] of [...byTenant.entries()].sort(([a], [b]) => cmp(a, b))) {
      const tiles = agents.map((a) => {
        total += 1;
        if (a.state !== "OFFLINE") loggedIn += 1;
        const inState = duration((clocks[tenant] || 0) - Date.parse(a.since));
        return h("div", {
          class: `agent state-${a.state}`, "data-agent": a.agent, "data-state": a.state, "data-since": a.since,
          title: `${a.agent}\n${a.state}${a.reason ? ` (${a.reason})` : ""} since ${a.since}\ngroups: ${a.groups.join(", ")}`,
        },
        h("div", { class: "row1" }, h("span", { class: "id", text: a.agent_id }), h("span", { class: "in-state", text: inState })),
        h("div", { class: "what", text: a.state.replace("_", " ") + (a.reason ? ` · ${a.reason}` : "") }));
      });
      blocks.push(h("div", { class: "agent-tenant" }, h("h3", { text: tenant }), h("div", { class: "agent-tiles" }, tiles)));
    }
    if (!blocks.length) blocks.push(h("div", { class: "empty", text: "no agents yet" }));
    $("agents").replaceChildren(...blocks);
    $("agent-count").textContent = `${loggedIn} of ${total} logged in`;
  }

  function renderChart(key, body) {
    const windows = body.windows || [];
    const W = 320, H = 132, left = 24, right = 4, top = 6, bottom = 16;
    const plotW = W - left - right, plotH = H - top - bottom;
    const averages = windows.map((w) => {
      const covered = Math.max(1, w.covered_seconds);
      return STATES.map((st) => (w.seconds_in_state[st] || 0) / covered);
    });
    const peak = Math.max(1, ...averages.map((a) => a.reduce((x, y) => x + y, 0)));
    const scale = Math.ceil(peak);
    const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": `time in state, ${key}` });
    for (const tick of [0, scale / 2, scale]) {
      const y = top + plotH - (tick / scale) * plotH;
      svg.append(s("line", { x1: left, x2: W - right, y1: y, y2: y, stroke: "#e3e7ee" }));
      svg.append(s("text", { x: left - 3, y: y + 3, "text-anchor": "end" }, Number.isInteger(tick) ? tick : tick.toFixed(1)));
    }
    const slot = plotW / Math.max(windows.length, 1);
    const barW = Math.max(4, Math.min(22, slot * 0.72));
    windows.forEach((w, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      let y = top + plotH;
      const g = s("g", {
        class: w.complete ? "complete" : "incomplete", "data-window-start": w.start,
        "data-available-seconds": w.seconds_in_state.AVAILABLE || 0,
      });
      STATES.forEach((st, k) => {
        const hgt = (averages[i][k] / scale) * plotH;
        if (hgt <= 0) return;
        y -= hgt;
        g.append(s("rect", { x, y, width: barW, height: hgt, fill: `var(--${st})` },
          s("title", {}, `${w.start.slice(11, 16)}–${w.end.slice(11, 16)} ${st}: ${averages[i][k].toFixed(2)} agents avg`)));
      });
      svg.append(g);
      if (i % Math.ceil(windows.length / 6) === 0 || i === windows.length - 1) {
        svg.append(s("text", { x: x + barW / 2, y: H - 4, "text-anchor": "middle" }, w.start.slice(11, 16)));
      }
    });
    if (!windows.length) svg.append(s("text", { x: W / 2, y: H / 2, "text-anchor": "middle" }, "no windows yet"));
    const latest = windows[windows.length - 1];
    const caption = latest ? `longest unavailable ${duration(1000 * latest.longest_unavailable_seconds)} · util. ${ratio(latest.utilization)}` : "";
    const [tenant, vendor] = key.split(":");
    return h("figure", { class: "chart", "data-chart-group": key, "data-windows": windows.length },
      h("figcaption", {}, h("span", { text: `${tenant}${vendor === "*" ? "" : ` · ${vendor}`}` }), h("span", { class: "muted", text: caption })),
      svg);
  }

  function renderCharts(snap) {
    const figures = Object.entries(snap.windows)
      .filter(([key]) => !state.tenant || key.startsWith(`${state.tenant}:`))
      .sort(([a], [b]) => cmp(a, b))
      .map(([key, body]) => renderChart(key, body));
    $("charts").replaceChildren(...(figures.length ? figures : [h("div", { class: "empty", text: "no windows yet" })]));
    const name = snap.window === "1h" ? "1-hour windows every 5 min" : "15-minute windows";
    $("chart-caption").textContent = `average agents per state, ${name} (event time, UTC); faded: window still open`;
  }

  function renderAlerts(snap) {
    // newest first by event time (the API lists them by group and sequence)
    const alerts = snap.alerts.filter((a) => !state.tenant || a.group.startsWith(`${state.tenant}:`))
      .sort((a, b) => cmp(b.occurred_at, a.occurred_at) || cmp(a.group, b.group) || b.sequence - a.sequence);
    const items = alerts.slice(0, MAX_ALERTS).map((a) => {
      const parts = a.group.split(":");
      const where = `${parts[0]} · ${parts[1] === "*" ? "all vendors" : parts[1]} · ${parts[2] === "tenant" ? "whole tenant" : `${parts[2]} ${parts.slice(3).join(":")}`}`;
      return h("li", { "data-alert-id": a.alert_id, "data-to": a.to_status, title: `${a.group} #${a.sequence}\n${a.occurred_at}` },
        h("span", { class: "when", text: clock(a.occurred_at) }),
        h("span", { class: "where", text: where }),
        h("span", {}, healthChip(a.from_status), h("span", { class: "arrow", text: "→" }), healthChip(a.to_status),
          ` ${a.counts.available}/${a.counts.logged_in}`));
    });
    $("alerts").replaceChildren(...(items.length ? items : [h("li", { class: "empty", text: "no alerts" })]));
  }

  function render(snap) {
    state.snapshot = snap;
    renderTenantSelect(snap);
    renderTenants(snap);
    renderGroups(snap);
    renderObserved(snap);
    renderAgents(snap);
    renderCharts(snap);
    renderAlerts(snap);
    const t = snap.thresholds;
    const legend = { HEALTHY: `> ${t.healthy_above_pct}%`, MONITOR: `≥ ${t.monitor_from_pct}%`,
      WARNING: `≥ ${t.warning_from_pct}%`, CRITICAL: "> 0%", UNAVAILABLE: "0" };
    for (const chip of document.querySelectorAll("[data-legend]")) {
      chip.textContent = `${chip.dataset.legend} ${legend[chip.dataset.legend]}`;
    }
    const newest = Math.max(0, ...snap.groups.map((g) => Date.parse(g.event_clock || "") || 0));
    $("event-clock").textContent = newest ? `${new Date(newest).toISOString().slice(11, 19)} UTC` : "—";
    const banner = $("banner");
    banner.hidden = !snap.incomplete.length;
    banner.textContent = snap.incomplete.length ? `Incomplete: no answer from worker(s) ${snap.incomplete.join(", ")}` : "";
    const last = $("last-update");
    last.textContent = `${clock(snap.generated_at)} UTC`;
    last.dataset.seq = snap.seq;
    last.dataset.generatedAt = snap.generated_at;
    document.body.dataset.seq = snap.seq;
  }

  // --- freshness ---
  function setStatus(status, text) {
    document.body.dataset.status = status;
    $("status-text").textContent = text;
  }
  function tick() {
    if (!state.lastReceived) return;
    const age = Date.now() - state.lastReceived;
    $("age").textContent = `(${Math.floor(age / 1000)} s ago)`;
    if (age > STALE_AFTER_MS) setStatus("stale", "STALE — no update for over 5 s");
  }

  // --- live feed ---
  function connect() {
    if (state.source) state.source.close();
    const query = new URLSearchParams({ window: state.window });
    if (state.tenant) query.set("tenant", state.tenant);
    const source = new EventSource(`dashboard/events?${query}`);
    state.source = source;
    source.addEventListener("snapshot", (event) => {
      if (source !== state.source) return;
      render(JSON.parse(event.data));
      state.lastReceived = Date.now();
      setStatus("live", "live");
      tick();
    });
    source.addEventListener("failure", (event) => {
      const banner = $("banner");
      banner.hidden = false;
      banner.textContent = `The query API did not answer: ${JSON.parse(event.data).error}`;
    });
    source.onerror = () => {
      if (source !== state.source) return;
      if (document.body.dataset.status !== "stale") setStatus("connecting", "reconnecting…");
      if (source.readyState === EventSource.CLOSED) setTimeout(() => { if (source === state.source) connect(); }, 2000);
    };
  }
  function syncUrl() {
    const query = new URLSearchParams();
    if (state.tenant) query.set("tenant", state.tenant);
    if (state.window !== "15m") query.set("window", state.window);
    history.replaceState(null, "", `${location.pathname}${query.size ? `?${query}` : ""}`);
    for (const b of document.querySelectorAll("button[data-window]")) b.classList.toggle("active", b.dataset.window === state.window);
  }

  $("tenant").addEventListener("change", (event) => {
    state.tenant = event.target.value;
    syncUrl();
    if (state.snapshot) render(state.snapshot);
    connect();
  });
  for (const button of document.querySelectorAll("button[data-window]")) {
    button.addEventListener("click", () => {
      state.window = button.dataset.window;
      syncUrl();
      connect();
    });
  }
  syncUrl();
  connect();
  setInterval(tick, 500);
})();
