"""Two exact tightenings of the plan's periods (and the cycle's model): the switched ReLU network
(optimizer/relu_embedding.py ``on=``, used by optimizer/ectg.py) and the header-mixing big-Ms set
to the LP's range of the excess (optimizer/mixing_probe.tightened).

Each is checked for what it must keep (the same MILP optimum; every feasible point of the old
model feasible in the new) and for what it is for (a tighter relaxation), against references
independent of the code under test: enumeration of activation patterns (scipy linprog) and the
original blocks solved as MILPs.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import zlib

import highspy
import numpy as np
import pyomo.environ as pyo
import pytest
from scipy.sparse import csc_matrix

from optimizer.config import TUNED_HIGHS_OPTIONS
from optimizer.highs_direct import HighsDirect
from optimizer.relu_embedding import add_relu_network
from tests.test_relu_embedding import NETS, decision_names, enumerate_patterns, random_case

# ----------------------------------------------------------------------------- the switched network


class Switched:
    """A network switched by a binary ``on``: min c_x.x + c_y.y over the box, ``on`` fixed by its bounds."""

    def __init__(self, name: str, formulation: str):
        self.net = NETS[name]()
        m = self.m = pyo.ConcreteModel()
        m.on = pyo.Var(domain=pyo.Binary, bounds=(0, 1))
        m.nn = pyo.Block()
        self.emb = add_relu_network(m.nn, self.net, decision_names(self.net), formulation, on=m.on)
        m.c_x = pyo.Param(m.nn.X, mutable=True, initialize=0.0, within=pyo.Reals)
        m.c_y = pyo.Param(m.nn.O, mutable=True, initialize=0.0, within=pyo.Reals)
        m.objective = pyo.Objective(expr=sum(m.c_x[n] * m.nn.x[n] for n in m.nn.X) + sum(m.c_y[n] * m.nn.y[n] for n in m.nn.O))
        self.solver = HighsDirect(m, dict(TUNED_HIGHS_OPTIONS))
        self.on_col = self.solver.column(m.on)

    def solve(self, lower, upper, dist, c_x, c_y, on: float, relax: bool = False):
        self.emb.set_box(lower, upper, dist)
        for n, c in zip(self.emb.decision, c_x):
            self.m.c_x[n] = float(c)
        self.m.c_y["y"] = c_y
        arrays = self.solver.arrays(self.solver.template.values())
        arrays.col_lower[self.on_col] = arrays.col_upper[self.on_col] = on
        if relax:
            arrays = dataclasses.replace(arrays, integrality=np.zeros_like(arrays.integrality))
        g = highspy.Highs()
        g.setOptionValue("output_flag", False)
        g.setOptionValue("mip_rel_gap", 1e-9)
        arrays.pass_to(g)
        g.run()
        assert g.getModelStatus() == highspy.HighsModelStatus.kOptimal, g.modelStatusToString(g.getModelStatus())
        return g.getInfo().objective_function_value, np.asarray(g.getSolution().col_value)


@functools.cache
def switched(name: str, formulation: str) -> Switched:
    return Switched(name, formulation)


@pytest.mark.parametrize("formulation", ["bigm", "hull"])
@pytest.mark.parametrize("name", list(NETS))
def test_switched_network_on_is_the_network_and_off_is_zero(name, formulation):
    """on = 1: the optimum equals the enumeration of activation patterns (min and max); on = 0:
    every variable of the network is 0 (so a stopped unit's flows can be tied to it by equalities)."""
    s = switched(name, formulation)
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 5)
    for _ in range(3):
        lower, upper, dist, c_x, c_y = random_case(s.net, rng)
        for sign in (1.0, -1.0):
            ref = enumerate_patterns(s.net, lower, upper, dist, sign * c_x, sign * c_y)
            obj, _ = s.solve(lower, upper, dist, sign * c_x, sign * c_y, on=1.0)
            assert abs(obj - ref) <= 1e-6 * max(1.0, abs(ref)), (name, formulation, obj, ref)
            obj0, x0 = s.solve(lower, upper, dist, sign * c_x, sign * c_y, on=0.0)
            assert obj0 == pytest.approx(0.0, abs=1e-9)
            others = np.delete(x0, s.on_col)
            assert np.max(np.abs(others)) <= 1e-9, f"{name}: a variable of the stopped network is {np.max(np.abs(others))}"


def test_regions_formulation_refuses_a_switch():
    net = NETS["2dec 2-4-4-1"]()
    m = pyo.ConcreteModel()
    m.on = pyo.Var(domain=pyo.Binary)
    m.nn = pyo.Block()
    with pytest.raises(ValueError, match="regions.*not switched"):
        add_relu_network(m.nn, net, decision_names(net), "regions", on=m.on)


@pytest.mark.parametrize("formulation", ["bigm", "hull"])
@pytest.mark.parametrize("name", list(NETS))
def test_switched_relaxation_is_the_perspective(name, formulation):
    """With the binaries relaxed and on fixed at theta, the relaxation's optimum is theta times its
    optimum at on = 1 (the perspective): a constant not multiplied by on, or a link that detaches
    the network, breaks this."""
    s = switched(name, formulation)
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 9)
    for theta in (0.37, 0.81):
        lower, upper, dist, c_x, c_y = random_case(s.net, rng)
        full, _ = s.solve(lower, upper, dist, c_x, c_y, on=1.0, relax=True)
        part, _ = s.solve(lower, upper, dist, c_x, c_y, on=theta, relax=True)
        assert abs(part - theta * full) <= 1e-7 * max(1.0, abs(full)), (name, formulation, theta, part, theta * full)


# ----------------------------------------------------------------------------- the reference site's plan periods
@functools.cache
def plan_periods():
    """The plan benchmark's day (B3, B4 off 10 h; a campaign 10:00-15:00): the supervisor and
    three of its 24 hourly periods' blocks (00:00, 12:00 in the campaign, 20:00), the horizon's boxes."""
    from benchmarks import plan_horizon as ph
    from optimizer import horizon

    sup = ph._supervisor()
    snap = ph.day_snapshot(0)
    fc = ph.campaign_forecast(snap["timestamp"], 24, 60.0)
    v = copy.deepcopy(sup.validator)
    v.last_timestamp = None
    periods = horizon.build_periods(sup, v.validate(snap), fc, 60.0)
    return sup, [periods[t] for t in (0, 12, 20)]


def _solve(block, relax: bool = False):
    if relax:
        block = dataclasses.replace(block, integrality=np.zeros_like(block.integrality))
    g = block.quiet_highs({"threads": 1, "mip_rel_gap": 1e-9})
    g.run()
    assert g.getModelStatus() == highspy.HighsModelStatus.kOptimal, g.modelStatusToString(g.getModelStatus())
    return g.getInfo().objective_function_value, np.asarray(g.getSolution().col_value)


def _violation(block, x) -> float:
    """The largest row or column bound violation of point ``x`` in ``block``."""
    a = csc_matrix((block.a_value, block.a_index, block.a_start), shape=(block.num_row, block.num_col))
    act = a @ x
    return float(max(np.max(block.row_lower - act), np.max(act - block.row_upper),
                     np.max(block.col_lower - x), np.max(x - block.col_upper), 0.0))


def test_mixing_tightening_keeps_every_mip_point_and_the_optimum():
    """Per period: the tightened block has the original's MILP optimum (1e-9 relative); the
    original's MILP optima for objectives that push each header's excess to its extremes (its
    spray and its deficit, each maximised and minimised, plus random costs) are feasible in the
    tightened block (1e-7); and the tightened relaxation is higher (the reason it exists)."""
    from optimizer.mixing_probe import mixing_headers, tightened

    sup, periods = plan_periods()
    headers = mixing_headers(sup)
    assert headers, "the reference site has mixing headers"
    rng = np.random.default_rng(3)
    changed = 0
    gain = base = 0.0  # the relaxations' sums: tightened and settled, against settled only
    for p in periods:
        block = p.block
        tight, settled = tightened(block, headers)
        free = [mh for mh in headers if mh.hot_col not in settled]
        changed += len(free)
        fixed = dataclasses.replace(tight, col_lower=tight.col_lower.copy(), col_upper=tight.col_upper.copy())
        for c, value in settled.items():  # as the horizon does
            fixed.col_lower[c] = fixed.col_upper[c] = value
        opt, _ = _solve(block)
        for probed in (tight, fixed):
            opt_t, _ = _solve(probed)
            assert abs(opt_t - opt) <= 1e-9 * max(1.0, abs(opt)), (p.start, opt, opt_t)
        settled_only = dataclasses.replace(fixed, a_value=block.a_value, row_upper=block.row_upper)
        lp, _ = _solve(block, relax=True)
        lp_t, _ = _solve(fixed, relax=True)
        lp_s, _ = _solve(settled_only, relax=True)
        assert lp_t > lp + 0.3 * abs(lp), (p.start, lp, lp_t)  # measured: 212,141 -> about 370,000 at 00:00
        gain += lp_t - lp_s
        base += lp_s
        for mh in free:
            for col in (mh.spray_col, mh.deficit_col):
                for sign in (1.0, -1.0):
                    cost = np.zeros(block.num_col)
                    cost[col] = sign
                    extreme = dataclasses.replace(block, col_cost=cost, offset=0.0)
                    _, x = _solve(extreme)
                    assert _violation(tight, x) <= 1e-7, (p.start, mh.header, col, sign, _violation(tight, x))
        for _ in range(3):
            noisy = dataclasses.replace(block, col_cost=block.col_cost + rng.normal(scale=50.0, size=block.num_col))
            _, x = _solve(noisy)
            assert _violation(tight, x) <= 1e-7
    assert changed >= 1, "no mixing binary was left free: nothing tightened, nothing tested"
    assert gain > 0.05 * base, (gain, base)  # the big-Ms' part, beyond what settling gives


def test_tg3_stopped_in_part_takes_its_share_of_the_network():
    """The reference site's TG3 (its learned inlet switched by t_on): in a plan period's
    relaxation with t_on[TG3] fixed at 0.5, the inlet steam is at least half the network's
    output lower bound over the box, as the perspective requires (a big-M link let the inlet
    fall to the turbine's own rows' minimum, far below)."""
    sup, periods = plan_periods()
    m = sup._model  # noqa: SLF001
    col = sup._solver.column  # noqa: SLF001
    emb = m.ectg_embeddings["TG3"]
    names = [p.name for p in emb.param_data]
    p = periods[1]
    y_lo = p.params[sup._solver.param_position(emb.param_data[names.index(emb.block.y_lo["TG3.inlet_tph"].name)])]  # noqa: SLF001
    assert y_lo > 10.0, y_lo
    block = dataclasses.replace(p.block, col_lower=p.block.col_lower.copy(), col_upper=p.block.col_upper.copy())
    on = col(m.t_on["TG3"])
    block.col_lower[on] = block.col_upper[on] = 0.5
    _, x = _solve(block, relax=True)
    inlet, power = x[col(m.flow["TG3", 0])], x[col(m.t_out["TG3"])]
    assert inlet >= 0.5 * y_lo - 1e-6, (inlet, y_lo, power)


def test_a_lit_duct_network_sees_its_gts_power():
    """The reference site's learned duct (switched by the burner's on/off, its power input u * P by
    two rows): lit at a fixed fuel with the fired steam as the only cost, the optimum cannot move the
    network's power off the GT's to fire less (the fired steam falls with the GT's power, so only
    the row x_P <= P stops it): the fired steam is onnxruntime's at the GT's power to 1e-6."""
    sup, periods = plan_periods()
    m = sup._model  # noqa: SLF001
    col = sup._solver.column  # noqa: SLF001
    for g, unit in sup.ducts.items():
        block = periods[1].block
        h = sup.site.gas_turbines[g].hrsg
        fuel = 0.5 * (h.duct_min_fuel_gj_h + h.duct_max_fuel_gj_h)
        lo, hi, cost = block.col_lower.copy(), block.col_upper.copy(), np.zeros(block.num_col)
        for c, v in ((col(m.d_on[g]), 1.0), (col(m.g_on[g]), 1.0), (col(m.d_fuel[g]), fuel)):
            lo[c] = hi[c] = v
        cost[col(m.d_steam[g])] = 1.0
        _, x = _solve(dataclasses.replace(block, col_lower=lo, col_upper=hi, col_cost=cost, offset=0.0))
        power, steam = x[col(m.g_power[g])], x[col(m.d_steam[g])]
        served = float(unit.model.evaluate({unit.power_tag: power, unit.fuel_tag: fuel})[0])
        assert abs(steam - served) <= 1e-6 * max(1.0, abs(served)), (g, power, fuel, steam, served)
