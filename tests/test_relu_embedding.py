"""The multi-input ReLU embedding (optimizer/relu_embedding.py, surrogate/relu_bounds.py).

Independent references: the optimum over a box is recomputed by enumerating every activation
pattern of the network (one ``scipy.optimize.linprog`` per pattern over the region where that
pattern holds, the network affine there), using nothing of the code under test; the embedding's
solutions are checked against onnxruntime serving the ONNX export of the same network; the bounds
against pre-activations evaluated at sampled points.
"""

from __future__ import annotations

import functools
import itertools
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from optimizer.config import TUNED_HIGHS_OPTIONS
from optimizer.highs_direct import HighsDirect
from optimizer.relu_embedding import add_relu_network, check_embedding, standalone_model
from surrogate.network import ReluNetwork, Variable
from surrogate.onnx_io import save_network
from surrogate.relu_bounds import BOUND_METHODS, neuron_bounds
from surrogate.serving import OnnxSurrogate

GAP = 1e-7  # the supervisor's mip_rel_gap


# ----------------------------------------------------------------------------- networks
def seeded_net(sizes: list[int], seed: int, n_decision: int) -> ReluNetwork:
    """A random ReLU net on physical ranges: drawn in [-1, 1] coordinates, the scaling folded into
    the first and last layers as surrogate.train does (inputs over [lo, hi], output ~ 60 +- 25)."""
    rng = np.random.default_rng(seed)
    ws = [rng.normal(size=(sizes[i + 1], sizes[i])) / np.sqrt(sizes[i]) for i in range(len(sizes) - 1)]
    bs = [0.5 * rng.normal(size=sizes[i + 1]) for i in range(len(sizes) - 1)]
    lo = rng.uniform(0.0, 50.0, sizes[0])
    hi = lo + rng.uniform(20.0, 100.0, sizes[0])
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    ws[0], bs[0] = ws[0] / half[None, :], bs[0] - (ws[0] / half[None, :]) @ mid
    ws[-1], bs[-1] = 25.0 * ws[-1], 25.0 * bs[-1] + 60.0
    names = [f"x{i}" if i < n_decision else f"d{i - n_decision}" for i in range(sizes[0])]
    inputs = [Variable(n, "t/h", float(a), float(b)) for n, a, b in zip(names, lo, hi)]
    return ReluNetwork(ws, bs, inputs, [Variable("y", "t/h")])


@functools.cache
def trained_net() -> ReluNetwork:
    """A small net trained like surrogate.train (standardised data, scaling folded) on a smooth
    unit-like function: steam(power, extraction | cooling-water temperature)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPRegressor

    from surrogate.train import fold_scaling

    rng = np.random.default_rng(3)
    lo, hi = np.array([5.0, 0.0, 15.0]), np.array([40.0, 80.0, 35.0])
    x = lo + (hi - lo) * rng.random((600, 3))
    y = (4 + 3.9 * x[:, 0] * (1 + 0.006 * (x[:, 2] - 25)) + 0.62 * x[:, 1] + 30 / (x[:, 0] + 6) + 0.002 * x[:, 0] * x[:, 1])[:, None]
    mx, sx, my, sy = x.mean(0), x.std(0), y.mean(0), y.std(0)
    mlp = MLPRegressor(hidden_layer_sizes=(6,), activation="relu", solver="lbfgs", alpha=1e-6, max_iter=2000, tol=1e-10, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        mlp.fit((x - mx) / sx, ((y - my) / sy).ravel())
    w, b = fold_scaling(mlp, mx, sx, my, sy)
    inputs = [Variable("x0", "MW", 5.0, 40.0), Variable("x1", "t/h", 0.0, 80.0), Variable("d0", "degC", 15.0, 35.0)]
    net = ReluNetwork(w, b, inputs, [Variable("y", "t/h")])
    assert np.allclose(net.evaluate(x[:50])[:, 0], mlp.predict((x[:50] - mx) / sx) * sy[0] + my[0], rtol=1e-12, atol=1e-9)
    return net


NETS = {
    "2dec+1dist 3-5-1": lambda: seeded_net([3, 5, 1], 11, 2),
    "2dec 2-4-4-1": lambda: seeded_net([2, 4, 4, 1], 12, 2),
    "3dec+1dist 4-4-3-1": lambda: seeded_net([4, 4, 3, 1], 13, 3),
    "trained 3-6-1": trained_net,
}


def decision_names(net: ReluNetwork) -> list[str]:
    return [n for n in net.input_names if n.startswith("x")]


def random_case(net: ReluNetwork, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, dict, np.ndarray, float]:
    """A sub-box of the domain, a disturbance value inside it, and objective costs."""
    dec = decision_names(net)
    lo, hi = net.domain
    idx = [net.input_names.index(n) for n in dec]
    a = lo[idx] + (hi[idx] - lo[idx]) * rng.uniform(0.0, 0.6, len(idx))
    b = a + (hi[idx] - a) * rng.uniform(0.2, 1.0, len(idx))
    dist = {n: float(lo[j] + (hi[j] - lo[j]) * rng.random()) for j, n in enumerate(net.input_names) if n not in dec}
    return a, b, dist, rng.normal(size=len(idx)), float(rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 2.0))


# ----------------------------------------------------------------------------- the independent reference
def enumerate_patterns(net: ReluNetwork, lower: np.ndarray, upper: np.ndarray, dist: dict, c_x: np.ndarray, c_y: float) -> float:
    """min c_x . x + c_y . f(x, d) over the box by enumerating every activation pattern: with the
    pattern fixed the network is affine in x; one linprog over the region where it holds."""
    dec = decision_names(net)
    n_in = len(net.inputs)
    xi = [net.input_names.index(n) for n in dec]
    # the inputs as an affine map of the decisions: input = E x + e
    E = np.zeros((n_in, len(dec)))
    e = np.zeros(n_in)
    for k, j in enumerate(xi):
        E[j, k] = 1.0
    for n, v in dist.items():
        e[net.input_names.index(n)] = v
    sizes = net.hidden_sizes
    best = np.inf
    for bits in itertools.product([0, 1], repeat=sum(sizes)):
        A, a0 = E, e                              # current layer's values as A x + a0
        rows, rhs = [], []
        pos = 0
        for l, n in enumerate(sizes):
            P, p0 = net.weights[l] @ A, net.weights[l] @ a0 + net.biases[l]   # pre-activation
            on = np.array(bits[pos:pos + n], dtype=bool)
            pos += n
            rows.append(np.where(on[:, None], -P, P))      # active: P x + p0 >= 0; inactive: <= 0
            rhs.append(np.where(on, p0, -p0))
            A, a0 = P * on[:, None], p0 * on
        Y, y0 = net.weights[-1] @ A, net.weights[-1] @ a0 + net.biases[-1]
        res = linprog(c_x + c_y * Y[0], A_ub=np.vstack(rows), b_ub=np.concatenate(rhs),
                      bounds=list(zip(lower, upper)), method="highs")
        if res.status == 0:
            best = min(best, res.fun + c_y * y0[0])
    return best


# ----------------------------------------------------------------------------- helpers
class Solved:
    """One network's embedding in a model built once, solved the cycle's way (HighsDirect)."""

    def __init__(self, net: ReluNetwork, formulation: str, bounds: str):
        self.net = net
        self.m, self.emb = standalone_model(net, decision_names(net), formulation, bounds)
        self.solver = HighsDirect(self.m, dict(TUNED_HIGHS_OPTIONS))

    def solve(self, lower, upper, dist, c_x, c_y):
        cycle = self.emb.set_box(lower, upper, dist)
        for n, c in zip(self.emb.decision, c_x):
            self.m.c_x[n] = float(c)
        self.m.c_y["y"] = c_y
        arrays = self.solver.arrays(self.solver.template.values())
        res = self.solver.solve(arrays, 60.0, GAP)
        assert res.status == "optimal", res.model_status
        return res, cycle, arrays


@functools.cache
def served(name: str, tmp_dir: str) -> OnnxSurrogate:
    from pathlib import Path

    path = save_network(NETS[name](), Path(tmp_dir) / f"net{zlib.crc32(name.encode())}.onnx", "net")
    return OnnxSurrogate.from_file(path)


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("name", list(NETS))
def test_optimum_equals_activation_pattern_enumeration(name):
    net = NETS[name]()
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    models = {(f, b): Solved(net, f, b) for f in ("bigm", "hull") for b in BOUND_METHODS}
    for _ in range(4):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        for sign in (1.0, -1.0):                      # min and max of the same objective
            ref = enumerate_patterns(net, lower, upper, dist, sign * c_x, sign * c_y)
            for key, s in models.items():
                res, _, _ = s.solve(lower, upper, dist, sign * c_x, sign * c_y)
                rel = abs(res.objective - ref) / max(1.0, abs(ref))
                assert rel <= 1e-6, f"{name} {key}: embedding {res.objective!r}, enumeration {ref!r} ({rel:.2e})"


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(list(NETS)), seed=st.integers(0, 2**32 - 1),
       formulation=st.sampled_from(["bigm", "hull"]), bounds=st.sampled_from(list(BOUND_METHODS)))
def test_any_box_and_disturbance_agrees_with_onnxruntime(tmp_path_factory, name, seed, formulation, bounds):
    net = NETS[name]()
    s = _solved(name, formulation, bounds)
    lower, upper, dist, c_x, c_y = random_case(net, np.random.default_rng(seed))
    res, cycle, _ = s.solve(lower, upper, dist, c_x, c_y)
    check = check_embedding(s.emb, served(name, str(tmp_path_factory.getbasetemp())), cycle)
    assert check.ok, f"{check.rel_error:.3e}: model {check.y_model}, onnxruntime {check.y_served} at {check.inputs}"
    x = check.inputs[[net.input_names.index(n) for n in s.emb.decision]]
    assert np.all(x >= lower - 1e-7) and np.all(x <= upper + 1e-7)
    for n, v in dist.items():
        assert check.inputs[net.input_names.index(n)] == v
    # the objective HiGHS reports is the objective of the served network at the proposal
    served_obj = float(c_x @ x + c_y * check.y_served[0])
    assert abs(res.objective - served_obj) <= 1e-6 * max(1.0, abs(served_obj))


@functools.cache
def _solved(name: str, formulation: str, bounds: str) -> Solved:
    return Solved(NETS[name](), formulation, bounds)


@pytest.mark.parametrize("method", BOUND_METHODS)
@pytest.mark.parametrize("sizes,n_dec,seed", [([3, 6, 1], 2, 1), ([3, 8, 8, 1], 2, 2), ([4, 10, 10, 6, 1], 3, 3)])
def test_bounds_hold_at_sampled_points(method, sizes, n_dec, seed):
    net = seeded_net(sizes, seed, n_dec)
    rng = np.random.default_rng(seed + 100)
    for _ in range(5):
        lower, upper, dist, _, _ = random_case(net, rng)
        lo, hi = np.empty(len(net.inputs)), np.empty(len(net.inputs))
        dec = decision_names(net)
        for k, n in enumerate(dec):
            j = net.input_names.index(n)
            lo[j], hi[j] = lower[k], upper[k]
        for n, v in dist.items():
            lo[net.input_names.index(n)] = hi[net.input_names.index(n)] = v
        nb = neuron_bounds(net, lo, hi, method)
        pts = lo + (hi - lo) * rng.random((4000, lo.size))
        corners = np.array(list(itertools.product(*zip(lo, hi))))
        z = np.vstack([pts, corners])
        for l, (w, b) in enumerate(zip(net.weights, net.biases)):
            a = z @ w.T + b
            b_lo, b_hi = nb.pre[l]
            tol = 1e-9 * (1.0 + np.abs(a).max())
            assert np.all(a >= b_lo - tol), f"layer {l}: a point below the lower bound by {np.max(b_lo - a):.3e}"
            assert np.all(a <= b_hi + tol), f"layer {l}: a point above the upper bound by {np.max(a - b_hi):.3e}"
            # a neuron seen with both signs must be called unstable (interior points, no ties)
            if l < len(net.hidden_sizes):
                both = (a.min(0) < -tol) & (a.max(0) > tol)
                assert np.all(nb.unstable()[l][both])
            z = np.maximum(a, 0.0)


@pytest.mark.parametrize("sizes,n_dec,seed", [([3, 8, 8, 1], 2, 2), ([4, 10, 10, 6, 1], 3, 3)])
def test_tighter_methods_are_never_looser(sizes, n_dec, seed):
    net = seeded_net(sizes, seed, n_dec)
    rng = np.random.default_rng(seed)
    for _ in range(5):
        lo, hi = net.domain
        a = lo + (hi - lo) * rng.uniform(0.0, 0.5, lo.size)
        b = a + (hi - a) * rng.uniform(0.1, 1.0, lo.size)
        nb = {m: neuron_bounds(net, a, b, m) for m in BOUND_METHODS}
        for l in range(len(net.hidden_sizes)):
            for tight, loose in (("crown", "interval"), ("lp", "crown")):
                pad = 1e-6 * (1.0 + np.abs(nb[loose].pre[l][0]))
                assert np.all(nb[tight].pre[l][0] >= nb[loose].pre[l][0] - pad)
                assert np.all(nb[tight].pre[l][1] <= nb[loose].pre[l][1] + pad)
        assert nb["lp"].n_unstable <= nb["crown"].n_unstable <= nb["interval"].n_unstable


@pytest.mark.parametrize("bounds", BOUND_METHODS)
@pytest.mark.parametrize("formulation", ["bigm", "hull"])
def test_free_binaries_equal_unstable_neurons(formulation, bounds):
    net = seeded_net([3, 8, 8, 1], 5, 2)
    s = Solved(net, formulation, bounds)
    rng = np.random.default_rng(9)
    counts = set()
    for _ in range(6):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        _, cycle, arrays = s.solve(lower, upper, dist, c_x, c_y)
        is_int = arrays.integrality != 0
        free = int(np.sum(is_int & (arrays.col_upper > arrays.col_lower)))
        assert int(np.sum(is_int)) == net.n_hidden          # one reserved per neuron, built once
        assert free == cycle.n_binaries == cycle.bounds.n_unstable
        if bounds == "interval":   # the same count from the network's own interval code
            stable = net.stable_neurons(cycle.lower, cycle.upper)
            assert free == sum(int(np.sum(~(act | ina))) for act, ina in stable)
        counts.add(free)
    assert len(counts) > 1  # the boxes differ in what they need


@pytest.mark.parametrize("formulation", ["bigm", "hull"])
def test_parameters_written_per_cycle_equal_a_model_built_for_that_box(formulation):
    """The model built once and re-parameterised gives the same HiGHS model as one built and set
    for the box directly (every coefficient affine in the Params, as lp_arrays needs)."""
    net = seeded_net([4, 6, 5, 1], 21, 3)
    rng = np.random.default_rng(4)
    once = Solved(net, formulation, "interval")
    once.solve(*random_case(net, rng))
    for _ in range(3):
        case = random_case(net, rng)
        res, _, arrays = once.solve(*case)
        fresh = Solved(net, formulation, "interval")
        res2, _, arrays2 = fresh.solve(*case)
        assert abs(res.objective - res2.objective) <= 1e-9 * max(1.0, abs(res2.objective))
        for field in ("col_lower", "col_upper", "row_lower", "row_upper", "col_cost", "a_value"):
            assert np.allclose(getattr(arrays, field), getattr(arrays2, field), rtol=1e-12, atol=1e-12), field


def test_check_embedding_reports_a_mismatch(tmp_path):
    net = NETS["trained 3-6-1"]()
    s = Solved(net, "bigm", "crown")
    lower, upper, dist, c_x, c_y = random_case(net, np.random.default_rng(1))
    _, cycle, _ = s.solve(lower, upper, dist, c_x, c_y)
    other = ReluNetwork([w.copy() for w in net.weights], [b.copy() for b in net.biases], net.inputs, net.outputs)
    other.biases[-1][0] += 1e-3                  # a network that differs by 1e-3 t/h
    wrong = OnnxSurrogate.from_file(save_network(other, tmp_path / "other.onnx", "other"))
    right = OnnxSurrogate.from_file(save_network(net, tmp_path / "net.onnx", "net"))
    assert check_embedding(s.emb, right, cycle).ok
    bad = check_embedding(s.emb, wrong, cycle)
    assert not bad.ok and bad.rel_error > 1e-6


def test_bad_input_is_refused_with_the_field_named():
    import pyomo.environ as pyo

    net = seeded_net([3, 4, 1], 1, 2)
    m = pyo.ConcreteModel()
    m.b = pyo.Block()
    with pytest.raises(ValueError, match=r"needs at least 2 decision inputs.*1-D curve"):
        add_relu_network(m.b, net, ["x0"])
    with pytest.raises(ValueError, match=r"\['zz'\] are not inputs"):
        add_relu_network(m.b, net, ["x0", "zz"])
    with pytest.raises(ValueError, match=r"formulation = 'sos'"):
        add_relu_network(m.b, net, ["x0", "x1"], formulation="sos")
    emb = add_relu_network(m.b, net, ["x0", "x1"])
    with pytest.raises(ValueError, match=r"disturbances lacks 'd0'"):
        emb.values([0, 0], [1, 1], {})
    with pytest.raises(ValueError, match=r"disturbance 'd0' = nan"):
        emb.values([0, 0], [1, 1], {"d0": float("nan")})
    with pytest.raises(ValueError, match=r"box of input 'x1' is \[2.0, 1.0\]: lower must not exceed upper"):
        emb.values([0, 2], [1, 1], {"d0": 0.0})
    with pytest.raises(ValueError, match=r"box upper of decision input 'x0' = inf"):
        emb.values([0, 0], [np.inf, 1], {"d0": 0.0})
    with pytest.raises(ValueError, match=r"bound method = 'exact'"):
        neuron_bounds(net, np.zeros(3), np.ones(3), "exact")


def test_benchmark_asserts_the_same_optimum(tmp_path, monkeypatch):
    """benchmarks/relu_multi_input: on two boxes the figures come with agreement to 1e-6, and an
    objective of ours off by 1e-4 relative is refused."""
    import benchmarks.relu_multi_input as bench

    unit = bench.UNITS[0]
    res = bench.bench_network(unit, "small", 2, tmp_path, partition=False, compare_hull=False)
    assert res["max_objective_rel_diff"] <= 1e-6 and res["max_onnxruntime_rel_diff"] <= 1e-6
    assert res["omlt_bigm_binaries"] == 8 and 0 <= res["ours_binaries_mean"] <= 8
    solve = bench.Ours.solve

    def off(self, box):
        obj, *rest = solve(self, box)
        return (obj + 1e-4 * max(1.0, abs(obj)), *rest)

    monkeypatch.setattr(bench.Ours, "solve", off)
    with pytest.raises(bench.OptimumMismatch, match="differs from ours"):
        bench.bench_network(unit, "small", 1, tmp_path, partition=False, compare_hull=False)
