"""Certifying the optimiser's answer: checks that do not take HiGHS's word for it.

HiGHS's presolve has returned "optimal" on points worse than the optimum (this project's own
test hit it with HiGHS 1.16; several open HiGHS issues report the same). Every proposal is
checked against onnxruntime already (the learned curves); this module adds two checks of the
optimisation itself, both on the model HiGHS was given (:class:`~optimizer.lp_arrays.LpArrays`)
and with one objective function, that model's (``col_cost . x + offset``, evaluated here, not
read from HiGHS):

* :func:`hold_check`: the proposal is never predicted worse than holding the current point,
  when holding is allowed by the optimisation's model (the current point's solution, with the
  learned curves' internal columns and rows left out, satisfies its bounds, rows and
  integrality). If it is worse, and also worse than holding as the optimisation's model itself
  costs it (:func:`hold_in_model`: a linearised curve's chord is above the curve), the engine
  proposes the current point instead.
* :func:`resolve`: the same model solved again by a fresh HiGHS instance with presolve off
  (on the optimisation's lane, on a schedule the engine sets: every Nth cycle and whenever the
  saving looks implausible); :func:`agreement` says whether the objectives agree within the gap.

Nothing here knows of steam: the columns to leave out are passed in.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import highspy
import numpy as np

from optimizer.highs_direct import HighsDirect, Lane, Prepared, Ticket
from optimizer.lp_arrays import LpArrays

log = logging.getLogger(__name__)

_CONTINUOUS = int(highspy.HighsVarType.kContinuous)


def objective(model: LpArrays, x: np.ndarray) -> float:
    """The model's objective at ``x`` (column values): ``col_cost . x + offset``, in the
    objective's own units (cost per hour for the cost objective)."""
    return float(np.dot(model.col_cost, x) + model.offset)


def violation(model: LpArrays, x: np.ndarray, skip_cols: np.ndarray | None = None, tol: float = 1e-6,
              names: tuple[list[str], list[str]] | None = None) -> str | None:
    """The first rule of ``model`` that ``x`` breaks by more than ``tol`` (relative to 1 + |value|),
    or None if it satisfies them all: column bounds, integrality, row bounds. ``skip_cols``
    (boolean per column): columns left out, together with every row that has an entry in one.
    ``names``: (row names, column names) for the message (else "row i", "column j")."""
    def col(j: int) -> str:
        return names[1][j] if names and names[1][j] else f"column {j}"

    def row(i: int) -> str:
        return names[0][i] if names and names[0][i] else f"row {i}"

    x = np.asarray(x, dtype=float)
    if x.shape != (model.num_col,):
        return f"solution has {x.size} values, the model {model.num_col} columns"
    keep = np.ones(model.num_col, dtype=bool) if skip_cols is None else ~np.asarray(skip_cols, dtype=bool)
    scale = tol * (1.0 + np.abs(x))
    low = keep & (x < model.col_lower - scale)
    high = keep & (x > model.col_upper + scale)
    for mask, side, bound in ((low, "below its lower bound", model.col_lower), (high, "above its upper bound", model.col_upper)):
        if mask.any():
            j = int(np.flatnonzero(mask)[0])
            return f"{col(j)} = {x[j]:.9g} {side} {bound[j]:.9g}"
    integral = keep & (model.integrality != _CONTINUOUS) & (np.abs(x - np.round(x)) > tol)
    if integral.any():
        j = int(np.flatnonzero(integral)[0])
        return f"{col(j)} = {x[j]:.9g} is not integral"
    counts = np.diff(model.a_start)
    entry_col = np.repeat(np.arange(model.num_col), counts)
    activity = np.zeros(model.num_row)
    np.add.at(activity, model.a_index, model.a_value * x[entry_col])
    skip_rows = np.zeros(model.num_row, dtype=bool)
    skip_rows[model.a_index[~keep[entry_col]]] = True
    # rows that only order identical units (optimizer/twins.py) are no rule of the plant: a point
    # breaking them has a twin-permuted copy that keeps them, feasible and of the same objective
    skip_rows[model.num_row - model.symmetry_rows:] = True
    magnitude = np.zeros(model.num_row)
    np.add.at(magnitude, model.a_index, np.abs(model.a_value * x[entry_col]))
    row_tol = tol * (1.0 + magnitude)
    for mask, side, bound in ((~skip_rows & (activity < model.row_lower - row_tol), "below its lower bound", model.row_lower),
                              (~skip_rows & (activity > model.row_upper + row_tol), "above its upper bound", model.row_upper)):
        if mask.any():
            i = int(np.flatnonzero(mask)[0])
            return f"{row(i)} = {activity[i]:.9g} {side} {bound[i]:.9g}"
    return None


@dataclass
class HoldCheck:
    """The proposal against holding the current point, in the model's objective."""

    proposal_objective: float
    hold_objective: float
    worse: bool                 # the proposal is predicted worse than holding by more than the tolerance
    hold_feasible: bool | None  # holding satisfies the model's rules (checked only when ``worse``)
    hold_violation: str | None  # ... else the first rule it breaks

    @property
    def hold_better(self) -> bool:
        """Holding is allowed and predicted better: propose it."""
        return self.worse and bool(self.hold_feasible)


def hold_check(model: LpArrays, x_proposal: np.ndarray, x_hold: np.ndarray, rtol: float,
               skip_cols: np.ndarray | None = None, names: tuple[list[str], list[str]] | None = None) -> HoldCheck:
    """Compare the proposal ``x_proposal`` with the current point's solution ``x_hold`` in
    ``model``'s objective (minimised). ``worse``: the proposal's objective exceeds holding's by
    more than ``rtol * max(1, |holding's|)``; only then is holding checked against the model's
    rules (:func:`violation`, ``skip_cols`` left out, ``names`` for its message), since only then
    does it matter."""
    f_prop, f_hold = objective(model, x_proposal), objective(model, x_hold)
    worse = f_prop - f_hold > rtol * max(1.0, abs(f_hold))
    if not worse:
        return HoldCheck(f_prop, f_hold, False, None, None)
    why = violation(model, x_hold, skip_cols, names=names)
    return HoldCheck(f_prop, f_hold, True, why is None, why)


def hold_in_model(model: LpArrays, x_hold: np.ndarray, decision_cols: np.ndarray, time_limit: float,
                  options: dict | None = None) -> float | None:
    """The optimisation's own objective at the current point's decisions: ``model`` with columns
    ``decision_cols`` (the units' loads, on/off and the other setpoints) fixed at ``x_hold``'s
    values, the rest (each curve's weights and segment bits, fuel splits, letdowns, vents,
    import) solved again. None if that has no answer within ``time_limit`` s (infeasible, say).

    Why: :func:`hold_check` takes the current point's curve values from the current point's own
    solve, where a curve is written through its value at the current point. A curve that is
    linearised (a first-principles curve, a sampled true curve) is, in the optimisation, the
    chord of its breakpoints over the box, which lies above a convex curve between them. Holding
    then looks cheaper by the linearisation's error, by more than the check's tolerance, though
    no point of the optimisation's model is cheaper than its answer. With the decisions fixed,
    this is what holding costs as the optimisation sees it: if the answer is no worse than that,
    HiGHS did not miss a better point (learned curves are exact: both values agree)."""
    cols = np.asarray(decision_cols, dtype=int)
    values = np.asarray(x_hold, dtype=float)[cols]
    integer = model.integrality[cols] != _CONTINUOUS
    values = np.where(integer, np.round(values), values)
    g = model.with_fixed(cols, values).quiet_highs({**(options or {}), "time_limit": float(max(time_limit, 1e-3))})
    HighsDirect.execute(Prepared(g, model))
    if g.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return objective(model, np.asarray(g.getSolution().col_value))


@dataclass
class Resolve:
    """A re-solve of the optimisation's model with presolve off."""

    status: str                 # HiGHS's model status
    objective: float | None     # the model's objective at the re-solve's solution (objective())
    bound: float | None         # its dual bound
    solve_s: float


def resolve(model: LpArrays, options: dict, time_limit: float, mip_rel_gap: float) -> Resolve:
    """Solve ``model`` again in a fresh HiGHS instance with ``options`` and presolve off (HiGHS's
    presolve is what has returned wrong optima), under ``time_limit`` s. Run where the cycle can
    abandon it (:meth:`HighsDirect.execute` on a lane)."""
    t0 = time.perf_counter()
    g = model.quiet_highs({**options, "presolve": "off", "time_limit": float(max(time_limit, 1e-3)),
                           "mip_rel_gap": float(mip_rel_gap)})
    HighsDirect.execute(Prepared(g, model))
    info = g.getInfo()
    status = g.modelStatusToString(g.getModelStatus())
    f = objective(model, np.asarray(g.getSolution().col_value)) if info.primal_solution_status == 2 else None
    bound = float(info.mip_dual_bound) if info.mip_node_count >= 0 and math.isfinite(info.mip_dual_bound) else None
    return Resolve(status, f, bound, time.perf_counter() - t0)


def agreement(proposal_objective: float, again: Resolve, rel_gap: float) -> dict:
    """Whether a re-solve confirms the proposal's objective (both in the model's objective,
    minimised), within ``tol = rel_gap * max(1, |proposal's|)``: ``agrees`` True if they are
    within ``tol``; False if the re-solve found a point better by more than ``tol``
    (``better_found``: the proposal was not optimal) or, solved to optimality, one worse by more
    than ``tol`` (the two solves contradict each other); None when it proves nothing (no solution,
    or stopped early at a worse point)."""
    out = {"status": again.status, "objective": again.objective, "proposal_objective": proposal_objective,
           "solve_ms": 1e3 * again.solve_s, "agrees": None, "better_found": None, "difference": None}
    if again.objective is None:
        return out
    tol = rel_gap * max(1.0, abs(proposal_objective))
    diff = proposal_objective - again.objective  # > 0: the re-solve is better
    better = diff > tol
    if abs(diff) <= tol:
        agrees = True
    elif better or again.status == "Optimal":
        agrees = False
    else:
        agrees = None
    out.update(difference=diff, agrees=agrees, better_found=better)
    return out


def verdict(proposal_objective: float, again: Resolve, res: dict) -> dict:
    """A re-solve's verdict (:func:`agreement`) with a message; logged when it disagrees.
    ``res``: what is known of the re-solve (``reason``, ``rtol``, and ``cycle`` for a sampled one)."""
    out = agreement(proposal_objective, again, res["rtol"])
    if out["agrees"] is False:
        what = "found a better point" if out["better_found"] else "contradicts it"
        out["message"] = (f"re-solve with presolve off ({res['reason']}) {what}: objective {out['objective']:.9g} against the "
                          f"optimiser's {out['proposal_objective']:.9g}")
        log.warning("certificate: %s%s", out["message"], f" (cycle {res['cycle']})" if "cycle" in res else "")
    return out


def _sampled_resolve(model: LpArrays, options: dict, time_limit: float, mip_rel_gap: float, proposal_objective: float,
                     res: dict) -> dict:
    """On the certify lane, after a sampled cycle answered: the re-solve and its verdict."""
    if time_limit <= 0:
        return {**res, "status": "skipped"}
    again = resolve(model, options, time_limit, mip_rel_gap)
    return {**res, **verdict(proposal_objective, again, res)}


class SampledResolves:
    """The sampled re-solves (``SupervisorConfig.certify_every``): one at a time, on a lane of its
    own, started after the cycle that asked for it answered (:attr:`pending`, :meth:`start`). At a
    later cycle's start :meth:`collect` takes its verdict (for that proposal's certificate:
    :meth:`take_verdict`); one still running then is asked to stop (HiGHS's interrupt callback;
    its instance is its own), and one still running at the cycle after that is abandoned with its
    lane."""

    def __init__(self, lane_name: str):
        self._lane_name = lane_name
        self._lane = Lane(lane_name)
        self.pending: tuple | None = None  # (model, rtol, the answer's objective, why) a cycle asked to re-solve
        self.running: Ticket | None = None
        self._interrupted = False
        self._verdict: dict | None = None

    def start(self, options: dict, time_limit: float, mip_rel_gap: float, cycle: str) -> None:
        """Start the pending re-solve (``cycle``: the proposal's timestamp, for its verdict)."""
        args, self.pending = self.pending, None
        if args is None:
            return
        model, rtol, f_prop, why = args
        self.running = self._lane.submit(_sampled_resolve, model, dict(options), time_limit, mip_rel_gap, f_prop,
                                         {"reason": why, "rtol": rtol, "cycle": cycle})
        self._interrupted = False

    def collect(self) -> None:
        """At a cycle's start: the running re-solve's verdict if it is done; else ask it to stop,
        or abandon it if it was asked at the last cycle already."""
        ticket = self.running
        if ticket is None:
            return
        if ticket.done.is_set():
            self.running = None
            if ticket.error is not None:
                self._verdict = {"status": f"error: {type(ticket.error).__name__}: {ticket.error}"}
            else:
                self._verdict = ticket.value
        elif not self._interrupted:
            self._lane.interrupt()
            self._interrupted = True
        else:
            self._lane.abandon()
            self._lane = Lane(self._lane_name)
            self.running = None
            self._verdict = {"status": "unfinished: abandoned, it did not stop when asked"}
            log.warning("the sampled re-solve did not stop when asked: abandoned")

    def take_verdict(self) -> dict | None:
        """The last collected verdict, once."""
        out, self._verdict = self._verdict, None
        return out
