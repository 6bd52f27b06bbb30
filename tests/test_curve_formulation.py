"""The learned-curve formulation on its own: curve groups, merged breakpoints, logarithmic SOS2.

The optimum of a toy model holding only a curve group (one decision ``x`` with on/off ``u`` and
one or two learned curves ``y_c(x)``, a linear objective, ``x`` limited to a sub-interval) is
checked against enumeration: a linear objective over the graph of a piecewise-linear function
restricted to ``[a, b]`` is smallest at a breakpoint inside ``[a, b]`` or at ``a`` or ``b`` (or
with the unit off, everything 0). Nothing of the formulation is used on that side.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyomo.environ as pyo
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from optimizer.curves import CurveSlot, group_curves, merge_breakpoints
from optimizer.formulation import add_learned_curves, sos2_bit_sets, sos2_bits


def _allowed(sets: list[tuple[list[int], list[int]]], points: int, z: tuple[int, ...]) -> set[int]:
    """Weights not forced to 0 by the code ``z`` (unit on)."""
    out = set(range(points))
    for (ones, zeros), bit in zip(sets, z):
        out -= set(ones) if bit == 0 else set(zeros)
    return out


@pytest.mark.parametrize("points", range(2, 34))
def test_log_sos2_leaves_exactly_the_segment_of_its_code(points):
    segments = points - 1
    sets = sos2_bit_sets(points)
    assert len(sets) == sos2_bits(segments) == (int(np.ceil(np.log2(segments))) if segments > 1 else 0)
    for s in range(segments):
        code = s ^ (s >> 1)
        z = tuple((code >> b) & 1 for b in range(len(sets)))
        assert _allowed(sets, points, z) == {s, s + 1}, (points, s)
    # every other binary vector (codes of no segment) allows at most one segment's two weights
    for z in itertools.product((0, 1), repeat=len(sets)):
        allowed = _allowed(sets, points, z)
        assert any(allowed <= {s, s + 1} for s in range(segments)), (points, z, allowed)


def test_codes_of_a_cycles_segments_need_only_its_low_bits():
    """A cycle using ``n`` of the reserved segments holds bits ``sos2_bits(n)`` and up at 0: the
    Gray codes of segments below ``2^B`` have those bits at 0, so no used segment is cut off."""
    for n in range(1, 32):
        need = sos2_bits(n)
        for s in range(n):
            assert (s ^ (s >> 1)) >> need == 0, (n, s)


def _slot(name: str, kind: str, points: int, convex: bool = False) -> CurveSlot:
    return CurveSlot(name, "U", kind, "U.x", f"{name}.y", (), points, convex)


def test_curves_of_one_decision_variable_form_one_group():
    slots = {"GT_fuel": _slot("GT_fuel", "gt_fuel", 6), "GT_hrsg": _slot("GT_hrsg", "hrsg_steam", 5)}
    groups = group_curves(slots)
    assert list(groups) == ["U.x"]
    g = groups["U.x"]
    assert g.members == ("GT_fuel", "GT_hrsg") and g.max_points == 2 + 4 + 3 and not g.convex
    assert group_curves(slots, cap=4)["U.x"].max_points == 6  # the cap never goes below a member's own reserve
    assert group_curves(slots, cap=8)["U.x"].max_points == 8


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=0, max_size=6), st.lists(st.floats(0.0, 1.0), min_size=0, max_size=6),
       st.floats(-5.0, 5.0), st.floats(-5.0, 5.0))
def test_merged_breakpoints_reproduce_each_member_exactly(k1, k2, s1, s2):
    lo, hi = 10.0, 30.0
    x1 = np.unique(np.concatenate(([lo, hi], lo + (hi - lo) * np.array(k1))))
    x2 = np.unique(np.concatenate(([lo, hi], lo + (hi - lo) * np.array(k2))))
    y1 = np.sin(x1 * s1) * 7.0 + x1
    y2 = np.cos(x2 * s2) * 3.0 - 0.5 * x2
    xs, ys = merge_breakpoints({"a": (x1, y1), "b": (x2, y2)}, ("a", "b"))
    assert xs[0] == lo and xs[-1] == hi and np.all(np.diff(xs) > 0)
    assert len(xs) <= len(x1) + len(x2) - 2
    probe = np.unique(np.concatenate((np.linspace(lo, hi, 401), x1, x2)))
    for name, (x, y) in (("a", (x1, y1)), ("b", (x2, y2))):
        # exact but where points closer than 1e-9 of the width merged: off by at most the slope
        # change there times that distance
        slope = np.abs(np.diff(y) / np.diff(x)).max()
        np.testing.assert_allclose(np.interp(probe, xs, ys[name]), np.interp(probe, x, y), rtol=0,
                                   atol=2.0 * slope * 1e-9 * (hi - lo) + 1e-12)


def _toy(groups, slots):
    """A model holding only the curve groups: on/off u, decision x, one y per curve."""
    m = pyo.ConcreteModel()
    m.u = pyo.Var(domain=pyo.Binary)
    m.x = pyo.Var(domain=pyo.NonNegativeReals)
    m.y = pyo.Var(list(slots), domain=pyo.Reals)
    m.a = pyo.Param(mutable=True, initialize=0.0)
    m.b = pyo.Param(mutable=True, initialize=0.0)
    add_learned_curves(m, groups, slots, on_var=lambda b, s: b.u, x_var=lambda b, s: b.x, y_var=lambda b, s: b.y[s.name])
    m.x_lo = pyo.Constraint(expr=m.x >= m.a * m.u)
    m.x_hi = pyo.Constraint(expr=m.x <= m.b * m.u)
    return m


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(2, 9), st.integers(2, 9), st.integers(0, 10_000),
       st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0))
@example(n1=2, n2=5, seed=790, cx=0.0, c1=0.0, c2=1.0, fa=0.5625, fb=5.960464477539063e-08)  # HiGHS 4.7e-6 below the enumeration
def test_group_optimum_equals_enumeration(n1, n2, seed, cx, c1, c2, fa, fb):
    """Non-convex curves (random breakpoints and values), one group of two curves with their own
    breakpoints, a random linear objective, ``x`` held to ``[a, b]``: HiGHS on the formulation
    finds the enumerated optimum, on the curves exactly."""
    rng = np.random.default_rng(seed)
    lo, hi = 20.0, 60.0
    x1 = np.sort(np.concatenate(([lo, hi], rng.uniform(lo, hi, n1 - 2))))
    x2 = np.sort(np.concatenate(([lo, hi], rng.uniform(lo, hi, n2 - 2))))
    assume(np.min(np.diff(x1)) >= 0.5 and np.min(np.diff(x2)) >= 0.5)  # slopes at most 100 (tolerances below)
    y1, y2 = rng.uniform(0.0, 50.0, n1), rng.uniform(-20.0, 20.0, n2)
    slots = {"f": _slot("f", "gt_fuel", n1), "g": _slot("g", "hrsg_steam", n2)}
    groups = group_curves(slots)
    m = _toy(groups, slots)
    xs, ys = merge_breakpoints({"f": (x1, y1), "g": (x2, y2)}, ("f", "g"))
    grp = groups["U.x"]
    for k in range(grp.max_points):
        j = min(k, len(xs) - 1)
        m.cx["U.x", k] = float(xs[j])
        m.lam_hi["U.x", k] = 1.0 if k < len(xs) else 0.0
        m.cy["f", k] = float(ys["f"][j])
        m.cy["g", k] = float(ys["g"][j])
    need = sos2_bits(len(xs) - 1)
    for b in range(sos2_bits(grp.max_points - 1)):
        m.z_hi["U.x", b] = 1.0 if b < need else 0.0
    a, b = sorted((lo + (hi - lo) * fa, lo + (hi - lo) * fb))
    # a box narrower than HiGHS's tolerances tests HiGHS, not the formulation: with [a, b] at most
    # 2.4e-6 wide (a == b included) and the unit free to switch off, HiGHS 1.16's presolve returned
    # "optimal" on a worse point than off (presolve off: the right optimum). The cycle's boxes
    # with a free on/off are a ramp step wide.
    assume(b - a >= 1e-3 * (hi - lo))
    m.a.set_value(a)
    m.b.set_value(b)
    m.obj = pyo.Objective(expr=cx * m.x + c1 * m.y["f"] + c2 * m.y["g"])
    opt = pyo.SolverFactory("appsi_highs")
    opt.config.mip_gap = 1e-9
    opt.solve(m)
    # enumeration: off (all 0), or on at a breakpoint of either curve inside [a, b] or at a or b
    cand = np.unique(np.concatenate(([a, b], x1[(x1 >= a) & (x1 <= b)], x2[(x2 >= a) & (x2 <= b)])))
    values = cx * cand + c1 * np.interp(cand, x1, y1) + c2 * np.interp(cand, x2, y2)
    best = min(0.0, float(values.min()))
    # HiGHS stops within an absolute gap of 1e-6 and holds each row to its feasibility tolerance
    # (1e-7): the weights may sum to 1 +- 1e-7 each, which moves y by up to 1e-7 per point times
    # the curve's magnitude, so the objective may beat the enumeration by about 1e-6 of its terms'
    # scale (seen: 4.7e-6 with |y| up to 20); a formulation error moves it by far more
    scale = abs(cx) * hi + abs(c1) * float(np.abs(y1).max()) + abs(c2) * float(np.abs(y2).max())
    tol = 2e-6 + 1e-6 * scale
    assert pyo.value(m.obj) == pytest.approx(best, rel=1e-7, abs=tol)
    if round(pyo.value(m.u)) == 1:  # the solution lies on both curves (to HiGHS's feasibility tolerance times the slope)
        x = pyo.value(m.x)
        assert pyo.value(m.y["f"]) == pytest.approx(float(np.interp(x, x1, y1)), rel=1e-7, abs=1e-4)
        assert pyo.value(m.y["g"]) == pytest.approx(float(np.interp(x, x2, y2)), rel=1e-7, abs=1e-4)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.0, 100.0), min_size=1, max_size=8, unique=True),
       st.lists(st.floats(-1e3, 1e3), min_size=8, max_size=8),
       st.lists(st.floats(-10.0, 110.0), min_size=1, max_size=12))
def test_plain_python_interpolation_is_numpys(knots, values, probes):
    """merge_breakpoints interpolates in plain Python (cheaper than numpy on a handful of points
    at a cycle's start): the same numbers as numpy.interp, bit for bit, breakpoints included."""
    from optimizer.curves import _interp

    xp = sorted(knots)
    fp = values[: len(xp)]
    x = sorted(set(probes) | set(xp))
    assert _interp(x, xp, fp) == np.interp(x, xp, fp).tolist()
