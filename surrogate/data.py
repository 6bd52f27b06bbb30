"""Data preparation for one learned quantity: select, clean, split by time, and say what was dropped.

Works on any historian-like DataFrame (one row per timestamp, one column per tag); it knows the
column names it is given and nothing else.

Rows are dropped, in this order, for:

1. ``missing``: a needed value is missing or not finite;
2. ``out_of_range``: a value outside the range given for its column (a unit that is off, a
   sensor at its rail);
3. ``not_steady``: an input moved more than ``max_step_fraction`` of its observed range since the
   previous row, or the previous row is more than ``max_gap`` away (after a move, a plant is not
   at steady state; the row and the ``settle_rows`` after it are dropped).

The rest is split by time (never at random): the first ``train`` share for training, then
validation, then test.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)


class DataError(ValueError):
    """Data that cannot be used for a learned quantity; the message says which column and why."""


@dataclass(frozen=True)
class QuantitySpec:
    """What to learn: output columns as a function of input columns.

    ``ranges`` maps a column to its valid (low, high) interval; ``units`` a column to its unit.
    """

    name: str
    inputs: list[str]
    outputs: list[str]
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)
    max_step_fraction: float = 0.25
    settle_rows: int = 0
    max_gap: pd.Timedelta | None = None

    @property
    def columns(self) -> list[str]:
        return list(dict.fromkeys(self.inputs + self.outputs))


@dataclass
class DropReport:
    """Rows seen, kept and dropped per reason."""

    rows: int
    kept: int
    dropped: dict[str, int]

    def __str__(self) -> str:
        reasons = ", ".join(f"{k} {v}" for k, v in self.dropped.items() if v) or "none"
        return f"{self.rows} rows, {self.kept} kept; dropped: {reasons}"


@dataclass
class PreparedData:
    """Cleaned rows split by time, with the drop report and a hash of the cleaned data."""

    spec: QuantitySpec
    train: pd.DataFrame
    validation: pd.DataFrame
    test: pd.DataFrame
    report: DropReport
    data_hash: str

    def xy(self, part: str) -> tuple[np.ndarray, np.ndarray]:
        frame = getattr(self, part)
        return frame[self.spec.inputs].to_numpy(np.float64), frame[self.spec.outputs].to_numpy(np.float64)

    @property
    def domain(self) -> dict[str, tuple[float, float]]:
        """Training-domain box: min and max of each input over the training rows."""
        return {c: (float(self.train[c].min()), float(self.train[c].max())) for c in self.spec.inputs}


def prepare(frame: pd.DataFrame, spec: QuantitySpec, split: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> PreparedData:
    """Select ``spec``'s columns from ``frame``, drop unusable rows, split by time."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{spec.name}: data must be a pandas DataFrame, got {type(frame).__name__}")
    if frame.empty:
        raise DataError(f"{spec.name}: the data has no rows")
    missing = [c for c in spec.columns if c not in frame.columns]
    if missing:
        raise DataError(f"{spec.name}: column(s) {', '.join(repr(c) for c in missing)} not in the data "
                        f"({len(frame.columns)} columns, e.g. {', '.join(map(repr, list(frame.columns)[:5]))})")
    if not (len(split) == 3 and all(s > 0 for s in split) and abs(sum(split) - 1.0) < 1e-9):
        raise DataError(f"{spec.name}: split {split} must be three positive shares adding up to 1")
    data = frame[spec.columns].copy()
    if isinstance(data.index, pd.DatetimeIndex):
        data = data.sort_index()
    try:
        values = data.to_numpy(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{spec.name}: columns must be numeric: {exc}") from None
    n = len(data)
    dropped = {"missing": 0, "out_of_range": 0, "not_steady": 0}

    ok = np.isfinite(values).all(axis=1)
    dropped["missing"] = int((~ok).sum())

    in_range = np.ones(n, bool)
    for j, col in enumerate(spec.columns):
        if col in spec.ranges:
            lo, hi = spec.ranges[col]
            with np.errstate(invalid="ignore"):
                in_range &= (values[:, j] >= lo) & (values[:, j] <= hi)
    dropped["out_of_range"] = int((ok & ~in_range).sum())
    ok &= in_range

    steady = _steady_mask(data, spec, ok)
    dropped["not_steady"] = int((ok & ~steady).sum())
    ok &= steady

    clean = data[ok]
    report = DropReport(rows=n, kept=int(ok.sum()), dropped=dropped)
    log.info("%s: %s", spec.name, report)
    if len(clean) < 30:
        raise DataError(f"{spec.name}: only {len(clean)} usable rows after cleaning ({report}); need at least 30")
    a = int(round(split[0] * len(clean)))
    b = a + int(round(split[1] * len(clean)))
    digest = hashlib.sha256(clean.to_numpy(np.float64).tobytes() + "|".join(spec.columns).encode()).hexdigest()
    return PreparedData(spec, clean.iloc[:a], clean.iloc[a:b], clean.iloc[b:], report, digest)


def _steady_mask(data: pd.DataFrame, spec: QuantitySpec, ok: np.ndarray) -> np.ndarray:
    """False where an input jumped since the previous usable row (and ``settle_rows`` after)."""
    n = len(data)
    steady = np.ones(n, bool)
    rows = np.flatnonzero(ok)
    if len(rows) < 2:
        return steady
    x = data[spec.inputs].to_numpy(np.float64)[rows]
    span = x.max(axis=0) - x.min(axis=0)
    span = np.where(span > 0, span, np.inf)
    jump = np.zeros(len(rows), bool)
    jump[1:] = (np.abs(np.diff(x, axis=0)) > spec.max_step_fraction * span).any(axis=1)
    if spec.max_gap is not None and isinstance(data.index, pd.DatetimeIndex):
        jump[1:] |= np.diff(data.index.asi8[rows]) > spec.max_gap.value
    for k in np.flatnonzero(jump):
        steady[rows[k : k + 1 + spec.settle_rows]] = False
    return steady
