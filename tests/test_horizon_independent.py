"""The look-ahead plan (``Supervisor.plan``) against an independent solve, on small sites.

The horizon of PLAN_API.md is written a second time, by hand, as one matrix model over T periods
and solved with ``scipy.optimize.milp``. Per period, the site's physics is that of
tests/test_independent_optimum.py (its docstring; :class:`MatrixModel` and :class:`Physics` are
reused, nothing of :mod:`optimizer.formulation` or of the Supervisor): header mass balances, the
deaerator's mass and energy balances, constant-efficiency boilers, a back-pressure generator whose
exhaust enters its header at the header's enthalpy (``conversion = 1``), a desuperheated letdown,
a vent with a penalty and the electricity balance with its tariff. Each unit has a box equal to
its equipment range (``min u <= x <= max u``); the per-hour costs are multiplied by the period's
hours.

The coupling, as PLAN_API.md states it, for each unit with on/off ``u_t`` and load ``x_t`` (boiler
steam t/h, generator power MW), with ``P`` the period length (min):

* ``u_t - u_{t-1} = s_t - d_t`` (start, stop in [0, 1]), ``u_{-1}`` the snapshot's state
  (a boiler is on above half its minimum steam, a generator above 0);
* minimum up ``U = ceil(min_up/P)``: ``sum_{t-U+1..t} s <= u_t``; down ``D``: ``sum_{t-D+1..t} d <= 1 - u_t``
  (U and D at least 1: a start means on, a stop off, in its period, so a start and a stop cannot
  share a period; a generator's minimum times are at least the engine's switch interval, 60 min);
  on at the start with ``m = minutes_in_state < min_up``: on for the first ``ceil((min_up - m)/P)``
  periods; off with ``m < min_down``: off for ``ceil((min_down - m)/P)`` periods;
* ramps, ``R`` per minute, ``S = min + R P``: ``x_t - x_{t-1} <= R P u_{t-1} + S s_t`` and
  ``x_{t-1} - x_t <= R P u_t + S d_t``, ``x_{-1}`` the measured value;
* start-up time: a unit off at the start is off for the first ``ceil(startup_time/P)`` periods;
* a start costs ``startup_cost``, or ``cold_startup_cost`` after at least ``cold_after_h`` hours
  off (the site field's definition): a cold-start indicator ``c_t >= s_t - sum d_k (stops k with
  (t - k) P < 60 cold_after_h) - [off at the start and m + t P < 60 cold_after_h]``, costing the
  difference; a stop costs ``shutdown_cost``;
* a unit the optimiser may not switch (``can_switch_off = false``) keeps the snapshot's state.

Each case's optimum is unique: its on/off pattern wins by a clear margin (re-solved with that
pattern forbidden) and the compared loads are single-valued on the optimal face (each minimised
and maximised with the pattern fixed and the cost held at the optimum).
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from optimizer.site import site_from_dict
from optimizer.supervisor import Supervisor, SupervisorConfig
from tests.test_independent_optimum import MatrixModel, Physics, Solution

REL = 1e-6
MARGIN = 1e-4            # the runner-up pattern costs at least this much more (relative)
CONFIG = {"cycle_s": 60.0, "time_budget_s": 30.0}
SWITCH_MIN = 60.0        # SupervisorConfig.min_switch_interval_min, the default (a generator's least up/down)
PLAN_GAP = 1e-9          # the plan is asked for this MIP gap: the comparison is at 1e-6


# ---------------------------------------------------------------------- the site family
#
# HP (40 barg, 400 C) and LP (4 barg, 180 C). B1: large and efficient, always on (the optimiser
# may not switch it). B2: small and dear, started for peaks. Optional: a back-pressure generator
# TG HP -> LP (conversion 1), a time-of-use tariff. LP is fed by the letdown (desuperheated) and
# the generator; the deaerator heats with LP steam.

GAS = {"price_per_gj": 300.0, "ef_co2_kg_tj": 56100.0, "ef_ch4_kg_tj": 1.0, "ef_n2o_kg_tj": 0.1}
TARIFF = [{"name": "on_peak", "price_per_mwh": 4500.0, "weekdays": [0, 1, 2, 3, 4], "start_hour": 9, "end_hour": 22}]

BASE = {
    "name": "horizon_small",
    "steam": {"deaerator_steam_header": "LP", "condensate_return_fraction": 0.6},
    "headers": {"HP": {"pressure_barg": 40.0, "temp_c": 400.0}, "LP": {"pressure_barg": 4.0, "temp_c": 180.0}},
    "fuels": {"gas": GAS},
    "boilers": {
        "B1": {"header": "HP", "fuels": ["gas"], "min_steam_tph": 30.0, "max_steam_tph": 110.0, "efficiency": 0.92,
               "can_switch_off": False, "ramp_tph_per_min": 2.0},
        "B2": {"header": "HP", "fuels": ["gas"], "min_steam_tph": 20.0, "max_steam_tph": 60.0, "efficiency": 0.85,
               "ramp_tph_per_min": 2.0, "min_up_min": 120.0, "min_down_min": 120.0, "startup_cost": 5000.0, "shutdown_cost": 500.0},
    },
    "letdowns": {"LD": {"inlet": "HP", "outlet": "LP", "max_flow_tph": 200.0}},
    "vents": {"VLP": {"header": "LP", "max_flow_tph": 80.0, "penalty_per_t": 50.0}},
    "consumers": {
        "HPC": {"header": "HP", "demand_tph": 40.0, "condensate_return_fraction": 0.5},
        "LPC": {"header": "LP", "demand_tph": 40.0, "condensate_return_fraction": 0.8},
    },
    "electricity": {"site_load_mw": 4.0, "max_import_mw": 30.0, "default_price_per_mwh": 2500.0, "grid_ef_t_mwh": 0.5},
    "emissions": {"carbon_price_per_t": 100.0},
}

TG = {"inlet": "HP", "drive": "generator", "min_power_mw": 1.0, "max_power_mw": 6.0, "mechanical_efficiency": 0.96,
      "ramp_mw_per_min": 0.02, "can_switch_off": False,
      "sections": [{"outlet": "LP", "model": "enthalpy_drop", "conversion": 1.0, "max_flow_tph": 120.0}]}


def make_site(b1: dict | None = None, b2: dict | None = None, tg: dict | None = None, electricity: dict | None = None,
              without_b2: bool = False) -> dict:
    """The base site with some units' fields replaced (``tg``: add the generator with these changes)."""
    data = copy.deepcopy(BASE)
    data["boilers"]["B1"].update(b1 or {})
    data["boilers"]["B2"].update(b2 or {})
    if without_b2:
        del data["boilers"]["B2"]
    if tg is not None:
        data["turbines"] = {"TG": {**copy.deepcopy(TG), **tg}}
    data["electricity"].update(electricity or {})
    return data


def units_of(data: dict) -> dict[str, dict]:
    """Every unit with on/off: ``{unit: its dict}`` (boilers, generator turbines)."""
    out = dict(data["boilers"])
    out.update({t: tu for t, tu in data.get("turbines", {}).items() if tu["drive"] == "generator"})
    return out


def load_tag(data: dict, unit: str) -> str:
    return f"{unit}.steam_tph" if unit in data["boilers"] else f"{unit}.power_mw"


def periods(start: str, n: int, period_min: float) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(start), periods=n, freq=pd.Timedelta(minutes=period_min))


def forecast_frame(start: str, period_min: float, **series: list[float]) -> pd.DataFrame:
    """Forecast rows: ``HPC=[...]`` becomes the column ``HPC.steam_tph`` (other names kept as given)."""
    n = len(next(iter(series.values())))
    cols = {(k if "." in k or k.endswith("_mwh") else f"{k}.steam_tph"): [float(x) for x in v] for k, v in series.items()}
    return pd.DataFrame(cols, index=periods(start, n, period_min))


# ---------------------------------------------------------------------- the hand-written horizon


class Period:
    """One period of the horizon seen as a single-period model: names get ``@t``, costs x hours."""

    def __init__(self, m: MatrixModel, t: int, hours: float):
        self.m, self.t, self.hours = m, t, hours

    def n(self, name: str) -> str:
        return f"{name}@{self.t}"

    def var(self, name: str, lb: float = 0.0, ub: float = math.inf, cost: float = 0.0, binary: bool = False) -> str:
        return self.m.var(self.n(name), lb, ub, cost * self.hours, binary)

    def _map(self, coefs: dict[str, float]) -> dict[str, float]:
        return {self.n(k): v for k, v in coefs.items()}

    def eq(self, coefs: dict[str, float], rhs: float = 0.0) -> None:
        self.m.eq(self._map(coefs), rhs)

    def le(self, coefs: dict[str, float], rhs: float = 0.0) -> None:
        self.m.le(self._map(coefs), rhs)

    def ge(self, coefs: dict[str, float], rhs: float = 0.0) -> None:
        self.m.ge(self._map(coefs), rhs)


def tg_mw_per_tph(ph: Physics) -> float:
    tg = ph.data["turbines"]["TG"]
    return tg["mechanical_efficiency"] * tg["sections"][0]["conversion"] * (ph.h["HP"] - ph.h["LP"]) / 3600.0


def period_physics(ph: Physics, p: Period, snap: dict) -> None:
    """The single-period site model of period ``p`` at the disturbances in ``snap``."""
    data = ph.data
    hpc, lpc = snap["HPC.steam_tph"], snap["LPC.steam_tph"]
    boilers = {}
    for b, bo in data["boilers"].items():
        p.var(f"u_{b}", binary=True)
        p.var(f"x_{b}", 0.0, bo["max_steam_tph"])
        p.ge({f"x_{b}": 1.0, f"u_{b}": -bo["min_steam_tph"]})
        p.le({f"x_{b}": 1.0, f"u_{b}": -bo["max_steam_tph"]})
        p.var(f"f_{b}", cost=ph.fuel_cost("gas", snap))
        p.eq({f"f_{b}": 1.0, f"x_{b}": -ph.fuel_per_t(b)})
        boilers[f"x_{b}"] = 1.0
    tg_flow: dict[str, float] = {}
    power: dict[str, float] = {}
    if "TG" in data.get("turbines", {}):
        tg = data["turbines"]["TG"]
        sec = tg["sections"][0]
        p.var("u_TG", binary=True)
        p.var("m_TG", 0.0, sec["max_flow_tph"])
        p.ge({"m_TG": 1.0, "u_TG": -sec.get("min_flow_tph", 0.0)})
        p.le({"m_TG": 1.0, "u_TG": -sec["max_flow_tph"]})
        p.var("x_TG", 0.0, tg["max_power_mw"])
        p.eq({"x_TG": 1.0, "m_TG": -tg_mw_per_tph(ph)})
        p.ge({"x_TG": 1.0, "u_TG": -tg["min_power_mw"]})
        p.le({"x_TG": 1.0, "u_TG": -tg["max_power_mw"]})
        tg_flow = {"m_TG": 1.0}
        power = {"x_TG": -1.0}
    ld, vent = data["letdowns"]["LD"], data["vents"]["VLP"]
    r = ph.water_ratio(ph.h["HP"], "LP")
    p.var("l", 0.0, ld["max_flow_tph"])
    p.var("v", 0.0, vent["max_flow_tph"], cost=vent["penalty_per_t"])
    ph.deaerator(p, {**boilers, "l": r}, 0.0, {}, ph.ret("HPC") * hpc + ph.ret("LPC") * lpc)
    p.eq({**boilers, **{k: -v for k, v in tg_flow.items()}, "l": -1.0}, hpc)                  # header HP
    p.eq({**tg_flow, "l": 1.0 + r, "v": -1.0, "S": -1.0}, lpc)                                # header LP
    price = snap.get("import_price_per_mwh", ph.import_price(snap["timestamp"]))
    ph.electricity(p, price, power, snap["site_load_mw"])


def min_times(data: dict, unit: str) -> tuple[float, float]:
    """(minimum up, minimum down) in minutes: a boiler's own (site default 240 each); a generator's
    at least the engine's switch interval (SupervisorConfig.min_switch_interval_min, 60 min)."""
    u = units_of(data)[unit]
    if unit in data["boilers"]:
        return u.get("min_up_min", 240.0), u.get("min_down_min", 240.0)
    return max(SWITCH_MIN, u.get("min_up_min", 0.0)), max(SWITCH_MIN, u.get("min_down_min", 0.0))


def initial_state(data: dict, snap: dict, unit: str) -> tuple[bool, float, float]:
    """(on, load, minutes in state) of a unit as the snapshot gives them."""
    u = units_of(data)[unit]
    x0 = snap[load_tag(data, unit)]
    on = x0 > 0.5 * u["min_steam_tph"] and x0 > 0.0 if unit in data["boilers"] else x0 > 0.0
    return on, x0, snap[f"{unit}.minutes_in_state"]


def horizon_model(data: dict, snap: dict, forecast: pd.DataFrame, period_min: float,
                  end_on: dict[str, bool] | None = None) -> tuple[MatrixModel, Physics]:
    """The whole horizon as one matrix model (see the module docstring)."""
    ph = Physics(data)
    m = MatrixModel()
    T, P, hours = len(forecast), period_min, period_min / 60.0
    for t, (ts, row) in enumerate(forecast.iterrows()):
        snap_t = {**snap, **{k: float(v) for k, v in row.items()}, "timestamp": ts.isoformat()}
        period_physics(ph, Period(m, t, hours), snap_t)
    for unit, u in units_of(data).items():
        on0, x0, m0 = initial_state(data, snap, unit)
        emin = u["min_steam_tph"] if unit in data["boilers"] else u["min_power_mw"]
        ramp = u["ramp_tph_per_min"] if unit in data["boilers"] else u["ramp_mw_per_min"]
        rp = ramp * P
        big = emin + rp  # a start reaches, a stop leaves from, at most one ramp above the minimum
        # the windows hold at least the period itself (s_t <= u_t, d_t <= 1 - u_t): with no minimum
        # time a start and a stop in the same period would otherwise cancel and lift the ramp limit
        min_up, min_down = min_times(data, unit)
        up, down = max(1, math.ceil(min_up / P)), max(1, math.ceil(min_down / P))
        can_switch = u.get("can_switch_off", True)
        hot, cold = u.get("startup_cost", 0.0), u.get("cold_startup_cost")
        cold_min = 60.0 * u["cold_after_h"] if "cold_after_h" in u else None
        on = [f"u_{unit}@{t}" for t in range(T)]
        x = [f"x_{unit}@{t}" for t in range(T)]
        s = [m.var(f"s_{unit}@{t}", 0.0, 1.0, cost=hot) for t in range(T)]
        d = [m.var(f"d_{unit}@{t}", 0.0, 1.0, cost=u.get("shutdown_cost", 0.0)) for t in range(T)]
        for t in range(T):
            prev = {} if t == 0 else {on[t - 1]: -1.0}
            m.eq({on[t]: 1.0, **prev, s[t]: -1.0, d[t]: 1.0}, float(on0) if t == 0 else 0.0)
            if not can_switch:
                m.eq({on[t]: 1.0}, float(on0))
            m.le({**{s[k]: 1.0 for k in range(max(0, t - up + 1), t + 1)}, on[t]: -1.0}, 0.0)
            m.le({**{d[k]: 1.0 for k in range(max(0, t - down + 1), t + 1)}, on[t]: 1.0}, 1.0)
            if t == 0:
                m.le({x[0]: 1.0, s[0]: -big}, x0 + rp * on0)
                m.le({x[0]: -1.0, on[0]: -rp, d[0]: -big}, -x0)
            else:
                m.le({x[t]: 1.0, x[t - 1]: -1.0, on[t - 1]: -rp, s[t]: -big}, 0.0)
                m.le({x[t - 1]: 1.0, x[t]: -1.0, on[t]: -rp, d[t]: -big}, 0.0)
            if cold is not None:
                c = m.var(f"c_{unit}@{t}", 0.0, 1.0, cost=cold - hot)
                recent = {d[k]: 1.0 for k in range(t) if (t - k) * P < cold_min}
                hot_from_start = 1.0 if (not on0 and m0 + t * P < cold_min) else 0.0
                m.ge({c: 1.0, s[t]: -1.0, **recent}, -hot_from_start)
        if on0 and m0 < min_up:
            for t in range(min(T, math.ceil((min_up - m0) / P))):
                m.eq({on[t]: 1.0}, 1.0)
        if not on0 and m0 < min_down:
            for t in range(min(T, math.ceil((min_down - m0) / P))):
                m.eq({on[t]: 1.0}, 0.0)
        if not on0:
            for t in range(min(T, math.ceil(u.get("startup_time_min", 0.0) / P))):
                m.eq({on[t]: 1.0}, 0.0)
        if end_on and unit in end_on:
            m.eq({on[T - 1]: 1.0}, float(end_on[unit]))
    return m, ph


# ---------------------------------------------------------------------- solving and uniqueness


def _arrays(m: MatrixModel, extra: list[tuple[dict[str, float], float, float]] = ()):
    rows = list(m.rows) + list(extra)
    a = np.zeros((len(rows), len(m.lb)))
    for i, (coefs, _, _) in enumerate(rows):
        for name, v in coefs.items():
            a[i, m.index[name]] += v
    return a, np.array([r[1] for r in rows]), np.array([r[2] for r in rows])


def on_names(m: MatrixModel) -> list[str]:
    return [n for n in m.index if n.startswith("u_")]


def pattern_of(m: MatrixModel, sol: Solution) -> dict[str, int]:
    return {n: round(sol[n]) for n in on_names(m)}


def solve(m: MatrixModel, extra: list = ()) -> Solution | None:
    """The MILP's optimum (None when infeasible), with ``extra`` rows."""
    a, lo, hi = _arrays(m, extra)
    res = milp(np.array(m.c), constraints=LinearConstraint(a, lo, hi), integrality=np.array(m.binary, dtype=int),
               bounds=Bounds(m.lb, m.ub), options={"mip_rel_gap": 1e-10})
    if res.status == 2:  # infeasible
        return None
    assert res.success, res.message
    return m._solution(res.x)


def runner_up(m: MatrixModel, sol: Solution) -> float | None:
    """The best objective with the optimum's on/off pattern forbidden (None: no other pattern)."""
    pat = pattern_of(m, sol)
    cut = {n: (1.0 if v == 0 else -1.0) for n, v in pat.items()}
    other = solve(m, [(cut, 1.0 - sum(pat.values()), math.inf)])
    return None if other is None else other.objective


def face_range(m: MatrixModel, sol: Solution, names: list[str]) -> dict[str, float]:
    """How far each named variable can move on the optimal face (the pattern fixed)."""
    a, lo, hi = _arrays(m)
    eq = lo == hi
    up, dn = ~eq & np.isfinite(hi), ~eq & np.isfinite(lo)
    c = np.array(m.c)
    a_ub = np.vstack([a[up], -a[dn], c])
    b_ub = np.concatenate([hi[up], -lo[dn], [sol.objective + 1e-9 * abs(sol.objective)]])
    bounds = list(zip(m.lb, m.ub))
    for name, i in m.index.items():
        if m.binary[i]:
            bounds[i] = (round(sol[name]),) * 2
    out = {}
    for n in names:
        obj = np.zeros(len(m.lb))
        obj[m.index[n]] = 1.0
        lo_v = linprog(obj, A_ub=a_ub, b_ub=b_ub, A_eq=a[eq], b_eq=lo[eq], bounds=bounds, method="highs")
        hi_v = linprog(-obj, A_ub=a_ub, b_ub=b_ub, A_eq=a[eq], b_eq=lo[eq], bounds=bounds, method="highs")
        assert lo_v.status == 0 and hi_v.status == 0, (n, lo_v.message, hi_v.message)
        out[n] = -hi_v.fun - lo_v.fun
    return out


def period_cost(m: MatrixModel, sol: Solution, t: int, hours: float) -> float:
    """Cost per hour of period ``t`` (its own variables only: no start or stop costs)."""
    return sum(m.c[i] * sol[n] for n, i in m.index.items() if n.endswith(f"@{t}") and not n[:2] in ("s_", "d_", "c_")) / hours


def start_stop_costs(m: MatrixModel, sol: Solution) -> tuple[float, float]:
    startup = sum(m.c[i] * sol[n] for n, i in m.index.items() if n[:2] in ("s_", "c_"))
    shutdown = sum(m.c[i] * sol[n] for n, i in m.index.items() if n[:2] == "d_")
    return startup, shutdown


# ---------------------------------------------------------------------- the plan and the comparison


def snapshot(data: dict, ts: str, loads: dict[str, float], minutes: dict[str, float], **more) -> dict:
    """A snapshot at ``ts``: every unit's load and minutes in state, demands as the forecast's first period."""
    snap = {"timestamp": ts, "ambient_temp_c": 30.0, "site_load_mw": 4.0, "HPC.steam_tph": 40.0, "LPC.steam_tph": 40.0}
    for u in units_of(data):
        snap[load_tag(data, u)] = loads[u]
        snap[f"{u}.minutes_in_state"] = minutes[u]
    snap.update(more)
    return snap


def plan(data: dict, snap: dict, forecast: pd.DataFrame, period_min: float, **kw):
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    hours = len(forecast) * period_min / 60.0
    return sup.plan(snap, forecast, horizon_h=hours, period_min=period_min, mip_rel_gap=PLAN_GAP, **kw)


def check_case(data: dict, snap: dict, forecast: pd.DataFrame, period_min: float, expected_on: dict[str, list[int]],
               end_on: dict[str, bool] | None = None) -> tuple[Solution, MatrixModel, object]:
    """The independent optimum (its pattern as expected, unique by a margin) and the plan equal to it."""
    m, _ph = horizon_model(data, snap, forecast, period_min, end_on)
    mine = solve(m)
    assert mine is not None, "the independent horizon is infeasible"
    T, hours = len(forecast), period_min / 60.0
    units = list(units_of(data))
    mine_on = {u: [round(mine[f"u_{u}@{t}"]) for t in range(T)] for u in units}
    for u, pat in expected_on.items():
        assert mine_on[u] == pat, f"independent optimum of {u}: {mine_on[u]}, intended {pat}"
    second = runner_up(m, mine)
    assert second is None or second > mine.objective * (1 + MARGIN), (second, mine.objective)
    loads = [f"x_{u}@{t}" for u in units for t in range(T)] + [f"l@{t}" for t in range(T)] + [f"v@{t}" for t in range(T)]
    spread = face_range(m, mine, loads)
    assert max(spread.values()) < 1e-4, {k: v for k, v in spread.items() if v >= 1e-4}

    sched = plan(data, snap, forecast, period_min, **({"end_on": end_on} if end_on else {}))
    assert sched.status == "optimal", (sched.status, sched.warnings)
    assert sched.objective == pytest.approx(mine.objective, rel=REL)
    startup, shutdown = start_stop_costs(m, mine)
    energy = sum(hours * period_cost(m, mine, t, hours) for t in range(T))
    assert mine.objective == pytest.approx(energy + startup + shutdown, rel=1e-12)
    assert sched.costs["startup"] == pytest.approx(startup, rel=REL, abs=1e-6)
    assert sched.costs["shutdown"] == pytest.approx(shutdown, rel=REL, abs=1e-6)
    assert sched.costs["energy"] == pytest.approx(energy, rel=REL)
    assert sched.costs["total"] == pytest.approx(mine.objective, rel=REL)
    got_on = {u: [int(v) for v in sched.on[u].tolist()] for u in units}
    assert got_on == mine_on
    assert len(sched.times) == T and list(pd.DatetimeIndex(sched.setpoints.index)) == list(forecast.index)
    cost_h = sched.kpis["cost_per_h"].tolist()
    for t in range(T):
        assert cost_h[t] == pytest.approx(period_cost(m, mine, t, hours), rel=REL), t
        for u in units:
            got = float(sched.setpoints[load_tag(data, u)].iloc[t])
            assert got == pytest.approx(mine[f"x_{u}@{t}"], rel=REL, abs=1e-5), (u, t)
        assert float(sched.setpoints["LD.steam_tph"].iloc[t]) == pytest.approx(mine[f"l@{t}"], rel=REL, abs=1e-5), t
        assert float(sched.setpoints["VLP.steam_tph"].iloc[t]) == pytest.approx(mine[f"v@{t}"], rel=REL, abs=1e-5), t
    # starts and stops listed where the pattern changes, at the cost the independent model pays
    times = [ts.isoformat() for ts in forecast.index]
    want_starts = [(u, times[t]) for u in units for t in range(T) if mine[f"s_{u}@{t}"] > 0.5]
    want_stops = [(u, times[t]) for u in units for t in range(T) if mine[f"d_{u}@{t}"] > 0.5]
    assert sorted((s["unit"], pd.Timestamp(s["period"]).isoformat()) for s in sched.starts) == sorted(want_starts)
    assert sorted((s["unit"], pd.Timestamp(s["period"]).isoformat()) for s in sched.stops) == sorted(want_stops)
    assert sum(s["cost"] for s in sched.starts) == pytest.approx(startup, rel=REL, abs=1e-6)
    for s in sched.starts:
        t = times.index(pd.Timestamp(s["period"]).isoformat())
        cold = f"c_{s['unit']}@{t}" in mine.x and mine[f"c_{s['unit']}@{t}"] > 0.5
        assert s["kind"] == ("cold" if cold else "hot"), s
    return mine, m, sched


# ====================================================================== two boilers, a peak
#
# Demand: HPC 40 t/h, with 75 t/h in the peak periods; LPC 40 t/h. B1 (<= 110 t/h) alone cannot
# raise the peak's steam (HP demand, the letdown to LP and the deaerator's steam), so B2 starts
# for the peak (5,000 THB hot start). After it, B2 at its minimum displaces 20 t/h of B1's cheaper
# steam (about 1,500 THB/h): it stops (500 THB) unless its stop cost or minimum up time says
# otherwise.

START = "2026-03-02T00:00:00"  # a Monday; the base site has no tariff
PEAK = [40, 40, 40, 40, 75, 75, 75, 40, 40, 40]
B2_OFF = {"loads": {"B1": 90.0, "B2": 0.0}, "minutes": {"B1": 1e4, "B2": 1e4}}


@pytest.mark.parametrize("b2, expected", [
    # starts for the peak, stops after it
    ({}, [0, 0, 0, 0, 1, 1, 1, 0, 0, 0]),
    # a stop dearer than three hours at minimum: on to the end
    ({"shutdown_cost": 6000.0}, [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]),
    # eight hours minimum up: on to the end of the horizon (the window is cut by it)
    ({"min_up_min": 480.0}, [0, 0, 0, 0, 1, 1, 1, 1, 1, 1]),
], ids=["stops_after_peak", "stop_cost_keeps_on", "min_up_keeps_on"])
def test_two_boilers_peak(b2, expected):
    data = make_site(b2=b2)
    snap = snapshot(data, START, **B2_OFF)
    fc = forecast_frame(START, 60.0, HPC=PEAK, LPC=[40] * 10)
    _mine, m, sched = check_case(data, snap, fc, 60.0, {"B2": expected, "B1": [1] * 10})
    # the peak cannot be met by B1 alone: B2 is needed (the forced pattern is infeasible)
    forced_off = solve(m, [({f"u_B2@{t}": 1.0 for t in range(4, 7)}, -math.inf, 0.0)])
    assert forced_off is None
    if b2 == {}:
        assert sched.costs["startup"] == pytest.approx(5000.0) and sched.costs["shutdown"] == pytest.approx(500.0)


def test_slow_boiler_starts_before_the_peak_and_ramps_down_to_stop():
    """B2 ramps 12 t/h per hour (S = 20 + 12 = 32 t/h at a start or before a stop). For 100 and
    115 t/h of HP demand in periods 5 and 6 it starts one period early and climbs 12 t/h per period
    to 52.4 t/h; after the peak it must come down to 32 t/h or less before its stop, so it stops
    only in period 9 (its ramp limits binding both ways)."""
    data = make_site(b2={"ramp_tph_per_min": 0.2})
    snap = snapshot(data, START, **B2_OFF)
    fc = forecast_frame(START, 60.0, HPC=[40, 40, 40, 40, 40, 100, 115, 40, 40, 40], LPC=[40] * 10)
    mine, _, _sched = check_case(data, snap, fc, 60.0, {"B2": [0, 0, 0, 0, 1, 1, 1, 1, 1, 0]})
    b2 = [mine[f"x_B2@{t}"] for t in range(10)]
    assert [b2[t + 1] - b2[t] for t in (4, 5)] == pytest.approx([12.0, 12.0], abs=1e-6)
    assert [b2[t] - b2[t + 1] for t in (6, 7)] == pytest.approx([12.0, 12.0], abs=1e-6)
    assert b2[8] <= 32.0 + 1e-6


def test_two_peaks_keep_on_through_the_dip():
    """A two-period dip between two peaks: stopping and restarting (500 + 5,000) costs more than
    two hours at minimum load; B2 runs through, then stops. With a cheap start it stops in the dip."""
    data = make_site()
    snap = snapshot(data, START, **B2_OFF)
    demand = [40, 40, 75, 75, 40, 40, 75, 75, 40, 40]
    fc = forecast_frame(START, 60.0, HPC=demand, LPC=[40] * 10)
    check_case(data, snap, fc, 60.0, {"B2": [0, 0, 1, 1, 1, 1, 1, 1, 0, 0]})
    cheap = make_site(b2={"startup_cost": 1000.0})
    check_case(cheap, snapshot(cheap, START, **B2_OFF), fc, 60.0, {"B2": [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]})


# ====================================================================== initial minutes in state


def test_held_on_below_min_up():
    """B2 on at the start, started 60 min ago, 240 min minimum up: on for ceil(180/60) = 3 periods,
    though demand never needs it; then it stops. With its minimum up time served it stops at once."""
    data = make_site(b2={"min_up_min": 240.0})
    flat = forecast_frame(START, 60.0, HPC=[40] * 8, LPC=[40] * 8)
    snap = snapshot(data, START, loads={"B1": 70.0, "B2": 25.0}, minutes={"B1": 1e4, "B2": 60.0})
    check_case(data, snap, flat, 60.0, {"B2": [1, 1, 1, 0, 0, 0, 0, 0]})
    served = snapshot(data, START, loads={"B1": 70.0, "B2": 25.0}, minutes={"B1": 1e4, "B2": 240.0})
    check_case(data, served, flat, 60.0, {"B2": [0] * 8})


# B2 as the efficient boiler (cheap steam, small start cost), B1 dear but able to raise all of it:
# B2 runs whenever it may.
EFFICIENT_B2 = {"b1": {"efficiency": 0.84, "max_steam_tph": 150.0}, "b2": {"efficiency": 0.95, "startup_cost": 2000.0}}


def test_held_off_below_min_down():
    """B2 off at the start, stopped 60 min ago, 240 min minimum down: off for 3 periods though it
    would save money at once; it starts in period 3. Stopped long ago, it starts in period 0."""
    data = make_site(b1=EFFICIENT_B2["b1"], b2={**EFFICIENT_B2["b2"], "min_down_min": 240.0})
    fc = forecast_frame(START, 60.0, HPC=[50] * 8, LPC=[40] * 8)
    snap = snapshot(data, START, loads={"B1": 100.0, "B2": 0.0}, minutes={"B1": 1e4, "B2": 60.0})
    check_case(data, snap, fc, 60.0, {"B2": [0, 0, 0, 1, 1, 1, 1, 1]})
    long_off = snapshot(data, START, loads={"B1": 100.0, "B2": 0.0}, minutes={"B1": 1e4, "B2": 1e4})
    check_case(data, long_off, fc, 60.0, {"B2": [1] * 8})


# ====================================================================== hot and cold starts


@pytest.mark.parametrize("cold_after_h, expected", [
    # off 150 min at the start, held off one period (180 min minimum down): at period 1 it has
    # been off 210 min, within 3.75 h: a hot start (2,000), worth it
    (3.75, [0, 1, 1, 1, 1, 1]),
    # within 3.25 h only up to period 0: every start is cold (60,000), not worth six hours of saving
    (3.25, [0] * 6),
    # exactly 3.5 h off at period 1 (150 + 60 min): cold, as the site field says ("after at least
    # cold_after_h hours off")
    (3.5, [0] * 6),
], ids=["hot_start_taken", "cold_start_refused", "exactly_cold_after_h_is_cold"])
def test_hot_or_cold_start_from_the_snapshot(cold_after_h, expected):
    data = make_site(b1=EFFICIENT_B2["b1"], b2={**EFFICIENT_B2["b2"], "min_down_min": 180.0,
                                                 "cold_startup_cost": 60000.0, "cold_after_h": cold_after_h})
    fc = forecast_frame(START, 60.0, HPC=[50] * 6, LPC=[40] * 6)
    snap = snapshot(data, START, loads={"B1": 100.0, "B2": 0.0}, minutes={"B1": 1e4, "B2": 150.0})
    _mine, _, sched = check_case(data, snap, fc, 60.0, {"B2": expected})
    if expected[1]:
        assert [(s["unit"], s["kind"], s["cost"]) for s in sched.starts] == [("B2", "hot", pytest.approx(2000.0))]


@pytest.mark.parametrize("cold_after_h, expected", [
    # a stop in the dip and a restart two hours later is hot within 3 h (1,000 + 500 < two hours
    # at minimum): it stops
    (3.0, [0, 0, 1, 1, 0, 0, 1, 1, 0, 0]),
    # within 1.5 h only: the restart would be cold (9,000): it runs through the dip
    (1.5, [0, 0, 1, 1, 1, 1, 1, 1, 0, 0]),
    # off exactly 2 h (stopped at 04:00, on again at 06:00): cold
    (2.0, [0, 0, 1, 1, 1, 1, 1, 1, 0, 0]),
], ids=["hot_restart_stops_in_dip", "cold_restart_runs_through", "exactly_cold_after_h_is_cold"])
def test_hot_or_cold_restart_inside_the_horizon(cold_after_h, expected):
    data = make_site(b2={"startup_cost": 1000.0, "cold_startup_cost": 9000.0, "cold_after_h": cold_after_h})
    # off for long at the start: the first start (needed for the first peak) is cold in both cases
    snap = snapshot(data, START, loads={"B1": 90.0, "B2": 0.0}, minutes={"B1": 1e4, "B2": 1e4})
    fc = forecast_frame(START, 60.0, HPC=[40, 40, 75, 75, 40, 40, 75, 75, 40, 40], LPC=[40] * 10)
    _mine, _, sched = check_case(data, snap, fc, 60.0, {"B2": expected})
    kinds = [s["kind"] for s in sorted(sched.starts, key=lambda s: s["period"])]
    assert kinds == (["cold", "hot"] if expected[4] == 0 else ["cold"])


# ====================================================================== tariff and a generator


@pytest.mark.parametrize("tg_times", [
    pytest.param({}, id="switch_interval_60min"),
    pytest.param({"min_up_min": 120.0, "min_down_min": 120.0}, id="min_up_down_120min"),
])
def test_tariff_runs_the_generator_harder_at_peak(tg_times):
    """Off-peak import at 1,000 THB/MWh, on-peak (Mon-Fri 09-22) 4,500; the generator's power costs
    about 1,250 THB/MWh of boiler fuel. The generator (always on, 1.2 MW per hour of ramp) is at
    full power from the peak's first period (09:00, period 4), so it climbs from 05:00 on, the
    least it can: 1.2, 2.4, 3.6, 4.8, then 6 MW. With no tariff it stays at its minimum."""
    tariff = {"default_price_per_mwh": 1000.0, "tariff": TARIFF}
    data = make_site(b1={"max_steam_tph": 150.0}, tg=tg_times, electricity=tariff, without_b2=True)
    start = "2026-03-02T05:00:00"
    fc = forecast_frame(start, 60.0, HPC=[40] * 10, LPC=[60] * 10)
    state = dict(loads={"B1": 100.0, "TG": 1.0}, minutes={"B1": 1e4, "TG": 1e4}, site_load_mw=8.0, **{"LPC.steam_tph": 60.0})
    mine, m, sched = check_case(data, snapshot(data, start, **state), fc, 60.0, {"TG": [1] * 10})
    tg = [mine[f"x_TG@{t}"] for t in range(10)]
    assert tg == pytest.approx([1.2, 2.4, 3.6, 4.8] + [6.0] * 6, abs=1e-6)
    assert sched.setpoints["TG.power_mw"].tolist() == pytest.approx(tg, abs=1e-5)
    assert period_cost(m, mine, 6, 1.0) > period_cost(m, mine, 2, 1.0)
    flat = make_site(b1={"max_steam_tph": 150.0}, tg=tg_times, electricity={"default_price_per_mwh": 1000.0}, without_b2=True)
    mine_flat, _, _ = check_case(flat, snapshot(flat, start, **state), fc, 60.0, {"TG": [1] * 10})
    assert [mine_flat[f"x_TG@{t}"] for t in range(10)] == pytest.approx([1.0] * 10, abs=1e-6)


def test_generator_started_for_the_peak_at_30_min():
    """30-minute periods from 08:30; the peak begins at 09:00 (period 1). The generator is off, may
    be started (20,000 THB), takes 45 min to start: not on before period ceil(45/30) = 2 (09:30,
    the start begun at 08:45); it starts then at its minimum plus one ramp's worth (1 + 1.5 MW) and
    climbs 1.5 MW per period."""
    tg = {"can_switch_off": True, "ramp_mw_per_min": 0.05, "startup_cost": 20000.0, "shutdown_cost": 1000.0,
          "min_up_min": 120.0, "min_down_min": 120.0, "startup_time_min": 45.0}
    data = make_site(b1={"max_steam_tph": 150.0}, tg=tg, electricity={"default_price_per_mwh": 1000.0, "tariff": TARIFF},
                     without_b2=True)
    start = "2026-03-02T08:30:00"
    fc = forecast_frame(start, 30.0, HPC=[40] * 8, LPC=[60] * 8)
    snap = snapshot(data, start, loads={"B1": 100.0, "TG": 0.0}, minutes={"B1": 1e4, "TG": 1e4}, site_load_mw=8.0,
                    **{"LPC.steam_tph": 60.0})
    mine, _m, sched = check_case(data, snap, fc, 30.0, {"TG": [0, 0, 1, 1, 1, 1, 1, 1]})
    assert [mine[f"x_TG@{t}"] for t in range(2, 8)] == pytest.approx([2.5, 4.0, 5.5, 6.0, 6.0, 6.0], abs=1e-6)
    # without the start-up time it starts at once, half an hour before the peak, to be higher up
    # its ramp when the peak begins
    quick = make_site(b1={"max_steam_tph": 150.0}, tg={**tg, "startup_time_min": 0.0},
                      electricity={"default_price_per_mwh": 1000.0, "tariff": TARIFF}, without_b2=True)
    fast, _, _ = check_case(quick, snap, fc, 30.0, {"TG": [1] * 8})
    assert [fast[f"x_TG@{t}"] for t in range(8)] == pytest.approx([2.5, 4.0, 5.5, 6.0, 6.0, 6.0, 6.0, 6.0], abs=1e-6)
    (start_row,) = sched.starts
    assert pd.Timestamp(start_row["begin_startup"]) == pd.Timestamp("2026-03-02T08:45:00")  # 09:30 less 45 min


def test_end_on_condition():
    """end_on={"B2": True}: the horizon ends with B2 on; after the peak it stays on (a restart in
    the last period would cost a start and a stop would not be needed): the independent model with
    the same condition is matched."""
    data = make_site()
    snap = snapshot(data, START, **B2_OFF)
    fc = forecast_frame(START, 60.0, HPC=PEAK[:8], LPC=[40] * 8)
    check_case(data, snap, fc, 60.0, {"B2": [0, 0, 0, 0, 1, 1, 1, 1]}, end_on={"B2": True})
