"""Forecast one series at leads 1..H periods from its own recent values and the time of day.

Method
------
One *direct* multi-output linear model per series (ridge regression, closed form):

.. math::
    \\hat y_{t+h} = b_h + \\sum_{k=0}^{L-1} w_{h,k}\\, y_{t-k}
                  + \\sum_{j=1}^{J} (\\alpha_{h,j} \\sin 2\\pi j \\tau_t + \\beta_{h,j} \\cos 2\\pi j \\tau_t),
    \\qquad h = 1..H

with ``tau_t`` the time of day of the forecast origin as a fraction of a day (so a daily cycle at
the *target* time, a shift of the origin's, is a linear combination of the origin's harmonics).

Why linear and not an MLP: the disturbances a schedule needs (demands, by-product steam,
ambient) behave like a daily cycle plus AR(1)-type noise plus a slow drift, whose best predictor
is linear in the recent values and the daily harmonics. With ``L >= season`` both baselines lie
in the model's span (persistence: weight 1 on ``y_t``; seasonal naive: weight 1 on
``y_{t+h-season}``), so the least-squares fit cannot be worse than either on its training rows.
The fit is closed form (milliseconds on 60 days hourly), deterministic, and the ONNX file is a
single ``Gemm``: a :class:`~surrogate.network.ReluNetwork` with no hidden layer, written, hashed,
checked and served exactly as the unit surrogates are (:mod:`surrogate.onnx_io`,
:mod:`surrogate.manifest`, :mod:`surrogate.serving`). The ridge penalty is chosen on the last
rows of the training period (held out), then the model is refitted on all training rows.

File metadata (besides the format's own): ``kind = "forecast"``, ``forecast_series``,
``forecast_unit``, ``period_min``, ``lags``, ``horizon``, ``season``, ``harmonics`` and the
accuracy by lead on the test rows. A forecaster is refused (:class:`SurrogateFileError`) if any
of these is missing or malformed, if its input/output names are not the ones those entries imply,
or if it forecasts another series than the one asked for.

Fallbacks: :meth:`Forecaster.forecast` uses the model only when the last ``L`` values are all
present and inside the training domain; otherwise the seasonal-naive forecast (same time one
season earlier), with persistence (the last value held) at the leads whose value one season back
is missing, or persistence alone without that history; the result says which and why.

This module knows nothing of steam networks.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from surrogate import __version__
from surrogate.atomic import atomic_directory, atomic_write_text
from surrogate.manifest import load_model_dir, write_manifest
from surrogate.network import ReluNetwork, Variable
from surrogate.onnx_io import SurrogateFileError, save_network, sha256_hex
from surrogate.serving import OnnxSurrogate

__all__ = [
    "Forecast",
    "ForecastSpec",
    "Forecaster",
    "LeadAccuracy",
    "TrainedForecaster",
    "accuracy_by_lead",
    "accuracy_markdown",
    "load_forecasters",
    "persistence",
    "seasonal_naive",
    "train_forecaster",
    "write_forecasters",
]

log = logging.getLogger(__name__)

FORECAST_KIND = "forecast"
_REQUIRED_META = ("kind", "forecast_series", "forecast_unit", "period_min", "lags", "horizon", "season", "harmonics")
#: Ridge penalties tried, per lead (relative to the number of rows, on standardised features).
#: The fit is of the change from the last value, so a large penalty shrinks a lead's forecast to
#: persistence (plus the mean change): the top of the grid lets a lead where the recent history
#: carries little beyond the last value (by-product steam one hour ahead) stay near persistence.
RIDGE_GRID = (1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)


@dataclass(frozen=True)
class ForecastSpec:
    """What to forecast and from what: ``series`` (name, ``unit``) sampled every ``period_min``
    minutes, from its last ``lags`` values and ``harmonics`` daily sin/cos pairs of the origin's
    time of day, at leads 1..``horizon`` periods; ``season`` periods make a day (seasonal naive)."""

    series: str
    unit: str = ""
    period_min: float = 60.0
    lags: int = 24
    horizon: int = 24
    season: int = 24
    harmonics: int = 2

    def __post_init__(self) -> None:
        if not self.series or not isinstance(self.series, str):
            raise ValueError(f"ForecastSpec.series = {self.series!r}: must be a non-empty name")
        if not (self.period_min > 0 and math.isfinite(self.period_min)):
            raise ValueError(f"ForecastSpec.period_min = {self.period_min!r}: must be a positive number of minutes")
        for name in ("lags", "horizon", "season"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"ForecastSpec.{name} = {getattr(self, name)!r}: must be >= 1")
        if self.harmonics < 0:
            raise ValueError(f"ForecastSpec.harmonics = {self.harmonics!r}: must be >= 0")

    @property
    def lag_names(self) -> list[str]:
        return [f"{self.series}[t-{k}]" if k else f"{self.series}[t]" for k in range(self.lags)]

    @property
    def calendar_names(self) -> list[str]:
        return [f"day_{f}{j}" for j in range(1, self.harmonics + 1) for f in ("sin", "cos")]

    @property
    def input_names(self) -> list[str]:
        return self.lag_names + self.calendar_names

    @property
    def output_names(self) -> list[str]:
        return [f"{self.series}[t+{h}]" for h in range(1, self.horizon + 1)]

    def metadata(self) -> dict[str, str]:
        return {"kind": FORECAST_KIND, "forecast_series": self.series, "forecast_unit": self.unit,
                "period_min": f"{self.period_min:g}", "lags": str(self.lags), "horizon": str(self.horizon),
                "season": str(self.season), "harmonics": str(self.harmonics)}

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str], source: str) -> ForecastSpec:
        """The spec a forecaster file declares; :class:`SurrogateFileError` naming the entry if absent or bad."""
        missing = [k for k in _REQUIRED_META if k not in meta]
        if missing:
            raise SurrogateFileError(f"{source}: forecaster metadata lacks {missing}; expected a forecaster written by surrogate.forecast")
        if meta["kind"] != FORECAST_KIND:
            raise SurrogateFileError(f"{source}: metadata kind = {meta['kind']!r}; expected {FORECAST_KIND!r}")
        try:
            return cls(meta["forecast_series"], meta["forecast_unit"], float(meta["period_min"]), int(meta["lags"]),
                       int(meta["horizon"]), int(meta["season"]), int(meta["harmonics"]))
        except ValueError as exc:
            raise SurrogateFileError(f"{source}: forecaster metadata is malformed ({exc})") from exc


def calendar_features(times: pd.DatetimeIndex | Sequence, harmonics: int) -> np.ndarray:
    """(n, 2*harmonics) daily sin/cos of the time of day of ``times``: columns sin1, cos1, sin2, ..."""
    t = pd.DatetimeIndex(times)
    tau = (t.hour * 3600 + t.minute * 60 + t.second).to_numpy(np.float64) / 86400.0
    cols = []
    for j in range(1, harmonics + 1):
        cols += [np.sin(2 * np.pi * j * tau), np.cos(2 * np.pi * j * tau)]
    return np.column_stack(cols) if cols else np.empty((len(t), 0))


def regular(series: pd.Series, period_min: float) -> pd.Series:
    """``series`` (DatetimeIndex) as means over a regular grid of ``period_min`` minutes (gaps NaN)."""
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError(f"series {series.name!r}: index must be timestamps, got {type(series.index).__name__}")
    return series.astype(np.float64).resample(pd.Timedelta(minutes=period_min)).mean()


def design(series: pd.Series, spec: ForecastSpec) -> tuple[np.ndarray, np.ndarray, np.ndarray, pd.DatetimeIndex]:
    """Rows for every origin with ``lags`` values behind and ``horizon`` ahead on the regular grid:
    features X (n, n_inputs), targets Y (n, horizon), grid positions of the origins, origin times.
    Rows with a missing value anywhere are dropped."""
    y = regular(series, spec.period_min)
    v = y.to_numpy()
    L, H = spec.lags, spec.horizon
    idx = np.arange(L - 1, len(v) - H)
    if len(idx) == 0:
        return np.empty((0, len(spec.input_names))), np.empty((0, H)), idx, pd.DatetimeIndex([])
    lagm = np.column_stack([v[idx - k] for k in range(L)])
    Y = np.column_stack([v[idx + h] for h in range(1, H + 1)])
    X = np.hstack([lagm, calendar_features(y.index[idx], spec.harmonics)])
    ok = np.isfinite(X).all(1) & np.isfinite(Y).all(1)
    return X[ok], Y[ok], idx[ok], y.index[idx[ok]]


# =====================================================================================  baselines


def persistence(values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
    """(n, horizon): the value at each origin, held: ``y_hat[t+h] = y[t]``."""
    v = np.asarray(values, np.float64)
    return np.repeat(v[np.asarray(origins)][:, None], horizon, axis=1)


def seasonal_naive(values: np.ndarray, origins: np.ndarray, horizon: int, season: int) -> np.ndarray:
    """(n, horizon): ``y_hat[t+h] = y[t+h-k*season]`` with the smallest ``k >= 1`` that reaches back to
    ``t`` or before (same time one season earlier); NaN where the history does not reach."""
    v = np.asarray(values, np.float64)
    out = np.full((len(origins), horizon), np.nan)
    for h in range(1, horizon + 1):
        back = h - season * math.ceil(h / season)
        src = np.asarray(origins) + back
        ok = src >= 0
        out[ok, h - 1] = v[src[ok]]
    return out


@dataclass(frozen=True)
class LeadAccuracy:
    """Errors at one lead (periods ahead): MAE in the series' unit and MAPE in %, per method."""

    lead: int
    mae: dict[str, float]
    mape_pct: dict[str, float]
    rows: int


def accuracy_by_lead(y_true: np.ndarray, predictions: Mapping[str, np.ndarray]) -> list[LeadAccuracy]:
    """MAE and MAPE per lead (column) of each method's (n, horizon) predictions; rows where any
    method has no value are left out of every method, so all compare on the same rows."""
    y_true = np.asarray(y_true, np.float64)
    ok = np.isfinite(y_true)
    for p in predictions.values():
        ok &= np.isfinite(p)
    rows = []
    for h in range(y_true.shape[1]):
        m = ok[:, h]
        yt = y_true[m, h]
        mae = {k: float(np.mean(np.abs(p[m, h] - yt))) for k, p in predictions.items()}
        mape = {k: float(100.0 * np.mean(np.abs(p[m, h] - yt) / np.maximum(np.abs(yt), 1e-12))) for k, p in predictions.items()}
        rows.append(LeadAccuracy(h + 1, mae, mape, int(m.sum())))
    return rows


# =====================================================================================  training


@dataclass
class TrainedForecaster:
    """A fitted forecaster: the network to export (physical units), the standardised ridge fit it
    was folded from, and its accuracy by lead on the test rows against both baselines."""

    spec: ForecastSpec
    network: ReluNetwork
    ridge: list[float]          # the ridge penalty of each lead
    coef: np.ndarray = field(repr=False)  # (n_inputs, horizon) on standardised features in the changed basis
    scaling: tuple[np.ndarray, np.ndarray, np.ndarray] = field(repr=False)  # mu_z, s_z, mean change
    test: list[LeadAccuracy] = field(default_factory=list)
    train_rows: int = 0

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Predictions of the fit itself (change of basis, standardise, multiply, add the mean
        change and the last value): the reference the folded network and the ONNX file must reproduce."""
        mx, sx, my = self.scaling
        x = np.atleast_2d(np.asarray(x, np.float64))
        return ((x @ _change_basis(self.spec.lags, x.shape[1]) - mx) / sx) @ self.coef + my + x[:, [0]]


def _change_basis(lags: int, n_inputs: int) -> np.ndarray:
    """(n, n) matrix ``A`` with ``x A = [y_t, y_{t-1} - y_t, ..., y_{t-L+1} - y_t, calendar]``."""
    A = np.eye(n_inputs)
    A[0, 1:lags] = -1.0
    return A


def _ridge(u: np.ndarray, v: np.ndarray, alpha: float) -> np.ndarray:
    n_feat = u.shape[1]
    return np.linalg.solve(u.T @ u + alpha * len(u) * np.eye(n_feat), u.T @ v)


def train_forecaster(series: pd.Series, spec: ForecastSpec, *, test_periods: int | None = None,
                     validation_share: float = 0.2) -> TrainedForecaster:
    """Fit the forecaster of ``spec`` on ``series`` (DatetimeIndex), holding out the last
    ``test_periods`` origins (default: one week of periods) for the accuracy table. Raises
    ``ValueError`` naming the series if there are too few complete rows."""
    X, Y, pos, _times = design(series, spec)
    values = regular(series, spec.period_min).to_numpy()
    if test_periods is None:
        test_periods = round(7 * 24 * 60 / spec.period_min)
    n_grid = len(values)
    test_start = n_grid - spec.horizon - test_periods  # first test origin on the grid
    test = pos >= test_start
    train = pos + spec.horizon < test_start  # targets of training rows end before the first test origin
    n_in = len(spec.input_names)
    if train.sum() < max(5 * n_in, 50) or test.sum() < 1:
        raise ValueError(f"series {spec.series!r}: {int(train.sum())} complete training rows and {int(test.sum())} test rows; "
                         f"need at least {max(5 * n_in, 50)} and 1 (lags {spec.lags}, horizon {spec.horizon}, period {spec.period_min:g} min)")
    Xtr, Ytr = X[train], Y[train]
    n_val = max(1, int(validation_share * len(Xtr)))
    A = _change_basis(spec.lags, n_in)

    def fit(Xf: np.ndarray, Yf: np.ndarray, alpha: float):
        Z = Xf @ A
        mx, sx = Z.mean(0), Z.std(0)
        sx = np.where(sx > 0, sx, 1.0)
        D = Yf - Xf[:, [0]]
        my = D.mean(0)
        return _ridge((Z - mx) / sx, D - my, alpha), (mx, sx, my)

    def predict(Xf: np.ndarray, coef: np.ndarray, mx: np.ndarray, sx: np.ndarray, my: np.ndarray) -> np.ndarray:
        return ((Xf @ A - mx) / sx) @ coef + my + Xf[:, [0]]

    # the penalty per lead (each lead's column is its own ridge problem): the one with the least
    # validation MAE at that lead, the larger on a tie; then refitted on every training row
    scores = []  # (grid, horizon)
    for a in RIDGE_GRID:
        coef_a, scaling = fit(Xtr[:-n_val], Ytr[:-n_val], a)
        scores.append(np.mean(np.abs(predict(Xtr[-n_val:], coef_a, *scaling) - Ytr[-n_val:]), axis=0))
    scores = np.array(scores)
    grid = np.array(RIDGE_GRID)
    alphas = np.array([grid[np.lexsort((-grid, scores[:, h]))[0]] for h in range(spec.horizon)])
    coef = np.zeros((n_in, spec.horizon))
    for a in np.unique(alphas):
        cols = alphas == a
        coef_a, (mx, sx, my) = fit(Xtr, Ytr, float(a))
        coef[:, cols] = coef_a[:, cols]
    # fold the change of basis, the standardisation and the added last value into one affine layer
    # (as surrogate.train.fold_scaling does for the unit surrogates): y = W x + b
    W = (A @ (coef / sx[:, None])).T
    W[:, 0] += 1.0
    b = my - (mx / sx) @ coef
    lo, hi = X[train].min(0), X[train].max(0)
    inputs = [Variable(n, spec.unit if i < spec.lags else "-", float(l), float(u))
              for i, (n, l, u) in enumerate(zip(spec.input_names, lo, hi))]
    outputs = [Variable(n, spec.unit) for n in spec.output_names]
    net = ReluNetwork([W], [b], inputs, outputs)
    trained = TrainedForecaster(spec, net, [float(a) for a in alphas], coef, (mx, sx, my), train_rows=int(train.sum()))

    origins = pos[test]
    preds = {"model": net.evaluate(X[test]),
             "persistence": persistence(values, origins, spec.horizon),
             "seasonal_naive": seasonal_naive(values, origins, spec.horizon, spec.season)}
    trained.test = accuracy_by_lead(Y[test], preds)
    data_hash = sha256_hex(np.ascontiguousarray(values).tobytes() + str(list(regular(series, spec.period_min).index[[0, -1]])).encode())
    net.metadata.update({
        **spec.metadata(),
        "ridge_alpha_by_lead": json.dumps([float(a) for a in alphas]),
        "train_rows": str(trained.train_rows),
        "test_rows": str(int(test.sum())),
        "test_accuracy_by_lead": json.dumps([{"lead": a.lead, "mae": a.mae, "mape_pct": a.mape_pct} for a in trained.test]),
        "data_hash": data_hash,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "library": f"steamopt-surrogate {__version__}; numpy ridge (closed form)",
    })
    log.info("forecaster %s: ridge %g..%g by lead, %d training rows, test MAE lead 1 %.4g (persistence %.4g)", spec.series, alphas.min(), alphas.max(),
             trained.train_rows, trained.test[0].mae["model"], trained.test[0].mae["persistence"])
    return trained


# =====================================================================================  serving


@dataclass(frozen=True)
class Forecast:
    """Values at leads 1..H (``times``: the target timestamps), the method that made them
    (``model``, ``seasonal_naive`` or ``persistence``) and, for a fallback, why."""

    series: str
    times: pd.DatetimeIndex
    values: np.ndarray
    method: str
    reason: str = ""


class Forecaster:
    """A checked forecaster file served by onnxruntime (an :class:`OnnxSurrogate` plus the spec its
    metadata declares; refused on any mismatch, see the module docstring)."""

    def __init__(self, surrogate: OnnxSurrogate, series: str | None = None) -> None:
        source = str(surrogate.path or surrogate.name)
        spec = ForecastSpec.from_metadata(surrogate.metadata, source)
        if series is not None and spec.series != series:
            raise SurrogateFileError(f"{source}: forecasts series {spec.series!r}; expected a forecaster of {series!r}")
        if surrogate.input_names != spec.input_names:
            raise SurrogateFileError(f"{source}: input names {surrogate.input_names} do not match its metadata; expected {spec.input_names}")
        if surrogate.output_names != spec.output_names:
            raise SurrogateFileError(f"{source}: output names {surrogate.output_names} do not match its metadata; expected {spec.output_names}")
        self.surrogate = surrogate
        self.spec = spec

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], series: str | None = None) -> Forecaster:
        """Read, check and serve one forecaster file; ``series``, when given, must be what it forecasts."""
        return cls(OnnxSurrogate.from_file(path), series)

    def predict_batch(self, X: np.ndarray) -> np.ndarray:
        """(n, horizon) by onnxruntime for feature rows ``X`` (n, n_inputs)."""
        return self.surrogate.evaluate_batch(X)

    def forecast(self, history: pd.Series) -> Forecast:
        """Forecast from ``history`` (DatetimeIndex; its last grid period is the origin), falling
        back to seasonal naive or persistence (see the module docstring)."""
        s = self.spec
        y = regular(history, s.period_min)
        if y.empty or not np.isfinite(y.iloc[-1]):
            raise ValueError(f"series {s.series!r}: no value at the forecast origin; cannot forecast")
        origin = y.index[-1]
        times = pd.DatetimeIndex([origin + pd.Timedelta(minutes=s.period_min * h) for h in range(1, s.horizon + 1)])
        v = y.to_numpy()
        reason = ""
        if len(v) >= s.lags and np.isfinite(v[-s.lags:]).all():
            x = np.concatenate([v[::-1][: s.lags], calendar_features([origin], s.harmonics)[0]])
            outside = self.surrogate.check_domain(x)
            if not outside:
                return Forecast(s.series, times, self.surrogate.evaluate(x), "model")
            lo, hi = self.surrogate.domain
            j = self.surrogate.input_names.index(outside[0])
            reason = f"input {outside[0]} = {x[j]:.6g} outside the training domain [{lo[j]:.6g}, {hi[j]:.6g}]"
        else:
            reason = f"fewer than {s.lags} complete recent values"
        sn = seasonal_naive(v, np.array([len(v) - 1]), s.horizon, s.season)[0]
        held = persistence(v, np.array([len(v) - 1]), s.horizon)[0]
        gaps = ~np.isfinite(sn)
        if gaps.all():
            return Forecast(s.series, times, held, "persistence", reason + "; no history one season back")
        if gaps.any():
            reason += f"; leads {[int(h) for h in np.nonzero(gaps)[0] + 1]} held at the last value (no value one season back)"
        return Forecast(s.series, times, np.where(gaps, held, sn), "seasonal_naive", reason)


def load_forecasters(directory: str | os.PathLike[str], series: Sequence[str] | None = None) -> dict[str, Forecaster]:
    """Every forecaster of a model directory (manifest, hashes and file checks of
    :func:`surrogate.manifest.load_model_dir`), keyed by series; each model's name must be its
    series, and ``series``, when given, must all be there."""
    out = {}
    for name, sur in load_model_dir(directory).items():
        out[name] = Forecaster(sur, name)
    if series is not None:
        missing = [s for s in series if s not in out]
        if missing:
            raise SurrogateFileError(f"{directory}: no forecaster for {missing}; it holds {sorted(out)}")
    return out


# =====================================================================================  directory


def accuracy_markdown(trained: Sequence[TrainedForecaster], leads_h: Sequence[float] = (1, 2, 3, 6, 12, 24)) -> str:
    """Test MAE (series unit) and MAPE (%) of the model, persistence and seasonal naive at the
    leads ``leads_h`` (hours; those that are whole periods), one row per series and lead."""
    lines = ["| series | lead h | model MAE | persistence MAE | seasonal naive MAE | model MAPE % | persistence MAPE % | seasonal naive MAPE % | rows |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t in trained:
        hours = {a.lead: a.lead * t.spec.period_min / 60.0 for a in t.test}
        for a in t.test:
            if any(math.isclose(hours[a.lead], h) for h in leads_h):
                lines.append(f"| {t.spec.series} | {hours[a.lead]:g} | {a.mae['model']:.4g} | {a.mae['persistence']:.4g} | "
                             f"{a.mae['seasonal_naive']:.4g} | {a.mape_pct['model']:.3g} | {a.mape_pct['persistence']:.3g} | "
                             f"{a.mape_pct['seasonal_naive']:.3g} | {a.rows} |")
    return "\n".join(lines) + "\n"


def write_forecasters(trained: Sequence[TrainedForecaster], out_dir: str | os.PathLike[str], *, site: str | None = None) -> Path:
    """Write a forecaster directory: one ONNX file per series, ``manifest.toml``, ``accuracy.json``
    and ``accuracy.md``, built under a temporary name beside ``out_dir``, loaded back as a whole
    (:func:`load_forecasters`) and only then renamed into place. Returns ``out_dir``."""
    out_dir = Path(out_dir)
    with atomic_directory(out_dir, check=load_forecasters) as tmp:
        entries = {}
        for t in trained:
            file = f"{t.spec.series}.onnx"
            save_network(t.network, tmp / file, t.spec.series)
            entries[t.spec.series] = (file, t.spec.input_names, t.spec.output_names)
        write_manifest(tmp, entries, site=site)
        doc = [{"series": t.spec.series, "unit": t.spec.unit, "period_min": t.spec.period_min, "ridge_alpha": t.ridge,
                "train_rows": t.train_rows,
                "test": [{"lead": a.lead, "rows": a.rows, "mae": a.mae, "mape_pct": a.mape_pct} for a in t.test]} for t in trained]
        atomic_write_text(tmp / "accuracy.json", json.dumps(doc, indent=1))
        atomic_write_text(tmp / "accuracy.md", f"# Forecast accuracy{': ' + site if site else ''} (test rows)\n\n" + accuracy_markdown(trained))
    log.info("wrote %d forecasters to %s", len(trained), out_dir)
    return out_dir
