"""The reference site with the extraction-condensing TG3 over the base week (issue 17, done-when):
every cycle optimal, the true plant inside its limits with its balances closed. Slow (minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

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
    assert (on["TG3.power_shortfall_mw"] <= 1e-6).all()
