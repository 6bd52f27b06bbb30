"""Three multi-input units in one cycle-like MILP: our embedding against OMLT's, box after box.

Part of :mod:`benchmarks.relu_multi_input` (same networks, boxes, options and agreement rule),
where a network alone has nothing to trade against; here the three units of that module share a
small site, as they would in the supervisor's model:

* HP header: HRSG steam + boiler steam = extraction-condensing turbine inlet + double-extraction
  turbine inlet + HP demand + letdowns to MP and LP + vent;
* MP header: extraction + HP extraction + MP letdown >= MP demand; LP header: LP extraction + LP
  letdown >= LP demand;
* power: both turbines + the GT (0.45 MW per % load) + import - export = site load;
* cost: boiler steam, import (export credited), GT load, duct fuel, a small vent penalty;

demands and prices as mutable Params that drift box to box. Ours: one model built once, the three
embeddings and the site's Params written per box (bounds + params + arrays + HiGHS timed); OMLT:
the same rows around three ``OmltBlock`` (big-M, and partition), built per box, solved through
``appsi_highs`` and re-run in a fresh highspy. Optima must agree to 1e-6.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyomo.environ as pyo

from benchmarks.relu_multi_input import (
    AGREEMENT_REL,
    GAP,
    SEED,
    SIZES,
    TIME_LIMIT_S,
    UNITS,
    OptimumMismatch,
    _options,
    _pct,
    _rel,
    boxes,
    solve_pyomo_then_highs,
    train,
)
from optimizer.highs_direct import HighsDirect
from optimizer.relu_embedding import DEFAULT_BOUNDS, add_relu_network, check_embedding
from surrogate.onnx_io import save_network
from surrogate.serving import OnnxSurrogate

SITE_PARAMS = ("hp_tph", "mp_tph", "lp_tph", "load_mw", "c_boiler", "c_import", "c_export", "c_gt", "c_duct")
GT_MW_PER_PCT = 0.45


def site_cases(n: int, seed: int) -> list[dict[str, float]]:
    """Per box: demands (t/h, MW) and prices ($/t, $/MWh, $/% load h, $/GJ) drifting around a base."""
    rng = np.random.default_rng(seed)
    base = np.array([40.0, 60.0, 45.0, 90.0, 14.0, 70.0, 45.0, 9.0, 6.5])
    v = base.copy()
    out = []
    for _ in range(n):
        v = np.clip(v * np.exp(rng.normal(0.0, 0.06, v.size)), 0.5 * base, 1.6 * base)
        out.append(dict(zip(SITE_PARAMS, v.tolist())))
    return out


def add_site(m: pyo.Block, x: dict[tuple[str, str], object], y: dict[str, object]) -> None:
    """The site's rows and objective around the units' inputs ``x[(unit, input)]`` and outputs
    ``y[unit]`` (module docstring); demands and prices in ``m.site[name]`` (mutable)."""
    m.site = pyo.Param(SITE_PARAMS, mutable=True, initialize=0.0, within=pyo.Reals)
    for name in ("boiler", "imp", "exp", "let_mp", "let_lp", "vent"):
        m.add_component(name, pyo.Var(domain=pyo.NonNegativeReals))
    p = m.site
    m.hp = pyo.Constraint(expr=y["duct_hrsg"] + m.boiler == y["ext_turbine"] + y["dbl_turbine"] + p["hp_tph"] + m.let_mp + m.let_lp + m.vent)
    m.mp = pyo.Constraint(expr=x["ext_turbine", "extraction_tph"] + x["dbl_turbine", "hp_extraction_tph"] + m.let_mp >= p["mp_tph"])
    m.lp = pyo.Constraint(expr=x["dbl_turbine", "lp_extraction_tph"] + m.let_lp >= p["lp_tph"])
    m.power = pyo.Constraint(expr=x["ext_turbine", "power_mw"] + x["dbl_turbine", "power_mw"]
                             + GT_MW_PER_PCT * x["duct_hrsg", "gt_load_pct"] + m.imp - m.exp == p["load_mw"])
    m.objective = pyo.Objective(expr=p["c_boiler"] * m.boiler + p["c_import"] * m.imp - p["c_export"] * m.exp
                                + p["c_gt"] * x["duct_hrsg", "gt_load_pct"] + p["c_duct"] * x["duct_hrsg", "duct_fuel_gj_h"]
                                + 0.01 * m.vent)


class OursSite:
    """The site with our three embeddings, built once."""

    def __init__(self, nets: dict, bounds: str = DEFAULT_BOUNDS):
        self.m = m = pyo.ConcreteModel()
        self.emb = {}
        for u in UNITS:
            blk = pyo.Block()
            m.add_component(f"nn_{u.name}", blk)
            self.emb[u.name] = add_relu_network(blk, nets[u.name], u.decision, bounds=bounds)
        x = {(u.name, n): self.emb[u.name].block.x[n] for u in UNITS for n in u.decision}
        y = {u.name: self.emb[u.name].block.y[u.output[0]] for u in UNITS}
        add_site(m, x, y)
        self.solver = HighsDirect(m, _options())
        self.base = self.solver.template.values()
        self.pos = {k: np.array([self.solver.param_position(p) for p in e.param_data], dtype=np.int64) for k, e in self.emb.items()}
        self.site_pos = np.array([self.solver.param_position(m.site[n]) for n in SITE_PARAMS], dtype=np.int64)

    def solve(self, unit_boxes: dict, site: dict) -> tuple[float, float, int, dict]:
        t0 = time.perf_counter()
        v = self.base.copy()
        cycles, n_bin = {}, 0
        for k, e in self.emb.items():
            b = unit_boxes[k]
            cycles[k] = c = e.values(b["lower"], b["upper"], b["disturbances"])
            v[self.pos[k]] = c.values
            n_bin += c.n_binaries
        v[self.site_pos] = [site[n] for n in SITE_PARAMS]
        res = self.solver.run(self.solver.prepare(self.solver.arrays(v), TIME_LIMIT_S, GAP, slot="opt"))  # the cycle's kept instance
        dt = time.perf_counter() - t0
        if res.status != "optimal":
            raise OptimumMismatch(f"ours (site) ended {res.model_status}")
        return float(res.objective), dt, n_bin, cycles


def omlt_site(paths: dict, nets: dict, unit_boxes: dict, site: dict, formulation: str) -> dict:
    """OMLT's site model of this box (built now): appsi solve, then a fresh highspy re-run."""
    import onnx
    from omlt import OmltBlock
    from omlt.io import load_onnx_neural_network
    from omlt.neuralnet import ReluBigMFormulation, ReluPartitionFormulation

    t0 = time.perf_counter()
    m = pyo.ConcreteModel()
    x, y = {}, {}
    for u in UNITS:
        b, names = unit_boxes[u.name], nets[u.name].input_names
        bounds = {}
        for j, n in enumerate(names):
            if n in u.decision:
                k = u.decision.index(n)
                bounds[j] = (float(b["lower"][k]), float(b["upper"][k]))
            else:
                bounds[j] = (b["disturbances"][n], b["disturbances"][n])
        definition = load_onnx_neural_network(onnx.load(str(paths[u.name])), None, bounds)
        blk = OmltBlock()
        m.add_component(f"nn_{u.name}", blk)
        blk.build_formulation(ReluBigMFormulation(definition) if formulation == "bigm" else ReluPartitionFormulation(definition))
        for j, n in enumerate(names):
            if n in u.decision:
                x[u.name, n] = blk.inputs[j]
            else:
                blk.inputs[j].fix(b["disturbances"][n])
        y[u.name] = blk.outputs[0]
    add_site(m, x, y)
    for n in SITE_PARAMS:
        m.site[n] = site[n]
    return solve_pyomo_then_highs(m, t0)


def bench_site(size: str, n_boxes: int, out_dir: Path, partition: bool = True) -> dict:
    """The three units of one size in the site, over ``n_boxes`` boxes."""
    nets, paths, served = {}, {}, {}
    out_dir.mkdir(parents=True, exist_ok=True)
    for u in UNITS:
        nets[u.name], _ = train(u, SIZES[size])
        paths[u.name] = save_network(nets[u.name], out_dir / f"{u.name}_{size}.onnx", f"{u.name}_{size}")
        served[u.name] = OnnxSurrogate.from_file(paths[u.name])
    ours = OursSite(nets)
    per_unit = {u.name: boxes(u, n_boxes, SEED + 1 + i) for i, u in enumerate(UNITS)}
    sites = site_cases(n_boxes, SEED + 7)
    kinds = ("bigm", "partition") if partition else ("bigm",)
    t_ours, bins, worst, worst_chk = [], [], 0.0, 0.0
    t_omlt = {k: {"pyomo": [], "highs": []} for k in kinds}
    for i in range(n_boxes):
        ub = {k: per_unit[k][i] for k in per_unit}
        obj, dt, nb, cycles = ours.solve(ub, sites[i])
        t_ours.append(dt)
        bins.append(nb)
        for k, e in ours.emb.items():
            chk = check_embedding(e, served[k], cycles[k])
            worst_chk = max(worst_chk, chk.rel_error)
            if not chk.ok:
                raise OptimumMismatch(f"site {size}: {k} vs onnxruntime {chk.rel_error:.3e} relative")
        for k in kinds:
            r = omlt_site(paths, nets, ub, sites[i], k)
            t_omlt[k]["pyomo"].append(r["pyomo_s"])
            t_omlt[k]["highs"].append(r["highs_s"])
            for label, val in ((f"omlt_{k}", r["objective"]), (f"omlt_{k}_pyomo", r["objective_pyomo"])):
                d = _rel(val, obj)
                worst = max(worst, d)
                if d > AGREEMENT_REL:
                    raise OptimumMismatch(f"site {size}: {label} objective {val!r} differs from ours {obj!r} by {d:.3e}")
    res = {"networks": {u.name: f"{len(u.inputs)}-{'-'.join(map(str, SIZES[size]))}-1" for u in UNITS}, "boxes": n_boxes,
           "ours_binaries_mean": float(np.mean(bins)), "omlt_bigm_binaries": sum(n.n_hidden for n in nets.values()),
           "ours_p50_ms": _pct(t_ours, 50), "ours_p95_ms": _pct(t_ours, 95),
           "max_objective_rel_diff": worst, "max_onnxruntime_rel_diff": worst_chk}
    for k in kinds:
        res[f"omlt_{k}_highs_p50_ms"], res[f"omlt_{k}_highs_p95_ms"] = _pct(t_omlt[k]["highs"], 50), _pct(t_omlt[k]["highs"], 95)
        res[f"omlt_{k}_pyomo_p50_ms"], res[f"omlt_{k}_pyomo_p95_ms"] = _pct(t_omlt[k]["pyomo"], 50), _pct(t_omlt[k]["pyomo"], 95)
        res[f"speedup_vs_omlt_{k}_p50"] = res[f"omlt_{k}_highs_p50_ms"] / res["ours_p50_ms"]
        res[f"speedup_vs_omlt_{k}_p95"] = res[f"omlt_{k}_highs_p95_ms"] / res["ours_p95_ms"]
        res[f"speedup_vs_omlt_{k}_pyomo_p50"] = res[f"omlt_{k}_pyomo_p50_ms"] / res["ours_p50_ms"]
    return res
