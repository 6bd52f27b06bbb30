"""Deterministic disturbance profiles for a tropical coastal site.

:func:`generate_disturbances` turns a :class:`~optimizer.site.model.Site` and a
:class:`ProfileConfig` into one :class:`~scenarios.plant.inputs.Disturbances` per time step:

* ambient temperature (C): a daily cycle between ``ambient_min_c`` (near 06:00) and
  ``ambient_max_c`` (near 14:30), plus a slowly varying AR(1) weather component;
* by-product steam (t/h, e.g. cracker transfer-line exchangers, "TLE"): a slow AR(1) drift of the
  furnace load around ``nominal_steam_tph``, kept inside ``[min_steam_tph, max_steam_tph]``,
  optionally with one furnace-decoking dip;
* consumer demands (t/h): AR(1) noise of relative size ``variability_fraction`` plus a daily cycle
  of amplitude ``daily_swing_fraction`` that runs against the ambient (tracing and building heat:
  more at night); flexible consumers stay inside ``[min_tph, max_tph]``;
* site electrical load (MW): ``site_load_mw`` with AR(1) noise of ``load_variability_fraction``
  and a mild daily shape following the ambient (cooling load);
* machine-drive power (MW): ``power_mw`` of each ``drive == "machine"`` turbine, following the
  furnace load proportionally within ``+-machine_power_swing_fraction`` (5 %);
* gas-turbine compressor fouling (running hours since the last wash): from a start value, growing
  by the step length whenever the gas turbine runs;
* outages: ``(unit_id, start, end)`` windows that put the unit in ``unavailable``.

All randomness comes from one ``numpy.random.default_rng(seed)``, drawn in a fixed order, so a
seed reproduces the profile exactly. The decoking event is drawn last, so switching it on leaves
every other series unchanged.

The settings are :mod:`scenarios.plant.profile_config`, the series :mod:`scenarios.plant.profile_series`;
this module puts them together (and re-exports the settings' names).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from optimizer.site.model import Site
from scenarios.plant.inputs import Disturbances
from scenarios.plant.profile_config import OUTAGE_COLLECTIONS, Outage, ProfileConfig
from scenarios.plant.profile_series import AMBIENT_CLIP_MARGIN_C, AMBIENT_MAX_HOUR, AMBIENT_MIN_HOUR  # noqa: F401 - re-exported (their old path)
from scenarios.plant.profile_series import (
    _ambient,
    _apply_decoking,
    _byproduct_steam,
    _consumer_demands,
    _daily_shape,
    _fouling_hours,
    _machine_power,
    _site_load,
    _unavailable,
)

log = logging.getLogger(__name__)

__all__ = [
    "OUTAGE_COLLECTIONS",
    "Outage",
    "ProfileConfig",
    "disturbances_frame",
    "generate_disturbances",
]


# --------------------------------------------------------------------------- generation


def generate_disturbances(site: Site, config: ProfileConfig) -> list[Disturbances]:
    """One :class:`Disturbances` per step, at ``config.start + k * step`` for ``k`` in
    ``range(int(hours * 60 / step_min))``.

    Units: ambient C, steam t/h, power MW, fouling running hours h. Raises ValueError for settings
    that do not fit the site.
    """
    config.validate(site)
    n = config.n_steps
    dt_h = config.step_min / 60.0
    index = pd.date_range(start=config.start, periods=n, freq=config.step)
    rng = np.random.default_rng(config.seed)

    # Daily shape in [0, 1]: 0 at the ambient minimum (06:00), 1 at the maximum (14:30).
    hour = np.asarray(index.hour + index.minute / 60.0 + index.second / 3600.0 + index.microsecond / 3.6e9, dtype=float)
    shape = _daily_shape(hour)
    centred = 2.0 * shape - 1.0  # -1 (coolest) .. +1 (hottest)

    # Random draws in a fixed order: ambient, furnace load, demands, site load, decoking.
    ambient = _ambient(rng, config, shape, n, dt_h)
    steam = _byproduct_steam(rng, site, config, n, dt_h)
    demand = _consumer_demands(rng, site, config, centred, n, dt_h)
    site_load = _site_load(rng, site, config, centred, n, dt_h)
    if config.decoking and steam:
        _apply_decoking(rng, site, config, steam, n, dt_h)
    machine = _machine_power(site, config, steam)

    unavailable_rows = _unavailable(config, index, n)
    running = {
        g: np.array([g not in u for u in unavailable_rows], dtype=bool) if site.gas_turbines[g].available else np.zeros(n, bool)
        for g in site.gas_turbines
    }
    fouling = _fouling_hours(site, config, running, dt_h)

    items = _assemble(index, ambient, demand, steam, machine, site_load, fouling, unavailable_rows)
    log.debug(
        "generated %d disturbance steps of %g min from %s (seed %d): ambient %.1f-%.1f C",
        n, config.step_min, config.start, config.seed, float(ambient.min()), float(ambient.max()),
    )
    return items


def disturbances_frame(items: Sequence[Disturbances], *, units: Iterable[str] | None = None) -> pd.DataFrame:
    """Flatten disturbances to one row per timestamp (the index, named ``timestamp``).

    Columns: ``ambient_temp_c`` (C), ``<consumer>.demand_tph`` (t/h), ``<source>.steam_tph`` (t/h),
    ``<turbine>.process_power_mw`` (MW), ``site_load_mw`` (MW), ``<gt>.fouling_hours`` (h) and
    ``<unit>.available`` (bool). Availability columns are given for ``units`` if passed, else for
    every unit unavailable at some step. Missing values are NaN.
    """
    consumers = _keys(d.consumer_demand_tph for d in items)
    sources = _keys(d.byproduct_steam_tph for d in items)
    turbines = _keys(d.machine_power_mw for d in items)
    gts = _keys(d.gt_fouling_hours for d in items)
    if units is None:
        units = sorted(set().union(*(d.unavailable for d in items))) if items else []
    units = list(units)
    nan = math.nan

    def _num(value: float | None) -> float:
        return nan if value is None else value

    data: dict[str, list[float] | list[bool]] = {"ambient_temp_c": [_num(d.ambient_temp_c) for d in items]}
    for c in consumers:
        data[f"{c}.demand_tph"] = [d.consumer_demand_tph.get(c, nan) for d in items]
    for s in sources:
        data[f"{s}.steam_tph"] = [d.byproduct_steam_tph.get(s, nan) for d in items]
    for t in turbines:
        data[f"{t}.process_power_mw"] = [d.machine_power_mw.get(t, nan) for d in items]
    data["site_load_mw"] = [_num(d.site_load_mw) for d in items]
    for g in gts:
        data[f"{g}.fouling_hours"] = [d.gt_fouling_hours.get(g, nan) for d in items]
    for u in units:
        data[f"{u}.available"] = [u not in d.unavailable for d in items]
    index = pd.DatetimeIndex([d.timestamp for d in items], name="timestamp")
    frame = pd.DataFrame(data, index=index)
    for u in units:
        frame[f"{u}.available"] = frame[f"{u}.available"].astype(bool)
    return frame


def _assemble(
    index: pd.DatetimeIndex,
    ambient: np.ndarray,
    demand: dict[str, np.ndarray],
    steam: dict[str, np.ndarray],
    machine: dict[str, np.ndarray],
    site_load: np.ndarray | None,
    fouling: dict[str, np.ndarray],
    unavailable: list[set[str]],
) -> list[Disturbances]:
    """Build the per-step dataclasses from the column arrays (Python floats, not numpy scalars)."""

    def rows(series: dict[str, np.ndarray]) -> list[dict[str, float]]:
        keys = list(series)
        if not keys:
            return [{} for _ in range(len(index))]
        matrix = np.column_stack([series[k] for k in keys]).tolist()
        return [dict(zip(keys, r)) for r in matrix]

    demand_rows, steam_rows, machine_rows, fouling_rows = rows(demand), rows(steam), rows(machine), rows(fouling)
    ambient_list = ambient.tolist()
    load_list: list[float | None] = site_load.tolist() if site_load is not None else [None] * len(index)
    return [
        Disturbances(
            timestamp=ts,
            ambient_temp_c=ambient_list[k],
            consumer_demand_tph=demand_rows[k],
            byproduct_steam_tph=steam_rows[k],
            machine_power_mw=machine_rows[k],
            site_load_mw=load_list[k],
            gt_fouling_hours=fouling_rows[k],
            unavailable=unavailable[k],
        )
        for k, ts in enumerate(index)
    ]


def _keys(dicts: Iterable[dict[str, float]]) -> list[str]:
    """Keys of the dicts in first-seen order."""
    seen: dict[str, None] = {}
    for d in dicts:
        for k in d:
            seen.setdefault(k, None)
    return list(seen)
