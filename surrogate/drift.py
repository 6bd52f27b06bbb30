"""Drift monitoring of served surrogates: each model's prediction against what the plant did.

Every observation (a snapshot, or a historian row) gives, for each model, the measured inputs
and the measured outputs. The model predicts the outputs from the measured inputs; the signed
relative error of output ``j`` is

.. math:: e_j = 100\\,\\frac{\\hat y_j(x) - y_j}{|y_j|}\\quad[\\%]

(positive: the model predicts more than the plant did). The learned quantities are steady-state
curves, so the measured output of the same snapshot is "what the plant then did"; rows where an
input moved by more than ``max_step_fraction`` of its training span since the model's previous
observation are not steady and are skipped. Each model keeps the last ``window`` usable errors.

**Validated band.** Each model was accepted with a held-out accuracy: mean absolute percentage
error :math:`m_v` on the test split (``accuracy.json`` of the model directory, else the
``test_mape_pct`` in the ONNX file's metadata). Errors inside the band are what the model was
validated to make; the monitor asks whether the recent errors are *significantly* outside it.

**Rule.** Over the window (``n >= min_observations`` errors) of one output, with
:math:`\\bar e` the mean (bias), :math:`\\bar a` the mean of :math:`|e|` (rolling MAPE), and
:math:`s_e, s_a` their sample standard deviations:

* serial correlation (consecutive snapshots of a slowly moving plant are not independent) is
  accounted for with the AR(1) effective sample size
  :math:`n_{eff} = n (1-\\rho)/(1+\\rho)`, :math:`\\rho` the larger lag-1 autocorrelation of
  :math:`e` and :math:`|e|`, clipped to [0, 0.95];
* MAPE test: flagged when the one-sided lower confidence bound of the rolling MAPE exceeds
  ``mape_factor`` times the validated MAPE,
  :math:`\\bar a - z\\, s_a/\\sqrt{n_{eff}} > k_{mape}\\, m_v`;
* bias test: flagged when the lower confidence bound of the absolute bias exceeds
  ``bias_factor`` times the validated MAPE,
  :math:`|\\bar e| - z\\, s_e/\\sqrt{n_{eff}} > k_{bias}\\, m_v`.

With ``z = 3`` each test has a one-sided false-alarm probability of about 0.13 % per check
under its null hypothesis (normal errors of a model whose true MAPE is :math:`k_{mape} m_v`, or
whose true bias is :math:`k_{bias} m_v`); a healthy model sits well inside both (its MAPE is
about :math:`m_v` and its bias about 0). A model is flagged while either test holds; it
returns to "in band" by itself once the window holds errors inside the band again (e.g. after
a retrained model is loaded and :meth:`DriftMonitor.reset` is called).

**Robustness.** :meth:`DriftMonitor.observe` never raises on snapshot data: a snapshot that is
not a mapping, a missing tag, a non-numeric or non-finite value, an output too close to zero
for a relative error, an input outside the training domain (``domain_tolerance`` of the span
beyond it: extrapolation is not drift; a unit that is off reads 0 below its domain), a
non-steady row, a row whose inputs and outputs repeat the model's previous usable row exactly
(a frozen or re-sent snapshot is not new evidence: counting it again would make a stale
error look significant) or an onnxruntime failure is skipped and counted per model and reason.

Knows nothing of steam networks: models are read by their input and output names.
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from surrogate.safe_read import read_json_file
from surrogate.serving import OnnxSurrogate

__all__ = [
    "ACCURACY_NAME",
    "SKIP_REASONS",
    "DriftConfig",
    "DriftMonitor",
    "ValidatedBand",
    "validated_bands",
    "window_statistics",
]

log = logging.getLogger(__name__)

ACCURACY_NAME = "accuracy.json"
_MAX_ACCURACY_BYTES = 50_000_000
#: Reasons an observation of a model is skipped, in the order they are checked.
SKIP_REASONS = ("missing", "bad_value", "zero_output", "out_of_domain", "not_steady", "repeated", "evaluation_error")


@dataclass(frozen=True)
class DriftConfig:
    """Settings of the drift monitor (see the module docstring for the rule).

    window : int
        Usable observations kept per model (rolling window), >= 2.
    min_observations : int
        No verdict before the window holds this many, 2 <= min_observations <= window.
    z : float
        One-sided confidence multiplier of both tests (3.0: about 0.13 % per check), > 0.
    mape_factor : float
        Band of the rolling MAPE, times the validated MAPE, > 0.
    bias_factor : float
        Band of the absolute rolling bias, times the validated MAPE, > 0.
    domain_tolerance : float
        Inputs up to this fraction of the training span outside the domain still count, >= 0.
    max_step_fraction : float | None
        An input moving by more than this fraction of its training span since the model's previous
        observation makes the row non-steady (skipped); None: no steadiness check. > 0.
    min_abs_output : float
        Outputs with ``|y|`` below this (output units) are skipped (no relative error), >= 0.
    """

    window: int = 96
    min_observations: int = 32
    z: float = 3.0
    mape_factor: float = 2.0
    bias_factor: float = 1.0
    domain_tolerance: float = 0.02
    max_step_fraction: float | None = 0.25
    min_abs_output: float = 1e-6

    def __post_init__(self) -> None:
        def bad(name: str, rule: str) -> None:
            raise ValueError(f"DriftConfig.{name} = {getattr(self, name)!r}: must be {rule}")

        for name in ("window", "min_observations"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int):
                bad(name, "an integer")
        if self.window < 2:
            bad("window", ">= 2")
        if not 2 <= self.min_observations <= self.window:
            bad("min_observations", f"between 2 and window ({self.window})")
        for name in ("z", "mape_factor", "bias_factor"):
            v = getattr(self, name)
            if not (isinstance(v, Real) and math.isfinite(v) and v > 0):
                bad(name, "a finite number > 0")
        for name in ("domain_tolerance", "min_abs_output"):
            v = getattr(self, name)
            if not (isinstance(v, Real) and math.isfinite(v) and v >= 0):
                bad(name, "a finite number >= 0")
        v = self.max_step_fraction
        if v is not None and not (isinstance(v, Real) and math.isfinite(v) and v > 0):
            bad("max_step_fraction", "a finite number > 0, or None")


@dataclass(frozen=True)
class ValidatedBand:
    """Held-out accuracy a model was accepted with: validated MAPE (%) per output, and where it came from."""

    model: str
    outputs: tuple[str, ...]
    mape_pct: tuple[float, ...]
    source: str


# =====================================================================================  bands


def _read_accuracy(path: Path) -> dict[str, list[float]]:
    """quantity -> test MAPE (%) per output, from an ``accuracy.json`` (a list of report rows)."""
    rows = read_json_file(path, _MAX_ACCURACY_BYTES, what="accuracy report")  # size and nesting limited
    if not isinstance(rows, list):
        raise ValueError(f"{path}: top level is {type(rows).__name__}; expected a list of rows with 'quantity' and 'test'")
    out: dict[str, list[float]] = {}
    for k, row in enumerate(rows):
        name = row.get("quantity") if isinstance(row, dict) else None
        mape = row.get("test", {}).get("mape_pct") if isinstance(row, dict) and isinstance(row.get("test"), dict) else None
        if not isinstance(name, str) or not isinstance(mape, list) or not mape or not all(
                isinstance(v, Real) and not isinstance(v, bool) and math.isfinite(v) and v > 0 for v in mape):
            raise ValueError(f"{path}: row {k}: expected 'quantity' (string) and 'test.mape_pct' (list of finite numbers > 0), got {str(row)[:120]}")
        out[name] = [float(v) for v in mape]
    return out


def validated_bands(models: Mapping[str, OnnxSurrogate], accuracy_path: str | os.PathLike[str] | None = None) -> dict[str, ValidatedBand]:
    """The validated band of every model: the held-out test MAPE (%) per output from
    ``accuracy_path`` (an ``accuracy.json``; default: the one next to the first model's file, if
    any), else from the model file's ``test_mape_pct`` metadata. Raises ValueError naming a model
    with neither, or whose report row has the wrong number of outputs."""
    if accuracy_path is None:
        dirs = {m.path.parent for m in models.values() if m.path is not None}
        candidates = [d / ACCURACY_NAME for d in dirs if (d / ACCURACY_NAME).is_file()]
        accuracy_path = candidates[0] if len(candidates) == 1 else None
    table = _read_accuracy(Path(accuracy_path)) if accuracy_path is not None else {}
    bands: dict[str, ValidatedBand] = {}
    for name, m in models.items():
        if name in table:
            mape, source = table[name], f"{accuracy_path} (test split)"
        else:
            raw = m.metadata.get("test_mape_pct", "")
            try:
                mape = [float(v) for v in raw.split(",")] if raw else []
            except ValueError:
                mape = []
            source = f"{m.path or name} metadata test_mape_pct"
            if not mape or not all(math.isfinite(v) and v > 0 for v in mape):
                raise ValueError(f"model {name!r}: no validated accuracy: not in {accuracy_path or 'an accuracy report'} and "
                                 f"metadata test_mape_pct = {raw!r} (expected comma-separated numbers > 0)")
        if len(mape) != m.n_outputs:
            raise ValueError(f"model {name!r}: validated accuracy has {len(mape)} outputs in {source}; the model has {m.n_outputs} {m.output_names}")
        bands[name] = ValidatedBand(name, tuple(m.output_names), tuple(float(v) for v in mape), source)
    return bands


# =====================================================================================  statistics


def _lag1(v: np.ndarray) -> float:
    d = v - v.mean()
    den = float(d @ d)
    return float(d[1:] @ d[:-1]) / den if den > 0 else 0.0


def window_statistics(errors_pct: np.ndarray, validated_mape_pct: float, config: DriftConfig) -> dict[str, Any]:
    """Rolling statistics and the verdict of one output over a window of signed errors (%).

    Returns n, n_eff, mape_pct, bias_pct, std_pct, max_ape_pct, the lower confidence bounds
    mape_lcb_pct and abs_bias_lcb_pct, the bands band_mape_pct and band_bias_pct, and flagged /
    reason (see the module docstring). With fewer than ``min_observations`` errors: no verdict."""
    e = np.asarray(errors_pct, dtype=np.float64)
    n = int(e.size)
    band_mape, band_bias = config.mape_factor * validated_mape_pct, config.bias_factor * validated_mape_pct
    out: dict[str, Any] = {"n": n, "n_eff": float("nan"), "mape_pct": float("nan"), "bias_pct": float("nan"), "std_pct": float("nan"),
                           "max_ape_pct": float("nan"), "mape_lcb_pct": float("nan"), "abs_bias_lcb_pct": float("nan"),
                           "validated_mape_pct": validated_mape_pct, "band_mape_pct": band_mape, "band_bias_pct": band_bias,
                           "flagged": False, "reason": ""}
    if n == 0:
        out["reason"] = "no observations"
        return out
    a = np.abs(e)
    out.update(mape_pct=float(a.mean()), bias_pct=float(e.mean()), max_ape_pct=float(a.max()))
    if n < 2:
        out["reason"] = f"{n} of {config.min_observations} observations needed"
        return out
    s_e, s_a = float(e.std(ddof=1)), float(a.std(ddof=1))
    rho = min(max(_lag1(e), _lag1(a), 0.0), 0.95)
    n_eff = n * (1.0 - rho) / (1.0 + rho)
    mape_lcb = out["mape_pct"] - config.z * s_a / math.sqrt(n_eff)
    bias_lcb = abs(out["bias_pct"]) - config.z * s_e / math.sqrt(n_eff)
    out.update(n_eff=n_eff, std_pct=s_e, mape_lcb_pct=mape_lcb, abs_bias_lcb_pct=bias_lcb)
    if n < config.min_observations:
        out["reason"] = f"{n} of {config.min_observations} observations needed"
        return out
    reasons = []
    if mape_lcb > band_mape:
        reasons.append(f"rolling MAPE {out['mape_pct']:.3g} % (lower bound {mape_lcb:.3g} %) above {config.mape_factor:g} x validated {validated_mape_pct:.3g} %")
    if bias_lcb > band_bias:
        reasons.append(f"rolling bias {out['bias_pct']:+.3g} % (|bias| lower bound {bias_lcb:.3g} %) above {config.bias_factor:g} x validated {validated_mape_pct:.3g} %")
    out["flagged"] = bool(reasons)
    out["reason"] = "; ".join(reasons) if reasons else "in band"
    return out


# =====================================================================================  monitor


@dataclass
class _ModelState:
    errors: deque  # of np.ndarray (n_outputs,), signed %
    counts: dict[str, int] = field(default_factory=dict)
    previous_x: np.ndarray | None = None
    previous_xy: np.ndarray | None = None  # inputs and outputs of the last usable row
    flagged: bool = False
    flagged_since: str | None = None
    first_flagged_at: str | None = None
    flagged_checks: int = 0
    last_at: str | None = None
    stats: list[dict[str, Any]] = field(default_factory=list)


def _number(value: object) -> float:
    """A finite float, or NaN for anything else (bool, str, None, inf, NaN, objects)."""
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)):
        return float("nan")
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        return float("nan")
    return v if math.isfinite(v) else float("nan")


def _stamp(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return str(value)[:64]


class DriftMonitor:
    """Rolling prediction errors of each served surrogate against measured outputs.

    ``models``: ``{name: OnnxSurrogate}`` (e.g. :func:`surrogate.manifest.load_model_dir`);
    ``bands``: validated bands per model (default: :func:`validated_bands` of ``models``, i.e.
    the ``accuracy.json`` next to the model files). :meth:`observe` one snapshot at a time
    (never raises on its data), or :meth:`observe_frame` a historian table; :meth:`status`,
    :meth:`flagged` and :meth:`summary` report. Not thread-safe: call from one thread (the
    supervisory cycle), or serialise calls.
    """

    def __init__(self, models: Mapping[str, OnnxSurrogate], bands: Mapping[str, ValidatedBand] | None = None,
                 config: DriftConfig | None = None) -> None:
        if not models:
            raise ValueError("DriftMonitor: models is empty; expected {name: OnnxSurrogate}")
        self.models: dict[str, OnnxSurrogate] = dict(models)
        self.config = config or DriftConfig()
        self.bands: dict[str, ValidatedBand] = dict(bands) if bands is not None else validated_bands(self.models)
        missing = [n for n in self.models if n not in self.bands]
        if missing:
            raise ValueError(f"DriftMonitor: no validated band for models {missing}")
        for name, m in self.models.items():
            if len(self.bands[name].mape_pct) != m.n_outputs:
                raise ValueError(f"DriftMonitor: band of {name!r} has {len(self.bands[name].mape_pct)} outputs; the model has {m.n_outputs}")
        self._span: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for name, m in self.models.items():
            lo, hi = (np.asarray(v, np.float64) for v in m.domain)
            span = np.where(np.isfinite(hi - lo) & (hi > lo), hi - lo, np.inf)
            self._span[name] = (lo, hi, span)
        self.bad_snapshots = 0
        self.observations = 0
        self._state: dict[str, _ModelState] = {}
        self.reset()

    @classmethod
    def from_model_dir(cls, directory: str | os.PathLike[str], config: DriftConfig | None = None) -> DriftMonitor:
        """Load a model directory (checked, :func:`surrogate.manifest.load_model_dir`) and its
        ``accuracy.json`` bands."""
        from surrogate.manifest import load_model_dir

        models = load_model_dir(directory)
        acc = Path(directory) / ACCURACY_NAME
        return cls(models, validated_bands(models, acc if acc.is_file() else None), config)

    def reset(self, models: Sequence[str] | None = None) -> None:
        """Forget the windows and counts of ``models`` (default: all), e.g. after a reload."""
        for name in models if models is not None else list(self.models):
            if name not in self.models:
                raise ValueError(f"DriftMonitor.reset: unknown model {name!r} (known: {', '.join(self.models)})")
            self._state[name] = _ModelState(errors=deque(maxlen=self.config.window),
                                            counts={"observed": 0, "used": 0, **{r: 0 for r in SKIP_REASONS}})

    # ------------------------------------------------------------------ observing
    def observe(self, snapshot: Mapping[str, object]) -> None:
        """Take one snapshot (tag -> value, optionally ``timestamp``): each model predicts its
        outputs from the snapshot's input tags and the errors against the measured output tags
        enter its window. Never raises on the snapshot's content (see the module docstring)."""
        if not isinstance(snapshot, Mapping):
            self.bad_snapshots += 1
            log.debug("drift: snapshot of type %s ignored", type(snapshot).__name__)
            return
        self.observations += 1
        try:
            stamp = _stamp(snapshot.get("timestamp"))
        except Exception:  # noqa: BLE001 - a hostile mapping must not break the cycle
            stamp = None
        for name, m in self.models.items():
            try:
                x = np.array([_number(snapshot.get(t)) if t in snapshot else np.nan for t in m.input_names])
                y = np.array([_number(snapshot.get(t)) if t in snapshot else np.nan for t in m.output_names])
                present = all(t in snapshot for t in (*m.input_names, *m.output_names))
            except Exception:  # noqa: BLE001
                x, y, present = np.full(m.n_inputs, np.nan), np.full(m.n_outputs, np.nan), False
            self._observe_rows(name, x[None, :], y[None, :], np.array([present]), [stamp])

    def observe_frame(self, frame: pd.DataFrame) -> None:
        """Take every row of a historian table (one row per timestamp, one column per tag) in
        order, exactly as :meth:`observe` would one snapshot per row (predictions in one batch per
        model). Raises ValueError if ``frame`` is not a DataFrame; missing columns count as
        missing tags."""
        if not isinstance(frame, pd.DataFrame):
            raise ValueError(f"observe_frame: expected a pandas DataFrame, got {type(frame).__name__}")
        n = len(frame)
        self.observations += n
        stamps = [_stamp(t) for t in frame.index] if isinstance(frame.index, pd.DatetimeIndex) else [None] * n
        for name, m in self.models.items():
            def column(tag: str) -> np.ndarray:
                if tag not in frame.columns:
                    return np.full(n, np.nan)
                return pd.to_numeric(frame[tag], errors="coerce").to_numpy(np.float64, na_value=np.nan)

            x = np.column_stack([column(t) for t in m.input_names]) if n else np.empty((0, m.n_inputs))
            y = np.column_stack([column(t) for t in m.output_names]) if n else np.empty((0, m.n_outputs))
            present = np.full(n, all(t in frame.columns for t in (*m.input_names, *m.output_names)))
            self._observe_rows(name, x, y, present, stamps)

    def _observe_rows(self, name: str, x: np.ndarray, y: np.ndarray, present: np.ndarray, stamps: list[str | None]) -> None:
        m, st, cfg = self.models[name], self._state[name], self.config
        lo, hi, span = self._span[name]
        n = len(x)
        with np.errstate(invalid="ignore"):
            finite = np.isfinite(x).all(1) & np.isfinite(y).all(1)
            tol = np.where(np.isfinite(span), cfg.domain_tolerance * span, 0.0)
            in_domain = ((x >= lo - tol) & (x <= hi + tol)).all(1)
            nonzero = (np.abs(y) >= max(cfg.min_abs_output, 1e-300)).all(1)
        reason = np.full(n, "", dtype=object)
        reason[~present] = "missing"
        reason[(reason == "") & ~finite] = "bad_value"
        reason[(reason == "") & ~nonzero] = "zero_output"
        reason[(reason == "") & ~in_domain] = "out_of_domain"
        usable = reason == ""
        pred = np.full(y.shape, np.nan)
        if usable.any():
            try:
                pred[usable] = m.evaluate_batch(x[usable])
            except Exception as exc:  # noqa: BLE001 - onnxruntime failing must not break the caller
                log.warning("drift: model %s failed to evaluate: %s", name, exc)
                reason[usable] = "evaluation_error"
                usable[:] = False
        for k in range(n):
            st.counts["observed"] += 1
            if stamps[k] is not None:
                st.last_at = stamps[k]
            if (reason[k] == "" and cfg.max_step_fraction is not None and st.previous_x is not None
                    and (np.abs(x[k] - st.previous_x) > cfg.max_step_fraction * span).any()):
                reason[k] = "not_steady"
            if np.isfinite(x[k]).all():
                st.previous_x = x[k].copy()  # inputs were readable: the reference for the next step
            if reason[k] == "":
                xy = np.concatenate([x[k], y[k]])
                if st.previous_xy is not None and np.array_equal(xy, st.previous_xy):
                    reason[k] = "repeated"
                st.previous_xy = xy
            if reason[k]:
                st.counts[reason[k]] += 1
                continue
            st.counts["used"] += 1
            st.errors.append(100.0 * (pred[k] - y[k]) / np.abs(y[k]))
            self._update_verdict(name, stamps[k])

    def _update_verdict(self, name: str, stamp: str | None) -> None:
        st, band = self._state[name], self.bands[name]
        errs = np.array(st.errors)
        st.stats = [window_statistics(errs[:, j], band.mape_pct[j], self.config) for j in range(errs.shape[1])]
        flagged = any(s["flagged"] for s in st.stats)
        if flagged:
            st.flagged_checks += 1
        if flagged and not st.flagged:
            st.flagged_since = stamp
            st.first_flagged_at = st.first_flagged_at or stamp
            log.warning("drift: model %s outside its validated band at %s: %s", name, stamp,
                        "; ".join(s["reason"] for s in st.stats if s["flagged"]))
        elif st.flagged and not flagged:
            st.flagged_since = None
            log.info("drift: model %s back inside its validated band at %s", name, stamp)
        st.flagged = flagged

    # ------------------------------------------------------------------ reporting
    def _rows(self) -> list[dict[str, Any]]:
        rows = []
        for name, m in self.models.items():
            st, band = self._state[name], self.bands[name]
            stats = st.stats
            if not stats:  # nothing usable yet
                stats = [window_statistics(np.empty(0), v, self.config) for v in band.mape_pct]
            for j, out in enumerate(m.output_names):
                s = stats[j]
                rows.append({"model": name, "output": out, **{k: s[k] for k in (
                    "n", "n_eff", "mape_pct", "bias_pct", "std_pct", "max_ape_pct", "mape_lcb_pct", "abs_bias_lcb_pct",
                    "validated_mape_pct", "band_mape_pct", "band_bias_pct", "flagged", "reason")},
                    **st.counts, "flagged_since": st.flagged_since, "first_flagged_at": st.first_flagged_at,
                    "flagged_checks": st.flagged_checks, "last_at": st.last_at})
        return rows

    def verdicts(self) -> dict[str, dict[str, Any]]:
        """Per model, cheaply (no DataFrame; for every supervisory cycle): the first output's
        rolling ``n``, ``mape_pct``, ``bias_pct``, ``validated_mape_pct`` and whether the model is
        ``flagged`` (NaN before any usable observation)."""
        out = {}
        for name in self.models:
            st, band = self._state[name], self.bands[name]
            s = st.stats[0] if st.stats else None
            out[name] = {"n": int(s["n"]) if s else 0, "mape_pct": float(s["mape_pct"]) if s else math.nan,
                         "bias_pct": float(s["bias_pct"]) if s else math.nan,
                         "validated_mape_pct": float(band.mape_pct[0]), "flagged": bool(st.flagged)}
        return out

    def status(self) -> pd.DataFrame:
        """One row per model output (index: model): rolling n, n_eff, MAPE, bias, std, max APE (%),
        the lower confidence bounds and bands (%), flagged and why, counts of observations used
        and skipped per reason, and when the model was flagged."""
        return pd.DataFrame(self._rows()).set_index("model")

    def flagged(self) -> list[str]:
        """Names of the models currently outside their validated band."""
        return [name for name in self.models if self._state[name].flagged]

    def summary(self) -> dict[str, Any]:
        """JSON-serialisable summary (NaN as None): flagged models, per model its outputs'
        statistics and counts, the configuration, and the monitor-level counts."""
        def clean(v: Any) -> Any:
            if isinstance(v, (float, np.floating)):
                return float(v) if math.isfinite(v) else None
            if isinstance(v, (np.integer,)):
                return int(v)
            if isinstance(v, np.bool_):
                return bool(v)
            return v

        models: dict[str, Any] = {}
        for row in self._rows():
            name = row.pop("model")
            entry = models.setdefault(name, {"flagged": self._state[name].flagged, "band_source": self.bands[name].source, "outputs": {}})
            out = row.pop("output")
            for k in ("observed", "used", *SKIP_REASONS, "flagged_since", "first_flagged_at", "flagged_checks", "last_at"):
                entry[k] = clean(row.pop(k))
            entry["outputs"][out] = {k: clean(v) for k, v in row.items()}
        return {"flagged": self.flagged(), "observations": self.observations, "bad_snapshots": self.bad_snapshots,
                "config": asdict(self.config), "models": models}
