"""Per-unit curve source (issue 18 item 1): learned where chosen, first principles from the site
file elsewhere, one definition of the physics for the optimiser and the simulator; a site with no
learned models runs ``step``, ``plan`` and a study."""

from __future__ import annotations

import json
import time
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest
from scipy.interpolate import PchipInterpolator

from optimizer.fp_curves import FP_LINEARISATION_RTOL, FirstPrinciplesCurves, MixedCurves, site_curves, spread, unit_quantities
from optimizer.site import compute_properties, parse_site
from optimizer.site.loader import SiteError
from optimizer.supervisor import Supervisor, SupervisorConfig
from optimizer.unit_physics import BoilerPhysics, GasTurbinePhysics
from scenarios.cli import main
from scenarios.plant.curves import BoilerCurve, GasTurbineCurve
from surrogate.manifest import load_model_dir
from tests.test_supervisor import assert_model_solution_valid

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
SITE_TEXT = SITE_FILE.read_text()
SNAPSHOT_FILE = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"
SNAPSHOT = json.loads(SNAPSHOT_FILE.read_text())
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
SITE = parse_site(SITE_TEXT, "reference")
PROPS = compute_properties(SITE)
UNITS = ["boilers.B1", "boilers.B2", "boilers.B3", "boilers.B4", "gas_turbines.GT1", "gas_turbines.GT2", "turbines.CGC",
         "turbines.PRC", "turbines.ETH", "turbines.BFP", "turbines.TG1", "turbines.TG2"]


def with_keys(text: str, keys: dict[str, str]) -> str:
    """The site text with ``key = value`` lines added right under each table header ``[table]``."""
    for table, line in keys.items():
        head = f"[{table}]\n"
        assert text.count(head) == 1, table
        text = text.replace(head, head + line + "\n")
    return text


def all_first_principles(text: str = SITE_TEXT) -> str:
    """The reference site with every boiler, gas turbine and steam turbine on first principles."""
    return with_keys(text, {u: 'curve_source = "first_principles"' for u in UNITS})


def snapshot(ambient_c: float | None = None) -> dict:
    snap = json.loads(json.dumps(SNAPSHOT))
    if ambient_c is not None:
        snap["ambient_temp_c"] = ambient_c
    return snap


def without(*names: str) -> dict:
    return {n: m for n, m in MODELS.items() if n not in names}


def assert_balances_closed(sup: Supervisor) -> None:
    """Each header's steam in = steam out with no unserved or unplaceable steam."""
    m = sup.model
    for h in m.H:
        assert pyo.value(m.unserved[h]) <= 1e-6 and pyo.value(m.unplaced[h]) <= 1e-6, h
        assert abs(pyo.value(m.mass[h].body) - pyo.value(m.mass[h].upper)) <= 1e-6 * (1.0 + abs(pyo.value(m.mass[h].upper))), h


def h_steam_minus_fw(boiler: str) -> float:
    return PROPS.header_enthalpy_kj_kg[SITE.boilers[boiler].header] - PROPS.boiler_feedwater_kj_kg[boiler]


# --------------------------------------------------------------------------- the optimum


def test_first_principles_boiler_fuel_is_the_hand_value_from_its_efficiency():
    """B1 with a constant efficiency and no model: its fuel in the optimum is
    ``steam (h_SHP - h_fw) / (1000 (eta + k (T - T_ref)))`` at the snapshot's ambient (33 C)."""
    i = SITE_TEXT.index("[boilers.B1]")
    j = SITE_TEXT.index("efficiency_curve = ", i)
    k = SITE_TEXT.index("\n", j)
    site = parse_site(SITE_TEXT[:j] + "efficiency = 0.90" + SITE_TEXT[k:], "B1 constant")
    sup = Supervisor(site, without("B1_fuel"))
    p = sup.step(snapshot(ambient_c=33.0))
    assert p.status == "optimal", p.warnings
    s = p.setpoints["B1.steam_tph"]
    assert s > 1.0
    hand = s * h_steam_minus_fw("B1") / 1000.0 / (0.90 + 0.0005 * (33.0 - 25.0))
    assert pyo.value(sup.model.b_fuel["B1"]) == pytest.approx(hand, rel=1e-6)
    assert "B1_fuel" not in sup.curves.slots  # linear: a row of the model, exact, no curve


@pytest.mark.parametrize("how", ["curve_source", "missing_model"])
def test_mixed_site_one_boiler_first_principles_steps_optimal_with_balances_closed(how):
    """B2 on first principles (its efficiency curve), every other unit learned: optimal, every row
    of the model holds, the header balances close, and B2's fuel is its efficiency curve's (PCHIP,
    computed here with scipy) to the linearisation's tolerance."""
    if how == "curve_source":  # B2's model is there but the site file says first principles
        site, models = parse_site(with_keys(SITE_TEXT, {"boilers.B2": 'curve_source = "first_principles"'}), "mixed"), MODELS
    else:  # the default (auto) with no B2 model
        site, models = SITE, without("B2_fuel")
    sup = Supervisor(site, models)
    assert isinstance(sup.curves, MixedCurves)
    assert "B2_fuel" not in sup.audit_info["model_hashes"] and "B1_fuel" in sup.audit_info["model_hashes"]
    ambient = 31.0
    p = sup.step(snapshot(ambient_c=ambient))
    assert p.status == "optimal", p.warnings
    assert not [w for w in p.warnings if "mismatch" in w], p.warnings
    assert_model_solution_valid(sup)
    assert_balances_closed(sup)
    s = p.setpoints["B2.steam_tph"]
    assert s > 1.0
    curve = SITE.boilers["B2"].efficiency_curve
    eta = float(PchipInterpolator(curve.load_fraction, curve.efficiency)(s / 160.0)) + 0.0005 * (ambient - 25.0)
    hand = s * h_steam_minus_fw("B2") / 1000.0 / eta
    fuel = pyo.value(sup.model.b_fuel["B2"])
    assert fuel == pytest.approx(hand, rel=FP_LINEARISATION_RTOL)
    assert p.surrogate_agreement["B2_fuel"] == pytest.approx(abs(fuel - hand) / hand, rel=1e-6, abs=1e-12)
    for name, rel in p.surrogate_agreement.items():
        assert rel <= (FP_LINEARISATION_RTOL if name == "B2_fuel" else 1e-6), (name, rel)


def test_learned_without_its_model_is_an_error_naming_unit_and_model():
    site = parse_site(with_keys(SITE_TEXT, {"boilers.B1": 'curve_source = "learned"', "gas_turbines.GT2": 'curve_source = "learned"'}), "x")
    Supervisor(site, MODELS)  # every model there: fine
    with pytest.raises(ValueError) as info:
        Supervisor(site, without("B1_fuel", "GT2_hrsg"))
    msg = str(info.value)
    assert 'boilers.B1.curve_source = "learned": the models have no boiler_fuel model of B1 (output B1.fuel_gj_h, e.g. B1_fuel.onnx)' in msg
    assert "gas_turbines.GT2.curve_source" in msg and "GT2_hrsg.onnx" in msg and "GT2_fuel" not in msg
    assert "steamopt surrogate train" in msg and "B3" not in msg


def test_first_principles_unit_leaves_its_model_unused():
    site = parse_site(with_keys(SITE_TEXT, {"boilers.B1": 'curve_source = "first_principles"',
                                            "turbines.TG2": 'curve_source = "first_principles"'}), "x")
    curves = site_curves(site, MODELS, PROPS)
    # TG3_steam and the ducts' models are no curves (two decisions: the multi-input embedding's,
    # optimizer/ectg.py, optimizer/duct.py)
    assert set(curves.models) == set(MODELS) - {"B1_fuel", "TG2_steam", "TG3_steam", "GT1_duct", "GT2_duct"}
    assert "TG2_steam" not in curves.slots  # its section's Willans line is a row of the model
    assert isinstance(curves._owner["B1_fuel"], FirstPrinciplesCurves)  # noqa: SLF001
    d = {"ambient_temp_c": 30.0}
    phys = BoilerPhysics(site.boilers["B1"], PROPS.header_enthalpy_kj_kg["SHP"], PROPS.boiler_feedwater_kj_kg["B1"])
    assert curves.evaluate("B1_fuel", 97.3, d) == phys.fuel_gj_h(97.3, 30.0)
    assert curves.point_evaluator("B1_fuel", d)(97.3) == phys.fuel_gj_h(97.3, 30.0)


def test_no_models_at_all_gives_first_principles_for_every_boiler_and_gas_turbine():
    curves = site_curves(SITE, {}, PROPS)
    assert isinstance(curves, FirstPrinciplesCurves)
    assert sorted(curves.slots) == ["B1_fuel", "B2_fuel", "B3_fuel", "B4_fuel", "GT1_fuel", "GT1_hrsg", "GT2_fuel", "GT2_hrsg"]
    assert site_curves(SITE, MODELS, PROPS).__class__.__name__ == "SurrogateCurves"  # all learned: as before


# --------------------------------------------------------------------------- one definition, its linearisation


def test_optimiser_and_simulator_share_one_definition():
    """The first-principles curves give exactly the simulator's values (no reality gap) wherever
    the unit runs."""
    fp = FirstPrinciplesCurves(SITE, PROPS, [(k, u) for k, u, _ in unit_quantities(SITE) if k != "turbine_steam"])
    for b, bo in SITE.boilers.items():
        sim = BoilerCurve(bo, PROPS.header_enthalpy_kj_kg[bo.header], PROPS.boiler_feedwater_kj_kg[b])
        for s in (40.0, 77.7, 160.0):
            for amb in (24.0, 35.0):
                assert fp.evaluate(f"{b}_fuel", s, {"ambient_temp_c": amb}) == sim.fuel_gj_h(s, amb)
    for g, gt in SITE.gas_turbines.items():
        sim = GasTurbineCurve(gt, PROPS.header_enthalpy_kj_kg[gt.hrsg.header], PROPS.hrsg_feedwater_kj_kg[g])
        for p in (15.0, 28.3, 40.0):
            d = {"ambient_temp_c": 29.0, f"{g}.fouling_hours": 700.0}
            assert fp.evaluate(f"{g}_fuel", p, d) == sim.fuel_gj_h(p, 29.0, 700.0)
            assert fp.evaluate(f"{g}_hrsg", p, d) == sim.unfired_steam_tph(p, 29.0, 700.0)


def test_linearisation_error_within_its_stated_bound_over_every_units_whole_range():
    """Each reference unit's curve over its whole load range (wider than any cycle's box) against
    its function on a 4001-point grid: within FP_LINEARISATION_RTOL; a constant-efficiency boiler
    is exact with two points."""
    fp = FirstPrinciplesCurves(SITE, PROPS, [(k, u) for k, u, _ in unit_quantities(SITE) if k != "turbine_steam"])
    worst = {}
    for amb in (24.0, 35.0):
        for name, s in fp.slots.items():
            if s.kind == "boiler_fuel":
                lo, hi = SITE.boilers[s.unit].min_steam_tph, SITE.boilers[s.unit].max_steam_tph
            else:
                lo, hi = SITE.gas_turbines[s.unit].min_power_mw, SITE.gas_turbines[s.unit].base_power_mw(amb, 500.0)
            d = {"ambient_temp_c": amb, f"{s.unit}.fouling_hours": 500.0}
            xs, ys = fp.breakpoints(name, lo, hi, d)
            assert len(xs) == 17 and xs[0] == lo and xs[-1] == hi
            grid = np.linspace(lo, hi, 4001)
            f = np.array([fp.evaluate(name, x, d) for x in grid])
            worst[name] = max(worst.get(name, 0.0), float(np.max(np.abs(np.interp(grid, xs, ys) - f) / np.abs(f))))
    assert max(worst.values()) <= FP_LINEARISATION_RTOL, worst
    assert min(worst.values()) > 1e-6, worst  # a smooth curve's chords are off it: the check is not vacuous
    i = SITE_TEXT.index("[boilers.B1]")
    j = SITE_TEXT.index("efficiency_curve = ", i)
    site = parse_site(SITE_TEXT[:j] + "efficiency = 0.88" + SITE_TEXT[SITE_TEXT.index("\n", j):], "const")
    lin = FirstPrinciplesCurves(site, PROPS, [("boiler_fuel", "B1")])
    xs, ys = lin.breakpoints("B1_fuel", 40.0, 160.0, {"ambient_temp_c": 30.0})
    assert len(xs) == 2 and lin.tolerance("B1_fuel") == 0.0
    for x in (40.0, 63.1, 160.0):
        assert np.interp(x, xs, ys) == pytest.approx(lin.evaluate("B1_fuel", x, {"ambient_temp_c": 30.0}), rel=1e-12)


def test_breakpoints_hold_the_kinks():
    """A kink inside the box is a breakpoint (an HRSG whose recovery curve ends inside the GT's
    range); the rest are spread over the pieces."""
    xs = spread(10.0, 40.0, [16.0, 5.0, 40.0], 8)
    assert xs[0] == 10.0 and xs[-1] == 40.0 and 16.0 in xs and len(xs) == 8 and np.all(np.diff(xs) > 0)
    fp = FirstPrinciplesCurves(SITE, PROPS, [("gt_fuel", "GT1"), ("hrsg_steam", "GT1")])
    d = {"ambient_temp_c": 24.0, "GT1.fouling_hours": 500.0}
    base = SITE.gas_turbines["GT1"].base_power_mw(24.0, 500.0)
    xs_f, _ = fp.breakpoints("GT1_fuel", 15.0, base, d)
    xs_h, _ = fp.breakpoints("GT1_hrsg", 15.0, base, d)
    assert 0.40 * base in xs_h and np.array_equal(xs_f, xs_h)  # one grid for the GT's curve group


def test_check_compares_with_the_function_and_its_tolerance():
    """The proposal check of a first-principles curve evaluates its function (not the
    linearisation, which would always agree); a mismatch beyond the curve's tolerance is flagged,
    a learned curve's at agreement_rtol."""
    site = parse_site(with_keys(SITE_TEXT, {"boilers.B2": 'curve_source = "first_principles"'}), "mixed")
    sup = Supervisor(site, MODELS)
    d = {"ambient_temp_c": 30.0}
    xs, ys = sup.curves.breakpoints("B2_fuel", 60.0, 140.0, d)
    mid = 0.5 * (xs[3] + xs[4])
    f = sup.curves.point_evaluator("B2_fuel", d)(mid)
    assert abs(f - np.interp(mid, xs, ys)) / f > 1e-7
    assert sup.curve_mismatches({"B2_fuel": 5e-4, "B1_fuel": 5e-4}) == {"B1_fuel": 5e-4}
    assert sup.curve_mismatches({"B2_fuel": 2e-3, "B1_fuel": 1e-7}) == {"B2_fuel": 2e-3}


# --------------------------------------------------------------------------- gas turbine rating table

TABLE = """rating_table = { ambient_c = [15.0, 30.0, 45.0], base_power_mw = [42.0, 37.0, 31.0], load_fraction = [0.4, 0.7, 1.0], \
heat_rate_kj_kwh = [[14500.0, 12200.0, 11000.0], [15100.0, 12700.0, 11500.0], [15900.0, 13400.0, 12200.0]] }"""


def test_rating_table_base_power_and_heat_rate_bilinear():
    site = parse_site(with_keys(SITE_TEXT, {"gas_turbines.GT1": TABLE}), "table")
    gt = site.gas_turbines["GT1"]
    assert gt.base_power_mw(22.5, 0.0) == pytest.approx(39.5, rel=1e-12)  # halfway between 42 and 37
    assert gt.base_power_mw(50.0, 0.0) == 31.0  # flat beyond the last row
    loss, rise = gt.fouling_rates()
    assert gt.base_power_mw(22.5, 1000.0) == pytest.approx(39.5 * (1.0 - loss), rel=1e-12)
    phys = GasTurbinePhysics(gt, PROPS.header_enthalpy_kj_kg["HP"], PROPS.hrsg_feedwater_kj_kg["GT1"])
    p = 0.55 * 39.5  # halfway between the 0.4 and 0.7 columns, at 22.5 C (halfway between the rows)
    hr = 0.5 * (0.5 * (14500.0 + 12200.0) + 0.5 * (15100.0 + 12700.0))
    assert phys.heat_rate_kj_kwh(p, 22.5, 0.0) == pytest.approx(hr, rel=1e-12)
    assert phys.fuel_gj_h(p, 22.5, 0.0) == pytest.approx(p * hr / 1000.0, rel=1e-12)
    p2 = 0.55 * 39.5 * (1.0 - loss)
    assert phys.fuel_gj_h(p2, 22.5, 1000.0) == pytest.approx(p2 * hr * (1.0 + rise) / 1000.0, rel=1e-12)
    sim = GasTurbineCurve(gt, PROPS.header_enthalpy_kj_kg["HP"], PROPS.hrsg_feedwater_kj_kg["GT1"])
    assert sim.fuel_gj_h(p, 22.5, 0.0) == phys.fuel_gj_h(p, 22.5, 0.0)  # the simulator's GT is the same table


def test_rating_table_gt_in_the_optimum():
    """GT1 on first principles from its rating table: its fuel at the proposal is ``P HR(T, P/P_base) / 1000``
    (hand-interpolated here) to the linearisation's tolerance, its power within the table's base power."""
    site = parse_site(with_keys(all_first_principles(), {"gas_turbines.GT1": TABLE}), "table")
    sup = Supervisor(site, {})
    snap = snapshot(ambient_c=30.0)
    snap["GT1.fouling_hours"] = 0.0
    snap["GT1.power_mw"] = 30.0
    p = sup.step(snap)
    assert p.status == "optimal", p.warnings
    power = p.setpoints["GT1.power_mw"]
    assert 15.0 <= power <= 37.0 + 1e-9
    x = power / 37.0
    row = [15100.0, 12700.0, 11500.0]
    hr = np.interp(x, [0.4, 0.7, 1.0], row)
    assert pyo.value(sup.model.g_fuel["GT1"]) == pytest.approx(power * hr / 1000.0, rel=FP_LINEARISATION_RTOL)
    assert_model_solution_valid(sup)


# --------------------------------------------------------------------------- validation


def reported(text: str) -> str:
    with pytest.raises(SiteError) as info:
        parse_site(text, "site.toml")
    return str(info.value)


@pytest.mark.parametrize("keys, line", [
    ({"turbines.TG1": 'curve_source = "learned"'},
     "turbines.TG1.curve_source = 'learned': learned turbine curves (turbine_steam) exist only for single-section generators; "
     "TG1 is a 2-section generator drive"),
    ({"turbines.ETH": 'curve_source = "learned"'}, "turbines.ETH.curve_source = 'learned': learned turbine curves"),
    ({"boilers.B1": 'curve_source = "guessed"'}, "boilers.B1.curve_source = 'guessed': must be one of"),
    ({"boilers.B3": 'curve_source = "learned"', "surrogates": 'exclude = ["B3"]'},
     "boilers.B3.curve_source = 'learned': a unit in surrogates.exclude is never learned"),
    ({"gas_turbines.GT2": TABLE.replace("load_fraction = [0.4, 0.7, 1.0]", "load_fraction = [0.4, 0.7, 0.9]")},
     "gas_turbines.GT2.rating_table.load_fraction = [0.4, 0.7, 0.9]: must end at 1.0"),
    ({"gas_turbines.GT2": TABLE.replace("[15900.0, 13400.0, 12200.0]", "[15900.0, 13400.0]")},
     "gas_turbines.GT2.rating_table.heat_rate_kj_kwh[2] = [15900.0, 13400.0]: must have one value per load fraction (3)"),
    ({"gas_turbines.GT2": TABLE.replace("base_power_mw = [42.0, 37.0, 31.0]", "base_power_mw = [42.0, 37.0, 12.0]")},
     "gas_turbines.GT2.rating_table.base_power_mw = [42.0, 37.0, 12.0]: every base power must be at least min_power_mw = 15"),
    ({"gas_turbines.GT2": TABLE.replace("ambient_c = [15.0, 30.0, 45.0]", "ambient_c = [15.0, 45.0, 30.0]")},
     "gas_turbines.GT2.rating_table.ambient_c = [15.0, 45.0, 30.0]: must be strictly increasing"),
])
def test_validation_names_field_value_and_rule(keys, line):
    text = SITE_TEXT
    if "surrogates" in keys:
        text = text.replace("exclude = []\n", "", 1)
    assert line in reported(with_keys(text, keys))


def test_first_principles_boiler_without_efficiency_is_refused_naming_the_field():
    i = SITE_TEXT.index("[boilers.B4]")
    j = SITE_TEXT.index("efficiency_curve = ", i)
    text = SITE_TEXT[:j] + SITE_TEXT[SITE_TEXT.index("\n", j) + 1:]
    msg = reported(with_keys(text, {"boilers.B4": 'curve_source = "first_principles"'}))
    assert ("boilers.B4.curve_source = 'first_principles': first_principles needs efficiency or efficiency_curve "
            "(the fuel is computed from it)") in msg


# --------------------------------------------------------------------------- a site with no learned models, from the CLI


@pytest.fixture(scope="module")
def no_model_site(tmp_path_factory) -> Path:
    """A copy of the reference site that declares every unit first principles (written as TOML)."""
    folder = tmp_path_factory.mktemp("fp_site")
    path = folder / "reference_fp.toml"
    path.write_text(all_first_principles())
    return path


def test_step_without_models(no_model_site, capsys):
    assert main(["step", "--site", str(no_model_site), "--models", "none", "--snapshot", str(SNAPSHOT_FILE)]) == 0
    p = json.loads(capsys.readouterr().out)
    assert p["status"] == "optimal", p["warnings"]
    assert set(p["surrogate_agreement"]) == {"B1_fuel", "B2_fuel", "B3_fuel", "B4_fuel", "GT1_fuel", "GT1_hrsg", "GT2_fuel", "GT2_hrsg"}
    assert p["audit"]["model_hashes"] == {"provider": "FirstPrinciplesCurves"}
    assert p["proposed_kpis"]["cost_per_h"] < p["current_kpis"]["cost_per_h"]


def test_the_service_without_models(no_model_site, capsys):
    """`steamopt serve --models none`: the service's engine on first principles gives the step's proposal."""
    pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn) is not installed")
    from optimizer.service.config import ServiceConfig
    from optimizer.service.run import new_state
    from tests.service_helpers import RunningService

    assert main(["step", "--site", str(no_model_site), "--models", "none", "--snapshot", str(SNAPSHOT_FILE)]) == 0
    expected = json.loads(capsys.readouterr().out)
    state = new_state(no_model_site, "none", ServiceConfig())
    with RunningService(state) as svc:
        deadline = time.monotonic() + 60
        while svc.request("GET", "/readyz")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        code, answer = svc.request("POST", "/api/step", json.loads(SNAPSHOT_FILE.read_text()))
    assert code == 200 and answer["proposal"]["status"] == "optimal", answer
    for tag, value in expected["setpoints"].items():
        assert answer["proposal"]["setpoints"][tag] == pytest.approx(value, abs=1e-6), tag


def test_serve_accepts_models_none(no_model_site, monkeypatch):
    """`steamopt serve --models none` gets past its start-up checks to the server (which is not
    started here): before, it stopped with "--models none: not a directory"."""
    pytest.importorskip("fastapi", reason="the service extra (fastapi, uvicorn) is not installed")
    import optimizer.service.run as service_run

    started = []

    class _NotStarted:
        def run(self) -> None:
            started.append(True)

    monkeypatch.setattr(service_run, "make_server", lambda state, token, host, port: _NotStarted())
    assert main(["serve", "--site", str(no_model_site), "--models", "none"]) == 0 and started == [True]


def test_plan_without_models(no_model_site, capsys, tmp_path):
    out = tmp_path / "plan.json"
    code = main(["plan", "--site", str(no_model_site), "--models", "none", "--snapshot", str(SNAPSHOT_FILE), "--hours", "2",
                 "--json", str(out)])
    text = capsys.readouterr().out
    assert code == 0, text
    assert "forecast: persistence" in text
    sched = json.loads(out.read_text())
    assert sched["status"] in ("optimal", "time_limited") and len(sched["times"]) == 2


def test_study_without_models(no_model_site, tmp_path, capsys):
    scenario = no_model_site.parent / "fp_study.toml"
    scenario.write_text(f'name = "fp_study"\nsite = "{no_model_site.name}"\nmodels = "none"\nhours = 2.0\nstep_min = 15.0\n'
                        'policies = ["practice", "steamopt"]\n')
    out = tmp_path / "out"
    assert main(["study", str(scenario), "--out", str(out), "--quiet"]) == 0, capsys.readouterr().err
    steps = pd.read_csv(out / "steps.csv")
    ours = steps[steps["policy"] == "steamopt"]
    assert len(ours) == 8 and set(ours["status"]) == {"optimal"}, ours["status"].tolist()
    assert not ours["violation"].any()
    assert ours["site.cost_per_h"].sum() < steps[steps["policy"] == "practice"]["site.cost_per_h"].sum()  # realised, on the simulator


def test_learned_site_without_models_is_one_clear_error(tmp_path, capsys):
    site = tmp_path / "learned.toml"
    site.write_text(with_keys(SITE_TEXT, {"boilers.B2": 'curve_source = "learned"'}))
    assert main(["step", "--site", str(site), "--models", "none", "--snapshot", str(SNAPSHOT_FILE)]) == 2
    err = capsys.readouterr().err
    assert re.search(r'error: boilers\.B2\.curve_source = "learned": the models have no boiler_fuel model of B2', err), err
    assert "Traceback" not in err


def test_reload_resolves_each_units_source_again(tmp_path):
    """A reloaded site file that turns B1 to first principles takes effect on the models the engine
    was built with; reloading with no models ("none") puts every unit on first principles (once its
    ducts are additive: a learned duct needs its model)."""
    sup = Supervisor(SITE, MODELS, SupervisorConfig())
    assert "B1_fuel" in sup.curves.models
    changed = tmp_path / "changed.toml"
    changed.write_text(with_keys(SITE_TEXT, {"boilers.B1": 'curve_source = "first_principles"'}))
    ok, msg = sup.reload(site_path=changed)
    assert ok, msg
    assert isinstance(sup.curves, MixedCurves) and "B1_fuel" not in sup.curves.models and "B2_fuel" in sup.curves.models
    # the reference ducts are learned (duct_curve = "learned"): without models the reload is refused, naming them
    ok, msg = sup.reload(models_dir="none")
    assert not ok and 'gas_turbines.GT1.hrsg.duct_curve = "learned"' in msg and "B2_fuel" in sup.curves.models
    additive = tmp_path / "additive.toml"
    additive.write_text(changed.read_text().replace('duct_curve = "learned"', 'duct_curve = "additive"'))
    ok, msg = sup.reload(site_path=additive, models_dir="none")
    assert ok, msg
    assert isinstance(sup.curves, FirstPrinciplesCurves) and sup.step(snapshot()).status == "optimal"
    learned = tmp_path / "learned.toml"
    learned.write_text(with_keys(SITE_TEXT, {"boilers.B3": 'curve_source = "learned"'}))
    ok, msg = sup.reload(site_path=learned)  # no model of B3 now: refused, the running engine kept
    assert not ok and "boilers.B3.curve_source" in msg and isinstance(sup.curves, FirstPrinciplesCurves)
