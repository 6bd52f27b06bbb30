"""The series of a disturbance profile, each drawn from the profile's one random generator in
the order :func:`scenarios.plant.profiles.generate_disturbances` calls them: the ambient's daily
shape and weather, by-product steam (furnace load) and its decoking dip, consumer demands, site
load, machine-drive power, outages and gas-turbine fouling hours. Units are in the names (C, t/h,
MW, h); see the module docstring of :mod:`scenarios.plant.profiles` for the models.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from optimizer.site.model import Site
from scenarios.plant.profile_config import ProfileConfig

# the profiles' logger: these records keep the name they have always had
log = logging.getLogger("scenarios.plant.profiles")

#: Hour of day (local, h) of the ambient minimum and maximum of the daily cycle.
AMBIENT_MIN_HOUR = 6.0
AMBIENT_MAX_HOUR = 14.5
#: Ambient values are clipped to ``[ambient_min_c - margin, ambient_max_c + margin]`` (C).
AMBIENT_CLIP_MARGIN_C = 2.0


def _daily_shape(hour: np.ndarray) -> np.ndarray:
    """Ambient daily shape in [0, 1] against hour of day: half-cosine rise from the minimum at
    06:00 to the maximum at 14:30, slower half-cosine fall back to 06:00 the next day."""
    rise_h = AMBIENT_MAX_HOUR - AMBIENT_MIN_HOUR
    fall_h = 24.0 - rise_h
    since_min = np.mod(hour - AMBIENT_MIN_HOUR, 24.0)
    rising = since_min < rise_h
    return np.where(
        rising,
        0.5 - 0.5 * np.cos(np.pi * since_min / rise_h),
        0.5 + 0.5 * np.cos(np.pi * (since_min - rise_h) / fall_h),
    )


def _ar1(rng: np.random.Generator, n: int, sigma: np.ndarray, tau_h: float, dt_h: float) -> np.ndarray:
    """Stationary AR(1) series, shape ``(n, len(sigma))``: ``x[k] = phi x[k-1] + e[k]`` with
    ``phi = exp(-dt_h / tau_h)`` and stationary standard deviation ``sigma`` per column.

    Always draws ``n * len(sigma)`` normals, so later draws do not depend on ``sigma``.
    """
    sigma = np.asarray(sigma, dtype=float)
    if sigma.size == 0:
        return np.zeros((n, 0))
    z = rng.standard_normal((n, sigma.size))
    phi = math.exp(-dt_h / tau_h)
    w = z * (sigma * math.sqrt(1.0 - phi * phi))
    w[0] = z[0] * sigma  # start in the stationary distribution
    return lfilter([1.0], [1.0, -phi], w, axis=0)


def _ambient(rng: np.random.Generator, config: ProfileConfig, shape: np.ndarray, n: int, dt_h: float) -> np.ndarray:
    """Ambient temperature, C: the daily cycle plus an AR(1) weather component, clipped."""
    weather = _ar1(rng, n, np.array([config.ambient_noise_std_c]), config.ambient_noise_tau_h, dt_h)[:, 0]
    ambient = config.ambient_min_c + (config.ambient_max_c - config.ambient_min_c) * shape + weather
    return np.clip(ambient, config.ambient_min_c - AMBIENT_CLIP_MARGIN_C, config.ambient_max_c + AMBIENT_CLIP_MARGIN_C)


def _byproduct_steam(rng: np.random.Generator, site: Site, config: ProfileConfig, n: int, dt_h: float) -> dict[str, np.ndarray]:
    """By-product steam per source, t/h: nominal plus a slow AR(1) drift, clipped to [min, max]."""
    sources = list(site.byproduct_sources.values())
    nominal = np.array([s.nominal_steam_tph for s in sources], dtype=float)
    drift = _ar1(rng, n, config.tle_std_fraction * nominal, config.tle_tau_h, dt_h)
    if not config.tle_variation:
        drift[:] = 0.0
    return {
        s.id: np.clip(s.nominal_steam_tph + drift[:, j], s.min_steam_tph, s.max_steam_tph)
        for j, s in enumerate(sources)
    }


def _consumer_demands(
    rng: np.random.Generator, site: Site, config: ProfileConfig, centred: np.ndarray, n: int, dt_h: float
) -> dict[str, np.ndarray]:
    """Consumer demand, t/h: nominal times (1 + daily swing against the ambient) plus AR(1) noise
    of ``variability_fraction`` of nominal; >= 0, and inside [min_tph, max_tph] when flexible."""
    consumers = list(site.consumers.values())
    nominal = np.array([c.demand_tph for c in consumers], dtype=float)
    noise = _ar1(rng, n, np.array([c.variability_fraction for c in consumers]) * nominal, config.demand_tau_h, dt_h)
    out: dict[str, np.ndarray] = {}
    for j, c in enumerate(consumers):
        d = c.demand_tph * (1.0 - c.daily_swing_fraction * centred) + noise[:, j]
        if c.flexible:
            lo = c.min_tph if c.min_tph is not None else 0.0
            hi = c.max_tph if c.max_tph is not None else math.inf
            d = np.clip(d, max(lo, 0.0), hi)
        else:
            d = np.maximum(d, 0.0)
        out[c.id] = d
    return out


def _site_load(
    rng: np.random.Generator, site: Site, config: ProfileConfig, centred: np.ndarray, n: int, dt_h: float
) -> np.ndarray | None:
    """Site electrical load, MW (None without an electricity section)."""
    e = site.electricity
    nominal = e.site_load_mw if e is not None else 0.0
    variability = e.load_variability_fraction if e is not None else 0.0
    noise = _ar1(rng, n, np.array([variability * nominal]), config.site_load_tau_h, dt_h)[:, 0]
    if e is None:
        return None
    return np.maximum(nominal * (1.0 + config.site_load_daily_fraction * centred) + noise, 0.0)


def _apply_decoking(
    rng: np.random.Generator, site: Site, config: ProfileConfig, steam: dict[str, np.ndarray], n: int, dt_h: float
) -> None:
    """One furnace-decoking dip on one by-product source (in place): the steam falls by
    ``decoking_drop_fraction`` of nominal over a trapezoid of ``decoking_duration_h`` with ramps of
    up to 2 h, starting at a random time such that the dip fits the horizon where possible."""
    ids = list(steam)
    sid = ids[int(rng.integers(len(ids)))]
    horizon_h = n * dt_h
    duration = config.decoking_duration_h
    start_h = float(rng.uniform(0.0, max(horizon_h - duration, 0.0)))
    ramp = min(2.0, duration / 4.0)
    t = np.arange(n) * dt_h - start_h
    depth = np.clip(np.minimum(t / ramp, (duration - t) / ramp), 0.0, 1.0)
    s = site.byproduct_sources[sid]
    steam[sid] = np.clip(steam[sid] - config.decoking_drop_fraction * s.nominal_steam_tph * depth, s.min_steam_tph, s.max_steam_tph)
    log.info(
        "furnace decoking on %s: %.1f h from %s",
        sid, duration, (config.start + pd.Timedelta(hours=start_h)).strftime("%Y-%m-%d %H:%M"),
    )


def _machine_power(site: Site, config: ProfileConfig, steam: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Machine-drive power, MW: ``power_mw * (1 + swing * x)`` where ``x`` in [-1, 1] is the furnace
    load (total by-product steam) relative to nominal, scaled so that min steam gives -1 and max
    steam +1. Without by-product sources the power stays nominal."""
    machines = [t for t in site.turbines.values() if t.drive == "machine" and t.power_mw is not None]
    rel = np.ones(config.n_steps)
    if steam:
        sources = [site.byproduct_sources[s] for s in steam]
        total = np.sum([steam[s.id] for s in sources], axis=0)
        nominal = sum(s.nominal_steam_tph for s in sources)
        up = sum(s.max_steam_tph for s in sources) - nominal
        down = nominal - sum(s.min_steam_tph for s in sources)
        dev = total - nominal
        x = np.where(dev >= 0.0, dev / up if up > 0 else 0.0, dev / down if down > 0 else 0.0)
        rel = 1.0 + config.machine_power_swing_fraction * np.clip(x, -1.0, 1.0)
    return {t.id: float(t.power_mw) * rel for t in machines if t.power_mw is not None}


def _unavailable(config: ProfileConfig, index: pd.DatetimeIndex, n: int) -> list[set[str]]:
    """Per step, the set of unit ids inside one of their outage windows ``[start, end)``."""
    rows: list[set[str]] = [set() for _ in range(n)]
    for o in config.outages:
        hit = np.flatnonzero((index >= o.start) & (index < o.end))
        for k in hit:
            rows[k].add(o.unit_id)
    return rows


def _fouling_hours(site: Site, config: ProfileConfig, running: dict[str, np.ndarray], dt_h: float) -> dict[str, np.ndarray]:
    """Compressor running hours since the last wash per gas turbine, h: the start value plus the
    running time of the steps before (a stopped or unavailable turbine does not foul)."""
    start = config.gt_fouling_start_hours or {}
    out: dict[str, np.ndarray] = {}
    for g in site.gas_turbines:
        ran = np.concatenate(([0.0], np.cumsum(running[g][:-1] * dt_h)))
        out[g] = float(start.get(g, 500.0)) + ran
    return out
