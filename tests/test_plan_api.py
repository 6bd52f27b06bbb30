"""Supervisor.plan's contract on the reference site: one formulation (T = 1 is the cycle's model,
bit for bit), clear refusals of a bad forecast, the budget fallback, the followed schedule's
advice and start-ups under way (independent optima: test_horizon_independent.py; properties and
carry-over: test_horizon_properties.py)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer import horizon
from optimizer.planning import startups_under_way
from optimizer.schedule import Schedule
from optimizer.site.loader import load_site
from optimizer.supervisor import Supervisor
from surrogate.manifest import load_model_dir

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = json.loads((ROOT / "scenarios" / "snapshots" / "reference_olefins.json").read_text())


@pytest.fixture(scope="module")
def sup():
    return Supervisor(load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml"),
                      load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins"))


def _validated(sup, snap):
    v = copy.deepcopy(sup.validator)
    v.last_timestamp = None
    return v.validate(snap)


def test_one_period_block_is_the_cycles_model_bit_for_bit():
    """The horizon's single-period block (the fallback) is the HiGHS model the cycle just solved:
    every bound, cost, row and matrix entry equal (no second copy of the unit constraints). B1
    started 30 min ago (minimum up 240 min) at its minimum load, where it could stop: both hold it on.
    The cycle here does not price switches (``start_payback_h = None``): a plan's periods never do,
    their coupling prices starts and stops (tests/test_start_pricing.py)."""
    from optimizer.supervisor import SupervisorConfig

    sup = Supervisor(load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml"),
                     load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins"), SupervisorConfig(start_payback_h=None))
    snap = dict(SNAPSHOT, **{"B1.minutes_in_state": 30.0, "B1.steam_tph": 40.0, "B2.steam_tph": 55.0})
    p = sup.step(snap)
    assert p.status == "optimal"
    cycle_model = sup._solver._last_model  # noqa: SLF001
    s = _validated(sup, snap)
    block = horizon.build_periods(sup, s, pd.DataFrame(index=pd.DatetimeIndex([s.timestamp])), 60.0, single=True)[0].block
    assert (block.num_col, block.num_row) == (cycle_model.num_col, cycle_model.num_row)
    for field in ("col_lower", "col_upper", "col_cost", "row_lower", "row_upper", "a_start", "a_index", "a_value", "integrality"):
        np.testing.assert_array_equal(getattr(block, field), getattr(cycle_model, field), err_msg=field)
    assert block.offset == cycle_model.offset
    col = sup._solver.column(sup._model.b_on["B1"])  # noqa: SLF001
    assert block.col_lower[col] == 1.0
    sup._pool.shutdown(wait=True)  # noqa: SLF001


def test_later_periods_are_the_cycle_with_wider_boxes(sup):
    """Period t's block is the cycle's model at the period's data with (t+1) periods of moves: the
    same matrix shape; B1's steam box reaches what its ramp (3 t/h per min) allows from 47.5 t/h
    by the period's end, capped at its equipment maximum, and may go to 0 (switching is free in a
    plan period: the coupling rows hold minimum up/down)."""
    s = _validated(sup, SNAPSHOT)
    times = pd.DatetimeIndex([s.timestamp + pd.Timedelta(minutes=20 * t) for t in range(5)])
    per = horizon.build_periods(sup, s, pd.DataFrame(index=times), 20.0)
    b1 = sup.site.boilers["B1"]
    assert all(p.block.num_col == per[0].block.num_col and p.block.num_row == per[0].block.num_row for p in per)
    expected = [min(b1.max_steam_tph, 47.5 + b1.ramp_tph_per_min * 20.0 * (t + 1)) for t in range(5)]
    assert [p.cycle.box[("b_hi", "B1")] for p in per] == pytest.approx(expected, abs=1e-9)
    assert expected[0] == 107.5 and expected[-1] == b1.max_steam_tph
    assert all(p.cycle.box[("b_on_lo", "B1")] == 0.0 and p.cycle.box[("b_lo", "B1")] == b1.min_steam_tph for p in per)
    # and the box reaches the block: period 0's bound row differs from period 2's only where the box does
    assert not np.array_equal(per[0].block.row_upper, per[2].block.row_upper) or not np.array_equal(per[0].block.a_value, per[2].block.a_value)


@pytest.mark.parametrize("edit, fragment", [
    (lambda fc: fc.iloc[:3], "4 rows; the horizon has 6 periods"),
    (lambda fc: fc.assign(**{"NOT_A_TAG.steam_tph": 1.0}), "forecast column 'NOT_A_TAG.steam_tph': not a tag"),
    (lambda fc: fc.assign(**{"HP_AROMATICS.steam_tph": [30.0, 30.0, -5.0, 30.0, 30.0, 30.0]}), "'HP_AROMATICS.steam_tph' period 2: -5.0 outside"),
    (lambda fc: fc.set_axis(fc.index + pd.Timedelta(minutes=30)), "forecast index row 0: 2026-03-02 10:30:00 is not the start of period 0"),
    (lambda fc: fc.assign(**{"ambient_temp_c": np.nan}), "'ambient_temp_c' period 0: nan outside"),
])
def test_a_bad_forecast_is_refused_naming_field_value_and_rule(sup, edit, fragment):
    times = pd.date_range("2026-03-02 10:00", periods=6, freq="60min")
    good = pd.DataFrame({"HP_AROMATICS.steam_tph": 30.0}, index=times)
    if "4 rows" in fragment:
        good = pd.DataFrame({"HP_AROMATICS.steam_tph": 30.0}, index=pd.date_range("2026-03-02 10:00", periods=4, freq="60min"))
        bad = good
    else:
        bad = edit(good)
    s = sup.plan(dict(SNAPSHOT), bad, horizon_h=6, period_min=60)
    assert s.status == "invalid_input"
    assert any(fragment in w for w in s.warnings), s.warnings


@pytest.mark.parametrize("kwargs, fragment", [
    ({"horizon_h": 2.5, "period_min": 60}, "horizon_h = 2.5: must be a whole number of 60-min periods"),
    ({"horizon_h": 6, "period_min": 0.5}, "period_min = 0.5: must be 1..1440 minutes"),
    ({"horizon_h": 6, "period_min": 60, "end_on": {"NOPE": True}}, "end_on: ['NOPE'] are not switchable units"),
])
def test_bad_arguments_are_refused(sup, kwargs, fragment):
    s = sup.plan(dict(SNAPSHOT), **kwargs)
    assert s.status == "invalid_input" and not s.ok
    assert any(fragment in w for w in s.warnings), s.warnings


def test_a_plan_that_cannot_finish_in_its_budget_returns_the_single_period_answer():
    """24 periods in 50 ms: the horizon has no answer; the plan says so and returns period 0
    with the cycle's boxes, whose cost rate and setpoints are the cycle's own optimum with the
    same units startable. The snapshot has TG3 off: a plan's period pays a start's cost and waits
    its start-up time (TG3: 35,000 THB, 45 min), the cycle models neither (starts are the plan's
    to weigh); with TG3 out of reach of the cycle too, the two are the same optimum, and the cycle
    free to start TG3 leaves it off as well."""
    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    models = load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")
    s = Supervisor(site, models).plan(dict(SNAPSHOT), horizon_h=24, period_min=60, time_budget_s=0.05)
    assert s.status == "fallback_single_period"
    assert any("gave no answer within 0.05 s" in w and "single-period answer" in w for w in s.warnings), s.warnings
    assert len(s.times) == 1 and s.first_period
    assert SNAPSHOT["TG3.power_mw"] == 0.0 and s.first_period["TG3.on"] == 0
    p = Supervisor(site, models).step(dict(SNAPSHOT, **{"TG3.available": 0.0}))
    assert p.status == "optimal"
    assert s.kpis["cost_per_h"].iloc[0] == pytest.approx(p.proposed_kpis["cost_per_h"], rel=1e-6)
    for tag, value in p.setpoints.items():
        assert s.first_period[tag] == pytest.approx(value, rel=1e-6, abs=1e-6), tag
    # the cycle free to start TG3 leaves it off here (with the learned ducts' fuel; with additive
    # ducts it started it for less than the start costs): the same optimum
    free = Supervisor(site, models).step(dict(SNAPSHOT))
    assert free.status == "optimal" and free.setpoints["TG3.on"] == 0
    assert free.proposed_kpis["cost_per_h"] == pytest.approx(s.kpis["cost_per_h"].iloc[0], rel=1e-6)


def test_a_plan_past_its_budget_says_where_the_time_went(sup, monkeypatch, caplog):
    """A plan that answers more than OVERRUN_WARN_S after its budget (here HiGHS's run made 1.2 s
    slower than it says) logs a warning with its parts' times; one within its budget logs none."""
    import logging
    import time

    from optimizer import planning

    real = horizon.solve

    def slow(*args, **kwargs):
        r = real(*args, **kwargs)
        time.sleep(1.2)
        return r

    with caplog.at_level(logging.WARNING, logger="optimizer.planning"):
        ok = sup.plan(dict(SNAPSHOT), horizon_h=2, period_min=60, time_budget_s=5.0)
    assert ok.ok and ok.stats["total_s"] < 5.0 + planning.OVERRUN_WARN_S
    assert not [r for r in caplog.records if "budget" in r.getMessage()]
    monkeypatch.setattr(horizon, "solve", slow)
    with caplog.at_level(logging.WARNING, logger="optimizer.planning"):
        s = sup.plan(dict(SNAPSHOT), horizon_h=2, period_min=60, time_budget_s=0.1)
    assert s.stats["total_s"] > 0.1 + planning.OVERRUN_WARN_S
    lines = [r.getMessage() for r in caplog.records if "budget" in r.getMessage()]
    assert len(lines) == 1, lines
    assert "plan of 2 periods took" in lines[0] and "0.10 s budget" in lines[0]
    assert all(part in lines[0] for part in ("build", "start", "solve", "fallback solve", "the rest")), lines[0]
    rest = float(lines[0].split("the rest ")[1].split(" s")[0])
    assert rest >= 1.2 - 0.01, lines[0]  # the sleep is outside every part: it shows as the rest
    assert lines[0] in s.warnings and not any("budget:" in w for w in ok.warnings)  # the schedule carries it too


def test_followed_schedule_gives_the_cycle_its_next_switches_as_advice(sup):
    """B3 and B4 off for 10 h, a campaign 13:00-16:00, B3 to be on at the plan's end (so one switch
    lies beyond the next 4 h whatever else the plan does): the plan switches units; a cycle following
    it carries exactly the schedule's advice due within the next 4 h, in time order, and none once
    the schedule is dropped."""
    snap = dict(SNAPSHOT, timestamp="2026-03-02T11:00:00")
    for b in ("B3", "B4"):
        snap[f"{b}.steam_tph"] = 0.0
        snap[f"{b}.minutes_in_state"] = 600.0
    snap["B1.steam_tph"] = snap["B2.steam_tph"] = 95.0
    times = pd.date_range("2026-03-02 11:00", periods=8, freq="60min")
    fc = pd.DataFrame({"HP_AROMATICS.steam_tph": [30.0, 30.0, 75.0, 75.0, 75.0, 30.0, 30.0, 30.0],
                       "MP_BUTADIENE.steam_tph": [25.0, 25.0, 65.0, 65.0, 65.0, 25.0, 25.0, 25.0]}, index=times)
    sched = sup.plan(snap, fc, horizon_h=8, period_min=60, time_budget_s=60, mip_rel_gap=1e-3, end_on={"B3": True})
    assert sched.ok, sched.warnings
    assert sched.starts or sched.stops
    due = [line for line, when in zip(sched.advice, sched.advice_times)
           if pd.Timestamp("2026-03-02T11:00") <= pd.Timestamp(when) < pd.Timestamp("2026-03-02T15:00")]
    assert due and len(due) < len(sched.advice)  # some switch lies beyond the 4 h the cycle shows
    sup.follow(sched)
    try:
        p = sup.step(snap)
        assert p.advice == due
    finally:
        sup.follow(None)
    p = sup.step(dict(snap, timestamp="2026-03-02T11:15:00"))
    assert p.advice == []


def test_startups_under_way_from_the_followed_schedule():
    """A start whose start-up began by now counts down from its on time; one not yet begun, or
    long past, does not count; no schedule, nothing."""
    sched = Schedule("optimal", "2026-03-02T06:00:00", 60.0, starts=[
        {"unit": "B3", "period": "2026-03-02T07:00:00", "begin_startup": "2026-03-02T06:30:00", "cost": 0.0, "kind": "hot"},
        {"unit": "B4", "period": "2026-03-02T09:00:00", "begin_startup": "2026-03-02T08:30:00", "cost": 0.0, "kind": "hot"},
        {"unit": "GT1", "period": "2026-03-02T03:00:00", "begin_startup": "2026-03-02T02:00:00", "cost": 0.0, "kind": "hot"}])
    assert startups_under_way(sched, pd.Timestamp("2026-03-02T06:45:00")) == {"B3": 15.0}
    assert startups_under_way(sched, pd.Timestamp("2026-03-02T07:00:00")) == {"B3": 0.0}
    assert startups_under_way(sched, pd.Timestamp("2026-03-02T06:00:00")) == {}
    assert startups_under_way(None, pd.Timestamp("2026-03-02T06:45:00")) == {}


def test_a_plan_runs_although_another_highs_user_sized_this_threads_scheduler():
    """HiGHS keeps one task scheduler per calling thread, sized by its first run: after a run with
    threads = 2 in this thread (another HiGHS user: a solve with its defaults, Pyomo's appsi), the
    plan's own runs (threads = 1) must still solve: the horizon and the mixing probe reset the
    scheduler and run (they were refused: a fallback to the single period, no mixing settled)."""
    import highspy

    highspy.Highs.resetThreadScheduler(True)
    other = highspy.Highs()
    other.setOptionValue("output_flag", False)
    other.setOptionValue("threads", 2)
    other.addVar(1.0, 10.0)
    other.changeColCost(0, 1.0)
    other.run()
    assert other.getModelStatus() == highspy.HighsModelStatus.kOptimal
    site = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
    s = Supervisor(site, load_model_dir(ROOT / "scenarios" / "models" / "reference_olefins")).plan(
        dict(SNAPSHOT), horizon_h=2, period_min=60, time_budget_s=30)
    assert s.status == "optimal", s.warnings
    assert s.stats["mixing_binaries_settled"] > 0
