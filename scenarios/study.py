"""Scenario studies: each policy runs against the plant simulator over the same profile.

Policies:

* ``practice`` - today's rule-based dispatch (:mod:`scenarios.plant.practice`): every boiler on
  and sharing the load, fixed turbine setpoints; a weak baseline (it vents surplus steam);
* ``good_practice`` - what a competent shift team does without an optimiser
  (:mod:`scenarios.plant.good_practice`): nominal data and the meters only;
* ``steamopt`` - the supervisor with the ONNX surrogates, closed loop: each step the snapshot
  comes from the simulator (with sensor noise), the proposal is applied, the plant responds;
* ``oracle`` - the same supervisor given the simulator's true curves (:mod:`scenarios.oracle`).
* ``steamopt_lookahead`` and ``oracle_lookahead`` - the same two, planning a day ahead every hour
  (forecasts, resp. perfect foresight) and following the plan's on/off (:mod:`scenarios.lookahead`).

Savings are measured on the simulator (realised), not on the model that proposed them, against
each baseline policy present (``practice``, ``good_practice``). A step where the true plant ends
outside a limit (:func:`scenarios.plant.limits.limit_violations`) is never credited: its saving
counts only if negative, and what was not credited is reported. A step that fails is recorded
(status ``error``) and the study goes on. Deterministic with a seed.

A reality gap (:class:`scenarios.plant.reality_gap.RealityGap`) makes the simulated plant differ
from what the site file and the models know: the true plant degrades, meters read biased, steam
leaks unmeasured, and with ``decision_lag_steps = 1`` every decision taken from the snapshot of
one step meets the next step's conditions. Every policy meets the same plant and reads the same
meters.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from optimizer.model_site import load_models_for_site
from optimizer.proposal import Proposal
from optimizer.site.model import Site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.lookahead import (LOOKAHEAD_POLICIES, PLAN_HORIZON_H, PLAN_MIP_GAP, PLAN_PERIOD_MIN, REPLAN_MIN, RollingPlanner,
                                 plan_forecaster, lookahead_columns,
                                 on_states, start_stop_columns)
from scenarios.oracle import TrueConditions, oracle_curves
from scenarios.plant.apply import setpoints_from_proposal
from scenarios.plant.good_practice import GoodPractice
from scenarios.plant.inputs import Disturbances
from scenarios.plant.limits import limit_violations
from scenarios.plant.practice import todays_practice
from scenarios.plant.reality_gap import RealityGap, apply_reality_gap, measured_snapshot, outside_training_range
from scenarios.plant.simulator import PlantSimulator, PlantState
from scenarios.plant.snapshots import snapshot_from_state

log = logging.getLogger(__name__)

POLICIES = ("practice", "good_practice", "steamopt", "oracle", *LOOKAHEAD_POLICIES)
#: Policies savings are measured against, weakest first.
BASELINES = ("practice", "good_practice")
SUPERVISED = ("steamopt", "oracle", *LOOKAHEAD_POLICIES)
#: Supervised policies on the ONNX surrogates (the others run on the oracle's true curves).
ON_SURROGATES = ("steamopt", "steamopt_lookahead")
#: Status of a step with a decision lag before the first decision (the plant keeps its setpoints).
NO_DECISION_YET = "no_decision_yet"


@dataclass
class StudySpec:
    """Everything a study needs, whatever file it came from."""

    name: str
    site: Site
    models_path: Path | None  # None: no learned models (every unit on first principles)
    disturbances: list[Disturbances]
    step_min: float
    policies: tuple[str, ...] = POLICIES
    noise: float = 0.0
    seed: int = 0
    oracle_points: int = 9
    reality_gap: RealityGap = field(default_factory=RealityGap)
    notes: list[str] = field(default_factory=list)
    #: ``steamopt_lookahead``'s forecasters (a model directory; None: persistence) and the history that seeds them
    forecasters_path: Path | None = None
    history: list[Disturbances] = field(default_factory=list)
    #: the look-ahead policies' plan: horizon (h), period (min), re-plan interval (min), time budget (s; None: the config's)
    plan_horizon_h: float = PLAN_HORIZON_H
    plan_period_min: float = PLAN_PERIOD_MIN
    replan_min: float = REPLAN_MIN
    plan_time_budget_s: float | None = None
    plan_mip_gap: float = PLAN_MIP_GAP
    #: the supervised policies' cycle time budget (s). A study replays days offline: its figures must
    #: not depend on how busy the machine is (with the plant's 1 s a loaded machine turned some cycles
    #: time-limited and moved a hydrogen sweep's marginal abatement cost by half); the real-time budget
    #: is the benchmarks' to measure (benchmarks/), and each step's time is still reported.
    cycle_time_budget_s: float = 10.0
    #: the site the model directory must belong to: the scenario's site file before its changes (None: ``site``);
    #: what the changes alter that the models depend on is a what-if, warned about (optimizer.model_site)
    models_site: Site | None = None


@dataclass
class StudyResult:
    steps: pd.DataFrame
    summary: pd.DataFrame
    failures: list[str]
    seconds: dict[str, float]


@dataclass
class PolicyRun:
    """One policy over the profile: a row per step, the failures, and, for a baseline, the realised
    plant states (``None`` where a step failed) that later policies' predicted savings are measured
    against (``None`` throughout for the other policies); a look-ahead policy's plans."""

    rows: list[dict]
    failures: list[str]
    states: list[PlantState | None]
    schedules: list = field(default_factory=list)  # a look-ahead policy's plans, in order (optimizer.schedule.Schedule)


def true_disturbances(spec: StudySpec) -> list[Disturbances]:
    """The conditions the true plant meets: the profile with the reality gap applied."""
    gap = spec.reality_gap
    return spec.disturbances if gap.is_null() else apply_reality_gap(spec.disturbances, gap, spec.step_min)


def run_policy(spec: StudySpec, policy: str, simulator: PlantSimulator, progress: bool = False,
               on_step: Callable[[dict, Proposal, PlantState], None] | None = None,
               baselines: dict[str, list[PlantState | None]] | None = None,
               disturbances: list[Disturbances] | None = None) -> PolicyRun:
    """One policy over the whole profile; one row (realised tags + step info) per step.

    Each step ``i`` the policy reads the meters on the plant as it stands (the previous
    setpoints at the conditions of step ``i - lag``), decides, and its setpoints meet the
    conditions of step ``i``. With a lag, the first ``lag`` steps have no snapshot to decide
    on: the plant keeps the setpoints it started with (status ``no_decision_yet``). ``baselines`` (policy -> realised states) give the supervised
    policies' predicted saving against each: the model's cost of the baseline's operating point
    at the conditions the proposal was computed for, minus the model's cost of the proposal.
    ``on_step(snapshot, proposal, realised)`` sees every supervised step (for tests and tools)."""
    site, gap = spec.site, spec.reality_gap
    ds = disturbances if disturbances is not None else true_disturbances(spec)
    lag = gap.decision_lag_steps
    rng = np.random.default_rng(spec.seed)
    supervisor, conditions, operator, planner = None, None, None, None
    if policy in SUPERVISED:
        if policy in ON_SURROGATES:
            curves = (load_models_for_site(site, spec.models_path) if spec.models_site is None
                      else load_models_for_site(spec.models_site, spec.models_path, what_if=site))
        else:
            conditions = TrueConditions()
            curves = oracle_curves(site, simulator, spec.oracle_points, conditions)
        config = SupervisorConfig(cycle_s=60.0 * spec.step_min, time_budget_s=spec.cycle_time_budget_s, drift=policy in ON_SURROGATES)
        supervisor = Supervisor(site, curves, config, properties=simulator.props)
        if policy in LOOKAHEAD_POLICIES:
            planner = RollingPlanner(site, policy, supervisor, ds,
                                     forecaster=(plan_forecaster(site, spec.forecasters_path, spec.history)
                                                 if policy == "steamopt_lookahead" else None), horizon_h=spec.plan_horizon_h,
                                     period_min=spec.plan_period_min, replan_min=spec.replan_min,
                                     time_budget_s=spec.plan_time_budget_s, mip_rel_gap=spec.plan_mip_gap)
    elif policy == "good_practice":
        operator = GoodPractice(site, spec.step_min, properties=simulator.props)
    elif policy != "practice":
        raise ValueError(f"policy {policy!r}: unknown; known: {', '.join(POLICIES)}")
    setpoints = todays_practice(site, ds[0])
    t_start = ds[0].timestamp
    run = PolicyRun([], [], [])
    for i, d in enumerate(tqdm(ds, desc=policy, unit="step", disable=not progress, leave=False)):
        seen = ds[max(0, i - lag)]
        info = {"policy": policy, "timestamp": d.timestamp, "status": policy if policy in BASELINES else "error",
                "step_ms": np.nan, "predicted_cost_per_h": np.nan, "drift_flagged": np.nan if supervisor is None else ""}
        proposal, snap = None, None
        try:
            if policy == "practice":
                setpoints = todays_practice(site, d)
            elif i < lag:  # no snapshot from before the study: the plant runs as it was
                info["status"] = NO_DECISION_YET
            else:
                before = simulator.simulate(setpoints, seen)
                snap = snapshot_from_state(site, before, seen, noise=spec.noise, rng=rng)
                if not gap.is_null():
                    snap = measured_snapshot(snap, gap, (seen.timestamp - t_start).total_seconds() / 3600.0)
                if operator is not None:
                    setpoints = operator.setpoints(snap)
                else:
                    if conditions is not None:
                        conditions.current = seen
                    if planner is not None:
                        info.update(planner.before_step(snap, seen))
                    t = time.perf_counter()
                    proposal = supervisor.step(snap)
                    info["step_ms"] = 1e3 * (time.perf_counter() - t)
                    info["status"] = proposal.status
                    info["drift_flagged"] = ",".join(proposal.drift.get("flagged", []))
                    if proposal.ok:
                        setpoints = setpoints_from_proposal(site, proposal, setpoints)
                        info["predicted_cost_per_h"] = proposal.proposed_kpis.get("cost_per_h", np.nan)
                        for b, states in (baselines or {}).items():
                            info[f"predicted_saving_vs_{b}_per_h"] = _predicted_saving(
                                supervisor, site, states[max(0, i - lag)], seen, info["predicted_cost_per_h"])
            state = simulator.simulate(setpoints, d)
            violations = limit_violations(site, state)
            run.rows.append({**info, **state.tags, "notes": len(state.notes),
                             "violation": bool(violations), "violations": "; ".join(violations)})
            run.states.append(state if policy in BASELINES else None)  # only baselines' points are evaluated later
            if on_step is not None and proposal is not None:
                on_step(snap, proposal, state)
        except Exception as exc:  # one bad step must not end a study
            log.exception("%s at %s failed", policy, d.timestamp)
            run.failures.append(f"{policy} {d.timestamp}: {type(exc).__name__}: {exc}")
            run.rows.append({**info, "status": "error"})
            run.states.append(None)
    if planner is not None:
        run.schedules = list(planner.schedules)
    return run


def _predicted_saving(supervisor: Supervisor, site: Site, state: PlantState | None, d: Disturbances,
                      proposed_cost_per_h: float) -> float:
    """The model's cost of a baseline's realised operating point minus its cost of the proposal."""
    if state is None:
        return np.nan
    kpis = supervisor.evaluate(snapshot_from_state(site, state, d))
    return kpis.get("cost_per_h", np.nan) - proposed_cost_per_h


def run_study(spec: StudySpec, progress: bool = False) -> StudyResult:
    """Every policy of the spec over the same profile (baselines first), then the summary."""
    simulator = PlantSimulator(spec.site)
    ds = true_disturbances(spec)
    order = sorted(spec.policies, key=lambda p: (p not in BASELINES, spec.policies.index(p)))
    rows, failures, seconds, baselines = [], [], {}, {}
    for policy in order:
        t = time.perf_counter()
        run = run_policy(spec, policy, simulator, progress, baselines=baselines, disturbances=ds)
        if policy in BASELINES:
            baselines[policy] = run.states
        rows += run.rows
        failures += run.failures
        seconds[policy] = time.perf_counter() - t
        log.info("%s: %d steps in %.1f s", policy, len(run.rows), seconds[policy])
    steps = pd.DataFrame(rows)
    steps["outside_training_range"] = _outside_training_range(spec, steps)
    steps = _in_policy_order(steps, spec.policies)
    initial = on_states(spec.site, simulator.simulate(todays_practice(spec.site, ds[0]), ds[0]).tags)
    return StudyResult(steps, summarize(steps, spec.step_min / 60.0, spec.site, initial), failures, seconds)


def _outside_training_range(spec: StudySpec, steps: pd.DataFrame) -> np.ndarray:
    if "ambient_temp_c" not in steps or spec.models_path is None or not Path(spec.models_path).is_dir():
        return np.zeros(len(steps), dtype=bool)
    ambient = steps["ambient_temp_c"].to_numpy(dtype=float)
    return np.asarray(outside_training_range(spec.models_path, ambient), dtype=bool) & np.isfinite(ambient)


def _in_policy_order(steps: pd.DataFrame, policies: tuple[str, ...]) -> pd.DataFrame:
    rank = {p: k for k, p in enumerate(policies)}
    order = steps["policy"].map(rank)
    return steps.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)


_TOTALS = {  # summary column: (tag, unit) integrated over the period
    "cost": "site.cost_per_h", "fuel_cost": "site.fuel_cost_per_h", "electricity_cost": "site.electricity_cost_per_h",
    "carbon_cost": "site.carbon_cost_per_h", "penalty_cost": "site.penalty_cost_per_h",
    "co2e_t": "site.co2e_t_h", "co2e_scope1_t": "site.co2e_scope1_t_h", "co2e_scope2_t": "site.co2e_scope2_t_h",
    "fuel_gj": "site.fuel_gj_h", "steam_generated_t": "site.steam_generated_tph", "vented_t": "site.vent_tph",
    "import_mwh": "site.power_import_mw", "export_mwh": "site.power_export_mw", "shortfall_t": "site.steam_shortfall_tph",
}


def summarize(steps: pd.DataFrame, step_hours: float, site: Site | None = None,
              initial_on: dict[str, bool] | None = None) -> pd.DataFrame:
    """Totals per policy; savings against each baseline present (absolute and %, realised on the
    simulator, steps outside a limit never credited); each policy's share of the oracle's saving;
    predicted vs realised savings; violation, drift and out-of-range step counts; step times.
    With ``site`` and ``initial_on`` (unit -> on before the first step), the starts and stops of
    each policy (:mod:`scenarios.lookahead`: ``starts``, ``stops``, ``start_stop_cost``,
    ``cost_incl_starts``) and the value of looking ahead (:func:`scenarios.lookahead.lookahead_columns`).

    With ``s_i = c_b,i - c_p,i`` the saving of policy ``p`` over baseline ``b`` at step ``i``
    (currency/h) and ``V`` the steps where ``p``'s true plant was outside a limit:

    .. math:: S_{p,b} = \\Delta t \\Big(\\sum_{i \\notin V} s_i + \\sum_{i \\in V} \\min(s_i, 0)\\Big),\\qquad
              U_{p,b} = \\Delta t \\sum_{i \\in V} \\max(s_i, 0)

    ``U`` (``uncredited_saving_vs_b``) is what a violating step would have claimed.
    """
    fuels = sorted(c for c in steps.columns if c.startswith("site.fuel_") and c.endswith("_gj_h") and c != "site.fuel_gj_h" and "cost" not in c)
    present = list(dict.fromkeys(steps["policy"]))
    baselines = [b for b in BASELINES if b in present]
    frames = {p: g.set_index("timestamp") for p, g in steps.groupby("policy", sort=False)}
    out = {}
    for policy in present:
        g = frames[policy]
        row = {k: g[tag].sum() * step_hours for k, tag in _TOTALS.items() if tag in g}
        row.update({f"fuel_{c.removeprefix('site.fuel_').removesuffix('_gj_h')}_gj": g[c].sum() * step_hours for c in fuels})
        # the fuel system (optimizer/fuel_system.py): gas flared per fuel header, hydrogen burnt per burner
        row.update({f"flared_{c.removeprefix('site.flare_').removesuffix('_gj_h')}_gj": g[c].sum() * step_hours
                    for c in g.columns if c.startswith("site.flare_") and c.endswith("_gj_h")})
        row.update({f"hydrogen_{c.split('.')[0]}{'_duct' if '.duct_' in c else ''}_gj": g[c].sum() * step_hours
                    for c in g.columns if c.endswith(".fuel_hydrogen_gj_h") or c.endswith(".duct_fuel_hydrogen_gj_h")})
        row["steps"] = len(g)
        row["errors"] = int((g["status"] == "error").sum())
        violated = g["violation"].fillna(False).astype(bool) if "violation" in g else pd.Series(False, index=g.index)
        row["violation_steps"] = int(violated.sum())
        if "outside_training_range" in g:
            row["outside_training_range_steps"] = int(g["outside_training_range"].fillna(False).astype(bool).sum())
        for b in baselines:
            if b == policy:
                continue
            base = frames[b]
            s = (base["site.cost_per_h"] - g["site.cost_per_h"]).dropna()
            v = violated.reindex(s.index, fill_value=False)
            credited = s.where(~v, np.minimum(s, 0.0))
            row[f"cost_saving_vs_{b}"] = credited.sum() * step_hours
            row[f"uncredited_saving_vs_{b}"] = (s - credited).sum() * step_hours
            row[f"cost_saving_vs_{b}_pct"] = 100.0 * row[f"cost_saving_vs_{b}"] / (base["site.cost_per_h"].sum() * step_hours)
            co2 = (base["site.co2e_t_h"] - g["site.co2e_t_h"]).dropna()
            row[f"co2e_saving_vs_{b}_t"] = co2.sum() * step_hours
            row[f"co2e_saving_vs_{b}_pct"] = 100.0 * row[f"co2e_saving_vs_{b}_t"] / (base["site.co2e_t_h"].sum() * step_hours)
            predicted = f"predicted_saving_vs_{b}_per_h"
            if policy in SUPERVISED and predicted in g:
                row[f"predicted_saving_vs_{b}"] = g[predicted].dropna().sum() * step_hours
                row[f"realised_saving_vs_{b}"] = real = row[f"cost_saving_vs_{b}"]
                row[f"predicted_vs_realised_vs_{b}_pct"] = 100.0 * (row[f"predicted_saving_vs_{b}"] / real - 1.0) if real else np.nan
        if "drift_flagged" in g and policy == "steamopt":
            row["drift_flagged_steps"] = int((g["drift_flagged"].fillna("").astype(str) != "").sum())
        ms = g["step_ms"].dropna()
        if len(ms):
            row.update({"step_ms_p50": ms.median(), "step_ms_p95": ms.quantile(0.95), "step_ms_max": ms.max()})
        out[policy] = row
    summary = pd.DataFrame.from_dict(out, orient="index")
    summary.index.name = "policy"
    for b in baselines:
        col = f"cost_saving_vs_{b}"
        if "oracle" in summary.index and col in summary and summary.loc["oracle", col]:
            share = f"share_of_oracle_saving_vs_{b}_pct"
            summary[share] = np.nan
            for p in summary.index:
                if p not in ("oracle", "practice", b):  # practice is never better than a baseline
                    summary.loc[p, share] = 100.0 * summary.loc[p, col] / summary.loc["oracle", col]
    if site is not None and initial_on is not None and len(summary):
        summary = lookahead_columns(summary.join(start_stop_columns(site, steps, initial_on)))
    return summary
