"""The look-ahead benchmark's peer (benchmarks/plan_pyomo_peer.py) is the same horizon as ours.

The peer writes the horizon as a T-indexed Pyomo model (one ``build_model`` block per period, its
Params from the period's vector, the coupling as Pyomo Vars and Constraints) and solves it
through Pyomo's HiGHS interface; ours stacks the per-period arrays (optimizer.horizon). Both are
solved to proven optimality at gap 1e-9 and must agree to 1e-6 relative, with the same columns
and binaries. Two horizons on the reference site, persistence forecast: the bundled snapshot as
it is (3 periods of 60 min; nothing couples there: every unit on for long, ramps far from
binding), and a snapshot where the coupling binds (4 periods of 30 min, so the period weight is
not 1: B4 off for 10 h and wanted on at the end, so a cold start; B1 started 30 min ago, held on
by its minimum up time) — there the horizon without its coupling is checked to be cheaper by more
than 1 %, so agreement is not agreement of two uncoupled models. No timings are asserted.
"""

from __future__ import annotations

import pytest

from benchmarks.plan_pyomo_peer import (
    SWITCHING_END_ON,
    SWITCHING_UPDATE,
    build_peer,
    pyomo_peer,
    reference_horizon,
    reference_supervisor,
)
from optimizer import horizon
from optimizer.planning import PLAN_HIGHS_OPTIONS

GAP = 1e-9
LIMIT_S = 120.0


@pytest.fixture(scope="module")
def sup():
    return reference_supervisor()


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


def _ours(per, cp, hours):
    return horizon.solve(horizon.stack([p.block for p in per], hours, cp), LIMIT_S, GAP, PLAN_HIGHS_OPTIONS)


def _check_same(sup, per, cp, hours):
    ours = _ours(per, cp, hours)
    peer = pyomo_peer(sup, per, cp, hours, GAP, LIMIT_S)
    assert ours.status == "optimal", ours.reason
    assert peer["status"] == "optimal", peer["termination"]
    assert peer["columns"] == ours.columns
    assert peer["binaries"] == ours.binaries
    assert ours.binaries > 0
    assert _rel(peer["objective"], ours.objective) <= 1e-6, (peer["objective"], ours.objective)
    assert peer["build_s"] > 0.0 and peer["solve_s"] > 0.0
    return ours, peer


def test_peer_equals_stacked_horizon_on_the_bundled_snapshot(sup):
    per, cp, hours, _ = reference_horizon(sup, 3, 60.0)
    ours, _ = _check_same(sup, per, cp, hours)
    assert ours.columns == 3 * per[0].block.num_col + len(cp.col_cost)


def test_peer_equals_stacked_horizon_where_the_coupling_binds(sup):
    per, cp, hours, _ = reference_horizon(sup, 4, 30.0, SWITCHING_UPDATE, SWITCHING_END_ON)
    n = per[0].block.num_col
    assert cp.fixed_on, "the snapshot's states must force some on/off"
    ours, peer = _check_same(sup, per, cp, hours)
    uncoupled = _ours(per, horizon.Coupling(n, len(per)), hours)
    assert uncoupled.status == "optimal"
    assert ours.objective - uncoupled.objective > 0.01 * abs(ours.objective)
    # the peer's plan: B4 off now (fixed), on at the end (end_on), started once; B1 on throughout
    m = peer["model"]
    b4 = [m.period[t].b_on["B4"].value for t in range(len(per))]
    b1 = [m.period[t].b_on["B1"].value for t in range(len(per))]
    assert round(b4[0]) == 0 and round(b4[-1]) == 1
    assert all(round(v) == 1 for v in b1)
    assert sum(m.coupling_var[c - len(per) * n].value for c in cp.starts["B4"]) == pytest.approx(1.0, abs=1e-6)


def test_peer_refuses_inputs_that_do_not_fit(sup):
    per, cp, hours, _ = reference_horizon(sup, 2, 60.0)
    with pytest.raises(ValueError, match=r"hours: 1 values for 2 periods"):
        build_peer(sup, per, cp, hours[:1])
    with pytest.raises(ValueError, match=r"cp.periods = 3"):
        build_peer(sup, per, horizon.Coupling(cp.n_block, 3), hours)
    with pytest.raises(ValueError, match=r"cp.n_block = 5: the Supervisor's model has \d+ HiGHS columns"):
        build_peer(sup, per, horizon.Coupling(5, 2), hours)
    with pytest.raises(ValueError, match=r"periods: at least one period is required"):
        build_peer(sup, [], cp, [])
