"""The "regions" formulation of the multi-input embedding (two decision inputs: the network's
linear regions over the box, logarithmic binaries; surrogate/relu_regions.py,
optimizer/relu_regions_form.py). Independent references as in tests/test_relu_embedding.py: the
optimum by enumerating every activation pattern (scipy linprog), onnxruntime on the ONNX export,
and the network evaluated at sampled points."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from optimizer.relu_embedding import add_relu_network, check_embedding
from optimizer.relu_regions_form import region_values
from surrogate.relu_regions import linear_regions_2d
from surrogate.serving import OnnxSurrogate
from tests.test_relu_embedding import NETS, Solved, enumerate_patterns, random_case, seeded_net, served

ROOT = Path(__file__).resolve().parents[1]
TWO_DECISIONS = ["2dec+1dist 3-5-1", "2dec 2-4-4-1", "trained 3-6-1"]
WIDE = ROOT / "benchmarks" / "data" / "relu_wide" / "TG3_steam_wide.onnx"


def full_box(net, lower, upper, dist):
    lo, hi = np.empty(len(net.inputs)), np.empty(len(net.inputs))
    for k, n in enumerate([n for n in net.input_names if n not in dist]):
        j = net.input_names.index(n)
        lo[j], hi[j] = lower[k], upper[k]
    for n, v in dist.items():
        lo[net.input_names.index(n)] = hi[net.input_names.index(n)] = v
    return lo, hi


@pytest.mark.parametrize("name", TWO_DECISIONS)
def test_regions_optimum_equals_activation_pattern_enumeration(name):
    net = NETS[name]()
    s = Solved(net, "regions", "interval")
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 1)
    for _ in range(5):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        for sign in (1.0, -1.0):
            ref = enumerate_patterns(net, lower, upper, dist, sign * c_x, sign * c_y)
            res, cycle, _ = s.solve(lower, upper, dist, sign * c_x, sign * c_y)
            rel = abs(res.objective - ref) / max(1.0, abs(ref))
            assert rel <= 1e-6, f"{name}: regions {res.objective!r}, enumeration {ref!r} ({rel:.2e}, {cycle.n_regions} regions)"


def test_wide_network_regions_equal_big_m_and_onnxruntime():
    """The wide TG3 fixture (2-16-16-1, tens of regions per box): same optimum as big-M (itself
    checked against enumeration in tests/test_relu_embedding.py), onnxruntime agrees."""
    from optimizer.config import TUNED_HIGHS_OPTIONS
    from optimizer.highs_direct import HighsDirect
    from optimizer.relu_embedding import standalone_model

    srv = OnnxSurrogate.from_file(WIDE)
    net = srv.network
    out = net.output_names[0]
    models = {}
    for f in ("regions", "bigm"):
        m, emb = standalone_model(net, net.input_names, f, "interval")
        models[f] = (m, emb, HighsDirect(m, dict(TUNED_HIGHS_OPTIONS)))
    rng = np.random.default_rng(5)
    lo_d, hi_d = net.domain
    counts = []
    for _ in range(5):
        a = lo_d + (hi_d - lo_d) * rng.uniform(0.0, 0.8, 2)
        b = np.minimum(a + (hi_d - lo_d) * rng.uniform(0.05, 0.2, 2), hi_d)
        c_x = np.array([-3200.0, -250.0]) * rng.uniform(0.5, 1.5, 2)
        objs = {}
        for f, (m, emb, solver) in models.items():
            cycle = emb.set_box(a, b, {})
            for n, c in zip(emb.decision, c_x):
                m.c_x[n] = float(c)
            m.c_y[out] = 1000.0
            res = solver.solve(solver.arrays(solver.template.values()), 60.0, 1e-7)
            assert res.status == "optimal"
            objs[f] = res.objective
            if f == "regions":
                chk = check_embedding(emb, srv, cycle)
                assert chk.ok, chk.rel_error
                counts.append(cycle.n_regions)
        assert abs(objs["regions"] - objs["bigm"]) <= 1e-6 * max(1.0, abs(objs["bigm"])), objs
    assert max(counts) > 4   # a wide net's box holds many regions: the test exercises the disjunction


def solve_and_check_served(s, srv, net, lower, upper, dist, c_x, c_y) -> None:
    """Solve ``s`` over the box and check, each failing on its own: onnxruntime agrees with the
    embedding at the solution (1e-6), the decisions lie in the box, and the objective is the
    prices times the decisions and onnxruntime's output (1e-6 relative)."""
    res, cycle, _ = s.solve(lower, upper, dist, c_x, c_y)
    chk = check_embedding(s.emb, srv, cycle)
    assert chk.ok, f"{chk.rel_error:.3e} at {chk.inputs}"
    x = chk.inputs[[net.input_names.index(n) for n in s.emb.decision]]
    assert np.all(x >= lower - 1e-7) and np.all(x <= upper + 1e-7)
    assert abs(res.objective - float(c_x @ x + c_y * chk.y_served[0])) <= 1e-6 * max(1.0, abs(res.objective))


@pytest.mark.parametrize("name", TWO_DECISIONS)
def test_regions_agree_with_onnxruntime_also_for_pinned_boxes(tmp_path_factory, name):
    net = NETS[name]()
    s = Solved(net, "regions", "interval")
    srv = served(name, str(tmp_path_factory.getbasetemp()))
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 2)
    for case in range(8):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        if case % 4 == 1:
            upper = upper.copy()
            upper[0] = lower[0]          # one decision pinned: the regions are segments
        elif case % 4 == 2:
            upper = lower.copy()         # both pinned: one point
        solve_and_check_served(s, srv, net, lower, upper, dist, c_x, c_y)


@pytest.mark.parametrize("sizes,seed", [([2, 6, 1], 21), ([3, 8, 8, 1], 22), ([2, 12, 10, 1], 23)])
def test_regions_tile_the_box_and_the_network_is_affine_on_each(sizes, seed):
    net = seeded_net(sizes, seed, 2)
    rng = np.random.default_rng(seed)
    for _ in range(4):
        lower, upper, dist, _, _ = random_case(net, rng)
        lo, hi = full_box(net, lower, upper, dist)
        reg = linear_regions_2d(net, lo, hi)
        area = 0.0
        for poly, vals in zip(reg.cells, reg.values):
            x, y = poly[:, 0], poly[:, 1]
            area += 0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))
            lam = rng.dirichlet(np.ones(len(poly)), 25)       # points inside the polygon
            pts = np.repeat(reg.point[None, :], 25, axis=0)
            pts[:, reg.free[0]], pts[:, reg.free[1]] = (lam @ poly).T
            truth = net.evaluate(pts).reshape(25, -1)
            assert np.allclose(lam @ vals, truth, rtol=1e-9, atol=1e-9), "the network is not affine on a region"
        box_area = float(np.prod(upper - lower))
        assert area == pytest.approx(box_area, rel=1e-9)
        # every sampled point of the box lies in some region
        pts = lower + (upper - lower) * rng.random((300, 2))
        for p in pts:
            inside = False
            for poly in reg.cells:
                e = np.roll(poly, -1, axis=0) - poly
                cross = e[:, 0] * (p[1] - poly[:, 1]) - e[:, 1] * (p[0] - poly[:, 0])
                if np.all(cross >= -1e-9 * box_area) or np.all(cross <= 1e-9 * box_area):
                    inside = True
                    break
            assert inside, p


def test_regions_refusals_name_the_rule():
    import pyomo.environ as pyo

    net3 = NETS["3dec+1dist 4-4-3-1"]()
    m = pyo.ConcreteModel()
    m.b = pyo.Block()
    m.on = pyo.Var(domain=pyo.Binary)
    with pytest.raises(ValueError, match="the regions' disjunction is not switched"):
        add_relu_network(m.b, net3, ["x0", "x1", "x2"], formulation="regions", on=m.on)
    net = seeded_net([2, 12, 10, 1], 23, 2)
    lo, hi = net.domain
    with pytest.raises(ValueError, match=r"the box has \d+ linear regions with \d+ vertices: the regions formulation holds at most 2 regions"):
        region_values(net, lo, hi, (0, 1), slots=8, bits=1)
    with pytest.raises(ValueError, match="box frees inputs"):
        linear_regions_2d(NETS["2dec+1dist 3-5-1"](), *NETS["2dec+1dist 3-5-1"]().domain)


@pytest.mark.parametrize("name", TWO_DECISIONS)
def test_regions_exact_under_a_side_constraint(name):
    """With a row outside the network (here x0 = v inside the 2-D box, as a site's balance would
    pin a combination of the decisions), the convex hull of the network's graph is not enough: the
    region code's binaries make the optimum the network's (against enumeration over the segment)."""
    import pyomo.environ as pyo

    from optimizer.config import TUNED_HIGHS_OPTIONS
    from optimizer.highs_direct import HighsDirect
    from optimizer.relu_embedding import standalone_model
    from tests.test_relu_embedding import decision_names

    net = NETS[name]()
    m, emb = standalone_model(net, decision_names(net), "regions", "interval")
    m.v = pyo.Param(mutable=True, initialize=0.0)
    m.pin = pyo.Constraint(expr=m.nn.x[emb.decision[0]] == m.v)
    solver = HighsDirect(m, dict(TUNED_HIGHS_OPTIONS))
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 3)
    for _ in range(6):
        lower, upper, dist, c_x, c_y = random_case(net, rng)
        v = float(lower[0] + (upper[0] - lower[0]) * rng.uniform(0.2, 0.8))
        for sign in (1.0, -1.0):
            emb.set_box(lower, upper, dist)
            m.v = v
            m.c_x[emb.decision[0]] = 0.0
            m.c_x[emb.decision[1]] = float(sign * c_x[1])
            m.c_y["y"] = sign * c_y
            res = solver.solve(solver.arrays(solver.template.values()), 60.0, 1e-7)
            assert res.status == "optimal"
            ref = enumerate_patterns(net, np.array([v, lower[1]]), np.array([v, upper[1]]), dist,
                                     np.array([0.0, sign * c_x[1]]), sign * c_y)
            assert abs(res.objective - ref) <= 1e-6 * max(1.0, abs(ref)), (res.objective, ref)


def test_auto_takes_regions_for_wide_networks_only():
    """The "auto" rule (optimizer.relu_embedding.choose_formulation): regions for the wide
    2- and 3-decision networks, big-M for the bundled 2-3-1 network, with an on/off, or for 4
    decisions; add_relu_network builds what it names."""
    import pyomo.environ as pyo

    from optimizer.relu_embedding import choose_formulation

    bundled = OnnxSurrogate.from_file(ROOT / "scenarios" / "models" / "reference_olefins" / "TG3_steam.onnx").network
    wide = OnnxSurrogate.from_file(WIDE).network
    gt1 = OnnxSurrogate.from_file(WIDE.with_name("GT1_hrsg_duct_wide.onnx")).network
    assert choose_formulation(bundled, 2) == "bigm"
    assert choose_formulation(wide, 2) == "regions" and choose_formulation(wide, 2, switched=True) == "bigm"
    assert choose_formulation(gt1, 3) == "regions" and choose_formulation(gt1, 2) == "regions"
    assert choose_formulation(seeded_net([4, 16, 16, 1], 3, 4), 4) == "bigm"
    assert choose_formulation(seeded_net([2, 15, 1], 3, 2), 2) == "bigm" and choose_formulation(seeded_net([2, 16, 1], 3, 2), 2) == "regions"
    for net, on, want in ((wide, False, "regions"), (wide, True, "bigm"), (bundled, False, "bigm")):
        m = pyo.ConcreteModel()
        m.on = pyo.Var(domain=pyo.Binary)
        m.b = pyo.Block()
        emb = add_relu_network(m.b, net, net.input_names, "auto", on=m.on if on else None)
        assert emb.formulation == want and hasattr(m.b, "lam") == (want == "regions")
