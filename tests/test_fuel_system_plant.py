"""The fuel system on the plant simulator: the same definitions as the model
(optimizer/fuel_system.py: settle), the proposal's blends applied through its setpoints."""

from __future__ import annotations

import copy

import pandas as pd
import pytest
from test_fuel_system import SITE, SNAP, run

from optimizer.fuel_system import settle
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


def test_a_burner_without_a_blend_burns_its_first_header_as_far_as_it_goes_and_makes_up():
    # today's practice: B1 burns the off-gas first; the furnace takes its fixed draw, B1 what is
    # left (30 - 20 = 10 GJ/h), natural gas makes up the rest
    data = copy.deepcopy(SITE)
    data["fuel_system"]["burners"]["B1"]["headers"] = ["FG", "NG", "HY"]
    site = site_from_dict(data)
    r = settle(site, {("B1", False): 100.0, ("B2", False): 50.0}, {}, {"OFFGAS": 30.0}, {"F1": 20.0})
    assert r.draws["FG", "B1"] == pytest.approx(10.0) and r.draws["NG", "B1"] == pytest.approx(90.0) and r.draws["HY", "B1"] == 0.0
    assert r.unserved == {} and r.flare == {}
    # more made than B1 and the furnace take: the rest is flared
    r = settle(site, {("B1", False): 100.0, ("B2", False): 50.0}, {}, {"OFFGAS": 150.0}, {"F1": 20.0})
    assert r.draws["FG", "B1"] == pytest.approx(100.0) and r.flare["FG"] == pytest.approx(30.0)
    # take-or-pay: the hydrogen minimum (5 GJ/h) is paid for though nobody burns it
    assert r.takes["H2_BUY"] == 0.0
    assert r.cost_per_h == pytest.approx(300.0 * 50.0 + 360.0 * 5.0 + 15.0 * 30.0)
