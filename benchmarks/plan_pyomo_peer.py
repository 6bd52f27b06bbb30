"""The peer baseline of the look-ahead plan: the same horizon as a T-indexed Pyomo model.

What is compared (issue 16, benchmark bullet): our plan builds each period's HiGHS arrays from the
single-period Pyomo model's :class:`~optimizer.lp_arrays.LpTemplate` at that period's parameter
vector and stacks them with the coupling in triplet form (:func:`optimizer.horizon.stack`); the
peer writes the SAME horizon the way a Pyomo user would and solves it through Pyomo's own HiGHS
interface:

* a ``ConcreteModel`` with one sub-block per period (``m.period[t]``), each built by
  :func:`optimizer.formulation.build_model` with the arguments ``Supervisor.__init__`` uses (its
  curves and its extraction-condensing generators' networks, ``ectg=``), its
  mutable Params set from :attr:`optimizer.horizon.Period.params` (a value vector follows
  ``LpTemplate.params`` order: the block's mutable Params in ``component_objects`` order);
* each block's objective deactivated, its expression summed with weight ``hours[t]`` into one
  objective (plus the coupling columns' costs);
* the coupling (:class:`optimizer.horizon.Coupling`) as Pyomo Vars (``m.coupling_var``, with their
  bounds and costs) and Constraints (``m.coupling_row``): a global column ``t n + c`` (``n``
  columns per block) is the variable of block ``t`` with the name of HiGHS column ``c`` of the
  Supervisor's model (``Supervisor._names``); columns beyond ``T n`` are the coupling's own;
* ``Coupling.fixed_on`` as variable bounds, clipped to the block's bounds as ``stack`` does;
* solved by ``pyomo.contrib.appsi.solvers.Highs`` (the ``appsi_highs`` solver, as in
  :mod:`benchmarks.omlt_baseline`), a new solver object per solve, with the plan's HiGHS options
  (:data:`optimizer.planning.PLAN_HIGHS_OPTIONS`), ``mip_rel_gap`` and the time limit.

``build_s`` is the Pyomo model's construction (blocks, Params, coupling, objective); ``solve_s``
is Pyomo's solve call (its translation to HiGHS, HiGHS, loading the solution back into the Vars).
The columns and binaries reported are those of the HiGHS model Pyomo built (read from the
solver after the solve, outside the timings).

Run ``python -m benchmarks.plan_pyomo_peer --periods 6 24`` for the comparison against our
stack and solve on the same horizon (reference site, persistence forecast from the bundled
snapshot; numbers are printed as JSON lines, nothing is asserted).
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import math
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.appsi.base import TerminationCondition
from pyomo.contrib.appsi.solvers import Highs as AppsiHighs

from optimizer.formulation import build_model
from optimizer.horizon import Coupling, Period
from optimizer.planning import PLAN_HIGHS_OPTIONS

if TYPE_CHECKING:
    from optimizer.supervisor import Supervisor

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
_CONTINUOUS = int(highspy.HighsVarType.kContinuous)


def block_params(block: pyo.Block) -> list:
    """The block's mutable Param data objects in ``LpTemplate.params`` order."""
    return [p for comp in block.component_objects(pyo.Param, descend_into=True) if comp.mutable for p in comp.values()]


def build_peer(sup: Supervisor, periods: list[Period], cp: Coupling, hours: list[float]) -> pyo.ConcreteModel:
    """The horizon as one Pyomo model (module docstring). ``hours``: each period's length (h),
    the weight of its objective rate. Raises ValueError when the inputs do not fit together."""
    T = len(periods)
    if T < 1:
        raise ValueError("periods: at least one period is required, got 0")
    if len(hours) != T:
        raise ValueError(f"hours: {len(hours)} values for {T} periods (one per period required)")
    if cp.periods != T:
        raise ValueError(f"cp.periods = {cp.periods}: the coupling is for a different horizon than the {T} periods given")
    _, col_names = sup._names()  # noqa: SLF001
    n = len(col_names)
    if cp.n_block != n:
        raise ValueError(f"cp.n_block = {cp.n_block}: the Supervisor's model has {n} HiGHS columns per period")

    m = pyo.ConcreteModel(name=f"{sup.site.name}-horizon-{T}")

    def period_rule(b: pyo.Block, t: int) -> None:
        # the Supervisor's model exactly: its curves and its extraction-condensing generators'
        # embedded networks (optimizer/ectg.py), so both solve the same problem
        b.transfer_attributes_from(build_model(sup.site, sup.props, sup.curves.slots, sup._weights,  # noqa: SLF001
                                               point_cap=sup.config.max_curve_points, ectg=sup.ectg, ducts=sup.ducts))

    m.period = pyo.Block(range(T), rule=period_rule)

    # each block's mutable Params at its period's parameter vector
    for t, per in enumerate(periods):
        params = block_params(m.period[t])
        values = np.asarray(per.params, dtype=float)
        if len(params) != values.size:
            raise ValueError(f"periods[{t}].params: {values.size} values; the block has {len(params)} mutable Params")
        for p, v in zip(params, values.tolist()):
            p.set_value(v)

    # global column -> Pyomo variable: block columns by name, then the coupling's own
    block_vars = []
    for t in range(T):
        b = m.period[t]
        vs = []
        for name in col_names:
            v = b.find_component(name)
            if v is None:
                raise ValueError(f"column {name!r}: no such variable in period block {t}")
            vs.append(v)
        block_vars.append(vs)
    n_extra = len(cp.col_cost)
    bounds = [(None if math.isinf(lo) else lo, None if math.isinf(hi) else hi) for lo, hi in zip(cp.col_lower, cp.col_upper)]
    m.coupling_var = pyo.Var(range(n_extra), bounds=lambda _m, j: bounds[j])

    def var(c: int):
        return block_vars[c // n][c % n] if c < T * n else m.coupling_var[c - T * n]

    # on/off forced by the snapshot's state, inside what the block allows (as stack does)
    for c, value in cp.fixed_on.items():
        v = var(c)
        lo, hi = pyo.value(v.lb), pyo.value(v.ub)
        lo = -math.inf if lo is None else lo
        hi = math.inf if hi is None else hi
        v.setlb(min(max(value, lo), hi))
        v.setub(max(min(value, hi), lo))

    terms: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for r, c, a in zip(cp.rows, cp.cols, cp.vals):
        terms[r].append((c, a))

    def row_rule(_m, r: int):
        body = sum(a * var(c) for c, a in terms[r])
        lo, hi = cp.row_lower[r], cp.row_upper[r]
        if lo == hi:
            return body == lo
        return (None if math.isinf(lo) else lo, body, None if math.isinf(hi) else hi)

    m.coupling_row = pyo.Constraint(range(len(cp.row_lower)), rule=row_rule)

    for t in range(T):
        m.period[t].objective.deactivate()
    m.objective = pyo.Objective(
        expr=sum(h * m.period[t].objective.expr for t, h in enumerate(hours))
        + sum(cost * m.coupling_var[j] for j, cost in enumerate(cp.col_cost) if cost != 0.0),
        sense=pyo.minimize)
    return m


def pyomo_peer(sup: Supervisor, periods: list[Period], cp: Coupling, hours: list[float], mip_rel_gap: float,
               time_limit_s: float) -> dict:
    """Build the horizon as a Pyomo model (:func:`build_peer`) and solve it through Pyomo's HiGHS
    interface with the plan's options. Returns ``build_s`` and ``solve_s`` (seconds; ``highs_run_s``
    is HiGHS's own run inside ``solve_s``), the ``objective`` (None without a solution), ``bound``,
    ``status`` (optimal | time_limited | failed), ``termination`` (Pyomo's), the ``columns`` and
    ``binaries`` of the HiGHS model Pyomo built, and the solved Pyomo ``model``."""
    t0 = time.perf_counter()
    m = build_peer(sup, periods, cp, hours)
    t1 = time.perf_counter()
    opt = AppsiHighs()
    opt.config.time_limit = float(max(time_limit_s, 0.01))
    opt.config.mip_gap = float(mip_rel_gap)
    opt.config.load_solution = False
    opt.highs_options = {**PLAN_HIGHS_OPTIONS, **(sup.config.plan_solver_options or {}), "output_flag": False}
    res = opt.solve(m)
    has = res.best_feasible_objective is not None
    if has:
        res.solution_loader.load_vars()
    t2 = time.perf_counter()
    if res.termination_condition == TerminationCondition.optimal:
        status = "optimal"
    elif has and res.termination_condition == TerminationCondition.maxTimeLimit:
        status = "time_limited"
    else:
        status = "failed"
    highs_run_s = float(opt._solver_model.getRunTime())  # noqa: SLF001 - HiGHS's own time inside solve_s
    lp = opt._solver_model.getLp()  # noqa: SLF001 - what Pyomo handed HiGHS
    integrality = np.array([int(k) for k in lp.integrality_], dtype=np.int32)
    return {"build_s": t1 - t0, "solve_s": t2 - t1, "highs_run_s": highs_run_s,
            "objective": res.best_feasible_objective if has else None, "bound": res.best_objective_bound,
            "status": status, "termination": str(res.termination_condition),
            "columns": int(lp.num_col_), "binaries": int(np.sum(integrality != _CONTINUOUS)), "model": m}


# ---------------------------------------------------------------------------------- benchmark

def reference_supervisor() -> Supervisor:
    """The reference site's Supervisor with its bundled models."""
    from optimizer.site.loader import load_site
    from optimizer.supervisor import Supervisor
    from surrogate.manifest import load_model_dir

    return Supervisor(load_site(ROOT / "scenarios/sites/reference_olefins.toml"),
                      load_model_dir(ROOT / "scenarios/models/reference_olefins"))


def reference_horizon(sup: Supervisor, periods: int, period_min: float = 60.0, snapshot_update: dict | None = None,
                      end_on: dict[str, bool] | None = None) -> tuple[list[Period], Coupling, list[float], float]:
    """``periods`` periods of ``period_min`` minutes from the bundled reference snapshot (with
    ``snapshot_update`` on top), persistence forecast (every disturbance held at its snapshot
    value), and their coupling, as :func:`optimizer.planning._solve_plan` builds them. Returns
    ``(periods, cp, hours, build_s)``, ``build_s`` our build time before the stack (s)."""
    import pandas as pd

    from optimizer import horizon

    snap = json.loads((ROOT / "scenarios/snapshots/reference_olefins.json").read_text())
    snap.update(snapshot_update or {})
    validator = copy.deepcopy(sup.validator)
    validator.last_timestamp = None
    s = validator.validate(snap)
    if not s.valid:
        raise ValueError(f"reference snapshot with {snapshot_update}: invalid: {s.errors}")
    times = pd.DatetimeIndex([s.timestamp + pd.Timedelta(minutes=period_min * t) for t in range(periods)])
    t0 = time.perf_counter()
    per = horizon.build_periods(sup, s, pd.DataFrame(index=times), period_min)
    units = horizon.switchables(sup, per[0].cycle, s.values)
    cp = horizon.couple(units, periods, per[0].block.num_col, period_min, sup._weights[0], end_on)  # noqa: SLF001
    return per, cp, [period_min / 60.0] * periods, time.perf_counter() - t0


#: A snapshot that makes the coupling bind (used by the test and ``--switching``): B4 off for
#: 10 h (its next start is cold), B1 started 30 min ago (held on by its 4 h minimum up time), B4
#: to be on at the horizon's end.
SWITCHING_UPDATE = {"B4.steam_tph": 0.0, "B1.steam_tph": 63.3, "B2.steam_tph": 63.3, "B3.steam_tph": 63.4,
                    "B4.minutes_in_state": 600.0, "B1.minutes_in_state": 30.0}
SWITCHING_END_ON = {"B4": True}


def compare(sup: Supervisor, periods: int, period_min: float, mip_rel_gap: float, time_limit_s: float,
            switching: bool = False) -> dict:
    """Ours (stack + solve) and the peer (Pyomo build + solve) on the same horizon, one run each."""
    from optimizer import horizon

    per, cp, hours, periods_s = (reference_horizon(sup, periods, period_min, SWITCHING_UPDATE, SWITCHING_END_ON) if switching
                                 else reference_horizon(sup, periods, period_min))
    options = {**PLAN_HIGHS_OPTIONS, **(sup.config.plan_solver_options or {})}
    t0 = time.perf_counter()  # each period's arrays from its parameter vector (done in build_periods; timed again here)
    blocks = [sup._solver.arrays(p.params) for p in per]  # noqa: SLF001
    arrays_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = horizon.stack(blocks, hours, cp)
    stack_s = time.perf_counter() - t0
    ours = horizon.solve(model, time_limit_s, mip_rel_gap, options)
    peer = pyomo_peer(sup, per, cp, hours, mip_rel_gap, time_limit_s)
    ours_total = arrays_s + stack_s + ours.solve_s  # the peer's build_s holds its counterpart of arrays + stack
    peer_total = peer["build_s"] + peer["solve_s"]
    rel = (abs(peer["objective"] - ours.objective) / max(1.0, abs(ours.objective))
           if peer["objective"] is not None and ours.objective is not None else None)
    peer_interface_s = peer["solve_s"] - peer["highs_run_s"]
    return {
        "periods": periods, "period_min": period_min, "switching": switching, "mip_rel_gap": mip_rel_gap,
        "time_limit_s": time_limit_s, "periods_s": round(periods_s, 4),
        "ours_arrays_s": round(arrays_s, 4), "ours_stack_s": round(stack_s, 4), "ours_solve_s": round(ours.solve_s, 3),
        "ours_status": ours.status, "ours_objective": ours.objective, "ours_gap": ours.gap,
        "ours_columns": ours.columns, "ours_binaries": ours.binaries,
        "peer_build_s": round(peer["build_s"], 3), "peer_solve_s": round(peer["solve_s"], 3),
        "peer_highs_run_s": round(peer["highs_run_s"], 3), "peer_interface_s": round(peer_interface_s, 3),
        "peer_status": peer["status"], "peer_objective": peer["objective"], "peer_bound": peer["bound"],
        "peer_columns": peer["columns"], "peer_binaries": peer["binaries"], "objective_rel_diff": rel,
        # build plus solve, peer over ours (the figure; the MIP's own path differs between
        # the two column orders, so on hard horizons this is mostly HiGHS's luck) ...
        "ratio_build_plus_solve": round(peer_total / ours_total, 2) if ours_total > 0 else None,
        # ... and what is not HiGHS: the peer's build and interface over our arrays and stack
        "ratio_outside_highs": round((peer["build_s"] + peer_interface_s) / (arrays_s + stack_s), 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--periods", type=int, nargs="+", default=[6, 24])
    ap.add_argument("--period-min", type=float, default=60.0)
    ap.add_argument("--gap", type=float, default=1e-4)
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--switching", action="store_true", help="the snapshot of SWITCHING_UPDATE (the coupling binds)")
    args = ap.parse_args(argv)
    sup = reference_supervisor()
    for T in args.periods:
        row = compare(sup, T, args.period_min, args.gap, args.time_limit, args.switching)
        sys.stdout.write(json.dumps(row) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
