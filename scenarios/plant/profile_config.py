"""The settings of a disturbance profile (:class:`ProfileConfig`) and its outage windows
(:class:`Outage`), checked when made and against a site: every invalid value raises
:class:`ValueError` naming the field, the value and the allowed range.

The profile itself is made by :func:`scenarios.plant.profiles.generate_disturbances`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd

from optimizer.site.model import Site

#: Site collections whose ids may be taken out of service by an outage window.
OUTAGE_COLLECTIONS: tuple[str, ...] = ("boilers", "gas_turbines", "turbines", "condensers", "letdowns", "vents")


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
