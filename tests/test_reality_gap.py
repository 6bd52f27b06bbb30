"""The reality gap (scenarios/plant/reality_gap.py): each option moves the true plant the right way
by the right amount, balances still close, the default changes nothing, bad values are refused
with the field, the value and the rule, and the bundled reality_gap.toml builds."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimizer.site.docs import attribute_tables_markdown
from optimizer.site.schema import DataFileError
from optimizer.snapshot import tag_rules
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.practice import todays_practice
from scenarios.plant.reality_gap import (
    RealityGap,
    apply_reality_gap,
    measured_snapshot,
    outside_training_range,
    training_ambient_range,
    unmeasured_loss_tag,
)
from scenarios.plant.snapshots import snapshot_from_state
from scenarios.scenario import (
    STUDIES_DIR,
    build_site,
    load_scenario,
    scenario_disturbances,
    scenario_from_dict,
    with_overrides,
)
from tests.test_simulator import (
    PROPS,
    SIM,
    SITE,
    operating_points,
    site_energy_residual,
    site_mass_residual,
)

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
T0 = pd.Timestamp("2026-03-02 10:00")


@pytest.fixture(scope="module")
def base_day() -> list[Disturbances]:
    scenario = with_overrides(load_scenario(STUDIES_DIR / "base_week.toml"), {"hours": 24.0})
    return scenario_disturbances(scenario, build_site(scenario))


def _loss_total(state) -> tuple[float, float]:
    """Unmeasured losses of a state: (t/h, MW of enthalpy leaving)."""
    tph = {h: state.tags.get(unmeasured_loss_tag(h), 0.0) for h in SITE.headers}
    return sum(tph.values()), sum(v * PROPS.header_enthalpy_kj_kg[h] for h, v in tph.items()) / 3600.0


def assert_balanced_with_losses(state, rel: float = 1e-6) -> None:
    """Every header's mass and energy, and the site's, close once the unmeasured losses count as outflows."""
    for hid, b in state.headers.items():
        throughput = sum(x.tph for x in b.inflows) + 1.0
        assert abs(b.mass_residual_tph()) <= rel * throughput, (hid, b.mass_residual_tph())
        assert abs(b.energy_residual_mw()) <= rel * throughput * b.h_kj_kg / 3600.0, (hid, b.energy_residual_mw())
    loss_tph, loss_mw = _loss_total(state)
    res, scale = site_mass_residual(state)
    assert abs(res - loss_tph) <= rel * scale, (res, loss_tph)
    res, scale = site_energy_residual(state)
    assert abs(res - loss_mw) <= rel * scale, (res, loss_mw)
    t = state.tags
    f, r, c, m, s = (t["deaerator.feedwater_tph"], t["deaerator.condensate_return_tph"], t["deaerator.condenser_condensate_tph"],
                     t["deaerator.makeup_tph"], t["deaerator.steam_tph"])
    assert abs(f - r - c - m - s) <= rel * f


# --------------------------------------------------------------------------- no gap


def test_default_gap_changes_nothing_bit_for_bit(base_day: list[Disturbances]) -> None:
    gap = RealityGap()
    assert gap.is_null() and gap.decision_lag_steps == 0
    gapped = apply_reality_gap(base_day, gap, 15.0)
    assert gapped == base_day and all(a is not b for a, b in zip(gapped, base_day))
    for d, g in zip(base_day, gapped):
        sp = todays_practice(SITE, d)
        a, b = SIM.simulate(sp, d), SIM.simulate(sp, g)
        assert a.tags == b.tags  # same keys, same floats
        snap = snapshot_from_state(SITE, a, d)
        assert measured_snapshot(snap, gap, 12.0) == snap
    # a gap with only no-change values is null too
    assert RealityGap(gt_fouling_rate_factor={"GT1": 1.0}, meter_bias={"B1.steam_tph": 0.0}).is_null()
    assert not RealityGap(decision_lag_steps=1).is_null()


# --------------------------------------------------------------------------- boiler degradation


def test_boiler_efficiency_loss_raises_fuel_by_eta_over_eta_minus_loss() -> None:
    curve = SIM.boilers["B4"]
    for steam, amb, loss in ((60.0, 25.0, 0.01), (120.0, 35.0, 0.02), (150.0, 30.0, 0.035)):
        eta0 = curve.efficiency(steam, amb)
        assert curve.efficiency(steam, amb, loss) == pytest.approx(eta0 - loss, abs=1e-15)
        assert curve.fuel_gj_h(steam, amb, loss) / curve.fuel_gj_h(steam, amb) - 1.0 == pytest.approx(eta0 / (eta0 - loss) - 1.0, rel=1e-12)
    # through the simulator: B4's loads are the same, its fuel (and the site's) rises by exactly that
    d = Disturbances(timestamp=T0, ambient_temp_c=30.0)
    sp = todays_practice(SITE, d)
    nominal = SIM.simulate(sp, d)
    true = SIM.simulate(sp, dataclasses.replace(d, boiler_efficiency_loss={"B4": 0.02}))
    assert true["B4.steam_tph"] == nominal["B4.steam_tph"] > 0
    eta0 = nominal["B4.efficiency"]
    assert true["B4.efficiency"] == pytest.approx(eta0 - 0.02, abs=1e-15)
    assert true["B4.fuel_gj_h"] == pytest.approx(nominal["B4.fuel_gj_h"] * eta0 / (eta0 - 0.02), rel=1e-12)
    assert true["site.fuel_gj_h"] - nominal["site.fuel_gj_h"] == pytest.approx(true["B4.fuel_gj_h"] - nominal["B4.fuel_gj_h"], rel=1e-9)
    for b in ("B1", "B2", "B3"):
        assert true[f"{b}.fuel_gj_h"] == nominal[f"{b}.fuel_gj_h"]


def test_boiler_loss_grows_linearly_over_the_study(base_day: list[Disturbances]) -> None:
    gap = RealityGap(boiler_efficiency_loss_points_at_start={"B4": 1.0}, boiler_efficiency_loss_points_per_week={"B4": 1.5, "B2": 0.7})
    out = apply_reality_gap(base_day, gap, 15.0)
    for k in (0, 1, 50, 95):
        h = k * 0.25
        assert out[k].boiler_efficiency_loss["B4"] == pytest.approx((1.0 + 1.5 * h / 168.0) / 100.0, rel=1e-12)
        if k:
            assert out[k].boiler_efficiency_loss["B2"] == pytest.approx(0.7 * h / 168.0 / 100.0, rel=1e-12)
    assert "B2" not in out[0].boiler_efficiency_loss  # no loss yet at the first step
    assert all(d.boiler_efficiency_loss == {} for d in base_day)  # the input is untouched


# --------------------------------------------------------------------------- GT fouling


def test_gt_base_power_falls_at_factor_times_the_nominal_rate() -> None:
    curve = SIM.gts["GT1"]
    loss, hr_rise = SITE.gas_turbines["GT1"].fouling_rates()
    assert loss > 0 and hr_rise > 0
    for k in (0.5, 1.67, 2.5):
        nominal_drop = curve.base_power_mw(30.0, 0.0) - curve.base_power_mw(30.0, 1000.0)
        true_drop = curve.base_power_mw(30.0, 0.0, k) - curve.base_power_mw(30.0, 1000.0, k)
        assert true_drop == pytest.approx(k * nominal_drop, rel=1e-12)
        assert nominal_drop == pytest.approx(curve.base_power_mw(30.0, 0.0) * loss, rel=1e-12)
        # heat rate at base load rises k times as fast
        hr = lambda t, f: curve.heat_rate_kj_kwh(curve.base_power_mw(30.0, t, f), 30.0, t, f)  # noqa: E731
        assert hr(1000.0, k) / hr(0.0, k) - 1.0 == pytest.approx(k * hr_rise, rel=1e-9)
    # through the simulator, at base load: less power, more fuel per MWh; the tag keeps the nominal hours
    d = Disturbances(timestamp=T0, ambient_temp_c=30.0, gt_fouling_hours={"GT1": 1200.0, "GT2": 1200.0})
    sp = dataclasses.replace(todays_practice(SITE, d), gt_power_mw={"GT1": None, "GT2": None})
    nominal = SIM.simulate(sp, d)
    true = SIM.simulate(sp, dataclasses.replace(d, gt_fouling_rate_factor={"GT1": 2.0}))
    iso = curve.base_power_mw(30.0, 0.0)
    assert iso - true["GT1.base_power_mw"] == pytest.approx(2.0 * (iso - nominal["GT1.base_power_mw"]), rel=1e-12)
    assert true["GT1.power_mw"] == true["GT1.base_power_mw"] < nominal["GT1.power_mw"]
    assert true["GT1.heat_rate_kj_kwh"] > nominal["GT1.heat_rate_kj_kwh"]
    assert true["GT1.fouling_hours"] == nominal["GT1.fouling_hours"] == 1200.0
    assert true["GT2.power_mw"] == nominal["GT2.power_mw"]
    assert snapshot_from_state(SITE, true, d)["GT1.fouling_hours"] == 1200.0


# --------------------------------------------------------------------------- meters


def test_meter_bias_and_drift_multiply_exactly_that_tag() -> None:
    d = Disturbances(timestamp=T0, ambient_temp_c=30.0)
    state = SIM.simulate(todays_practice(SITE, d), d)
    snap = snapshot_from_state(SITE, state, d)
    gap = RealityGap(meter_bias={"B1.steam_tph": 0.03, "B2.fuel_gj_h": -0.01}, meter_drift_per_week={"B2.fuel_gj_h": 0.02})
    for elapsed_h in (0.0, 84.0, 168.0):
        measured = measured_snapshot(snap, gap, elapsed_h)
        assert measured["B1.steam_tph"] == pytest.approx(snap["B1.steam_tph"] * 1.03, rel=1e-15)
        assert measured["B2.fuel_gj_h"] == pytest.approx(snap["B2.fuel_gj_h"] * (1.0 - 0.01 + 0.02 * elapsed_h / 168.0), rel=1e-15)
        assert {k: v for k, v in measured.items() if k not in gap.meter_bias} == {k: v for k, v in snap.items() if k not in gap.meter_bias}
    assert snap["B1.steam_tph"] == state["B1.steam_tph"]  # the plant's true flow is unchanged
    assert measured_snapshot(snap, gap, 5.0) == measured_snapshot(snap, gap, 5.0)  # deterministic


# --------------------------------------------------------------------------- unmeasured losses


def test_lp_loss_first_takes_the_steam_practice_vented() -> None:
    d = Disturbances(timestamp=T0, ambient_temp_c=30.0)
    sp = todays_practice(SITE, d)  # boilers at their minimum, LP venting
    nominal = SIM.simulate(sp, d)
    lossy = SIM.simulate(sp, dataclasses.replace(d, unmeasured_loss_fraction={"LP": 0.03}))
    lp_draw = sum(nominal[f"{c.id}.steam_tph"] for c in SITE.consumers.values() if c.header == "LP")
    loss = lossy[unmeasured_loss_tag("LP")]
    assert loss == pytest.approx(0.03 * lp_draw, rel=1e-15) and nominal["V_LP.steam_tph"] > loss > 3.0
    assert lossy["V_LP.steam_tph"] == pytest.approx(nominal["V_LP.steam_tph"] - loss, abs=1e-9)
    for b in SITE.boilers:
        assert lossy[f"{b}.steam_tph"] == pytest.approx(nominal[f"{b}.steam_tph"], abs=1e-9)
    assert unmeasured_loss_tag("LP") not in tag_rules(SITE) and unmeasured_loss_tag("LP") not in snapshot_from_state(SITE, lossy, d)
    assert_balanced_with_losses(lossy, rel=1e-9)


def test_lp_loss_is_made_up_by_the_boilers_like_an_unreturned_draw() -> None:
    # LP demand 30 % up: LP is fed by its letdown, the boilers on master close SHP, nothing is vented
    d = Disturbances(timestamp=T0, ambient_temp_c=30.0,
                     consumer_demand_tph={c.id: 1.3 * c.demand_tph for c in SITE.consumers.values() if c.header == "LP"})
    sp = todays_practice(SITE, d)
    nominal = SIM.simulate(sp, d)
    assert nominal["site.vent_tph"] < 1e-9 and nominal["LD_MP_LP.steam_tph"] > 10.0
    lossy = SIM.simulate(sp, dataclasses.replace(d, unmeasured_loss_fraction={"LP": 0.03}))
    lp_draw = sum(nominal[f"{c.id}.steam_tph"] for c in SITE.consumers.values() if c.header == "LP")
    loss = lossy[unmeasured_loss_tag("LP")]
    assert loss == pytest.approx(0.03 * lp_draw, rel=1e-15)
    for c in SITE.consumers:  # the metered consumers draw what they did
        assert lossy[f"{c}.steam_tph"] == nominal[f"{c}.steam_tph"]
    # the same steam drawn by a consumer that returns no condensate (LP_FLARE): the same plant response
    flare = SITE.consumers["LP_FLARE"]
    assert flare.header == "LP" and flare.condensate_return_fraction == 0.0
    more = dict(d.consumer_demand_tph, LP_FLARE=d.consumer_demand_tph["LP_FLARE"] + loss)
    equivalent = SIM.simulate(sp, dataclasses.replace(d, consumer_demand_tph=more))
    raised = lambda s: sum(s[f"{b}.steam_tph"] for b in SITE.boilers)  # noqa: E731
    assert raised(lossy) == pytest.approx(raised(equivalent), abs=1e-6)
    for tag in ("deaerator.steam_tph", "deaerator.makeup_tph", "site.fuel_gj_h", "LD_MP_LP.steam_tph", "LD_SHP_HP.steam_tph"):
        assert lossy[tag] == pytest.approx(equivalent[tag], abs=1e-6), tag
    # desuperheating water covers part of it on the way down; the deaerator needs more steam
    assert 0.8 * loss < raised(lossy) - raised(nominal) < 1.2 * loss
    assert lossy["deaerator.makeup_tph"] > nominal["deaerator.makeup_tph"] + 0.9 * loss  # lost water is made up
    assert lossy["site.steam_shortfall_tph"] == 0.0
    assert_balanced_with_losses(lossy, rel=1e-9)


@st.composite
def gapped_points(draw):
    sp, d = draw(operating_points())
    d = dataclasses.replace(
        d,
        boiler_efficiency_loss={b: draw(st.floats(0.0, 0.05)) for b in SITE.boilers},
        gt_fouling_rate_factor={g: draw(st.floats(0.0, 3.0)) for g in SITE.gas_turbines},
        unmeasured_loss_fraction={h: draw(st.floats(0.0, 0.1)) for h in SITE.headers},
    )
    return sp, d


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(gapped_points())
def test_balances_close_with_every_gap_on(point) -> None:
    sp, d = point
    state = SIM.simulate(sp, d)
    assert_balanced_with_losses(state)
    for h, f in d.unmeasured_loss_fraction.items():
        draw = sum(state[f"{c.id}.steam_tph"] for c in SITE.consumers.values() if c.header == h)
        assert state[unmeasured_loss_tag(h)] == pytest.approx(f * draw, rel=1e-12, abs=1e-12)


def test_simulator_refuses_a_gap_on_units_the_site_lacks() -> None:
    d = Disturbances(timestamp=T0)
    sp = Setpoints(boiler_steam_tph={"B1": 100.0}, boilers_on_master={"B1"})
    for field, value, words in (("unmeasured_loss_fraction", {"XP": 0.03}, "unknown header"),
                                ("unmeasured_loss_fraction", {"LP": -0.01}, "must be in [0, 0.3]"),
                                ("boiler_efficiency_loss", {"B9": 0.01}, "unknown boiler"),
                                ("gt_fouling_rate_factor", {"GT1": float("nan")}, "must be in [0, 5]")):
        with pytest.raises(ValueError, match=rf"{field}\[.*{words.replace('[', '.').replace(']', '.')}"):
            SIM.simulate(sp, dataclasses.replace(d, **{field: value}))


# --------------------------------------------------------------------------- training range


def test_outside_training_range_uses_every_ambient_model() -> None:
    # independent record of the training domains: the training report written next to the models
    report = json.loads((MODELS / "accuracy.json").read_text())
    domains = [m["domain"]["ambient_temp_c"] for m in report if "ambient_temp_c" in m["domain"]]
    lo, hi = max(d[0] for d in domains), min(d[1] for d in domains)
    assert training_ambient_range(MODELS) == pytest.approx((lo, hi), abs=1e-4)
    flags = outside_training_range(MODELS, [lo - 0.01, lo + 0.01, 0.5 * (lo + hi), hi - 0.01, hi + 0.01, 45.0])
    assert flags.dtype == bool and flags.tolist() == [True, False, False, False, True, True]


# --------------------------------------------------------------------------- scenario files


def _with_gap(table: dict) -> dict:
    data = load_scenario(STUDIES_DIR / "base_week.toml").to_data()
    data["reality_gap"] = table
    return data


@pytest.mark.parametrize("table, path, words", [
    ({"unmeasured_loss_fraction": {"LP": -0.02}}, "reality_gap.unmeasured_loss_fraction.LP", "must be >= 0"),
    ({"unmeasured_loss_fraction": {"XP": 0.02}}, "reality_gap.unmeasured_loss_fraction.XP", "unknown header (known: HP, LP, MP, SHP)"),
    ({"boiler_efficiency_loss_points_per_week": {"B9": 1.0}}, "reality_gap.boiler_efficiency_loss_points_per_week.B9", "unknown boiler"),
    ({"boiler_efficiency_loss_points_at_start": {"B4": 7.0}}, "reality_gap.boiler_efficiency_loss_points_at_start.B4", "must be <= 5"),
    ({"gt_fouling_rate_factor": {"GT7": 2.0}}, "reality_gap.gt_fouling_rate_factor.GT7", "unknown gas turbine (known: GT1, GT2)"),
    ({"meter_bias": {"B1.steam_tpx": 0.02}}, "reality_gap.meter_bias.B1.steam_tpx", "not a measured flow, power or fuel tag"),
    ({"meter_bias": {"ambient_temp_c": 0.02}}, "reality_gap.meter_bias.ambient_temp_c", "not a measured flow, power or fuel tag"),
    ({"meter_drift_per_week": {"B2.fuel_gj_h": 0.2}}, "reality_gap.meter_drift_per_week.B2.fuel_gj_h", "must be <= 0.05"),
    ({"decision_lag_steps": 2}, "reality_gap.decision_lag_steps", "must be <= 1"),
    ({"decision_lag": 1}, "reality_gap.decision_lag", "unknown key"),
])
def test_bad_values_name_the_field_the_value_and_the_rule(table: dict, path: str, words: str) -> None:
    with pytest.raises(DataFileError) as err:
        scenario_from_dict(_with_gap(table))
    lines = [i for i in err.value.issues if i.path == path]
    assert lines and words in lines[0].rule, err.value.issues
    value = next(iter(table.values()))
    value = next(iter(value.values())) if isinstance(value, dict) else value
    assert lines[0].value == value and repr(value) in str(err.value)  # the value is shown


def test_a_year_of_degradation_beyond_twenty_points_is_refused() -> None:
    data = _with_gap({"boiler_efficiency_loss_points_per_week": {"B4": 1.0}})
    data["hours"] = 8760.0
    with pytest.raises(DataFileError, match=r"B4 would have lost 52.1 points by the end of the 8760 h horizon: at most 20 points"):
        scenario_from_dict(data)


def test_the_bundled_reality_gap_study_builds() -> None:
    scenario = load_scenario(STUDIES_DIR / "reality_gap.toml")
    base = load_scenario(STUDIES_DIR / "base_week.toml")
    hot = load_scenario(STUDIES_DIR / "hot_season.toml")
    assert (scenario.start, scenario.hours, scenario.step_min, scenario.seed, scenario.noise) == \
           (base.start, base.hours, base.step_min, base.seed, base.noise)
    assert scenario.policies == ["practice", "good_practice", "steamopt", "oracle"]
    assert scenario.profile == hot.profile
    gap = scenario.reality_gap
    assert not gap.is_null() and gap.decision_lag_steps == 1
    site = build_site(scenario)
    disturbances = apply_reality_gap(scenario_disturbances(scenario, site), gap, scenario.step_min)
    assert len(disturbances) == 672
    assert disturbances[0].boiler_efficiency_loss == {"B4": 0.01}
    assert disturbances[-1].boiler_efficiency_loss["B4"] == pytest.approx(0.01 + 0.01 * 167.75 / 168.0, rel=1e-12)
    assert disturbances[-1].unmeasured_loss_fraction == {"LP": 0.03} and disturbances[-1].gt_fouling_rate_factor == {"GT1": 1.67}
    # the hot-season week leaves the models' training range on some afternoons, never at night
    out = outside_training_range(scenario.models_path, [d.ambient_temp_c for d in disturbances])
    assert 0 < out.sum() < len(out)
    assert all(d.timestamp.hour >= 9 for d, o in zip(disturbances, out) if o)
    # a day of it on the true plant: balanced, LP losses on, B4 burns more than the site file says
    d = disturbances[40]
    state = SIM.simulate(todays_practice(site, d), d)
    assert_balanced_with_losses(state)
    assert state[unmeasured_loss_tag("LP")] > 0


def test_docs_reality_gap_table_is_current() -> None:
    text = (ROOT / "docs" / "reality_gap.md").read_text()
    table = attribute_tables_markdown([("[reality_gap]", RealityGap)], "x", "x").split("## [reality_gap]", 1)[1]
    assert table.strip() in text, "regenerate the [reality_gap] table of docs/reality_gap.md from scenario_reference_markdown()"
    for option in ("boiler_efficiency_loss_points_per_week", "gt_fouling_rate_factor", "meter_bias", "unmeasured_loss_fraction",
                   "decision_lag_steps"):
        assert f"### `{option}`" in text or f"`{option}`" in text


def test_reality_gap_values_round_trip_through_to_data() -> None:
    scenario = load_scenario(STUDIES_DIR / "reality_gap.toml")
    again = scenario_from_dict(scenario.to_data())
    assert again.reality_gap == scenario.reality_gap
    assert np.isclose(again.reality_gap.gt_fouling_rate_factor["GT1"], 1.67)


def test_sweeps_can_set_a_reality_gap_field() -> None:
    base = load_scenario(STUDIES_DIR / "base_week.toml")
    swept = with_overrides(base, {"reality_gap.unmeasured_loss_fraction.LP": 0.05})
    assert swept.reality_gap.unmeasured_loss_fraction == {"LP": 0.05} and base.reality_gap.is_null()
    with pytest.raises(DataFileError, match=r"reality_gap\.unmeasured_loss_fraction\.LP = 0\.5: must be <= 0\.3"):
        with_overrides(base, {"reality_gap.unmeasured_loss_fraction.LP": 0.5})
