"""The peer baseline: the same cycle's optimisation with the surrogates embedded by OMLT.

What is compared (one cycle of the reference site, after the supervisor has stepped on it):

* ours: the supervisor's own MILP of that cycle, each learned curve as its exact breakpoints over
  the cycle's box, the curves of one decision variable (a GT's fuel and HRSG steam) on one weight
  set over the union of their breakpoints, adjacency by the logarithmic SOS2 (ceil(log2(segments))
  binaries per decision variable; :mod:`optimizer.formulation`);
* OMLT: a *copy* of the same Pyomo model (``model.clone()``: every Param holds this cycle's data)
  in which, for every learned curve, the weight and SOS2 rows are deactivated (their weights and
  binaries fixed at 0) and replaced by an OMLT block over the full network, read from the
  same ONNX file with :func:`omlt.io.load_onnx_neural_network` and formulated with
  :class:`omlt.neuralnet.ReluBigMFormulation` (one binary per hidden neuron). Inputs: the unit's
  decision variable and the disturbances (ambient, fouling hours) fixed at the snapshot values;
  input bounds = the training domain, widened where needed to hold the cycle's box and the
  snapshot (a box beyond the training domain would otherwise change the feasible set).
  The unit's on/off ``u`` is kept: ``|x - x_nn| <= M (1 - u)``, ``|y - y_nn| <= M (1 - u)``,
  ``y <= M u`` (with ``u = 0`` our formulation gives ``x = y = 0``). An extraction-condensing
  generator's two-decision network (:mod:`optimizer.ectg`) likewise: our multi-input embedding's
  block deactivated, the same ONNX network by OMLT over the training domain widened to the
  cycle's box, linked to the turbine's power, extraction and inlet flow by the rows of
  :func:`optimizer.ectg.add_ectgs`. Everything else (balances, limits, on/off and mixing binaries,
  objective) is the same model.

Both MILPs are solved by HiGHS with the same options (the supervisor's tuned options, one thread,
gap 1e-7): through Pyomo (``appsi_highs``, a new solver object per solve, model build included)
and as the bare HiGHS model handed to a fresh ``highspy`` (solver time only). The optima must
agree to 1e-6 relative: :func:`compare` raises :class:`OptimumMismatch` otherwise (a speed-up at a
different optimum means nothing).

Two model directories are compared in the suite: the bundled models (3-4 hidden neurons each, so
OMLT gets few binaries) and the wide ones (``benchmarks/models/reference_olefins_wide``, x-16-16-1,
``make models-wide``, same campaign data), the network size the design note's 10x figure was
measured with. Our formulation reserves breakpoint slots per decision variable (at most
``SupervisorConfig.max_curve_points``), most bounded to 0 in a cycle; as a diagnostic (not the
headline) our MILP is also solved with those fixed-at-zero columns deleted (``compact``), which
shows what the reserved slots cost HiGHS's presolve. A second diagnostic, the ``floor``: our MILP
with every curve's binaries fixed at the optimum's (the segment given), i.e. the rest of the
site's MILP (on/off, header mixing) that any exact embedding of the curves solves too; OMLT's time
over it (``speedup_ceiling``) is the most any curve formulation could gain over OMLT there.

This module does not touch optimizer/formulation.py; it only reads components of the
supervisor's model and works on a clone.
"""

from __future__ import annotations

import math
import statistics
import time

import highspy
import numpy as np
import onnx
import pyomo.environ as pyo

from optimizer.cycle import _BOX_PARAMS
from optimizer.formulation import on_var, x_var, y_var
from optimizer.supervisor import Supervisor

AGREEMENT_REL = 1e-6   # optima of the two formulations must agree to this, relative (to max(1, |objective|))


class OptimumMismatch(AssertionError):
    """The OMLT embedding and our formulation reached different optima (beyond ``AGREEMENT_REL``)."""


def _fresh_highspy(model, options: dict, mip_rel_gap: float) -> highspy.Highs:
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", mip_rel_gap)
    for k, v in options.items():
        h.setOptionValue(k, v)
    h.passModel(model)
    return h


def _integer_counts(model) -> tuple[int, int]:
    """(integer columns, integer columns not fixed by their bounds) of a highspy model."""
    lp = model.lp_
    kinds = list(lp.integrality_ or [])
    if not kinds:
        return 0, 0
    is_int = np.array([k != highspy.HighsVarType.kContinuous for k in kinds])
    free = is_int & (np.asarray(lp.col_upper_) > np.asarray(lp.col_lower_))
    return int(is_int.sum()), int(free.sum())


def _without_zero_columns(model) -> tuple[highspy.HighsModel, int]:
    """The same model with every column fixed at 0 by its bounds deleted (exact: such a column
    contributes nothing to any row or the objective), then every row left empty (and satisfied
    by 0); returns the model and how many columns went."""
    lp = model.lp_
    lo, hi = np.asarray(lp.col_lower_), np.asarray(lp.col_upper_)
    dead = np.flatnonzero((lo == 0.0) & (hi == 0.0)).astype(np.int32)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(model)
    if dead.size:
        h.deleteCols(int(dead.size), dead)
    # rows left without a nonzero (e.g. the adjacency rows of unused segments): 0 within their bounds, dropped
    lp = h.getModel().lp_
    a, n_rows = lp.a_matrix_, h.getNumRow()
    if a.format_ == highspy.MatrixFormat.kColwise:
        counts = np.bincount(np.asarray(a.index_, dtype=np.int64), minlength=n_rows)
    else:
        counts = np.diff(np.asarray(a.start_, dtype=np.int64))
    empty = np.flatnonzero((counts == 0) & (np.asarray(lp.row_lower_) <= 0.0) & (np.asarray(lp.row_upper_) >= 0.0)).astype(np.int32)
    if empty.size:
        h.deleteRows(int(empty.size), empty)
    return h.getModel(), int(dead.size)


def _with_columns_fixed(model, cols: np.ndarray, values: np.ndarray) -> highspy.HighsModel:
    """The same model with columns ``cols`` fixed at ``values`` and made continuous."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.passModel(model)
    if cols.size:
        cols = cols.astype(np.int32)
        h.changeColsIntegrality(int(cols.size), cols, np.full(cols.size, highspy.HighsVarType.kContinuous))
        h.changeColsBounds(int(cols.size), cols, values.astype(float), values.astype(float))
    return h.getModel()


def _highs_run(model, options: dict, gap: float, repeats: int) -> tuple[list[float], float, int, int, str]:
    times, obj, nodes = [], None, 0
    for _ in range(repeats):
        h = _fresh_highspy(model, options, gap)
        t = time.perf_counter()
        h.run()
        times.append(time.perf_counter() - t)
        info = h.getInfo()
        obj, nodes = info.objective_function_value, int(max(info.mip_node_count, 0))
        status = h.modelStatusToString(h.getModelStatus())
    n_int, _ = _integer_counts(model)
    return times, obj, nodes, n_int, status


def _slot_vars(m, slot):
    """A learned curve's on/off, decision and output variables in ``m`` and its box this cycle."""
    lo, hi = (float(pyo.value(getattr(m, p)[slot.unit])) for p in _BOX_PARAMS[slot.kind])
    return on_var(m, slot), x_var(m, slot), y_var(m, slot), lo, hi


def _omlt_network(m: pyo.ConcreteModel, name: str, model, boxes: dict[str, tuple[float, float]],
                  disturbances: dict[str, float], info: dict):
    """OMLT's big-M block ``nn_<name>`` of ``model``'s network: input bounds = the training domain
    widened to hold each decision input's box (``boxes``: tag -> (lo, hi)) and each disturbance's
    value (fixed); returns the block and the output's bound over that input box (interval
    arithmetic, sound: the on/off big-M)."""
    from omlt import OmltBlock
    from omlt.io import load_onnx_neural_network
    from omlt.neuralnet import ReluBigMFormulation

    d_lo, d_hi = model.domain
    bounds = {}
    for j, tag in enumerate(model.input_names):
        a, b = float(d_lo[j]), float(d_hi[j])
        lo, hi = boxes[tag] if tag in boxes else (float(disturbances[tag]),) * 2
        a2, b2 = min(a, lo), max(b, hi)
        if (a2, b2) != (a, b):
            info["widened_inputs"].append(f"{name}:{tag}")
        bounds[j] = (a2, b2)
    net = load_onnx_neural_network(onnx.load(str(model.path)), None, bounds)
    blk = OmltBlock()
    m.add_component(f"nn_{name}", blk)
    blk.build_formulation(ReluBigMFormulation(net))
    info["networks"] += 1
    info["hidden_neurons"] += model.network.n_hidden
    for j, tag in enumerate(model.input_names):
        if tag not in boxes:
            blk.inputs[j].fix(float(disturbances[tag]))
    lo_b = np.array([bounds[j][0] for j in range(len(bounds))])
    hi_b = np.array([bounds[j][1] for j in range(len(bounds))])
    out_lo, out_hi = model.network.interval_bounds(lo_b, hi_b)[-1]
    return blk, bounds, float(max(abs(out_lo[0]), abs(out_hi[0])))


def omlt_model(sup: Supervisor, disturbances: dict[str, float]) -> tuple[pyo.ConcreteModel, dict]:
    """A clone of the supervisor's model (as its Params stand) with every learned curve embedded
    by OMLT's big-M ReLU formulation instead of our breakpoints, and every two-decision network
    instead of our multi-input embedding (module docstring)."""
    m = sup.model.clone()
    for comp in ("curve_sum", "curve_x", "curve_y", "sos_one", "sos_zero"):
        getattr(m, comp).deactivate()
    for v in m.lam.values():
        v.fix(0.0)
    for v in m.z.values():
        v.fix(0.0)
    info = {"networks": 0, "hidden_neurons": 0, "widened_inputs": []}
    m.nn_links = pyo.ConstraintList()
    for name, slot in sup.curves.slots.items():
        model = sup.curves.models[name]
        on, x, y, lo, hi = _slot_vars(m, slot)
        blk, bounds, y_bound = _omlt_network(m, name, model, {slot.x_tag: (lo, hi)}, disturbances, info)
        xj = model.input_names.index(slot.x_tag)
        m_y = y_bound + 1.0
        m_x = float(max(abs(bounds[xj][0]), abs(bounds[xj][1]))) + 1.0
        xin, yout = blk.inputs[xj], blk.outputs[0]
        m.nn_links.add(x - xin <= m_x * (1 - on))
        m.nn_links.add(xin - x <= m_x * (1 - on))
        m.nn_links.add(y - yout <= m_y * (1 - on))
        m.nn_links.add(yout - y <= m_y * (1 - on))
        m.nn_links.add(y <= m_y * on)
    # the extraction-condensing generators' two-decision networks (optimizer/ectg.py): our
    # multi-input embedding deactivated, the same network by OMLT's big-M over the training domain
    # widened to hold this cycle's box, linked to the turbine's power, extraction and inlet flow by
    # the rows of optimizer.ectg.add_ectgs (a stopped turbine's rows hold its flows at 0)
    # (the learned ducts, optimizer/duct.py, likewise: the GT's power and the duct fuel to the fired steam)
    two_decision = [(f"ectg_{t}", unit, {unit.power_tag: m.t_out[t], unit.extraction_tag: m.extr[t, 0]}, m.t_on[t], m.flow[t, 0],
                     sup.site.turbines[t].sections[0].max_flow_tph) for t, unit in sup.ectg.items()]
    two_decision += [(f"duct_{g}", unit, {unit.power_tag: m.g_power[g], unit.fuel_tag: m.d_fuel[g]}, m.d_on[g], m.d_steam[g],
                      sup.site.gas_turbines[g].hrsg.duct_max_steam_tph) for g, unit in sup.ducts.items()]
    for block_name, unit, decisions, on, out, out_max in two_decision:
        ours = getattr(m, block_name)
        ours.deactivate()
        model = unit.model
        boxes = {tag: (float(pyo.value(ours.x_lo[tag])), float(pyo.value(ours.x_hi[tag]))) for tag in decisions}
        blk, bounds, y_bound = _omlt_network(m, unit.name, model, boxes, disturbances, info)
        info["ectg_networks"] = info.get("ectg_networks", 0) + 1
        for j, tag in enumerate(model.input_names):
            if tag in decisions:
                m_in = float(max(abs(bounds[j][0]), abs(bounds[j][1]))) + 1.0
                m.nn_links.add(decisions[tag] - blk.inputs[j] <= m_in * (1 - on))
                m.nn_links.add(blk.inputs[j] - decisions[tag] <= m_in * (1 - on))
        m_y = max(y_bound, out_max) + 1.0
        m.nn_links.add(out - blk.outputs[0] <= m_y * (1 - on))
        m.nn_links.add(blk.outputs[0] - out <= m_y * (1 - on))
    return m, info


def compare(sup: Supervisor, disturbances: dict[str, float], our_objective: float, repeats: int = 5,
            label: str = "bundled models") -> dict:
    """Time and optimum of our cycle MILP against the OMLT big-M model of the same cycle.
    Call right after ``sup.step(snapshot)`` (its model still holds that cycle's data).

    Every objective (ours in a fresh highspy, OMLT through Pyomo and in a fresh highspy) must equal
    the step's ``our_objective`` to ``AGREEMENT_REL`` relative, else :class:`OptimumMismatch`.
    ``speedup_*`` = median OMLT time / median our time (same solver, same options)."""
    cfg = sup.config
    options = {k: v for k, v in cfg.solver_options.items()}
    gap = cfg.mip_rel_gap
    # ours: the exact model HiGHS solved in the step, fresh highspy
    ours_model = sup._solver.last_model()  # noqa: SLF001
    ours_t, ours_obj, ours_nodes, ours_int, ours_status = _highs_run(ours_model, options, gap, repeats)
    _, ours_int_free = _integer_counts(ours_model)
    # diagnostic: the same MILP without the reserved breakpoint/segment slots the cycle fixed at 0
    compact_model, compact_dropped = _without_zero_columns(ours_model)
    compact_t, compact_obj, _, compact_int, _ = _highs_run(compact_model, options, gap, repeats)
    # the floor: the same MILP with every learned curve's segment given (its binaries fixed at the
    # optimum's): what is left is the rest of the site (on/off, header mixing), which any exact
    # embedding of the curves also solves; OMLT's time over this is the most any curve
    # formulation could gain over OMLT on this cycle
    m0 = sup.model
    code_cols = np.array([sup._solver.column(m0.z[k]) for k in m0.GB], dtype=np.int64)  # noqa: SLF001
    x_opt = sup._solver.solution()  # noqa: SLF001
    floor_model = _with_columns_fixed(ours_model, code_cols, np.round(x_opt[code_cols]) if code_cols.size else code_cols)
    floor_t, floor_obj, _, _, _ = _highs_run(floor_model, options, gap, repeats)

    t = time.perf_counter()
    m, info = omlt_model(sup, disturbances)
    build_s = time.perf_counter() - t
    pyomo_times, obj_pyomo, highs_model = [], None, None
    for _ in range(repeats):
        opt = pyo.SolverFactory("appsi_highs")
        opt.config.mip_gap = gap
        opt.config.time_limit = 600.0
        opt.highs_options = {"threads": 1, "random_seed": 0, **options}
        t = time.perf_counter()
        res = opt.solve(m, load_solutions=True)
        pyomo_times.append(time.perf_counter() - t)
        obj_pyomo = float(pyo.value(m.objective))
        highs_model = opt._solver_model.getModel()  # noqa: SLF001
        term = str(res.solver.termination_condition)
    omlt_t, omlt_obj, omlt_nodes, omlt_int, omlt_status = _highs_run(highs_model, options, gap, repeats)
    _, omlt_int_free = _integer_counts(highs_model)
    # ours through the same Pyomo path (a new appsi solver per solve) for a like-for-like wall time
    ours_pyomo = []
    for _ in range(max(1, repeats // 2)):
        mc = sup.model.clone()
        opt = pyo.SolverFactory("appsi_highs")
        opt.config.mip_gap = gap
        opt.highs_options = {"threads": 1, "random_seed": 0, **options}
        t = time.perf_counter()
        opt.solve(mc)
        ours_pyomo.append(time.perf_counter() - t)
        ours_pyomo_obj = float(pyo.value(mc.objective))

    def rel(v: float | None) -> float:
        return math.inf if v is None else abs(v - our_objective) / max(1.0, abs(our_objective))

    diffs = {"omlt_pyomo": rel(obj_pyomo), "omlt_highspy": rel(omlt_obj), "ours_highspy": rel(ours_obj),
             "ours_compact_highspy": rel(compact_obj), "ours_pyomo": rel(ours_pyomo_obj), "floor_highspy": rel(floor_obj)}
    worst = max(diffs, key=diffs.get)
    if diffs[worst] > AGREEMENT_REL:
        raise OptimumMismatch(f"{label}: objective {worst} differs from the step's {our_objective:.10g} by {diffs[worst]:.3e} "
                              f"relative (allowed {AGREEMENT_REL:g}); all: {diffs}; OMLT status {omlt_status}, {term}")
    med = statistics.median
    return {
        "what": f"reference site, one cycle ({label}): the supervisor's MILP vs a clone with every learned network "
                f"({info['networks']} networks, {info['hidden_neurons']} hidden neurons) embedded by OMLT ReluBigMFormulation over the full network",
        "networks": info["networks"], "hidden_neurons": info["hidden_neurons"], "widened_inputs": info["widened_inputs"],
        "ours": {"highspy_ms": [1e3 * x for x in ours_t], "highspy_median_ms": 1e3 * med(ours_t), "objective": ours_obj,
                 "nodes": ours_nodes, "integer_columns": ours_int, "integer_columns_free": ours_int_free, "status": ours_status,
                 "columns": int(ours_model.lp_.num_col_), "rows": int(ours_model.lp_.num_row_),
                 "compact_highspy_ms": [1e3 * x for x in compact_t], "compact_highspy_median_ms": 1e3 * med(compact_t),
                 "compact_columns_dropped": compact_dropped, "compact_integer_columns": compact_int,
                 "pyomo_appsi_median_ms": 1e3 * med(ours_pyomo), "pyomo_appsi_objective": ours_pyomo_obj,
                 "floor_highspy_ms": [1e3 * x for x in floor_t], "floor_highspy_median_ms": 1e3 * med(floor_t),
                 "curve_binaries": int(code_cols.size)},
        "omlt": {"highspy_ms": [1e3 * x for x in omlt_t], "highspy_median_ms": 1e3 * med(omlt_t), "objective": omlt_obj,
                 "nodes": omlt_nodes, "integer_columns": omlt_int, "integer_columns_free": omlt_int_free, "status": omlt_status, "termination": term,
                 "columns": int(highs_model.lp_.num_col_), "rows": int(highs_model.lp_.num_row_),
                 "pyomo_appsi_median_ms": 1e3 * med(pyomo_times), "pyomo_objective": obj_pyomo, "build_ms": 1e3 * build_s},
        "step_objective": our_objective,
        "objective_rel_diff": diffs["omlt_pyomo"],
        "objective_rel_diffs": diffs,
        "max_objective_rel_diff_any": diffs[worst],
        "agree_1e-6": diffs[worst] <= AGREEMENT_REL,
        "speedup_highspy": med(omlt_t) / med(ours_t),
        "speedup_pyomo": med(pyomo_times) / med(ours_pyomo),
        "speedup_ceiling": med(omlt_t) / med(floor_t),
    }
