"""A site written the way textbooks and data sheets write it (issue 18, item 2), against
independent computations.

* The textbook site: header enthalpies given, enthalpy-drop turbines with per-section flow
  limits, a condensing section given by its exhaust enthalpy, no deaerator, feedwater stated by
  enthalpy (site) and by temperature and pressure (one boiler), a letdown's desuperheating water
  stated by its own pressure and temperature, a purchased-power contract with a minimum and a
  shortfall penalty. The Supervisor (no learned models: constant-efficiency boilers) must give
  the optimum of a ``scipy.optimize.linprog`` model written below by hand from the site's numbers
  (the IAPWS-IF97 states it needs are computed here with ``iapws`` directly).
* A letdown whose desuperheating water is stated by its pressure and entropy (subcooled, and wet)
  against an IAPWS-IF97 mass and energy balance written here.
* Willans lines from the Sun & Smith (2015) correlation against the coefficients typed in here
  and against the shaft powers published with the open implementation the coefficients are
  taken from (github.com/Norvell-git/SteamSystems, tests/test_cond_part_load.py,
  tests/test_cond_full_load.py, tests/test_bp_full_load.py at commit 400f565).
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
from iapws import IAPWS97
from scipy.optimize import linprog

from optimizer.site import compute_properties, site_from_dict
from optimizer.site.loader import SiteError
from optimizer.supervisor import Supervisor, SupervisorConfig
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.simulator import PlantSimulator

REL = 1e-6
ATM = 1.01325
H_HP, H_MP, H_LP = 3210.0, 2950.0, 2750.0          # kJ/kg, stated header enthalpies
H_FW = 440.0                                        # kJ/kg, stated site feedwater enthalpy
H_EXHAUST = 2450.0                                  # kJ/kg, stated condensing exhaust (wet at 0.1 bar(a))
FUEL_PRICE, IMPORT_PRICE, PENALTY, VENT_PENALTY = 300.0, 2500.0, 3000.0, 20.0

TEXTBOOK = {
    "name": "textbook",
    "steam": {"deaerator": False, "feedwater_enthalpy_kj_kg": H_FW, "condensate_return_fraction": 0.0},
    "headers": {
        "HP": {"pressure_barg": 40.0, "enthalpy_kj_kg": H_HP},
        "MP": {"pressure_barg": 10.0, "enthalpy_kj_kg": H_MP},
        "LP": {"pressure_barg": 3.0, "enthalpy_kj_kg": H_LP},
    },
    "fuels": {"gas": {"price_per_gj": FUEL_PRICE}},
    "boilers": {
        "B1": {"header": "HP", "fuels": ["gas"], "min_steam_tph": 0.0, "max_steam_tph": 110.0, "efficiency": 0.88,
               "ambient_efficiency_per_c": 0.0, "can_switch_off": False, "ramp_tph_per_min": 100.0},
        "B2": {"header": "HP", "fuels": ["gas"], "min_steam_tph": 0.0, "max_steam_tph": 100.0, "efficiency": 0.84,
               "ambient_efficiency_per_c": 0.0, "can_switch_off": False, "ramp_tph_per_min": 100.0,
               "feedwater_temp_c": 130.0, "feedwater_pressure_barg": 45.0},
    },
    "turbines": {
        "T1": {"inlet": "HP", "drive": "generator", "max_power_mw": 30.0, "mechanical_efficiency": 0.97, "can_switch_off": False,
               "ramp_mw_per_min": 100.0,
               "sections": [
                   {"outlet": "MP", "model": "enthalpy_drop", "min_flow_tph": 20.0, "max_flow_tph": 100.0},
                   {"outlet": "C", "model": "enthalpy_drop", "exhaust_enthalpy_kj_kg": H_EXHAUST, "min_flow_tph": 5.0, "max_flow_tph": 60.0},
               ]},
        "T2": {"inlet": "HP", "drive": "generator", "max_power_mw": 10.0, "mechanical_efficiency": 0.97, "can_switch_off": False,
               "ramp_mw_per_min": 100.0,
               "sections": [{"outlet": "LP", "model": "enthalpy_drop", "min_flow_tph": 5.0, "max_flow_tph": 40.0}]},
    },
    "condensers": {"C": {"pressure_bara": 0.1}},
    "letdowns": {
        "LD1": {"inlet": "HP", "outlet": "MP", "max_flow_tph": 150.0,
                "desuperheat_water": {"pressure_barg": 15.0, "temp_c": 105.0}},
        "LD2": {"inlet": "MP", "outlet": "LP", "max_flow_tph": 100.0},
    },
    "vents": {"V": {"header": "LP", "max_flow_tph": 50.0, "penalty_per_t": VENT_PENALTY}},
    "consumers": {
        "HPC": {"header": "HP", "demand_tph": 20.0},
        "MPC": {"header": "MP", "demand_tph": 60.0},
        "LPC": {"header": "LP", "demand_tph": 50.0},
    },
    "electricity": {"site_load_mw": 20.0, "max_import_mw": 40.0, "default_price_per_mwh": IMPORT_PRICE,
                    "contract_min_import_mw": 12.0, "shortfall_penalty_per_mwh": PENALTY},
}
SNAP = {"timestamp": "2026-03-02T10:00:00", "ambient_temp_c": 30.0, "site_load_mw": 20.0, "HPC.steam_tph": 20.0,
        "MPC.steam_tph": 60.0, "LPC.steam_tph": 50.0, "B1.steam_tph": 100.0, "B2.steam_tph": 50.0,
        "T1.power_mw": 5.0, "T1.extraction0_tph": 20.0, "T2.power_mw": 3.0}


def _iapws_h(p_bara: float, **state) -> float:
    """Enthalpy (kJ/kg) from iapws directly: T in C, or s in kJ/(kg K)."""
    if "temp_c" in state:
        return IAPWS97(P=p_bara / 10.0, T=state["temp_c"] + 273.15).h
    return IAPWS97(P=p_bara / 10.0, s=state["s"]).h


def _linprog_textbook(snap: dict, site_load_mw: float) -> tuple[float, dict[str, float]]:
    """The textbook site written by hand as an LP (flows t/h, power MW, fuel GJ/h, cost per h)."""
    names = ["b1", "b2", "s0", "s1", "t2", "l1", "l2", "v", "imp", "short"]
    ix = {n: i for i, n in enumerate(names)}
    eta_mech = 0.97
    h_w1 = _iapws_h(15.0 + ATM, temp_c=105.0)            # LD1's own water, at its pump's pressure
    h_fw2 = _iapws_h(45.0 + ATM, temp_c=130.0)           # B2's feedwater, at its stated pressure
    r1 = (H_HP - H_MP) / (H_MP - h_w1)                   # water per t of letdown steam
    r2 = (H_MP - H_LP) / (H_LP - H_FW)                   # LD2: the site's feedwater
    d0, d1, d2 = H_HP - H_MP, H_MP - H_EXHAUST, H_HP - H_LP   # section drops, kJ/kg
    k0, k1, k2 = eta_mech * d0 / 3600.0, eta_mech * d1 / 3600.0, eta_mech * d2 / 3600.0   # MW per t/h
    fuel1 = (H_HP - H_FW) / 1000.0 / 0.88
    fuel2 = (H_HP - h_fw2) / 1000.0 / 0.84
    c = np.zeros(len(names))
    c[ix["b1"]], c[ix["b2"]] = FUEL_PRICE * fuel1, FUEL_PRICE * fuel2
    c[ix["imp"]], c[ix["short"]], c[ix["v"]] = IMPORT_PRICE, PENALTY, VENT_PENALTY

    def row(**coef):
        r = np.zeros(len(names))
        for k, v in coef.items():
            r[ix[k]] = v
        return r

    a_eq = [row(b1=1, b2=1, s0=-1, t2=-1, l1=-1),                      # HP: boilers = T1 + T2 + LD1 + HPC
            row(s0=1, s1=-1, l1=1 + r1, l2=-1),                        # MP: T1 extraction + LD1 (with water) = MPC + LD2
            row(t2=1, l2=1 + r2, v=-1),                                 # LP: T2 + LD2 (with water) = LPC + vent
            row(imp=1, s0=k0, s1=k1, t2=k2)]                            # grid: import = load - generation
    b_eq = [snap["HPC.steam_tph"], snap["MPC.steam_tph"], snap["LPC.steam_tph"], site_load_mw]
    a_ub = [row(s1=1, s0=-1),                                           # the condensing section carries what is not extracted
            row(imp=-1, short=-1),                                      # contract: short >= minimum - import
            row(s0=k0, s1=k1),                                          # T1 power limit
            row(t2=k2)]                                                 # T2 power limit
    b_ub = [0.0, -12.0, 30.0, 10.0]
    bounds = [(0, 110), (0, 100), (20, 100), (5, 60), (5, 40), (0, 150), (0, 100), (0, 50), (0, 40), (0, None)]
    res = linprog(c, A_ub=np.array(a_ub), b_ub=b_ub, A_eq=np.array(a_eq), b_eq=b_eq, bounds=bounds, method="highs")
    assert res.status == 0, res.message
    x = dict(zip(names, res.x))
    x["P1"], x["P2"] = k0 * x["s0"] + k1 * x["s1"], k2 * x["t2"]
    return float(res.fun), x


def _supervisor(data: dict) -> Supervisor:
    return Supervisor(site_from_dict(copy.deepcopy(data)), {}, SupervisorConfig(cycle_s=36000.0, time_budget_s=20.0))


@pytest.mark.parametrize("site_load_mw", [20.0, 30.0], ids=["contract_binds", "import_above_minimum"])
def test_textbook_site_matches_independent_linprog(site_load_mw):
    snap = {**SNAP, "site_load_mw": site_load_mw}
    mine, x = _linprog_textbook(snap, site_load_mw)
    p = _supervisor(TEXTBOOK).step(dict(snap))
    assert p.status == "optimal", (p.status, p.warnings)
    assert p.proposed_kpis["cost_per_h"] == pytest.approx(mine, rel=REL)
    assert p.stats["objective"] == pytest.approx(mine, rel=REL)
    for tag, mine_v in (("B1.steam_tph", x["b1"]), ("B2.steam_tph", x["b2"]), ("T1.power_mw", x["P1"]), ("T2.power_mw", x["P2"]),
                        ("T1.extraction0_tph", x["s0"] - x["s1"]), ("LD1.steam_tph", x["l1"]), ("LD2.steam_tph", x["l2"])):
        assert p.setpoints[tag] == pytest.approx(mine_v, rel=REL, abs=1e-5), tag
    assert p.proposed_kpis["power_import_mw"] == pytest.approx(x["imp"], rel=REL, abs=1e-6)
    assert x["b2"] > 1.0  # B2 (feedwater by temperature and pressure) is in the optimum
    if site_load_mw == 20.0:  # the contract minimum binds: import held at it, generation = load - minimum
        assert x["imp"] == pytest.approx(12.0, abs=1e-6) and x["short"] == pytest.approx(0.0, abs=1e-6)
        assert x["P1"] + x["P2"] == pytest.approx(8.0, abs=1e-6)


def test_textbook_site_condensing_exhaust_in_the_simulator():
    """The condensing section's power is ``m (h_MP - h_exhaust)`` and the condenser takes
    ``m (h_exhaust - h_f(0.1 bar a))``, as the data sheet says; no deaerator steam."""
    site = site_from_dict(copy.deepcopy(TEXTBOOK))
    sim = PlantSimulator(site)
    d = Disturbances(timestamp=pd.Timestamp("2026-03-02 10:00"), ambient_temp_c=30.0, site_load_mw=20.0,
                     consumer_demand_tph={"HPC": 20.0, "MPC": 60.0, "LPC": 50.0})
    sp = Setpoints(boiler_steam_tph={"B1": 120.0, "B2": 40.0}, boilers_on_master={"B1"}, turbine_power_mw={"T1": 6.0, "T2": 3.0},
                   turbine_extraction_tph={"T1": [30.0]})
    st = sim.simulate(sp, d)
    s0, s1 = st["T1.s0_flow_tph"], st["T1.s1_flow_tph"]
    assert s0 - s1 == pytest.approx(30.0, abs=1e-9)
    assert 0.97 * (s0 * (H_HP - H_MP) + s1 * (H_MP - H_EXHAUST)) / 3600.0 == pytest.approx(6.0, rel=1e-9)
    assert st["T1.s1_exhaust_kj_kg"] == pytest.approx(H_EXHAUST, rel=1e-12)
    h_f = IAPWS97(P=0.01, x=0.0).h
    assert st["C.duty_mw"] == pytest.approx(s1 * (H_EXHAUST - h_f) / 3600.0, rel=1e-9)
    assert st["deaerator.steam_tph"] == 0.0
    for b in st.headers.values():
        assert abs(b.mass_residual_tph()) < 1e-9 and abs(b.energy_residual_mw()) < 1e-9


# ---------------------------------------------------------------------- (b) desuperheating water by its own state


def _letdown_site(water: dict) -> dict:
    return {
        "name": "letdown water",
        "steam": {"deaerator_steam_header": "LP"},
        "headers": {"HP": {"pressure_barg": 40.0, "temp_c": 400.0}, "LP": {"pressure_barg": 4.0, "temp_c": 180.0}},
        "fuels": {"gas": {"price_per_gj": 300.0}},
        "boilers": {"B": {"header": "HP", "fuels": ["gas"], "min_steam_tph": 0.0, "max_steam_tph": 200.0, "efficiency": 0.9}},
        "letdowns": {"LD": {"inlet": "HP", "outlet": "LP", "max_flow_tph": 150.0, "desuperheat_water": water}},
        "consumers": {"C": {"header": "LP", "demand_tph": 80.0}},
    }


@pytest.mark.parametrize("state", [
    {"pressure_barg": 20.0, "entropy_kj_kgk": 1.4},     # compressed liquid (about 105 C at 21 bar a)
    {"pressure_barg": 6.0, "entropy_kj_kgk": 2.2},      # wet: between saturated liquid (1.93) and vapour (6.76) at 7 bar a
], ids=["subcooled", "wet"])
def test_letdown_water_by_pressure_and_entropy_matches_iapws_balance(state):
    site = site_from_dict(_letdown_site(state))
    p_w = state["pressure_barg"] + ATM
    w = IAPWS97(P=p_w / 10.0, s=state["entropy_kj_kgk"])
    if state["entropy_kj_kgk"] == 2.2:
        assert 0.0 < w.x < 1.0  # really wet
    h_w = w.h
    h_in = IAPWS97(P=(40.0 + ATM) / 10.0, T=400.0 + 273.15).h
    h_out = IAPWS97(P=(4.0 + ATM) / 10.0, T=180.0 + 273.15).h
    ratio = (h_in - h_out) / (h_out - h_w)     # mass: out = steam + water; energy: steam h_in + water h_w = out h_out
    props = compute_properties(site)
    assert props.letdown_water_kj_kg["LD"] == pytest.approx(h_w, rel=REL)
    assert props.letdown_water_ratio["LD"] == pytest.approx(ratio, rel=REL)
    # the simulator: the letdown's water and its outlet header's balance
    st = PlantSimulator(site).simulate(
        Setpoints(boiler_steam_tph={"B": 90.0}, boilers_on_master={"B"}),
        Disturbances(timestamp=pd.Timestamp("2026-03-02 10:00"), ambient_temp_c=30.0, consumer_demand_tph={"C": 80.0}))
    steam_tph, water_tph = st["LD.steam_tph"], st["LD.water_tph"]
    assert steam_tph > 10.0 and water_tph == pytest.approx(steam_tph * ratio, rel=REL)
    assert steam_tph * h_in + water_tph * h_w == pytest.approx((steam_tph + water_tph) * h_out, rel=REL)
    lp = st.headers["LP"]
    assert abs(lp.mass_residual_tph()) < 1e-9 and abs(lp.energy_residual_mw()) < 1e-9
    # the optimiser: the same ratio in its LP header balance (letdown flow and its water reach LP)
    sup = Supervisor(site, {}, SupervisorConfig(cycle_s=36000.0, time_budget_s=20.0))
    p = sup.step(
        {"timestamp": "2026-03-02T10:00:00", "ambient_temp_c": 30.0, "C.steam_tph": 80.0, "B.steam_tph": 90.0})
    assert p.status == "optimal", (p.status, p.warnings)
    m = sup.model
    assert m.ld["LD"].value * (1.0 + ratio) == pytest.approx(80.0 + m.da_steam.value, rel=REL)  # LP: letdown + its water = consumer + deaerator


# ---------------------------------------------------------------------- (c) Willans lines from Sun & Smith (2015)

# the paper's regression coefficients x = x1 + x2 P_in + x3 P_out (bar a), typed here from the
# source the module cites (github.com/Norvell-git/SteamSystems turbines/functions/base.py, f_abc)
# Sun & Smith's table as quoted (citing the paper) by OpenPinch and IDAES-Steam-System; typed here
# independently of optimizer/site/willans.py (tests/test_willans_sources.py has the sources)
BP = {"a": (1.18795366, -0.00029564, 0.004647288), "b": (449.9767142, 5.670176939, -11.5045814),
      "c": (0.205149333, -0.000695171, 0.002844611)}
COND = {"a": (1.314991261, -0.001634725, -0.367975103), "b": (-437.7746025, 29.00736723, 10.35902331),
        "c": (0.07886297, 0.000528327, -0.703153891)}


def _sun_smith_kw(p_in: float, t_in: float, p_out: float, m_kg_s: float, m_max_kg_s: float) -> float:
    """Shaft power (kW) of the Willans line W = n m - W_int, written from the paper's formulas."""
    inlet = IAPWS97(P=p_in / 10.0, T=t_in + 273.15)
    dh = inlet.h - IAPWS97(P=p_out / 10.0, s=inlet.s).h
    k = COND if p_out < 1.013 else BP
    a, b, c = (k[x][0] + k[x][1] * p_in + k[x][2] * p_out for x in ("a", "b", "c"))
    n = (1 + c) / a * (dh - b / m_max_kg_s)
    w_int = c / a * (m_max_kg_s * dh - b)
    return n * m_kg_s - w_int


def _willans_site(p_in_barg: float, t_in: float, outlet: dict, max_tph: float) -> dict:
    cond = "pressure_bara" in outlet
    site = {
        "name": "sun and smith",
        "steam": {"deaerator_steam_header": "HP" if cond else "LP"},
        "headers": {"HP": {"pressure_barg": p_in_barg, "temp_c": t_in}},
        "fuels": {"gas": {"price_per_gj": 300.0}},
        "boilers": {"B": {"header": "HP", "fuels": ["gas"], "min_steam_tph": 0.0, "max_steam_tph": 200.0, "efficiency": 0.9}},
        "turbines": {"T": {"inlet": "HP", "drive": "generator", "max_power_mw": 40.0,
                           "sections": [{"outlet": "C" if cond else "LP", "model": "willans", "max_flow_tph": max_tph}]}},
        "consumers": {"HPC": {"header": "HP", "demand_tph": 10.0}},
        "electricity": {"site_load_mw": 5.0, "max_import_mw": 50.0, "default_price_per_mwh": 2000.0},
    }
    if cond:
        site["condensers"] = {"C": outlet}
    else:
        site["headers"]["LP"] = outlet
    return site


@pytest.mark.parametrize("p_in, t_in, outlet, p_out", [
    (79.0 - ATM + 1.0, 500.0, {"pressure_barg": 20.0 - ATM, "temp_c": 400.0}, 20.0),   # back-pressure, 80 -> 20 bar(a)
    (41.0 - ATM, 420.0, {"pressure_barg": 4.0, "temp_c": 200.0}, 4.0 + ATM),            # back-pressure, to LP
    (10.0 - ATM, 300.0, {"pressure_bara": 0.1}, 0.1),                                     # condensing, 10 -> 0.1 bar(a)
    (60.0 - ATM, 480.0, {"pressure_bara": 0.08}, 0.08),                                   # condensing
], ids=["bp_80_20", "bp_41_5", "cond_10_0.1", "cond_60_0.08"])
def test_sun_smith_willans_line_matches_the_papers_coefficients(p_in, t_in, outlet, p_out):
    max_tph = 43.2  # 12 kg/s
    site = site_from_dict(_willans_site(p_in, t_in, outlet, max_tph))
    sp = compute_properties(site).sections["T"][0]
    p_in_bara = p_in + ATM
    for m_tph in (10.0, 30.0, 43.2):
        mine_mw = _sun_smith_kw(p_in_bara, t_in, p_out, m_tph / 3.6, max_tph / 3.6) / 1000.0
        assert sp.slope_mw_per_tph * m_tph - sp.intercept_mw == pytest.approx(mine_mw, rel=REL)


def test_sun_smith_reproduces_the_five_figure_implementations_test_values():
    """Shaft powers (kW) listed by an open implementation that uses the table rounded to five
    figures, for 12 kg/s maximum flow (Norvell-git/SteamSystems tests, commit 400f565): 80 bar(a)
    500 C -> 20 bar(a) at 12 kg/s: 3273.0215; 10 bar(a) 300 C -> 0.1 bar(a) at 12 and at 10 kg/s:
    7671.6389, 6375.3476. Within 5e-5: what the five-figure rounding moves a line by (4.2e-5 at
    most in tests/test_willans_sources.py); a wrong coefficient such as c1 = 7.8863e-3 moves the
    last value by 1.4 %."""
    from optimizer.site.willans import sun_smith_line

    for p_in, t_in, p_out, m, published_kw in ((80.0, 500.0, 20.0, 12.0, 3273.0215), (10.0, 300.0, 0.1, 12.0, 7671.6389),
                                                (10.0, 300.0, 0.1, 10.0, 6375.3476)):
        inlet = IAPWS97(P=p_in / 10.0, T=t_in + 273.15)
        dh = inlet.h - IAPWS97(P=p_out / 10.0, s=inlet.s).h
        line = sun_smith_line(p_in, p_out, dh, 12.0 * 3.6)
        assert (line.slope_mw_per_tph * m * 3.6 - line.intercept_mw) * 1000.0 == pytest.approx(published_kw, rel=5e-5)


def test_sun_smith_line_runs_in_optimiser_and_simulator_alike():
    """The correlation's line is the section's model in both: the simulator's shaft power at a
    flow and the optimiser's coefficients come from the same SectionProperties."""
    site = site_from_dict(_willans_site(41.0 - ATM, 420.0, {"pressure_barg": 4.0, "temp_c": 200.0}, 80.0))
    sec = site.turbines["T"].sections[0]
    assert sec.isentropic_efficiency is None and sec.no_load_flow_fraction is None
    sim = PlantSimulator(site)
    mine_mw = _sun_smith_kw(41.0, 420.0, 4.0 + ATM, 50.0 / 3.6, 80.0 / 3.6) / 1000.0
    assert sim.turbines["T"].section_power_mw(0, 50.0) == pytest.approx(mine_mw, rel=REL)


# ---------------------------------------------------------------------- validation of each convention


def _issues(data: dict) -> str:
    with pytest.raises(SiteError) as exc:
        site_from_dict(data)
    return str(exc.value)


def test_willans_needs_both_or_neither_of_efficiency_and_no_load_flow():
    data = _willans_site(41.0 - ATM, 420.0, {"pressure_barg": 4.0, "temp_c": 200.0}, 80.0)
    data["turbines"]["T"]["sections"][0]["isentropic_efficiency"] = 0.75
    msg = _issues(data)
    assert "turbines.T.sections[0].no_load_flow_fraction" in msg and "required for a willans section that gives isentropic_efficiency" in msg
    data["turbines"]["T"]["sections"][0]["no_load_flow_fraction"] = 0.08
    assert site_from_dict(data).turbines["T"].sections[0].no_load_flow_fraction == 0.08


def test_condensing_enthalpy_drop_needs_a_stated_exhaust():
    data = copy.deepcopy(TEXTBOOK)
    del data["turbines"]["T1"]["sections"][1]["exhaust_enthalpy_kj_kg"]
    msg = _issues(data)
    assert "turbines.T1.sections[1].model" in msg and "needs exhaust_enthalpy_kj_kg or enthalpy_drop_kj_kg" in msg
    data["turbines"]["T1"]["sections"][1]["enthalpy_drop_kj_kg"] = H_MP - H_EXHAUST   # the same section, by its drop
    sp = compute_properties(site_from_dict(data)).sections["T1"][1]
    assert sp.design_exhaust_enthalpy_kj_kg == pytest.approx(H_EXHAUST, rel=1e-12)
    del data["turbines"]["T1"]["sections"][1]["enthalpy_drop_kj_kg"]
    data["turbines"]["T1"]["sections"][1]["exhaust_enthalpy_kj_kg"] = 150.0   # below the condensate (191.8 kJ/kg at 0.1 bar a)
    assert "must exceed the condensate's" in _issues(data)
    data["turbines"]["T1"]["sections"][1].update(enthalpy_drop_kj_kg=400.0, exhaust_enthalpy_kj_kg=2550.0)
    assert "give enthalpy_drop_kj_kg or exhaust_enthalpy_kj_kg, not both" in _issues(data)


def test_drop_above_isentropic_is_warned_unless_a_textbook_simplification(caplog):
    data = copy.deepcopy(TEXTBOOK)
    data["turbines"]["T1"]["sections"][1]["exhaust_enthalpy_kj_kg"] = 2150.0   # below the isentropic exhaust (about 2184 kJ/kg)
    with caplog.at_level("WARNING", logger="optimizer.site.loader"):
        site = site_from_dict(copy.deepcopy(data))
    assert len(site.warnings) == 1 and "turbines.T1.sections[1]" in site.warnings[0] and "exceeds the isentropic drop" in site.warnings[0]
    assert "exceeds the isentropic drop" in caplog.text
    data["turbines"]["T1"]["sections"][1]["textbook_drop"] = True
    assert site_from_dict(data).warnings == ()
    assert site_from_dict(copy.deepcopy(TEXTBOOK)).warnings == ()


def test_feedwater_and_water_states_are_validated():
    data = copy.deepcopy(TEXTBOOK)
    data["boilers"]["B2"]["feedwater_enthalpy_kj_kg"] = 500.0   # with a temperature as well
    assert "boilers.B2.feedwater_temp_c" in _issues(data)
    data = copy.deepcopy(TEXTBOOK)
    data["letdowns"]["LD1"]["desuperheat_water"]["entropy_kj_kgk"] = 1.3   # temperature and entropy
    assert "letdowns.LD1.desuperheat_water" in (msg := _issues(data)) and "exactly one of temp_c, enthalpy_kj_kg, entropy_kj_kgk" in msg
    data = copy.deepcopy(TEXTBOOK)
    data["letdowns"]["LD1"]["desuperheat_water"] = {"pressure_barg": 15.0, "enthalpy_kj_kg": 3000.0}   # hotter than MP (2950)
    assert "letdowns.LD1.desuperheat_water" in (msg := _issues(data)) and "must be below the outlet header MP's 2950.0 kJ/kg" in msg
    data = copy.deepcopy(TEXTBOOK)
    data["steam"]["deaerator"] = True   # a stated site feedwater enthalpy needs no deaerator
    assert "steam.feedwater_enthalpy_kj_kg" in _issues(data)
    data = copy.deepcopy(TEXTBOOK)
    data["steam"]["deaerator_steam_header"] = "LP"
    assert "steam.deaerator_steam_header" in _issues(data)


def test_header_spray_water_state_is_used_for_header_and_letdowns():
    data = copy.deepcopy(TEXTBOOK)
    data["headers"]["LP"]["spray_water"] = {"pressure_barg": 8.0, "temp_c": 60.0}
    props = compute_properties(site_from_dict(data))
    h_w = _iapws_h(8.0 + ATM, temp_c=60.0)
    assert props.header_spray_water_kj_kg["LP"] == pytest.approx(h_w, rel=1e-9)
    assert props.letdown_water_kj_kg["LD2"] == pytest.approx(h_w, rel=1e-9)
    assert props.letdown_water_ratio["LD2"] == pytest.approx((H_MP - H_LP) / (H_LP - h_w), rel=1e-9)
    assert props.header_spray_water_kj_kg["MP"] == H_FW   # the site's stated feedwater where a header states none


SMALL_CONDENSING_TOML = """
name = "small condensing"
[steam]
deaerator = false
feedwater_enthalpy_kj_kg = 440.0
[headers.HP]
pressure_barg = 40.0
enthalpy_kj_kg = 3210.0
[fuels.gas]
price_per_gj = 300.0
[boilers.B]
header = "HP"
fuels = ["gas"]
min_steam_tph = 0.0
max_steam_tph = 100.0
efficiency = 0.9
[turbines.T]
inlet = "HP"
drive = "generator"
max_power_mw = 30.0
[[turbines.T.sections]]
outlet = "C"
model = "enthalpy_drop"
exhaust_enthalpy_kj_kg = {exhaust}
max_flow_tph = 60.0
[condensers.C]
pressure_bara = 0.1
[consumers.HPC]
header = "HP"
demand_tph = 20.0
[electricity]
site_load_mw = 10.0
max_import_mw = 30.0
default_price_per_mwh = 2000.0
"""


def test_site_check_prints_the_warning(tmp_path, capsys):
    from scenarios.cli import main

    path = tmp_path / "site.toml"
    path.write_text(SMALL_CONDENSING_TOML.replace("{exhaust}", "1900.0"))   # isentropic exhaust at 0.1 bar(a): about 2139 kJ/kg
    assert main(["site", "check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "warning: turbines.T.sections[0]: the stated drop 1310.0 kJ/kg exceeds the isentropic drop" in out
    path.write_text(SMALL_CONDENSING_TOML.replace("{exhaust}", "2300.0"))
    assert main(["site", "check", str(path)]) == 0
    assert "warning" not in capsys.readouterr().out
