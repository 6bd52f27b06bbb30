"""The reference site with learned duct firing over the base week (issue 17, done-when): every
steamopt cycle optimal, the true plant inside its limits with its balances closed, each lit duct
burner delivering its set steam within its range. Slow (minutes)."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimizer.site.loader import load_site
from optimizer.site.model import learned_ducts
from scenarios.study import run_study
from scenarios.study_files import spec_from_scenario_file

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_base_week_with_learned_ducts_every_cycle_optimal_inside_limits():
    site = load_site(ROOT / "scenarios/sites/reference_olefins.toml")
    assert learned_ducts(site) == ["GT1", "GT2"]
    spec = spec_from_scenario_file(ROOT / "scenarios/studies/base_week.toml", policies=["practice", "steamopt"])
    result = run_study(spec)
    for policy in ("practice", "steamopt"):
        steps = result.steps[result.steps["policy"] == policy]
        assert len(steps) == 672
        if policy == "steamopt":
            assert (steps["status"] == "optimal").all(), steps["status"].value_counts().to_dict()
        bad = steps["violation"].fillna(False).astype(bool)
        assert not bad.any(), steps.loc[bad, "violations"].head()
        assert steps["site.steam_shortfall_tph"].max() <= 1e-6 and steps["site.steam_surplus_tph"].max() <= 1e-6
        for g in ("GT1", "GT2"):
            h = site.gas_turbines[g].hrsg
            lit = steps[steps[f"{g}.duct_steam_tph"] > 0]
            assert (lit[f"{g}.duct_steam_tph"] >= h.duct_min_steam_tph - 1e-6).all() and (lit[f"{g}.duct_steam_tph"] <= h.duct_max_steam_tph + 1e-6).all()
            assert (lit[f"{g}.duct_fuel_gj_h"] <= h.duct_max_fuel_gj_h + 1e-6).all()
            assert (steps.loc[steps[f"{g}.duct_steam_tph"] <= 0, f"{g}.duct_fuel_gj_h"] == 0.0).all()
    # today's practice fires both burners at 10 t/h all week: the true oxygen-limited fuel, above the additive figure
    from scenarios.plant.simulator import PlantSimulator

    additive = PlantSimulator(site).gts["GT1"].duct_fuel_gj_h(10.0)  # 10 t/h at duct_efficiency, GJ/h
    practice = result.steps[result.steps["policy"] == "practice"]
    assert ((practice["GT1.duct_steam_tph"] - 10.0).abs() <= 1e-6).all()
    assert (practice["GT1.duct_fuel_gj_h"] > 1.01 * additive).all()
