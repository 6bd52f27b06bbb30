// steamopt advisory page: reads GET /api/status every few seconds; no external assets.
"use strict";
const $ = (id) => document.getElementById(id);
const num = (v, d = 2) => (v === null || v === undefined || Number.isNaN(v)) ? "-" :
  Number(v).toLocaleString("en-US", { minimumFractionDigits: d, maximumFractionDigits: d });
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
function rows(table, html) { document.querySelector(`#${table} tbody`).innerHTML = html.join(""); }

function showView() {
  const view = (location.hash || "#overview").slice(1);
  document.querySelectorAll(".view").forEach((s) => { s.hidden = s.id !== `view-${view}`; });
  document.querySelectorAll("nav a").forEach((a) => a.classList.toggle("active", a.dataset.view === view));
}

function render(s) {
  const cur = s.currency || "";
  $("site").textContent = s.site || "(engine not ready)";
  $("mode").textContent = s.mode; $("mode-badge").className = `badge mode-${s.mode}`;
  $("not-ready").hidden = s.ready; $("not-ready").textContent = s.ready ? "" : `Engine not ready: ${s.engine_error || "still being built"}`;
  const latest = s.latest, p = latest ? latest.proposal : null;
  $("status").textContent = p ? p.status : "no proposal yet";
  $("status-badge").className = "badge" + (p && !["optimal", "time_limited"].includes(p.status) ? " bad" : "");
  $("cycle").textContent = latest ? latest.cycle : "-"; $("timestamp").textContent = p ? p.timestamp : "-";
  $("refreshed").textContent = new Date().toLocaleTimeString();
  const sv = s.savings_so_far;
  $("savings-cost").textContent = `${num(sv.cost, 0)} ${cur}`;
  $("savings-detail").textContent = `${sv.proposals} proposal(s), ${num(sv.hours, 2)} h; CO2e ${num(sv.co2e_t, 2)} t; fuel ${num(sv.fuel_gj, 1)} GJ`;
  $("saving-now").textContent = p && p.savings && p.savings.cost_per_h !== undefined ? `${num(p.savings.cost_per_h, 0)} ${cur}/h` : "-";
  $("closed-loop-count").textContent = `${s.closed_loop_setpoints.length} setpoint(s)`;
  const w = latest ? Object.keys(latest.writable) : [];
  $("writable").textContent = s.mode !== "ON" ? `mode ${s.mode}: nothing is written` :
    (!latest ? "no proposal yet" : latest.mode !== "ON" ? `latest proposal made in mode ${latest.mode}: nothing to write` :
      (w.length ? `writable now: ${w.join(", ")}` : `nothing writable (status ${p.status})`));
  const ad = s.adherence;
  $("adherence").textContent = ad ? (ad.advised ? `${ad.followed} of ${ad.advised} followed` : "no move advised") : "-";
  $("adherence-detail").textContent = ad ? `advice of cycle ${ad.of_cycle}, judged on the next snapshot` : "judged from the second snapshot on";
  // KPIs
  const k = p ? Object.keys(p.proposed_kpis) : [];
  rows("kpis", k.map((name) => {
    const c = p.current_kpis[name], v = p.proposed_kpis[name];
    return `<tr data-kpi="${esc(name)}"><td>${esc(name)}</td><td>${num(c)}</td><td>${num(v)}</td><td>${c === undefined || c === null ? "-" : num(c - v)}</td></tr>`;
  }));
  const warns = p ? [...p.warnings, ...p.domain_warnings, ...p.substitutions.map((x) => `substituted ${x.tag}: ${x.reason} -> ${x.used}`)] : [];
  $("warnings").innerHTML = warns.length ? warns.map((x) => `<li>${esc(x)}</li>`).join("") : "<li class=\"small\">none</li>";
  // setpoints
  rows("setpoints", p ? Object.entries(p.setpoints).map(([tag, v]) => {
    const c = s.current[tag], raw = c === undefined ? null : v - c, move = raw !== null && Math.abs(raw) < 5e-4 ? 0 : raw;
    const cls = move === null || move === 0 ? "" : (move > 0 ? "up" : "down");
    const a = ad && ad.setpoints[tag];
    return `<tr data-setpoint="${esc(tag)}"><td>${esc(tag)}</td><td>${c === undefined ? "-" : num(c, 3)}</td>` +
      `<td class="proposed">${num(v, 3)}</td><td class="${cls}">${move === null ? "-" : num(move, 3)}</td>` +
      `<td>${s.closed_loop_setpoints.includes(tag) ? (s.mode === "ON" ? "enabled" : "enabled (not ON)") : ""}</td>` +
      `<td class="adherence">${a ? (a.followed ? "followed" : "not followed") : ""}</td></tr>`;
  }) : []);
  // binding limits
  rows("limits", p ? p.binding.map((b) => `<tr><td class="description">${esc(b.description || b.limit)}</td>` +
    `<td>${num(b.worth_per_unit_per_h, 1)} ${esc(b.currency || cur)}/h${b.unit ? " per " + esc(b.unit) : ""}</td><td class="small">${esc(b.limit)}</td></tr>`) : []);
  // plan
  const plan = s.plan;
  $("plan-none").hidden = !!plan; $("plan-body").hidden = !plan;
  if (plan) {
    const sch = plan.schedule;
    $("plan-status").textContent = sch.status; $("plan-made").textContent = plan.made;
    $("plan-cost").textContent = sch.costs && sch.costs.total !== undefined ? `${num(sch.costs.total, 0)} ${cur}` : "-";
    $("plan-advice").innerHTML = sch.advice.length ? sch.advice.map((a) => `<li>${esc(a)}</li>`).join("") : "<li class=\"small\">no starts or stops</li>";
    const units = Object.keys(sch.on);
    document.querySelector("#plan-on thead").innerHTML = `<tr><th>period</th>${units.map((u) => `<th>${esc(u)}</th>`).join("")}</tr>`;
    rows("plan-on", sch.times.map((t, i) => `<tr><td>${esc(t)}</td>${units.map((u) => `<td>${num(sch.on[u][i], 0)}</td>`).join("")}</tr>`));
  }
  // mode
  $("mode-detail").textContent = s.mode; $("mode-since").textContent = s.since; $("mode-meaning").textContent = s.modes[s.mode];
  $("mode-setpoints").textContent = s.closed_loop_setpoints.length ? s.closed_loop_setpoints.join(", ") : "none";
  rows("mode-history", s.mode_history.length ? s.mode_history.slice().reverse().map((r) => `<tr><td>${esc(r.time)}</td><td>${esc(r.from)}</td><td>${esc(r.to)}</td>` +
    `<td>${esc(r.closed_loop_setpoints.join(", ") || "none")}</td><td>${esc(r.reason || "")}</td></tr>`) :
    ["<tr><td colspan=\"5\" class=\"small\">no switch since the service started</td></tr>"]);
  // plant link
  const link = s.plant_link, last = link ? link.last : null;
  $("link-none").hidden = !!link; $("link").hidden = !link;
  if (link) {
    $("link-endpoint").textContent = link.endpoint;
    $("link-configured").textContent = link.configured_mode === "closed_loop" ?
      `closed loop allowed for ${link.write_allow_list.join(", ")}` : "advisory only (the adapter configuration allows no writes)";
    $("link-last").textContent = !last ? "no cycle yet" : last.cycle === undefined ? `${last.status}: ${last.error}` :
      `cycle ${last.cycle} at ${last.time_utc}, mode ${last.mode}, ${last.connected ? "connected" : "not connected"}, status ${last.status}` +
      (last.error ? `; ${last.error}` : "");
    const wr = last && last.written ? Object.entries(last.written) : [], rf = last && last.refused ? Object.entries(last.refused) : [];
    $("link-written").textContent = wr.length ? wr.map(([k, v]) => `${k} = ${num(v, 3)}`).join(", ") : "nothing";
    $("link-refused").textContent = rf.length ? rf.map(([k, v]) => `${k}: ${v}`).join("; ") : "nothing";
  }
  document.body.dataset.loaded = "1";
}

async function refresh() {
  try {
    const r = await fetch("/api/status", { cache: "no-store" });
    render(await r.json());
  } catch (e) {
    $("status").textContent = `service unreachable (${e})`;
  }
}
window.addEventListener("hashchange", showView);
showView(); refresh(); setInterval(refresh, 5000);
