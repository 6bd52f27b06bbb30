"""Supervisor.step on the reference site with the bundled surrogates: statuses, limits,
balances, surrogate agreement, bad input."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer import tags
from optimizer.site import load_site
from optimizer.proposal import STATUSES
from optimizer.supervisor import Supervisor, SupervisorConfig
from surrogate.manifest import load_model_dir
from tests.limits import assert_inside_limits

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
SNAPSHOT = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())
SUP = Supervisor(SITE, MODELS)
_clock = {"t": 0}


def fresh(snapshot: dict | None = None, minutes: int | None = None) -> dict:
    """A copy of the bundled snapshot with a timestamp after every earlier one (the shared
    supervisor refuses duplicated or out-of-order timestamps)."""
    _clock["t"] += 1
    snap = copy.deepcopy(snapshot or SNAPSHOT)
    import pandas as pd

    snap["timestamp"] = (pd.Timestamp("2026-03-02 10:00") + pd.Timedelta(minutes=minutes if minutes is not None else _clock["t"])).isoformat()
    return snap


def assert_model_solution_valid(sup: Supervisor, tol: float = 1e-6) -> None:
    """Every constraint of the model (balances included) and every bound holds at the solution."""
    m = sup.model
    for c in m.component_data_objects(pyo.Constraint, active=True):
        body = pyo.value(c.body)
        scale = 1.0 + abs(body)
        if c.has_lb():
            assert body >= pyo.value(c.lower) - tol * scale, (c.name, body, pyo.value(c.lower))
        if c.has_ub():
            assert body <= pyo.value(c.upper) + tol * scale, (c.name, body, pyo.value(c.upper))
    for v in m.component_data_objects(pyo.Var):
        if v.value is None:
            continue
        if v.lb is not None:
            assert v.value >= v.lb - tol * (1 + abs(v.lb)), (v.name, v.value, v.lb)
        if v.ub is not None:
            assert v.value <= v.ub + tol * (1 + abs(v.ub)), (v.name, v.value, v.ub)


def assert_agreement(p) -> None:
    assert p.surrogate_agreement, "no learned curve was checked"
    for name, rel in p.surrogate_agreement.items():
        assert rel <= 1e-6, (name, rel)


# ---------------------------------------------------------------------- the bundled snapshot


def test_bundled_snapshot_optimal_with_savings():
    snap = fresh()
    p = SUP.step(snap)
    assert p.status == "optimal", p.warnings
    assert_model_solution_valid(SUP)
    assert_inside_limits(snap, p)
    assert_agreement(p)
    # every learned unit is running here but TG3: on standby in the snapshot, the cycle leaves it
    # there (with the learned ducts' fuel; it started TG3 with the additive ducts)
    assert p.setpoints["TG3.on"] == 0
    assert set(p.surrogate_agreement) == set(MODELS) - {"TG3_steam"}
    assert p.proposed_kpis["cost_per_h"] <= p.current_kpis["cost_per_h"] + 1e-6
    assert p.savings["cost_per_h"] == pytest.approx(p.current_kpis["cost_per_h"] - p.proposed_kpis["cost_per_h"])
    for key in ("validate_ms", "update_ms", "solve_ms", "verify_ms", "total_ms", "binaries", "nodes"):
        assert key in p.stats
    json.loads(p.to_json())  # JSON-serialisable


def test_proposal_kpis_are_consistent():
    p = SUP.step(fresh())
    k = p.proposed_kpis
    assert k["fuel_gj_h"] == pytest.approx(sum(v for key, v in k.items() if key.startswith("fuel_") and key.endswith("_gj_h") and key != "fuel_gj_h"))
    assert k["co2e_t_h"] == pytest.approx(k["co2e_scope1_t_h"] + k["co2e_scope2_t_h"])
    assert k["cost_per_h"] == pytest.approx(k["fuel_cost_per_h"] + k["electricity_cost_per_h"] + k["carbon_cost_per_h"] + k["penalty_cost_per_h"])
    # IPCC 2006 natural gas with AR5 GWPs: 56,100 + 28 x 1 + 265 x 0.1 kg CO2e per TJ
    ng, fg = k["fuel_natural_gas_gj_h"], k["fuel_fuel_gas_gj_h"]
    assert k["co2e_scope1_t_h"] == pytest.approx(ng * 56154.5e-6 + fg * (57600 + 28 + 26.5) * 1e-6, rel=1e-9)


def test_co2e_objective_emits_no_more_than_cost_objective():
    cost = SUP.step(fresh())
    sup = Supervisor(SITE, MODELS, SupervisorConfig(objective="co2e"))
    co2 = sup.step(fresh())
    assert co2.status == "optimal"
    assert co2.proposed_kpis["co2e_t_h"] <= cost.proposed_kpis["co2e_t_h"] + 1e-6
    assert co2.proposed_kpis["cost_per_h"] >= cost.proposed_kpis["cost_per_h"] - 1e-6


# ---------------------------------------------------------------------- statuses


def test_invalid_input_status():
    for bad in (None, [1, 2], "snapshot", {"timestamp": "not a date"}):
        p = SUP.step(bad)
        assert p.status == "invalid_input", bad
        assert p.warnings
    snap = fresh()
    assert SUP.step(snap).status == "optimal"
    again = SUP.step(copy.deepcopy(snap))  # the same timestamp again
    assert again.status == "invalid_input" and "not after the previous" in again.warnings[0]


def test_infeasible_demand_status_names_header_and_size():
    snap = fresh()
    for c, con in SITE.consumers.items():
        if con.header == "LP":
            snap[tags.steam(c)] = con.demand_tph * 4.5
    p = SUP.step(snap)
    assert p.status == "infeasible_demand", p.warnings
    assert "LP" in p.shortfall_tph and p.shortfall_tph["LP"] > 1.0
    assert any("LP short" in w for w in p.warnings)
    assert_agreement(p)


def test_time_limited_status_when_solver_stops_early():
    """HiGHS stops at its first improving solution (a real solver limit with an incumbent)."""
    from optimizer.supervisor import TUNED_HIGHS_OPTIONS

    sup = Supervisor(SITE, MODELS, SupervisorConfig(solver_options={**TUNED_HIGHS_OPTIONS, "mip_max_improving_sols": 1, "presolve": "off"}, mip_rel_gap=0.0))
    p = sup.step(fresh())
    assert p.status == "time_limited", p.stats
    assert p.stats["gap"] > 0  # an incumbent, not a proven optimum
    assert_agreement(p)
    assert_model_solution_valid(sup)


def test_fallback_local_then_recovery(monkeypatch):
    sup = Supervisor(SITE, MODELS)
    real = sup._solve
    calls = {"n": 0}

    def flaky(limit, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the optimisation of the first cycle fails
            from optimizer.supervisor import SolveResult
            return SolveResult(False, "fallback_hold", "injected failure", 0.0)
        return real(limit, **kwargs)

    monkeypatch.setattr(sup, "_solve", flaky)
    snap = fresh()
    p = sup.step(snap)
    assert p.status == "fallback_local"
    assert_inside_limits(snap, p)
    assert_agreement(p)
    assert sup.step(fresh()).status == "optimal"  # the next good cycle recovers


def test_fallback_hold_when_solver_raises(monkeypatch):
    sup = Supervisor(SITE, MODELS)

    def boom(*a, **k):
        raise RuntimeError("HiGHS crashed")

    monkeypatch.setattr(sup._solver, "run", boom)
    snap = fresh()
    p = sup.step(snap)
    assert p.status == "fallback_hold"
    assert p.setpoints[tags.boiler_steam("B1")] == pytest.approx(snap[tags.boiler_steam("B1")])
    assert any("holding" in w for w in p.warnings)


# ---------------------------------------------------------------------- substitutions and held units


def test_bad_tag_substituted_with_last_good_value():
    sup = Supervisor(SITE, MODELS)
    good = fresh()
    assert sup.step(good).status == "optimal"
    bad = fresh()
    bad["MP_BUTADIENE.steam_tph"] = float("nan")
    bad["TLE.steam_tph"] = "broken"
    p = sup.step(bad)
    assert p.status == "substituted" and p.ok  # solved, on substitutes: advisory
    subs = {s["tag"]: s for s in p.substitutions}
    assert subs["MP_BUTADIENE.steam_tph"]["source"] == "last good" and subs["MP_BUTADIENE.steam_tph"]["used"] == good["MP_BUTADIENE.steam_tph"]
    assert subs["TLE.steam_tph"]["reason"].startswith("not a number")


@pytest.mark.parametrize("tag", [tags.boiler_steam("B1"), tags.boiler_steam("B2"), tags.gt_power("GT1"), tags.turbine_power("TG1"),
                                 tags.extraction("CGC", 0)])
@pytest.mark.parametrize("first", [True, False], ids=["first_cycle", "with_last_good"])
def test_unit_with_unreadable_operating_point_is_held(tag, first):
    """A unit whose own reading is missing is held: listed in held_units, not switched off, at its
    last good load when there is one (every other unit inside its move limits: no unit takes over
    the steam or power of one the model wrongly thinks is off)."""
    sup = Supervisor(SITE, MODELS)
    unit = tag.split(".")[0]
    if not first:
        assert sup.step(fresh()).status == "optimal"
    snap = fresh()
    del snap[tag]
    p = sup.step(snap)
    assert unit in p.held_units
    if first:  # never read: its state is unknown, so nothing moves (this cycle's readings, nothing for the unit)
        assert p.status == "unknown_state", p.status
        assert not any(k.startswith(unit + ".") for k in p.setpoints)
        assert_inside_limits(snap, p)
        return
    assert p.status == "substituted", p.warnings  # solved on its last good value: advisory
    if f"{unit}.on" in p.setpoints:
        assert p.setpoints[f"{unit}.on"] == 1, (unit, "a bad reading switched the unit off")
    if unit.startswith("GT"):
        assert p.setpoints[tag] > 0.0, (unit, "a bad reading switched the GT off")
    if not first:  # held at its last good load (a GT's capped at today's base power, as its box is)
        held_at = SNAPSHOT[tag]
        if unit in SITE.gas_turbines:
            held_at = min(held_at, SITE.gas_turbines[unit].base_power_mw(SNAPSHOT[tags.AMBIENT], SNAPSHOT[tags.gt_fouling(unit)]))
        assert p.setpoints[tag] == pytest.approx(held_at, abs=1e-6)
    others = copy.deepcopy(snap)
    others[tag] = SNAPSHOT[tag]  # the plant's true reading: every other unit moves inside its limits around it
    checked = copy.deepcopy(p)
    checked.held_units = sorted(set(p.held_units) - {unit})
    assert_inside_limits(others, checked)


def test_unavailable_boiler_is_not_proposed():
    snap = fresh()
    snap[tags.available("B4")] = 0
    p = Supervisor(SITE, MODELS).step(snap)  # its own: an availability flag keeps its last value until sent again
    assert p.setpoints["B4.on"] == 0 and p.setpoints[tags.boiler_steam("B4")] == 0.0
    assert any("B4" in w for w in p.warnings)


# ---------------------------------------------------------------------- properties


@st.composite
def feasible_snapshots(draw):
    snap = copy.deepcopy(SNAPSHOT)
    for c, con in SITE.consumers.items():
        snap[tags.steam(c)] = con.demand_tph * draw(st.floats(0.8, 1.2))
    snap[tags.AMBIENT] = draw(st.floats(24.0, 36.0))
    snap[tags.steam("TLE")] = draw(st.floats(205.0, 275.0))
    for b, bo in SITE.boilers.items():
        snap[tags.boiler_steam(b)] = draw(st.floats(bo.min_steam_tph, 110.0))
    snap[tags.turbine_power("TG1")] = draw(st.floats(5.0, 20.0))
    snap[tags.turbine_power("TG2")] = draw(st.floats(3.0, 10.0))
    snap[tags.SITE_LOAD] = draw(st.floats(85.0, 105.0))
    return snap


# its own engine: other tests' availability flags (kept until sent again) must not reach it
SUP_FEASIBLE = Supervisor(SITE, MODELS)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(feasible_snapshots())
def test_any_feasible_snapshot_gives_a_valid_proposal(snapshot):
    # an hour apart: each example draws its own ambient, and ambient moves at weather's pace
    # (a faster jump is a spike the engine substitutes)
    _clock["t"] += 60
    snap = fresh(snapshot, minutes=_clock["t"])
    p = SUP_FEASIBLE.step(snap)
    assert p.status in ("optimal", "infeasible_demand"), p.warnings
    assert_model_solution_valid(SUP_FEASIBLE)
    assert_inside_limits(snap, p)
    assert_agreement(p)


_values = st.one_of(st.none(), st.booleans(), st.text(max_size=5), st.floats(allow_nan=True, allow_infinity=True),
                    st.integers(-10**12, 10**12), st.lists(st.integers(), max_size=2), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


# its own engine: the bad values it remembers (availability flags) must not reach other tests
SUP_FUZZ = Supervisor(SITE, MODELS)
# with every optional per-cycle check on: reconciliation and drift monitoring read the same bad data
SUP_CHECKED = Supervisor(SITE, MODELS, SupervisorConfig(reconcile=True, drift=True))
MEASURED_OUTPUTS = ["B1.fuel_gj_h", "GT1.fuel_gj_h", "GT1.hrsg_unfired_tph", "GT2.hrsg_steam_tph", "TG2.inlet_tph",
                    "LD_HP_MP.steam_tph", "deaerator.steam_tph"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(sorted(SNAPSHOT) + MEASURED_OUTPUTS + ["junk", "B9.steam_tph"]), _values, max_size=12), st.booleans())
def test_bad_snapshots_never_raise(changes, drop_timestamp):
    snap = fresh()
    snap.update(changes)
    if drop_timestamp:
        snap.pop("timestamp", None)
    for sup in (SUP_FUZZ, SUP_CHECKED):
        p = sup.step(snap)
        assert p.status in STATUSES, p.status
        assert not any("internal error" in w for w in p.warnings), p.warnings  # handled, not caught as a crash
        json.loads(p.to_json())
        if p.ok:
            assert_agreement(p)
            for value in p.setpoints.values():
                assert math.isfinite(value)
            if sup is SUP_CHECKED:
                assert set(p.drift["models"]) == set(MODELS) and p.reconciliation["status"]


def test_direct_highs_bounds_follow_parameters_both_ways():
    """The model handed to HiGHS must track bounds in every direction (a unit made unavailable,
    then available again), not only from the values seen when the arrays' template was built."""
    sup = Supervisor(SITE, MODELS)
    h = sup._solver
    col = {id(v): c for v, c in h._vars}
    for avail in (0, 1, 0, 1):
        snap = fresh()
        snap[tags.available("B2")] = avail
        sup.step(snap)
        lp = h.last_model().lp_  # what the optimisation solved
        c = col[id(sup.model.b_on["B2"])]
        assert lp.col_upper_[c] == pytest.approx(float(avail))
        for g in list(sup.model.st.sos_groups)[:2]:
            for s in range(sup.model.st.bits[g]):
                zc = col[id(sup.model.z[g, s])]
                assert lp.col_upper_[zc] == pytest.approx(pyo.value(sup.model.z_hi[g, s]))


def _dense(lp) -> dict:
    """A HiGHS model's numbers as dense arrays (the matrix as a dense matrix: entry order and
    explicit zeros do not count)."""
    import numpy as np
    from scipy.sparse import csc_matrix, csr_matrix

    a = lp.a_matrix_
    args = (np.asarray(a.value_), np.asarray(a.index_), np.asarray(a.start_))
    shape = (lp.num_row_, lp.num_col_)
    import highspy

    matrix = (csc_matrix(args, shape=shape) if a.format_ == highspy.MatrixFormat.kColwise else csr_matrix(args, shape=shape)).toarray()
    return {"col_lower": np.asarray(lp.col_lower_), "col_upper": np.asarray(lp.col_upper_), "row_lower": np.asarray(lp.row_lower_),
            "row_upper": np.asarray(lp.row_upper_), "cost": np.asarray(lp.col_cost_), "offset": np.array([lp.offset_]),
            "integrality": np.array([int(t) for t in lp.integrality_]), "matrix": matrix}


def test_highs_arrays_equal_pyomos_own_build_of_the_model():
    """The cycle's HiGHS model is computed from a parameter vector in one sparse product
    (optimizer/lp_arrays.py). It must be exactly the model Pyomo's persistent HiGHS interface
    builds from scratch with the Params set to the same values, through cycles that change
    availability, demands, prices and the curves' breakpoints (optimisation and pinned boxes)."""
    import numpy as np
    from pyomo.contrib.solver.solvers.highs import Highs

    sup = Supervisor(SITE, MODELS, SupervisorConfig(cycle_s=900.0))
    seen = []
    for i in range(6):
        snap = fresh()
        snap[tags.available("B2")] = float(i % 3 != 1)
        snap[tags.steam("MP_BUTADIENE")] = 20.0 + 3.0 * i
        snap["import_price_per_mwh"] = 3000.0 + 150.0 * i
        snap[tags.AMBIENT] = 25.0 + i
        assert sup.step(snap).ok
        for pinned in (True, False):
            cycle = sup._cycle_data(sup.validator.validate({**snap, "timestamp": fresh()["timestamp"]}))
            values = sup._write(cycle, pinned=pinned)
            ours = _dense(sup._solver.arrays(values).highs_model().lp_)
            sup._sync(values)
            reference = Highs()
            reference.set_instance(sup.model)  # Pyomo evaluates every expression itself
            theirs = _dense(reference._solver_model.getLp())
            for key in theirs:  # a row bound summing 20 Params may differ in its last bit (order of the sum)
                np.testing.assert_allclose(ours[key], theirs[key], rtol=1e-13, atol=1e-12, err_msg=f"cycle {i}, pinned {pinned}: {key}")
            seen.append(ours)
    for key in ("matrix", "col_upper", "row_lower", "cost"):  # the cycles did change these
        assert any(not np.array_equal(seen[0][key], other[key]) for other in seen[1:]), key


def test_current_point_lp_equals_the_mip_evaluation():
    """The current operating point is evaluated as an LP (on/off and mixing states fixed); it must
    give the same predicted KPIs as the MIP with the same pinned boxes."""
    sup = Supervisor(SITE, MODELS)
    sup.step(fresh())  # leaves the mixing states of a solution behind
    for _ in range(3):
        snap = fresh()
        cycle = sup._cycle_data(sup.validator.validate(snap))
        values = sup._write(cycle, pinned=True)
        model = sup._solver.arrays(values)
        fix = sup._current_fix(cycle, values)
        assert fix is not None
        lp = sup._solver.run(sup._solver.prepare(model, 1.0, 0.0, fix=fix), load=False)
        mip = sup._solver.run(sup._solver.prepare(model, 1.0, 1e-9), load=False)
        assert lp.status == "optimal" and mip.status == "optimal"
        lp_kpis, mip_kpis = sup._kpis(lp.x), sup._kpis(mip.x)
        for k, v in mip_kpis.items():
            assert lp_kpis[k] == pytest.approx(v, rel=1e-6, abs=1e-6), k


def test_binding_limits_are_worth_what_relaxing_them_saves():
    """Each reported limit's worth is the objective decrease per unit of relaxing that limit
    alone, measured on the LP that priced it (the on/off pattern of the proposal, each learned
    curve continuing as its network just beyond the box) by re-solving with the limit moved by
    1e-5 in the loosening direction. Header balances and the grid balance are marginal values of
    an equality, not relaxations, and are left out here. The priced LP's optimum is the MILP's."""
    import highspy

    from scenarios.plant.practice import todays_practice
    from scenarios.plant.profiles import ProfileConfig, generate_disturbances
    from scenarios.plant.simulator import PlantSimulator
    from scenarios.plant.snapshots import snapshot_from_state

    sup = Supervisor(SITE, MODELS)
    sim = PlantSimulator(SITE)
    rows, cols = sup._solver.names()  # noqa: SLF001 - the test inspects the LP it priced
    row_of, col_of = {n: i for i, n in enumerate(rows)}, {n: i for i, n in enumerate(cols)}
    checked, delta = 0, 1e-5
    for d in generate_disturbances(SITE, ProfileConfig(hours=3, step_min=15, seed=2)):
        p = sup.step(snapshot_from_state(SITE, sim.simulate(todays_practice(SITE, d), d), d))
        assert p.status == "optimal" and p.binding
        priced = sup._last_pricing.g.getModel()  # noqa: SLF001

        def solve(change=None) -> float:
            g = highspy.Highs()
            g.setOptionValue("output_flag", False)
            g.passModel(priced)
            if change:
                change(g, g.getLp())
            g.run()
            assert g.getModelStatus() == highspy.HighsModelStatus.kOptimal
            return g.getInfo().objective_function_value

        before = solve()
        assert before == pytest.approx(p.stats["objective"], rel=1e-9)
        for lim in p.binding:
            if lim["limit"].split("[")[0] in ("mass", "grid"):
                continue
            gains = []
            for sign in (1.0, -1.0):
                if lim["kind"] == "constraint":
                    def change(g, lp, i=row_of[lim["limit"]], sign=sign):
                        lo, hi = lp.row_lower_[i], lp.row_upper_[i]
                        g.changeRowBounds(i, lo - delta if sign < 0 else lo, hi + delta if sign > 0 else hi)
                else:
                    def change(g, lp, i=col_of[lim["limit"]], sign=sign):
                        lo, hi = lp.col_lower_[i], lp.col_upper_[i]
                        g.changeColBounds(i, lo - delta if sign < 0 else lo, hi + delta if sign > 0 else hi)
                gains.append((before - solve(change)) / delta)
            assert max(gains) == pytest.approx(lim["worth_per_unit_per_h"], rel=1e-4, abs=1e-3), lim
            checked += 1
    assert checked >= 50


def test_a_box_with_more_kinks_than_reserved_points_narrows_and_stays_exact():
    """With fewer breakpoints reserved per curve than a cycle's box needs (here 3, for networks
    of 3-4 neurons over the wide boxes of 15-minute cycles), the unit's box narrows around its
    current point to a stretch that fits: every cycle still solves, inside its move limits, with
    the curves exact (onnxruntime agreement) and the narrowing reported."""
    from scenarios.plant.practice import todays_practice
    from scenarios.plant.profiles import ProfileConfig, generate_disturbances
    from scenarios.plant.simulator import PlantSimulator
    from scenarios.plant.snapshots import snapshot_from_state

    sup = Supervisor(SITE, MODELS, SupervisorConfig(cycle_s=900.0, max_curve_points=3))
    wide = Supervisor(SITE, MODELS, SupervisorConfig(cycle_s=900.0))
    assert all(s.max_points == 3 for s in sup.curves.slots.values())
    assert sup.n_binaries < wide.n_binaries
    sim = PlantSimulator(SITE)
    narrowed = 0
    for d in generate_disturbances(SITE, ProfileConfig(hours=4, step_min=15, seed=5)):
        snap = snapshot_from_state(SITE, sim.simulate(todays_practice(SITE, d), d), d)
        p, q = sup.step(snap), wide.step(snap)
        assert p.status == "optimal" and q.status == "optimal", (p.warnings, q.warnings)
        assert_inside_limits(snap, p, cycle_s=900.0)
        assert_agreement(p)
        assert_model_solution_valid(sup)
        # a narrower box can only cost money, never save it
        assert p.proposed_kpis["cost_per_h"] >= q.proposed_kpis["cost_per_h"] - 1e-6 * abs(q.proposed_kpis["cost_per_h"])
        narrowed += sum("box narrowed" in w for w in p.warnings)
    assert narrowed > 0
    with pytest.raises(ValueError, match="max_points = 2"):
        Supervisor(SITE, MODELS, SupervisorConfig(max_curve_points=2))


def test_model_variables_hold_the_proposal_when_asked():
    """The cycle reads its solution from HiGHS's arrays; the Pyomo variables take it when the
    model is asked for (Supervisor.model), the optimisation's and the fallback's alike."""
    sup = Supervisor(SITE, MODELS)
    for _ in range(2):
        p = sup.step(fresh())
        assert p.status == "optimal"
        m = sup.model
        for b in m.B:
            on = round(m.b_on[b].value)
            assert p.setpoints[tags.boiler_steam(b)] == (m.b_steam[b].value if on else 0.0)
        for t, k in m.TX:
            assert p.setpoints[tags.extraction(t, k)] == m.extr[t, k].value
        assert_model_solution_valid(sup)
