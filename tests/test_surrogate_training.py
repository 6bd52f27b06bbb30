"""Data preparation and training of surrogates (no steam network involved)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from surrogate.data import DataError, QuantitySpec, prepare
from surrogate.train import TrainingConfig, fold_scaling, train_quantity

# random (not time-correlated) synthetic rows: steady-state filtering off unless a test asks for it
SPEC = QuantitySpec("f", ["load", "ambient"], ["fuel"], ranges={"load": (10.0, 100.0)}, units={"load": "t/h", "fuel": "GJ/h"},
                    max_step_fraction=1.0)


def synthetic(n: int = 1200, seed: int = 0, noise: float = 0.0) -> pd.DataFrame:
    """A convex fuel curve of load with a mild ambient effect, one row per 15 min."""
    rng = np.random.default_rng(seed)
    load = rng.uniform(10.0, 100.0, n)
    ambient = 24.0 + 11.0 * rng.random(n)
    fuel = 5.0 + 2.8 * load + 0.004 * (load - 60.0) ** 2 - 0.3 * (ambient - 30.0)
    fuel *= 1.0 + noise * rng.standard_normal(n)
    idx = pd.date_range("2026-01-01", periods=n, freq="15min")
    return pd.DataFrame({"load": load, "ambient": ambient, "fuel": fuel, "other": 1.0}, index=idx)


# ------------------------------------------------------------------ preparation


def test_empty_frame_refused():
    with pytest.raises(DataError, match="f: the data has no rows"):
        prepare(pd.DataFrame(columns=["load", "ambient", "fuel"]), SPEC)


def test_missing_column_named():
    with pytest.raises(DataError, match=r"column\(s\) 'ambient' not in the data"):
        prepare(synthetic().drop(columns="ambient"), SPEC)


def test_not_a_frame_refused():
    with pytest.raises(DataError, match="must be a pandas DataFrame"):
        prepare({"load": [1.0]}, SPEC)  # type: ignore[arg-type]


def test_non_numeric_column_refused():
    frame = synthetic()
    frame["fuel"] = "x"
    with pytest.raises(DataError, match="must be numeric"):
        prepare(frame, SPEC)


def test_drops_are_counted_by_reason():
    spec = SPEC
    frame = synthetic()
    frame.iloc[5, 0] = np.nan
    frame.iloc[6, 2] = np.inf
    frame.iloc[7, 0] = 150.0  # out of range
    frame.iloc[8, 0] = 0.0    # unit off
    data = prepare(frame, spec)
    assert data.report.dropped == {"missing": 2, "out_of_range": 2, "not_steady": 0}
    assert data.report.kept == 1196 and len(data.train) + len(data.validation) + len(data.test) == 1196
    assert "missing 2" in str(data.report)


def test_non_steady_rows_dropped():
    n = 200
    idx = pd.date_range("2026-01-01", periods=n, freq="15min")
    load = np.where(np.arange(n) < 100, 30.0, 90.0) + 0.1 * np.sin(np.arange(n))
    frame = pd.DataFrame({"load": load, "ambient": 30.0, "fuel": 3 * load}, index=idx)
    spec = QuantitySpec("f", ["load", "ambient"], ["fuel"], settle_rows=2)
    data = prepare(frame, spec)
    assert data.report.dropped["not_steady"] == 3  # the step and two settling rows
    kept = pd.concat([data.train, data.validation, data.test]).index
    assert idx[100] not in kept and idx[102] not in kept and idx[103] in kept


def test_split_is_by_time():
    data = prepare(synthetic().sample(frac=1.0, random_state=3), SPEC)  # shuffled rows are re-sorted by time
    assert data.train.index.max() < data.validation.index.min() <= data.validation.index.max() < data.test.index.min()
    assert len(data.train) == pytest.approx(0.7 * 1200, abs=2)


def test_too_few_rows():
    with pytest.raises(DataError, match="only 10 usable rows"):
        prepare(synthetic(10), SPEC)


def test_bad_split_refused():
    with pytest.raises(DataError, match="three positive shares"):
        prepare(synthetic(), SPEC, split=(0.5, 0.5, 0.0))


# ------------------------------------------------------------------ training

FAST = TrainingConfig(sizes=((3,), (6,), (12,)), seeds=(0,))


def test_training_reaches_accuracy_and_folds_scaling_exactly():
    data = prepare(synthetic(noise=0.002), SPEC)
    model = train_quantity(data, FAST)
    assert max(model.test.mape_pct) < 0.5
    x, _ = data.xy("test")
    ref = model.sklearn_predict(x)
    np.testing.assert_allclose(model.network.evaluate(x), ref, rtol=1e-9)
    # metadata carries what the ONNX file must record
    md = model.network.metadata
    assert md["data_hash"] == data.data_hash and float(md["test_mape_pct"]) == pytest.approx(model.test.mape_pct[0], rel=1e-5)
    lo, hi = model.network.domain
    assert lo[0] >= 10.0 and hi[0] <= 100.0


def test_training_is_deterministic():
    data = prepare(synthetic(noise=0.002), SPEC)
    a, b = train_quantity(data, FAST), train_quantity(data, FAST)
    for wa, wb in zip(a.network.weights, b.network.weights):
        np.testing.assert_array_equal(wa, wb)


def test_smaller_network_wins_at_equal_accuracy():
    frame = synthetic()
    frame["fuel"] = 3.0 * frame["load"] + 7.0  # linear: every size fits it
    model = train_quantity(prepare(frame, SPEC), TrainingConfig(sizes=((3,), (16,), (8, 8)), seeds=(0,), tolerance=0.5))
    assert model.network.hidden_sizes == [3]


def test_fold_scaling_matches_manual_scaling():
    from sklearn.neural_network import MLPRegressor

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2)) * [10.0, 2.0] + [50.0, 30.0]
    y = (x[:, 0] ** 2 / 100 + x[:, 1])[:, None]
    mx, sx, my, sy = x.mean(0), x.std(0), y.mean(0), y.std(0)
    mlp = MLPRegressor(hidden_layer_sizes=(5,), solver="lbfgs", random_state=0, max_iter=200).fit((x - mx) / sx, ((y - my) / sy).ravel())
    w, b = fold_scaling(mlp, mx, sx, my, sy)
    z = np.maximum(x @ w[0].T + b[0], 0.0)
    np.testing.assert_allclose(z @ w[1].T + b[1], mlp.predict((x - mx) / sx)[:, None] * sy + my, rtol=1e-11)
