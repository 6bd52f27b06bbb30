"""The plant simulator: balances, published calibration points, monotonicity, determinism."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.site import compute_properties, load_site
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.practice import todays_practice
from scenarios.plant.simulator import PlantSimulator, PlantState

SITE_FILE = Path(__file__).resolve().parents[1] / "scenarios" / "sites" / "reference_olefins.toml"
SITE = load_site(SITE_FILE)
PROPS = compute_properties(SITE)
SIM = PlantSimulator(SITE, PROPS)
MW = 1.0 / 3600.0


# ---------------------------------------------------------------- independent balance checks


def site_mass_residual(s: PlantState) -> tuple[float, float]:
    """Water/steam mass over the whole site from tags only: (residual, scale) in t/h."""
    t = s.tags
    raised = sum(t[f"{b}.steam_tph"] for b in SITE.boilers) + sum(t[f"{g}.hrsg_steam_tph"] for g in SITE.gas_turbines)
    raised += sum(t[f"{x}.steam_tph"] for x in SITE.byproduct_sources)
    water = sum(t[f"{l}.water_tph"] for l in SITE.letdowns) + sum(t[f"{h}.spray_water_tph"] for h in SITE.headers)
    shortfall = sum(t[f"{h}.shortfall_tph"] for h in SITE.headers)
    surplus = sum(t[f"{h}.surplus_tph"] for h in SITE.headers)
    used = sum(t[f"{c}.steam_tph"] for c in SITE.consumers) + sum(t[f"{v}.steam_tph"] for v in SITE.vents)
    used += t["deaerator.steam_tph"] + t["deaerator.condenser_condensate_tph"]
    return raised + water + shortfall - used - surplus, raised + water + used


def site_energy_residual(s: PlantState) -> tuple[float, float]:
    """First law over the steam network from tags and IAPWS enthalpies only: (residual, scale) MW.

    In: steam raised at its header's enthalpy, injected water, unserved demand, header energy
    deficits. Out: steam to consumers, vents and deaerator, turbine shaft work, condensing
    streams (condenser duty + condensate), unresolved surplus.
    """
    t, h = s.tags, PROPS.header_enthalpy_kj_kg
    e_in = sum(t[f"{b.id}.steam_tph"] * h[b.header] for b in SITE.boilers.values())
    e_in += sum(t[f"{g.id}.hrsg_steam_tph"] * h[g.hrsg.header] for g in SITE.gas_turbines.values())
    e_in += sum(t[f"{x.id}.steam_tph"] * h[x.header] for x in SITE.byproduct_sources.values())
    e_in += sum(t[f"{l.id}.water_tph"] * PROPS.header_spray_water_kj_kg[l.outlet] for l in SITE.letdowns.values())
    e_in += sum(t[f"{k}.spray_water_tph"] * PROPS.header_spray_water_kj_kg[k] for k in SITE.headers)
    e_in += sum(t[f"{k}.shortfall_tph"] * h[k] for k in SITE.headers)
    e_out = sum(t[f"{c.id}.steam_tph"] * h[c.header] for c in SITE.consumers.values())
    e_out += sum(t[f"{v.id}.steam_tph"] * h[v.header] for v in SITE.vents.values())
    e_out += t["deaerator.steam_tph"] * h[PROPS.deaerator_steam_header]
    e_out += sum(t[f"{k}.surplus_tph"] * h[k] for k in SITE.headers)
    e_out += t["deaerator.condenser_condensate_tph"] * next(iter(PROPS.condensate_kj_kg.values()))
    residual = (e_in - e_out) * MW - t["site.turbine_shaft_mw"] - sum(t[f"{c}.duty_mw"] for c in SITE.condensers)
    residual += sum(t[f"{k}.energy_deficit_mw"] for k in SITE.headers)
    return residual, e_in * MW


def assert_balanced(s: PlantState, rel: float = 1e-6) -> None:
    res, scale = site_mass_residual(s)
    assert abs(res) <= rel * scale, f"site mass residual {res} t/h"
    res, scale = site_energy_residual(s)
    assert abs(res) <= rel * scale, f"site energy residual {res} MW"
    for hid, b in s.headers.items():
        throughput = sum(x.tph for x in b.inflows) + 1.0
        assert abs(b.mass_residual_tph()) <= rel * throughput, (hid, b.mass_residual_tph())
        assert abs(b.energy_residual_mw()) <= rel * throughput * b.h_kj_kg * MW, (hid, b.energy_residual_mw())
    t = s.tags
    # deaerator: mass and energy
    f, r, c, m, st_ = (t["deaerator.feedwater_tph"], t["deaerator.condensate_return_tph"], t["deaerator.condenser_condensate_tph"],
                       t["deaerator.makeup_tph"], t["deaerator.steam_tph"])
    assert abs(f - r - c - m - st_) <= rel * f
    h_c = next(iter(PROPS.condensate_kj_kg.values()))
    e_res = f * PROPS.deaerator_feedwater_kj_kg - (r * PROPS.condensate_return_kj_kg + c * h_c + m * PROPS.makeup_kj_kg
                                                    + st_ * PROPS.header_enthalpy_kj_kg[PROPS.deaerator_steam_header])
    assert abs(e_res) <= rel * f * PROPS.deaerator_feedwater_kj_kg
    # electricity
    assert math.isclose(t["site.load_mw"] - t["site.generation_mw"], t["site.power_import_mw"] - t["site.power_export_mw"], abs_tol=1e-9)


# ---------------------------------------------------------------- random operating points


@st.composite
def operating_points(draw):
    """Any operating point and disturbance inside the units' own ranges (feasible or not for the headers)."""
    d = Disturbances(
        timestamp=pd.Timestamp("2026-03-02") + pd.Timedelta(hours=draw(st.integers(0, 24 * 7 - 1))),
        ambient_temp_c=draw(st.floats(20.0, 40.0)),
        byproduct_steam_tph={"TLE": draw(st.floats(200.0, 280.0))},
        consumer_demand_tph={c: c_.demand_tph * draw(st.floats(0.7, 1.3)) for c, c_ in SITE.consumers.items()},
        machine_power_mw={t: SITE.turbines[t].power_mw * draw(st.floats(0.9, 1.1)) for t in ("CGC", "PRC", "ETH")},
        site_load_mw=draw(st.floats(80.0, 110.0)),
        gt_fouling_hours={g: draw(st.floats(0.0, 3000.0)) for g in SITE.gas_turbines},
    )
    boilers = {b: draw(st.floats(0.0, 160.0)) for b in SITE.boilers if draw(st.booleans()) or b == "B1"}
    sp = Setpoints(
        boiler_steam_tph=boilers,
        boilers_on_master={b for b in boilers if draw(st.booleans()) or b == "B1"},
        boiler_fuel_share={"B3": {"natural_gas": draw(st.floats(0.0, 1.0)), "fuel_gas": draw(st.floats(0.01, 1.0))}},
        gt_power_mw={g: draw(st.one_of(st.none(), st.floats(10.0, 45.0))) for g in SITE.gas_turbines if draw(st.booleans())},
        duct_steam_tph={g: draw(st.floats(0.0, 35.0)) for g in SITE.gas_turbines},
        turbine_power_mw={"TG1": draw(st.floats(0.0, 26.0)), "TG2": draw(st.floats(0.0, 13.0))},
        turbine_extraction_tph={"CGC": [draw(st.floats(0.0, 250.0))], "PRC": [draw(st.floats(0.0, 140.0))], "TG1": [draw(st.floats(0.0, 120.0))]},
        drivers_on_motor={"BFP"} if draw(st.booleans()) else set(),
        consumer_tph={"MP_C3_SPLITTER": draw(st.floats(20.0, 35.0))},
    )
    return sp, d


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operating_points())
def test_balances_close_at_any_operating_point(point):
    sp, d = point
    state = SIM.simulate(sp, d)
    assert_balanced(state)
    t = state.tags
    for b in SITE.boilers.values():  # boilers inside their limits, or off
        assert t[f"{b.id}.steam_tph"] == 0.0 or b.min_steam_tph - 1e-9 <= t[f"{b.id}.steam_tph"] <= b.max_steam_tph + 1e-9
    for ld in SITE.letdowns.values():
        assert -1e-12 <= t[f"{ld.id}.steam_tph"] <= ld.max_flow_tph + 1e-9
    for v in SITE.vents.values():
        assert -1e-12 <= t[f"{v.id}.steam_tph"] <= v.max_flow_tph + 1e-9
    for k in SITE.headers:
        assert t[f"{k}.shortfall_tph"] >= 0.0 and t[f"{k}.surplus_tph"] >= 0.0
        assert not (t[f"{k}.shortfall_tph"] > 0 and t[f"{k}.surplus_tph"] > 0)
    assert all(math.isfinite(v) for v in t.values())


def test_practice_balanced_and_no_notes():
    d = Disturbances(timestamp=pd.Timestamp("2026-03-02 10:00"), ambient_temp_c=30.0)
    state = SIM.simulate(todays_practice(SITE, d), d)
    assert_balanced(state, rel=1e-9)
    assert state.notes == []
    assert state["site.steam_shortfall_tph"] == 0.0 and state["site.steam_surplus_tph"] == 0.0
    # equal load sharing among the boilers on master
    loads = [state[f"{b}.steam_tph"] for b in SITE.boilers]
    assert max(loads) - min(loads) < 1e-9


# ---------------------------------------------------------------- published calibration points


def test_gas_turbine_iso_point_and_buttler_part_load():
    gt = SIM.gts["GT1"]
    assert gt.base_power_mw(15.0, 0.0) == pytest.approx(42.0, rel=1e-12)
    assert gt.heat_rate_kj_kwh(42.0, 15.0, 0.0) == pytest.approx(11000.0, rel=1e-12)
    # Buttler et al. 2015: efficiency relative to full load 0.557 / 0.780 / 0.927 at 25 / 50 / 75 %
    for x, rel_eff in ((0.5, 0.780), (0.75, 0.927)):
        assert 11000.0 / gt.heat_rate_kj_kwh(42.0 * x, 15.0, 0.0) == pytest.approx(rel_eff, rel=1e-12)
    # -0.7 %/C power and +0.2 %/C heat rate above 15 C (De Sa & Al Zubaidy 2011)
    assert gt.base_power_mw(25.0, 0.0) == pytest.approx(42.0 * 0.93, rel=1e-12)
    assert gt.heat_rate_kj_kwh(gt.base_power_mw(25.0, 0.0), 25.0, 0.0) == pytest.approx(11000.0 * 1.02, rel=1e-12)
    # the HRSG calibration point: 55 t/h unfired at ISO base load
    assert gt.unfired_steam_tph(42.0, 15.0, 0.0) == pytest.approx(55.0, rel=1e-12)


def test_fouling_depends_on_filter_class():
    import dataclasses

    e12 = dataclasses.replace(SITE.gas_turbines["GT1"], filter_class="E12")
    sim12 = PlantSimulator(dataclasses.replace(SITE, gas_turbines={**SITE.gas_turbines, "GT1": e12}), PROPS)
    hours = 2000.0
    assert SIM.gts["GT1"].base_power_mw(15.0, hours) == pytest.approx(42.0 * (1 - 0.015 * 2), rel=1e-12)
    assert sim12.gts["GT1"].base_power_mw(15.0, hours) > SIM.gts["GT1"].base_power_mw(15.0, hours)
    assert sim12.gts["GT1"].heat_rate_kj_kwh(30.0, 30.0, hours) < SIM.gts["GT1"].heat_rate_kj_kwh(30.0, 30.0, hours)


def test_boiler_curve_through_site_points_and_ambient():
    b = SIM.boilers["B1"]
    curve = SITE.boilers["B1"].efficiency_curve
    for x, eta in zip(curve.load_fraction, curve.efficiency):
        assert b.efficiency(x * 160.0, 25.0) == pytest.approx(eta, abs=1e-12)
    # +20 C combustion air: about +1 % efficiency
    assert b.efficiency(112.0, 45.0) - b.efficiency(112.0, 25.0) == pytest.approx(0.01, abs=1e-12)
    # fuel = steam * (h_steam - h_fw) / (1000 eta)
    h = PROPS.header_enthalpy_kj_kg["SHP"] - PROPS.boiler_feedwater_kj_kg["B1"]
    assert b.fuel_gj_h(100.0, 25.0) == pytest.approx(100.0 * h / 1000.0 / b.efficiency(100.0, 25.0), rel=1e-12)


def test_turbine_meets_machine_power_and_energy_per_section():
    d = Disturbances(machine_power_mw={"CGC": 28.0})
    state = SIM.simulate(todays_practice(SITE, d), d)
    assert state["CGC.power_mw"] == pytest.approx(28.0, abs=1e-6)
    # each section: m (h_in - h_ex) / 3600 is its shaft power
    curve = SIM.turbines["CGC"]
    h_in = PROPS.header_enthalpy_kj_kg["SHP"]
    total = 0.0
    for k in range(2):
        m, h_ex = state[f"CGC.s{k}_flow_tph"], state[f"CGC.s{k}_exhaust_kj_kg"]
        assert m * (h_in - h_ex) / 3600.0 == pytest.approx(curve.section_power_mw(k, m), rel=1e-9)
        total += curve.section_power_mw(k, m)
        h_in = h_ex
    assert 0.98 * total == pytest.approx(28.0, rel=1e-9)


# ---------------------------------------------------------------- physics directions


@pytest.mark.parametrize("consumer", ["HP_AROMATICS", "MP_BUTADIENE", "LP_AROMATICS"])
def test_more_demand_never_less_fuel(consumer):
    fuels = []
    for demand in (10.0, 20.0, 30.0, 40.0, 50.0):
        d = Disturbances(consumer_demand_tph={consumer: demand}, ambient_temp_c=30.0)
        fuels.append(SIM.simulate(todays_practice(SITE, d), d)["site.fuel_gj_h"])
    assert all(b >= a - 1e-9 for a, b in zip(fuels, fuels[1:])), fuels
    if consumer != "LP_AROMATICS":  # LP is venting under today's practice: the first t/h are free
        assert all(b > a + 1.0 for a, b in zip(fuels, fuels[1:])), fuels


def test_hot_ambient_costs_gt_power_and_raises_import():
    cool = Disturbances(ambient_temp_c=24.0)
    hot = Disturbances(ambient_temp_c=35.0)
    s_cool, s_hot = (SIM.simulate(todays_practice(SITE, d), d) for d in (cool, hot))
    assert s_hot["GT1.power_mw"] < s_cool["GT1.power_mw"]
    assert s_hot["site.power_import_mw"] > s_cool["site.power_import_mw"]


def test_no_steam_is_invented_when_boilers_are_out():
    d = Disturbances(unavailable={"B1", "B2", "B3", "B4"})
    state = SIM.simulate(todays_practice(SITE, d), d)
    assert all(state[f"{b}.steam_tph"] == 0.0 for b in SITE.boilers)
    assert state["SHP.shortfall_tph"] > 50.0
    assert any("short" in n for n in state.notes)
    assert_balanced(state)


def test_surplus_vents_then_reports():
    d = Disturbances(consumer_demand_tph={c: 0.0 for c in SITE.consumers}, byproduct_steam_tph={"TLE": 280.0})
    state = SIM.simulate(todays_practice(SITE, d), d)
    assert state["V_LP.steam_tph"] == pytest.approx(SITE.vents["V_LP"].max_flow_tph)
    assert state["site.steam_surplus_tph"] > 0.0
    assert_balanced(state)


def test_motor_replaces_drive():
    d = Disturbances()
    sp = todays_practice(SITE, d)
    sp.drivers_on_motor = {"BFP"}
    state = SIM.simulate(sp, d)
    assert state["BFP.inlet_tph"] == 0.0 and state["BFP.turbine_power_mw"] == 0.0
    assert state["site.motor_mw"] == pytest.approx(1.5 / 0.95, rel=1e-12)
    # the machine's power tag is the power the pump takes (the engine's demand), whichever drive gives it
    assert state["BFP.power_mw"] == pytest.approx(1.5, rel=1e-12)
    assert_balanced(state)


def test_tariff_periods():
    assert SIM.import_price_per_mwh(pd.Timestamp("2026-03-02 10:00")) == pytest.approx(4102.5 + 97.2)  # Monday on-peak
    assert SIM.import_price_per_mwh(pd.Timestamp("2026-03-02 22:00")) == pytest.approx(2584.9 + 97.2)  # Monday 22:00 off-peak
    assert SIM.import_price_per_mwh(pd.Timestamp("2026-03-07 12:00")) == pytest.approx(2584.9 + 97.2)  # Saturday


def test_emissions_ipcc_factors():
    d = Disturbances()
    state = SIM.simulate(todays_practice(SITE, d), d)
    # IPCC 2006 natural gas 56,100 kg CO2 + 28 x 1 kg CH4 + 265 x 0.1 kg N2O per TJ (AR5)
    factor = (56100 + 28 * 1.0 + 265 * 0.1) * 1e-6
    assert state["site.co2e_scope1_t_h"] == pytest.approx(state["site.fuel_natural_gas_gj_h"] * factor, rel=1e-12)
    assert state["site.co2e_scope2_t_h"] == pytest.approx(state["site.power_import_mw"] * 0.4750, rel=1e-12)


def test_simulation_is_deterministic():
    d = Disturbances(ambient_temp_c=31.3)
    a = SIM.simulate(todays_practice(SITE, d), d).tags
    b = PlantSimulator(load_site(SITE_FILE)).simulate(todays_practice(SITE, d), d).tags
    assert a == b


def test_limited_fuel_is_made_up_with_the_boilers_other_fuel():
    """B3 asked to burn only fuel gas at a load needing more than the 150 GJ/h supply: the fuel-gas
    header's natural-gas make-up takes the excess; the boiler's total fuel is unchanged."""
    d = Disturbances()
    sp = todays_practice(SITE, d)
    sp.boiler_steam_tph = {"B1": 40.0, "B2": 40.0, "B3": 150.0}
    sp.boilers_on_master = {"B1", "B2"}
    sp.boiler_fuel_share = {"B3": {"fuel_gas": 1.0, "natural_gas": 0.0}}
    state = SIM.simulate(sp, d)
    total = state["B3.fuel_gj_h"]
    assert total > 160.0  # the plan asked for more than the supply
    assert state["B3.fuel_fuel_gas_gj_h"] == pytest.approx(SITE.fuels["fuel_gas"].max_gj_h, abs=1e-9)
    assert state["B3.fuel_natural_gas_gj_h"] == pytest.approx(total - 150.0, abs=1e-9)
    assert state["site.fuel_fuel_gas_gj_h"] == pytest.approx(150.0, abs=1e-9)
    assert any("made up" in n for n in state.notes)
    # within the supply nothing changes
    sp.boiler_steam_tph["B3"] = 42.0
    state = SIM.simulate(sp, d)
    assert state["B3.fuel_fuel_gas_gj_h"] == pytest.approx(state["B3.fuel_gj_h"], rel=1e-12) and state["B3.fuel_gj_h"] < 150.0
    assert_balanced(state)
