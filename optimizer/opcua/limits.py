"""The write guard of closed-loop mode: is this setpoint value safe to write now?

Checked again here, independently of the optimiser, from the site file and the values read this
cycle (not from anything the optimiser computed):

* the value is a finite number;
* equipment limits: ``lower <= value <= upper`` (a boiler's steam within [min, max] when on; a
  gas turbine's power within [min, base power at this cycle's ambient and fouling]; a duct burner
  off (0) or within [min, max]; a generator within [min, max]; an extraction within [0, the
  section's max flow]; a flexible draw within its band; a letdown or vent within [0, capacity];
  a fuel share within [0, 1]);
* move limit, where the unit has a ramp rate ``r`` (per minute): ``|value - c| <= r * cycle_s / 60``
  with ``c`` the current value read this cycle clamped into [lower, upper] (as the optimiser's
  box is built); the current value must have been read this cycle;
* the unit is in service (``<unit>.available`` not 0) and not held by the supervisor.

A small tolerance ``1e-6 * max(1, |bound|)`` absorbs the solver's rounding. Starts, stops and drive
changes (``.on``, ``.on_motor``) are never written (refused by the configuration).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from optimizer import tags
from optimizer.site.model import Site


@dataclass(frozen=True)
class SetpointLimit:
    """Equipment limits of one setpoint, in its own unit (t/h, MW or -), and its move limit."""

    name: str
    unit: str               # the unit id (boiler, GT, turbine, ...)
    lower: float
    upper: float
    ramp_per_min: float | None = None  # move limit per minute; None: no move limit
    zero_allowed: bool = False         # 0 means "off" and is allowed (duct burner)


def setpoint_limit(site: Site, name: str, current: Mapping[str, float], extraction_ramp_tph_per_min: float = 5.0) -> SetpointLimit | None:
    """The limits of setpoint ``name`` of ``site`` (None for a name it does not know).
    ``current``: this cycle's readings (ambient and fouling for a gas turbine's base power)."""
    unit, _, quantity = name.partition(".")
    if unit in site.boilers:
        b = site.boilers[unit]
        if quantity == "steam_tph":
            return SetpointLimit(name, unit, b.min_steam_tph, b.max_steam_tph, b.ramp_tph_per_min)
        if quantity.startswith("fuel_") and quantity.endswith("_share"):
            return SetpointLimit(name, unit, 0.0, 1.0)
    if unit in site.gas_turbines:
        g = site.gas_turbines[unit]
        if quantity == "power_mw":
            amb = current.get(tags.AMBIENT, site.design_ambient_c)
            base = g.base_power_mw(amb, current.get(tags.gt_fouling(unit), 0.0))
            return SetpointLimit(name, unit, g.min_power_mw, max(g.min_power_mw, base), g.ramp_mw_per_min)
        if quantity == "duct_steam_tph" and g.hrsg is not None:
            return SetpointLimit(name, unit, g.hrsg.duct_min_steam_tph, g.hrsg.duct_max_steam_tph, zero_allowed=True)
    if unit in site.turbines:
        t = site.turbines[unit]
        if quantity == "power_mw" and t.drive == "generator" and t.max_power_mw is not None:
            return SetpointLimit(name, unit, t.min_power_mw, t.max_power_mw, t.ramp_mw_per_min)
        if quantity.startswith("extraction") and quantity.endswith("_tph"):
            k = quantity[len("extraction"):-len("_tph")]
            if k.isdigit() and int(k) < len(t.sections) - 1:
                return SetpointLimit(name, unit, 0.0, t.sections[int(k)].max_flow_tph, extraction_ramp_tph_per_min)
    if quantity == "steam_tph":
        if unit in site.consumers and site.consumers[unit].flexible:
            c = site.consumers[unit]
            return SetpointLimit(name, unit, float(c.min_tph), float(c.max_tph))
        if unit in site.letdowns:
            return SetpointLimit(name, unit, 0.0, site.letdowns[unit].max_flow_tph)
        if unit in site.vents:
            return SetpointLimit(name, unit, 0.0, site.vents[unit].max_flow_tph)
    return None


def check_write(limit: SetpointLimit, value: object, current: Mapping[str, float], cycle_s: float,
                held_units: set[str] | frozenset[str] = frozenset()) -> str | None:
    """None when ``value`` may be written for ``limit``'s setpoint, else the reason it may not.
    ``current``: tag -> value read this cycle (good readings only)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"value {value!r} is not a finite number"
    v = float(value)
    if current.get(tags.available(limit.unit), 1.0) < 0.5:
        return f"{limit.unit} is reported unavailable"
    if limit.unit in held_units:
        return f"{limit.unit} is held by the supervisor (its reading was bad)"
    tol_lo, tol_hi = 1e-6 * max(1.0, abs(limit.lower)), 1e-6 * max(1.0, abs(limit.upper))
    if not (limit.zero_allowed and abs(v) <= tol_lo):
        if v < limit.lower - tol_lo:
            return f"{v:.6g} is below the equipment minimum {limit.lower:.6g}"
        if v > limit.upper + tol_hi:
            return f"{v:.6g} is above the equipment maximum {limit.upper:.6g}"
    if limit.ramp_per_min is not None:
        cur = current.get(limit.name)
        if cur is None or not math.isfinite(cur):
            return f"current value of {limit.name} not read this cycle: the move limit cannot be checked"
        c = min(max(cur, limit.lower), limit.upper)
        step = limit.ramp_per_min * cycle_s / 60.0
        if abs(v - c) > step + 1e-6 * max(1.0, abs(c)):
            return f"move {v - c:+.6g} from the current {cur:.6g} exceeds the move limit {step:.6g} per cycle"
    return None
