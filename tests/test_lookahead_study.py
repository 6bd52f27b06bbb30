"""Look-ahead in studies (issue 16, part 5): start/stop accounting and the rolling-plan policies.

The accounting is checked by hand on a short sequence of states on the reference site's units
(hot and cold starts, a stop cost, a failed step carrying the state on); the summary's new
columns on a steps table built by hand; the look-ahead policies on a short stretch of the bundled
look-ahead study (their on/off follows their plan where the cycle's rules allow).
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from optimizer.site import site_from_dict
from scenarios.lookahead import lookahead_columns, policy_start_stops, start_stop_events, start_stop_totals, switched_units
from scenarios.study import summarize
from tests.test_site_validation import reference

STUDIES = Path(__file__).resolve().parents[1] / "scenarios" / "studies"
T0 = pd.Timestamp("2026-03-02 00:00")


def _site(shutdown_b1: float = 0.0):
    data = reference()
    data["boilers"]["B1"]["shutdown_cost"] = shutdown_b1
    return site_from_dict(data, "ref.toml")


def _all_on(site) -> dict[str, bool]:
    return {u: True for u in switched_units(site)}


def test_switched_units_are_boilers_gts_and_generator_turbines():
    site = _site()
    assert list(switched_units(site)) == ["B1", "B2", "B3", "B4", "GT1", "GT2", "TG1", "TG2"]


def test_starts_and_stops_by_hand_hot_cold_and_stop_cost():
    site = _site(shutdown_b1=5000.0)
    hours = [T0 + pd.Timedelta(hours=h) for h in range(16)]
    b1 = [True, False, False, True, False] + [False] * 9 + [True, True]  # off 1 h..3 h (2 h: hot); off 4 h..14 h (10 h: cold)
    states = [{u: True for u in switched_units(site)} for _ in hours]
    for s, on in zip(states, b1):
        s["B1"] = on
    for s in states:
        s["GT2"] = True  # GT2 was off before the study (2 h), on from the first step: a hot start
    states[6]["TG2"] = None  # a failed step: TG2's state unknown, carried on
    for s in states[7:]:
        s["TG2"] = False  # TG2 stops at 7 h
    initial = _all_on(site) | {"GT2": False}
    events = start_stop_events(site, hours, states, initial, initial_hours_off_h={"GT2": 2.0})
    got = [(e.unit, e.timestamp.hour, e.kind, e.level, e.hours_off_h, e.cost) for e in events]
    assert got == [
        ("GT2", 0, "start", "hot", 2.0, 114900.0),
        ("B1", 1, "stop", "", 0.0, 5000.0),
        ("B1", 3, "start", "hot", 2.0, 18100.0),
        ("B1", 4, "stop", "", 0.0, 5000.0),
        ("TG2", 7, "stop", "", 0.0, 0.0),
        ("B1", 14, "start", "cold", 10.0, 72300.0),
    ]
    assert start_stop_totals(events) == {"starts": 3, "stops": 3, "start_stop_cost": 114900.0 + 18100.0 + 72300.0 + 2 * 5000.0}


def test_a_unit_off_before_the_study_starts_cold_by_default_and_at_the_cold_threshold():
    site = _site()
    ts = [T0, T0 + pd.Timedelta(hours=8)]
    initial = _all_on(site) | {"B4": False}
    states = [_all_on(site) | {"B4": False, "B2": False}, _all_on(site)]
    ev = start_stop_events(site, ts, states, initial)  # B4 off since long before: cold
    assert [(e.unit, e.kind, e.level, e.cost) for e in ev] == [("B2", "stop", "", 0.0), ("B2", "start", "cold", 72100.0),
                                                              ("B4", "start", "cold", 78900.0)]
    ev = start_stop_events(site, ts, states, initial, initial_hours_off_h=0.5)  # off 0.5 h + 8 h
    assert [e.level for e in ev if e.unit == "B4"] == ["cold"]
    ev = start_stop_events(site, [T0, T0 + pd.Timedelta(hours=7.75)], states, initial, initial_hours_off_h=0.0)
    assert [(e.unit, e.level, e.cost) for e in ev if e.kind == "start"] == [("B2", "hot", 18000.0), ("B4", "hot", 19700.0)]


def test_bad_accounting_input_is_refused_with_the_field():
    site = _site()
    with pytest.raises(ValueError, match="timestamps: 2 entries, states: 1"):
        start_stop_events(site, [T0, T0], [{}], _all_on(site))
    with pytest.raises(ValueError, match=r"initial: no state for unit\(s\) \['TG2'\]"):
        start_stop_events(site, [T0], [{}], {u: True for u in list(switched_units(site))[:-1]})


def _steps_row(policy: str, ts, cost_per_h: float, co2: float, on: dict[str, bool]) -> dict:
    row = {"policy": policy, "timestamp": ts, "status": "optimal", "site.cost_per_h": cost_per_h, "site.co2e_t_h": co2,
           "violation": False, "step_ms": 1.0}
    for u, v in on.items():
        row[f"{u}.on" if u.startswith("B") else f"{u}.power_mw"] = (1.0 if u.startswith("B") else 20.0) if v else 0.0
    return row


def test_summary_columns_and_the_value_of_looking_ahead_by_hand():
    """Four policies over 4 steps of 1 h; steamopt stops and restarts B3 (hot), the look-ahead
    policies keep it on; the oracle stops GT2 for good."""
    site = _site()
    on = _all_on(site)
    ts = [T0 + pd.Timedelta(hours=h) for h in range(4)]
    rows = []
    for k, t in enumerate(ts):
        rows.append(_steps_row("steamopt", t, 1000.0, 2.0, on | {"B3": k not in (1, 2)}))
        rows.append(_steps_row("steamopt_lookahead", t, 1010.0, 2.1, on))
        rows.append(_steps_row("oracle", t, 900.0, 1.9, on | {"GT2": k == 0}))
        rows.append(_steps_row("oracle_lookahead", t, 905.0, 1.8, on | {"GT2": k == 0}))
    steps = pd.DataFrame(rows)
    s = summarize(steps, 1.0, site, on)
    assert s.loc["steamopt", ["starts", "stops", "start_stop_cost"]].tolist() == [1, 1, 18100.0]
    assert s.loc["steamopt_lookahead", ["starts", "stops", "start_stop_cost"]].tolist() == [0, 0, 0.0]
    assert s.loc["oracle", ["starts", "stops", "start_stop_cost"]].tolist() == [0, 1, 0.0]
    assert s["cost"].tolist() == [4000.0, 4040.0, 3600.0, 3620.0]  # existing column: unchanged
    assert s["cost_incl_starts"].tolist() == [22100.0, 4040.0, 3600.0, 3620.0]
    assert s.loc["steamopt_lookahead", "lookahead_saving"] == pytest.approx(22100.0 - 4040.0)
    assert s.loc["steamopt_lookahead", "lookahead_saving_pct"] == pytest.approx(100 * 18060.0 / 22100.0)
    assert s.loc["steamopt_lookahead", "lookahead_co2e_saving_t"] == pytest.approx(8.0 - 8.4)
    assert s.loc["oracle_lookahead", "lookahead_saving"] == pytest.approx(-20.0)
    # perfect foresight saves 22,100 - 3,620 over myopic steamopt; the forecasts capture 18,060 of it
    assert s.loc["steamopt_lookahead", "share_of_perfect_foresight_saving_pct"] == pytest.approx(100 * 18060.0 / 18480.0)
    assert math.isnan(s.loc["steamopt_lookahead", "share_of_lookahead_value_pct"])  # look-ahead lost money with perfect foresight
    assert "lookahead_saving" not in s or math.isnan(s.loc["steamopt", "lookahead_saving"])


def test_summary_without_site_keeps_its_columns():
    site = _site()
    steps = pd.DataFrame([_steps_row("steamopt", T0, 1000.0, 2.0, _all_on(site))])
    assert "starts" not in summarize(steps, 1.0).columns
    assert lookahead_columns(pd.DataFrame({"cost": [1.0]})).columns.tolist() == ["cost"]


def test_policy_start_stops_orders_by_time_and_carries_a_failed_step():
    site = _site()
    on = _all_on(site)
    rows = [_steps_row("p", T0 + pd.Timedelta(hours=2), 1.0, 1.0, on | {"B2": True}),
            _steps_row("p", T0, 1.0, 1.0, on | {"B2": False}),
            {"policy": "p", "timestamp": T0 + pd.Timedelta(hours=1), "status": "error"}]
    ev = policy_start_stops(site, pd.DataFrame(rows), on)
    assert [(e.unit, e.kind, e.timestamp.hour, e.hours_off_h) for e in ev] == [("B2", "stop", 0, 0.0), ("B2", "start", 2, 2.0)]
