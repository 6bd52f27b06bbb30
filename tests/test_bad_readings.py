"""Issue 14, findings 1-6: bad readings never switch units off, never crash the cycle, never
leave the engine's memory half updated; timestamps, optional tags and plant situations.

Each test names the finding it covers; each failed on the code before the fix."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

from optimizer import tags
from optimizer.snapshot import SnapshotValidator
from optimizer.supervisor import Supervisor, SupervisorConfig
from tests.test_supervisor import MODELS, SITE, SNAPSHOT

T0 = pd.Timestamp("2026-03-02 10:00")


def snap_at(minutes: float, **changes) -> dict:
    """The bundled snapshot at T0 + minutes, with ``changes`` (None removes a tag)."""
    s = copy.deepcopy(SNAPSHOT)
    s["timestamp"] = (T0 + pd.Timedelta(minutes=minutes)).isoformat()
    for k, v in changes.items():
        k = k.replace("__", ".")
        if v is None:
            s.pop(k, None)
        else:
            s[k] = v
    return s


def assert_holds_readings(p, snap: dict, except_units: set[str]) -> None:
    """Every setpoint of a hold is this cycle's reading; nothing for ``except_units``."""
    assert p.setpoints, "a hold must still say what to hold"
    for tag, value in p.setpoints.items():
        assert tag.split(".")[0] not in except_units, tag
        assert value == pytest.approx(float(snap[tag]), abs=0.0), tag


# ---------------------------------------------------------------- finding 1: first-cycle bad reading
@pytest.mark.parametrize("tag", ["B1.steam_tph", "GT1.power_mw", "TG1.power_mw", "CGC.extraction0_tph", "GT1.duct_steam_tph"])
@pytest.mark.parametrize("bad", [None, float("nan"), "BadSensorFailure"])
def test_unit_never_read_moves_nothing(tag, bad):
    unit = tag.split(".")[0]
    sup = Supervisor(SITE, MODELS)
    snap = snap_at(0, **{tag: bad})
    p = sup.step(snap)
    assert p.status == "unknown_state", (p.status, p.warnings)
    assert unit in p.held_units
    assert not any(k.startswith(unit + ".") for k in p.setpoints), p.setpoints  # nothing written for it
    assert_holds_readings(p, snap, {unit})
    # once read, the engine optimises again
    assert sup.step(snap_at(1)).status == "optimal"


def test_unit_read_before_is_held_at_its_last_good_state_and_load():
    sup = Supervisor(SITE, MODELS)
    assert sup.step(snap_at(0)).status == "optimal"
    for k, tag in enumerate(["B1.steam_tph", "GT1.power_mw", "TG1.power_mw", "CGC.extraction0_tph"]):
        unit = tag.split(".")[0]
        p = sup.step(snap_at(1 + k, **{tag: None}))
        assert p.status == "substituted" and unit in p.held_units
        expected = SNAPSHOT[tag]
        if unit in SITE.gas_turbines:  # a reading above the ambient's base power is held at the base
            expected = min(expected, SITE.gas_turbines[unit].base_power_mw(SNAPSHOT[tags.AMBIENT], SNAPSHOT[f"{unit}.fouling_hours"]))
        assert p.setpoints[tag] == pytest.approx(expected, abs=1e-6), (tag, p.setpoints[tag])
        if f"{unit}.on" in p.setpoints:
            assert p.setpoints[f"{unit}.on"] == 1


def test_numpy_scalars_are_numbers():
    """np.int64 / np.float32 readings are good values (finding 1: they counted as not-a-number)."""
    snap = snap_at(0)
    for i, (k, v) in enumerate(list(snap.items())):
        if k != "timestamp":
            snap[k] = np.float32(v) if i % 2 else (np.int64(v) if float(v).is_integer() else np.float64(v))
    p = Supervisor(SITE, MODELS).step(snap)
    assert p.status == "optimal", (p.status, p.warnings)
    assert p.substitutions == []


# ---------------------------------------------------------------- finding 2: huge integers
def test_integer_too_large_for_a_float_is_a_bad_value_not_a_crash():
    sup = Supervisor(SITE, MODELS)
    assert sup.step(snap_at(0)).status == "optimal"
    p = sup.step(snap_at(1, GT2__fouling_hours=5000.0, TLE__steam_tph=10**400))
    assert p.status == "substituted", (p.status, p.warnings)
    sub = {s["tag"]: s for s in p.substitutions}["TLE.steam_tph"]
    assert "too large" in sub["reason"] and sub["source"] == "last good" and sub["used"] == SNAPSHOT["TLE.steam_tph"]
    # the whole snapshot validated: GT2's new fouling counts (its maximum falls)
    gt2 = SITE.gas_turbines["GT2"]
    assert sup.validator.last_good["GT2.fouling_hours"] == 5000.0
    base = gt2.base_power_mw(SNAPSHOT[tags.AMBIENT], 5000.0)
    assert p.setpoints["GT2.power_mw"] <= base + 1e-6


def test_refused_snapshot_leaves_the_last_good_values_untouched():
    """Finding 2 and 4: a snapshot that is refused changes nothing the next cycle uses."""
    sup = Supervisor(SITE, MODELS)
    assert sup.step(snap_at(5)).status == "optimal"
    p = sup.step(snap_at(4, B1__steam_tph=150.0, GT2__fouling_hours=9000.0))  # out of order
    assert p.status == "invalid_input"
    assert sup.validator.last_good["B1.steam_tph"] == SNAPSHOT["B1.steam_tph"]
    assert sup.validator.last_good["GT2.fouling_hours"] == SNAPSHOT["GT2.fouling_hours"]
    p = sup.step(snap_at(6, B1__steam_tph=None))
    assert {s["tag"]: s["used"] for s in p.substitutions}["B1.steam_tph"] == SNAPSHOT["B1.steam_tph"]


def test_a_crashed_cycle_holds_this_cycles_readings(monkeypatch):
    """Finding 2: the hold after an internal error is what this cycle read, not the last cycle."""
    from optimizer import cycle

    sup = Supervisor(SITE, MODELS)
    assert sup.step(snap_at(0)).status == "optimal"

    def broken(*a, **k):
        raise RuntimeError("injected")

    monkeypatch.setattr(cycle.CycleData, "build", classmethod(lambda cls, *a, **k: broken()))
    snap = snap_at(1, B2__steam_tph=SNAPSHOT["B2.steam_tph"] + 2.0, GT1__power_mw=SNAPSHOT["GT1.power_mw"] - 0.5)
    p = sup.step(snap)
    assert p.status == "fallback_hold"
    assert p.setpoints["B2.steam_tph"] == snap["B2.steam_tph"] and p.setpoints["GT1.power_mw"] == snap["GT1.power_mw"]
    assert_holds_readings(p, snap, set())


# ---------------------------------------------------------------- finding 3: reading above the maximum
def test_extraction_reading_above_its_maximum_does_not_invert_the_box():
    """The move box around a reading above the equipment maximum (but inside the accepted
    range) is cut at the maximum, never inverted; the cycle says so."""
    from optimizer.cycle import CycleData

    sup = Supervisor(SITE, MODELS)
    x_max = SITE.turbines["TG1"].sections[0].max_flow_tph
    snap = sup.validator.validate(snap_at(0, TG1__extraction0_tph=x_max + 10.0))
    assert snap.valid and not snap.substitutions
    c = CycleData.build(sup, snap)
    for box in (c.box, c.pinned, c.local):
        lo, hi = box[("x_lo", ("TG1", 0))], box[("x_hi", ("TG1", 0))]
        assert 0.0 <= lo <= hi <= x_max, (lo, hi)
    assert any("TG1.extraction0_tph" in w and "maximum" in w for w in c.warnings)
    p = sup.step(snap_at(1, TG1__extraction0_tph=x_max + 10.0))
    assert p.setpoints["TG1.extraction0_tph"] <= x_max + 10.0
    if p.status != "fallback_hold":  # readings this far off may be inconsistent with the turbine's other limits
        assert p.setpoints["TG1.extraction0_tph"] <= x_max + 1e-6


# ---------------------------------------------------------------- finding 4: timestamps
@pytest.mark.parametrize("stamp", ["2262-04-11T00:00:00", "9999-12-31T00:00:00", "1970-01-01T00:00:00", "now", "today",
                                   1.5e18, 1772445600, "2026-03-02T10:00:00+07:00junk", True, None])
def test_bad_timestamps_are_refused_and_block_nothing(stamp):
    sup = Supervisor(SITE, MODELS)
    bad = snap_at(1)
    bad["timestamp"] = stamp
    p = sup.step(bad)  # on the first cycle (no earlier timestamp to be out of order with)
    assert p.status == "invalid_input", (stamp, p.status)
    assert any("timestamp" in w for w in p.warnings)
    assert sup.step(snap_at(0)).status == "optimal"
    assert sup.step(bad).status == "invalid_input"  # and after a good one
    assert sup.step(snap_at(2)).status == "optimal"  # one bad clock value does not block the engine


def test_a_timestamp_far_ahead_is_refused_until_the_new_time_line_is_confirmed():
    sup = Supervisor(SITE, MODELS)
    assert sup.step(snap_at(0)).status == "optimal"
    ahead = 3 * 24 * 60  # three days: more than max_timestamp_gap_s
    assert sup.step(snap_at(ahead)).status == "invalid_input"
    assert sup.step(snap_at(1)).status == "optimal"  # the old time line goes on
    statuses = [sup.step(snap_at(ahead + k)).status for k in range(3)]
    assert statuses == ["invalid_input", "invalid_input", "optimal"]  # three in a row: taken
    assert sup.validator.last_timestamp == T0 + pd.Timedelta(minutes=ahead + 2)


def test_zone_aware_timestamps_are_site_local_time():
    v = SnapshotValidator(SITE)
    assert v.local_time("2026-03-02T10:00:00+07:00") == pd.Timestamp("2026-03-02 10:00")
    assert v.local_time("2026-03-02T03:00:00Z") == pd.Timestamp("2026-03-02 10:00")
    assert v.local_time(pd.Timestamp("2026-03-02 03:00", tz="UTC")) == pd.Timestamp("2026-03-02 10:00")
    sup = Supervisor(SITE, MODELS)
    # naive (site local) and aware mixed: ordered by the same clock
    assert sup.step({**snap_at(0), "timestamp": "2026-03-02T10:00:00"}).status == "optimal"
    assert sup.step({**snap_at(0), "timestamp": "2026-03-02T03:01:00Z"}).status == "optimal"
    assert sup.step({**snap_at(0), "timestamp": "2026-03-02T10:00:30"}).status == "invalid_input"  # before 10:01 local
    assert sup.step({**snap_at(0), "timestamp": "2026-03-02T10:02:00+07:00"}).status == "optimal"


def test_zone_aware_timestamp_is_priced_in_the_sites_tariff_period():
    """10:00+07:00 on a weekday is on-peak in Bangkok (it was priced off-peak as 03:00 UTC)."""
    on_peak = Supervisor(SITE, MODELS).step({**snap_at(0), "timestamp": "2026-03-02T10:00:00+07:00"})
    naive = Supervisor(SITE, MODELS).step({**snap_at(0), "timestamp": "2026-03-02T10:00:00"})
    off_peak = Supervisor(SITE, MODELS).step({**snap_at(0), "timestamp": "2026-03-02T03:00:00"})
    assert on_peak.proposed_kpis["cost_per_h"] == pytest.approx(naive.proposed_kpis["cost_per_h"], rel=1e-9)
    assert on_peak.proposed_kpis["cost_per_h"] != pytest.approx(off_peak.proposed_kpis["cost_per_h"], rel=1e-3)


def test_aware_timestamp_refused_when_the_site_has_no_timezone():
    import dataclasses

    site = dataclasses.replace(SITE, timezone="")
    p = Supervisor(site, MODELS).step({**snap_at(0), "timestamp": "2026-03-02T10:00:00+07:00"})
    assert p.status == "invalid_input" and any("timezone" in w for w in p.warnings)


def test_an_aware_clock_works():
    now = (T0 + pd.Timedelta(seconds=30)).tz_localize("Asia/Bangkok")
    cfg = SupervisorConfig(stale_after_s=600.0, clock=lambda: now)
    assert Supervisor(SITE, MODELS, cfg).step(snap_at(0)).status == "optimal"
    cfg = SupervisorConfig(stale_after_s=600.0, clock=lambda: now.tz_convert("UTC"))
    assert Supervisor(SITE, MODELS, cfg).step(snap_at(0)).status == "optimal"
    cfg = SupervisorConfig(stale_after_s=600.0, clock=lambda: now + pd.Timedelta(hours=1))
    assert Supervisor(SITE, MODELS, cfg).step(snap_at(0)).status == "invalid_input"  # stale


# ---------------------------------------------------------------- finding 5: optional tags
def test_an_absent_availability_flag_keeps_its_last_value():
    sup = Supervisor(SITE, MODELS)
    assert sup.step(snap_at(0, B2__available=1)).status == "optimal"
    p = sup.step(snap_at(1, B2__available=0))
    assert p.setpoints["B2.on"] == 0
    p = sup.step(snap_at(2, B2__steam_tph=0.0))  # flag absent: still unavailable, and reported
    assert p.setpoints["B2.on"] == 0 and p.setpoints["B2.steam_tph"] == 0.0
    sub = {s["tag"]: s for s in p.substitutions}["B2.available"]
    assert sub["reason"] == "missing" and sub["used"] == 0.0


@pytest.mark.parametrize("flag", [False, np.bool_(False), 0, np.int64(0)])
def test_availability_false_on_a_first_cycle_is_unavailable(flag):
    p = Supervisor(SITE, MODELS).step(snap_at(0, B4__available=flag))
    assert p.setpoints["B4.on"] == 0 and p.setpoints["B4.steam_tph"] == 0.0
    assert not any(s["tag"] == "B4.available" for s in p.substitutions)


@pytest.mark.parametrize("flag", ["0", "false", float("nan"), 0.5 + 1.0])
def test_unreadable_availability_holds_the_unit(flag):
    """Neither started nor stopped on a flag nobody can read."""
    p = Supervisor(SITE, MODELS).step(snap_at(0, B4__available=flag))
    assert "B4" in p.held_units
    assert p.setpoints["B4.on"] == 1 and p.setpoints["B4.steam_tph"] == pytest.approx(SNAPSHOT["B4.steam_tph"], abs=1e-9)


@pytest.mark.parametrize("minutes", ["5", "abc", float("nan"), -1.0])
def test_unreadable_minutes_in_state_hold_the_unit(minutes):
    p = Supervisor(SITE, MODELS).step(snap_at(0, B4__minutes_in_state=minutes))
    assert "B4" in p.held_units
    assert p.setpoints["B4.on"] == 1 and p.setpoints["B4.steam_tph"] == pytest.approx(SNAPSHOT["B4.steam_tph"], abs=1e-9)


def test_missing_fouling_hours_never_raise_a_gts_maximum():
    sup = Supervisor(SITE, MODELS)
    snap = snap_at(0, GT2__fouling_hours=None)
    p = sup.step(snap)
    assert "GT2" in p.held_units  # never read: its maximum is unknown, so it is held
    assert p.setpoints["GT2.power_mw"] == pytest.approx(snap["GT2.power_mw"], abs=1e-9)
    assert sup.step(snap_at(1)).status == "optimal"
    p = sup.step(snap_at(2, GT2__fouling_hours=None))  # read before: its last good value
    used = {s["tag"]: s["used"] for s in p.substitutions}["GT2.fouling_hours"]
    assert used == SNAPSHOT["GT2.fouling_hours"]
    gt2 = SITE.gas_turbines["GT2"]
    assert p.setpoints["GT2.power_mw"] <= gt2.base_power_mw(SNAPSHOT[tags.AMBIENT], used) + 1e-6


# ---------------------------------------------------------------- finding 6: plant situations
def test_both_gts_out_at_the_import_limit_answers_with_the_shortfall():
    snap = snap_at(0, GT1__available=0, GT2__available=0)
    p = Supervisor(SITE, MODELS).step(snap)
    assert p.status == "infeasible_demand", (p.status, p.warnings)
    assert p.power_shortfall_mw > 1.0
    assert p.setpoints["GT1.power_mw"] == 0.0 and p.setpoints["GT2.power_mw"] == 0.0
    assert any("electricity" in w for w in p.warnings)


def test_hold_never_echoes_a_tripped_units_reading(monkeypatch):
    from optimizer import cycle

    sup = Supervisor(SITE, MODELS)
    monkeypatch.setattr(cycle.CycleData, "build", classmethod(lambda cls, *a, **k: (_ for _ in ()).throw(RuntimeError("x"))))
    p = sup.step(snap_at(0, GT1__available=0))
    assert p.status == "fallback_hold"
    assert "GT1.power_mw" not in p.setpoints and "GT1.duct_steam_tph" not in p.setpoints
    assert p.setpoints["GT2.power_mw"] == SNAPSHOT["GT2.power_mw"]


def test_demand_step_outside_the_accepted_range_is_not_optimal():
    sup = Supervisor(SITE, MODELS)
    assert sup.step(snap_at(0)).status == "optimal"
    demand_tags = [k for k in SNAPSHOT if k.startswith(("LP_", "MP_", "HP_")) and k.endswith(".steam_tph")]
    p = sup.step(snap_at(1, **{t.replace(".", "__"): 10 * SNAPSHOT[t] + 50.0 for t in demand_tags}))
    assert p.status == "substituted", p.status
    assert {s["tag"] for s in p.substitutions} >= set(demand_tags)
    # said in the warnings, not only in the substitutions: how many, and (one demand) which, with its range
    assert any(w.startswith(f"solved on substitutes for {len(p.substitutions)} bad reading(s)") for w in p.warnings), p.warnings
    one = demand_tags[0]
    p = sup.step(snap_at(2, **{one.replace(".", "__"): 10 * SNAPSHOT[one] + 50.0}))
    assert p.status == "substituted" and [s["tag"] for s in p.substitutions] == [one]
    assert any(f"{one}: outside [" in w and "advisory" in w for w in p.warnings), p.warnings


def test_an_ambient_spike_to_a_plausible_value_is_substituted():
    """-25 C at a tropical site is inside the physical range, but not 15 min after 30 C: each GT's
    maximum would rise ~40 % on it (found by tests/test_safety_sequences.py)."""
    sup = Supervisor(SITE, MODELS, SupervisorConfig(cycle_s=900.0))
    assert sup.step(snap_at(0)).status == "optimal"
    p = sup.step(snap_at(15, ambient_temp_c=-25.0))
    assert p.status == "substituted"
    sub = {s["tag"]: s for s in p.substitutions}["ambient_temp_c"]
    assert "jumped" in sub["reason"] and sub["used"] == SNAPSHOT[tags.AMBIENT]
    for g, gt in SITE.gas_turbines.items():
        assert p.setpoints[tags.gt_power(g)] <= gt.base_power_mw(SNAPSHOT[tags.AMBIENT], SNAPSHOT[tags.gt_fouling(g)]) + 1e-6
    # a real change, at weather's pace, is taken
    assert sup.step(snap_at(30, ambient_temp_c=SNAPSHOT[tags.AMBIENT] + 4.0)).status == "optimal"
