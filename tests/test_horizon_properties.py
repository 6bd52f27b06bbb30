"""Properties of every look-ahead plan (``Supervisor.plan``) on random small sites, and the carry-over
of minimum up/down times between the windows of a rolling plan.

The rules are those of PLAN_API.md and optimizer/horizon.py's docstring, checked here from the
Schedule alone (nothing of the formulation is called):

* every period's setpoints inside the equipment range of its unit (on: min..max; off: 0), the
  letdown and the vent inside theirs;
* ramps, ``R = ramp x period``, ``S = min + R``, with ``x_{-1}`` the snapshot's load:
  ``x_t - x_{t-1} <= R on_{t-1} + S start_t`` and ``x_{t-1} - x_t <= R on_t + S stop_t``;
* each header's mass balance closed to 1e-6 in every period, recomputed from the setpoints: HP
  ``sum boilers = HP demand + generator steam (power / MW per t/h) + letdown``; LP ``generator
  steam + (1 + r) letdown = LP demand + vent + deaerator steam``, the deaerator steam solved from
  its mass and energy balances (feedwater = steam raised + spray water), with make-up >= 0;
* on/off respecting the minimum up/down times (at least one period; a generator's at least the
  engine's 60-min switch interval), from the snapshot's state and minutes in state, and the
  start-up time of a unit off now.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from optimizer.site import site_from_dict
from optimizer.supervisor import Supervisor, SupervisorConfig
from tests.test_horizon_independent import (
    CONFIG,
    TARIFF,
    forecast_frame,
    load_tag,
    make_site,
    min_times,
    snapshot,
    tg_mw_per_tph,
    units_of,
)
from tests.test_independent_optimum import Physics

TOL = 1e-6


def level_range(data: dict, unit: str) -> tuple[float, float, float]:
    """(min, max, ramp per minute) of a unit's load."""
    u = units_of(data)[unit]
    if unit in data["boilers"]:
        return u["min_steam_tph"], u["max_steam_tph"], u.get("ramp_tph_per_min", 0.0)
    return u["min_power_mw"], u["max_power_mw"], u.get("ramp_mw_per_min", 0.0)


def initial(data: dict, snap: dict, unit: str) -> tuple[int, float, float]:
    """(on, load, minutes in state) now; a boiler is on above half its minimum, a generator above 0."""
    lo, _, _ = level_range(data, unit)
    x0 = snap[load_tag(data, unit)]
    on = x0 > 0.5 * lo if unit in data["boilers"] else x0 > 0.0
    return int(on), x0, snap[f"{unit}.minutes_in_state"]


def pattern_violations(data: dict, snap: dict, unit: str, on: list[int], period_min: float) -> list[str]:
    """Where ``on`` breaks a minimum up/down time or the start-up time (empty: none)."""
    u = units_of(data)[unit]
    on0, _, m0 = initial(data, snap, unit)
    min_up, min_down = min_times(data, unit)
    up, down = max(1, math.ceil(min_up / period_min - 1e-9)), max(1, math.ceil(min_down / period_min - 1e-9))
    T, bad = len(on), []
    if on0 and m0 < min_up:
        held = min(T, math.ceil((min_up - m0) / period_min - 1e-9))
        if any(on[t] == 0 for t in range(held)):
            bad.append(f"{unit} on for {m0} min of its {min_up}: must stay on for {held} periods, got {on}")
    if not on0:
        held = min(T, math.ceil(max(min_down - m0 if m0 < min_down else 0.0, u.get("startup_time_min", 0.0)) / period_min - 1e-9))
        if any(on[t] == 1 for t in range(held)):
            bad.append(f"{unit} off for {m0} min (min down {min_down}, start-up time): off for {held} periods, got {on}")
    prev = [on0] + on[:-1]
    for t in range(T):
        if on[t] and not prev[t] and any(on[k] == 0 for k in range(t, min(T, t + up))):
            bad.append(f"{unit} started in period {t}: on for {up} periods, got {on}")
        if prev[t] and not on[t] and any(on[k] == 1 for k in range(t, min(T, t + down))):
            bad.append(f"{unit} stopped in period {t}: off for {down} periods, got {on}")
    return bad


def check_schedule(data: dict, snap: dict, fc: pd.DataFrame, sched, period_min: float) -> None:
    """Every rule of the module docstring on one schedule (AssertionError naming the first broken)."""
    T = len(fc)
    sp, onf = sched.setpoints, sched.on
    assert len(sp) == T and len(onf) == T
    units = list(units_of(data))
    for unit in units:
        lo, hi, ramp = level_range(data, unit)
        on = [int(v) for v in onf[unit].tolist()]
        assert set(on) <= {0, 1}, (unit, on)
        x = [float(v) for v in sp[load_tag(data, unit)].tolist()]
        for t in range(T):
            if on[t]:
                assert lo - TOL <= x[t] <= hi + TOL, f"{unit} period {t}: {x[t]} outside [{lo}, {hi}]"
            else:
                assert abs(x[t]) <= TOL, f"{unit} off in period {t} at {x[t]}"
        assert not pattern_violations(data, snap, unit, on, period_min), pattern_violations(data, snap, unit, on, period_min)
        on0, x0, _ = initial(data, snap, unit)
        if ramp > 0.0:
            r = ramp * period_min
            s_cap = lo + r
            xs, ons = [min(max(x0, lo), hi) if on0 else 0.0] + x, [on0] + on
            for t in range(1, T + 1):
                start, stop = int(ons[t] > ons[t - 1]), int(ons[t] < ons[t - 1])
                rise, fall = xs[t] - xs[t - 1], xs[t - 1] - xs[t]
                assert rise <= r * ons[t - 1] + s_cap * start + TOL, f"{unit} rises {rise} into period {t - 1}: {xs}, on {ons}"
                assert fall <= r * ons[t] + s_cap * stop + TOL, f"{unit} falls {fall} into period {t - 1}: {xs}, on {ons}"
    ld, vent = sp["LD.steam_tph"].to_numpy(float), sp["VLP.steam_tph"].to_numpy(float)
    assert np.all(ld >= -TOL) and np.all(ld <= data["letdowns"]["LD"]["max_flow_tph"] + TOL), ld
    assert np.all(vent >= -TOL) and np.all(vent <= data["vents"]["VLP"]["max_flow_tph"] + TOL), vent
    if sched.status != "optimal":
        return  # a shortfall (infeasible_demand) leaves a balance open by design
    ph = Physics(data)
    r = ph.water_ratio(ph.h["HP"], "LP")
    h_s = ph.h[ph.props.deaerator_steam_header]
    for t in range(T):
        hpc, lpc = float(fc["HPC.steam_tph"].iloc[t]), float(fc["LPC.steam_tph"].iloc[t])
        raised = sum(float(sp[f"{b}.steam_tph"].iloc[t]) for b in data["boilers"])
        tg = float(sp["TG.power_mw"].iloc[t]) / tg_mw_per_tph(ph) if "TG" in units else 0.0
        hp = raised - hpc - tg - ld[t]
        assert abs(hp) <= TOL * max(1.0, raised), f"HP balance, period {t}: {hp} t/h"
        feed = raised + r * ld[t]
        ret = ph.ret("HPC") * hpc + ph.ret("LPC") * lpc
        # S + M = feed - ret;  S h_s + M h_m = feed h_fw - ret h_r
        s_da, m_da = np.linalg.solve([[1.0, 1.0], [h_s, ph.h_m]], [feed - ret, feed * ph.h_fw - ret * ph.h_r])
        assert m_da >= -TOL * max(1.0, feed), f"deaerator make-up {m_da} < 0, period {t}"
        lp = tg + (1.0 + r) * ld[t] - lpc - vent[t] - s_da
        assert abs(lp) <= TOL * max(1.0, lpc + s_da), f"LP balance, period {t}: {lp} t/h"


# ---------------------------------------------------------------------- random small sites

TG_MW_PER_TPH = tg_mw_per_tph(Physics(make_site(tg={})))  # the generator's MW per t/h (conversion 1)
MINUTES = st.sampled_from([0.0, 30.0, 60.0, 90.0, 150.0, 240.0, 400.0, 1e4])


@st.composite
def cases(draw):
    period_min = draw(st.sampled_from([30.0, 60.0]))
    T = 6
    # minimum up/down from none to several periods (none and one period: the windows of one
    # period still forbid a start and a stop in the same period, test_generator_ramp_with_one_period_windows)
    times = st.sampled_from([0.0, period_min, 2 * period_min + 1, 120.0, 180.0, 240.0])
    b2 = {"min_up_min": draw(times), "min_down_min": draw(times),
          "ramp_tph_per_min": draw(st.sampled_from([0.1, 0.25, 0.5, 1.0])),
          "efficiency": draw(st.sampled_from([0.8, 0.88, 0.95])),
          "startup_cost": draw(st.sampled_from([0.0, 1000.0, 5000.0])),
          "shutdown_cost": draw(st.sampled_from([0.0, 500.0])),
          "startup_time_min": draw(st.sampled_from([0.0, 45.0, 90.0]))}
    if draw(st.booleans()):
        b2.update(cold_startup_cost=b2["startup_cost"] + 4000.0, cold_after_h=draw(st.sampled_from([1.0, 2.5, 4.0])))
    b1 = {"max_steam_tph": 150.0, "ramp_tph_per_min": draw(st.sampled_from([0.5, 1.0, 2.0]))}
    tg = None
    if draw(st.booleans()):
        tg = {"can_switch_off": True, "ramp_mw_per_min": draw(st.sampled_from([0.01, 0.03, 0.05])),
              "min_up_min": max(draw(times), 2 * period_min + 1), "min_down_min": max(draw(times), 2 * period_min + 1),
              "startup_cost": draw(st.sampled_from([0.0, 3000.0]))}
    data = make_site(b1=b1, b2=b2, tg=tg, electricity={"default_price_per_mwh": 1500.0, "tariff": TARIFF})
    start = pd.Timestamp("2026-03-02T00:00:00") + pd.Timedelta(minutes=period_min * draw(st.integers(0, 47)))
    hpc = [draw(st.floats(30.0, 80.0)) for _ in range(T)]
    lpc = [draw(st.floats(30.0, 60.0)) for _ in range(T)]
    loads = {"B2": draw(st.sampled_from([0.0, 20.0, 35.0, 60.0]))}
    minutes = {"B1": 1e4, "B2": draw(MINUTES)}
    tg_tph = 0.0
    if tg is not None:
        loads["TG"] = draw(st.sampled_from([0.0, 1.0, 3.5, 6.0]))
        minutes["TG"] = draw(MINUTES)
        tg_tph = loads["TG"] / TG_MW_PER_TPH
    # B1 now near what the snapshot's own balance asks (HP demand, the generator's steam, the
    # letdown for LP demand and the deaerator), so that period 0 is within its ramp
    need = hpc[0] + tg_tph + max(0.0, lpc[0] + 20.0 - tg_tph) * 0.9 - loads["B2"]
    loads["B1"] = min(150.0, max(30.0, need + draw(st.floats(-10.0, 10.0))))
    fc = forecast_frame(start.isoformat(), period_min, HPC=hpc, LPC=lpc)
    snap = snapshot(data, start.isoformat(), loads, minutes, site_load_mw=8.0,  # above the generator's 6 MW: no export
                    **{"HPC.steam_tph": hpc[0], "LPC.steam_tph": lpc[0]})
    return data, snap, fc, period_min


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_every_plan_inside_limits_ramps_balances_and_min_times(case):
    data, snap, fc, period_min = case
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    sched = sup.plan(snap, fc, horizon_h=len(fc) * period_min / 60.0, period_min=period_min, mip_rel_gap=1e-6)
    assert sched.status in ("optimal", "infeasible_demand"), (sched.status, sched.warnings)
    event(f"status {sched.status}")
    event(f"starts+stops {len(sched.starts) + len(sched.stops)}")
    check_schedule(data, snap, fc, sched, period_min)


# ---------------------------------------------------------------------- one-period windows


def test_generator_ramp_with_one_period_windows():
    """A generator always on (may not be switched), min up/down the engine's 60 min = one period:
    its power may climb at most R = 1.2 MW per hour. The tariff makes 6 MW worth having from 09:00;
    a start and a stop in the same period would let it jump by R + S = 3.4 MW."""
    data = make_site(b1={"max_steam_tph": 150.0}, tg={}, electricity={"default_price_per_mwh": 1000.0, "tariff": TARIFF},
                     without_b2=True)
    start = "2026-03-02T05:00:00"
    fc = forecast_frame(start, 60.0, HPC=[40] * 10, LPC=[60] * 10)
    snap = snapshot(data, start, loads={"B1": 100.0, "TG": 1.0}, minutes={"B1": 1e4, "TG": 1e4}, site_load_mw=8.0,
                    **{"LPC.steam_tph": 60.0})
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    sched = sup.plan(snap, fc, horizon_h=10, period_min=60.0, mip_rel_gap=1e-9)
    assert sched.status == "optimal"
    check_schedule(data, snap, fc, sched, 60.0)


def test_boiler_ramp_with_no_minimum_times():
    """B2 with no minimum up/down and no start or stop cost, 3 t/h per 30-min period of ramp: a
    start reaches at most S = 23 t/h, then it climbs 3 t/h per period. The demand jumps at 02:30
    (found by the property test with zero minimum times allowed): the plan must not jump B2 by
    R + S = 26 t/h while it stays on."""
    b2 = {"ramp_tph_per_min": 0.1, "min_up_min": 0.0, "min_down_min": 0.0, "efficiency": 0.8,
          "startup_cost": 0.0, "shutdown_cost": 0.0}
    data = make_site(b1={"max_steam_tph": 150.0, "ramp_tph_per_min": 0.5}, b2=b2,
                     electricity={"default_price_per_mwh": 1500.0, "tariff": TARIFF})
    start = "2026-03-02T00:00:00"
    fc = forecast_frame(start, 30.0, HPC=[30, 30, 30, 30, 30, 76], LPC=[30, 30, 30, 30, 30, 44])
    snap = snapshot(data, start, loads={"B1": 75.0, "B2": 0.0}, minutes={"B1": 1e4, "B2": 0.0}, site_load_mw=8.0,
                    **{"HPC.steam_tph": 30.0, "LPC.steam_tph": 30.0})
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    sched = sup.plan(snap, fc, horizon_h=3, period_min=30.0, mip_rel_gap=1e-9)
    assert sched.status == "optimal"
    check_schedule(data, snap, fc, sched, 30.0)


# ---------------------------------------------------------------------- carry-over between windows


def rolling(data: dict, state: dict, demand: dict[str, list[float]], windows: int, start: str, period_min: float = 60.0,
            window: int = 6, carry_minutes: bool = True, availability: dict[str, list[float]] | None = None
            ) -> tuple[dict[str, list[int]], list[dict[str, list[int]]]]:
    """Plan ``window`` periods, apply the first period's setpoints and on/off as the plant's new
    state (time one period on; minutes in state + period, or the period alone after a switch),
    plan again, ``windows`` times. ``carry_minutes=False`` breaks the contract on purpose: every
    unit's minutes in state reported as long ago. Returns each unit's realised on/off and each
    window's planned on/off."""
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    units = list(units_of(data))
    loads, minutes = dict(state["loads"]), dict(state["minutes"])
    realised: dict[str, list[int]] = {u: [] for u in units}
    plans: list[dict[str, list[int]]] = []
    ts = pd.Timestamp(start)
    for k in range(windows):
        series = {name: vals[k:k + window] for name, vals in demand.items()}
        fc = forecast_frame(ts.isoformat(), period_min, **series)
        more = {f"{n}.steam_tph": v[k] for n, v in demand.items()}
        for u, av in (availability or {}).items():
            more[f"{u}.available"] = av[k]
        snap = snapshot(data, ts.isoformat(), loads, minutes if carry_minutes else {u: 1e4 for u in units}, **more)
        sched = sup.plan(snap, fc, horizon_h=window * period_min / 60.0, period_min=period_min, mip_rel_gap=1e-9)
        assert sched.status == "optimal", (k, sched.status, sched.warnings)
        check_schedule(data, snap, fc, sched, period_min)
        plans.append({u: [int(v) for v in sched.on[u].tolist()] for u in units})
        for u in units:
            on_now = initial(data, snap, u)[0]
            on_next = int(sched.on[u].iloc[0])
            realised[u].append(on_next)
            loads[u] = float(sched.setpoints[load_tag(data, u)].iloc[0])
            minutes[u] = minutes[u] + period_min if on_next == on_now else period_min
        ts += pd.Timedelta(minutes=period_min)
    return realised, plans


# B2 dear (started only for a one-hour peak), 4 h minimum up: whichever window it starts in, it
# runs its four hours across the next windows, where demand alone would stop it at once.
UP_DEMAND = {"HPC": [40.0] * 5 + [75.0] + [40.0] * 12, "LPC": [40.0] * 18}


@pytest.mark.parametrize("carry", [True, False], ids=["minutes_carried", "minutes_reset_breaks_it"])
def test_rolling_min_up_carried_into_the_next_windows(carry):
    data = make_site(b2={"min_up_min": 240.0, "min_down_min": 120.0, "startup_cost": 1000.0, "shutdown_cost": 0.0})
    state = {"loads": {"B1": 90.0, "B2": 0.0}, "minutes": {"B1": 1e4, "B2": 1e4}}
    got, plans = rolling(data, state, UP_DEMAND, windows=12, start="2026-03-02T00:00:00", carry_minutes=carry)
    # the first window starts B2 in its last period, for the peak
    assert plans[0]["B2"] == [0, 0, 0, 0, 0, 1]
    # B2 runs once, through the peak (05:00); where the run begins is a tie the plans may break
    # either way (an hour before the peak or an hour after it cost the same)
    on = [k for k, v in enumerate(got["B2"]) if v]
    assert on and on == list(range(on[0], on[-1] + 1)) and 5 in on, got["B2"]
    if carry:
        # four hours (its minimum up), and the window after the start still holds it on for its
        # three remaining hours, where demand alone would stop it at once
        assert len(on) == 4, got["B2"]
        assert plans[on[0] + 1]["B2"][:3] == [1, 1, 1], plans[on[0] + 1]
    else:  # the contract broken: a plan after the start forgets B2 started and stops it early
        assert len(on) < 4, got["B2"]


# B2 efficient (runs whenever it may), 3 h minimum down; unavailable for one hour (a trip at
# 02:00): once available again it stays off until its three hours off are served.
DOWN_DEMAND = {"HPC": [50.0] * 14, "LPC": [40.0] * 14}
TRIP = {"B2": [1.0, 1.0, 0.0] + [1.0] * 11}


@pytest.mark.parametrize("carry", [True, False], ids=["minutes_carried", "minutes_reset_breaks_it"])
def test_rolling_min_down_carried_into_the_next_windows(carry):
    data = make_site(b1={"efficiency": 0.84, "max_steam_tph": 150.0},
                     b2={"efficiency": 0.95, "startup_cost": 2000.0, "min_up_min": 120.0, "min_down_min": 180.0})
    state = {"loads": {"B1": 60.0, "B2": 40.0}, "minutes": {"B1": 1e4, "B2": 1e4}}
    got, plans = rolling(data, state, DOWN_DEMAND, windows=8, start="2026-03-02T00:00:00", carry_minutes=carry,
                         availability=TRIP)
    assert plans[2]["B2"] == [0] * 6  # unavailable: off in the whole window
    if carry:
        assert plans[3]["B2"] == [0, 0, 1, 1, 1, 1]  # off 60 min of its 180 when the next window is planned
        assert got["B2"] == [1, 1, 0, 0, 0, 1, 1, 1]
    else:
        assert got["B2"] == [1, 1, 0, 1, 1, 1, 1, 1]
