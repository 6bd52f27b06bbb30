"""A look-ahead plan from a snapshot and a forecast: :meth:`Supervisor.plan`'s work.

Validates the snapshot (on a copy of the engine's validator: a plan changes nothing the cycle
relies on, and may be made on the snapshot the cycle has just taken) and the forecast, builds the
periods and their coupling (:mod:`optimizer.horizon`), solves within the plan's time budget, and
reads the :class:`~optimizer.schedule.Schedule` back: per-period setpoints and KPIs, starts and
stops with their costs, advice. A horizon that gives no answer in its budget falls back to the
single-period answer (period 0 with the cycle's own boxes) and says so. Never raises.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer import horizon
from optimizer.plan_start import myopic_start
from optimizer.schedule import Schedule
from optimizer.site.model import start_cost

if TYPE_CHECKING:
    from optimizer.supervisor import Supervisor

log = logging.getLogger(__name__)

#: HiGHS options of a plan: HiGHS's defaults (single thread, fixed seed). The cycle's tuned
#: options (MIP heuristics off) gave a heavy tail on 24-period horizons (measured before this
#: module: 3.8-21.6 s against 9.7-12.8 s with the defaults).
PLAN_HIGHS_OPTIONS: dict[str, object] = {"threads": 1, "random_seed": 0}
#: At most this share of the time left after building goes to the myopic first schedule.
PLAN_START_SHARE = 0.4
#: A plan that answers this many seconds after its budget logs a warning with its parts' times.
OVERRUN_WARN_S = 1.0
#: Tags a forecast may give beside the snapshot's own.
EXTRA_FORECAST_TAGS = ("import_price_per_mwh",)


def check_forecast(sup: Supervisor, forecast: pd.DataFrame, periods: int, times: pd.DatetimeIndex | None = None) -> list[str]:
    """Problems of a forecast table, each naming the field, the value and the rule. A table
    indexed by time must be indexed by the plan's period starts ``times`` (a positional index
    0..T-1 is read as those periods in order)."""
    errs = []
    if not isinstance(forecast, pd.DataFrame):
        return [f"forecast: a pandas DataFrame is required, got {type(forecast).__name__}"]
    if len(forecast) != periods:
        errs.append(f"forecast: {len(forecast)} rows; the horizon has {periods} periods (one row per period)")
    elif times is not None and isinstance(forecast.index, pd.DatetimeIndex):
        index = forecast.index.tz_localize(None) if forecast.index.tz is not None else forecast.index
        wrong = [i for i, (a, b) in enumerate(zip(index, times)) if a != b]
        if wrong:
            i = wrong[0]
            errs.append(f"forecast index row {i}: {forecast.index[i]} is not the start of period {i} ({times[i]}); "
                        f"rows must be the periods from the snapshot's time in steps of the period ({len(wrong)} such row(s))")
    rules = sup.validator.rules
    for col in forecast.columns:
        if col not in rules and col not in EXTRA_FORECAST_TAGS:
            errs.append(f"forecast column {col!r}: not a tag of site {sup.site.name!r}")
            continue
        values = pd.to_numeric(forecast[col], errors="coerce").to_numpy(dtype=float)
        lo, hi = (rules[col].lower, rules[col].upper) if col in rules else (0.0, 1e6)
        bad = [(i, v) for i, v in enumerate(values) if not (math.isfinite(v) and lo <= v <= hi)]
        if bad:
            i, v = bad[0]
            errs.append(f"forecast {col!r} period {i}: {float(v)!r} outside [{lo:g}, {hi:g}] ({len(bad)} such value(s))")
    return errs


def plan(sup: Supervisor, snapshot: object, forecast: pd.DataFrame | None, horizon_h: float, period_min: float,
         time_budget_s: float, mip_rel_gap: float, end_on: Mapping[str, bool] | None) -> Schedule:
    """See :meth:`Supervisor.plan`."""
    t0 = time.perf_counter()
    validator = copy.deepcopy(sup.validator)
    validator.last_timestamp = None  # a plan may be made on the snapshot the cycle has just taken
    snap = validator.validate(snapshot)
    start = snap.timestamp.isoformat() if snap.timestamp.value else ""
    if not (isinstance(period_min, (int, float)) and math.isfinite(period_min) and 1.0 <= period_min <= 1440.0):
        return Schedule("invalid_input", start, float("nan"), warnings=[f"period_min = {period_min!r}: must be 1..1440 minutes"])
    periods = round(horizon_h * 60.0 / period_min) if isinstance(horizon_h, (int, float)) and math.isfinite(horizon_h) else 0
    if periods < 1 or periods > 2000 or abs(periods * period_min - horizon_h * 60.0) > 1e-6:
        return Schedule("invalid_input", start, period_min,
                        warnings=[f"horizon_h = {horizon_h!r}: must be a whole number of {period_min:g}-min periods, 1..2000"])
    if not snap.valid:
        return Schedule("invalid_input", start, period_min, warnings=snap.errors)
    if snap.unknown_units:
        return Schedule("unknown_state", start, period_min,
                        warnings=[f"operating point of {', '.join(sorted(snap.unknown_units))} never read: nothing is planned"])
    times = pd.DatetimeIndex([snap.timestamp + pd.Timedelta(minutes=period_min * t) for t in range(periods)])
    methods: dict[str, str] = {}
    warnings = list(snap.warnings)
    if forecast is None:
        forecaster = getattr(sup, "plan_forecaster", None)
        if forecaster is not None:
            try:
                forecast, methods = forecaster.forecast(snap.values, snap.timestamp, periods, period_min)
            except Exception as exc:  # a forecaster failure is a warning: persistence plans on
                log.exception("plan forecast failed")
                warnings.append(f"forecast failed ({type(exc).__name__}: {exc}); every disturbance held at its value now")
                forecast = None
        if forecast is None:
            forecast = pd.DataFrame(index=times)
            methods = methods or {"all": "persistence (no forecast given, no forecaster)"}
    else:
        errs = check_forecast(sup, forecast, periods, times)
        if errs:
            return Schedule("invalid_input", start, period_min, warnings=errs)
        methods = {str(c): "given" for c in forecast.columns}
    forecast = pd.DataFrame(forecast).copy()
    forecast.index = times
    try:
        return _solve_plan(sup, snap, forecast, period_min, time_budget_s, mip_rel_gap, end_on, methods, warnings, t0)
    except Exception as exc:  # a plan answers whatever happens
        log.exception("plan failed")
        return Schedule("fallback_hold", start, period_min, warnings=warnings + [f"internal error: {type(exc).__name__}: {exc}"],
                        forecast_methods=methods, stats={"total_s": time.perf_counter() - t0})


def startups_under_way(followed: Schedule | None, now: pd.Timestamp) -> dict[str, float]:
    """Unit -> minutes until it delivers, for each start of the schedule being followed whose
    start-up began by ``now`` (``begin_startup <= now``) and whose first period on has not begun
    long ago: re-planning then must not hold the unit off for a whole start-up time again (a
    rolling plan would otherwise put the start one start-up time later at every re-plan)."""
    out: dict[str, float] = {}
    if followed is None:
        return out
    for s in followed.starts:
        begin, on_from = pd.Timestamp(s["begin_startup"]), pd.Timestamp(s["period"])
        if begin <= now and now < on_from + pd.Timedelta(minutes=followed.period_min):
            out[s["unit"]] = max(0.0, (on_from - now).total_seconds() / 60.0)
    return out


def _solve_plan(sup, snap, forecast, period_min, budget_s, gap, end_on, methods, warnings, t0) -> Schedule:
    hz = horizon.build(sup, snap, forecast, period_min, end_on, startups_under_way(sup.following, snap.timestamp))
    periods, units, cp, hours, model, settled = hz.periods, hz.units, hz.coupling, hz.hours, hz.model, hz.mixing_settled
    unknown = sorted(set(end_on or {}) - {u.unit for u in units})
    if unknown:
        return Schedule("invalid_input", snap.timestamp.isoformat(), period_min,
                        warnings=[f"end_on: {unknown} are not switchable units of site {sup.site.name!r} (boilers, GTs, generator "
                                  f"turbines, drives with a motor: {[u.unit for u in units]})"])
    n = periods[0].block.num_col
    t_built = time.perf_counter()
    options = {**PLAN_HIGHS_OPTIONS, **(sup.config.plan_solver_options or {})}
    start = None
    if sup.config.plan_myopic_start and len(periods) >= sup.config.plan_myopic_start_min_periods:
        start = myopic_start(hz, period_min, sup.config.mip_rel_gap, t_built + PLAN_START_SHARE * (budget_s - (t_built - t0)),
                             dict(sup.config.solver_options))
    t_started = time.perf_counter()
    result = horizon.solve(model, budget_s - (t_started - t0), gap, options, start=start)
    stats = {"build_s": t_built - t0, "start_s": t_started - t_built, "solve_s": result.solve_s, "columns": result.columns,
             "binaries": result.binaries, "nodes": result.nodes, "periods": len(periods), "solver_status": result.reason,
             "mixing_binaries_settled": settled,
             "start_cost": None if start is None else float(model.col_cost @ start + model.offset)}
    status = result.status
    if result.x is None:  # no answer in the budget: the single-period answer
        warnings.append(f"the {len(periods)}-period horizon gave no answer within {budget_s:g} s ({result.reason}): "
                        "the single-period answer (period 0 with the cycle's boxes) is returned")
        periods = horizon.build_periods(sup, snap, forecast.iloc[:1], period_min, single=True)
        cp = horizon.couple(units, 1, n, period_min, sup._weights[0], None)  # noqa: SLF001
        model = horizon.stack([periods[0].block], hours[:1], cp)
        result = horizon.solve(model, max(sup.config.time_budget_s, 0.5), sup.config.mip_rel_gap, dict(sup.config.solver_options))
        stats["fallback_solve_s"] = result.solve_s
        if result.x is None:
            return Schedule("fallback_hold", snap.timestamp.isoformat(), period_min, warnings=warnings + [
                f"the single-period model gave no answer either ({result.reason}): hold the current setpoints"],
                first_period=sup._hold_setpoints(snap.values, snap), forecast_methods=methods,  # noqa: SLF001
                stats={**stats, "total_s": time.perf_counter() - t0})
        status = "fallback_single_period"
    sched = read_schedule(sup, periods, units, result, cp, period_min, snap)
    sched.status = status if not (status in ("optimal", "time_limited") and sched.status == "infeasible_demand") else "infeasible_demand"
    sched.forecast_methods = methods
    sched.warnings = warnings + sched.warnings
    sched.stats = {**stats, "gap": result.gap, "total_s": time.perf_counter() - t0}
    if sched.stats["total_s"] > budget_s + OVERRUN_WARN_S:  # the parts' times say where it went (a loaded machine, a slow HiGHS phase)
        parts = {k: stats.get(f"{k}_s", 0.0) for k in ("build", "start", "solve", "fallback_solve")}
        line = (f"plan of {stats['periods']} periods took {sched.stats['total_s']:.2f} s against its {budget_s:.2f} s budget: "
                + ", ".join(f"{k.replace('_', ' ')} {v:.2f} s" for k, v in parts.items())
                + f", the rest {sched.stats['total_s'] - sum(parts.values()):.2f} s")
        log.warning("%s", line)
        sched.warnings.append(line)  # the caller (an operator's page, a study) sees it with the schedule
    return sched


def _kpis_at(sup: Supervisor, x: np.ndarray, params: np.ndarray) -> dict[str, float]:
    """The cycle's KPIs at one period's solution ``x`` and parameters ``params``."""
    sup._kpis(x)  # noqa: SLF001 - compiles the KPI expressions once
    out = {}
    for name, (coefs, cols, (c0, terms)) in sup._kpi_exprs.items():  # noqa: SLF001
        v = c0 + sum(a * params[j] for j, a in terms.items())
        for (k0, kt), c in zip(coefs, cols):
            v += (k0 + sum(a * params[j] for j, a in kt.items())) * x[c]
        out[name] = float(v)
    return out


def read_schedule(sup: Supervisor, periods: list, units: list, result, cp, period_min: float, snap) -> Schedule:
    """The schedule at the horizon's solution."""
    n = periods[0].block.num_col
    x = result.x
    times = [p.start for p in periods]
    dh = period_min / 60.0
    setpoints, kpis, on = [], [], []
    warnings: list[str] = []
    status = "optimal"
    unserved_cols, unplaced_cols, _ = sup._columns_of_results()  # noqa: SLF001
    worst, mismatched = 0.0, {}
    for t, p in enumerate(periods):
        xt = x[t * n:(t + 1) * n]
        setpoints.append(sup._setpoints(xt))  # noqa: SLF001
        kpis.append(_kpis_at(sup, xt, p.params))
        on.append({u.unit: float(round(xt[u.on_col])) for u in units})
        short = {h: float(xt[c]) for h, c in unserved_cols + unplaced_cols if c >= 0 and xt[c] > 1e-6}
        if short:
            status = "infeasible_demand"
            warnings.append(f"period {p.start:%Y-%m-%d %H:%M}: steam short or surplus " + ", ".join(f"{h} {v:.2f} t/h" for h, v in short.items()))
        agreement, _domain = sup._verify_curves(p.cycle, None, xt)  # noqa: SLF001
        for k, v in sup.curve_mismatches(agreement).items():  # beyond what each curve may differ (exact or linearised)
            mismatched[k] = max(v, mismatched.get(k, 0.0))
        worst = max([worst] + list(agreement.values()))
    if mismatched:
        warnings.append("curve mismatch between the plan and the providers: " + ", ".join(f"{k} {v:.2e}" for k, v in mismatched.items())
                        + f" relative (worst of every curve {worst:.2e})")
    index = pd.DatetimeIndex(times)
    on_df = pd.DataFrame(on, index=index)
    starts, stops, startup, shutdown = _transitions(sup, units, on_df, period_min)
    energy = float(sum(k["cost_per_h"] * dh for k in kpis))
    advice = _advice(units, starts, stops, periods)
    return Schedule(
        status=status, start=times[0].isoformat(), period_min=period_min, times=[t.isoformat() for t in times],
        setpoints=pd.DataFrame(setpoints, index=index), kpis=pd.DataFrame(kpis, index=index), on=on_df,
        starts=starts, stops=stops,
        costs={"energy": energy, "startup": startup, "shutdown": shutdown, "total": energy + startup + shutdown},
        objective=result.objective, gap=result.gap, first_period=setpoints[0], advice=[line for _, line in advice],
        advice_times=[when.isoformat() for when, _ in advice], warnings=warnings,
        stats={"curve_agreement_max": worst})


def _transitions(sup: Supervisor, units: list, on: pd.DataFrame, period_min: float) -> tuple[list, list, float, float]:
    """Starts and stops read off the on/off pattern, costed with the site's own rule
    (:func:`optimizer.site.model.start_cost`: hot or cold by the hours off)."""
    starts, stops = [], []
    startup = shutdown = 0.0
    dh = period_min / 60.0
    for u in units:
        prev = u.on_now
        off_since_h = None if u.on_now else -u.minutes / 60.0  # hours (from the plan's start) the unit has been off since
        for t, ts in enumerate(on.index):
            now = bool(on[u.unit].iloc[t])
            if now and not prev:
                hours_off = t * dh - off_since_h
                unit = _site_unit(sup, u.unit)
                cost = start_cost(unit, hours_off) if u.kind != "drive" else 0.0
                cold = u.cold_cost is not None and u.cold_after_h is not None and hours_off >= u.cold_after_h
                starts.append({"unit": u.unit, "action": "switch to the turbine" if u.kind == "drive" else "start", "period": ts.isoformat(),
                               "begin_startup": (ts - pd.Timedelta(minutes=u.startup_time_min)).isoformat(),
                               "hours_off": hours_off, "cost": cost, "kind": "cold" if cold else "hot"})
                startup += cost
            elif prev and not now:
                stops.append({"unit": u.unit, "action": "switch to the motor" if u.kind == "drive" else "stop",
                              "period": ts.isoformat(), "cost": u.shutdown_cost})
                shutdown += u.shutdown_cost
                off_since_h = t * dh
            prev = now
    return starts, stops, startup, shutdown


def _site_unit(sup: Supervisor, unit: str):
    site = sup.site
    return site.boilers.get(unit) or site.gas_turbines.get(unit) or site.turbines[unit]


def _advice(units: list, starts: list, stops: list, periods: list) -> list[tuple[pd.Timestamp, str]]:
    """(when, line) per planned start (when its start-up begins) and stop, in time order, with
    what changes then (the import price, the steam demand)."""
    index = {p.start.isoformat(): t for t, p in enumerate(periods)}
    kind = {u.unit: u.kind for u in units}

    def why(t: int) -> str:
        if t == 0:
            return ""
        price = [p.cycle.fixed[("import_price", None)] for p in periods]
        if abs(price[t] - price[t - 1]) > 1e-9:
            return f": the import price goes from {price[t - 1]:,.0f} to {price[t]:,.0f} per MWh then"
        demand = [sum(v for (k, _i), v in p.cycle.fixed.items() if k == "draw") for p in periods]
        if abs(demand[t] - demand[0]) > 0.5:
            return f": steam demand {demand[0]:,.1f} t/h now, {demand[t]:,.1f} t/h then"
        return ""

    lines = []
    for s in starts:
        t = index[s["period"]]
        ts, begin = pd.Timestamp(s["period"]), pd.Timestamp(s["begin_startup"])
        verb = s["action"]
        lead = f"{verb} {s['unit']} at {begin:%H:%M}" + (f" (on from {ts:%H:%M})" if begin != ts else "")
        cost = "" if kind[s["unit"]] == "drive" else f"; {s['kind']} start, cost {s['cost']:,.0f}"
        lines.append((begin, f"{lead}{why(t)}{cost}"))
    for s in stops:
        t = index[s["period"]]
        verb = s["action"]
        lines.append((pd.Timestamp(s["period"]), f"{verb} {s['unit']} at {pd.Timestamp(s['period']):%H:%M}{why(t)}"))
    return sorted(lines, key=lambda item: item[0])
