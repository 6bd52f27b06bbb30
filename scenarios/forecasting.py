"""Site glue for the learned forecasts: training a site's forecasters.

Which historian columns make which disturbance series is :mod:`optimizer.plan_forecast`'s
(:func:`series_columns`, :func:`site_series`, re-exported here), since the plan's forecast uses
the same mapping. For a :class:`~optimizer.site.model.Site`:

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

from optimizer.plan_forecast import AMBIENT, series_columns, site_series
from optimizer.site.model import Site
from scenarios.training import _check_replaceable
from surrogate.forecast import (
    ForecastSpec,
    TrainedForecaster,
    train_forecaster,
    write_forecasters,
)
from surrogate.manifest import read_manifest

log = logging.getLogger(__name__)

__all__ = ["AMBIENT", "DEFAULT_SITE", "FORECAST_DIR_SUFFIX", "bundled_forecaster_dir", "series_columns", "site_series",
           "train_site_forecasters"]

#: The site ``steamopt forecast train`` uses when none is given.
DEFAULT_SITE = Path(__file__).parent / "sites" / "reference_olefins.toml"

#: A site's forecasters sit beside its unit models: ``<models dir>_forecast`` (the bundled
#: ``scenarios/models/reference_olefins`` -> ``scenarios/models/reference_olefins_forecast``).
FORECAST_DIR_SUFFIX = "_forecast"


def bundled_forecaster_dir(site: Site, models_dir: str | Path) -> Path | None:
    """The forecaster directory that goes with the unit-model directory ``models_dir``: the
    sibling ``<models_dir>_forecast`` when it exists, holds a manifest and that manifest names
    ``site`` (or no site); else None (logged why). Reads only the manifest (TOML), not the models."""
    models_dir = Path(models_dir)
    candidate = models_dir.parent / (models_dir.name + FORECAST_DIR_SUFFIX)
    if not candidate.is_dir():
        log.info("no forecaster directory %s beside the models", candidate)
        return None
    try:
        manifest = read_manifest(candidate)
    except ValueError as exc:  # SurrogateFileError is a ValueError
        log.warning("forecaster directory %s not used: %s", candidate, exc)
        return None
    if manifest.site is not None and manifest.site != site.name:
        log.warning("forecaster directory %s is for site %r, not %r: not used", candidate, manifest.site, site.name)
        return None
    return candidate


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
