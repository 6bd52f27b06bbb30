"""The linear regions in d dimensions (surrogate/relu_regions_nd.py) and the "regions" formulation
with three decision inputs (optimizer/relu_regions_form.py). Independent references: the optimum
by enumerating every activation pattern (scipy linprog, tests/test_relu_embedding.py),
onnxruntime on the ONNX export, the network evaluated at sampled points, qhull's volumes
(scipy.spatial.ConvexHull) and the 2-D polygon clipper on the same boxes."""

from __future__ import annotations

import functools
import itertools
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import ConvexHull, Delaunay

from optimizer.relu_embedding import check_embedding
from surrogate.network import ReluNetwork, Variable
from surrogate.relu_regions import linear_regions_2d
from surrogate.relu_regions_nd import TooManyVertices
from surrogate.relu_regions_nd import linear_regions as _linear_regions
from tests.test_relu_embedding import NETS, Solved, enumerate_patterns, random_case, seeded_net, served
from tests.test_relu_regions import WIDE, full_box, solve_and_check_served

def linear_regions(*args, **kwargs):
    """The enumeration with a vertex cap (a broken edge test would otherwise multiply points)."""
    return _linear_regions(*args, max_vertices=20_000, **kwargs)


THREE_DECISIONS = {
    "3dec+1dist 4-4-3-1": NETS["3dec+1dist 4-4-3-1"],
    "3dec 3-5-4-1": lambda: seeded_net([3, 5, 4, 1], 31, 3),
}


def degenerate_net() -> ReluNetwork:
    """Planes through the unit cube's corners, its edges and one another's intersections: x0 = x1
    (a diagonal plane through four corners and two edges), x0 + x1 + x2 = 1.5 (through no corner
    but meeting the previous one on a line), x2 = 0.5 twice (two neurons, one plane), x0 = 0 (a
    face of the box: never cuts) and x0 + x1 = 1 (through two edges); a second layer whose planes
    pass through the vertices the first layer made (e.g. x0 + x1 + x2 = 1.5 again, after ReLUs)."""
    w0 = np.array([[1.0, -1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 0.0, 1.0], [0.0, 0.0, 2.0], [1.0, 0.0, 0.0], [1.0, 1.0, 0.0]])
    b0 = np.array([0.0, -1.5, -0.5, -1.0, 0.0, -1.0])
    w1 = np.array([[0.0, 1.0, 0.0, 0.0, 0.0, 0.0], [1.0, -1.0, 0.5, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, -1.0, 1.0, 0.0]])
    b1 = np.array([-0.25, 0.0, -0.5])
    w2 = np.array([[3.0, -2.0, 1.5]])
    b2 = np.array([1.0])
    return ReluNetwork([w0, w1, w2], [b0, b1, b2], [Variable(f"x{i}", "t/h", 0.0, 1.0) for i in range(3)], [Variable("y", "t/h")])


def volumes_and_coverage(reg, lower: np.ndarray, upper: np.ndarray, rng: np.random.Generator, net: ReluNetwork) -> None:
    """The cells tile the box (volumes sum to the box's, every sampled point of the box is in a
    cell: together no overlap), every listed point is a vertex of its cell (no spurious points,
    no repeats) and the network is affine on each (vertex interpolation)."""
    d = lower.size
    total = 0.0
    hulls = []
    for cell, vals in zip(reg.cells, reg.values):
        hull = ConvexHull(cell)
        total += hull.volume
        assert len(hull.vertices) == len(cell), f"{len(cell)} points listed, {len(hull.vertices)} vertices"
        hulls.append(Delaunay(cell[hull.vertices]))
        lam = rng.dirichlet(np.ones(len(cell)), 20)          # points inside the cell
        pts = np.repeat(reg.point[None, :], 20, axis=0)
        pts[:, list(reg.free)] = lam @ cell
        truth = net.evaluate(pts).reshape(20, -1)
        assert np.allclose(lam @ vals, truth, rtol=1e-9, atol=1e-9), "the network is not affine on a cell"
    box = float(np.prod(upper - lower))
    assert total == pytest.approx(box, rel=1e-9)
    pts = lower + (upper - lower) * rng.random((200, d))
    inside = np.zeros(len(pts), dtype=bool)
    for tri in hulls:
        inside |= tri.find_simplex(pts, tol=1e-9) >= 0
    assert inside.all(), pts[~inside][:3]


@pytest.mark.parametrize("sizes,seed,d", [([3, 6, 1], 41, 3), ([3, 8, 8, 1], 42, 3), ([4, 6, 5, 1], 43, 3), ([4, 5, 4, 1], 44, 4)])
def test_cells_tile_the_box_and_the_network_is_affine_on_each(sizes, seed, d):
    net = seeded_net(sizes, seed, d)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        lower, upper, dist, _, _ = random_case(net, rng)
        lo, hi = full_box(net, lower, upper, dist)
        reg = linear_regions(net, lo, hi)
        assert reg.n_regions > 1 and reg.cells[0].shape[1] == d
        volumes_and_coverage(reg, lower, upper, rng, net)


def test_degenerate_planes_through_vertices_and_edges():
    net = degenerate_net()
    lo, hi = np.zeros(3), np.ones(3)
    reg = linear_regions(net, lo, hi)
    volumes_and_coverage(reg, lo, hi, np.random.default_rng(1), net)
    # the first layer alone: x0 = x1, x0 + x1 + x2 = 1.5, x2 = 0.5 and x0 + x1 = 1 cut the cube into 12 cells
    first = ReluNetwork([net.weights[0], np.ones((1, 6))], [net.biases[0], np.zeros(1)], net.inputs, net.outputs)
    assert linear_regions(first, lo, hi).n_regions == 12
    rng = np.random.default_rng(2)
    s = Solved(net, "regions", "interval")
    for _ in range(6):   # optima at the degenerate vertices: costs that favour corners and the planes' meets
        c_x = rng.normal(size=3)
        c_y = float(rng.choice([-1.0, 1.0]))
        for a, b in ((lo, hi), (np.array([0.0, 0.0, 0.5]), np.array([1.0, 0.5, 1.0]))):
            ref = enumerate_patterns(net, a, b, {}, c_x, c_y)
            res, cycle, _ = s.solve(a, b, {}, c_x, c_y)
            assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref)), (res.objective, ref, cycle.n_regions)


def test_degenerate_planes_in_four_dimensions_give_no_spurious_vertices():
    """x0 = 1/2, x1 = 1/2 and x0 = x1 share a 2-D face in 4-D: diagonal vertices of that face share
    three planes (d - 1) without spanning an edge; only the combinatorial test tells. A later
    plane (x2 + x3 = 1) crossing the face's diagonal must not make a point there."""
    w0 = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, -1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    net = ReluNetwork([w0, np.array([[1.0, -2.0, 0.5, 1.5]])], [np.array([-0.5, -0.5, 0.0, -1.0]), np.zeros(1)],
                      [Variable(f"x{i}", "t/h", 0.0, 1.0) for i in range(4)], [Variable("y", "t/h")])
    lo, hi = np.zeros(4), np.ones(4)
    reg = linear_regions(net, lo, hi)
    volumes_and_coverage(reg, lo, hi, np.random.default_rng(4), net)
    assert reg.n_regions == 12


def test_a_box_past_the_vertex_cap_is_refused_early():
    net = seeded_net([3, 12, 10, 1], 61, 3)
    lo, hi = net.domain
    with pytest.raises(TooManyVertices, match="more than the 30 allowed|more than 30 vertices"):
        _linear_regions(net, lo, hi, max_vertices=30)


@pytest.mark.parametrize("seed", [51, 52, 53])
def test_d_dimensional_cells_equal_the_2d_polygons(seed):
    net = seeded_net([3, 10, 8, 1], seed, 2)
    rng = np.random.default_rng(seed)
    for _ in range(3):
        lower, upper, dist, _, _ = random_case(net, rng)
        lo, hi = full_box(net, lower, upper, dist)
        nd, two = linear_regions(net, lo, hi), linear_regions_2d(net, lo, hi)
        assert nd.n_regions == two.n_regions
        areas = [sorted(ConvexHull(c).volume for c in r.cells) for r in (nd, two)]
        assert np.allclose(*areas, rtol=1e-9)


@pytest.mark.parametrize("name", list(THREE_DECISIONS))
def test_three_decision_optimum_equals_activation_pattern_enumeration(name):
    net = THREE_DECISIONS[name]()
    s = Solved(net, "regions", "interval")
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 4)
    counts = []
    for _ in range(4):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        for sign in (1.0, -1.0):
            ref = enumerate_patterns(net, lower, upper, dist, sign * c_x, sign * c_y)
            res, cycle, _ = s.solve(lower, upper, dist, sign * c_x, sign * c_y)
            counts.append(cycle.n_regions)
            rel = abs(res.objective - ref) / max(1.0, abs(ref))
            assert rel <= 1e-6, f"{name}: regions {res.objective!r}, enumeration {ref!r} ({rel:.2e}, {cycle.n_regions} regions)"
    assert max(counts) >= 4


def test_three_decisions_agree_with_onnxruntime_also_for_pinned_boxes(tmp_path_factory):
    name = "3dec+1dist 4-4-3-1"
    net = NETS[name]()
    s = Solved(net, "regions", "interval")
    srv = served(name, str(tmp_path_factory.getbasetemp()))
    rng = np.random.default_rng(7)
    for case in range(8):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        upper = upper.copy()
        upper[: case % 4] = lower[: case % 4]     # 0, 1, 2 or 3 decisions pinned: cells of dimension 3, 2, 1, 0
        solve_and_check_served(s, srv, net, lower, upper, dist, c_x, c_y)


def test_three_decisions_exact_under_a_side_constraint():
    """x0 + x1 pinned by a row (as a site's balance would): the convex hull of the graph is not
    enough, the region code's binaries make the optimum the network's (against enumeration with
    the same row)."""
    import pyomo.environ as pyo
    from scipy.optimize import linprog

    from optimizer.config import TUNED_HIGHS_OPTIONS
    from optimizer.highs_direct import HighsDirect
    from optimizer.relu_embedding import standalone_model

    net = THREE_DECISIONS["3dec 3-5-4-1"]()
    m, emb = standalone_model(net, ["x0", "x1", "x2"], "regions", "interval")
    m.v = pyo.Param(mutable=True, initialize=0.0)
    m.pin = pyo.Constraint(expr=m.nn.x["x0"] + m.nn.x["x1"] == m.v)
    solver = HighsDirect(m, dict(TUNED_HIGHS_OPTIONS))
    rng = np.random.default_rng(9)
    for _ in range(4):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        v = float(lower[0] + lower[1] + (upper[0] + upper[1] - lower[0] - lower[1]) * rng.uniform(0.3, 0.7))
        emb.set_box(lower, upper, dist)
        m.v = v
        for n, c in zip(emb.decision, c_x):
            m.c_x[n] = float(c)
        m.c_y["y"] = c_y
        res = solver.solve(solver.arrays(solver.template.values()), 60.0, 1e-7)
        assert res.status == "optimal"
        ref = np.inf     # every activation pattern, with the row
        for bits in itertools.product([0, 1], repeat=net.n_hidden):
            A, a0, rows, rhs, pos = np.eye(3), np.zeros(3), [], [], 0
            for l, n in enumerate(net.hidden_sizes):
                P, p0 = net.weights[l] @ A, net.weights[l] @ a0 + net.biases[l]
                on = np.array(bits[pos:pos + n], dtype=bool)
                pos += n
                rows.append(np.where(on[:, None], -P, P))
                rhs.append(np.where(on, p0, -p0))
                A, a0 = P * on[:, None], p0 * on
            Y, y0 = net.weights[-1] @ A, net.weights[-1] @ a0 + net.biases[-1]
            r = linprog(c_x + c_y * Y[0], A_ub=np.vstack(rows), b_ub=np.concatenate(rhs), A_eq=[[1.0, 1.0, 0.0]], b_eq=[v],
                        bounds=list(zip(lower, upper)), method="highs")
            if r.status == 0:
                ref = min(ref, r.fun + c_y * y0[0])
        assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref)), (res.objective, ref)


def test_wide_fixture_in_three_dimensions_tiles_its_box():
    """The GT1 duct-fired HRSG fixture (3-16-16-1) with all three inputs free over a benchmark-sized
    box: tens of cells, tiling it."""
    from pathlib import Path

    from surrogate.serving import OnnxSurrogate

    net = OnnxSurrogate.from_file(Path(WIDE).with_name("GT1_hrsg_duct_wide.onnx")).network
    lo_d, hi_d = net.domain
    rng = np.random.default_rng(3)
    mid = lo_d + (hi_d - lo_d) * rng.uniform(0.3, 0.7, 3)
    lo, hi = mid - 0.08 * (hi_d - lo_d), mid + 0.08 * (hi_d - lo_d)
    reg = linear_regions(net, lo, hi)
    assert reg.n_regions >= 10
    volumes_and_coverage(reg, lo, hi, rng, net)


@functools.cache
def _solved_regions(name: str) -> Solved:
    return Solved(NETS[name](), "regions", "interval")


@settings(max_examples=30, deadline=None)
@given(name=st.sampled_from(["2dec+1dist 3-5-1", "2dec 2-4-4-1", "3dec+1dist 4-4-3-1", "trained 3-6-1"]),
       seed=st.integers(0, 2**32 - 1))
def test_any_box_and_disturbance_agrees_with_onnxruntime(tmp_path_factory, name, seed):
    """The issue's hypothesis for the regions formulation (2 and 3 decisions): any box and
    disturbance gives an optimum where onnxruntime agrees with the embedding to 1e-6, inside the
    box, with HiGHS's objective the served network's."""
    net = NETS[name]()
    s = _solved_regions(name)
    lower, upper, dist, c_x, c_y = random_case(net, np.random.default_rng(seed))
    res, cycle, _ = s.solve(lower, upper, dist, c_x, c_y)
    chk = check_embedding(s.emb, served(name, str(tmp_path_factory.getbasetemp())), cycle)
    assert chk.ok, f"{chk.rel_error:.3e} at {chk.inputs}"
    x = chk.inputs[[net.input_names.index(n) for n in s.emb.decision]]
    assert np.all(x >= lower - 1e-7) and np.all(x <= upper + 1e-7)
    assert abs(res.objective - float(c_x @ x + c_y * chk.y_served[0])) <= 1e-6 * max(1.0, abs(res.objective))
