"""The look-ahead benchmark's day (benchmarks/plan_horizon.py): its forecast and snapshot are what
its docstring says; timings themselves are measured by the benchmark, never asserted here."""

import pandas as pd

from benchmarks import plan_horizon


def test_campaign_forecast_by_hand():
    fc = plan_horizon.campaign_forecast("2026-03-02T06:00:00", 96, 15.0)
    assert len(fc) == 96 and fc.index[0] == pd.Timestamp("2026-03-02 06:00") and fc.index[1] - fc.index[0] == pd.Timedelta(minutes=15)
    hp = fc["HP_AROMATICS.steam_tph"]
    assert hp[pd.Timestamp("2026-03-02 09:45")] == 30.0
    assert hp[pd.Timestamp("2026-03-02 10:00")] == 75.0
    assert hp[pd.Timestamp("2026-03-02 14:45")] == 75.0
    assert hp[pd.Timestamp("2026-03-02 15:00")] == 30.0
    assert (hp == 75.0).sum() == 20  # 5 h of 15 min
    assert set(fc["MP_BUTADIENE.steam_tph"]) == {25.0, 65.0}


def test_day_snapshot_validates_with_two_boilers_off_ten_hours():
    from optimizer.site.loader import load_site
    from optimizer.snapshot import SnapshotValidator

    snap = plan_horizon.day_snapshot(6)
    assert snap["timestamp"] == "2026-03-02T06:00:00"
    v = SnapshotValidator(load_site(plan_horizon.SITE)).validate(snap)
    assert v.values["B3.steam_tph"] == 0.0 and v.values["B4.minutes_in_state"] == 600.0
    assert v.values["B1.steam_tph"] + v.values["B2.steam_tph"] == 190.0
