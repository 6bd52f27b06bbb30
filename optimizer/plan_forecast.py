"""Per-period forecasts of a site's disturbances for a plan (issue 16, part 3 into part 4).

The site -> series mapping (which snapshot/historian tags make which forecast series):

* ``<HEADER>.demand_tph``: process steam demand of a header, t/h, the sum of its consumers'
  ``<consumer>.steam_tph`` (a time where any of them is missing is missing);
* ``<SOURCE>.steam_tph``: each by-product source's steam, t/h (e.g. ``TLE.steam_tph``);
* ``ambient_temp_c``: ambient temperature, C.

The tariff is site data, known in advance, and is not forecast here (the plan reads it from the
site at each period's start).

:class:`PlanForecaster` keeps a bounded recent history of these series (fed every cycle from
validated snapshot values, or seeded from a historian table) and turns the learned forecasters
(:mod:`surrogate.forecast`) into the forecast table ``Supervisor.plan`` takes: one row per period,
one column per snapshot tag (consumers, by-product sources, ambient). See
:meth:`PlanForecaster.forecast` for how header forecasts become consumer values, how the
forecaster's period is matched to the plan's and what happens beyond the forecaster's horizon.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from functools import reduce

import numpy as np
import pandas as pd

from optimizer.site.model import Site
from surrogate.forecast import Forecaster

__all__ = ["AMBIENT", "PlanForecaster", "series_columns", "site_series"]

log = logging.getLogger(__name__)

AMBIENT = "ambient_temp_c"
#: History kept at least this long, h (a day of lags plus a day back for seasonal naive).
MIN_HISTORY_H = 48.0
#: Extra history kept beyond what the forecasters need, h.
HISTORY_MARGIN_H = 2.0


def series_columns(site: Site) -> dict[str, tuple[str, list[str]]]:
    """Series name -> (unit, snapshot/historian tags summed to make it), in a stable order."""
    out: dict[str, tuple[str, list[str]]] = {}
    for header in site.headers:
        cols = [f"{c.id}.steam_tph" for c in site.consumers.values() if c.header == header]
        if cols:
            out[f"{header}.demand_tph"] = ("t/h", cols)
    for src in site.byproduct_sources.values():
        out[f"{src.id}.steam_tph"] = ("t/h", [f"{src.id}.steam_tph"])
    out[AMBIENT] = ("C", [AMBIENT])
    return out


def site_series(site: Site, frame: pd.DataFrame) -> dict[str, pd.Series]:
    """The disturbance series of ``site`` from a historian table (DatetimeIndex). A missing column
    raises ``ValueError`` naming the series and the columns."""
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise ValueError(f"historian index must be timestamps, got {type(frame.index).__name__}")
    out = {}
    for name, (_unit, cols) in series_columns(site).items():
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise ValueError(f"series {name}: historian lacks columns {missing}")
        out[name] = frame[cols].astype(float).sum(axis=1, min_count=len(cols)).rename(name)
    return out


def _timestamp(value: object, field: str) -> pd.Timestamp:
    """A naive (site-local) timestamp, or ``ValueError`` naming the field, the value and the rule."""
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field} = {value!r}: must be a timestamp ({exc})") from None
    if ts is pd.NaT or pd.isna(ts):
        raise ValueError(f"{field} = {value!r}: must be a timestamp, not NaT")
    if ts.tzinfo is not None:
        raise ValueError(f"{field} = {value!r}: must be naive site-local time (as snapshots are), not time-zone aware")
    return ts


def _iso(ts: pd.Timestamp) -> str:
    return ts.isoformat(timespec="minutes") if ts.second == 0 and ts.microsecond == 0 else ts.isoformat()


class PlanForecaster:
    """Forecast tables for ``Supervisor.plan`` from the learned forecasters and a recent history.

    ``forecasters``: series name -> :class:`~surrogate.forecast.Forecaster` (e.g.
    :func:`surrogate.forecast.load_forecasters` of the bundled
    ``scenarios/models/reference_olefins_forecast``); ``None`` or empty: persistence for every
    series. A series without a forecaster is held at its current value (persistence).

    The history is stored as means over buckets of ``bucket_min`` minutes (the greatest common
    divisor of the forecasters' periods, 60 without forecasters), so its size is bounded whatever
    the cycle time: the last ``history_h`` hours (default: 48 h or what the forecasters' lags and
    season need, whichever is longer, plus 2 h). Sampled once per period, the buckets hold the
    samples themselves and the forecasters see exactly the values observed.
    """

    def __init__(self, site: Site, forecasters: Mapping[str, Forecaster] | None = None, *,
                 history_h: float | None = None) -> None:
        self.site = site
        self.columns = series_columns(site)
        forecasters = dict(forecasters or {})
        unknown = [s for s in forecasters if s not in self.columns]
        if unknown:
            raise ValueError(f"forecasters = {sorted(forecasters)}: {unknown} are not series of site {site.name!r} "
                             f"(its series: {list(self.columns)})")
        for name, f in forecasters.items():
            if not isinstance(f, Forecaster):
                raise ValueError(f"forecasters[{name!r}] = {type(f).__name__}: must be a surrogate.forecast.Forecaster")
        self.forecasters: dict[str, Forecaster] = forecasters
        periods = [f.spec.period_min for f in forecasters.values()]
        if periods and all(float(p).is_integer() for p in periods):
            self.bucket_min = float(reduce(math.gcd, (int(p) for p in periods)))
        elif periods:
            self.bucket_min = 1.0
        else:
            self.bucket_min = 60.0
        need_h = max([MIN_HISTORY_H] + [(max(f.spec.lags, f.spec.season) + 1) * f.spec.period_min / 60.0
                                        for f in forecasters.values()])
        if history_h is None:
            history_h = need_h + HISTORY_MARGIN_H
        elif isinstance(history_h, bool) or not isinstance(history_h, (int, float)) or not history_h > 0 or not math.isfinite(history_h):
            raise ValueError(f"history_h = {history_h!r}: must be a positive number of hours")
        self.history_h = float(history_h)
        # series -> bucket start -> [sum, count]
        self._buckets: dict[str, dict[pd.Timestamp, list[float]]] = {s: {} for s in self.columns}
        self._last: dict[str, pd.Timestamp] = {}  # series -> time of its last observation

    # ------------------------------------------------------------------ history
    def _bucket(self, ts: pd.Timestamp) -> pd.Timestamp:
        return ts.floor(pd.Timedelta(minutes=self.bucket_min))

    def _add(self, series: str, ts: pd.Timestamp, value: float) -> None:
        b = self._buckets[series]
        key = self._bucket(ts)
        if b and key < next(reversed(b)):
            return  # older than what is held: out of order, ignored
        cell = b.setdefault(key, [0.0, 0])
        cell[0] += value
        cell[1] += 1
        self._last[series] = ts

    def _trim(self) -> None:
        for b in self._buckets.values():
            if not b:
                continue
            cutoff = next(reversed(b)) - pd.Timedelta(hours=self.history_h)
            for k in [k for k in b if k < cutoff]:
                del b[k]

    def observe(self, timestamp: object, values: Mapping[str, float]) -> None:
        """Add one snapshot's values (tag -> value, validated) at ``timestamp`` (naive, site-local)
        to the history. A series whose tags are not all present and finite is not recorded at
        that time; an observation older than the series' last one is ignored. Never raises for
        missing values; ``ValueError`` for a bad timestamp or a non-mapping."""
        ts = _timestamp(timestamp, "timestamp")
        if not isinstance(values, Mapping):
            raise ValueError(f"values = {type(values).__name__}: must be a mapping tag -> value")
        for name, (_unit, cols) in self.columns.items():
            total = 0.0
            for c in cols:
                v = values.get(c)
                if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v):
                    break
                total += float(v)
            else:
                self._add(name, ts, total)
        self._trim()

    def load_history(self, frame: pd.DataFrame) -> None:
        """Seed the history from a historian table (DatetimeIndex, one column per tag), replacing
        what is held for each series found in it; rows older than ``history_h`` before the
        table's last row are not kept. A series whose tags are missing from the table keeps its
        history (logged); ``ValueError`` if the index is not timestamps."""
        if not isinstance(frame, pd.DataFrame) or not isinstance(frame.index, pd.DatetimeIndex):
            raise ValueError(f"historian table: index must be timestamps (a DataFrame with a DatetimeIndex), got "
                             f"{type(getattr(frame, 'index', frame)).__name__}")
        if frame.index.tz is not None:
            raise ValueError("historian table: index must be naive site-local time (as snapshots are), not time-zone aware")
        frame = frame.sort_index()
        if len(frame):
            frame = frame[frame.index >= frame.index[-1] - pd.Timedelta(hours=self.history_h)]
        for name, (_unit, cols) in self.columns.items():
            missing = [c for c in cols if c not in frame.columns]
            if missing:
                log.warning("history of %s not loaded: the historian lacks %s", name, missing)
                continue
            s = frame[cols].apply(pd.to_numeric, errors="coerce").sum(axis=1, min_count=len(cols)).dropna()
            s = s[np.isfinite(s.to_numpy(np.float64))]
            grouped = s.groupby(s.index.floor(pd.Timedelta(minutes=self.bucket_min))).agg(["sum", "count"])
            self._buckets[name] = {k: [float(r["sum"]), int(r["count"])] for k, r in grouped.iterrows()}
            if len(s):
                self._last[name] = s.index[-1]
            else:
                self._last.pop(name, None)
        self._trim()

    def history(self, series: str) -> pd.Series:
        """The held history of ``series``: bucket means, indexed by bucket start."""
        if series not in self._buckets:
            raise ValueError(f"series = {series!r}: not a series of site {self.site.name!r} (its series: {list(self.columns)})")
        b = self._buckets[series]
        return pd.Series([s / n for s, n in b.values()], index=pd.DatetimeIndex(list(b.keys())), name=series, dtype=np.float64)

    def _history_at(self, name: str, start: pd.Timestamp, now: float) -> pd.Series:
        """The history of ``name`` as seen at ``start`` with the current value ``now``: the buckets
        before ``start``'s, and ``start``'s bucket with ``now`` in it (the held observations of that
        bucket too when they all precede ``start``, or when ``now`` is one of them)."""
        key = self._bucket(start)
        b = self._buckets[name]
        last = self._last.get(name)
        keys = [k for k in b if k < key]
        vals = [b[k][0] / b[k][1] for k in keys]
        cell = b.get(key)
        if cell is not None and last == start:  # this snapshot was observed already
            vals.append(cell[0] / cell[1])
        elif cell is not None and last is not None and last < start:
            vals.append((cell[0] + now) / (cell[1] + 1))
        else:  # none held in start's bucket, or some held after start: only the current value
            vals.append(now)
        return pd.Series(vals, index=pd.DatetimeIndex([*keys, key]), name=name, dtype=np.float64)

    # ------------------------------------------------------------------ forecast
    def _current(self, values: Mapping[str, float]) -> dict[str, float]:
        """The current value of every tag the forecast table holds; ``ValueError`` naming a bad one."""
        out = {}
        for name, (_unit, cols) in self.columns.items():
            for c in cols:
                v = values.get(c) if isinstance(values, Mapping) else None
                if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v):
                    raise ValueError(f"values[{c!r}] = {v!r}: must be a finite number (the current value of series {name})")
                if name != AMBIENT and v < 0:
                    raise ValueError(f"values[{c!r}] = {v!r}: must be >= 0 (a steam flow, t/h)")
                out[c] = float(v)
        return out

    def forecast(self, values: Mapping[str, float], start: object, periods: int,
                 period_min: float = 60.0) -> tuple[pd.DataFrame, dict[str, str]]:
        """The forecast table of a plan of ``periods`` periods of ``period_min`` minutes from ``start``.

        Returns ``(table, methods)``. ``table``: index = the periods' starts ``start + t *
        period_min`` (naive, site-local); columns = snapshot tags: each consumer's
        ``<consumer>.steam_tph`` (t/h), each by-product source's ``<source>.steam_tph`` (t/h) and
        ``ambient_temp_c`` (C). ``methods``: series -> how it was forecast, starting with the
        method (``model``, ``seasonal_naive`` or ``persistence``), then why a fallback was used
        and, when the plan reaches beyond the forecaster's horizon, what filled those periods.

        * Period 0 is now: the current ``values`` (tag -> value, the validated snapshot's).
        * Each series is forecast from the held history plus the current values at ``start``
          (history after ``start`` is not used) by its forecaster, which falls back to seasonal
          naive or persistence itself when the history is short or outside its training domain;
          a series without a forecaster is held at its current value (persistence).
        * The forecaster's values (at its own grid times after its origin) and the current value
          at ``start`` are joined by straight lines in time and read at each period's start: this
          is how a 60-min forecaster serves 15-min periods (and the reverse).
        * A period after the forecaster's last lead takes the value one season (the forecaster's,
          a day for the bundled ones) earlier from this same curve (seasonal naive of the forecast
          itself), or, where that is before ``start``, the curve's last value (persistence);
          ``methods`` says from which period.
        * A header's forecast is split among its consumers in proportion to their current values;
          a header whose consumers all read zero splits by their design ``demand_tph`` (equally if
          those are zero too). Flows are never negative (a negative forecast is cut to 0).

        Never raises for missing or short history. ``ValueError`` naming the field, the value and
        the rule for bad arguments (``periods`` not a positive integer, ``period_min`` not a
        positive number, a bad ``start``, a current value missing, not finite or a negative flow).
        """
        if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 1:
            raise ValueError(f"periods = {periods!r}: must be an integer >= 1")
        if isinstance(period_min, bool) or not isinstance(period_min, (int, float)) or not math.isfinite(period_min) or period_min <= 0:
            raise ValueError(f"period_min = {period_min!r}: must be a positive number of minutes")
        start = _timestamp(start, "start")
        current = self._current(values)
        step = pd.Timedelta(minutes=float(period_min))
        index = pd.DatetimeIndex([start + t * step for t in range(int(periods))])
        secs = ((index - start) / pd.Timedelta(seconds=1)).to_numpy(np.float64)

        series_values: dict[str, np.ndarray] = {}
        methods: dict[str, str] = {}
        for name, (_unit, cols) in self.columns.items():
            now = sum(current[c] for c in cols)
            vals, method = self._series_forecast(name, now, start, secs)
            if name != AMBIENT:
                vals = np.maximum(vals, 0.0)
            vals[0] = now
            series_values[name] = vals
            methods[name] = method

        table: dict[str, np.ndarray] = {}
        for name, (_unit, cols) in self.columns.items():
            if not self._is_header_series(name):  # a by-product source or ambient: the tag is the series
                table[cols[0]] = series_values[name]
                continue
            header_now = sum(current[c] for c in cols)
            if header_now > 0:  # in proportion to the current values (a held header holds each exactly)
                ratio = series_values[name] / header_now
                for c in cols:
                    table[c] = current[c] * ratio
            else:
                for c, share in self._design_shares(cols).items():
                    table[c] = series_values[name] * share
            for c in cols:
                table[c][0] = current[c]
        return pd.DataFrame(table, index=index), methods

    def _is_header_series(self, name: str) -> bool:
        return name.endswith(".demand_tph") and name.removesuffix(".demand_tph") in self.site.headers

    def _design_shares(self, cols: list[str]) -> dict[str, float]:
        """Each consumer's share of its header by design demand (equal if those are all zero)."""
        weights = np.array([self.site.consumers[c.removesuffix(".steam_tph")].demand_tph for c in cols], np.float64)
        if weights.sum() <= 0:
            weights = np.ones(len(cols))
        return dict(zip(cols, weights / weights.sum(), strict=True))

    def _series_forecast(self, name: str, now: float, start: pd.Timestamp, secs: np.ndarray) -> tuple[np.ndarray, str]:
        """Values of series ``name`` at ``start + secs`` and the method text."""
        f = self.forecasters.get(name)
        if f is None:
            why = "no forecasters" if not self.forecasters else "no forecaster for this series"
            return np.full(len(secs), now), f"persistence ({why})"
        hist = self._history_at(name, start, now)
        try:
            fc = f.forecast(hist)
        except Exception as exc:  # a forecaster must not cost the plan its forecast
            log.warning("forecaster of %s failed, holding the current value: %s", name, exc)
            return np.full(len(secs), now), f"persistence (forecaster failed: {type(exc).__name__}: {exc})"
        method = fc.method + (f" ({fc.reason})" if fc.reason else "")
        t_fc = ((fc.times - start) / pd.Timedelta(seconds=1)).to_numpy(np.float64)
        keep = t_fc > 0
        xs = np.concatenate([[0.0], t_fc[keep]])
        ys = np.concatenate([[now], np.asarray(fc.values, np.float64)[keep]])
        end = xs[-1]
        out = np.interp(secs, xs, ys)
        beyond = secs > end
        if beyond.any():
            season = f.spec.season * f.spec.period_min * 60.0
            back = secs[beyond] - season * np.ceil((secs[beyond] - end) / season)
            seasonal = back >= 0
            out[beyond] = np.where(seasonal, np.interp(np.maximum(back, 0.0), xs, ys), ys[-1])
            first = start + pd.Timedelta(seconds=float(secs[beyond][0]))
            horizon_h = f.spec.horizon * f.spec.period_min / 60.0
            earlier = f"seasonal_naive of the forecast {season / 3600.0:g} h earlier"
            if seasonal.all():
                how = earlier
            elif not seasonal.any():
                how = "persistence of the forecast's last value"
            else:
                how = (f"{earlier}, persistence of its last value from "
                       f"{_iso(start + pd.Timedelta(seconds=float(secs[beyond][~seasonal][0])))}")
            method += f"; from {_iso(first)} (beyond the forecaster's {horizon_h:g} h horizon): {how}"
        return out, method
