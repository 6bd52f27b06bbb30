"""Retrain a site's surrogates on recent historian data; keep a new model only where it is better.

:func:`retrain` takes the current model directory and a (recent) historian table and, per
learned quantity of the site:

1. cleans the rows as for training (:func:`surrogate.data.prepare`: missing, out-of-range and
   non-steady rows dropped) and splits them by time: the most recent ``holdout_fraction`` of the
   clean rows is held out; the earlier rows train a candidate (first 80 % fit, last 20 % choose
   the network size, :func:`surrogate.train.train_quantity`);
2. evaluates the current model and the candidate on the same held-out rows. With
   :math:`d_i = |e^{old}_i| - |e^{new}_i|` the paired difference of absolute percentage errors,
   :math:`\\bar d` its mean, :math:`s_d` its standard deviation and :math:`n_{eff}` the AR(1)
   effective sample size (as in :mod:`surrogate.drift`), the candidate **replaces** the current
   model only when all three hold:

   * it is better by a margin: :math:`MAPE_{new} \\le (1 - \\text{min\\_improvement})\\, MAPE_{old}`;
   * the improvement is significant: :math:`t = \\bar d / (s_d/\\sqrt{n_{eff}}) \\ge z`
     (one-sided; ``z = 3``: about 0.13 % chance of a false replacement under no improvement);
   * its training domain covers at least ``min_domain_coverage`` of the current model's domain
     along every input (a model fitted on a few days of data must not replace one fitted over the
     whole operating range: the optimiser would extrapolate it). The domain is the training rows'
     box, known before the fit: data that fail this are refused at once, without training;

3. if at least one model is replaced, writes a new model directory ``out_dir``: the replaced
   models' new ONNX files, the other models' files copied byte for byte, ``manifest.toml``,
   ``accuracy.json``/``.md`` (a retrained model's "test" split is the held-out recent data; a
   copied model keeps its row; every row says its ``origin``) and ``retrain.json``/``.md`` (the
   comparison and each decision). The directory is assembled beside ``out_dir``, loaded back
   with :func:`optimizer.model_site.load_models_for_site`, and only then renamed into place. If no
   model is replaced, nothing is written.

Returns the comparison as a DataFrame (one row per model); ``frame.attrs`` holds ``written``
(bool), ``out_dir`` (str or None) and ``reason``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
import shutil
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.model_site import build_site_record, load_models_for_site
from optimizer.site.model import Site
from scenarios.learning import box_coverage, learned_quantities, narrow_inputs
from surrogate.atomic import atomic_directory
from surrogate.data import DataError, DropReport, PreparedData, QuantitySpec, prepare
from surrogate.drift import ACCURACY_NAME
from surrogate.manifest import read_manifest, write_manifest
from surrogate.onnx_io import save_network
from surrogate.report import markdown_table, report_rows
from surrogate.serving import OnnxSurrogate
from surrogate.train import Accuracy, TrainingConfig, train_quantity

__all__ = ["MIN_FIT_ROWS", "MIN_HOLDOUT_ROWS", "comparison_markdown", "domain_coverage", "paired_improvement", "retrain"]

log = logging.getLogger(__name__)

#: Fewest clean rows a candidate is trained on, and fewest held-out rows a comparison is made on.
MIN_FIT_ROWS = 40
MIN_HOLDOUT_ROWS = 12
_FIT_SHARE = 0.8  # of the pre-holdout rows: training; the rest chooses the network size


def _check_args(holdout_fraction: float, min_improvement: float, z: float, min_domain_coverage: float, window_hours: float | None) -> None:
    def ok(v: Any) -> bool:
        return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)

    if not (ok(holdout_fraction) and 0.05 <= holdout_fraction <= 0.5):
        raise ValueError(f"holdout_fraction = {holdout_fraction!r}: must be between 0.05 and 0.5 (share of the most recent clean rows held out)")
    if not (ok(min_improvement) and 0.0 <= min_improvement < 1.0):
        raise ValueError(f"min_improvement = {min_improvement!r}: must be >= 0 and < 1 (relative MAPE reduction required)")
    if not (ok(z) and z > 0):
        raise ValueError(f"z = {z!r}: must be a finite number > 0")
    if not (ok(min_domain_coverage) and 0.0 <= min_domain_coverage <= 1.0):
        raise ValueError(f"min_domain_coverage = {min_domain_coverage!r}: must be between 0 and 1")
    if window_hours is not None and not (ok(window_hours) and window_hours > 0):
        raise ValueError(f"window_hours = {window_hours!r}: must be a finite number of hours > 0, or None for the whole table")


def _lag1(v: np.ndarray) -> float:
    d = v - v.mean()
    den = float(d @ d)
    return float(d[1:] @ d[:-1]) / den if den > 0 else 0.0


def paired_improvement(ape_old: np.ndarray, ape_new: np.ndarray) -> tuple[float, float]:
    """Mean paired reduction of the absolute percentage error (old - new, %) and its t statistic
    with the AR(1) effective sample size (module docstring). t is +inf for a constant positive
    difference and 0 with fewer than 2 rows."""
    d = np.asarray(ape_old, np.float64) - np.asarray(ape_new, np.float64)
    n = d.size
    if n < 2:
        return (float(d.mean()) if n else 0.0), 0.0
    rho = min(max(_lag1(d), 0.0), 0.95)
    n_eff = n * (1.0 - rho) / (1.0 + rho)
    s = float(d.std(ddof=1))
    mean = float(d.mean())
    if s == 0.0:
        return mean, (math.inf if mean > 0 else 0.0)
    return mean, mean / (s / math.sqrt(n_eff))


def domain_coverage(old: OnnxSurrogate, new_domain: dict[str, tuple[float, float]]) -> dict[str, float]:
    """Per input: the share of the current model's domain span that the candidate's training
    domain covers, ``|[lo_new, hi_new] ∩ [lo_old, hi_old]| / (hi_old - lo_old)`` (1 for a
    zero-width old span that the new domain contains)."""
    lo, hi = old.domain
    return box_coverage({name: (float(lo[j]), float(hi[j])) for j, name in enumerate(old.input_names)}, new_domain)


def _ape(model_out: np.ndarray, y: np.ndarray) -> np.ndarray:
    return 100.0 * np.abs(model_out - y) / np.maximum(np.abs(y), 1e-12)


def _bias(model_out: np.ndarray, y: np.ndarray) -> float:
    """Mean signed percentage error over rows and outputs, %."""
    return float(np.mean(100.0 * (model_out - y) / np.maximum(np.abs(y), 1e-12)))


def _old_rows(models_dir: Path) -> dict[str, dict]:
    path = models_dir / ACCURACY_NAME
    if not path.is_file():
        return {}
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
        return {r["quantity"]: r for r in rows if isinstance(r, dict) and isinstance(r.get("quantity"), str)}
    except (UnicodeDecodeError, json.JSONDecodeError, TypeError) as exc:
        log.warning("%s: unreadable accuracy report (%s); copied models get rows from their metadata", path, exc)
        return {}


def _row_from_metadata(name: str, m: OnnxSurrogate) -> dict:
    """An accuracy-report row for a model without one, from its file's metadata."""
    md = m.metadata

    def floats(key: str) -> list[float]:
        try:
            return [float(v) for v in md.get(key, "").split(",")] if md.get(key) else [float("nan")] * m.n_outputs
        except ValueError:
            return [float("nan")] * m.n_outputs

    lo, hi = m.domain
    return {"quantity": name, "inputs": m.input_names, "outputs": m.output_names, "hidden_sizes": m.network.hidden_sizes,
            "neurons": m.network.n_hidden,
            "test": {"mae": floats("test_mae"), "mape_pct": floats("test_mape_pct"), "max_ape_pct": floats("test_max_ape_pct"),
                     "max_abs_error": floats("test_max_abs_error"), "rows": int(md.get("test_rows", "0") or 0)},
            "domain": {n: [float(a), float(b)] for n, a, b in zip(m.input_names, lo, hi)}}


def _clean_rows(frame: pd.DataFrame, spec: QuantitySpec) -> tuple[pd.DataFrame, DropReport]:
    data = prepare(frame, spec)
    return pd.concat([data.train, data.validation, data.test]), data.report


def comparison_markdown(table: pd.DataFrame) -> str:
    """The comparison as a Markdown table."""
    lines = ["| model | fit rows | held-out rows | old MAPE % | new MAPE % | old bias % | new bias % | paired t | min domain coverage | decision |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]

    def f(v: Any, fmt: str) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return "-"
        return format(int(v), fmt) if fmt == "d" else format(v, fmt)

    for name, r in table.iterrows():
        decision = "replaced" if r["replace"] else "kept"
        lines.append(f"| {name} | {f(r['fit_rows'], 'd')} | {f(r['holdout_rows'], 'd')} | {f(r['old_mape_pct'], '.3f')} | "
                     f"{f(r['new_mape_pct'], '.3f')} | {f(r['old_bias_pct'], '+.3f')} | {f(r['new_bias_pct'], '+.3f')} | "
                     f"{f(r['paired_t'], '.1f')} | {f(r['min_domain_coverage'], '.2f')} | {decision}: {r['reason']} |")
    return "\n".join(lines)


def retrain(
    site: Site,
    models_dir: str | os.PathLike[str],
    historian_frame: pd.DataFrame,
    out_dir: str | os.PathLike[str],
    holdout_fraction: float = 0.25,
    *,
    config: TrainingConfig | None = None,
    window_hours: float | None = None,
    min_improvement: float = 0.10,
    z: float = 3.0,
    min_domain_coverage: float = 0.5,
    only: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Train candidates on recent data and write ``out_dir`` only where they are better (module docstring).

    ``historian_frame``: one row per timestamp (a DatetimeIndex, or rows in time order), one
    column per tag; ``window_hours``: use only its last hours; ``only``: retrain only these models
    (the others are kept). Errors are percentages; MAPE and bias are on the held-out rows.

    Raises ValueError for bad arguments: a frame that is not a DataFrame, has fewer than
    ``MIN_FIT_ROWS + MIN_HOLDOUT_ROWS`` rows, lacks a column a model needs, an unknown model in
    ``only``, ``out_dir`` existing and not empty, or equal to ``models_dir``; and
    :class:`~surrogate.onnx_io.SurrogateFileError` for a bad current model directory. A model whose
    data is too poor (e.g. its unit was off) is kept, with the reason in its row.
    """
    _check_args(holdout_fraction, min_improvement, z, min_domain_coverage, window_hours)
    models_dir, out_dir = Path(models_dir), Path(out_dir)
    if not isinstance(historian_frame, pd.DataFrame):
        raise ValueError(f"historian_frame: expected a pandas DataFrame (one row per timestamp, one column per tag), got {type(historian_frame).__name__}")
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise ValueError(f"out_dir {out_dir}: exists and is not an empty directory; retrain writes a new model directory")
    if out_dir.resolve() == models_dir.resolve():
        raise ValueError(f"out_dir {out_dir}: is the current model directory; retrain writes a new one beside it")
    current = load_models_for_site(site, models_dir)  # models of another site's physics: refused, naming the differences
    manifest = read_manifest(models_dir)
    frame = historian_frame
    if isinstance(frame.index, pd.DatetimeIndex):
        frame = frame.sort_index()
    if window_hours is not None:
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise ValueError(f"window_hours = {window_hours}: needs a historian indexed by timestamp (DatetimeIndex), got {type(frame.index).__name__}")
        if len(frame):
            frame = frame[frame.index > frame.index[-1] - pd.Timedelta(hours=window_hours)]
    need_rows = MIN_FIT_ROWS + MIN_HOLDOUT_ROWS
    if len(frame) < need_rows:
        where = f" in the last {window_hours:g} h" if window_hours is not None else ""
        raise ValueError(f"historian: {len(frame)} rows{where}; need at least {need_rows} ({MIN_FIT_ROWS} to train, {MIN_HOLDOUT_ROWS} held out)")
    specs = {s.name: s for s in learned_quantities(site)}
    selected = list(current) if only is None else list(only)
    unknown = [n for n in selected if n not in current]
    if unknown:
        raise ValueError(f"only = {unknown}: not models of {models_dir} (known: {', '.join(current)})")
    missing_cols = sorted({c for n in selected if n in specs for c in specs[n].columns if c not in frame.columns})
    if missing_cols:
        raise ValueError(f"historian: column(s) {', '.join(map(repr, missing_cols))} missing; the models need them "
                         f"({len(frame.columns)} columns, e.g. {', '.join(map(repr, list(frame.columns)[:5]))})")

    rows: list[dict[str, Any]] = []
    candidates: dict[str, tuple[PreparedData, Any]] = {}
    for name, old in current.items():
        row: dict[str, Any] = {"model": name, "fit_rows": None, "holdout_rows": None, "old_mape_pct": float("nan"), "new_mape_pct": float("nan"),
                               "old_bias_pct": float("nan"), "new_bias_pct": float("nan"), "old_max_ape_pct": float("nan"),
                               "new_max_ape_pct": float("nan"), "improvement": float("nan"), "paired_t": float("nan"),
                               "min_domain_coverage": float("nan"), "new_hidden_sizes": None, "replace": False, "reason": ""}
        rows.append(row)
        spec = specs.get(name)
        if name not in selected:
            row["reason"] = "not selected"
            continue
        if spec is None:
            row["reason"] = f"not a learned quantity of site {site.name!r}"
            continue
        if list(spec.inputs) != old.input_names or list(spec.outputs) != old.output_names:
            row["reason"] = f"site's inputs/outputs {spec.inputs}->{spec.outputs} differ from the model's {old.input_names}->{old.output_names}"
            continue
        try:
            clean, report = _clean_rows(frame, spec)
        except DataError as exc:
            row["reason"] = f"not enough data: {exc}"
            continue
        n_hold = round(holdout_fraction * len(clean))
        fit, hold = clean.iloc[:-n_hold] if n_hold else clean, clean.iloc[len(clean) - n_hold:]
        row.update(fit_rows=len(fit), holdout_rows=len(hold))
        if len(fit) < MIN_FIT_ROWS or len(hold) < MIN_HOLDOUT_ROWS:
            row["reason"] = (f"not enough clean rows: {len(fit)} to train (need {MIN_FIT_ROWS}) and {len(hold)} held out "
                             f"(need {MIN_HOLDOUT_ROWS}); {report}")
            continue
        a = round(_FIT_SHARE * len(fit))
        digest = hashlib.sha256(clean.to_numpy(np.float64).tobytes() + "|".join(spec.columns).encode()).hexdigest()
        data = PreparedData(spec, fit.iloc[:a], fit.iloc[a:], hold, report, digest)
        # the candidate's domain is its training rows' box, known before it is trained: data that
        # cover too little of the current model's domain are refused at once, not after the fit
        cover = domain_coverage(old, data.domain)
        x_h, y_h = data.xy("test")
        old_pred = old.evaluate_batch(x_h)  # the current model on the held-out rows, trained or not
        acc_old = Accuracy.of(y_h, old_pred)
        old_mape = max(acc_old.mape_pct)
        row.update(old_mape_pct=old_mape, old_bias_pct=_bias(old_pred, y_h), old_max_ape_pct=max(acc_old.max_ape_pct),
                   min_domain_coverage=min(cover.values()))
        narrow = narrow_inputs(cover, min_domain_coverage)
        if narrow:
            row["reason"] = ("recent data cover too little of the domain: " + ", ".join(f"{k} {v:.0%}" for k, v in narrow.items())
                             + f" < {min_domain_coverage:.0%} (not trained)")
            log.info("%s: keep (%s)", name, row["reason"])
            continue
        log.info("%s: training a candidate on %d rows", name, len(fit))
        model = train_quantity(data, config)
        new_pred = model.network.evaluate(x_h)
        ape_old, ape_new = _ape(old_pred, y_h).max(axis=1), _ape(new_pred, y_h).max(axis=1)
        _, t = paired_improvement(ape_old, ape_new)
        new_mape = max(model.test.mape_pct)
        row.update(new_mape_pct=new_mape, new_bias_pct=_bias(new_pred, y_h), new_max_ape_pct=max(model.test.max_ape_pct),
                   improvement=1.0 - new_mape / old_mape if old_mape > 0 else float("nan"), paired_t=t,
                   new_hidden_sizes="-".join(map(str, model.network.hidden_sizes)))
        fails = []
        if not new_mape <= (1.0 - min_improvement) * old_mape:
            fails.append(f"held-out MAPE {new_mape:.3f} % not <= {1.0 - min_improvement:.2f} x {old_mape:.3f} %")
        if not t >= z:
            fails.append(f"paired t {t:.2f} < {z:g}")
        if fails:
            row["reason"] = "; ".join(fails)
        else:
            row["replace"] = True
            row["reason"] = f"held-out MAPE {old_mape:.3f} -> {new_mape:.3f} %, paired t {t:.1f}"
            candidates[name] = (data, model)
        log.info("%s: %s (%s)", name, "replace" if row["replace"] else "keep", row["reason"])

    table = pd.DataFrame(rows).set_index("model")
    if not candidates:
        reason = "no model is better on the held-out recent data: nothing written"
        table.attrs.update(written=False, out_dir=None, reason=reason)
        log.info("retrain: %s", reason)
        return table

    # built beside out_dir, loaded as a whole, flushed and only then swapped in (surrogate.atomic)
    with atomic_directory(out_dir, check=lambda d: load_models_for_site(site, d)) as tmp:
        old_rows = _old_rows(models_dir)
        entries, acc_rows = {}, []
        new_rows = report_rows(candidates)
        by_name = {r["quantity"]: r for r in new_rows}
        for name, old in current.items():
            entry = manifest.models[name]
            if name in candidates:
                file = f"{name}.onnx"
                save_network(candidates[name][1].network, tmp / file, name)
                r = by_name[name]
                r["origin"] = (f"retrained: candidate trained on {table.loc[name, 'fit_rows']} recent clean rows; 'test' is the "
                               f"held-out most recent {table.loc[name, 'holdout_rows']} rows; replaces {models_dir / entry.file} "
                               f"(sha256 {entry.sha256[:12]}, held-out MAPE {table.loc[name, 'old_mape_pct']:.3f} %)")
            else:
                file = entry.file
                shutil.copyfile(models_dir / entry.file, tmp / file)
                r = dict(old_rows.get(name) or _row_from_metadata(name, old))
                r["origin"] = f"copied unchanged from {models_dir / entry.file} (sha256 {entry.sha256[:12]}): {table.loc[name, 'reason']}"
            entries[name] = (file, old.input_names, old.output_names)
            acc_rows.append(r)
        write_manifest(tmp, entries, site=manifest.site or site.name,
                       site_record=build_site_record(site, {n: (i, o) for n, (_, i, o) in entries.items()}))
        (tmp / ACCURACY_NAME).write_text(json.dumps(acc_rows, indent=2, sort_keys=True, default=float))
        replaced = [n for n in current if n in candidates]
        kept = [n for n in current if n not in candidates]
        (tmp / "accuracy.md").write_text(
            f"# Surrogate accuracy: {site.name} (retrained)\n\nRetrained on recent data from {models_dir}: {', '.join(replaced)}; "
            f"copied unchanged: {', '.join(kept) or 'none'}. A retrained model's test split is the held-out most recent data.\n\n"
            f"{markdown_table(acc_rows)}\n")
        settings = {"holdout_fraction": holdout_fraction, "window_hours": window_hours, "min_improvement": min_improvement, "z": z,
                    "min_domain_coverage": min_domain_coverage, "training": asdict(config or TrainingConfig()),
                    "rows": len(frame), "first": str(frame.index[0]), "last": str(frame.index[-1]), "from": str(models_dir)}
        records = json.loads(table.reset_index().to_json(orient="records"))
        (tmp / "retrain.json").write_text(json.dumps({"replaced": replaced, "kept": kept, "settings": settings, "comparison": records},
                                                     indent=2, default=str))
        (tmp / "retrain.md").write_text(f"# Retraining of {models_dir}\n\nReplaced: {', '.join(replaced)}. Kept (copied unchanged): "
                                        f"{', '.join(kept) or 'none'}.\n\n{comparison_markdown(table)}\n")
    reason = f"replaced {', '.join(replaced)}; copied {len(kept)} unchanged"
    table.attrs.update(written=True, out_dir=str(out_dir), reason=reason)
    log.info("retrain: wrote %s: %s", out_dir, reason)
    return table
