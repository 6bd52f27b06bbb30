"""The extraction-condensing turbogenerator TG3 (issue 17 item 2): its own campaign, its learned
inlet steam as a function of power AND extraction, embedded exactly in the cycle."""

from __future__ import annotations

import dataclasses
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import linprog

from optimizer.site.loader import load_site
from optimizer.site.model import extraction_condensing_generators
from optimizer.supervisor import Supervisor
from scenarios.plant.campaign import CampaignConfig, IdentificationCampaign
from scenarios.plant.inputs import Disturbances
from scenarios.plant.practice import todays_practice
from scenarios.plant.simulator import PlantSimulator
from scenarios.plant.snapshots import snapshot_from_state
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "scenarios/sites/reference_olefins.toml"
MODELS = ROOT / "scenarios/models/reference_olefins"


@pytest.fixture(scope="module")
def site():
    return load_site(SITE)


def _timestamps(hours: float) -> list[pd.Timestamp]:
    return list(pd.date_range("2026-01-05", periods=int(hours * 4), freq="15min"))


def test_site_campaign_is_unchanged_by_an_ectg(site):
    """Adding TG3 to the site changes no other unit's campaign setpoint (TG3 is held off): so the
    other units' training data, and the bundled models, stay as they were."""
    assert extraction_condensing_generators(site) == ["TG3"]
    without = dataclasses.replace(site, turbines={t: v for t, v in site.turbines.items() if t != "TG3"})
    ts = _timestamps(72)
    with_tg3 = IdentificationCampaign(site, ts, CampaignConfig(seed=11))
    without_tg3 = IdentificationCampaign(without, ts, CampaignConfig(seed=11))
    for t in ts[::7]:
        d = Disturbances(timestamp=t)
        a, b = with_tg3(site, d), without_tg3(without, d)
        assert "TG3" not in a.turbine_power_mw and "TG3" not in a.turbine_extraction_tph
        for f in dataclasses.fields(a):
            assert getattr(a, f.name) == getattr(b, f.name), f.name


def test_ectg_campaign_covers_the_operating_diagram(site):
    """Stepped in its own campaign, TG3's power and extraction stay inside its operating diagram
    (the true plant delivers them without a note) and spread over it."""
    ts = _timestamps(24 * 20)
    camp = IdentificationCampaign(site, ts, CampaignConfig(seed=11, step_units=("TG3",)))
    sim = PlantSimulator(site)
    tur = site.turbines["TG3"]
    powers, extractions = [], []
    for t in ts[::16]:
        d = Disturbances(timestamp=t)
        sp = camp(site, d)
        p, (x,) = sp.turbine_power_mw["TG3"], sp.turbine_extraction_tph["TG3"]
        state = sim.simulate(sp, d)
        assert not [n for n in state.notes if n.startswith("TG3")], state.notes
        assert abs(state["TG3.power_mw"] - p) < 1e-6 and abs(state["TG3.extraction0_tph"] - x) < 1e-9
        m0, m1 = state["TG3.s0_flow_tph"], state["TG3.s1_flow_tph"]
        assert tur.sections[0].min_flow_tph - 1e-9 <= m0 <= tur.sections[0].max_flow_tph + 1e-9
        assert tur.sections[1].min_flow_tph - 1e-9 <= m1 <= tur.sections[1].max_flow_tph + 1e-9
        powers.append(p)
        extractions.append(x)
    assert min(powers) < 6.0 and max(powers) > 17.0
    assert min(extractions) < 15.0 and max(extractions) > 95.0
    with pytest.raises(ValueError, match=r"step_units.*\['TG1'\].*not extraction-condensing"):
        IdentificationCampaign(site, ts[:4], CampaignConfig(step_units=("TG1",)))


def _enumerate(net, lo, hi, c_p, c_x, c_y):
    """min c_p P + c_x X + c_y f(P, X) over the box, one linprog per activation pattern (one hidden layer)."""
    W, b = net.weights[0], net.biases[0]
    w2, b2 = net.weights[1][0], net.biases[1][0]
    best = np.inf
    for bits in itertools.product([0, 1], repeat=len(b)):
        on = np.array(bits, bool)
        rows = np.where(on[:, None], -W, W)
        rhs = np.where(on, b, -b)
        grad = (w2 * on) @ W
        res = linprog(np.array([c_p, c_x]) + c_y * grad, A_ub=rows, b_ub=rhs, bounds=list(zip(lo, hi)), method="highs")
        if res.status == 0:
            best = min(best, res.fun + c_y * (float((w2 * on) @ b) + b2))
    return best


def _supervisor_and_snapshot(site, hour: int, can_switch_off: bool = False):
    tg3 = dataclasses.replace(site.turbines["TG3"], can_switch_off=can_switch_off)
    s = dataclasses.replace(site, turbines={**site.turbines, "TG3": tg3})
    d = Disturbances(timestamp=pd.Timestamp(f"2026-01-06 {hour:02d}:00"))
    sp = todays_practice(s, d)  # practice keeps TG3 on standby; here it runs at 8 MW, 30 t/h extraction
    sp.turbine_power_mw["TG3"], sp.turbine_extraction_tph["TG3"] = 8.0, [30.0]
    state = PlantSimulator(s).simulate(sp, d)
    assert state["TG3.power_mw"] == pytest.approx(8.0)
    snap = snapshot_from_state(s, state, d)
    return Supervisor(s, load_model_dir(MODELS)), snap, s, d


@pytest.mark.parametrize("hour", [3, 14])
def test_cycle_proposal_agrees_with_onnxruntime_and_the_true_plant(site, hour):
    """A cycle with TG3 running: optimal; its inlet steam in the proposal is the bundled network's
    (onnxruntime) at the proposed power and extraction to 1e-6; the proposal's TG3 setpoints inside
    the diagram, and the true plant's inlet within the model's accuracy (3 %)."""
    sup, snap, s, d = _supervisor_and_snapshot(site, hour)
    prop = sup.step(snap)
    assert prop.status == "optimal", (prop.status, prop.warnings)
    assert sup.ectg["TG3"].name == "TG3_steam"
    assert prop.surrogate_agreement["TG3_steam"] <= 1e-6
    sp = prop.setpoints
    p, x = sp["TG3.power_mw"], sp["TG3.extraction0_tph"]
    assert s.turbines["TG3"].min_power_mw - 1e-6 <= p <= s.turbines["TG3"].max_power_mw + 1e-6
    model = sup.ectg["TG3"].model
    inlet_model = float(model.evaluate({"TG3.power_mw": p, "TG3.extraction0_tph": x})[0])
    flow = pyo_value(sup.model.flow["TG3", 0])
    assert abs(flow - inlet_model) <= 1e-6 * inlet_model
    true = PlantSimulator(s).turbines["TG3"].solve(p, [x])
    assert not true[3], true[3]
    assert abs(true[0][0] - inlet_model) <= 0.03 * true[0][0]


def pyo_value(v) -> float:
    import pyomo.environ as pyo

    return float(pyo.value(v))


def test_embedded_optimum_equals_activation_pattern_enumeration(site):
    """The embedded TG3 network alone (the Supervisor's own Params for a box): its optimum of a
    price-like objective equals the enumeration of activation patterns (scipy linprog) to 1e-6."""
    from optimizer.ectg import ectg_values
    from optimizer.relu_embedding import standalone_model

    sup, _, _, _ = _supervisor_and_snapshot(site, 3)
    unit = sup.ectg["TG3"]
    net = unit.model.network
    m, emb = standalone_model(net, [unit.power_tag, unit.extraction_tag])
    from optimizer.config import TUNED_HIGHS_OPTIONS
    from optimizer.highs_direct import HighsDirect

    solver = HighsDirect(m, dict(TUNED_HIGHS_OPTIONS))
    rng = np.random.default_rng(17)
    for _ in range(6):
        p0, x0 = rng.uniform(3.0, 20.0), rng.uniform(0.0, 110.0)
        lo = np.array([max(3.0, p0 - 4.0), max(0.0, x0 - 20.0)])
        hi = np.array([min(20.0, p0 + 4.0), min(112.0, x0 + 20.0)])
        values = ectg_values(emb, lo, hi)
        for prm, v in zip(emb.param_data, values):
            prm.set_value(float(v))
        c_p, c_x, c_y = -rng.uniform(2000, 4000), rng.uniform(-300, 300), rng.uniform(700, 1100)
        m.c_x[unit.power_tag], m.c_x[unit.extraction_tag], m.c_y["TG3.inlet_tph"] = c_p, c_x, c_y
        res = solver.solve(solver.arrays(solver.template.values()), 60.0, 1e-9)
        ref = _enumerate(net, lo, hi, c_p, c_x, c_y)
        assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref)), (res.objective, ref)
