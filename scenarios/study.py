"""Scenario studies: each policy runs against the plant simulator over the same profile.

Policies:

* ``practice`` - today's rule-based dispatch (:mod:`scenarios.plant.practice`);
* ``steamopt`` - the supervisor with the ONNX surrogates, closed loop: each step the snapshot
  comes from the simulator (with sensor noise), the proposal is applied, the plant responds;
* ``oracle`` - the same supervisor given the simulator's true curves (:mod:`scenarios.oracle`).

Savings are measured on the simulator (realised), not on the model that proposed them. A step
that fails is recorded (status ``error``) and the study goes on. Deterministic with a seed.
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

from optimizer.proposal import Proposal
from optimizer.site.model import Site
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.oracle import oracle_curves
from scenarios.plant.apply import setpoints_from_proposal
from scenarios.plant.inputs import Disturbances
from scenarios.plant.practice import todays_practice
from scenarios.plant.simulator import PlantSimulator, PlantState
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir

log = logging.getLogger(__name__)

POLICIES = ("practice", "steamopt", "oracle")


@dataclass
class StudySpec:
    """Everything a study needs, whatever file it came from."""

    name: str
    site: Site
    models_path: Path
    disturbances: list[Disturbances]
    step_min: float
    policies: tuple[str, ...] = POLICIES
    noise: float = 0.0
    seed: int = 0
    oracle_points: int = 9
    notes: list[str] = field(default_factory=list)


@dataclass
class StudyResult:
    steps: pd.DataFrame
    summary: pd.DataFrame
    failures: list[str]
    seconds: dict[str, float]


def run_policy(spec: StudySpec, policy: str, simulator: PlantSimulator, progress: bool = False,
               on_step: Callable[[dict, Proposal, PlantState], None] | None = None) -> tuple[list[dict], list[str]]:
    """One policy over the whole profile; one row (realised tags + step info) per step.
    ``on_step(snapshot, proposal, realised)`` sees every supervised step (for tests and tools)."""
    site = spec.site
    rng = np.random.default_rng(spec.seed)
    supervisor = None
    if policy != "practice":
        config = SupervisorConfig(cycle_s=60.0 * spec.step_min)
        curves = load_model_dir(spec.models_path) if policy == "steamopt" else oracle_curves(site, simulator, spec.oracle_points)
        supervisor = Supervisor(site, curves, config, properties=simulator.props)
    setpoints = todays_practice(site, spec.disturbances[0])
    rows, failures = [], []
    for d in tqdm(spec.disturbances, desc=policy, unit="step", disable=not progress, leave=False):
        info = {"policy": policy, "timestamp": d.timestamp, "status": "practice", "step_ms": np.nan,
                "predicted_cost_per_h": np.nan, "predicted_saving_per_h": np.nan}
        try:
            if supervisor is None:
                setpoints = todays_practice(site, d)
            else:
                before = simulator.simulate(setpoints, d)
                snap = snapshot_from_state(site, before, d, noise=spec.noise, rng=rng)
                t = time.perf_counter()
                proposal = supervisor.step(snap)
                info["step_ms"] = 1e3 * (time.perf_counter() - t)
                info["status"] = proposal.status
                if proposal.ok:
                    setpoints = setpoints_from_proposal(site, proposal, setpoints)
                    info["predicted_cost_per_h"] = proposal.proposed_kpis.get("cost_per_h", np.nan)
                    # the model's view of today's practice at this step: predicted saving = model(practice) - model(proposal)
                    practice_state = simulator.simulate(todays_practice(site, d), d)
                    practice_kpis = supervisor.evaluate(snapshot_from_state(site, practice_state, d))
                    info["predicted_practice_cost_per_h"] = practice_kpis.get("cost_per_h", np.nan)
                    info["predicted_saving_per_h"] = info["predicted_practice_cost_per_h"] - info["predicted_cost_per_h"]
            state = simulator.simulate(setpoints, d)
            rows.append({**info, **state.tags, "notes": len(state.notes)})
            if on_step is not None and supervisor is not None:
                on_step(snap, proposal, state)
        except Exception as exc:  # one bad step must not end a study
            log.exception("%s at %s failed", policy, d.timestamp)
            failures.append(f"{policy} {d.timestamp}: {type(exc).__name__}: {exc}")
            rows.append({**info, "status": "error"})
    return rows, failures


def run_study(spec: StudySpec, progress: bool = False) -> StudyResult:
    """Every policy of the spec over the same profile, then the summary."""
    simulator = PlantSimulator(spec.site)
    rows, failures, seconds = [], [], {}
    for policy in spec.policies:
        t = time.perf_counter()
        r, f = run_policy(spec, policy, simulator, progress)
        rows += r
        failures += f
        seconds[policy] = time.perf_counter() - t
        log.info("%s: %d steps in %.1f s", policy, len(r), seconds[policy])
    steps = pd.DataFrame(rows)
    return StudyResult(steps, summarize(steps, spec.step_min / 60.0), failures, seconds)


_TOTALS = {  # summary column: (tag, unit) integrated over the period
    "cost": "site.cost_per_h", "fuel_cost": "site.fuel_cost_per_h", "electricity_cost": "site.electricity_cost_per_h",
    "carbon_cost": "site.carbon_cost_per_h", "penalty_cost": "site.penalty_cost_per_h",
    "co2e_t": "site.co2e_t_h", "co2e_scope1_t": "site.co2e_scope1_t_h", "co2e_scope2_t": "site.co2e_scope2_t_h",
    "fuel_gj": "site.fuel_gj_h", "steam_generated_t": "site.steam_generated_tph", "vented_t": "site.vent_tph",
    "import_mwh": "site.power_import_mw", "export_mwh": "site.power_export_mw", "shortfall_t": "site.steam_shortfall_tph",
}


def summarize(steps: pd.DataFrame, step_hours: float) -> pd.DataFrame:
    """Totals per policy, differences to today's practice (absolute and %), predicted vs
    realised savings, and step-time percentiles."""
    fuels = sorted(c for c in steps.columns if c.startswith("site.fuel_") and c.endswith("_gj_h") and c != "site.fuel_gj_h" and "cost" not in c)
    out = {}
    base = steps[steps.policy == "practice"].set_index("timestamp") if "practice" in set(steps.policy) else None
    for policy, g in steps.groupby("policy", sort=False):
        g = g.set_index("timestamp")
        row = {k: g[tag].sum() * step_hours for k, tag in _TOTALS.items() if tag in g}
        row.update({f"fuel_{c.removeprefix('site.fuel_').removesuffix('_gj_h')}_gj": g[c].sum() * step_hours for c in fuels})
        row["steps"] = len(g)
        row["errors"] = int((g["status"] == "error").sum())
        if base is not None and policy != "practice":
            realised = (base["site.cost_per_h"] - g["site.cost_per_h"]).dropna()
            row["cost_saving_vs_practice"] = realised.sum() * step_hours
            row["cost_saving_vs_practice_pct"] = 100.0 * row["cost_saving_vs_practice"] / (base["site.cost_per_h"].sum() * step_hours)
            co2 = (base["site.co2e_t_h"] - g["site.co2e_t_h"]).dropna()
            row["co2e_saving_vs_practice_t"] = co2.sum() * step_hours
            row["co2e_saving_vs_practice_pct"] = 100.0 * row["co2e_saving_vs_practice_t"] / (base["site.co2e_t_h"].sum() * step_hours)
            # predicted: the model's cost of today's practice minus its cost of each proposal
            row["predicted_saving"] = g["predicted_saving_per_h"].dropna().sum() * step_hours
            row["realised_saving"] = row["cost_saving_vs_practice"]
            row["predicted_vs_realised_pct"] = 100.0 * (row["predicted_saving"] / row["realised_saving"] - 1.0) if row["realised_saving"] else np.nan
            ms = g["step_ms"].dropna()
            if len(ms):
                row.update({"step_ms_p50": ms.median(), "step_ms_p95": ms.quantile(0.95), "step_ms_max": ms.max()})
        out[policy] = row
    summary = pd.DataFrame.from_dict(out, orient="index")
    summary.index.name = "policy"
    if "oracle" in summary.index and "steamopt" in summary.index and summary.loc["oracle", "cost_saving_vs_practice"]:
        summary["share_of_oracle_saving_pct"] = np.nan
        summary.loc["steamopt", "share_of_oracle_saving_pct"] = (
            100.0 * summary.loc["steamopt", "cost_saving_vs_practice"] / summary.loc["oracle", "cost_saving_vs_practice"])
    return summary
