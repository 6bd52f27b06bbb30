"""The plan's forecast table (optimizer/plan_forecast.py, issue 16 parts 3-4): header forecasts
split among consumers, interpolation to other period lengths, the horizon's extension, fallbacks,
and the bundled forecasters served unchanged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimizer.plan_forecast import PlanForecaster, series_columns
from optimizer.site import load_site
from scenarios.plant.profiles import ProfileConfig, generate_disturbances
from surrogate.forecast import Forecaster, ForecastSpec, load_forecasters
from surrogate.network import ReluNetwork, Variable
from surrogate.onnx_io import save_network

ROOT = Path(__file__).resolve().parents[1]
SITE = load_site(ROOT / "scenarios" / "sites" / "reference_olefins.toml")
BUNDLED = ROOT / "scenarios" / "models" / "reference_olefins_forecast"
HP = ["HP_REACTOR.steam_tph", "HP_AROMATICS.steam_tph", "HP_PYGAS.steam_tph"]  # the HP header's consumers, design 25/30/15


def _snapshot_values() -> dict[str, float]:
    """Current values of every forecast tag: the consumers' design demands, TLE 250, ambient 30."""
    v = {f"{c.id}.steam_tph": c.demand_tph for c in SITE.consumers.values()}
    v.update({f"{s}.steam_tph": 250.0 for s in SITE.byproduct_sources})
    v["ambient_temp_c"] = 30.0
    return v


def _hand_forecaster(tmp_path: Path, series: str, deltas: list[float], *, lags: int = 2, season: int = 24) -> Forecaster:
    """A real ONNX forecaster whose forecast is known by hand: y[t+h] = y[t] + deltas[h-1] (hourly)."""
    spec = ForecastSpec(series, "t/h", 60.0, lags=lags, horizon=len(deltas), season=season, harmonics=0)
    W = np.zeros((len(deltas), lags))
    W[:, 0] = 1.0
    inputs = [Variable(n, "t/h", -1e4, 1e4) for n in spec.input_names]
    outputs = [Variable(n, "t/h") for n in spec.output_names]
    net = ReluNetwork([W], [np.asarray(deltas, np.float64)], inputs, outputs, spec.metadata())
    return Forecaster.from_file(save_network(net, tmp_path / f"{series}.onnx", series), series)


def _frame(hours: float, seed: int = 3, start: str = "2026-02-02 00:00", step_min: float = 60.0) -> pd.DataFrame:
    """A simulated history of the forecast tags (the simulator's disturbance profiles)."""
    d = generate_disturbances(SITE, ProfileConfig(start=pd.Timestamp(start), hours=hours, step_min=step_min, seed=seed))
    rows = []
    for x in d:
        r = {f"{c}.steam_tph": v for c, v in x.consumer_demand_tph.items()}
        r.update({f"{s}.steam_tph": v for s, v in x.byproduct_steam_tph.items()})
        r["ambient_temp_c"] = x.ambient_temp_c
        rows.append(r)
    return pd.DataFrame(rows, index=pd.DatetimeIndex([x.timestamp for x in d]))


# ------------------------------------------------------------------ by hand


def test_split_interpolation_and_extension_by_hand(tmp_path):
    f = _hand_forecaster(tmp_path, "HP.demand_tph", [6.0, 12.0, -3.0], season=2)
    pf = PlanForecaster(SITE, {"HP.demand_tph": f})
    values = _snapshot_values()
    values.update({"HP_REACTOR.steam_tph": 20.0, "HP_AROMATICS.steam_tph": 40.0, "HP_PYGAS.steam_tph": 10.0})  # header 70
    pf.observe("2026-03-02 09:00", {**values, "HP_REACTOR.steam_tph": 10.0})
    start = pd.Timestamp("2026-03-02 10:00")

    table, methods = pf.forecast(values, start, 7, 60.0)
    assert list(table.index) == [start + pd.Timedelta(hours=t) for t in range(7)]
    header = table[HP].sum(axis=1).to_numpy()
    # leads 1..3 from the model (70 + 6, 70 + 12, 70 - 3); beyond its 3 h horizon (end 13:00), its
    # own forecast 2 h (the season) earlier: 14:00 <- 12:00, 15:00 <- 13:00, 16:00 <- 12:00
    np.testing.assert_allclose(header, [70, 76, 82, 67, 82, 67, 82], rtol=1e-12)
    # split in the consumers' current proportions 20 : 40 : 10
    np.testing.assert_allclose(table["HP_REACTOR.steam_tph"].to_numpy(), header * 20 / 70, rtol=1e-12)
    np.testing.assert_allclose(table["HP_AROMATICS.steam_tph"].to_numpy(), header * 40 / 70, rtol=1e-12)
    assert methods["HP.demand_tph"] == ("model; from 2026-03-02T14:00 (beyond the forecaster's 3 h horizon): "
                                        "seasonal_naive of the forecast 2 h earlier")
    # the series without a forecaster are held at their current values
    assert methods["MP.demand_tph"] == "persistence (no forecaster for this series)"
    np.testing.assert_array_equal(table["MP_STRIPPER.steam_tph"].to_numpy(), np.full(7, 12.0))
    np.testing.assert_array_equal(table["ambient_temp_c"].to_numpy(), np.full(7, 30.0))
    assert set(table.columns) == {f"{c}.steam_tph" for c in SITE.consumers} | {"TLE.steam_tph", "ambient_temp_c"}

    # 15-min periods: straight lines between now (70 at 10:00) and the hourly forecast values
    table15, _ = pf.forecast(values, start, 13, 15.0)
    np.testing.assert_allclose(table15[HP].sum(axis=1).to_numpy(),
                               [70, 71.5, 73, 74.5, 76, 77.5, 79, 80.5, 82, 78.25, 74.5, 70.75, 67], rtol=1e-12)
    assert table15.index[1] == pd.Timestamp("2026-03-02 10:15")

    # a start off the forecaster's grid (10:20: the origin is the 10:00 bin, leads at 11:00, 12:00, 13:00)
    table_off, _ = pf.forecast(values, pd.Timestamp("2026-03-02 10:20"), 3, 60.0)
    np.testing.assert_allclose(table_off[HP].sum(axis=1).to_numpy(), [70, 76 + (82 - 76) / 3, 82 + (67 - 82) / 3], rtol=1e-12)


def test_observations_inside_the_start_hour_make_the_forecasters_origin_value(tmp_path):
    """The origin of an hourly forecaster is the mean of the start hour's observations up to now:
    those held before ``start`` plus the current value, counted once if it was observed already."""
    f = _hand_forecaster(tmp_path, "HP.demand_tph", [6.0, 12.0, -3.0])
    values = _snapshot_values()  # HP header 70 now
    pf = PlanForecaster(SITE, {"HP.demand_tph": f})
    pf.observe("2026-03-02 09:00", {**values, "HP_REACTOR.steam_tph": 5.0})   # header 50
    pf.observe("2026-03-02 10:00", {**values, "HP_REACTOR.steam_tph": 15.0})  # header 60, in the start hour
    # not yet observed at 10:20: the 10:00 bucket is (60 + 70) / 2 = 65, so lead 1 (11:00) = 71
    table, _ = pf.forecast(values, "2026-03-02 10:20", 2, 40.0)  # periods at 10:20 and 11:00
    np.testing.assert_allclose(table[HP].sum(axis=1).to_numpy(), [70, 71], rtol=1e-12)
    # observed at 10:20 already (the cycle's step came first): counted once, the same 65
    pf.observe("2026-03-02 10:20", values)
    table, _ = pf.forecast(values, "2026-03-02 10:20", 2, 40.0)
    np.testing.assert_allclose(table[HP].sum(axis=1).to_numpy(), [70, 71], rtol=1e-12)


def test_extension_without_a_season_of_forecast_is_persistence(tmp_path):
    f = _hand_forecaster(tmp_path, "HP.demand_tph", [6.0, 12.0, -3.0], season=24)
    pf = PlanForecaster(SITE, {"HP.demand_tph": f})
    values = _snapshot_values()  # HP 25 + 30 + 15 = 70
    pf.observe("2026-03-02 09:00", values)
    table, methods = pf.forecast(values, "2026-03-02 10:00", 6)
    np.testing.assert_allclose(table[HP].sum(axis=1).to_numpy(), [70, 76, 82, 67, 67, 67], rtol=1e-12)
    assert methods["HP.demand_tph"].endswith("from 2026-03-02T14:00 (beyond the forecaster's 3 h horizon): persistence of the forecast's last value")


def test_all_zero_header_splits_by_design_and_flows_are_never_negative(tmp_path):
    values = _snapshot_values()
    values.update(dict.fromkeys(HP, 0.0))
    pf = PlanForecaster(SITE, {"HP.demand_tph": _hand_forecaster(tmp_path, "HP.demand_tph", [7.0, 14.0, -5.0])})
    pf.observe("2026-03-02 09:00", values)
    table, _ = pf.forecast(values, "2026-03-02 10:00", 4)
    # header 0, then 7, 14 and -5 cut to 0; split by the design demands 25 : 30 : 15
    np.testing.assert_allclose(table["HP_REACTOR.steam_tph"].to_numpy(), np.array([0, 7, 14, 0]) * 25 / 70, rtol=1e-12)
    np.testing.assert_allclose(table["HP_PYGAS.steam_tph"].to_numpy(), np.array([0, 7, 14, 0]) * 15 / 70, rtol=1e-12)
    assert (table.drop(columns="ambient_temp_c").to_numpy() >= 0).all()

    # a by-product source forecast to go negative is cut at 0 too; ambient may go below zero
    tle = _hand_forecaster(tmp_path, "TLE.steam_tph", [-100.0, -300.0])
    amb = _hand_forecaster(tmp_path, "ambient_temp_c", [-20.0, -40.0])
    pf = PlanForecaster(SITE, {"TLE.steam_tph": tle, "ambient_temp_c": amb})
    values = _snapshot_values()
    pf.observe("2026-03-02 09:00", values)
    table, _ = pf.forecast(values, "2026-03-02 10:00", 3)
    np.testing.assert_allclose(table["TLE.steam_tph"].to_numpy(), [250, 150, 0])
    np.testing.assert_allclose(table["ambient_temp_c"].to_numpy(), [30, 10, -10])


# ------------------------------------------------------------------ fallbacks


def test_no_forecasters_is_persistence_of_the_current_values():
    values = _snapshot_values()
    table, methods = PlanForecaster(SITE, None).forecast(values, "2026-03-02 10:00", 24, 60.0)
    assert methods == dict.fromkeys(series_columns(SITE), "persistence (no forecasters)")
    for tag, v in values.items():
        np.testing.assert_array_equal(table[tag].to_numpy(), np.full(24, v))


def test_no_history_and_short_history_fall_back_as_the_forecaster_does():
    fcs = load_forecasters(BUNDLED)
    frame = _frame(20.0)  # 20 h: fewer than the 24 lags
    values = frame.iloc[-1].to_dict()
    start = frame.index[-1]

    # no history at all: only the current value, held (the forecaster's own fallback, its reason reported)
    table, methods = PlanForecaster(SITE, fcs).forecast(values, start, 24)
    for name, (_unit, tags) in series_columns(SITE).items():
        assert methods[name].startswith("seasonal_naive (fewer than 24 complete recent values; leads [1, 2, 3,")
        assert methods[name].endswith(" 22, 23] held at the last value (no value one season back))")
        np.testing.assert_allclose(table[tags].to_numpy(), np.tile(frame[tags].iloc[-1].to_numpy(), (24, 1)), rtol=1e-12)

    # 20 hourly values: seasonal naive where a value a day back exists (leads 5..24), the last value held before
    pf = PlanForecaster(SITE, fcs)
    pf.load_history(frame.iloc[:-1])
    table, methods = pf.forecast(values, start, 24)
    cols = series_columns(SITE)
    for name, (_unit, tags) in cols.items():
        direct = fcs[name].forecast(frame[tags].sum(axis=1))
        assert direct.method == "seasonal_naive"
        assert methods[name] == f"seasonal_naive ({direct.reason})"
        assert "leads [1, 2, 3, 4] held at the last value" in methods[name]
        np.testing.assert_allclose(table[tags].sum(axis=1).to_numpy()[1:], direct.values[:23], rtol=1e-12)


def test_forecast_raises_only_for_bad_arguments():
    pf = PlanForecaster(SITE, load_forecasters(BUNDLED))
    values = _snapshot_values()
    with pytest.raises(ValueError, match=r"periods = 0: must be an integer >= 1"):
        pf.forecast(values, "2026-03-02 10:00", 0)
    with pytest.raises(ValueError, match=r"period_min = -15: must be a positive number of minutes"):
        pf.forecast(values, "2026-03-02 10:00", 4, -15)
    with pytest.raises(ValueError, match=r"start = 'soon': must be a timestamp"):
        pf.forecast(values, "soon", 4)
    with pytest.raises(ValueError, match=r"start = .*must be naive site-local time"):
        pf.forecast(values, pd.Timestamp("2026-03-02 10:00", tz="UTC"), 4)
    with pytest.raises(ValueError, match=r"values\['LP_FLARE.steam_tph'\] = None: must be a finite number \(the current value of series LP.demand_tph\)"):
        pf.forecast({k: v for k, v in values.items() if k != "LP_FLARE.steam_tph"}, "2026-03-02 10:00", 4)
    with pytest.raises(ValueError, match=r"values\['TLE.steam_tph'\] = -1.0: must be >= 0"):
        pf.forecast({**values, "TLE.steam_tph": -1.0}, "2026-03-02 10:00", 4)
    with pytest.raises(ValueError, match=r"\['LP_X.demand_tph'\] are not series of site"):
        PlanForecaster(SITE, {"LP_X.demand_tph": next(iter(load_forecasters(BUNDLED).values()))})


# ------------------------------------------------------------------ the bundled forecasters


@pytest.fixture(scope="module")
def week() -> pd.DataFrame:
    return _frame(4 * 24.0, seed=3)


def test_bundled_forecasters_on_simulated_history_give_the_models_values(week):
    fcs = load_forecasters(BUNDLED)
    history, now = week.iloc[:-1], week.iloc[-1]
    start = week.index[-1]
    by_frame = PlanForecaster(SITE, fcs)
    by_frame.load_history(history)
    by_cycle = PlanForecaster(SITE, fcs)  # the Supervisor's way: observe every cycle
    for ts, row in history.iterrows():
        by_cycle.observe(ts, row.to_dict())

    table, methods = by_frame.forecast(now.to_dict(), start, 24, 60.0)
    table_cycle, methods_cycle = by_cycle.forecast(now.to_dict(), start, 24, 60.0)
    pd.testing.assert_frame_equal(table, table_cycle)
    assert methods == methods_cycle == dict.fromkeys(series_columns(SITE), "model")
    for name, (_unit, tags) in series_columns(SITE).items():
        direct = fcs[name].forecast(week[tags].sum(axis=1))
        assert direct.method == "model"
        got = table[tags].sum(axis=1).to_numpy()
        assert got[0] == pytest.approx(now[tags].sum(), rel=1e-12)  # period 0 = now
        np.testing.assert_allclose(got[1:], direct.values[:23], rtol=1e-9)  # period t = lead t
    # consumers keep their current proportions in every period
    mp = [t for t in series_columns(SITE)["MP.demand_tph"][1]]
    shares = table[mp].div(table[mp].sum(axis=1), axis=0)
    np.testing.assert_allclose(shares.to_numpy(), np.tile((now[mp] / now[mp].sum()).to_numpy(), (24, 1)), rtol=1e-9)

    # 15-min periods over 24 h: the same model values at the hours, straight lines between
    t15, m15 = by_frame.forecast(now.to_dict(), start, 96, 15.0)
    assert methods == m15
    tle = fcs["TLE.steam_tph"].forecast(week["TLE.steam_tph"]).values
    curve = np.concatenate([[now["TLE.steam_tph"]], tle])
    np.testing.assert_allclose(t15["TLE.steam_tph"].to_numpy()[::4], curve[:24], rtol=1e-9)
    np.testing.assert_allclose(t15["TLE.steam_tph"].to_numpy()[1::4], 0.75 * curve[:24] + 0.25 * curve[1:25], rtol=1e-9)
    assert (t15.drop(columns="ambient_temp_c").to_numpy() >= 0).all()

    # 36 h: beyond the 24-lead horizon, the forecast a day earlier
    t36, m36 = by_frame.forecast(now.to_dict(), start, 36, 60.0)
    np.testing.assert_allclose(t36["TLE.steam_tph"].to_numpy()[25:], t36["TLE.steam_tph"].to_numpy()[1:12], rtol=1e-12)
    assert m36["TLE.steam_tph"].startswith(f"model; from {(start + pd.Timedelta(hours=25)).isoformat(timespec='minutes')} "
                                           "(beyond the forecaster's 24 h horizon): seasonal_naive of the forecast 24 h earlier")


def test_history_is_bounded_and_later_history_is_not_used(week):
    fcs = load_forecasters(BUNDLED)
    pf = PlanForecaster(SITE, fcs)
    fine = _frame(4 * 24.0, seed=4, step_min=5.0)  # every 5 min for 4 days
    for ts, row in fine.iterrows():
        pf.observe(ts, row.to_dict())
    h = pf.history("HP.demand_tph")
    assert pf.bucket_min == 60.0 and pf.history_h == pytest.approx(50.0)
    assert len(h) == 51 and h.index[-1] == fine.index[-1].floor("h")
    # each kept value is the mean of the hour's observations
    tags = series_columns(SITE)["HP.demand_tph"][1]
    hour = fine.index[-1].floor("h") - pd.Timedelta(hours=3)
    assert h[hour] == pytest.approx(fine[tags].sum(axis=1)[hour:hour + pd.Timedelta(minutes=55)].mean(), rel=1e-12)

    # a forecast from an earlier time sees only the history up to then
    values = week.iloc[-1].to_dict()
    early = PlanForecaster(SITE, fcs)
    early.load_history(week)
    cut = PlanForecaster(SITE, fcs)
    cut.load_history(week.iloc[:-12])
    a, _ = early.forecast(values, week.index[-12], 6)
    b, _ = cut.forecast(values, week.index[-12], 6)
    pd.testing.assert_frame_equal(a, b)
