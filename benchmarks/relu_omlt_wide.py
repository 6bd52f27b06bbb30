"""The multi-input embedding against OMLT on the site's own multi-input networks (issue 17's
benchmark target), bundled and wide, in one run.

Networks (ONNX files; :mod:`benchmarks.relu_wide_fixtures` trained the wide ones from the campaign
data of ``make models``):

* ``TG3_steam`` bundled (2-3-1) and ``TG3_steam_wide`` (2-16-16-1): the extraction-condensing
  TG3's inlet steam (t/h) of its power (MW) and extraction (t/h), two decisions;
* ``GT1_hrsg_duct_wide`` (3-16-16-1): GT1's total HRSG steam (t/h) of its power (MW) and duct
  fuel (GJ/h), decisions, and the ambient (degC), a disturbance fixed per box;
* ``GT1_hrsg_duct_wide_3dec``: the same network with all three inputs free in the box (three
  decision inputs; the ambient's box a stress case, not a plant decision). No bundled network has
  three inputs with two or more decisions.

Problem, the same for every formulation: ``min c_x . x + c_y . y`` over the box (TG3: steam cost,
power and extraction credits; GT1: steam credit, duct fuel cost, power credit; prices drift box to
box), boxes as :func:`benchmarks.relu_multi_input.boxes` (an operating point random-walking inside
the network's training domain, decisions free +-8 % of their range around it, the disturbance at
the walk's value), ``BOXES`` boxes per network, fixed seed.

Per box:

* ours (:class:`OursAsTheCycle`): the model built once per network
  (``ours_build_ms``), per box the neuron bounds, Params, HiGHS arrays and the run in the kept
  HiGHS instance, the solution left in HiGHS's arrays as the cycle leaves it: ``ours_ms`` is
  what a cycle pays ("build+solve" for us: nothing is rebuilt); ``ours_solver_ms`` the HiGHS run
  alone. Default: big-M with interval bounds; the variants CROWN and LP bounds (the issue's
  "optionally by LP") and the ``"regions"`` formulation (the network's linear regions over the
  box, polygons for two decisions, polytopes for three, locally ideal, log binaries:
  :mod:`optimizer.relu_regions_form`) on the same boxes;
* OMLT 1.2 ``ReluBigMFormulation`` and ``ReluPartitionFormulation`` (its default split) on the same
  ONNX file, its input bounds the same box (disturbance lower = upper, fixed), so its own
  layer-by-layer interval bounds (``compute_bounds_on_expr`` over the box, the same as ours) are
  built into the model: it is built per box. ``omlt_*_ms``: OMLT block build + Pyomo ``appsi_highs``
  solve (what a box costs with OMLT); ``omlt_*_solver_ms``: the HiGHS model it produced re-run in a
  fresh ``highspy`` (HiGHS alone).

Same HiGHS options for all (the supervisor's tuned options, one thread, seed 0, gap
``SupervisorConfig.mip_rel_gap``). Checked, outside the timings, in every box: every objective
equals ours to 1e-6 relative to ``max(1, |objective|)`` and our solution equals onnxruntime to 1e-6
(:class:`~benchmarks.relu_multi_input.OptimumMismatch` otherwise). Counted: our free binaries
(unstable neurons in the box), OMLT's binaries (one per hidden neuron), and both models'
integer columns left after HiGHS's presolve.

Ratios (p50 and p95 over boxes): ``x_vs_bigm`` = OMLT big-M build+solve / our per-box time;
``x_vs_bigm_solver`` = OMLT big-M HiGHS alone / our HiGHS alone; likewise for the partition. With our
default (big-M, interval bounds); ``best_x_vs_*``, with our fastest formulation for the network
at p50 build+solve (``ours_best``: big-M with interval, CROWN or LP bounds, or the linear regions'
disjunction, :mod:`optimizer.relu_regions_form`), a choice made after measuring; ``rule_x_vs_*``
with the formulation :func:`optimizer.relu_embedding.choose_formulation` names before any
measurement (``ours_rule``: regions for the wide networks, big-M for the bundled one).

Run: ``python -m benchmarks.relu_omlt_wide [--boxes N] [--json PATH] [--md PATH]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

from benchmarks.relu_multi_input import (
    AGREEMENT_REL,
    OptimumMismatch,
    Ours,
    Unit,
    _options,
    boxes,
    omlt_solve,
)
from optimizer.relu_embedding import check_embedding, choose_formulation
from surrogate.network import ReluNetwork
from surrogate.serving import OnnxSurrogate

log = logging.getLogger("benchmarks.relu_omlt_wide")

ROOT = Path(__file__).resolve().parents[1]
BUNDLED_DIR = ROOT / "scenarios" / "models" / "reference_olefins"
FIXTURES = ROOT / "benchmarks" / "data" / "relu_wide"
SEED = 29
BOXES = 40
#: our bound methods timed on the same boxes (the first is the default)
OUR_BOUNDS = ("interval", "crown", "lp")
TARGET_X = 10.0


@dataclass(frozen=True)
class Case:
    """One network and how the benchmark poses it."""

    key: str
    label: str
    path: Path
    decision: list[str]
    x_price: list[float]
    y_price: float


CASES = [
    Case("TG3_bundled", "TG3 inlet, bundled 2-3-1 (2 decisions)", BUNDLED_DIR / "TG3_steam.onnx",
         ["TG3.power_mw", "TG3.extraction0_tph"], [-3200.0, -250.0], 1000.0),
    Case("TG3_wide", "TG3 inlet, wide 2-16-16-1 (2 decisions)", FIXTURES / "TG3_steam_wide.onnx",
         ["TG3.power_mw", "TG3.extraction0_tph"], [-3200.0, -250.0], 1000.0),
    Case("GT1_duct_wide", "GT1 HRSG+duct, wide 3-16-16-1 (2 decisions + ambient)", FIXTURES / "GT1_hrsg_duct_wide.onnx",
         ["GT1.power_mw", "GT1.duct_fuel_gj_h"], [-600.0, 330.0], -900.0),
    Case("GT1_duct_wide_3dec", "GT1 HRSG+duct, wide 3-16-16-1 (3 decisions)", FIXTURES / "GT1_hrsg_duct_wide.onnx",
         ["GT1.power_mw", "GT1.duct_fuel_gj_h", "ambient_temp_c"], [-600.0, 330.0, 40.0], -900.0),
]


def unit_of_case(case: Case, net: ReluNetwork) -> Unit:
    """The :class:`~benchmarks.relu_multi_input.Unit` of ``case`` over the network's training domain."""
    inputs = [(v.name, v.unit, float(v.lower), float(v.upper)) for v in net.inputs]
    return Unit(case.key, inputs, list(case.decision), (net.outputs[0].name, net.outputs[0].unit), list(case.x_price), case.y_price)


class OursAsTheCycle(Ours):
    """:class:`~benchmarks.relu_multi_input.Ours` timed as the cycle pays it: the solution stays in
    HiGHS's arrays (the cycle's ``run(..., pyomo=False)``, optimizer/cycle_step.py) and is written
    into the Pyomo variables only after the timing, for :func:`check_embedding`. (Writing it
    inside the timing cost the regions formulation about 0.5 ms per box: one Pyomo ``set_value``
    per vertex slot.)"""

    pyomo_in_timing = False


def _presolved_integers(model: highspy.HighsModel) -> int:
    """Integer columns left after HiGHS's presolve of ``model`` (0 if presolve solved it)."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for k, v in _options().items():
        h.setOptionValue(k, v)
    h.passModel(model)
    h.presolve()
    lp = h.getPresolvedLp()
    return sum(1 for k in (lp.integrality_ or []) if k != highspy.HighsVarType.kContinuous)


def omlt_case(path: Path, net: ReluNetwork, unit: Unit, box: dict, formulation: str, count: bool = False) -> dict:
    """OMLT's model of this box built now and solved (:func:`benchmarks.relu_multi_input.omlt_solve`:
    ``pyomo_s`` build + appsi solve, ``highs_s`` its HiGHS model re-run in a fresh highspy);
    ``count``: also the integer columns left after HiGHS's presolve (untimed)."""
    out = omlt_solve(path, net, unit, box, formulation)
    if out["status"] != "Optimal":
        raise OptimumMismatch(f"OMLT {formulation} ended {out['status']}")
    if count:
        out["binaries_after_presolve"] = _presolved_integers(out["highs_model"])
    return out


def _ms(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values) * 1e3, q))


def _rel(a: float, b: float) -> float:
    return abs(a - b) / max(1.0, abs(b))


def bench_case(case: Case, n_boxes: int, seed: int = SEED) -> dict:
    """Every figure of one network (module docstring)."""
    served = OnnxSurrogate.from_file(case.path)
    net = served.network
    unit = unit_of_case(case, net)
    t0 = time.perf_counter()
    ours = {b: OursAsTheCycle(net, unit, "bigm", b) for b in OUR_BOUNDS}
    build_s = (time.perf_counter() - t0) / len(ours)
    if len(case.decision) >= 2:  # the linear regions' disjunction (optimizer/relu_regions_form.py)
        t0 = time.perf_counter()
        ours["regions"] = OursAsTheCycle(net, unit, "regions")
        build_regions_s = time.perf_counter() - t0
    ours_model = ours[OUR_BOUNDS[0]].solver
    t_ours = {b: [] for b in ours}
    t_ours_solver = {b: [] for b in ours}
    free = {b: [] for b in ours}
    n_regions = []   # the regions formulation: linear regions of each box
    t_omlt = {f: {"pyomo": [], "highs": []} for f in ("bigm", "partition")}
    omlt_bins, omlt_presolved, ours_presolved, nodes = [], [], [], {"bigm": 0, "partition": 0}
    worst_obj, worst_onnx = 0.0, 0.0
    order = list(ours)
    for i, box in enumerate(boxes(unit, n_boxes, seed)):
        objs = {}
        for b in order[i % len(order):] + order[:i % len(order)]:   # rotated: no variant always first
            o = ours[b]
            obj, dt, run_s, nb = o.solve(box)
            objs[f"ours_{b}"] = obj
            t_ours[b].append(dt)
            t_ours_solver[b].append(run_s)
            free[b].append(nb)
            if o.cycle.n_regions is not None:
                n_regions.append(o.cycle.n_regions)
            chk = check_embedding(o.emb, served, o.cycle)
            worst_onnx = max(worst_onnx, chk.rel_error)
            if not chk.ok:
                raise OptimumMismatch(f"{case.key} box {i}: ours ({b}) vs onnxruntime {chk.rel_error:.3e} relative")
        if i < 5:  # our HiGHS model of this box after presolve (untimed; the kept instance's model)
            ours_presolved.append(_presolved_integers(ours_model.last_model()))
        for f in ("bigm", "partition"):
            r = omlt_case(case.path, net, unit, box, f, count=(f == "bigm" and i < 5))
            t_omlt[f]["pyomo"].append(r["pyomo_s"])
            t_omlt[f]["highs"].append(r["highs_s"])
            nodes[f] = max(nodes[f], r["nodes"])
            objs[f"omlt_{f}"], objs[f"omlt_{f}_pyomo"] = r["objective"], r["objective_pyomo"]
            if f == "bigm":
                omlt_bins.append(r["binaries"])
                if "binaries_after_presolve" in r:
                    omlt_presolved.append(r["binaries_after_presolve"])
        ref = objs[f"ours_{OUR_BOUNDS[0]}"]
        diffs = {k: _rel(v, ref) for k, v in objs.items()}
        worst = max(diffs, key=diffs.get)
        worst_obj = max(worst_obj, diffs[worst])
        if diffs[worst] > AGREEMENT_REL:
            raise OptimumMismatch(f"{case.key} box {i}: {worst} objective differs from ours by {diffs[worst]:.3e} ({objs})")
    d = OUR_BOUNDS[0]
    res = {
        "label": case.label, "file": str(case.path.relative_to(ROOT)), "network": f"{len(net.inputs)}-{'-'.join(map(str, net.hidden_sizes))}-1",
        "decision_inputs": len(case.decision), "hidden_neurons": net.n_hidden, "boxes": n_boxes,
        "test_mape_pct": float(served.metadata.get("test_mape_pct", "nan")),
        "ours_build_ms": build_s * 1e3, "ours_regions_build_ms": build_regions_s * 1e3 if "regions" in ours else None,
        "max_objective_rel_diff": worst_obj, "max_onnxruntime_rel_diff": worst_onnx,
        "omlt_bigm_binaries": int(max(omlt_bins)),
        "omlt_bigm_binaries_after_presolve_first5": omlt_presolved,
        "ours_binaries_after_presolve_first5": ours_presolved,
        "omlt_bigm_nodes_max": nodes["bigm"], "omlt_partition_nodes_max": nodes["partition"],
    }
    for b in ours:
        res[f"ours_{b}_p50_ms"], res[f"ours_{b}_p95_ms"] = _ms(t_ours[b], 50), _ms(t_ours[b], 95)
        res[f"ours_{b}_solver_p50_ms"], res[f"ours_{b}_solver_p95_ms"] = _ms(t_ours_solver[b], 50), _ms(t_ours_solver[b], 95)
        res[f"ours_{b}_free_binaries_mean"] = float(np.mean(free[b]))
        res[f"ours_{b}_free_binaries_max"] = int(np.max(free[b]))
    if n_regions:
        res["regions_per_box_min"], res["regions_per_box_max"] = int(np.min(n_regions)), int(np.max(n_regions))
        res["regions_per_box_p50"] = float(np.median(n_regions))
    # our best formulation for this network, by measurement: the lowest p50 build+solve of ours
    res["ours_best"] = min(ours, key=lambda b: res[f"ours_{b}_p50_ms"])
    for f in ("bigm", "partition"):
        res[f"omlt_{f}_p50_ms"], res[f"omlt_{f}_p95_ms"] = _ms(t_omlt[f]["pyomo"], 50), _ms(t_omlt[f]["pyomo"], 95)
        res[f"omlt_{f}_solver_p50_ms"], res[f"omlt_{f}_solver_p95_ms"] = _ms(t_omlt[f]["highs"], 50), _ms(t_omlt[f]["highs"], 95)
        best = res["ours_best"]
        for q in (50, 95):
            res[f"x_vs_{f}_p{q}"] = res[f"omlt_{f}_p{q}_ms"] / res[f"ours_{d}_p{q}_ms"]
            res[f"x_vs_{f}_solver_p{q}"] = res[f"omlt_{f}_solver_p{q}_ms"] / res[f"ours_{d}_solver_p{q}_ms"]
            res[f"best_x_vs_{f}_p{q}"] = res[f"omlt_{f}_p{q}_ms"] / res[f"ours_{best}_p{q}_ms"]
            res[f"best_x_vs_{f}_solver_p{q}"] = res[f"omlt_{f}_solver_p{q}_ms"] / res[f"ours_{best}_solver_p{q}_ms"]
    # the formulation the documented rule picks before any measurement ("auto": choose_formulation)
    rule = res["ours_rule"] = "regions" if choose_formulation(net, len(case.decision)) == "regions" else d
    for f in ("bigm", "partition"):
        for q in (50, 95):
            res[f"rule_x_vs_{f}_p{q}"] = res[f"omlt_{f}_p{q}_ms"] / res[f"ours_{rule}_p{q}_ms"]
            res[f"rule_x_vs_{f}_solver_p{q}"] = res[f"omlt_{f}_solver_p{q}_ms"] / res[f"ours_{rule}_solver_p{q}_ms"]
    return res


def run(n_boxes: int = BOXES, cases: list[Case] | None = None) -> dict:
    """Every case, then the verdicts on the issue's target (module docstring)."""
    t0 = time.perf_counter()
    nets = {}
    for case in cases or CASES:
        log.info("benchmarking %s (%d boxes)", case.key, n_boxes)
        nets[case.key] = bench_case(case, n_boxes)
        log.info("%s: %s", case.key, {k: (round(v, 3) if isinstance(v, float) else v) for k, v in nets[case.key].items()})

    def lowest(key: str) -> float:
        return min(r[key] for r in nets.values())

    verdict = {
        "min_x_vs_bigm_p50": lowest("x_vs_bigm_p50"), "min_x_vs_bigm_p95": lowest("x_vs_bigm_p95"),
        "min_x_vs_bigm_solver_p50": lowest("x_vs_bigm_solver_p50"), "min_x_vs_bigm_solver_p95": lowest("x_vs_bigm_solver_p95"),
        "min_x_vs_partition_p50": lowest("x_vs_partition_p50"), "min_x_vs_partition_solver_p50": lowest("x_vs_partition_solver_p50"),
        "max_objective_rel_diff": max(r["max_objective_rel_diff"] for r in nets.values()),
        "max_onnxruntime_rel_diff": max(r["max_onnxruntime_rel_diff"] for r in nets.values()),
    }
    for k in ("x_vs_bigm_p50", "x_vs_bigm_p95", "x_vs_bigm_solver_p50", "x_vs_partition_p50", "x_vs_partition_solver_p50"):
        verdict[f"min_best_{k}"] = lowest(f"best_{k}")
        verdict[f"min_rule_{k}"] = lowest(f"rule_{k}")
    verdict["all_agree"] = verdict["max_objective_rel_diff"] <= AGREEMENT_REL and verdict["max_onnxruntime_rel_diff"] <= AGREEMENT_REL
    verdict["target_10x_bigm_build_solve_met"] = verdict["min_x_vs_bigm_p50"] >= TARGET_X and verdict["all_agree"]
    verdict["target_10x_bigm_solver_met"] = verdict["min_x_vs_bigm_solver_p50"] >= TARGET_X and verdict["all_agree"]
    verdict["faster_than_partition_build_solve"] = verdict["min_x_vs_partition_p50"] > 1.0
    verdict["faster_than_partition_solver"] = verdict["min_x_vs_partition_solver_p50"] > 1.0
    # the same verdicts with our fastest formulation per network (bench_case's ours_best)
    verdict["best_target_10x_bigm_build_solve_met"] = verdict["min_best_x_vs_bigm_p50"] >= TARGET_X and verdict["all_agree"]
    verdict["best_target_10x_bigm_solver_met"] = verdict["min_best_x_vs_bigm_solver_p50"] >= TARGET_X and verdict["all_agree"]
    verdict["best_faster_than_partition"] = verdict["min_best_x_vs_partition_p50"] > 1.0 and verdict["min_best_x_vs_partition_solver_p50"] > 1.0
    # and with the formulation the rule picks (optimizer.relu_embedding.choose_formulation)
    verdict["rule_target_10x_bigm_build_solve_met"] = verdict["min_rule_x_vs_bigm_p50"] >= TARGET_X and verdict["all_agree"]
    verdict["rule_faster_than_partition"] = verdict["min_rule_x_vs_partition_p50"] > 1.0 and verdict["min_rule_x_vs_partition_solver_p50"] > 1.0
    return {"what": "ours (big-M, interval bounds, model built once; per box bounds+Params+arrays+HiGHS) vs OMLT ReluBigMFormulation / "
                    "ReluPartitionFormulation (built per box with its interval bounds over the box), same objective over the same boxes",
            "boxes": n_boxes, "seed": SEED, "networks": nets, **verdict, "seconds": time.perf_counter() - t0}


def markdown(r: dict) -> str:
    """The table of :func:`run`'s figures and the verdicts."""
    def pair(n: dict, key: str, digits: int = 2) -> str:
        return f"{n[key + '_p50_ms']:.{digits}f} / {n[key + '_p95_ms']:.{digits}f}" if key + "_p50_ms" in n else "-"

    lines = [f"{r['boxes']} boxes per network, p50 / p95 ms. \"b+s\" (build+solve): ours per box with the model built once "
             "(bounds or regions, Params, arrays, HiGHS), OMLT its block built for the box + appsi_highs solve; \"solver\": "
             "HiGHS's run alone. x = OMLT time / ours at p50: big-M (ours' default) ; best (ours' fastest here at p50 b+s: "
             "big-M with interval, CROWN or LP bounds, or regions; named in brackets).", "",
             "| network | ours big-M b+s | ours big-M solver | ours regions b+s | ours regions solver | OMLT big-M b+s "
             "| OMLT big-M solver | OMLT partition b+s | OMLT partition solver | x OMLT big-M, b+s / solver (default; best) "
             "| x OMLT partition, b+s / solver (default; best) | binaries: ours big-M free (interval / CROWN / LP), regions; "
             "OMLT big-M (after presolve: OMLT's; ours big-M) | max obj. diff |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for n in r["networks"].values():
        pre, pre_ours = n["omlt_bigm_binaries_after_presolve_first5"], n["ours_binaries_after_presolve_first5"]
        reg_bins = f"{n['ours_regions_free_binaries_mean']:.1f}" if "ours_regions_free_binaries_mean" in n else "-"
        lines.append(
            f"| {n['label']} | {pair(n, 'ours_interval')} | {pair(n, 'ours_interval_solver')} | {pair(n, 'ours_regions')} | "
            f"{pair(n, 'ours_regions_solver')} | {pair(n, 'omlt_bigm', 1)} | {pair(n, 'omlt_bigm_solver')} | {pair(n, 'omlt_partition', 1)} | "
            f"{pair(n, 'omlt_partition_solver')} | {n['x_vs_bigm_p50']:.1f} / {n['x_vs_bigm_solver_p50']:.2f} ; "
            f"{n['best_x_vs_bigm_p50']:.1f} / {n['best_x_vs_bigm_solver_p50']:.2f} ({n['ours_best']}) | {n['x_vs_partition_p50']:.1f} / "
            f"{n['x_vs_partition_solver_p50']:.2f} ; {n['best_x_vs_partition_p50']:.1f} / {n['best_x_vs_partition_solver_p50']:.2f} | "
            f"{n['ours_interval_free_binaries_mean']:.1f} / {n['ours_crown_free_binaries_mean']:.1f} / {n['ours_lp_free_binaries_mean']:.1f}, "
            f"{reg_bins}; {n['omlt_bigm_binaries']} ({_span(pre)}; {_span(pre_ours)}) | {n['max_objective_rel_diff']:.1e} |")
    lines += ["", "Linear regions per box (the regions formulation), min / median / max: " + "; ".join(
        f"{n['label']} {n['regions_per_box_min']} / {n['regions_per_box_p50']:.0f} / {n['regions_per_box_max']}"
        for n in r["networks"].values() if "regions_per_box_max" in n)]
    lines += ["", "Our big-M with its bound methods on the same boxes (p50 / p95 ms, b+s; solver p50):", "",
              "| network | interval | CROWN | LP |", "| --- | --- | --- | --- |"]
    for n in r["networks"].values():
        lines.append("| " + n["label"] + " | " + " | ".join(
            f"{n[f'ours_{b}_p50_ms']:.2f} / {n[f'ours_{b}_p95_ms']:.2f} (solver {n[f'ours_{b}_solver_p50_ms']:.2f})" for b in OUR_BOUNDS) + " |")
    yes = {True: "met", False: "NOT met"}
    lines += ["",
              f"* 10x vs OMLT big-M, build+solve (what a cycle pays): lowest p50 ratio {r['min_x_vs_bigm_p50']:.1f}x with our default "
              f"big-M (**{yes[r['target_10x_bigm_build_solve_met']]}**), {r['min_best_x_vs_bigm_p50']:.1f}x with our fastest "
              f"formulation per network (**{yes[r['best_target_10x_bigm_build_solve_met']]}**); p95 {r['min_x_vs_bigm_p95']:.1f}x / "
              f"{r['min_best_x_vs_bigm_p95']:.1f}x",
              f"* the same with the formulation the documented rule picks (choose_formulation: regions for the wide networks, "
              f"big-M for the bundled one): lowest p50 ratio {r['min_rule_x_vs_bigm_p50']:.1f}x "
              f"(**{yes[r['rule_target_10x_bigm_build_solve_met']]}**), p95 {r['min_rule_x_vs_bigm_p95']:.1f}x; per network "
              + ", ".join(f"{n['label'].split(',')[0]} {n['network']} {n['ours_rule']} {n['rule_x_vs_bigm_p50']:.1f}x"
                          for n in r["networks"].values()),
              f"* 10x vs OMLT big-M, solver only: lowest p50 ratio {r['min_x_vs_bigm_solver_p50']:.2f}x (big-M, "
              f"**{yes[r['target_10x_bigm_solver_met']]}**), {r['min_best_x_vs_bigm_solver_p50']:.2f}x (best, "
              f"**{yes[r['best_target_10x_bigm_solver_met']]}**)",
              f"* faster than OMLT partition: lowest p50 ratios build+solve {r['min_x_vs_partition_p50']:.1f}x, solver "
              f"{r['min_x_vs_partition_solver_p50']:.2f}x (big-M, {yes[r['faster_than_partition_build_solve'] and r['faster_than_partition_solver']]}); "
              f"{r['min_best_x_vs_partition_p50']:.1f}x, {r['min_best_x_vs_partition_solver_p50']:.2f}x (best, {yes[r['best_faster_than_partition']]})",
              f"* same optimum: largest relative objective difference {r['max_objective_rel_diff']:.1e}, onnxruntime vs ours "
              f"{r['max_onnxruntime_rel_diff']:.1e} (both must be <= 1e-6)"]
    return "\n".join(lines) + "\n"


def _span(values: list[int]) -> str:
    return f"{min(values)}-{max(values)}" if values else "-"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--boxes", type=int, default=BOXES, help=f"boxes per network (default {BOXES})")
    ap.add_argument("--json", type=Path, help="write the figures here (JSON)")
    ap.add_argument("--md", type=Path, help="write the markdown table here")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("pyomo.core").setLevel(logging.ERROR)  # OMLT's W1002 lines would be timed as its build
    if args.boxes < 1:
        sys.stderr.write(f"error: --boxes = {args.boxes}: at least 1\n")
        return 2
    r = run(args.boxes)
    md = markdown(r)
    if args.json:
        _write(args.json, json.dumps(r, indent=1, default=float))
    if args.md:
        _write(args.md, md)
    sys.stdout.write(md)
    return 0 if r["all_agree"] else 1


if __name__ == "__main__":
    sys.exit(main())
