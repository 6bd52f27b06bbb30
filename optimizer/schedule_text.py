"""A look-ahead :class:`~optimizer.schedule.Schedule` as text for a person (``steamopt plan``).

:func:`render_schedule` prints one row per period (start time, import price, units on, boiler
steam, gas-turbine and generator-turbine power, grid import, cost rate), then the planned starts
and stops with their times and costs, the advice lines and the total costs; ``explain`` adds the
per-period KPIs, the forecast's methods, what the first period commits to and the solve figures.
Every number printed is the schedule's own (rounded for display), except the import price, which
the schedule does not hold: it is passed in (``prices``, e.g. :func:`period_prices`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from optimizer.site.model import Site

__all__ = ["period_prices", "render_schedule", "unit_groups"]


def period_prices(site: Site, times: Sequence, *, snapshot_price: float | None = None,
                  forecast: pd.DataFrame | None = None) -> list[float]:
    """Import price per period, currency/MWh, as the plan takes it (PLAN_API.md): a forecast's
    ``import_price_per_mwh`` column when given, else the snapshot's price for period 0 (when it
    has one) and the site's tariff at each later period's start."""
    out = []
    for t, ts in enumerate(pd.DatetimeIndex(times)):
        if forecast is not None and "import_price_per_mwh" in forecast.columns and math.isfinite(float(forecast["import_price_per_mwh"].iloc[t])):
            out.append(float(forecast["import_price_per_mwh"].iloc[t]))
        elif t == 0 and snapshot_price is not None:
            out.append(float(snapshot_price))
        else:
            out.append(site.electricity.import_price_per_mwh(ts.weekday(), ts.hour) if site.electricity else 0.0)
    return out


def unit_groups(setpoints: pd.DataFrame, site: Site | None = None) -> dict[str, list[str]]:
    """Setpoint tags summed into the table's columns: ``boiler_tph`` (boilers' ``.steam_tph``),
    ``gt_mw`` (gas turbines' ``.power_mw``), ``tg_mw`` (generator turbines' ``.power_mw``). With the
    site, by its unit lists; without, told apart by the tags: a unit with ``.on`` and ``.steam_tph``
    is a boiler, one with ``.duct_steam_tph`` a gas turbine, another with ``.power_mw`` a turbine."""
    cols = set(setpoints.columns)
    if site is not None:
        boilers, gts, tgs = list(site.boilers), list(site.gas_turbines), list(site.turbines)
    else:
        units = sorted({c.split(".", 1)[0] for c in cols})
        boilers = [u for u in units if f"{u}.on" in cols and f"{u}.steam_tph" in cols and f"{u}.power_mw" not in cols]
        gts = [u for u in units if f"{u}.duct_steam_tph" in cols]
        tgs = [u for u in units if f"{u}.power_mw" in cols and u not in gts]
    return {"boiler_tph": [f"{u}.steam_tph" for u in boilers if f"{u}.steam_tph" in cols],
            "gt_mw": [f"{u}.power_mw" for u in gts if f"{u}.power_mw" in cols],
            "tg_mw": [f"{u}.power_mw" for u in tgs if f"{u}.power_mw" in cols]}


def _num(v: object, fmt: str = ",.1f") -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "-"
    return format(f, fmt) if math.isfinite(f) else "-"


def _hhmm(ts: pd.Timestamp, first: pd.Timestamp) -> str:
    return f"{ts:%H:%M}" if ts.normalize() == first.normalize() else f"{ts:%a %H:%M}"


def render_schedule(schedule, explain: bool = False, *, site: Site | None = None, prices: Sequence[float] | None = None,
                    currency: str | None = None) -> str:
    """The schedule as text (see the module docstring). ``prices``: import price per period
    (currency/MWh; ``-`` when not given); ``currency``: the cost unit's name (default the site's,
    else ``THB``). Per-hour KPIs are the schedule's ``kpis`` (``cost_per_h``, ``power_import_mw``)."""
    cur = currency or (site.currency if site is not None else "THB")
    lines = [f"plan: {schedule.status}   from {schedule.start}   {len(schedule.times)} periods of {schedule.period_min:g} min"]
    sp, kp, on = schedule.setpoints, schedule.kpis, schedule.on
    if len(schedule.times) and not sp.empty:
        index = pd.DatetimeIndex(sp.index)
        groups = unit_groups(sp, site)
        first = index[0]
        head = (f"{'period':>10s} {'price/MWh':>10s} {'on':>5s} {'off':<14s} {'boiler t/h':>11s} {'GT MW':>8s} {'TG MW':>8s} "
                f"{'import MW':>10s} {cur + '/h':>13s}")
        lines += ["", head]
        for t, ts in enumerate(index):
            units_on = [u for u in on.columns if on[u].iloc[t] >= 0.5] if not on.empty else []
            off = [u for u in on.columns if on[u].iloc[t] < 0.5] if not on.empty else []
            price = prices[t] if prices is not None and t < len(prices) else float("nan")
            row = kp.iloc[t] if t < len(kp) else pd.Series(dtype=float)
            lines.append(
                f"{_hhmm(ts, first):>10s} {_num(price, ',.0f'):>10s} {f'{len(units_on)}/{len(on.columns)}':>5s} "
                f"{(','.join(off) or '-'):<14s} {_num(sp.iloc[t][groups['boiler_tph']].sum()):>11s} "
                f"{_num(sp.iloc[t][groups['gt_mw']].sum(), ',.2f'):>8s} {_num(sp.iloc[t][groups['tg_mw']].sum(), ',.2f'):>8s} "
                f"{_num(row.get('power_import_mw'), ',.2f'):>10s} {_num(row.get('cost_per_h'), ',.0f'):>13s}")
    if schedule.starts or schedule.stops:
        lines += ["", "starts and stops:"]
        events = [(pd.Timestamp(s["begin_startup"]), f"  {s.get('action', 'start')} {s['unit']}: start-up from {pd.Timestamp(s['begin_startup']):%Y-%m-%d %H:%M}, "
                   f"on from {pd.Timestamp(s['period']):%H:%M}, {s.get('kind', '')} start, {_num(s['cost'], ',.0f')} {cur}")
                  for s in schedule.starts]
        events += [(pd.Timestamp(s["period"]), f"  {s.get('action', 'stop')} {s['unit']} at {pd.Timestamp(s['period']):%Y-%m-%d %H:%M}, "
                    f"{_num(s['cost'], ',.0f')} {cur}") for s in schedule.stops]
        lines += [line for _, line in sorted(events, key=lambda e: e[0])]
    else:
        lines += ["", "starts and stops: none"]
    if schedule.advice:
        lines += ["", "advice:"] + [f"  {a}" for a in schedule.advice]
    c = schedule.costs or {}
    if c:
        lines += ["", f"costs ({cur}): energy {_num(c.get('energy'), ',.0f')}, start-up {_num(c.get('startup'), ',.0f')}, "
                      f"shut-down {_num(c.get('shutdown'), ',.0f')}, total {_num(c.get('total'), ',.0f')}"]
    gap = schedule.gap
    stats = schedule.stats or {}
    lines.append(f"MIP gap {_num(100.0 * gap if gap is not None else None, '.3g')} %, build {_num(stats.get('build_s'), '.2f')} s, "
                 f"solve {_num(stats.get('solve_s'), '.2f')} s")
    lines += [f"warning: {w}" for w in schedule.warnings]
    if explain:
        lines += _explain(schedule)
    return "\n".join(lines)


def _explain(schedule) -> list[str]:
    out = []
    kp = schedule.kpis
    if not kp.empty:
        index = pd.DatetimeIndex(kp.index)
        out += ["", "KPIs per period (per hour):"]
        names = list(kp.columns)
        width = max(12, *(len(n) for n in names))
        out.append(f"{'KPI':<{width}s} " + " ".join(f"{_hhmm(ts, index[0]):>12s}" for ts in index))
        for n in names:
            out.append(f"{n:<{width}s} " + " ".join(f"{_num(v, ',.2f'):>12s}" for v in kp[n].to_numpy()))
    if schedule.forecast_methods:
        out += ["", "forecast methods:"] + [f"  {k}: {v}" for k, v in schedule.forecast_methods.items()]
    if schedule.first_period:
        out += ["", "first period commits to:"] + [f"  {k:28s} {_num(v, '12.3f')}" for k, v in schedule.first_period.items()]
    if schedule.stats:
        out += ["", "statistics:"] + [f"  {k}: {v}" for k, v in schedule.stats.items()]
    return out

