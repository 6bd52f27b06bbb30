"""Tests of surrogate.curve: a ReLU network restricted to a line as an exact piecewise-linear
function, on random numpy networks (one to three hidden layers) and the bundled site models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surrogate import curve
from surrogate.curve import (
    PiecewiseLinear,
    kink_directions,
    max_breakpoints,
    restrict_to_line,
    structurally_convex,
)
from surrogate.manifest import load_model_dir
from surrogate.network import ReluNetwork, Variable

ROOT = Path(__file__).resolve().parents[1]
MODELS = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")

# --------------------------------------------------------------------------- helpers


def make_net(sizes: list[int], seed: int, *, convex: bool = False, concave: bool = False) -> ReluNetwork:
    """A dense ReLU network with He-scaled random weights from a fixed seed. ``convex``: every
    weight after the first layer >= 0 (input-convex); ``concave``: the same, last layer <= 0."""
    rng = np.random.default_rng(seed)
    weights = [rng.normal(size=(sizes[i + 1], sizes[i])) * np.sqrt(2.0 / sizes[i]) for i in range(len(sizes) - 1)]
    biases = [rng.normal(scale=0.5, size=sizes[i + 1]) for i in range(len(sizes) - 1)]
    if convex or concave:
        weights[1:] = [np.abs(w) for w in weights[1:]]
    if concave:
        weights[-1] = -weights[-1]
    inputs = [Variable(f"in{i}", "u", -3.0, 3.0) for i in range(sizes[0])]
    outputs = [Variable(f"out{j}", "v") for j in range(sizes[-1])]
    return ReluNetwork(weights, biases, inputs, outputs)


def line_inputs(net: ReluNetwork, k: int, base: np.ndarray, t: np.ndarray) -> np.ndarray:
    X = np.tile(np.asarray(base, dtype=float), (t.size, 1))
    X[:, k] = t
    return X


def full_base(net: ReluNetwork, k: int, fixed) -> np.ndarray:
    """The fixed values as a full input vector (free input 0)."""
    return curve._base_point(net, k, fixed)


def check_exact(net: ReluNetwork, pwl: PiecewiseLinear, k: int, fixed, lo: float, hi: float, out: int | None = 0,
                n: int = 2000) -> None:
    """The interpolant equals the network at dense points, the breakpoints and just beside them,
    to 1e-9 of the output's scale on the box."""
    base = full_base(net, k, fixed)
    assert pwl.x[0] == lo and pwl.x[-1] == hi
    assert np.all(np.diff(pwl.x) > 0)
    beside = np.concatenate([pwl.x, pwl.x - 1e-7 * (hi - lo), pwl.x + 1e-7 * (hi - lo)])
    t = np.clip(np.concatenate([np.linspace(lo, hi, n), beside]), lo, hi)
    f = net.evaluate(line_inputs(net, k, base, t))
    if out is not None:
        f = f[:, out]
    got = pwl(t)
    assert got.shape == f.shape
    scale = np.max(np.abs(f), axis=0)
    assert np.all(np.abs(got - f) <= 1e-9 * scale + 1e-12), np.max(np.abs(got - f))
    # breakpoint values are the network's own
    fx = net.evaluate(line_inputs(net, k, base, pwl.x))
    fx = fx if out is None else fx[:, out]
    assert np.allclose(pwl.y, fx, rtol=1e-12, atol=1e-12 * max(1.0, float(np.max(np.abs(fx)))))


def exact_slopes(net: ReluNetwork, pwl: PiecewiseLinear, k: int, fixed, out: int | None = 0) -> np.ndarray:
    """Slope of each segment from the network's Jacobian at the segment midpoint."""
    base = full_base(net, k, fixed)
    mids = 0.5 * (pwl.x[:-1] + pwl.x[1:])
    jac = np.array([net.jacobian(x)[:, k] for x in line_inputs(net, k, base, mids)]).reshape(mids.size, -1)
    return jac[:, 0 if out is None else out] if out is not None else jac


def check_structure(net: ReluNetwork, pwl: PiecewiseLinear, k: int, fixed, out: int | None = 0) -> None:
    """Chord slopes are the network's slopes; every interior breakpoint is a real kink; the
    breakpoint count respects max_breakpoints; the convexity flags agree with the slopes."""
    assert len(pwl.x) <= max_breakpoints(net)
    if pwl.x.size < 2:
        return
    s_exact = exact_slopes(net, pwl, k, fixed, out)
    s = pwl.slopes()
    scale = max(float(np.max(np.abs(s_exact))), 1e-300)
    np.testing.assert_allclose(s, s_exact, rtol=0, atol=1e-7 * scale)
    if s.shape[0] >= 2:
        steps = np.abs(np.diff(s, axis=0))
        if steps.ndim == 2:
            steps = steps.max(axis=1)
        assert np.all(steps > 1e-9 * scale), steps
        d = np.diff(s_exact, axis=0)
        assert pwl.is_convex() == bool(np.all(d >= -1e-9 * scale))
        assert pwl.is_concave() == bool(np.all(d <= 1e-9 * scale))


# --------------------------------------------------------------------------- random networks

SHAPES = [
    [1, 8, 1],
    [2, 16, 1],
    [3, 16, 1],
    [3, 5, 2],
    [2, 64, 1],
    [2, 8, 8, 1],
    [3, 12, 6, 1],
    [3, 6, 5, 2],
    [1, 4, 4, 4, 1],
]


@pytest.mark.parametrize("sizes", SHAPES, ids=lambda s: "-".join(map(str, s)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_networks_exact(sizes, seed):
    net = make_net(sizes, seed)
    rng = np.random.default_rng(100 + seed)
    n_in = sizes[0]
    for k in range(n_in):
        for out in range(sizes[-1]):
            fixed = rng.uniform(-3.0, 3.0, size=n_in - 1)
            lo = float(rng.uniform(-4.0, 0.0))
            hi = lo + float(rng.uniform(0.5, 6.0))
            pwl = restrict_to_line(net, k, fixed, lo, hi, output_index=out)
            assert pwl.y.shape == pwl.x.shape
            check_exact(net, pwl, k, fixed, lo, hi, out)
            check_structure(net, pwl, k, fixed, out)


@pytest.mark.parametrize("sizes", [[2, 16, 3], [3, 6, 5, 2]], ids=lambda s: "-".join(map(str, s)))
def test_all_outputs_at_once(sizes):
    net = make_net(sizes, 7)
    fixed = [0.4] * (sizes[0] - 1)
    pwl = restrict_to_line(net, 0, fixed, -2.5, 2.0, output_index=None)
    assert pwl.y.shape == (pwl.x.size, sizes[-1])
    check_exact(net, pwl, 0, fixed, -2.5, 2.0, out=None)
    check_structure(net, pwl, 0, fixed, out=None)
    # every single-output breakpoint is among the joint ones
    for j in range(sizes[-1]):
        single = restrict_to_line(net, 0, fixed, -2.5, 2.0, output_index=j)
        assert all(np.min(np.abs(pwl.x - t)) <= 1e-12 for t in single.x)
        assert pwl(0.3).shape == (sizes[-1],)


@pytest.mark.parametrize("sizes", [[1, 8, 1], [2, 16, 1], [3, 16, 2]], ids=lambda s: "-".join(map(str, s)))
def test_walk_agrees_with_closed_form_on_one_layer(sizes):
    net = make_net(sizes, 3)
    rng = np.random.default_rng(5)
    for _ in range(10):
        k = int(rng.integers(sizes[0]))
        base = rng.uniform(-3.0, 3.0, size=sizes[0])
        base[k] = 0.0
        lo, hi = sorted(rng.uniform(-4.0, 4.0, size=2))
        pts_closed = curve._one_layer(net, k, base, lo, hi, 0, 1e-9, 0.0)
        pts_walk, _ = curve._walk(net, k, base, lo, hi, 0, 1e-9)
        np.testing.assert_allclose(pts_walk, pts_closed, rtol=0, atol=1e-10 * (hi - lo))


def test_fixed_forms_are_equivalent():
    net = make_net([3, 16, 1], 11)
    a = restrict_to_line(net, "in1", {"in0": 0.5, "in2": -1.0}, -1.0, 2.0)
    b = restrict_to_line(net, 1, [0.5, -1.0], -1.0, 2.0)
    c = restrict_to_line(net, 1, np.array([0.5, 123.0, -1.0]), -1.0, 2.0)      # free value ignored
    d = restrict_to_line(net, 1, {"in0": 0.5, "in1": 9.0, "in2": -1.0, "other": 1.0}, -1.0, 2.0)
    for p in (b, c, d):
        np.testing.assert_array_equal(p.x, a.x)
        np.testing.assert_array_equal(p.y, a.y)


def test_accepts_served_surrogate_and_single_input_net():
    net = make_net([1, 6, 1], 4)
    p = restrict_to_line(net, 0, [], -2.0, 2.0)
    q = restrict_to_line(net, "in0", None, -2.0, 2.0)
    np.testing.assert_array_equal(p.x, q.x)
    served = MODELS["TG2_steam"]
    lo, hi = served.domain[0][0], served.domain[1][0]
    pwl = restrict_to_line(served, "TG2.power_mw", {}, lo, hi)
    check_exact(served.network, pwl, 0, {}, lo, hi)


# --------------------------------------------------------------------------- bundled models


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bundled_models(name):
    served = MODELS[name]
    net = served.network
    lower, upper = served.domain
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    assert max_breakpoints(net) == net.n_hidden + 2
    for k, free in enumerate(served.input_names):
        for trial in range(6):
            point = rng.uniform(lower, upper)
            fixed = {n: float(point[i]) for i, n in enumerate(served.input_names) if i != k}
            if trial == 0:                                   # the whole training range
                lo, hi = float(lower[k]), float(upper[k])
            else:                                            # a small supervisory box
                width = float(rng.uniform(0.01, 0.2)) * (upper[k] - lower[k])
                lo = float(rng.uniform(lower[k], upper[k] - width))
                hi = lo + width
            pwl = restrict_to_line(served, free, fixed, lo, hi)
            check_exact(net, pwl, k, fixed, lo, hi)
            check_structure(net, pwl, k, fixed)
            # what onnxruntime serves agrees with the breakpoints too
            X = line_inputs(net, k, full_base(net, k, fixed), pwl.x)
            np.testing.assert_allclose(served.evaluate_batch(X)[:, 0], pwl.y, rtol=1e-6)
        dirs = kink_directions(served, free)
        assert dirs is not None and dirs.shape == (net.n_hidden,)
        assert structurally_convex(served, free) == bool(np.all(dirs >= 0))


# --------------------------------------------------------------------------- breakpoint counts


def test_max_breakpoints_tight_for_one_layer():
    n = 12
    w1 = np.ones((n, 2))
    b1 = -np.linspace(0.1, 0.9, n)                # kinks at t = 0.1 ... 0.9 - (fixed = 0)
    w2 = np.where(np.arange(n) % 2 == 0, 1.0, -1.0)[None, :] * (1.0 + np.arange(n))
    net = ReluNetwork([w1, w2], [b1, np.zeros(1)], [Variable("a"), Variable("b")], [Variable("y")])
    pwl = restrict_to_line(net, "a", [0.0], 0.0, 1.0)
    assert len(pwl) == max_breakpoints(net) == n + 2
    np.testing.assert_allclose(pwl.x[1:-1], -b1, atol=1e-15)
    check_exact(net, pwl, 0, [0.0], 0.0, 1.0)


def test_max_breakpoints_deeper():
    assert max_breakpoints(make_net([2, 8, 8, 1], 0)) == 9 * 9 + 1
    assert max_breakpoints(make_net([3, 12, 6, 1], 0)) == 13 * 7 + 1
    assert max_breakpoints(make_net([1, 4, 4, 4, 1], 0)) == 5**3 + 1
    affine = ReluNetwork([np.array([[2.0, -1.0]])], [np.array([0.5])], [Variable("a"), Variable("b")], [Variable("y")])
    assert max_breakpoints(affine) == 2
    pwl = restrict_to_line(affine, 0, [1.0], -1.0, 1.0)
    np.testing.assert_allclose(pwl.y, [-2.5, 1.5])
    assert kink_directions(affine, 0).shape == (0,)
    assert structurally_convex(affine, 0)


# --------------------------------------------------------------------------- merging and collinear kinks


def _two_neuron_net(b_second: float, w2_second: float) -> ReluNetwork:
    w1 = np.array([[1.0, 0.0], [1.0, 0.0], [1.0, 0.0]])
    b1 = np.array([-0.5, b_second, -0.2])
    w2 = np.array([[1.0, w2_second, 0.0]])       # neuron 2 has no path to the output
    return ReluNetwork([w1, w2], [b1, np.zeros(1)], [Variable("a"), Variable("b")], [Variable("y")])


def test_near_coincident_kinks_merge_and_stay_exact():
    net = _two_neuron_net(-0.5 - 1e-13, -3.0)     # kinks at 0.5 and 0.5 + 1e-13
    pwl = restrict_to_line(net, 0, [0.0], 0.0, 1.0)
    assert len(pwl) == 3
    assert abs(pwl.x[1] - 0.5) < 1e-12
    check_exact(net, pwl, 0, [0.0], 0.0, 1.0)
    strict = restrict_to_line(net, 0, [0.0], 0.0, 1.0, merge_tol=0.0)
    assert len(strict) == 4


def test_cancelling_and_disconnected_neurons_leave_no_breakpoint():
    net = _two_neuron_net(-0.5, -1.0)              # two kinks at 0.5 that cancel; neuron 2 disconnected
    pwl = restrict_to_line(net, 0, [0.0], 0.0, 1.0)
    np.testing.assert_array_equal(pwl.x, [0.0, 1.0])
    check_exact(net, pwl, 0, [0.0], 0.0, 1.0)
    deep = make_net([2, 6, 6, 1], 9)
    deep.weights[-1][:] = 0.0                      # constant output: no breakpoints at all
    pwl = restrict_to_line(deep, 0, [0.3], -3.0, 3.0)
    np.testing.assert_array_equal(pwl.x, [-3.0, 3.0])


def test_kinks_at_or_next_to_the_box_edges():
    net = _two_neuron_net(-0.7, 2.0)               # kinks at 0.5 and 0.7
    for lo, hi in [(0.5, 0.7), (0.5 - 1e-12, 0.7 + 1e-12), (0.5 + 1e-12, 0.7 - 1e-12)]:
        pwl = restrict_to_line(net, 0, [0.0], lo, hi)
        assert len(pwl) == 2
        check_exact(net, pwl, 0, [0.0], lo, hi)
    deep = make_net([2, 8, 8, 1], 2)
    inner = restrict_to_line(deep, 0, [0.1], -3.0, 3.0)
    lo, hi = inner.x[2], inner.x[-3]                # a box starting and ending on kinks
    pwl = restrict_to_line(deep, 0, [0.1], lo, hi)
    check_exact(deep, pwl, 0, [0.1], lo, hi)
    check_structure(deep, pwl, 0, [0.1])
    np.testing.assert_allclose(pwl.x, inner.x[2:-2], rtol=0, atol=1e-12)


def test_degenerate_box_gives_one_point():
    for net in (make_net([2, 16, 1], 0), make_net([2, 8, 8, 1], 0)):
        pwl = restrict_to_line(net, 0, [0.2], 1.25, 1.25)
        assert pwl.x.tolist() == [1.25]
        np.testing.assert_allclose(pwl.y, net.evaluate(np.array([1.25, 0.2]))[:1])
        assert pwl.slopes().shape == (0,)
        assert pwl.is_convex() and pwl.is_concave()
        assert pwl(1.25) == pytest.approx(pwl.y[0])
        assert len(pwl) == 1


# --------------------------------------------------------------------------- convexity


def test_convex_and_concave_networks_are_reported():
    for sizes in ([2, 16, 1], [3, 8, 1], [2, 8, 8, 1], [3, 6, 5, 1]):
        convex = make_net(sizes, 21, convex=True)
        concave = make_net(sizes, 21, concave=True)
        for k in range(sizes[0]):
            assert structurally_convex(convex, k)
            assert not structurally_convex(concave, k)
            fixed = [0.3] * (sizes[0] - 1)
            assert restrict_to_line(convex, k, fixed, -3.0, 3.0).is_convex()
            assert restrict_to_line(concave, k, fixed, -3.0, 3.0).is_concave()


def test_structural_convexity_ignores_neurons_without_the_free_input():
    net = make_net([2, 6, 1], 3, convex=True)
    net.weights[1][0, 2] = -1.0
    assert not structurally_convex(net, 0) and not structurally_convex(net, 1)
    net.weights[0][2, 0] = 0.0                      # neuron 2 no longer sees input 0
    assert structurally_convex(net, 0)
    assert not structurally_convex(net, 1)
    assert kink_directions(net, 0)[2] == 0
    assert kink_directions(net, 1)[2] == -1


def test_kink_directions_match_the_slope_changes():
    net = make_net([3, 16, 2], 8)
    for out in range(2):
        dirs = kink_directions(net, 1, output_index=out)
        expected = np.where(net.weights[0][:, 1] != 0, np.sign(net.weights[1][out]), 0)
        np.testing.assert_array_equal(dirs, expected)
        fixed = [0.5, -0.2]
        pwl = restrict_to_line(net, 1, fixed, -4.0, 4.0, output_index=out)
        base = full_base(net, 1, fixed)
        c = net.weights[0] @ base + net.biases[0]
        kinks = -c / net.weights[0][:, 1]
        steps = np.diff(pwl.slopes())
        for t, step in zip(pwl.x[1:-1], steps):
            j = int(np.argmin(np.abs(kinks - t)))
            assert np.sign(step) == dirs[j]
    assert kink_directions(make_net([2, 4, 4, 1], 0), 0) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16),
    n_in=st.integers(1, 3),
    hidden=st.lists(st.integers(1, 10), min_size=1, max_size=2),
    force_convex=st.booleans(),
    fixed=st.lists(st.floats(-5.0, 5.0), min_size=2, max_size=2),
    lo=st.floats(-5.0, 5.0),
    width=st.one_of(st.just(0.0), st.floats(1e-3, 6.0)),
)
def test_structurally_convex_implies_convex(seed, n_in, hidden, force_convex, fixed, lo, width):
    net = make_net([n_in, *hidden, 1], seed, convex=force_convex)
    k = seed % n_in
    fx = fixed[: n_in - 1]
    pwl = restrict_to_line(net, k, fx, lo, lo + width)
    assert len(pwl) <= max_breakpoints(net)
    if force_convex:
        assert structurally_convex(net, k)
    if structurally_convex(net, k):
        assert pwl.is_convex()
    if width > 0:
        check_exact(net, pwl, k, fx, lo, lo + width, n=200)


# --------------------------------------------------------------------------- the result object


def test_piecewise_linear_object():
    p = PiecewiseLinear([0.0, 1.0, 3.0], [0.0, 1.0, 5.0])
    np.testing.assert_allclose(p.slopes(), [1.0, 2.0])
    assert p.is_convex() and not p.is_concave()
    assert p(2.0) == pytest.approx(3.0)
    assert p(-1.0) == pytest.approx(0.0) and p(10.0) == pytest.approx(5.0)   # held outside
    with pytest.raises(ValueError):
        p.x[0] = 5.0                                                        # read-only
    two = PiecewiseLinear([0.0, 1.0], [[0.0, 1.0], [1.0, -1.0]])
    assert two(np.array([0.5, 0.25])).shape == (2, 2)
    np.testing.assert_allclose(two(0.5), [0.5, 0.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        PiecewiseLinear([0.0, 0.0], [1.0, 2.0])
    with pytest.raises(ValueError, match="y must have shape"):
        PiecewiseLinear([0.0, 1.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="non-empty"):
        PiecewiseLinear([], [])


# --------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(free_input="nope"), "free_input 'nope'"),
        (dict(free_input=3), "free_input 3"),
        (dict(free_input=-1), "free_input -1"),
        (dict(free_input=True), "free_input"),
        (dict(free_input=1.0), "free_input"),
        (dict(lo=2.0, hi=1.0), "lo 2.0 exceeds hi 1.0"),
        (dict(lo=float("nan")), "lo"),
        (dict(hi=float("inf")), "hi"),
        (dict(fixed=[1.0, 2.0, 3.0, 4.0]), "fixed: got shape"),
        (dict(fixed=[1.0]), "fixed: got shape"),
        (dict(fixed=[[1.0, 2.0]]), "fixed: got shape"),
        (dict(fixed={"in0": 1.0}), r"fixed: missing values for inputs \['in2'\]"),
        (dict(fixed={"in0": 1.0, "in2": "x"}), r"fixed\['in2'\]"),
        (dict(fixed=[1.0, float("nan")]), r"non-finite values for inputs \['in2'\]"),
        (dict(fixed=["a", "b"]), "fixed: cannot read"),
        (dict(output_index=1), "output_index 1"),
        (dict(merge_tol=-1.0), "merge_tol"),
        (dict(slope_tol=float("nan")), "slope_tol"),
    ],
)
def test_bad_arguments(kwargs, match):
    net = make_net([3, 8, 1], 0)
    args = dict(free_input="in1", fixed=[0.0, 0.0], lo=-1.0, hi=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        restrict_to_line(net, **args)


def test_bad_arguments_elsewhere():
    with pytest.raises(TypeError, match="net"):
        restrict_to_line("not a network", 0, [], 0.0, 1.0)
    net = make_net([2, 4, 1], 0)
    with pytest.raises(ValueError, match="free_input 'x'"):
        kink_directions(net, "x")
    with pytest.raises(ValueError, match="free_input 'x'"):
        structurally_convex(net, "x")
    with pytest.raises(ValueError, match="output_index"):
        structurally_convex(net, 0, output_index=None)


def test_walk_reports_a_runaway(monkeypatch):
    net = make_net([2, 8, 8, 1], 0)
    monkeypatch.setattr(curve, "_WALK_CAP", 3)
    with pytest.raises(RuntimeError, match="activation regions"):
        restrict_to_line(net, 0, [0.0], -3.0, 3.0)
