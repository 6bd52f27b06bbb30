"""Study summary: savings against each baseline, steps outside a limit never credited, shares of
the oracle's saving, predicted vs realised; and the limits the true plant is checked against."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.site import load_site
from scenarios.plant.inputs import Disturbances
from scenarios.plant.limits import limit_violations
from scenarios.plant.practice import todays_practice
from scenarios.plant.simulator import PlantSimulator
from scenarios.study import summarize

SITE = load_site(Path(__file__).resolve().parents[1] / "scenarios" / "sites" / "reference_olefins.toml")
SIM = PlantSimulator(SITE)
STEP_H = 0.25
# cost per hour of each policy at the 8 steps
COST = {
    "practice": [100.0] * 8,
    "good_practice": [90.0] * 8,
    "steamopt": [85.0, 85.0, 85.0, 85.0, 95.0, 85.0, 80.0, 85.0],
    "oracle": [84.0] * 8,
}
CO2E = {"practice": [10.0] * 8, "good_practice": [9.5] * 8, "steamopt": [9.0] * 8, "oracle": [8.9] * 8}
VIOLATED = {"steamopt": [False] * 6 + [True, False]}  # step 6: steamopt's plant was short of steam


def steps_frame() -> pd.DataFrame:
    ts = pd.date_range("2026-03-02", periods=8, freq="15min")
    frames = []
    for p, cost in COST.items():
        f = pd.DataFrame({"policy": p, "timestamp": ts, "status": "optimal", "step_ms": np.nan,
                          "site.cost_per_h": cost, "site.co2e_t_h": CO2E[p],
                          "violation": VIOLATED.get(p, [False] * 8), "violations": ""})
        if p in ("steamopt", "oracle"):
            f["predicted_saving_vs_practice_per_h"] = 16.0
            f["predicted_saving_vs_good_practice_per_h"] = 6.0
            f["step_ms"] = np.arange(8, dtype=float)
            f["drift_flagged"] = ["", "", "B4_fuel", "B4_fuel", "", "", "", ""] if p == "steamopt" else ""
        frames.append(f)
    return pd.concat(frames, ignore_index=True)


def test_savings_against_each_baseline_never_credit_a_violating_step():
    s = summarize(steps_frame(), STEP_H)
    # steamopt vs practice: per-step savings 15,15,15,15,5,15,[20 violated],15 -> 95 credited, 20 not
    assert s.loc["steamopt", "cost_saving_vs_practice"] == pytest.approx(95.0 * STEP_H, rel=1e-12)
    assert s.loc["steamopt", "uncredited_saving_vs_practice"] == pytest.approx(20.0 * STEP_H, rel=1e-12)
    assert s.loc["steamopt", "cost_saving_vs_practice_pct"] == pytest.approx(100 * 95.0 / 800.0, rel=1e-12)
    # vs good practice: 5,5,5,5,-5,5,[10 violated],5 -> 25 credited, 10 not
    assert s.loc["steamopt", "cost_saving_vs_good_practice"] == pytest.approx(25.0 * STEP_H, rel=1e-12)
    assert s.loc["steamopt", "uncredited_saving_vs_good_practice"] == pytest.approx(10.0 * STEP_H, rel=1e-12)
    assert s.loc["good_practice", "cost_saving_vs_practice"] == pytest.approx(80.0 * STEP_H, rel=1e-12)
    assert s.loc["oracle", "cost_saving_vs_good_practice"] == pytest.approx(48.0 * STEP_H, rel=1e-12)
    assert s.loc["steamopt", "co2e_saving_vs_good_practice_t"] == pytest.approx(0.5 * 8 * STEP_H, rel=1e-12)
    assert "cost_saving_vs_good_practice" not in s or np.isnan(s.loc["good_practice"].get("cost_saving_vs_good_practice", np.nan))
    assert s.loc["steamopt", "violation_steps"] == 1 and s.loc["oracle", "violation_steps"] == 0


def test_a_violating_step_that_loses_money_still_counts():
    steps = steps_frame()
    steps.loc[(steps.policy == "steamopt") & (steps.timestamp == steps.timestamp.min()), "violation"] = True
    steps.loc[(steps.policy == "steamopt") & (steps.timestamp == steps.timestamp.min()), "site.cost_per_h"] = 130.0
    s = summarize(steps, STEP_H)
    # step 0 now loses 30 vs practice and is counted; step 6 (+20) is still not credited
    assert s.loc["steamopt", "cost_saving_vs_practice"] == pytest.approx((95.0 - 15.0 - 30.0) * STEP_H, rel=1e-12)
    assert s.loc["steamopt", "uncredited_saving_vs_practice"] == pytest.approx(20.0 * STEP_H, rel=1e-12)


def test_shares_of_the_oracle_and_predicted_vs_realised_per_baseline():
    s = summarize(steps_frame(), STEP_H)
    assert s.loc["steamopt", "share_of_oracle_saving_vs_practice_pct"] == pytest.approx(100 * 95.0 / 128.0, rel=1e-12)
    assert s.loc["steamopt", "share_of_oracle_saving_vs_good_practice_pct"] == pytest.approx(100 * 25.0 / 48.0, rel=1e-12)
    assert s.loc["good_practice", "share_of_oracle_saving_vs_practice_pct"] == pytest.approx(100 * 80.0 / 128.0, rel=1e-12)
    assert s.loc["steamopt", "predicted_saving_vs_good_practice"] == pytest.approx(6.0 * 8 * STEP_H, rel=1e-12)
    assert s.loc["steamopt", "realised_saving_vs_good_practice"] == pytest.approx(25.0 * STEP_H, rel=1e-12)
    assert s.loc["steamopt", "predicted_vs_realised_vs_good_practice_pct"] == pytest.approx(100 * (48.0 / 25.0 - 1), rel=1e-12)
    assert s.loc["steamopt", "drift_flagged_steps"] == 2
    assert s.loc["steamopt", "step_ms_p95"] == pytest.approx(np.percentile(np.arange(8.0), 95), rel=1e-12)


def test_only_practice_as_baseline_when_good_practice_is_not_run():
    steps = steps_frame()
    s = summarize(steps[steps.policy != "good_practice"], STEP_H)
    assert "cost_saving_vs_good_practice" not in s and "share_of_oracle_saving_vs_good_practice_pct" not in s
    assert s.loc["steamopt", "cost_saving_vs_practice"] == pytest.approx(95.0 * STEP_H, rel=1e-12)


def test_limits_of_the_true_plant():
    d = Disturbances(unavailable={"B1", "B2", "B3", "B4"})
    out = limit_violations(SITE, SIM.simulate(todays_practice(SITE, d), d))
    assert any(v.startswith("SHP header") and "short of process demand" in v for v in out), out
    d = Disturbances(consumer_demand_tph={c: 0.0 for c in SITE.consumers}, byproduct_steam_tph={"TLE": 280.0})
    out = limit_violations(SITE, SIM.simulate(todays_practice(SITE, d), d))
    assert any("surplus with nowhere to go" in v for v in out), out
    d = Disturbances()
    assert limit_violations(SITE, SIM.simulate(todays_practice(SITE, d), d)) == []
    # a drive that cannot deliver its process power, and grid import above the connection
    d = Disturbances(unavailable={"CGC"}, site_load_mw=200.0)
    state = SIM.simulate(todays_practice(SITE, d), d)
    out = limit_violations(SITE, state)
    assert any(v.startswith("grid import") for v in out), out
    state.tags["PRC.power_shortfall_mw"] = 0.5
    assert any(v.startswith("PRC drive 0.50 MW short") for v in limit_violations(SITE, state))
