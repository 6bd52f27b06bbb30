"""The plan's first schedule, found period by period (optimizer/plan_start.py).

What it must be: a complete column vector of the horizon's stacked model that satisfies every
row, bound and integrality of it (checked here with numpy against the model's own arrays, not by
HiGHS), respecting the snapshot's state, minimum up/down and ramps; and what it must not do:
change the plan's optimum (the same objective with and without it, to 1e-6, on random small
sites).
"""

from __future__ import annotations

import copy
import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from scipy.sparse import csc_matrix

from optimizer import horizon
from optimizer.config import TUNED_HIGHS_OPTIONS
from optimizer.plan_start import myopic_start
from optimizer.site import site_from_dict
from optimizer.supervisor import Supervisor, SupervisorConfig
from tests.test_horizon_independent import CONFIG, TARIFF, forecast_frame, make_site, snapshot
from tests.test_horizon_properties import cases

TOL = 1e-6


def violations(model, x: np.ndarray) -> list[str]:
    """Every bound, row and integrality of ``model`` that ``x`` breaks by more than 1e-6 (scaled by
    the row's size)."""
    out = []
    lo, hi = np.asarray(model.col_lower), np.asarray(model.col_upper)
    for j in np.flatnonzero((x < lo - TOL) | (x > hi + TOL)):
        out.append(f"column {j} = {x[j]:.9g} outside [{lo[j]:.9g}, {hi[j]:.9g}]")
    integer = np.asarray(model.integrality) != 0
    for j in np.flatnonzero(integer & (np.abs(x - np.round(x)) > TOL)):
        out.append(f"integer column {j} = {x[j]:.9g}")
    a = csc_matrix((model.a_value, model.a_index, model.a_start), shape=(model.num_row, model.num_col))
    act = a @ x
    scale = 1.0 + abs(a) @ np.abs(x)
    rl, ru = np.asarray(model.row_lower), np.asarray(model.row_upper)
    for i in np.flatnonzero((act < rl - TOL * scale) | (act > ru + TOL * scale)):
        out.append(f"row {i}: {act[i]:.9g} outside [{rl[i]:.9g}, {ru[i]:.9g}]")
    return out


def horizon_of(sup: Supervisor, snap: dict, fc: pd.DataFrame, period_min: float, end_on=None):
    v = copy.deepcopy(sup.validator)
    v.last_timestamp = None
    return horizon.build(sup, v.validate(snap), fc, period_min, end_on)


def on_pattern(hz, x: np.ndarray, unit: str) -> list[int]:
    u = next(u for u in hz.units if u.unit == unit)
    return [int(round(x[t * hz.coupling.n_block + u.on_col])) for t in range(hz.coupling.periods)]


def levels(hz, x: np.ndarray, unit: str) -> list[float]:
    u = next(u for u in hz.units if u.unit == unit)
    return [float(x[t * hz.coupling.n_block + u.level_col]) for t in range(hz.coupling.periods)]


# ------------------------------------------------------------------------------ random small sites


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(cases())
def test_the_start_is_feasible_and_leaves_the_optimum_unchanged(case):
    data, snap, fc, period_min = case
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    hz = horizon_of(sup, snap, fc, period_min)
    x = myopic_start(hz, period_min, 1e-9, time.perf_counter() + 30.0, dict(TUNED_HIGHS_OPTIONS))
    event(f"start {'found' if x is not None else 'none'}")
    if x is not None:
        assert violations(hz.model, x) == []
        with_start = horizon.solve(hz.model, 30.0, 1e-9, {"threads": 1}, start=x)
        without = horizon.solve(hz.model, 30.0, 1e-9, {"threads": 1})
        assert with_start.status == without.status == "optimal"
        assert with_start.objective == pytest.approx(without.objective, rel=1e-6, abs=1e-6)
        assert with_start.objective <= float(hz.model.col_cost @ x + hz.model.offset) + 1e-6 * abs(with_start.objective)


# ------------------------------------------------------------------------------ rules it must keep


def ramp_case():
    """B2 (3 t/h per 30-min period of ramp, S = 23 t/h) off, no minimum times, the HP demand jumps at
    02:30 (tests/test_horizon_properties.py)."""
    b2 = {"ramp_tph_per_min": 0.1, "min_up_min": 0.0, "min_down_min": 0.0, "efficiency": 0.8, "startup_cost": 0.0,
          "shutdown_cost": 0.0}
    data = make_site(b1={"max_steam_tph": 150.0, "ramp_tph_per_min": 0.5}, b2=b2,
                     electricity={"default_price_per_mwh": 1500.0, "tariff": TARIFF})
    start = "2026-03-02T00:00:00"
    fc = forecast_frame(start, 30.0, HPC=[30, 30, 30, 30, 30, 76, 76, 76], LPC=[30, 30, 30, 30, 30, 44, 44, 44])
    snap = snapshot(data, start, loads={"B1": 75.0, "B2": 0.0}, minutes={"B1": 1e4, "B2": 0.0}, site_load_mw=8.0,
                    **{"HPC.steam_tph": 30.0, "LPC.steam_tph": 30.0})
    return data, snap, fc


def test_ramps_hold_where_the_myopic_choice_would_jump():
    """B1 at 75 t/h may move 15 t/h per period: a period solved on its own with B1's full range
    would jump; the start climbs within the ramp and every coupling row holds."""
    data, snap, fc = ramp_case()
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    hz = horizon_of(sup, snap, fc, 30.0)
    x = myopic_start(hz, 30.0, 1e-9, time.perf_counter() + 30.0)
    assert x is not None
    assert violations(hz.model, x) == []
    b1 = [75.0] + levels(hz, x, "B1")
    assert max(abs(b - a) for a, b in zip(b1, b1[1:])) <= 15.0 + 1e-6
    assert max(b - a for a, b in zip(b1, b1[1:])) == pytest.approx(15.0, abs=1e-6)  # the ramp binds somewhere


def test_a_unit_started_stays_on_for_its_minimum_up_time():
    """B2 off now (long enough), 3 h minimum up, a peak of one hour at 02:00: the myopic pass starts B2
    for the peak and must keep it on for the next two hours though the demand is back down."""
    b2 = {"min_up_min": 180.0, "min_down_min": 60.0, "ramp_tph_per_min": 1.0, "startup_cost": 0.0, "shutdown_cost": 0.0}
    data = make_site(b1={"max_steam_tph": 80.0, "ramp_tph_per_min": 1.0}, b2=b2, electricity={"default_price_per_mwh": 1500.0})
    start = "2026-03-02T00:00:00"
    fc = forecast_frame(start, 60.0, HPC=[30, 30, 90, 30, 30, 30], LPC=[30] * 6)
    snap = snapshot(data, start, loads={"B1": 65.0, "B2": 0.0}, minutes={"B1": 1e4, "B2": 1e4}, site_load_mw=8.0,
                    **{"HPC.steam_tph": 30.0, "LPC.steam_tph": 30.0})
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    hz = horizon_of(sup, snap, fc, 60.0)
    x = myopic_start(hz, 60.0, 1e-9, time.perf_counter() + 30.0)
    assert x is not None
    assert violations(hz.model, x) == []
    assert on_pattern(hz, x, "B2") == [0, 0, 1, 1, 1, 0]


def test_a_state_the_bounds_forbid_gives_no_start_and_no_error():
    """B1 on at 75 t/h with 15 t/h of ramp per period cannot stop in period 0 (S = 15 + its
    minimum); with period 0's on/off forced off in the model there is no start (None), not an
    exception, and the horizon is left to HiGHS."""
    data, snap, fc = ramp_case()
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    hz = horizon_of(sup, snap, fc, 30.0)
    b1 = next(u for u in hz.units if u.unit == "B1")
    hz.model.col_lower[b1.on_col] = hz.model.col_upper[b1.on_col] = 0.0
    assert myopic_start(hz, 30.0, 1e-9, time.perf_counter() + 30.0) is None


def test_no_time_no_start():
    data, snap, fc = ramp_case()
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG))
    hz = horizon_of(sup, snap, fc, 30.0)
    assert myopic_start(hz, 30.0, 1e-9, time.perf_counter() - 1.0) is None


# ------------------------------------------------------------------------------ the reference site


def test_reference_day_start_is_feasible_and_taken_by_the_plan():
    """The benchmark day (B3 and B4 off for 10 h, a campaign 10:00-15:00), 24 x 60 min from 06:00:
    the start exists, satisfies every row of the 24-period model, and a plan with one second of
    HiGHS after it returns a schedule no dearer than the start."""
    from benchmarks import plan_horizon as ph

    sup = ph._supervisor()  # noqa: SLF001
    snap = ph.day_snapshot(6)
    fc = ph.campaign_forecast(snap["timestamp"], 24, 60.0)
    hz = horizon_of(sup, snap, fc, 60.0)
    x = myopic_start(hz, 60.0, sup.config.mip_rel_gap, time.perf_counter() + 60.0, dict(sup.config.solver_options))
    assert x is not None
    assert violations(hz.model, x) == []
    start_cost = float(hz.model.col_cost @ x + hz.model.offset)
    r = horizon.solve(hz.model, 1.0, 1e-4, {"threads": 1, "random_seed": 0}, start=x)
    assert r.x is not None and r.objective <= start_cost * (1.0 + 1e-9)
    assert sum(on_pattern(hz, x, "B3")) + sum(on_pattern(hz, x, "B4")) > 0  # the campaign needs a third boiler


def test_the_plan_reports_the_start_and_can_go_without_it():
    """8 periods: with the start from 8 periods up it is made (and reported), with it off or from
    9 periods up it is not; the optimum is the same."""
    data, snap, fc = ramp_case()
    assert len(fc) == 8
    sup = Supervisor(site_from_dict(data), {}, SupervisorConfig(**CONFIG, plan_myopic_start_min_periods=8))
    with_start = sup.plan(snap, fc, horizon_h=4.0, period_min=30.0, mip_rel_gap=1e-9)
    sup.config = dataclasses.replace(sup.config, plan_myopic_start=False)
    without = sup.plan(snap, fc, horizon_h=4.0, period_min=30.0, mip_rel_gap=1e-9)
    sup.config = dataclasses.replace(sup.config, plan_myopic_start=True, plan_myopic_start_min_periods=9)
    too_short = sup.plan(snap, fc, horizon_h=4.0, period_min=30.0, mip_rel_gap=1e-9)
    assert with_start.status == without.status == too_short.status == "optimal"
    assert with_start.stats["start_cost"] >= with_start.objective - 1e-6 * abs(with_start.objective)
    assert without.stats["start_cost"] is None and too_short.stats["start_cost"] is None
    assert with_start.objective == pytest.approx(without.objective, rel=1e-9)
    assert too_short.objective == pytest.approx(without.objective, rel=1e-9)


def test_the_default_starts_only_horizons_of_twelve_periods_or_more():
    assert SupervisorConfig().plan_myopic_start_min_periods == 12
    for bad in (1, 0, 2.5, True, "12", None):
        with pytest.raises(ValueError, match="plan_myopic_start_min_periods"):
            Supervisor(site_from_dict(ramp_case()[0]), {}, SupervisorConfig(**CONFIG, plan_myopic_start_min_periods=bad))
