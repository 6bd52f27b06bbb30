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

The held-unit solves are in :mod:`scenarios.adherence_held`, the period tables in
:mod:`scenarios.adherence_tables` and the outputs (Markdown, plot, files) in
:mod:`scenarios.adherence_output`; their public names are importable from here too.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm import tqdm

from optimizer import tags
from optimizer.site.model import Site
from optimizer.snapshot import tag_rules
from scenarios.adherence_held import _good_values, _HeldEvaluator, _holdable_units
from scenarios.adherence_output import plot_adherence, summary_markdown, write_adherence  # noqa: F401 - re-exported (their old path)
from scenarios.adherence_tables import _constraints_table, _totals, _units_table
from scenarios.historian_replay import ReplayResult, prepare_historian

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
