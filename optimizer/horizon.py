"""The site over T periods: the single-period model's arrays, one block per period, coupled in time.

One formulation for one period and for T: period ``t``'s block is the cycle's own HiGHS model
(:class:`optimizer.lp_arrays.LpTemplate` at that period's parameters: the same unit, header,
emission and tariff rows, the learned curves' exact breakpoints over that period's box at that
period's forecast disturbances). The horizon stacks the blocks on the diagonal and adds only the
rows that couple periods; nothing of a unit's physics is written twice.

Period ``t`` (``t = 0..T-1``, length ``Δ`` minutes, ``t = 0`` starting now) of a switchable unit
``u`` (boilers, gas turbines, generator turbines, machine drives with a motor) has its on/off
``o_t`` (the block's binary) and its load ``p_t`` (boiler steam t/h, GT or generator power MW).
The coupling adds start ``s_t`` and stop ``d_t`` in ``[0, 1]`` (integral at every integral
``o``), with the snapshot's state ``o_{-1}``, ``p_{-1}`` and minutes in state ``m``:

.. math::
    o_t - o_{t-1} = s_t - d_t

    \\sum_{\\tau = t-U+1}^{t} s_\\tau \\le o_t, \\qquad \\sum_{\\tau = t-D+1}^{t} d_\\tau \\le 1 - o_t,
    \\qquad U = \\max(1, \\lceil T_{up} / Δ \\rceil),\\ D = \\max(1, \\lceil T_{down} / Δ \\rceil)

    o_t = 1 \\text{ for } t < \\lceil (T_{up} - m) / Δ \\rceil \\text{ if on now}, \\qquad
    o_t = 0 \\text{ for } t < \\lceil \\max(T_{down} - m, T_{start}) / Δ \\rceil \\text{ if off now}

    p_t - p_{t-1} \\le R\\,o_{t-1} + S\\,s_t, \\qquad p_{t-1} - p_t \\le R\\,o_t + S\\,d_t,
    \\qquad R = r Δ,\\ S = p_{min} + R

(ramp ``r`` per minute; a unit starts to at most ``S`` and stops from at most ``S``, as the cycle's
move boxes allow). Start-up cost: hot ``c_h`` on every start, plus the cold premium ``k_t \\ge 0``,

.. math:: k_t \\ge (c_c - c_h) \\Big(s_t - \\sum_{\\tau = t-K}^{t-1} d_\\tau - h_t\\Big), \\qquad K = \\lceil C / Δ_h \\rceil - 1

with ``C`` the hours off after which a start is cold (``cold_after_h``) and ``h_t = 1`` when the
unit is off now and ``m/60 + t Δ_h < C`` (a start then is hot whatever the plan did before);
shut-down cost ``c_d d_t``. Objective: ``\\sum_t Δ_h \\cdot`` (the cycle's objective rate at
period ``t``) plus the start, cold-premium and stop costs (times the objective's cost weight).

Each period's box is the unit's equipment range intersected with what its ramp can reach from
the snapshot by the period's end (the cycle's box with ``(t + 1) Δ`` minutes of moves), its on/off
free (availability and held units as in the cycle): the coupling rows hold minimum up/down.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import highspy
import numpy as np
import pandas as pd
from scipy.sparse import block_diag, coo_matrix, csc_matrix, hstack, vstack

from optimizer import tags
from optimizer.cycle import CycleData
from optimizer.highs_direct import run_in_this_thread
from optimizer.lp_arrays import LpArrays
from optimizer.mixing_probe import mixing_headers, tightened
from optimizer.plan_start import give_start

if TYPE_CHECKING:
    from optimizer.snapshot import ValidatedSnapshot
    from optimizer.supervisor import Supervisor

log = logging.getLogger(__name__)

_CONTINUOUS = int(highspy.HighsVarType.kContinuous)


@dataclass(frozen=True)
class Switchable:
    """A unit whose on/off the horizon couples in time, with its state now and its data."""

    unit: str
    kind: str                 # boiler | gt | generator | drive
    on_col: int               # its on/off column in one period's block
    level_col: int | None     # its load column (None: a drive)
    on_now: bool
    level_now: float          # t/h or MW, inside its equipment range when on; 0 when off
    minutes: float            # minutes in its state now
    min_level: float
    ramp_per_min: float       # load units per minute (0: no ramp rows)
    min_up_min: float
    min_down_min: float
    startup_time_min: float   # min until it delivers, from a start-up begun now (less when one is under way)
    hot_cost: float           # site currency per start
    cold_cost: float | None
    cold_after_h: float | None
    shutdown_cost: float


def switchables(sup: Supervisor, c0: CycleData, values: dict[str, float],
                starting: dict[str, float] | None = None) -> list[Switchable]:
    """Every unit the horizon couples, read from the snapshot ``values`` as the cycle reads them
    (``c0``: the first period's cycle data, for the states and minutes it took). ``starting``:
    unit -> minutes until it delivers, for a unit off now whose start-up is under way (it replaces
    the unit's full ``startup_time_min``)."""
    m, site, cfg = sup._model, sup.site, sup.config  # noqa: SLF001
    col = sup._solver.column  # noqa: SLF001
    out = []
    amb = values.get(tags.AMBIENT, site.design_ambient_c)

    def level(cur: float, lo: float, hi: float, on: bool) -> float:
        return min(max(cur, lo), hi) if on else 0.0

    def lead(unit: str, full_min: float) -> float:
        return min(full_min, max(0.0, (starting or {}).get(unit, full_min)))

    for b, bo in site.boilers.items():
        on = c0.states[b]
        out.append(Switchable(b, "boiler", col(m.b_on[b]), col(m.b_steam[b]), on,
                              level(values[tags.boiler_steam(b)], bo.min_steam_tph, bo.max_steam_tph, on), c0.minutes[b],
                              bo.min_steam_tph, bo.ramp_tph_per_min, bo.min_up_min, bo.min_down_min, lead(b, bo.startup_time_min),
                              bo.startup_cost, bo.cold_startup_cost, bo.cold_after_h, bo.shutdown_cost))
    for g, gt in site.gas_turbines.items():
        on = c0.states[g]
        top = max(gt.min_power_mw, gt.base_power_mw(amb, values.get(tags.gt_fouling(g), 0.0)))
        out.append(Switchable(g, "gt", col(m.g_on[g]), col(m.g_power[g]), on,
                              level(values[tags.gt_power(g)], gt.min_power_mw, top, on), c0.minutes[g],
                              gt.min_power_mw, gt.ramp_mw_per_min, gt.min_up_min, gt.min_down_min, lead(g, gt.startup_time_min),
                              gt.startup_cost, gt.cold_startup_cost, gt.cold_after_h, gt.shutdown_cost))
    for t, tur in site.turbines.items():
        if tur.drive == "generator":
            on = c0.states[t]
            out.append(Switchable(t, "generator", col(m.t_on[t]), col(m.t_out[t]), on,
                                  level(values[tags.turbine_power(t)], tur.min_power_mw, tur.max_power_mw, on), c0.minutes[t],
                                  tur.min_power_mw, tur.ramp_mw_per_min, max(cfg.min_switch_interval_min, tur.min_up_min),
                                  max(cfg.min_switch_interval_min, tur.min_down_min), lead(t, tur.startup_time_min),
                                  tur.startup_cost, tur.cold_startup_cost, tur.cold_after_h, tur.shutdown_cost))
        elif tur.motor is not None:  # on = driven by the turbine; a switch to or from the motor
            on = not c0.states[t]
            out.append(Switchable(t, "drive", col(m.t_on[t]), None, on, 0.0, c0.minutes[t], 0.0, 0.0,
                                  cfg.min_switch_interval_min, cfg.min_switch_interval_min, 0.0, 0.0, None, None, 0.0))
    return out


@dataclass
class Coupling:
    """The rows and columns that couple the periods (module docstring), in triplet form over
    the stacked columns: ``T n`` block columns first, then the coupling's own."""

    n_block: int                      # columns per period block
    periods: int
    col_lower: list[float] = dataclasses.field(default_factory=list)
    col_upper: list[float] = dataclasses.field(default_factory=list)
    col_cost: list[float] = dataclasses.field(default_factory=list)
    rows: list[int] = dataclasses.field(default_factory=list)
    cols: list[int] = dataclasses.field(default_factory=list)
    vals: list[float] = dataclasses.field(default_factory=list)
    row_lower: list[float] = dataclasses.field(default_factory=list)
    row_upper: list[float] = dataclasses.field(default_factory=list)
    fixed_on: dict[int, float] = dataclasses.field(default_factory=dict)  # block column (global) -> forced binary value
    starts: dict[str, list[int]] = dataclasses.field(default_factory=dict)  # unit -> global columns of s_t

    def column(self, cost: float = 0.0, lower: float = 0.0, upper: float = 1.0) -> int:
        self.col_lower.append(lower)
        self.col_upper.append(upper)
        self.col_cost.append(cost)
        return self.n_block * self.periods + len(self.col_cost) - 1

    def row(self, terms: list[tuple[int, float]], lower: float, upper: float) -> None:
        r = len(self.row_lower)
        for c, v in terms:
            self.rows.append(r)
            self.cols.append(c)
            self.vals.append(v)
        self.row_lower.append(lower)
        self.row_upper.append(upper)


def couple(units: list[Switchable], periods: int, n_block: int, period_min: float, cost_weight: float,
           end_on: dict[str, bool] | None = None) -> Coupling:
    """The coupling of ``units`` over ``periods`` blocks of ``n_block`` columns (module docstring)."""
    cp = Coupling(n_block, periods)
    dh = period_min / 60.0
    inf = math.inf

    def ceil_periods(minutes: float) -> int:
        return max(0, math.ceil(minutes / period_min - 1e-9))

    for u in units:
        on = [t * n_block + u.on_col for t in range(periods)]
        s = [cp.column(cost_weight * u.hot_cost) for _ in range(periods)]
        d = [cp.column(cost_weight * u.shutdown_cost) for _ in range(periods)]
        cp.starts[u.unit] = s
        o_init = 1.0 if u.on_now else 0.0
        for t in range(periods):  # o_t - o_{t-1} - s_t + d_t = 0
            terms = [(on[t], 1.0), (s[t], -1.0), (d[t], 1.0)]
            if t > 0:
                terms.append((on[t - 1], -1.0))
            rhs = o_init if t == 0 else 0.0
            cp.row(terms, rhs, rhs)
        # windows of at least one period: s_t <= o_t and d_t <= 1 - o_t even with no minimum time,
        # else a start and a stop in one period (free when they cost nothing) would pass the ramp rows
        up, down = max(1, ceil_periods(u.min_up_min)), max(1, ceil_periods(u.min_down_min))
        for t in range(periods):
            cp.row([(s[k], 1.0) for k in range(max(0, t - up + 1), t + 1)] + [(on[t], -1.0)], -inf, 0.0)
            cp.row([(d[k], 1.0) for k in range(max(0, t - down + 1), t + 1)] + [(on[t], 1.0)], -inf, 1.0)
        if u.on_now:
            for t in range(min(periods, ceil_periods(u.min_up_min - u.minutes))):
                cp.fixed_on[on[t]] = 1.0
        else:
            for t in range(min(periods, ceil_periods(max(u.min_down_min - u.minutes, u.startup_time_min)))):
                cp.fixed_on[on[t]] = 0.0
        if u.level_col is not None and u.ramp_per_min > 0.0:
            p = [t * n_block + u.level_col for t in range(periods)]
            r = u.ramp_per_min * period_min
            jump = u.min_level + r
            for t in range(periods):
                if t == 0:  # from the snapshot's load
                    cp.row([(p[0], 1.0), (s[0], -jump)], -inf, u.level_now + r * o_init)
                    cp.row([(p[0], -1.0), (on[0], -r), (d[0], -jump)], -inf, -u.level_now)
                else:
                    cp.row([(p[t], 1.0), (p[t - 1], -1.0), (on[t - 1], -r), (s[t], -jump)], -inf, 0.0)
                    cp.row([(p[t - 1], 1.0), (p[t], -1.0), (on[t], -r), (d[t], -jump)], -inf, 0.0)
        premium = (u.cold_cost - u.hot_cost) if (u.cold_cost is not None and u.cold_after_h is not None) else 0.0
        if premium > 0.0:
            hot_window = max(0, math.ceil(u.cold_after_h / dh - 1e-9) - 1)
            for t in range(periods):
                hot_from_now = (not u.on_now) and (u.minutes / 60.0 + t * dh < u.cold_after_h)
                # the premium as a share: c_t >= s_t - sum d - h_t costs (c_c - c_h) c_t; the same as
                # k_t = (c_c - c_h) c_t, with coefficients of one (HiGHS's scaling)
                k = cp.column(cost_weight * premium, 0.0, inf)
                terms = [(k, 1.0), (s[t], -1.0)] + [(d[j], 1.0) for j in range(max(0, t - hot_window), t)]
                cp.row(terms, -(1.0 if hot_from_now else 0.0), inf)
        if end_on and u.unit in end_on:
            cp.fixed_on[on[-1]] = 1.0 if end_on[u.unit] else 0.0
    return cp


def settle_mixing(sup: Supervisor, blocks: list[LpArrays], cp: Coupling) -> tuple[list[LpArrays], int]:
    """Each period's block with its header-mixing big-Ms tightened to the LP's range, and the
    mixing binaries its LP relaxation settles fixed in ``cp`` (:mod:`optimizer.mixing_probe`:
    exact, the optimum is unchanged); returns the blocks and how many binaries were fixed."""
    headers = mixing_headers(sup)
    count = 0
    out = []
    for t, block in enumerate(blocks):
        block, settled = tightened(block, headers)
        out.append(block)
        for col, value in settled.items():
            cp.fixed_on[t * cp.n_block + col] = value
            count += 1
    return out, count


def stack(blocks: list[LpArrays], hours: list[float], cp: Coupling) -> LpArrays:
    """The blocks on the diagonal (each period's costs times its hours), the coupling beside and
    below them; on/off columns the coupling fixes get their bounds."""
    n, rows = blocks[0].num_col, blocks[0].num_row
    mats = [csc_matrix((b.a_value, b.a_index, b.a_start), shape=(b.num_row, b.num_col)) for b in blocks]
    n_extra = len(cp.col_cost)
    a = block_diag(mats, format="csc")
    if n_extra:
        a = hstack([a, csc_matrix((a.shape[0], n_extra))], format="csc")
    if cp.row_lower:
        c = coo_matrix((cp.vals, (cp.rows, cp.cols)), shape=(len(cp.row_lower), a.shape[1]))
        a = vstack([a, c], format="csc")
    a.sort_indices()
    col_lower = np.concatenate([b.col_lower for b in blocks] + [np.array(cp.col_lower, float)])
    col_upper = np.concatenate([b.col_upper for b in blocks] + [np.array(cp.col_upper, float)])
    for c_idx, v in cp.fixed_on.items():
        # a binary forced by the snapshot's state or settled by the mixing probe: within what the
        # block allows (an unavailable unit's block forces it off, and that wins)
        col_lower[c_idx] = min(max(v, col_lower[c_idx]), col_upper[c_idx])
        col_upper[c_idx] = max(min(v, col_upper[c_idx]), col_lower[c_idx])
    return LpArrays(
        num_col=n * len(blocks) + n_extra, num_row=rows * len(blocks) + len(cp.row_lower), sense=blocks[0].sense,
        offset=float(sum(b.offset * h for b, h in zip(blocks, hours))),
        col_cost=np.concatenate([b.col_cost * h for b, h in zip(blocks, hours)] + [np.array(cp.col_cost, float)]),
        col_lower=col_lower, col_upper=col_upper,
        row_lower=np.concatenate([b.row_lower for b in blocks] + [np.array(cp.row_lower, float)]),
        row_upper=np.concatenate([b.row_upper for b in blocks] + [np.array(cp.row_upper, float)]),
        a_start=a.indptr.astype(np.int32), a_index=a.indices.astype(np.int32), a_value=a.data.astype(float),
        integrality=np.concatenate([b.integrality for b in blocks] + [np.full(n_extra, _CONTINUOUS, dtype=np.int32)]))


@dataclass
class Period:
    """One period of a horizon: its start, its snapshot values, its cycle data, parameters and block."""

    start: pd.Timestamp
    snap: ValidatedSnapshot
    cycle: CycleData
    params: np.ndarray
    block: LpArrays


def build_periods(sup: Supervisor, snap: ValidatedSnapshot, forecast: pd.DataFrame, period_min: float,
                  single: bool = False) -> list[Period]:
    """One :class:`Period` per forecast row: the snapshot's values with the row's on top (the
    snapshot's own import price kept only for period 0: later periods take the tariff unless the
    forecast gives a price). ``single``: one period with the cycle's own boxes (the fallback)."""
    out = []
    for t, (ts, row) in enumerate(forecast.iterrows()):
        values = dict(snap.values)
        if t > 0:
            values.pop("import_price_per_mwh", None)
        values.update({k: float(v) for k, v in row.items() if np.isfinite(v)})
        p_snap = dataclasses.replace(snap, timestamp=pd.Timestamp(ts), values=values)
        if single:
            c = CycleData.build(sup, p_snap, price_switches=False)
        else:
            c = CycleData.build(sup, p_snap, dt_min=(t + 1) * period_min, free_switching=True)
        params = sup._write(c, pinned=False)  # noqa: SLF001
        out.append(Period(pd.Timestamp(ts), p_snap, c, params, sup._solver.arrays(params)))  # noqa: SLF001
        if single:
            break
    return out


@dataclass
class Horizon:
    """A horizon ready to solve: its periods, switchable units, coupling and stacked model."""

    periods: list[Period]
    units: list[Switchable]
    coupling: Coupling
    hours: list[float]
    model: LpArrays
    mixing_settled: int


def build(sup: Supervisor, snap: ValidatedSnapshot, forecast: pd.DataFrame, period_min: float,
          end_on: dict[str, bool] | None = None, starting: dict[str, float] | None = None) -> Horizon:
    """The horizon's model from a validated snapshot and one forecast row per period: the
    periods' blocks, the coupling (``end_on``: unit -> state in the last period, units not
    switchable ignored; ``starting``: start-ups under way, :func:`switchables`), the settled
    mixing binaries, stacked."""
    periods = build_periods(sup, snap, forecast, period_min)
    units = switchables(sup, periods[0].cycle, snap.values, starting)
    cp = couple(units, len(periods), periods[0].block.num_col, period_min, sup._weights[0], end_on)  # noqa: SLF001
    blocks, settled = settle_mixing(sup, [p.block for p in periods], cp)
    hours = [period_min / 60.0] * len(periods)
    return Horizon(periods, units, cp, hours, stack(blocks, hours, cp), settled)


@dataclass
class HorizonResult:
    status: str               # optimal | time_limited | failed
    reason: str
    x: np.ndarray | None
    objective: float | None
    gap: float | None
    nodes: int
    solve_s: float
    columns: int
    binaries: int


def solve(model: LpArrays, time_limit_s: float, mip_rel_gap: float, options: dict | None = None,
          start: np.ndarray | None = None) -> HorizonResult:
    """Solve the stacked horizon with HiGHS in this thread (``start``: a full column vector HiGHS
    takes as its first incumbent if it is feasible, :mod:`optimizer.plan_start`)."""
    g = model.quiet_highs({**(options or {}), "time_limit": float(max(time_limit_s, 0.01)), "mip_rel_gap": float(mip_rel_gap)})
    if start is not None:
        give_start(g, start)
    t0 = time.perf_counter()
    run_in_this_thread(g)  # a scheduler another HiGHS user sized for more threads: reset, not refused
    solve_s = time.perf_counter() - t0
    info = g.getInfo()
    status = g.getModelStatus()
    has = info.primal_solution_status == 2
    x = np.asarray(g.getSolution().col_value) if has else None
    obj = info.objective_function_value if has else None
    bound = info.mip_dual_bound if info.mip_node_count >= 0 else obj
    gap = abs(obj - bound) / max(1.0, abs(obj)) if (obj is not None and bound is not None and math.isfinite(bound)) else None
    kind = "optimal" if status == highspy.HighsModelStatus.kOptimal else ("time_limited" if has else "failed")
    n_bin = int(np.sum(model.integrality != _CONTINUOUS))
    return HorizonResult(kind, g.modelStatusToString(status), x, obj, gap, max(int(info.mip_node_count), 0), solve_s,
                         model.num_col, n_bin)
