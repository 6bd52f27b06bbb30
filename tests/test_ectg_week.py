"""The reference site with the extraction-condensing TG3 over the base week (issue 17, done-when):
every cycle optimal, the true plant inside its limits with its balances closed. Slow (minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.site import load_site
from scenarios.study import run_study
from scenarios.study_files import spec_from_scenario_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_base_week_with_tg3_every_cycle_optimal_inside_limits():
    spec = spec_from_scenario_file(ROOT / "scenarios/studies/base_week.toml", policies=["steamopt"])
    result = run_study(spec)
    steps = result.steps[result.steps["policy"] == "steamopt"]
    assert len(steps) == 672
    assert (steps["status"] == "optimal").all(), steps["status"].value_counts().to_dict()
    assert not steps["violation"].fillna(False).astype(bool).any(), steps.loc[steps["violation"].fillna(False).astype(bool), "violations"].head()
    assert steps["site.steam_shortfall_tph"].max() <= 1e-6 and steps["site.steam_surplus_tph"].max() <= 1e-6
    on = steps[steps["TG3.power_mw"] > 0]
    short = on["TG3.power_shortfall_mw"]
    # Away from its inlet limit the true TG3 gives the power set. At the limit (120 t/h, where the
    # cycle runs it through the campaign since it prices a stop and restart) the learned inlet
    # model (test MAPE 0.5 %, docs/relu_embedding.md) may need a little more steam than the
    # limit passes, and the plant gives what the limit allows: within 0.5 % of the set power
    # (0.23 % at most in this week, 2026-12-08).
    max_inlet = load_site(ROOT / "scenarios/sites/reference_olefins.toml").turbines["TG3"].sections[0].max_flow_tph
    at_limit = on["TG3.inlet_tph"] >= max_inlet - 1e-6
    assert (short[~at_limit] <= 1e-6).all(), on.loc[~at_limit & (short > 1e-6), ["timestamp", "TG3.power_mw", "TG3.power_shortfall_mw"]]
    assert (short[at_limit] <= 0.005 * on.loc[at_limit, "TG3.power_mw"]).all(), short[at_limit].max()
