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
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from optimizer.site.model import Site
from scenarios.plant.inputs import Disturbances

log = logging.getLogger(__name__)

__all__ = [
    "OUTAGE_COLLECTIONS",
    "Outage",
    "ProfileConfig",
    "disturbances_frame",
    "generate_disturbances",
]

#: Site collections whose ids may be taken out of service by an outage window.
OUTAGE_COLLECTIONS: tuple[str, ...] = ("boilers", "gas_turbines", "turbines", "condensers", "letdowns", "vents")

#: Hour of day (local, h) of the ambient minimum and maximum of the daily cycle.
AMBIENT_MIN_HOUR = 6.0
AMBIENT_MAX_HOUR = 14.5
#: Ambient values are clipped to ``[ambient_min_c - margin, ambient_max_c + margin]`` (C).
AMBIENT_CLIP_MARGIN_C = 2.0


class Outage(NamedTuple):
    """A unit out of service from ``start`` (inclusive) to ``end`` (exclusive).

    A plain ``(unit_id, start, end)`` tuple works too; ``start`` and ``end`` may be anything
    :class:`pandas.Timestamp` accepts.
    """

    unit_id: str
    start: pd.Timestamp
    end: pd.Timestamp


def _default_start() -> pd.Timestamp:
    return pd.Timestamp("2026-01-05 00:00")  # a Monday


@dataclass
class ProfileConfig:
    """Settings of a disturbance profile. Units are in the field names (h, min, C, -).

    Invalid values raise :class:`ValueError` naming the field, the value and the allowed range,
    both here (site-independent checks) and in :func:`generate_disturbances` (checks against the
    site, e.g. outage unit ids).
    """

    start: pd.Timestamp = field(default_factory=_default_start)
    """Timestamp of the first step (default Monday 2026-01-05 00:00)."""
    hours: float = 24.0
    """Horizon, h (> 0). The profile has ``int(hours * 60 / step_min)`` steps."""
    step_min: float = 15.0
    """Step length, min (> 0)."""
    seed: int = 0
    """Seed of the single random generator."""

    # ambient
    ambient_min_c: float = 24.0
    """Daily minimum of the deterministic ambient cycle, C (near 06:00)."""
    ambient_max_c: float = 35.0
    """Daily maximum of the deterministic ambient cycle, C (near 14:30)."""
    ambient_noise_std_c: float = 0.7
    """Stationary standard deviation of the AR(1) weather component, C (>= 0)."""
    ambient_noise_tau_h: float = 8.0
    """Correlation time of the weather component, h (> 0)."""

    # furnace load (by-product steam)
    tle_variation: bool = True
    """Let by-product steam drift around nominal (False: hold nominal, except for decoking)."""
    tle_std_fraction: float = 0.04
    """Stationary standard deviation of the drift, fraction of nominal steam (>= 0)."""
    tle_tau_h: float = 12.0
    """Correlation time of the furnace-load drift, h (> 0)."""
    decoking: bool = False
    """Add one furnace-decoking dip at a random time in the horizon."""
    decoking_duration_h: float = 36.0
    """Length of the decoking dip, h (> 0), including 2 h ramps down and up."""
    decoking_drop_fraction: float = 0.125
    """Steam lost while one furnace is decoked, fraction of nominal (one of eight furnaces)."""

    # consumers
    demand_tau_h: float = 1.0
    """Correlation time of the consumer-demand AR(1) noise, h (> 0)."""

    # electricity
    site_load_daily_fraction: float = 0.02
    """Relative amplitude of the daily site-load shape, following the ambient (>= 0)."""
    site_load_tau_h: float = 2.0
    """Correlation time of the site-load AR(1) noise, h (> 0)."""

    # machine drives
    machine_power_swing_fraction: float = 0.05
    """Relative machine-drive power change at the furnace-load limits (min or max steam)."""

    # gas turbines
    gt_fouling_start_hours: dict[str, float] | None = None
    """Running hours since the last compressor wash at ``start``, per gas turbine, h
    (default: 500 h for every gas turbine; turbines not listed also start at 500 h)."""

    # outages
    outages: list[Outage | tuple[str, object, object]] = field(default_factory=list)
    """Windows ``(unit_id, start, end)``: the unit is unavailable for steps in ``[start, end)``."""

    def __post_init__(self) -> None:
        self.validate()

    @property
    def n_steps(self) -> int:
        """Number of steps, ``int(hours * 60 / step_min)``."""
        return int(self.hours * 60.0 / self.step_min)

    @property
    def step(self) -> pd.Timedelta:
        """Step length as a :class:`pandas.Timedelta`."""
        return pd.Timedelta(minutes=self.step_min)

    def validate(self, site: Site | None = None) -> None:
        """Check the settings (and, given a site, the unit ids they name); raise ValueError.

        Also normalises ``start`` to a :class:`pandas.Timestamp` and ``outages`` to
        :class:`Outage` tuples of timestamps.
        """
        self.start = _timestamp("start", self.start)
        self.outages = [
            Outage(str(o[0]), _timestamp(f"outages[{i}].start", o[1]), _timestamp(f"outages[{i}].end", o[2]))
            for i, o in enumerate(_outage_tuples(self.outages))
        ]
        if isinstance(self.seed, bool) or not isinstance(self.seed, int | np.integer) or self.seed < 0:
            raise ValueError(f"seed = {self.seed!r} is out of range: must be an integer >= 0")
        _check_finite("hours", self.hours, gt=0.0)
        _check_finite("step_min", self.step_min, gt=0.0)
        if self.n_steps < 1:
            raise ValueError(
                f"hours = {self.hours!r} gives no step of step_min = {self.step_min!r} min: "
                f"must be >= step_min / 60 = {self.step_min / 60.0:g} h"
            )
        _check_finite("ambient_min_c", self.ambient_min_c, ge=-60.0, le=70.0)
        _check_finite("ambient_max_c", self.ambient_max_c, ge=-60.0, le=70.0)
        if not self.ambient_min_c < self.ambient_max_c:
            raise ValueError(
                f"ambient_min_c = {self.ambient_min_c!r} is out of range: must be below ambient_max_c = {self.ambient_max_c!r}"
            )
        _check_finite("ambient_noise_std_c", self.ambient_noise_std_c, ge=0.0, le=10.0)
        _check_finite("tle_std_fraction", self.tle_std_fraction, ge=0.0, le=0.5)
        _check_finite("decoking_duration_h", self.decoking_duration_h, gt=0.0)
        _check_finite("decoking_drop_fraction", self.decoking_drop_fraction, ge=0.0, le=1.0)
        _check_finite("site_load_daily_fraction", self.site_load_daily_fraction, ge=0.0, le=0.5)
        _check_finite("machine_power_swing_fraction", self.machine_power_swing_fraction, ge=0.0, le=0.5)
        for name in ("ambient_noise_tau_h", "tle_tau_h", "demand_tau_h", "site_load_tau_h"):
            _check_finite(name, getattr(self, name), gt=0.0)
        for gt_id, h in (self.gt_fouling_start_hours or {}).items():
            _check_finite(f"gt_fouling_start_hours[{gt_id!r}]", h, ge=0.0)
        for i, o in enumerate(self.outages):
            try:
                ordered = o.end > o.start
            except TypeError:
                raise ValueError(
                    f"outages[{i}].end = {o.end} cannot be compared with outages[{i}].start = {o.start}: "
                    "both must be time-zone aware or both naive"
                ) from None
            if not ordered:
                raise ValueError(f"outages[{i}].end = {o.end} is out of range: must be after outages[{i}].start = {o.start}")
            if (o.start.tzinfo is None) != (self.start.tzinfo is None):
                raise ValueError(
                    f"outages[{i}].start = {o.start} is out of range: must be time-zone "
                    f"{'naive' if self.start.tzinfo is None else 'aware'} like start = {self.start}"
                )
        if site is None:
            return
        for gt_id in self.gt_fouling_start_hours or {}:
            if gt_id not in site.gas_turbines:
                raise ValueError(
                    f"gt_fouling_start_hours key {gt_id!r} is not a gas turbine of site {site.name!r}: "
                    f"must be one of {sorted(site.gas_turbines)}"
                )
        units = _outage_units(site)
        for i, o in enumerate(self.outages):
            if o.unit_id not in units:
                raise ValueError(
                    f"outages[{i}].unit_id = {o.unit_id!r} is not a unit of site {site.name!r}: "
                    f"must be an id of {', '.join(OUTAGE_COLLECTIONS)} ({', '.join(sorted(units))})"
                )


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


# --------------------------------------------------------------------------- series


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


# --------------------------------------------------------------------------- helpers


def _timestamp(name: str, value: object) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} = {value!r} is not a timestamp: {exc}") from None
    if ts is pd.NaT:
        raise ValueError(f"{name} = {value!r} is not a timestamp: must not be NaT")
    return ts


def _outage_tuples(outages: Iterable[object]) -> list[tuple[object, object, object]]:
    out = []
    for i, o in enumerate(outages):
        if not isinstance(o, tuple | list) or len(o) != 3:
            raise ValueError(f"outages[{i}] = {o!r} is not an outage: must be a (unit_id, start, end) tuple")
        out.append((o[0], o[1], o[2]))
    return out


def _outage_units(site: Site) -> set[str]:
    units: set[str] = set()
    for name in OUTAGE_COLLECTIONS:
        units.update(getattr(site, name))
    return units


def _check_finite(
    name: str, value: object, *, gt: float | None = None, ge: float | None = None, le: float | None = None
) -> None:
    """Raise ValueError naming ``name``, ``value`` and the allowed range unless the value is a
    finite number inside it."""
    parts = []
    if gt is not None:
        parts.append(f"> {gt:g}")
    if ge is not None:
        parts.append(f">= {ge:g}")
    if le is not None:
        parts.append(f"<= {le:g}")
    allowed = "a finite number" + (" " + " and ".join(parts) if parts else "")
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = (gt is None or v > gt) and (ge is None or v >= ge) and (le is None or v <= le)
    if not ok:
        raise ValueError(f"{name} = {value!r} is out of range: must be {allowed}")


def _keys(dicts: Iterable[dict[str, float]]) -> list[str]:
    """Keys of the dicts in first-seen order."""
    seen: dict[str, None] = {}
    for d in dicts:
        for k in d:
            seen.setdefault(k, None)
    return list(seen)
