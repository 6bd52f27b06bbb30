"""A first schedule for a horizon, found period by period: the plan's MIP start.

The horizon MILP (:mod:`optimizer.horizon`) spends its first seconds looking for any schedule;
on a busy machine a 10 s plan could end with nothing better than one short of steam. This
module gives HiGHS a complete, feasible schedule before it starts: the myopic one, as the cycle
would run it forward in time over the forecast.

For ``t = 0 .. T-1`` period ``t``'s own block (its rows and columns of the stacked model, with
the stacked model's bounds: equipment, the snapshot's forced states, the settled mixing
binaries) is solved on its own, with what periods ``0 .. t-1`` decided written into its bounds so
that every coupling row of :func:`optimizer.horizon.couple` holds:

* minimum up / down: a unit that started (stopped) in period ``k`` is on (off) while
  ``t - k < U`` (``D``);
* ramps: on in ``t - 1`` at load ``p``, its load is at most ``p + R``; if ``p > S`` it cannot stop
  (``p_{t-1} - p_t <= R o_t + S d_t``) and its load is at least ``p - R``; off in ``t - 1``, a start
  reaches at most ``S`` (``R = r Δ``, ``S = p_min + R``);
* at ``t = 0`` the same from the snapshot's state and load.

The coupling's own columns (starts, stops, cold-start premiums) then follow from one LP with every
block column fixed, which also checks the whole vector against every row. The start changes
nothing of the model: HiGHS checks it and keeps it only as an incumbent to improve on, so the
plan's optimum and its proof are those of the horizon MILP. When a period conflicts with what
the earlier ones decided (an ``end_on`` a unit cannot reach, say) or a solve gives no answer, there
is no start and the horizon is solved as before.
"""

from __future__ import annotations

import logging
import math
import time
from typing import TYPE_CHECKING

import highspy
import numpy as np
from scipy.sparse import csc_matrix

from optimizer.highs_direct import run_in_this_thread
from optimizer.lp_arrays import LpArrays

if TYPE_CHECKING:
    from optimizer.horizon import Horizon, Switchable

log = logging.getLogger(__name__)

_OPTIMAL = highspy.HighsModelStatus.kOptimal
_EPS = 1e-6


def block_of(model: LpArrays, matrix: csc_matrix, t: int, n_col: int, n_row: int) -> LpArrays:
    """Period ``t``'s block of the stacked ``model`` (its ``n_col`` columns and ``n_row`` rows, with
    the stacked bounds and costs; ``matrix``: the model's matrix, built once by the caller)."""
    cols = slice(t * n_col, (t + 1) * n_col)
    rows = slice(t * n_row, (t + 1) * n_row)
    a = matrix[:, cols][rows, :]
    a.sort_indices()
    return LpArrays(num_col=n_col, num_row=n_row, sense=model.sense, offset=0.0, col_cost=model.col_cost[cols].copy(),
                    col_lower=model.col_lower[cols].copy(), col_upper=model.col_upper[cols].copy(),
                    row_lower=model.row_lower[rows].copy(), row_upper=model.row_upper[rows].copy(),
                    a_start=a.indptr.astype(np.int32), a_index=a.indices.astype(np.int32), a_value=a.data.astype(float),
                    integrality=model.integrality[cols].copy())


class _UnitState:
    """What the periods so far decided for one unit."""

    def __init__(self, u: Switchable) -> None:
        self.on = u.on_now
        self.level = u.level_now
        self.switched_at: int | None = None  # period of the last start or stop in this schedule

    def forced_on(self, u: Switchable, t: int, period_min: float) -> bool | None:
        """The state period ``t`` must have, or None when it is free."""
        if self.switched_at is not None:
            window = max(1, math.ceil((u.min_up_min if self.on else u.min_down_min) / period_min - 1e-9))
            if t - self.switched_at < window:
                return self.on
        if self.on and u.level_col is not None and u.ramp_per_min > 0.0:
            if self.level > u.min_level + u.ramp_per_min * period_min + _EPS:
                return True  # it cannot stop from above S
        return None


def myopic_start(hz: Horizon, period_min: float, gap: float, deadline: float, options: dict | None = None) -> np.ndarray | None:
    """A complete feasible column vector of ``hz.model`` built period by period (module docstring),
    or None (a conflict, a period without an answer, or ``deadline`` (``time.perf_counter()``)
    passed or, from the periods done so far, would pass before the last one is done). ``options``: HiGHS options of the periods' solves (the cycle's tuned ones solve a
    period with its full-range box several times faster than HiGHS's defaults)."""
    options = options or {}
    model, cp = hz.model, hz.coupling
    n_col, periods = cp.n_block, cp.periods
    n_row = hz.periods[0].block.num_row
    matrix = csc_matrix((model.a_value, model.a_index, model.a_start), shape=(model.num_row, model.num_col))
    states = {u.unit: _UnitState(u) for u in hz.units}
    parts = []
    began = time.perf_counter()
    for t in range(periods):
        if t > 0 and began + (time.perf_counter() - began) * periods / t > deadline:
            log.debug("plan start: %d periods would not be done by the deadline (%.3f s per period)", periods,
                      (time.perf_counter() - began) / t)
            return None  # give the time to the horizon's own search instead
        block = block_of(model, matrix, t, n_col, n_row)
        for u in hz.units:
            st = states[u.unit]
            must = st.forced_on(u, t, period_min)
            oc = u.on_col
            if must is not None:
                if not block.col_lower[oc] - _EPS <= float(must) <= block.col_upper[oc] + _EPS:
                    log.debug("plan start: %s must be %s in period %d, its bounds say otherwise", u.unit, must, t)
                    return None
                block.col_lower[oc] = block.col_upper[oc] = float(must)
            if u.level_col is not None and u.ramp_per_min > 0.0:
                lc, r = u.level_col, u.ramp_per_min * period_min
                if st.on:
                    block.col_upper[lc] = min(block.col_upper[lc], st.level + r)
                    if must:
                        block.col_lower[lc] = max(block.col_lower[lc], st.level - r)
                else:
                    block.col_upper[lc] = min(block.col_upper[lc], u.min_level + r)
                if block.col_lower[lc] > block.col_upper[lc] + _EPS:
                    return None
        x = _solve(block, gap, deadline - time.perf_counter(), options)
        if x is None:
            log.debug("plan start: period %d gave no answer", t)
            return None
        for u in hz.units:
            st = states[u.unit]
            on = x[u.on_col] > 0.5
            if on != st.on:
                st.switched_at = t
            st.on = on
            st.level = float(x[u.level_col]) if u.level_col is not None else 0.0
        parts.append(x)
    return _with_coupling(model, np.concatenate(parts), deadline - time.perf_counter())


def _run(arrays: LpArrays, time_limit_s: float, gap: float | None, options: dict) -> highspy.Highs | None:
    if time_limit_s <= 0.0:
        return None
    g = arrays.quiet_highs({"threads": 1, "time_limit": float(time_limit_s), **options,
                            **({} if gap is None else {"mip_rel_gap": float(gap)})})
    run_in_this_thread(g)
    return g


def _solve(block: LpArrays, gap: float, time_left_s: float, options: dict) -> np.ndarray | None:
    """One period's MILP; its solution if HiGHS proved it to ``gap``."""
    g = _run(block, time_left_s, gap, options)
    if g is None or g.getModelStatus() != _OPTIMAL:
        return None
    return np.asarray(g.getSolution().col_value)


def _with_coupling(model: LpArrays, x_blocks: np.ndarray, time_left_s: float) -> np.ndarray | None:
    """The full vector: the block columns at ``x_blocks``, the coupling's columns from the LP
    with those fixed (None if that LP is infeasible: some coupling row does not hold)."""
    k = x_blocks.size
    integer = model.integrality[:k] != 0
    fixed = np.where(integer, np.round(x_blocks), x_blocks)
    lp = model.with_fixed(np.arange(k), fixed)
    g = _run(lp, time_left_s, None, {})
    if g is None or g.getModelStatus() != _OPTIMAL:
        log.debug("plan start: the coupling LP with the periods fixed is %s", None if g is None else g.modelStatusToString(g.getModelStatus()))
        return None
    return np.asarray(g.getSolution().col_value)


def give_start(g: highspy.Highs, x: np.ndarray) -> None:
    """Hand ``x`` to HiGHS as a MIP start (HiGHS checks it; an infeasible one is ignored)."""
    sol = highspy.HighsSolution()
    sol.col_value = list(map(float, x))
    sol.value_valid = True
    g.setSolution(sol)
