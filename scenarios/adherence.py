"""Adherence report: where operators followed or ignored the advice, and what that cost.

Input: a historian replay (:func:`scenarios.historian_replay.replay_historian`): the proposal
made at each row ``t`` and, in row ``t+1``, what the operators actually ran next.

**Followed or ignored** (per setpoint, per step). The setpoints are those operators choose
(:func:`decision_setpoints`): boiler steam and fuel shares, GT power and duct firing, generator
power, turbine extractions, drive motor/turbine, flexible consumers' draw. With ``x_t`` the value
at row t, ``p_t`` the proposal and ``x_t+1`` the next row, ``move = p_t - x_t`` and each
setpoint's deadband ``db`` (:class:`AdherenceRules`; a share of the unit's maximum, at least an
absolute floor: it covers sensor noise and the pressure master's trim of the boilers):

* a move was advised when ``|move| > db``;
* the advice was followed when ``|x_t+1 - p_t| <= max(db, (1 - min_progress) |move|)``: the
  operators ended within the deadband of the proposal, or moved at least ``min_progress`` (half)
  of the way; otherwise ignored;
* progress ``f = 1`` when ``|x_t+1 - p_t| <= db``, else the share of the proposed move made,
  ``clip((x_t+1 - x_t) move / move^2, 0, 1)``.

A unit followed the advice at t when every advised setpoint of it was followed; its progress is
the mean of its advised setpoints' progress weighted by ``|move| / db``.

**The saving and its gap** (currency/h, per step; model figures at the conditions of row t, so
changes of demand, ambient or tariff between rows do not enter). The proposed saving is the
supervisor's ``S_t = max(0, C_cur,t - C_prop,t)``. What each unit's part of it is worth is
costed with the supervisor itself: ``W_u,t = C_prop,t(u held where it was) - C_prop,t`` (the
optimum with unit u not allowed to move, every other unit re-optimised within its move limits;
a separate Supervisor, the same configuration), clipped at 0. The saving is apportioned to the
units in proportion, and each unit's part captured by its progress:

    captured_u,t = S_t * W_u,t / sum_v W_v,t * f_u,t      gap_u,t = S_t * W_u,t / sum_v W_v,t * (1 - f_u,t)

so per-unit captured and gap add up to the step's saving exactly (to rounding): ``sum_u
(captured_u + gap_u) = S_t``. A unit not advised to move has ``W = 0``. Units the supervisor
cannot hold through a snapshot (turbines' extraction flows, flexible consumers) are not costed
separately; when no unit's ``W`` is positive (a saving from moves inside the deadbands), the
step's saving goes to ``(unattributed)`` with the mean progress of its setpoints. Period totals
integrate with the historian's step. CO2e captured: the step's CO2e saving times its captured
share ``captured_t / S_t``.

**Per constraint**: each limit the proposals found binding (``Proposal.binding``: the dual value,
what one more unit of the limit is worth per hour), the steps it was binding, its worth over the
period (currency per unit of limit), and the gap of the steps where it was binding (of all units,
and of the limit's own unit). Duals are marginal values: these columns are not a decomposition of
the gap (a step's gap appears under every limit binding in it); the per-unit table is.

The model also predicts the cost of what the operators ran at t+1 (the supervisor's current-point
KPIs of row t+1); ``realised_change_per_h = C_cur,t - C_cur,t+1`` is reported for reference but it
mixes in the change of conditions between the rows.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from optimizer import tags
from optimizer.site.model import Site
from optimizer.snapshot import tag_rules
from optimizer.supervisor import Supervisor
from scenarios.historian_replay import ReplayResult, prepare_historian
from surrogate.atomic import atomic_output, atomic_write_text

log = logging.getLogger(__name__)

UNATTRIBUTED = "(unattributed)"


@dataclass
class AdherenceRules:
    """How close to the proposal counts as followed (see the module docstring)."""

    min_progress: float = 0.5               # -, share of the proposed move that counts as following
    steam_deadband_fraction: float = 0.03   # -, of the unit's maximum flow
    steam_deadband_tph: float = 2.0         # t/h, floor
    power_deadband_fraction: float = 0.02   # -, of the unit's maximum power
    power_deadband_mw: float = 0.5          # MW, floor
    share_deadband: float = 0.05            # -, fuel shares
    attribute: bool = True                  # cost each unit's part with held-unit solves

    def __post_init__(self) -> None:
        if not 0.0 < self.min_progress <= 1.0:
            raise ValueError(f"min_progress = {self.min_progress}: must be in (0, 1]")
        for f in ("steam_deadband_fraction", "steam_deadband_tph", "power_deadband_fraction", "power_deadband_mw", "share_deadband"):
            v = getattr(self, f)
            if not (math.isfinite(v) and v >= 0.0):
                raise ValueError(f"{f} = {v}: must be a finite number >= 0")


@dataclass(frozen=True)
class DecisionTag:
    """A setpoint operators choose: its tag, unit, kind and deadband (in the tag's unit)."""

    tag: str
    unit: str
    kind: str
    deadband: float


@dataclass
class AdherenceReport:
    """Per step, per setpoint and step, per unit, per constraint; totals; the step length, h."""

    steps: pd.DataFrame
    setpoints: pd.DataFrame
    units: pd.DataFrame
    constraints: pd.DataFrame
    totals: dict[str, float]
    step_hours: float
    currency: str = "THB"
    rules: AdherenceRules = field(default_factory=AdherenceRules)


def decision_setpoints(site: Site, rules: AdherenceRules | None = None) -> list[DecisionTag]:
    """The setpoints operators choose (what :func:`scenarios.plant.apply.setpoints_from_proposal`
    applies), each with its deadband."""
    r = rules or AdherenceRules()
    steam = lambda mx: max(r.steam_deadband_tph, r.steam_deadband_fraction * mx)  # noqa: E731
    power = lambda mx: max(r.power_deadband_mw, r.power_deadband_fraction * mx)  # noqa: E731
    out: list[DecisionTag] = []
    for b, bo in site.boilers.items():
        out.append(DecisionTag(tags.boiler_steam(b), b, "boiler steam", steam(bo.max_steam_tph)))
        if len(bo.fuels) > 1:
            out += [DecisionTag(f"{b}.fuel_{f}_share", b, "fuel share", r.share_deadband) for f in bo.fuels]
    for g, gt in site.gas_turbines.items():
        out.append(DecisionTag(tags.gt_power(g), g, "GT power", power(gt.iso_power_mw)))
        if gt.hrsg is not None and gt.hrsg.duct_max_steam_tph > 0:
            out.append(DecisionTag(tags.duct_steam(g), g, "duct firing", steam(gt.hrsg.duct_max_steam_tph)))
    for t, tur in site.turbines.items():
        if tur.drive == "generator":
            out.append(DecisionTag(tags.turbine_power(t), t, "generator power", power(tur.max_power_mw)))
        for k in range(len(tur.sections) - 1):
            out.append(DecisionTag(tags.extraction(t, k), t, "extraction", steam(tur.sections[k].max_flow_tph)))
        if tur.motor is not None:
            out.append(DecisionTag(tags.on_motor(t), t, "drive on motor", 0.5))
    for c, con in site.consumers.items():
        if con.flexible:
            out.append(DecisionTag(tags.steam(c), c, "flexible draw", steam(con.max_tph)))
    return out


def _historian_values(site: Site, frame: pd.DataFrame, decisions: list[DecisionTag]) -> pd.DataFrame:
    """What the operators ran: each decision tag's value per row (fuel shares from the fuel tags)."""
    out = {}
    for d in decisions:
        if d.kind == "fuel share":
            b = d.unit
            cols = [f"{b}.fuel_{f}_gj_h" for f in site.boilers[b].fuels]
            if all(c in frame for c in cols):
                total = sum(pd.to_numeric(frame[c], errors="coerce") for c in cols)
                share = pd.to_numeric(frame[d.tag.replace("_share", "_gj_h")], errors="coerce") / total
                # an off boiler burns nothing: its share is not defined
                out[d.tag] = share.where(total > 0)
            else:
                out[d.tag] = pd.Series(np.nan, index=frame.index)
        else:
            out[d.tag] = pd.to_numeric(frame[d.tag], errors="coerce") if d.tag in frame else pd.Series(np.nan, index=frame.index)
    return pd.DataFrame(out, index=frame.index)


def _holdable_units(site: Site) -> dict[str, list[str]]:
    """Units the supervisor holds where they are when their own tags are unreadable: unit -> tags."""
    units: dict[str, list[str]] = {}
    for tag, rule in tag_rules(site).items():
        if rule.unit is not None and rule.required:
            units.setdefault(rule.unit, []).append(tag)
    # a machine drive is held only through its motor switch; its extraction is never held
    return {u: ts for u, ts in units.items() if any(t.endswith(("_steam_tph", ".steam_tph", ".power_mw", ".on_motor")) for t in ts)
            and not (u in site.turbines and site.turbines[u].drive == "machine" and site.turbines[u].motor is None)}


class _HeldEvaluator:
    """The optimum of one row with one unit held where it was: a separate Supervisor (same
    configuration, no audit log, no duals) whose last good values are the rows' readings."""

    def __init__(self, site: Site, models, replay: ReplayResult):
        cfg = dataclasses.replace(replay.config, audit_log=None, stale_after_s=None, clock=None, duals=False)
        self.sup = Supervisor(site, models, cfg)
        self.rules = tag_rules(site)
        self.unit_tags = _holdable_units(site)

    def cost_with_held(self, snapshot: dict, last_good: dict[str, float], unit: str) -> float:
        held = self.unit_tags.get(unit)
        if not held or not all(t in last_good for t in held):
            return math.nan
        v = self.sup.validator
        v.last_good = dict(last_good)
        v.last_timestamp = None
        snap = {**snapshot, **{t: math.nan for t in held}}
        p = self.sup.step(snap)
        if not p.ok or unit not in p.held_units:
            return math.nan
        return float(p.proposed_kpis.get("cost_per_h", math.nan))


def _good_values(snapshot: dict, rules) -> dict[str, float]:
    out = {}
    for tag, value in snapshot.items():
        r = rules.get(tag)
        if r is not None and isinstance(value, float) and math.isfinite(value) and r.lower <= value <= r.upper:
            out[tag] = value
    return out


def adherence_report(site: Site, models, replay: ReplayResult, frame: pd.DataFrame, rules: AdherenceRules | None = None,
                     progress: bool = False) -> AdherenceReport:
    """Compare each proposal with the next historian row; cost the gap per unit and per constraint.

    ``replay`` must come from ``frame`` (the same rows, e.g. with ``limit``: its first rows).
    ``models``: the ones the replay used (for the held-unit solves). See the module docstring
    for the rules and the method."""
    rules = rules or AdherenceRules()
    frame, _ = prepare_historian(frame)
    n = len(replay.proposals)
    frame = frame.iloc[:n]
    if len(frame) != n or (len(replay.steps) and not frame.index.equals(replay.steps.index)):
        raise ValueError(f"the replay ({n} rows) does not match the historian ({len(frame)} rows): replay this table first")
    decisions = decision_setpoints(site, rules)
    X = _historian_values(site, frame, decisions)
    dt = replay.step_hours
    tag_rule = tag_rules(site)
    evaluator = _HeldEvaluator(site, models, replay) if rules.attribute else None
    holdable = set(_holdable_units(site))
    units = list(dict.fromkeys(d.unit for d in decisions))

    sp_rows, step_rows, unit_rows, binding_rows = [], [], [], []
    running_good: dict[str, float] = {}
    for t in tqdm(range(n), desc="adherence", unit="step", disable=not progress):
        snap = replay.snapshots[t]
        running_good.update(_good_values(snap, tag_rule))
        if t == n - 1:
            break  # the last row has no next row to compare with
        p = replay.proposals[t]
        ts = frame.index[t]
        srow = replay.steps.iloc[t]
        usable = bool(srow["usable"])
        saving = max(0.0, float(srow["predicted_saving_per_h"])) if usable else 0.0
        co2e = float(srow["predicted_co2e_saving_t_h"]) if usable else 0.0
        nxt_cost = float(replay.steps.iloc[t + 1]["current_cost_per_h"])
        base = {"timestamp": ts, "status": p.status, "usable": usable, "proposed_saving_per_h": saving,
                "predicted_co2e_saving_t_h": co2e, "realised_change_per_h": float(srow["current_cost_per_h"]) - nxt_cost}
        if not usable:
            step_rows.append({**base, "captured_saving_per_h": 0.0, "gap_per_h": 0.0, "captured_co2e_t_h": 0.0,
                              "setpoints_advised": 0, "setpoints_followed": 0, "units_advised": 0, "units_followed": 0, "followed": np.nan})
            continue
        # --- per setpoint
        per_unit: dict[str, list[tuple[float, bool, bool, float]]] = {u: [] for u in units}
        for d in decisions:
            prop = p.setpoints.get(d.tag)
            cur, nxt = X.iat[t, X.columns.get_loc(d.tag)], X.iat[t + 1, X.columns.get_loc(d.tag)]
            if prop is None or not (math.isfinite(cur) and math.isfinite(nxt)):
                continue  # not proposed (unit off: no fuel share) or not recorded: not assessed
            move = float(prop) - cur
            remaining = abs(nxt - prop)
            advised = abs(move) > d.deadband
            followed = remaining <= max(d.deadband, (1.0 - rules.min_progress) * abs(move))
            if remaining <= d.deadband:
                f = 1.0
            elif advised:
                f = float(np.clip((nxt - cur) * move / (move * move), 0.0, 1.0))
            else:
                f = 0.0
            per_unit[d.unit].append((abs(move) / d.deadband if d.deadband > 0 else 1.0, advised, followed, f))
            sp_rows.append({"timestamp": ts, "tag": d.tag, "unit": d.unit, "kind": d.kind, "current": cur, "proposed": float(prop),
                            "next": nxt, "deadband": d.deadband, "advised": advised, "followed": followed, "progress": f})
        # --- per unit: advised, followed, progress, worth of moving it
        info = {}
        for u, entries in per_unit.items():
            if not entries:
                continue
            adv = [e for e in entries if e[1]]
            if adv:
                w = sum(e[0] for e in adv)
                prog = sum(e[0] * e[3] for e in adv) / w
                fol = all(e[2] for e in adv)
            else:
                prog = float(np.mean([e[3] for e in entries]))
                fol = all(e[2] for e in entries)
            worth = 0.0
            if adv:
                worth = math.nan
                if evaluator is not None and u in holdable:
                    c = evaluator.cost_with_held(snap, running_good, u)
                    worth = max(0.0, c - float(srow["proposed_cost_per_h"])) if math.isfinite(c) else math.nan
            info[u] = (bool(adv), fol, prog, worth)
        worths = {u: i[3] for u, i in info.items() if math.isfinite(i[3]) and i[3] > 0.0}
        total_w = sum(worths.values())
        captured_step = 0.0
        gap_step = 0.0
        for u, (adv, fol, prog, worth) in info.items():
            part = saving * worths[u] / total_w if u in worths else 0.0
            cap, gap = part * prog, part * (1.0 - prog)
            captured_step += cap
            gap_step += gap
            unit_rows.append({"timestamp": ts, "unit": u, "advised": adv, "followed": fol if adv else np.nan, "progress": prog,
                              "worth_per_h": worth, "proposed_saving_per_h": part, "captured_saving_per_h": cap, "gap_per_h": gap})
        if total_w <= 0.0 and saving > 0.0:
            progs = [e[3] for es in per_unit.values() for e in es]
            prog = float(np.mean(progs)) if progs else 0.0
            cap, gap = saving * prog, saving * (1.0 - prog)
            captured_step += cap
            gap_step += gap
            unit_rows.append({"timestamp": ts, "unit": UNATTRIBUTED, "advised": False, "followed": np.nan, "progress": prog,
                              "worth_per_h": math.nan, "proposed_saving_per_h": saving, "captured_saving_per_h": cap, "gap_per_h": gap})
        advised_u = [u for u, i in info.items() if i[0]]
        n_adv = sum(1 for es in per_unit.values() for e in es if e[1])
        n_fol = sum(1 for es in per_unit.values() for e in es if e[1] and e[2])
        step_rows.append({**base, "captured_saving_per_h": captured_step, "gap_per_h": gap_step,
                          "captured_co2e_t_h": co2e * captured_step / saving if saving > 0 else 0.0,
                          "setpoints_advised": n_adv, "setpoints_followed": n_fol,
                          "units_advised": len(advised_u), "units_followed": sum(1 for u in advised_u if info[u][1]),
                          "followed": (n_fol == n_adv) if n_adv else np.nan})
        for b in p.binding:
            binding_rows.append({"timestamp": ts, "limit": b["limit"], "description": b.get("description", b["limit"]), "what": b.get("what", ""), "kind": b.get("kind", ""),
                                 "worth_per_unit_per_h": float(b["worth_per_unit_per_h"]), "gap_per_h": gap_step})

    steps = pd.DataFrame(step_rows)
    setpoints = pd.DataFrame(sp_rows)
    unit_steps = pd.DataFrame(unit_rows)
    units_table = _units_table(unit_steps, dt, site)
    constraints = _constraints_table(pd.DataFrame(binding_rows), unit_steps, dt, site)
    totals = _totals(steps, setpoints, unit_steps, dt)
    if len(steps):
        steps = steps.set_index("timestamp")
    return AdherenceReport(steps, setpoints, units_table, constraints, totals, dt, replay.currency, rules)


def _units_table(unit_steps: pd.DataFrame, dt: float, site: Site) -> pd.DataFrame:
    cols = ["unit", "steps_advised", "steps_followed", "followed_pct", "mean_progress", "proposed_saving", "captured_saving", "gap", "gap_share_pct", "costed"]
    if unit_steps.empty:
        return pd.DataFrame(columns=cols).set_index("unit")
    holdable = set(_holdable_units(site))
    rows = []
    total_gap = unit_steps["gap_per_h"].sum() * dt
    for u, g in unit_steps.groupby("unit", sort=False):
        adv = g[g["advised"]]
        n_adv = len(adv)
        n_fol = int(adv["followed"].astype(bool).sum()) if n_adv else 0
        gap = g["gap_per_h"].sum() * dt
        rows.append({"unit": u, "steps_advised": n_adv, "steps_followed": n_fol, "followed_pct": 100.0 * n_fol / n_adv if n_adv else np.nan,
                     "mean_progress": float(adv["progress"].mean()) if n_adv else np.nan,
                     "proposed_saving": g["proposed_saving_per_h"].sum() * dt, "captured_saving": g["captured_saving_per_h"].sum() * dt,
                     "gap": gap, "gap_share_pct": 100.0 * gap / total_gap if total_gap > 0 else np.nan,
                     "costed": u in holdable})
    return pd.DataFrame(rows, columns=cols).sort_values("gap", ascending=False).set_index("unit")


_INDEX = re.compile(r"^([^\[]+)\[([^\],]+)")


def _constraints_table(binding: pd.DataFrame, unit_steps: pd.DataFrame, dt: float, site: Site) -> pd.DataFrame:
    cols = ["limit", "what", "kind", "unit", "steps_binding", "mean_worth_per_unit_per_h", "max_worth_per_unit_per_h",
            "worth_per_unit", "gap_when_binding", "unit_gap_when_binding"]
    if binding.empty:
        return pd.DataFrame(columns=cols).set_index("limit")
    known = {*site.boilers, *site.gas_turbines, *site.turbines, *site.letdowns, *site.vents, *site.consumers}
    ugap = unit_steps.set_index(["timestamp", "unit"])["gap_per_h"] if not unit_steps.empty else pd.Series(dtype=float)
    rows = []
    for limit, g in binding.groupby("limit", sort=False):
        m = _INDEX.match(limit)
        unit = m.group(2).strip("'\" ") if m else ""
        unit = unit if unit in known else ""
        unit_gap = np.nan
        if unit:
            unit_gap = sum(float(ugap.get((ts, unit), 0.0)) for ts in g["timestamp"]) * dt
        rows.append({"limit": limit, "what": g["what"].iloc[0], "kind": g["kind"].iloc[0], "unit": unit, "steps_binding": len(g),
                     "mean_worth_per_unit_per_h": g["worth_per_unit_per_h"].mean(), "max_worth_per_unit_per_h": g["worth_per_unit_per_h"].max(),
                     "worth_per_unit": g["worth_per_unit_per_h"].sum() * dt, "gap_when_binding": g["gap_per_h"].sum() * dt,
                     "unit_gap_when_binding": unit_gap})
    return pd.DataFrame(rows, columns=cols).sort_values("worth_per_unit", ascending=False).set_index("limit")


def _totals(steps: pd.DataFrame, setpoints: pd.DataFrame, unit_steps: pd.DataFrame, dt: float) -> dict[str, float]:
    t: dict[str, float] = {"steps_assessed": float(len(steps))}
    if steps.empty:
        return t
    usable = steps[steps["usable"]]
    t["steps_with_advice"] = float(len(usable))
    t["proposed_saving"] = usable["proposed_saving_per_h"].sum() * dt
    t["captured_saving"] = usable["captured_saving_per_h"].sum() * dt
    t["gap"] = usable["gap_per_h"].sum() * dt
    t["captured_pct"] = 100.0 * t["captured_saving"] / t["proposed_saving"] if t["proposed_saving"] > 0 else math.nan
    t["predicted_co2e_saving_t"] = usable["predicted_co2e_saving_t_h"].sum() * dt
    t["captured_co2e_t"] = usable["captured_co2e_t_h"].sum() * dt
    adv = setpoints[setpoints["advised"]] if not setpoints.empty else setpoints
    t["setpoint_moves_advised"] = float(len(adv))
    t["setpoint_moves_followed"] = float(adv["followed"].sum()) if len(adv) else 0.0
    t["setpoints_followed_pct"] = 100.0 * t["setpoint_moves_followed"] / len(adv) if len(adv) else math.nan
    uadv = unit_steps[unit_steps["advised"].astype(bool)] if not unit_steps.empty else unit_steps
    t["unit_moves_advised"] = float(len(uadv))
    t["unit_moves_followed_pct"] = 100.0 * float(uadv["followed"].astype(bool).sum()) / len(uadv) if len(uadv) else math.nan
    with_adv = steps["followed"].dropna()
    t["steps_fully_followed_pct"] = 100.0 * float(with_adv.astype(bool).sum()) / len(with_adv) if len(with_adv) else math.nan
    t["realised_change"] = usable["realised_change_per_h"].sum() * dt
    return t


# ---------------------------------------------------------------------- outputs
def summary_markdown(report: AdherenceReport, replay: ReplayResult | None = None, title: str = "Historian replay and adherence") -> str:
    """A Markdown summary: the replay's totals, adherence, the per-unit and per-constraint tables."""
    cur = report.currency
    tt = report.totals
    lines = [f"# {title}", ""]
    if replay is not None:
        r = replay.totals
        lines += [f"{int(r['rows'])} historian rows of {60 * replay.step_hours:g} min ({r['hours']:.1f} h); "
                  + ", ".join(f"{k.removeprefix('status_')} {int(v)}" for k, v in r.items() if k.startswith("status_")) + ".", "",
                  "| replay (following every proposal, as predicted) | value |", "| --- | --- |",
                  f"| current operation, model cost | {r['current_cost']:,.0f} {cur} |",
                  f"| predicted saving | {r['predicted_saving']:,.0f} {cur} ({r['predicted_saving_pct']:.2f} %) |",
                  f"| predicted CO2e saving | {r['predicted_co2e_saving_t']:,.2f} t |",
                  f"| predicted fuel saving | {r['predicted_fuel_saving_gj']:,.1f} GJ |", ""]
        if replay.warnings:
            lines += ["Historian warnings:", ""] + [f"* {w}" for w in replay.warnings] + [""]
    if tt.get("steps_assessed", 0) == 0:
        return "\n".join(lines + ["No step could be compared with a next row.", ""])
    lines += ["| adherence | value |", "| --- | --- |",
              f"| steps compared with the next row | {int(tt['steps_assessed'])} ({int(tt.get('steps_with_advice', 0))} with advice) |",
              f"| setpoint moves advised / followed | {int(tt['setpoint_moves_advised'])} / {int(tt['setpoint_moves_followed'])} ({_pct(tt['setpoints_followed_pct'])}) |",
              f"| unit moves followed | {_pct(tt['unit_moves_followed_pct'])} of {int(tt['unit_moves_advised'])} |",
              f"| proposed saving (steps compared) | {tt['proposed_saving']:,.0f} {cur} |",
              f"| captured | {tt['captured_saving']:,.0f} {cur} ({_pct(tt['captured_pct'])}) |",
              f"| gap (not captured) | {tt['gap']:,.0f} {cur} |",
              f"| CO2e predicted / captured | {tt['predicted_co2e_saving_t']:,.2f} / {tt['captured_co2e_t']:,.2f} t |", ""]
    lines += ["## Per unit", "", _md(report.units.reset_index(), {"followed_pct": "{:.0f}", "mean_progress": "{:.2f}", "proposed_saving": "{:,.0f}",
                                                                   "captured_saving": "{:,.0f}", "gap": "{:,.0f}", "gap_share_pct": "{:.1f}"}), ""]
    if not report.constraints.empty:
        top = report.constraints.head(12).reset_index()
        lines += ["## Binding limits", "", "Worth: what one more unit of the limit would have saved over the period (duals; "
                  "marginal values, not a split of the gap).", "",
                  _md(top[["limit", "what", "unit", "steps_binding", "mean_worth_per_unit_per_h", "worth_per_unit", "gap_when_binding"]],
                      {"mean_worth_per_unit_per_h": "{:,.1f}", "worth_per_unit": "{:,.0f}", "gap_when_binding": "{:,.0f}"}), ""]
    r = report.rules
    lines += ["## Method", "", f"Followed: within the deadband of the proposal or at least {100 * r.min_progress:.0f} % of the proposed move made "
              f"by the next row (deadbands: steam {100 * r.steam_deadband_fraction:g} % of the unit's maximum, at least {r.steam_deadband_tph:g} t/h; "
              f"power {100 * r.power_deadband_fraction:g} %, at least {r.power_deadband_mw:g} MW; fuel shares {r.share_deadband:g}). "
              "Each step's proposed saving is split over the units by what holding each one costs the optimum (the supervisor "
              "re-solved with the unit held), and each unit's part is captured in proportion to the share of its proposed move made. "
              "Per-unit captured and gap add up to the proposed saving. See scenarios/adherence.py.", ""]
    return "\n".join(lines)


def _pct(v: float) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.1f} %"


def _md(df: pd.DataFrame, formats: dict[str, str]) -> str:
    if df.empty:
        return "(none)"
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            if isinstance(v, float) and not math.isfinite(v):
                cells.append("-")
            elif c in formats and isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                cells.append(formats[c].format(v))
            else:
                cells.append(str(v))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *body])


def plot_adherence(report: AdherenceReport, path: str | Path) -> Path:
    """Predicted (proposed) vs captured saving per step, and both cumulated, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    s = report.steps
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    if len(s):
        ax1.plot(s.index, s["proposed_saving_per_h"], label="proposed (predicted)", color="tab:blue")
        ax1.plot(s.index, s["captured_saving_per_h"], label="captured", color="tab:green")
        ax1.fill_between(s.index, s["captured_saving_per_h"], s["proposed_saving_per_h"], color="tab:red", alpha=0.2, label="gap")
        ax2.plot(s.index, s["proposed_saving_per_h"].cumsum() * report.step_hours, color="tab:blue", label="proposed")
        ax2.plot(s.index, s["captured_saving_per_h"].cumsum() * report.step_hours, color="tab:green", label="captured")
    ax1.set_ylabel(f"saving, {report.currency}/h")
    ax1.legend(loc="upper right")
    ax1.set_title("Predicted vs captured saving")
    ax2.set_ylabel(f"cumulative, {report.currency}")
    ax2.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path


def write_adherence(report: AdherenceReport, out_dir: str | Path, replay: ReplayResult | None = None) -> dict[str, Path]:
    """Write the tables (CSV and Parquet), ``summary.md`` and ``adherence.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, df, index in (("adherence_steps", report.steps, True), ("adherence_setpoints", report.setpoints, False),
                            ("adherence_units", report.units, True), ("adherence_constraints", report.constraints, True)):
        paths[f"{name}_csv"] = out / f"{name}.csv"
        with atomic_output(paths[f"{name}_csv"]) as tmp:
            df.to_csv(tmp, index=index)
        paths[f"{name}_parquet"] = out / f"{name}.parquet"
        with atomic_output(paths[f"{name}_parquet"]) as tmp:
            _parquet_safe(df).to_parquet(tmp, index=index)
    paths["summary"] = out / "summary.md"
    atomic_write_text(paths["summary"], summary_markdown(report, replay))
    paths["plot"] = plot_adherence(report, out / "adherence.png")
    return paths


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing bools and NaN as floats (Parquet needs one type per column)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and c not in ("unit", "tag", "kind", "what", "limit", "status"):
            out[c] = pd.to_numeric(out[c].map(lambda v: float(v) if isinstance(v, (bool, np.bool_, int, float)) else np.nan), errors="coerce")
    return out
