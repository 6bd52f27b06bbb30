"""Learned disturbance forecasts (issue 16, part 3): ONNX round trip, refusal, baselines, accuracy, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import surrogate.forecast as fc
from optimizer.site import load_site
from scenarios.cli import main
from scenarios.forecasting import series_columns, site_series, train_site_forecasters
from scenarios.training import read_historian
from surrogate.forecast import (
    Forecaster,
    ForecastSpec,
    accuracy_by_lead,
    design,
    load_forecasters,
    persistence,
    seasonal_naive,
    train_forecaster,
)
from surrogate.network import ReluNetwork
from surrogate.onnx_io import SurrogateFileError, save_network

ROOT = Path(__file__).resolve().parents[1]
SITE_FILE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"


@pytest.fixture(scope="module")
def historian(tmp_path_factory) -> Path:
    """60 days hourly of the reference site under today's practice (the brief's data)."""
    out = tmp_path_factory.mktemp("hist")
    assert main(["simulate", "--site", str(SITE_FILE), "--hours", "1440", "--step-min", "60", "--seed", "5",
                 "--out", str(out), "--quiet"]) == 0
    return out / "historian.parquet"


@pytest.fixture(scope="module")
def trained(historian, tmp_path_factory):
    site = load_site(SITE_FILE)
    out = tmp_path_factory.mktemp("fc") / "models"
    models = train_site_forecasters(site, read_historian(historian), out)
    return {t.spec.series: t for t in models}, out


# ------------------------------------------------------------------ baselines by hand


def test_persistence_and_seasonal_naive_by_hand():
    v = np.array([10.0, 13.0, 7.0, 4.0, 20.0, 1.0, 9.0, 5.0])
    origins = np.array([0, 3, 5])
    np.testing.assert_array_equal(persistence(v, origins, 4), [[10] * 4, [4] * 4, [1] * 4])
    # season 3: y[t+h-3] for h <= 3, y[t+h-6] for h = 4; no history before the first value
    sn = seasonal_naive(v, origins, 4, 3)
    np.testing.assert_array_equal(sn[1:], [[13, 7, 4, 13], [4, 20, 1, 4]])
    np.testing.assert_array_equal(sn[0], [np.nan, np.nan, 10, np.nan])


def test_accuracy_by_lead_by_hand():
    y = np.array([[10.0, 20.0], [20.0, 40.0]])
    rows = accuracy_by_lead(y, {"a": np.array([[11.0, 20.0], [18.0, 50.0]]), "b": np.array([[10.0, np.nan], [20.0, 40.0]])})
    assert rows[0].mae == {"a": 1.5, "b": 0.0}
    assert rows[0].mape_pct["a"] == pytest.approx(100 * (0.1 + 0.1) / 2)
    # lead 2: the row where b has no value is left out of both methods
    assert rows[1].rows == 1 and rows[1].mae == {"a": 10.0, "b": 0.0}
    assert rows[1].mape_pct["a"] == pytest.approx(25.0)


def test_design_rows_hold_lags_and_targets():
    t = pd.date_range("2026-01-01", periods=10, freq="h")
    s = pd.Series(np.arange(10.0) ** 2, index=t)
    s.iloc[6] = np.nan
    X, Y, pos, _times = design(s, ForecastSpec("x", lags=3, horizon=2, season=3, harmonics=1))
    # origins 2..7; rows whose lags or targets touch position 6 are dropped: 4, 5, 6, 7
    assert pos.tolist() == [2, 3]
    np.testing.assert_array_equal(X[:, :3], [[4, 1, 0], [9, 4, 1]])
    np.testing.assert_array_equal(Y, [[9, 16], [16, 25]])
    np.testing.assert_allclose(X[0, 3:], [np.sin(2 * np.pi * 2 / 24), np.cos(2 * np.pi * 2 / 24)])


# ------------------------------------------------------------------ site glue


def test_site_series_sum_the_header_consumers(historian):
    site = load_site(SITE_FILE)
    frame = read_historian(historian)
    cols = series_columns(site)
    mp = [f"{c.id}.steam_tph" for c in site.consumers.values() if c.header == "MP"]
    assert cols["MP.demand_tph"][1] == mp and len(mp) == 7
    assert {"HP.demand_tph", "LP.demand_tph", "TLE.steam_tph", "ambient_temp_c"} <= set(cols)
    series = site_series(site, frame)
    np.testing.assert_allclose(series["MP.demand_tph"].to_numpy(), frame[mp].to_numpy().sum(1), rtol=1e-12)
    with pytest.raises(ValueError, match=r"series TLE.steam_tph: historian lacks columns \['TLE.steam_tph'\]"):
        site_series(site, frame.drop(columns=["TLE.steam_tph"]))


# ------------------------------------------------------------------ ONNX round trip and serving


def test_onnx_round_trip_equals_the_fit(trained, historian):
    models, out = trained
    served = load_forecasters(out, series=list(models))
    frame = read_historian(historian)
    series = site_series(load_site(SITE_FILE), frame)
    for name, t in models.items():
        X, _Y, _pos, _ = design(series[name], t.spec)
        ref = t.predict(X)  # the standardised ridge fit, before folding
        got = served[name].predict_batch(X)
        assert got.shape == (len(X), 24)
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)
        assert served[name].surrogate.metadata["forecast_series"] == name


def test_forecast_uses_the_model_and_falls_back(trained, historian):
    models, out = trained
    f = load_forecasters(out)["ambient_temp_c"]
    s = read_historian(historian)["ambient_temp_c"]
    hist = s.iloc[: 24 * 50]
    res = f.forecast(hist)
    assert res.method == "model" and res.times[0] == hist.index[-1] + pd.Timedelta(hours=1) and len(res.times) == 24
    x = np.concatenate([hist.to_numpy()[::-1][:24], fc.calendar_features([hist.index[-1]], 2)[0]])
    np.testing.assert_allclose(res.values, models["ambient_temp_c"].predict(x)[0], rtol=1e-6)
    # a gap in the last day: seasonal naive (same hour yesterday), the lead whose value is missing held at the last value
    gap = hist.copy()
    gap.iloc[-5] = np.nan
    res = f.forecast(gap)
    assert res.method == "seasonal_naive" and "fewer than 24 complete" in res.reason and "leads [20] held" in res.reason
    expected = gap.to_numpy()[-24:].copy()
    expected[19] = gap.iloc[-1]
    np.testing.assert_array_equal(res.values, expected)
    # a value far outside the training domain: fallback, naming the input
    hot = hist.copy()
    hot.iloc[-1] = 60.0
    res = f.forecast(hot)
    assert res.method == "seasonal_naive" and "ambient_temp_c[t] = 60 outside the training domain" in res.reason
    # ten hours of history: same hour yesterday where it exists (leads 15-24), the last value held before
    short = hist.iloc[-10:]
    res = f.forecast(short)
    assert res.method == "seasonal_naive" and f"leads {list(range(1, 15))} held" in res.reason
    np.testing.assert_array_equal(res.values, np.concatenate([np.full(14, short.iloc[-1]), short.to_numpy()]))


def test_learned_forecaster_beats_both_baselines_at_every_lead(trained):
    """Seed 5's held-out week: the model's MAE is below persistence's and seasonal naive's at every
    lead 1..24 h of every series (the 1-h TLE forecast is the thin one: its lead takes its own
    ridge penalty, recorded per lead in the file)."""
    models, _ = trained
    for name, t in models.items():
        assert [a.lead for a in t.test] == list(range(1, 25))
        assert len(t.ridge) == 24 and json.loads(t.network.metadata["ridge_alpha_by_lead"]) == t.ridge
        for a in t.test:
            assert a.rows == 168
            assert a.mae["model"] < min(a.mae["persistence"], a.mae["seasonal_naive"]), (name, a.lead, a.mae)


# ------------------------------------------------------------------ refusal


def _one_file(trained, series="MP.demand_tph") -> Path:
    return trained[1] / f"{series}.onnx"


def test_tampered_forecaster_is_refused(trained, tmp_path):
    import shutil

    models, out = trained
    copy = tmp_path / "models"
    shutil.copytree(out, copy)
    path = copy / "MP.demand_tph.onnx"
    data = bytearray(path.read_bytes())
    w = models["MP.demand_tph"].network.weights[0]
    raw = np.float64(w[0, 0]).tobytes()
    at = bytes(data).find(raw)
    assert at > 0
    data[at + 7] ^= 0x01  # one weight changed; the file still parses
    path.write_bytes(bytes(data))
    with pytest.raises(SurrogateFileError, match=r"MP.demand_tph.onnx: file changed since the manifest was written"):
        load_forecasters(copy)
    path.write_bytes(bytes(data[: len(data) // 2]))  # cut short
    with pytest.raises(SurrogateFileError, match="MP.demand_tph.onnx"):
        Forecaster.from_file(path)


def test_forecaster_without_its_metadata_is_refused(trained, tmp_path):
    models, _ = trained
    net = models["MP.demand_tph"].network
    for key in ("forecast_series", "lags", "kind"):
        meta = {k: v for k, v in net.metadata.items() if k != key}
        path = save_network(ReluNetwork(net.weights, net.biases, net.inputs, net.outputs, meta), tmp_path / f"no_{key}.onnx", "MP.demand_tph")
        with pytest.raises(SurrogateFileError, match=rf"no_{key}.onnx: forecaster metadata lacks \['{key}'\]"):
            Forecaster.from_file(path)
    bad = dict(net.metadata, lags="23")  # declares inputs the file does not have
    path = save_network(ReluNetwork(net.weights, net.biases, net.inputs, net.outputs, bad), tmp_path / "lags.onnx", "MP.demand_tph")
    with pytest.raises(SurrogateFileError, match="input names .* do not match its metadata"):
        Forecaster.from_file(path)


def test_forecaster_of_another_series_is_refused(trained):
    path = _one_file(trained)
    assert Forecaster.from_file(path, "MP.demand_tph").spec.series == "MP.demand_tph"
    with pytest.raises(SurrogateFileError, match=r"forecasts series 'MP.demand_tph'; expected a forecaster of 'HP.demand_tph'"):
        Forecaster.from_file(path, "HP.demand_tph")
    _, out = trained
    with pytest.raises(SurrogateFileError, match=r"no forecaster for \['LP_X.demand_tph'\]"):
        load_forecasters(out, series=["MP.demand_tph", "LP_X.demand_tph"])


def test_training_refuses_too_little_data():
    t = pd.date_range("2026-01-01", periods=100, freq="h")
    with pytest.raises(ValueError, match="series 'x': .* complete training rows"):
        train_forecaster(pd.Series(np.ones(100), index=t), ForecastSpec("x"))


# ------------------------------------------------------------------ CLI


def test_cli_forecast_train_writes_atomically_with_an_accuracy_table(historian, tmp_path, capsys, monkeypatch):
    out = tmp_path / "forecasters"
    assert main(["forecast", "train", "--data", str(historian), "--out", str(out), "--site", str(SITE_FILE)]) == 0
    printed = capsys.readouterr().out
    assert "trained 5 forecasters" in printed and "| MP.demand_tph | 24 |" in printed
    table = (out / "accuracy.md").read_text()
    for name in ("HP.demand_tph", "MP.demand_tph", "LP.demand_tph", "TLE.steam_tph", "ambient_temp_c"):
        for lead in (1, 2, 3, 6, 12, 24):
            assert f"| {name} | {lead} |" in table
    doc = json.loads((out / "accuracy.json").read_text())
    assert [d["series"] for d in doc] == ["HP.demand_tph", "MP.demand_tph", "LP.demand_tph", "TLE.steam_tph", "ambient_temp_c"]
    assert len(load_forecasters(out)) == 5
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    # a run that fails part-way (third file) leaves the previous directory as it was, and no temporary directory
    calls = []
    real_save = fc.save_network

    def failing_save(net, path, name):
        calls.append(Path(path))
        if len(calls) == 3:
            raise OSError("disk full")
        return real_save(net, path, name)

    monkeypatch.setattr(fc, "save_network", failing_save)
    with pytest.raises(OSError, match="disk full"):
        main(["forecast", "train", "--data", str(historian), "--out", str(out), "--site", str(SITE_FILE)])
    assert all(p.parent != out and p.parent.parent == out.parent for p in calls)  # written beside, not into, out
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forecasters"]


BUNDLED = ROOT / "scenarios" / "models" / "reference_olefins_forecast"


def test_bundled_forecasters_load_forecast_and_beat_persistence(historian):
    """The bundled forecasters (`make forecasts`) pass the loader's checks, forecast a day ahead with
    their model from the reference site's historian, and their recorded held-out accuracy beats
    both baselines at every lead for every series; there is one per series the site needs."""
    site = load_site(SITE_FILE)
    forecasters = load_forecasters(BUNDLED)
    assert set(forecasters) == set(series_columns(site))
    records = {r["series"]: {t["lead"]: t["mae"] for t in r["test"]} for r in json.loads((BUNDLED / "accuracy.json").read_text())}
    for series in forecasters:
        assert sorted(records[series]) == list(range(1, 25))
        for lead, mae in records[series].items():
            assert mae["model"] < min(mae["persistence"], mae["seasonal_naive"]), (series, lead, mae)
    for name, series in site_series(site, read_historian(historian)).items():
        f = forecasters[name].forecast(series.iloc[-48:])
        assert f.method == "model" and len(f.values) == 24 and np.isfinite(f.values).all(), (name, f.reason)
