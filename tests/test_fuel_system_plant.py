"""The fuel system on the plant simulator: the same definitions as the model
(optimizer/fuel_system.py: settle), the proposal's blends applied through its setpoints."""

from __future__ import annotations

import pandas as pd
import pytest
from test_fuel_system import SITE, SNAP, run

from optimizer.site import compute_properties, site_from_dict
from scenarios.plant.apply import setpoints_from_proposal
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.simulator import PlantSimulator


def disturbances(make: float, furnace: float = 20.0) -> Disturbances:
    return Disturbances(timestamp=pd.Timestamp(SNAP["timestamp"]), ambient_temp_c=25.0, consumer_demand_tph={"C1": 90.0, "C2": 40.0},
                        site_load_mw=10.0, fuel_gj_h={"OFFGAS": make, "F1": furnace})


@pytest.mark.parametrize("make", [60.0, 500.0])
def test_simulator_realises_the_proposals_fuel_system_exactly(make):
    # constant-efficiency boilers at their reference ambient: the simulator's plant is the model's,
    # so the proposal's predicted cost, CO2e, fuel and flare are what the plant does
    sup, (p,) = run(SITE, [{**SNAP, "ambient_temp_c": 25.0, "OFFGAS.fuel_gj_h": make}])
    sim = PlantSimulator(sup.site, compute_properties(sup.site))
    state = sim.simulate(setpoints_from_proposal(sup.site, p), disturbances(make))
    assert state.notes == []
    for k in ("cost_per_h", "co2e_t_h", "fuel_gj_h", "fuel_cost_per_h", "flare_FG_gj_h", "fuel_header_HY_gj_h"):
        assert state.tags[f"site.{k}"] == pytest.approx(p.proposed_kpis[k], rel=1e-9, abs=1e-9), k
    assert state.tags["H2_BUY.fuel_gj_h"] == pytest.approx(p.proposed_kpis["fuel_source_H2_BUY_gj_h"], rel=1e-9, abs=1e-9)
    assert (state.tags["site.flare_FG_gj_h"] > 50.0) == (make == 500.0)


def test_simulator_notes_a_blend_outside_its_burners_limits_and_a_short_header():
    site = site_from_dict(SITE)
    sim = PlantSimulator(site, compute_properties(site))
    # B2 (at most 10 vol% hydrogen) asked to burn 40 % of its energy as hydrogen: about 70 vol%
    sp = Setpoints(boiler_steam_tph={"B1": 80.0, "B2": 70.0}, boilers_on_master={"B1", "B2"},
                   fuel_share={"B2": {"NG": 0.6, "HY": 0.4}})
    state = sim.simulate(sp, disturbances(make=0.0, furnace=30.0))
    assert any(n.startswith("burner B2: hydrogen") for n in state.notes), state.notes
    # no off-gas made and a furnace drawing 30 GJ/h from its header (no purchase there): short
    assert any(n.startswith("fuel header FG: 30.00 GJ/h short") for n in state.notes), state.notes
    # the hydrogen header's supply ends at its availability (40 GJ/h): the rest is short too
    assert state.tags["H2_BUY.fuel_gj_h"] == pytest.approx(40.0)
