"""Learned duct firing (issue 17 item 2): the true oxygen-limited duct of the simulator, its own
campaign, the learned GTx_duct as a function of GT power AND duct fuel, embedded exactly in the
cycle, and the refusal of a learned duct without its model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyomo.repn import generate_standard_repn

from optimizer.site.loader import load_site, site_from_dict
from optimizer.site.model import learned_ducts
from optimizer.site.schema import DataFileError
from optimizer.supervisor import Supervisor
from scenarios.plant.campaign import CampaignConfig, IdentificationCampaign
from scenarios.plant.inputs import Disturbances
from scenarios.plant.practice import todays_practice
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir
from tests.test_ectg import _enumerate

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "scenarios/sites/reference_olefins.toml"
MODELS = ROOT / "scenarios/models/reference_olefins"
AMB = 30.0


@pytest.fixture(scope="module")
def site():
    return load_site(SITE)


@pytest.fixture(scope="module")
def models():
    return load_model_dir(MODELS)


def _dh_gj_per_t(curve) -> float:
    return (curve.hrsg_steam_kj_kg - curve.hrsg_feedwater_kj_kg) / 1000.0


# ----------------------------------------------------------------------------- the true duct


def test_true_duct_is_oxygen_limited_and_a_joint_function_of_load_and_fuel(site):
    """The simulator's duct: the usable fuel from the exhaust's oxygen balance by hand (site numbers:
    508 t/h exhaust at base, 80-100 % of it at part load, 11.5 % O2 left at least), the fired steam
    eta_0 (F - beta F^2 / (2 F_u)) / dh, marginal efficiency falling with the firing, and a load
    effect that differs with the firing (not additive); the inverse gives the fuel back."""
    assert learned_ducts(site) == ["GT1", "GT2"]
    c = PlantSimulator(site).gts["GT1"]
    h = site.gas_turbines["GT1"].hrsg
    base = c.base_power_mw(AMB, 0.0)
    for power, rel_flow in ((base, 1.0), (0.6 * base, 0.86), (0.4 * base, 0.80)):
        m_ex = 508.0 * rel_flow
        o2_left = 0.2314 * m_ex - 0.0798 * c.fuel_gj_h(power, AMB, 0.0) - 0.115 * 32.0 / 28.4 * m_ex
        f_u = o2_left / 0.0798
        assert c.duct_usable_fuel_gj_h(power, AMB, 0.0) == pytest.approx(f_u, rel=1e-9)
        for fuel in (12.0, 50.0, 88.0):
            want = 0.98 * (fuel - 0.3 * fuel**2 / (2.0 * f_u)) / _dh_gj_per_t(c)
            got = c.duct_steam_tph(power, fuel, AMB, 0.0)
            assert got == pytest.approx(want, rel=1e-12)
            assert c.duct_fuel_for_steam_gj_h(got, power, AMB, 0.0) == pytest.approx(fuel, rel=1e-9)
            # marginal efficiency (central difference) = eta_0 (1 - beta F / F_u)
            slope = (c.duct_steam_tph(power, fuel + 0.01, AMB, 0.0) - c.duct_steam_tph(power, fuel - 0.01, AMB, 0.0)) / 0.02
            assert slope * _dh_gj_per_t(c) == pytest.approx(0.98 * (1.0 - 0.3 * fuel / f_u), rel=1e-6)
    assert c.duct_usable_fuel_gj_h(base, AMB, 0.0) < c.duct_usable_fuel_gj_h(0.4 * base, AMB, 0.0)  # less spare O2 at base
    # not additive: what the extra load does to the fired steam depends on the firing
    lo, hi = 0.4 * base, base
    light = c.duct_steam_tph(hi, 20.0, AMB, 0.0) - c.duct_steam_tph(lo, 20.0, AMB, 0.0)
    heavy = c.duct_steam_tph(hi, 88.0, AMB, 0.0) - c.duct_steam_tph(lo, 88.0, AMB, 0.0)
    assert heavy < light - 0.2, (light, heavy)  # t/h
    # the oxygen limit: beyond F_u no more fuel burns, no steam that needs it is reachable
    f_u = c.duct_usable_fuel_gj_h(base, AMB, 0.0)
    assert c.duct_steam_tph(base, 2.0 * f_u, AMB, 0.0) == pytest.approx(c.duct_steam_tph(base, f_u, AMB, 0.0))
    assert c.duct_fuel_for_steam_gj_h(c.duct_steam_tph(base, f_u, AMB, 0.0) + 1.0, base, AMB, 0.0) == float("inf")
    assert h.duct_curve == "learned"


def test_simulator_fires_the_fuel_for_the_set_steam_within_the_burner(site):
    """The burner master holds the set duct steam, firing the true fuel (above the additive figure);
    a burner too small for the setpoint delivers what its capacity fires, with a note; a duct without
    exhaust data stays additive at duct_efficiency (the other sites' ducts)."""
    d = Disturbances(timestamp=pd.Timestamp("2026-01-06 14:00"))
    sp = todays_practice(site, d)
    state = PlantSimulator(site).simulate(sp, d)
    c = PlantSimulator(site).gts["GT1"]
    p, amb = state["GT1.power_mw"], state["ambient_temp_c"]
    assert state["GT1.duct_steam_tph"] == pytest.approx(10.0)
    assert state["GT1.duct_fuel_gj_h"] == pytest.approx(c.duct_fuel_for_steam_gj_h(10.0, p, amb, state["GT1.fouling_hours"]), rel=1e-12)
    assert state["GT1.duct_fuel_gj_h"] > 10.0 * _dh_gj_per_t(c) / 0.98 * 1.01
    small = dataclasses.replace(site.gas_turbines["GT1"], hrsg=dataclasses.replace(site.gas_turbines["GT1"].hrsg, duct_max_fuel_gj_h=40.0))
    s_small = dataclasses.replace(site, gas_turbines={**site.gas_turbines, "GT1": small})
    sp.duct_steam_tph["GT1"] = 30.0
    st_small = PlantSimulator(s_small).simulate(sp, d)
    assert st_small["GT1.duct_fuel_gj_h"] == pytest.approx(40.0)
    assert st_small["GT1.duct_steam_tph"] == pytest.approx(PlantSimulator(s_small).gts["GT1"].duct_steam_tph(p, 40.0, amb, state["GT1.fouling_hours"]))
    assert any(n.startswith("GT1: duct steam setpoint 30.00 t/h limited") for n in st_small.notes), st_small.notes
    additive = dataclasses.replace(site.gas_turbines["GT1"], hrsg=dataclasses.replace(site.gas_turbines["GT1"].hrsg, exhaust_flow_at_base_tph=None))
    s_add = dataclasses.replace(site, gas_turbines={**site.gas_turbines, "GT1": additive})
    st_add = PlantSimulator(s_add).simulate(sp, d)
    assert st_add["GT1.duct_steam_tph"] == pytest.approx(30.0)
    assert st_add["GT1.duct_fuel_gj_h"] == pytest.approx(30.0 * _dh_gj_per_t(c) / 0.98, rel=1e-12)


# ----------------------------------------------------------------------------- campaign and model


def _timestamps(hours: float) -> list[pd.Timestamp]:
    return list(pd.date_range("2026-01-05", periods=int(hours * 4), freq="15min"))


def test_duct_campaign_covers_load_and_fuel_and_leaves_the_other_units_alone(site):
    """`--step-units GT1 GT2`: the burners lit in every hold, (power, duct steam) spread over the GT's
    range and the burner's, the true plant delivering the set steam; every other unit's setpoints as
    in the site campaign; the site campaign itself the same whether the ducts are learned or additive."""
    ts = _timestamps(24 * 20)
    plain = IdentificationCampaign(site, ts, CampaignConfig(seed=11))
    ducts = IdentificationCampaign(site, ts, CampaignConfig(seed=11, step_units=("GT1", "GT2")))
    sim = PlantSimulator(site)
    power, fuel = [], []
    for t in ts[::16]:
        d = Disturbances(timestamp=t)
        a, b = plain(site, d), ducts(site, d)
        for f in dataclasses.fields(a):
            if f.name not in ("gt_power_mw", "duct_steam_tph"):
                assert getattr(a, f.name) == getattr(b, f.name), f.name
        state = sim.simulate(b, d)
        assert not [n for n in state.notes if "duct" in n], state.notes
        for g in ("GT1", "GT2"):
            assert state[f"{g}.duct_steam_tph"] == pytest.approx(b.duct_steam_tph[g]) and b.duct_steam_tph[g] >= 5.0
            power.append(state[f"{g}.power_mw"])
            fuel.append(state[f"{g}.duct_fuel_gj_h"])
    assert min(power) < 17.0 and max(power) > 37.0
    assert min(fuel) < 15.0 and max(fuel) > 85.0
    additive = {g: dataclasses.replace(site.gas_turbines[g], hrsg=dataclasses.replace(site.gas_turbines[g].hrsg, duct_curve="additive"))
                for g in ("GT1", "GT2")}
    s_add = dataclasses.replace(site, gas_turbines={**site.gas_turbines, **additive})
    plain_add = IdentificationCampaign(s_add, ts, CampaignConfig(seed=11))
    for t in ts[::37]:
        d = Disturbances(timestamp=t)
        assert plain(site, d) == plain_add(s_add, d)
    with pytest.raises(ValueError, match=r"step_units.*\['B1'\].*nor gas turbines with learned duct firing \(those are \['GT1', 'GT2'\]\)"):
        IdentificationCampaign(site, ts[:4], CampaignConfig(step_units=("B1",)))


def test_learned_duct_has_the_falling_incremental_efficiency(site, models):
    """The bundled GT1_duct (onnxruntime) against the simulator at the design ambient: the fuel it
    needs for 30 t/h at 25 and 38 MW within 1.5 % of the true fuel, about 6 % above the additive
    figure; its incremental steam per GJ at heavy firing at least 5 % below light firing."""
    c = PlantSimulator(site).gts["GT1"]
    model = models["GT1_duct"]

    def steam(p, f):
        return float(model.evaluate({"GT1.power_mw": p, "GT1.duct_fuel_gj_h": f})[0])

    for p in (25.0, 38.0):
        fs = np.linspace(70.0, 95.0, 2501)
        learned_f = fs[np.argmin(np.abs([steam(p, f) - 30.0 for f in fs]))]
        true_f = c.duct_fuel_for_steam_gj_h(30.0, p, AMB, 0.0)
        assert abs(learned_f - true_f) <= 0.015 * true_f, (p, learned_f, true_f)
        assert learned_f > 1.04 * 30.0 * _dh_gj_per_t(c) / 0.98
        light = (steam(p, 35.0) - steam(p, 15.0)) / 20.0
        heavy = (steam(p, 88.0) - steam(p, 68.0)) / 20.0
        assert heavy < 0.95 * light, (p, light, heavy)


# ----------------------------------------------------------------------------- the cycle


def _snapshot(site, hour: int):
    d = Disturbances(timestamp=pd.Timestamp(f"2026-01-06 {hour:02d}:00"))
    state = PlantSimulator(site).simulate(todays_practice(site, d), d)
    return snapshot_from_state(site, state, d), d


@pytest.mark.parametrize("hour", [3, 14])
def test_cycle_proposal_agrees_with_onnxruntime_and_the_fuel_balance_sees_the_duct_fuel(site, models, hour):
    """A cycle with both burners lit (practice: 10 t/h each): optimal; each duct's fired steam in
    the model is the bundled network's (onnxruntime) at the proposed GT power and duct fuel to 1e-6;
    the natural-gas balance counts the duct fuel variable (coefficient 1, the steam not at all);
    applied to the true plant, the burner fires within 3 % of the model's fuel."""
    snap, d = _snapshot(site, hour)
    sup = Supervisor(site, models)
    prop = sup.step(snap)
    assert prop.status == "optimal", (prop.status, prop.warnings)
    assert set(sup.ducts) == {"GT1", "GT2"} and sup.ducts["GT1"].name == "GT1_duct"
    m = sup.model
    repn = generate_standard_repn(m.fuel["natural_gas"].expr)
    coef = {id(v): c for v, c in zip(repn.linear_vars, repn.linear_coefs)}
    lit = 0
    for g in ("GT1", "GT2"):
        assert coef[id(m.d_fuel[g])] == 1.0 and id(m.d_steam[g]) not in coef
        if pyo.value(m.d_on[g]) < 0.5:
            assert pyo.value(m.d_fuel[g]) <= 1e-9 and prop.setpoints[f"{g}.duct_steam_tph"] == 0.0
            continue
        lit += 1
        p, f, s = pyo.value(m.g_power[g]), pyo.value(m.d_fuel[g]), pyo.value(m.d_steam[g])
        served = float(models[f"{g}_duct"].evaluate({f"{g}.power_mw": p, f"{g}.duct_fuel_gj_h": f})[0])
        assert abs(s - served) <= 1e-6 * served
        assert prop.surrogate_agreement[f"{g}_duct"] <= 1e-6
        assert prop.setpoints[f"{g}.duct_steam_tph"] == pytest.approx(s, rel=1e-9)
        h = site.gas_turbines[g].hrsg
        assert h.duct_min_fuel_gj_h - 1e-6 <= f <= h.duct_max_fuel_gj_h + 1e-6
        assert h.duct_min_steam_tph - 1e-6 <= s <= h.duct_max_steam_tph + 1e-6
        true_f = PlantSimulator(site).gts[g].duct_fuel_for_steam_gj_h(s, p, snap["ambient_temp_c"], snap[f"{g}.fouling_hours"])
        assert abs(true_f - f) <= 0.03 * true_f, (g, f, true_f)
    assert lit >= 1


def _standalone(unit):
    from optimizer.config import TUNED_HIGHS_OPTIONS
    from optimizer.highs_direct import HighsDirect
    from optimizer.relu_embedding import standalone_model

    m, emb = standalone_model(unit.model.network, [unit.power_tag, unit.fuel_tag])
    return m, emb, HighsDirect(m, dict(TUNED_HIGHS_OPTIONS))


def _solve_box(site, unit, m, emb, solver, p_lo, p_hi, c_p, c_f, c_y):
    from optimizer.duct import duct_box, duct_values

    lo, hi = duct_box(site, unit.gt, p_lo, p_hi)
    h = site.gas_turbines[unit.gt].hrsg  # the box holds the GT's power box and the burner's whole fuel range
    assert lo[0] <= p_lo and hi[0] >= p_hi and lo[1] <= h.duct_min_fuel_gj_h and hi[1] >= h.duct_max_fuel_gj_h
    values = duct_values(emb, lo, hi)
    for prm, v in zip(emb.param_data, values):
        prm.set_value(float(v))
    m.c_x[unit.power_tag], m.c_x[unit.fuel_tag], m.c_y[f"{unit.gt}.duct_steam_tph"] = c_p, c_f, c_y
    return lo, hi, solver.solve(solver.arrays(solver.template.values()), 60.0, 1e-9)


def test_embedded_duct_optimum_equals_activation_pattern_enumeration(site, models):
    """The embedded duct networks alone (the cycle's own box and Params): the optimum of a
    price-like objective (fuel cost, steam value, a GT-power term of either sign) over a random GT
    power box equals the enumeration of every activation pattern (scipy linprog) to 1e-6."""
    sup = Supervisor(site, models)
    rng = np.random.default_rng(23)
    for g in ("GT1", "GT2"):
        unit = sup.ducts[g]
        m, emb, solver = _standalone(unit)
        for _ in range(6):
            p0 = rng.uniform(15.0, 39.0)
            p_lo, p_hi = max(15.0, p0 - 5.0), min(39.0, p0 + 5.0)
            c_p, c_f, c_y = rng.uniform(-3000.0, 3000.0), rng.uniform(200.0, 400.0), -rng.uniform(700.0, 1300.0)
            lo, hi, res = _solve_box(site, unit, m, emb, solver, p_lo, p_hi, c_p, c_f, c_y)
            assert res.status == "optimal"
            ref = _enumerate(unit.model.network, lo, hi, c_p, c_f, c_y)
            assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref)), (g, res.objective, ref)


@pytest.fixture(scope="module")
def duct_standalone(site, models):
    sup = Supervisor(site, models)
    unit = sup.ducts["GT1"]
    return (unit, *_standalone(unit))


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(p_a=st.floats(0.0, 50.0), p_b=st.floats(0.0, 50.0), c_p=st.floats(-5000.0, 5000.0), c_f=st.floats(-500.0, 500.0),
       c_y=st.floats(-2000.0, 2000.0))
def test_any_box_and_prices_give_a_solution_onnxruntime_agrees_with(site, duct_standalone, p_a, p_b, c_p, c_f, c_y):
    """Any GT power box (also outside the training domain) and any costs: the embedded optimum lies
    in the box and its fired steam is onnxruntime's at the solved (power, fuel) to 1e-6; HiGHS's
    objective is the objective at onnxruntime's output."""
    from optimizer.relu_embedding import check_embedding

    unit, m, emb, solver = duct_standalone
    lo, hi, res = _solve_box(site, unit, m, emb, solver, min(p_a, p_b), max(p_a, p_b), c_p, c_f, c_y)
    assert res.status == "optimal"
    solver.load_pyomo(res.x)
    chk = check_embedding(emb, unit.model)
    assert chk.ok and chk.rel_error <= 1e-6, chk
    x = chk.inputs[[unit.model.input_names.index(unit.power_tag), unit.model.input_names.index(unit.fuel_tag)]]
    assert np.all(x >= lo - 1e-7) and np.all(x <= hi + 1e-7)
    obj = c_p * x[0] + c_f * x[1] + c_y * chk.y_served[0]
    assert res.objective == pytest.approx(obj, rel=1e-6, abs=1e-6)


# ----------------------------------------------------------------------------- refusals


def test_a_learned_duct_without_its_model_is_refused_naming_it_and_how_to_train_it(site, models, tmp_path, capsys):
    from scenarios.cli import main

    without = {n: mdl for n, mdl in models.items() if n != "GT2_duct"}
    with pytest.raises(ValueError) as e:
        Supervisor(site, without)
    msg = str(e.value)
    assert 'gas_turbines.GT2.hrsg.duct_curve = "learned": the models have no duct_steam model of GT2' in msg
    assert "GT1.hrsg" not in msg
    assert "--step-units GT2" in msg and "--unit-data GT2_duct=" in msg and 'or set duct_curve = "additive"' in msg
    # the same site with the ducts additive runs without them (their fuel additive in the steam)
    additive = {g: dataclasses.replace(site.gas_turbines[g], hrsg=dataclasses.replace(site.gas_turbines[g].hrsg, duct_curve="additive"))
                for g in ("GT1", "GT2")}
    sup = Supervisor(dataclasses.replace(site, gas_turbines={**site.gas_turbines, **additive}), without)
    assert sup.ducts == {} and len(sup.model.GDL) == 0
    # the command line: one error line, no traceback
    text = SITE.read_text()
    broken = tmp_path / "models"
    broken.mkdir()
    import shutil

    from surrogate.manifest import read_manifest, write_manifest

    ref = read_manifest(MODELS)
    keep = {n: (e.file, e.inputs, e.outputs) for n, e in ref.models.items() if n != "GT1_duct"}
    for n, (f, _, _) in keep.items():
        shutil.copyfile(MODELS / f, broken / f)
    write_manifest(broken, keep, site=ref.site)
    assert main(["step", "--site", str(SITE), "--models", str(broken), "--snapshot", str(ROOT / "scenarios/snapshots/reference_olefins.json")]) == 2
    err = capsys.readouterr().err
    assert 'gas_turbines.GT1.hrsg.duct_curve = "learned"' in err and "Traceback" not in err
    assert 'duct_curve = "learned"' in text


def test_site_file_rules_for_duct_curve(site):
    """duct_curve is additive or learned; learned needs a burner and its fuel range (named field, value, rule)."""
    import tomllib

    raw = tomllib.loads(SITE.read_text())
    raw["gas_turbines"]["GT1"]["hrsg"]["duct_curve"] = "neural"
    with pytest.raises(DataFileError, match=r"gas_turbines.GT1.hrsg.duct_curve = 'neural'"):
        site_from_dict(raw, "x")
    raw["gas_turbines"]["GT1"]["hrsg"]["duct_curve"] = "learned"
    del raw["gas_turbines"]["GT1"]["hrsg"]["duct_max_fuel_gj_h"]
    with pytest.raises(DataFileError, match=r"gas_turbines.GT1.hrsg.duct_max_fuel_gj_h.*required when duct_curve = \"learned\""):
        site_from_dict(raw, "x")
    raw["gas_turbines"]["GT1"]["hrsg"]["duct_max_fuel_gj_h"] = 10.0
    with pytest.raises(DataFileError, match=r"gas_turbines.GT1.hrsg.duct_min_fuel_gj_h = 12.*must not exceed duct_max_fuel_gj_h = 10"):
        site_from_dict(raw, "x")
    raw["gas_turbines"]["GT1"]["hrsg"]["duct_max_fuel_gj_h"] = 105.0
    raw["gas_turbines"]["GT1"]["hrsg"]["duct_max_steam_tph"] = 0.0
    raw["gas_turbines"]["GT1"]["hrsg"]["duct_min_steam_tph"] = 0.0
    with pytest.raises(DataFileError, match=r"gas_turbines.GT1.hrsg.duct_curve = 'learned'.*needs a duct burner"):
        site_from_dict(raw, "x")
    # a GT on first principles keeps its duct additive
    raw["gas_turbines"]["GT1"]["hrsg"]["duct_max_steam_tph"] = 30.0
    raw["gas_turbines"]["GT1"]["curve_source"] = "first_principles"
    assert learned_ducts(site_from_dict(raw, "x")) == ["GT2"]
