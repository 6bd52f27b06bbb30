"""Site glue for the learned forecasts: which historian columns make which disturbance series.

For a :class:`~optimizer.site.model.Site`:

* ``<HEADER>.demand_tph``: process steam demand of a header, t/h, the sum of its consumers'
  ``<consumer>.steam_tph`` columns (a period where any of them is missing is missing);
* ``<SOURCE>.steam_tph``: each by-product source's steam, t/h (e.g. ``TLE.steam_tph``);
* ``ambient_temp_c``: ambient temperature, C.

The tariff is known in advance (site data), so it is not forecast. Training and the model
directory are :mod:`surrogate.forecast`'s (generic); this module only names the series.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from optimizer.site.model import Site
from scenarios.training import _check_replaceable
from surrogate.forecast import (
    ForecastSpec,
    TrainedForecaster,
    train_forecaster,
    write_forecasters,
)

log = logging.getLogger(__name__)

AMBIENT = "ambient_temp_c"
#: The site ``steamopt forecast train`` uses when none is given.
DEFAULT_SITE = Path(__file__).parent / "sites" / "reference_olefins.toml"


def series_columns(site: Site) -> dict[str, tuple[str, list[str]]]:
    """Series name -> (unit, historian columns summed to make it), in a stable order."""
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


def train_site_forecasters(site: Site, frame: pd.DataFrame, out_dir: str | Path, *, period_min: float = 60.0,
                           horizon_h: float = 24.0, test_days: float = 7.0) -> list[TrainedForecaster]:
    """Train one forecaster per disturbance series of ``site`` (leads up to ``horizon_h`` hours at
    ``period_min``; the last ``test_days`` held out for the accuracy table) and write the
    directory ``out_dir`` atomically. Returns the trained forecasters."""
    _check_replaceable(Path(out_dir))
    per_day = round(24 * 60 / period_min)
    horizon = round(horizon_h * 60 / period_min)
    if horizon < 1:
        raise ValueError(f"horizon_h = {horizon_h}: must be at least one period of {period_min:g} min")
    units = {n: u for n, (u, _c) in series_columns(site).items()}
    trained = []
    for name, series in site_series(site, frame).items():
        spec = ForecastSpec(name, units[name], period_min, lags=max(per_day, horizon), horizon=horizon, season=per_day)
        trained.append(train_forecaster(series, spec, test_periods=round(test_days * per_day)))
    write_forecasters(trained, out_dir, site=site.name)
    return trained
