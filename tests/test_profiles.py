"""Tests of the disturbance-profile generator (scenarios.plant.profiles) on the reference site."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.site import load_site
from optimizer.site.model import Site
from scenarios.plant.profiles import ProfileConfig, disturbances_frame, generate_disturbances

SITE_FILE = Path(__file__).resolve().parents[1] / "scenarios" / "sites" / "reference_olefins.toml"
START = pd.Timestamp("2026-01-05 00:00")


@pytest.fixture(scope="module")
def site() -> Site:
    return load_site(SITE_FILE)


def _frame(site: Site, **kwargs: object) -> pd.DataFrame:
    return disturbances_frame(generate_disturbances(site, ProfileConfig(**kwargs)))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- determinism and steps


def test_same_seed_gives_identical_output(site: Site) -> None:
    cfg = dict(hours=72.0, step_min=15.0, seed=7, decoking=True, outages=[("B1", "2026-01-06", "2026-01-06 12:00")])
    a = generate_disturbances(site, ProfileConfig(**cfg))  # type: ignore[arg-type]
    b = generate_disturbances(site, ProfileConfig(**cfg))  # type: ignore[arg-type]
    assert a == b
    pd.testing.assert_frame_equal(disturbances_frame(a), disturbances_frame(b))


def test_different_seeds_differ(site: Site) -> None:
    a = _frame(site, hours=24.0, seed=1)
    b = _frame(site, hours=24.0, seed=2)
    assert list(a.columns) == list(b.columns)
    for col in ("ambient_temp_c", "HP_REACTOR.demand_tph", "TLE.steam_tph", "site_load_mw", "CGC.process_power_mw"):
        assert not np.allclose(a[col], b[col]), col


@pytest.mark.parametrize(
    ("hours", "step_min", "expected"),
    [(24.0, 15.0, 96), (10.0, 7.0, 85), (0.5, 1.0, 30), (1.01, 15.0, 4), (90 * 24.0, 15.0, 8640)],
)
def test_step_count_and_timestamps(site: Site, hours: float, step_min: float, expected: int) -> None:
    items = generate_disturbances(site, ProfileConfig(hours=hours, step_min=step_min, seed=0))
    assert len(items) == expected == int(hours * 60 / step_min)
    step = pd.Timedelta(minutes=step_min)
    assert [d.timestamp for d in items] == [START + k * step for k in range(expected)]
    frame = disturbances_frame(items)
    assert frame.index.name == "timestamp"
    assert list(frame.index) == [d.timestamp for d in items]


def test_default_start_is_a_monday() -> None:
    cfg = ProfileConfig()
    assert cfg.start == START
    assert cfg.start.day_of_week == 0


def test_start_accepts_a_string(site: Site) -> None:
    items = generate_disturbances(site, ProfileConfig(start="2026-03-02 06:30", hours=1.0, step_min=30.0))  # type: ignore[arg-type]
    assert [d.timestamp for d in items] == [pd.Timestamp("2026-03-02 06:30"), pd.Timestamp("2026-03-02 07:00")]


# --------------------------------------------------------------------------- shapes


def test_ambient_daily_cycle(site: Site) -> None:
    f = _frame(site, hours=7 * 24.0, step_min=15.0, seed=3)
    afternoon = f.loc[f.index.hour == 14, "ambient_temp_c"].mean()
    early = f.loc[f.index.hour == 5, "ambient_temp_c"].mean()
    assert afternoon - early >= 5.0
    # the daily minimum falls in the early morning, the maximum in the early afternoon
    by_hour = f["ambient_temp_c"].groupby(f.index.hour).mean()
    assert int(by_hour.idxmin()) in (4, 5, 6, 7)
    assert int(by_hour.idxmax()) in (13, 14, 15)


def test_tracing_demand_higher_at_night(site: Site) -> None:
    f = _frame(site, hours=14 * 24.0, step_min=15.0, seed=5)
    col = f["LP_TRACING.demand_tph"]
    night = col[(f.index.hour >= 2) & (f.index.hour < 7)].mean()
    afternoon = col[(f.index.hour >= 12) & (f.index.hour < 17)].mean()
    assert night > afternoon + 1.0  # 10 t/h with a 15 % swing: about 3 t/h apart


def test_demand_noise_is_ar1_correlated(site: Site) -> None:
    f = _frame(site, hours=30 * 24.0, step_min=15.0, seed=11)
    for cid in ("HP_REACTOR", "MP_DILUTION_A", "LP_C4_REBOILER"):
        dev = f[f"{cid}.demand_tph"].to_numpy() - site.consumers[cid].demand_tph
        r = np.corrcoef(dev[:-1], dev[1:])[0, 1]
        assert r > 0.5, (cid, r)  # exp(-0.25 h / 1 h) = 0.78 expected
        # the spread matches variability_fraction of nominal (3 % by default)
        rel_std = dev.std() / site.consumers[cid].demand_tph
        assert 0.5 * site.consumers[cid].variability_fraction < rel_std < 1.5 * site.consumers[cid].variability_fraction


def test_machine_power_follows_furnace_load(site: Site) -> None:
    f = _frame(site, hours=30 * 24.0, step_min=15.0, seed=4, decoking=True)
    tle = f["TLE.steam_tph"]
    for tid, t in site.turbines.items():
        col = f"{tid}.process_power_mw"
        if t.drive != "machine":
            assert col not in f.columns
            continue
        rel = f[col] / t.power_mw
        assert rel.between(0.95 - 1e-12, 1.05 + 1e-12).all()
        assert np.corrcoef(rel, tle)[0, 1] > 0.99
        assert rel.std() > 0.001


def test_tle_drifts_slowly_and_can_be_held(site: Site) -> None:
    f = _frame(site, hours=30 * 24.0, step_min=15.0, seed=9)
    tle = f["TLE.steam_tph"].to_numpy()
    assert tle.std() > 2.0
    assert np.corrcoef(tle[:-1], tle[1:])[0, 1] > 0.95
    held = _frame(site, hours=24.0, step_min=15.0, seed=9, tle_variation=False)
    assert (held["TLE.steam_tph"] == site.byproduct_sources["TLE"].nominal_steam_tph).all()
    assert (held["CGC.process_power_mw"] == site.turbines["CGC"].power_mw).all()


def test_decoking_dips_tle_and_leaves_other_series_alone(site: Site) -> None:
    base = _frame(site, hours=10 * 24.0, step_min=15.0, seed=21)
    dec = _frame(site, hours=10 * 24.0, step_min=15.0, seed=21, decoking=True)
    drop = base["TLE.steam_tph"] - dec["TLE.steam_tph"]
    assert (drop >= -1e-9).all()
    assert drop.max() > 0.5 * 0.125 * site.byproduct_sources["TLE"].nominal_steam_tph
    dipped_h = (drop > 1e-9).sum() * 0.25
    assert 30.0 <= dipped_h <= 36.0
    same = [c for c in base.columns if not c.startswith("TLE.") and not c.endswith(".process_power_mw")]
    pd.testing.assert_frame_equal(base[same], dec[same])


def test_site_load_around_nominal(site: Site) -> None:
    f = _frame(site, hours=30 * 24.0, step_min=15.0, seed=2)
    assert site.electricity is not None
    load = f["site_load_mw"]
    assert abs(load.mean() / site.electricity.site_load_mw - 1.0) < 0.01
    assert (load > 0).all()
    assert load.std() > 0.5


# --------------------------------------------------------------------------- bounds


def _check_bounds(site: Site, cfg: ProfileConfig, frame: pd.DataFrame) -> None:
    amb = frame["ambient_temp_c"]
    assert (amb >= cfg.ambient_min_c - 2.0).all() and (amb <= cfg.ambient_max_c + 2.0).all()
    for cid, c in site.consumers.items():
        d = frame[f"{cid}.demand_tph"]
        assert (d >= 0.0).all(), cid
        if c.flexible:
            assert c.min_tph is not None and c.max_tph is not None
            assert (d >= c.min_tph).all() and (d <= c.max_tph).all(), cid
    for sid, s in site.byproduct_sources.items():
        v = frame[f"{sid}.steam_tph"]
        assert (v >= s.min_steam_tph).all() and (v <= s.max_steam_tph).all(), sid
    assert (frame["site_load_mw"] >= 0.0).all()
    for tid, t in site.turbines.items():
        if t.drive == "machine":
            rel = frame[f"{tid}.process_power_mw"] / t.power_mw
            assert rel.between(0.95 - 1e-12, 1.05 + 1e-12).all(), tid
    assert not frame.isna().any().any()


def test_bounds_hold_over_30_days(site: Site) -> None:
    cfg = ProfileConfig(hours=30 * 24.0, step_min=15.0, seed=123, decoking=True)
    frame = disturbances_frame(generate_disturbances(site, cfg))
    assert len(frame) == 2880
    _check_bounds(site, cfg, frame)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(min_value=0, max_value=2**32 - 1),
    hours=st.floats(min_value=1.0, max_value=30 * 24.0),
    step_min=st.sampled_from([1.0, 5.0, 10.0, 15.0, 30.0, 60.0]),
    decoking=st.booleans(),
)
def test_bounds_hold_for_random_seeds_and_lengths(site: Site, seed: int, hours: float, step_min: float, decoking: bool) -> None:
    cfg = ProfileConfig(hours=hours, step_min=step_min, seed=seed, decoking=decoking)
    items = generate_disturbances(site, cfg)
    assert len(items) == int(hours * 60 / step_min)
    _check_bounds(site, cfg, disturbances_frame(items))


# --------------------------------------------------------------------------- outages and fouling


def test_outages_appear_exactly_in_their_windows(site: Site) -> None:
    outages = [
        ("B1", pd.Timestamp("2026-01-05 06:00"), pd.Timestamp("2026-01-05 09:30")),
        ("GT1", "2026-01-05 20:00", "2026-01-06 02:00"),
        ("B1", "2026-01-06 10:07", "2026-01-06 10:40"),  # off the step grid
    ]
    cfg = ProfileConfig(hours=48.0, step_min=15.0, seed=1, outages=outages)  # type: ignore[arg-type]
    items = generate_disturbances(site, cfg)
    for d in items:
        expected = {u for u, s, e in outages if pd.Timestamp(s) <= d.timestamp < pd.Timestamp(e)}
        assert d.unavailable == expected, d.timestamp
    b1_steps = sum("B1" in d.unavailable for d in items)
    assert b1_steps == 14 + 2  # 06:00..09:15, then 10:15 and 10:30
    frame = disturbances_frame(items)
    assert frame["B1.available"].dtype == bool
    assert (~frame["B1.available"]).sum() == b1_steps
    assert (~frame["GT1.available"]).sum() == 24
    assert frame.loc["2026-01-05 05:45", "B1.available"]
    assert not frame.loc["2026-01-05 06:00", "B1.available"]
    assert frame.loc["2026-01-05 09:30", "B1.available"]


def test_no_outages_means_all_available(site: Site) -> None:
    items = generate_disturbances(site, ProfileConfig(hours=24.0))
    assert all(d.unavailable == set() for d in items)
    frame = disturbances_frame(items, units=["B1", "GT1"])
    assert frame["B1.available"].all() and frame["GT1.available"].all()


@pytest.mark.parametrize("step_min", [5.0, 15.0, 60.0])
def test_fouling_hours_grow_by_the_step(site: Site, step_min: float) -> None:
    items = generate_disturbances(site, ProfileConfig(hours=72.0, step_min=step_min, seed=0))
    for gt in site.gas_turbines:
        h = np.array([d.gt_fouling_hours[gt] for d in items])
        assert h[0] == 500.0
        np.testing.assert_allclose(np.diff(h), step_min / 60.0)


def test_fouling_start_is_configurable_and_stops_during_an_outage(site: Site) -> None:
    cfg = ProfileConfig(
        hours=24.0,
        step_min=15.0,
        gt_fouling_start_hours={"GT1": 1800.0},
        outages=[("GT1", "2026-01-05 06:00", "2026-01-05 12:00")],  # type: ignore[list-item]
    )
    f = disturbances_frame(generate_disturbances(site, cfg))
    gt1, gt2 = f["GT1.fouling_hours"].to_numpy(), f["GT2.fouling_hours"].to_numpy()
    assert gt1[0] == 1800.0 and gt2[0] == 500.0
    np.testing.assert_allclose(np.diff(gt2), 0.25)
    step_growth = np.diff(gt1)
    # the step starting at 06:00 .. 11:45 does not run, so the value at 06:15 .. 12:00 stays put
    running = f["GT1.available"].to_numpy()[:-1]
    np.testing.assert_allclose(step_growth, np.where(running, 0.25, 0.0))
    assert gt1[-1] == pytest.approx(1800.0 + (96 - 1 - 24) * 0.25)


# --------------------------------------------------------------------------- frame


def test_frame_has_the_documented_columns(site: Site) -> None:
    cfg = ProfileConfig(hours=6.0, outages=[("TG1", "2026-01-05 01:00", "2026-01-05 02:00")])  # type: ignore[list-item]
    frame = disturbances_frame(generate_disturbances(site, cfg))
    expected = (
        ["ambient_temp_c"]
        + [f"{c}.demand_tph" for c in site.consumers]
        + [f"{s}.steam_tph" for s in site.byproduct_sources]
        + [f"{t}.process_power_mw" for t, tt in site.turbines.items() if tt.drive == "machine"]
        + ["site_load_mw"]
        + [f"{g}.fouling_hours" for g in site.gas_turbines]
        + ["TG1.available"]
    )
    assert list(frame.columns) == expected
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert len(frame) == 24
    numeric = frame.drop(columns=["TG1.available"])
    assert all(np.issubdtype(dt, np.floating) for dt in numeric.dtypes)


def test_ninety_days_of_steps(site: Site) -> None:
    """A 90-day training profile has every step (its speed is measured in benchmarks/)."""
    items = generate_disturbances(site, ProfileConfig(hours=90 * 24.0, step_min=15.0, seed=1, decoking=True))
    assert len(items) == 8640
    assert items[-1].timestamp - items[0].timestamp == pd.Timedelta(minutes=15 * 8639)


# --------------------------------------------------------------------------- bad config


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"hours": 0.0}, "hours"),
        ({"hours": -5.0}, "hours"),
        ({"hours": float("nan")}, "hours"),
        ({"hours": 0.1, "step_min": 15.0}, "hours"),
        ({"step_min": 0.0}, "step_min"),
        ({"step_min": -15.0}, "step_min"),
        ({"ambient_min_c": 35.0, "ambient_max_c": 24.0}, "ambient_min_c"),
        ({"ambient_min_c": 30.0, "ambient_max_c": 30.0}, "ambient_min_c"),
        ({"seed": -1}, "seed"),
        ({"tle_std_fraction": -0.1}, "tle_std_fraction"),
        ({"demand_tau_h": 0.0}, "demand_tau_h"),
        ({"outages": [("B1", "2026-01-06", "2026-01-05")]}, "outages[0].end"),
        ({"outages": [("B1", "2026-01-06")]}, "outages[0]"),
        ({"outages": [("B1", "2026-01-06 00:00+07:00", "2026-01-07 00:00+07:00")]}, "outages[0].start"),
    ],
)
def test_bad_config_names_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValueError, match=rf"^{re.escape(field)} = .*must be"):
        ProfileConfig(**kwargs)  # type: ignore[arg-type]


def test_outage_of_an_unknown_unit_is_rejected(site: Site) -> None:
    cfg = ProfileConfig(outages=[("B1", "2026-01-05", "2026-01-06"), ("B9", "2026-01-05", "2026-01-06")])  # type: ignore[list-item]
    with pytest.raises(ValueError, match=r"^outages\[1\]\.unit_id = 'B9' .*must be an id of .*B1"):
        generate_disturbances(site, cfg)


def test_fouling_for_an_unknown_gas_turbine_is_rejected(site: Site) -> None:
    cfg = ProfileConfig(gt_fouling_start_hours={"GT7": 100.0})
    with pytest.raises(ValueError, match=r"gt_fouling_start_hours key 'GT7'.*GT1"):
        generate_disturbances(site, cfg)


def test_config_mutated_after_creation_is_checked_again(site: Site) -> None:
    cfg = ProfileConfig()
    cfg.hours = -1.0
    with pytest.raises(ValueError, match=r"^hours = -1\.0 is out of range: must be a finite number > 0"):
        generate_disturbances(site, cfg)

