"""The write guard of closed-loop mode: is this setpoint value safe to write now?

Checked again here, independently of the optimiser, from the site file and the values read this
cycle (never from anything the optimiser computed; whatever it proposes, the guard alone decides):

* the value is a finite number;
* **the unit's readings**: every reading of the unit's operating point (a boiler's steam; a gas
  turbine's power and duct steam; a generator's power and extractions), the setpoint's own
  reading, the unit's availability flag when the plant maps one, and for a gas turbine's power
  the ambient temperature and its fouling hours, were all read Good this cycle. One of them bad
  (bad OPC UA quality, stale, NaN or missing): nothing of that unit is written this cycle (held);
  nothing is assumed for it (no availability of 1, no fouling of 0 h);
* the unit is in service (the site file's ``available`` and, when read, ``<unit>.available`` not 0)
  and not held by the supervisor;
* **starts and stops**: a setpoint that switches its unit (a boiler's steam, a gas turbine's power,
  a duct burner's steam, a generator's power: 0 means off) never starts or stops it, unless the
  setpoint is in the configuration's ``start_stop_allow_list``. A unit that is off (its reading at
  most half its minimum) is not written; a running unit is never written below its minimum. With
  starts and stops enabled for the setpoint: a start goes to ``[min, min + move limit]``, a stop
  (0) only from within one move limit of the minimum (the optimiser's own rules);
* equipment limits: ``lower <= value <= upper`` (a boiler's steam within [min, max]; a gas
  turbine's power within [min, base power at this cycle's ambient and fouling]; a duct burner
  or a generator within [min, max]; an extraction within [0, the section's max flow]; a flexible
  draw within its band; a letdown or vent within [0, capacity]; a fuel share within [0, 1]);
* move limit, where the unit has a ramp rate ``r`` (per minute): ``|value - reading| <= r * cycle_s / 60``
  from the reading of this cycle (not clamped into the limits: a unit outside them moves back at
  its ramp rate, or is not written).

A small tolerance ``1e-6 * max(1, |bound|)`` absorbs the solver's rounding. Discrete setpoints
(``.on``, ``.on_motor``) are never written (refused by the configuration).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from optimizer import tags
from optimizer.site.model import Site
from optimizer.snapshot import TagRule, tag_rules


@dataclass(frozen=True)
class SetpointLimit:
    """Equipment limits of one setpoint, in its own unit (t/h, MW or -), its move limit, and
    what must have been read this cycle before it may be written."""

    name: str
    unit: str               # the unit id (boiler, GT, turbine, ...)
    lower: float            # when running, for a setpoint that switches its unit
    upper: float
    ramp_per_min: float | None = None  # move limit per minute; None: no move limit
    switches: bool = False             # 0 means the unit is off: writing it across 0 starts or stops the unit
    on_above: float = 0.0              # with ``switches``: a reading above this means the unit is running
    requires: tuple[str, ...] = ()     # tags that must be read Good this cycle for any write
    in_service: bool = True            # the site file's ``available``


def operating_tags(rules: Mapping[str, TagRule]) -> dict[str, tuple[str, ...]]:
    """unit -> the tags of its operating point, from the site's :func:`~optimizer.snapshot.tag_rules`
    (a bad one makes the Supervisor hold the unit)."""
    out: dict[str, tuple[str, ...]] = {}
    for tag, rule in rules.items():
        if rule.unit is not None and rule.required:
            out[rule.unit] = (*out.get(rule.unit, ()), tag)
    return out


def proposal_mismatch(setpoints: Mapping[str, object], unit_tags: Mapping[str, tuple[str, ...]],
                      current: Mapping[str, float], last_good: Mapping[str, float]) -> str | None:
    """Why no setpoint at all may be written from a proposal with these ``setpoints``, or None.

    A unit whose operating point was not read Good this cycle (not in ``current``) must be
    proposed exactly where it was last read Good (``last_good``: held): a proposal that moves or
    stops it was built on a wrong picture of the plant (e.g. the unit taken as off), and its other
    setpoints compensate for a change that will not happen. Without any Good reading of that unit
    yet (a first cycle), the proposal cannot be checked: nothing is written."""
    for unit, own in unit_tags.items():
        unread = [t for t in own if t not in current]
        if not unread:
            continue
        for tag in own:
            proposed = setpoints.get(tag)
            if proposed is None:
                continue
            last = last_good.get(tag)
            if last is None:
                return (f"{unit}: {', '.join(unread)} not read Good and never read Good before: the proposal cannot be"
                        f" checked against {unit}'s state; nothing is written this cycle")
            p = float(proposed) if _good(proposed) else math.nan
            if not abs(p - last) <= 1e-6 * max(1.0, abs(last)):
                return (f"{unit}: {', '.join(unread)} not read Good, yet the proposal moves {tag} from its last Good {last:.6g}"
                        f" to {p:.6g}: it is built on a wrong picture of the plant; nothing is written this cycle")
    return None


def setpoint_limit(site: Site, name: str, current: Mapping[str, float], extraction_ramp_tph_per_min: float = 5.0,
                   read_tags: Collection[str] | None = None, rules: Mapping[str, TagRule] | None = None) -> SetpointLimit | None:
    """The limits of setpoint ``name`` of ``site`` (None for a name it does not know).

    ``current``: this cycle's good readings (ambient and fouling for a gas turbine's base power).
    ``read_tags``: the tags the plant link reads; a unit's availability flag must be read Good
    when it is among them (None: always required). ``rules``: the site's
    :func:`~optimizer.snapshot.tag_rules`, when the caller keeps them."""
    unit, _, quantity = name.partition(".")
    limit = _equipment(site, name, unit, quantity, current, extraction_ramp_tph_per_min)
    if limit is None:
        return None
    rules = tag_rules(site) if rules is None else rules
    # the unit's operating point (a bad one holds the unit, as the Supervisor's validation has it)
    need = list(operating_tags(rules).get(unit, ()))
    if name not in need and name in rules:  # its own reading (fuel shares are not measured)
        need.append(name)
    avail = tags.available(unit)
    if read_tags is None or avail in read_tags:
        need.append(avail)
    if unit in site.gas_turbines and quantity == "power_mw":  # its maximum depends on them: never assumed
        need += [tags.AMBIENT, tags.gt_fouling(unit)]
    return dataclasses.replace(limit, requires=tuple(dict.fromkeys(need)), in_service=_in_service(site, unit))


def _equipment(site: Site, name: str, unit: str, quantity: str, current: Mapping[str, float], x_ramp: float) -> SetpointLimit | None:
    if unit in site.boilers:
        b = site.boilers[unit]
        if quantity == "steam_tph":
            return SetpointLimit(name, unit, b.min_steam_tph, b.max_steam_tph, b.ramp_tph_per_min, switches=True,
                                 on_above=_on_above(b.min_steam_tph, b.max_steam_tph))
        if quantity.startswith("fuel_") and quantity.endswith("_share"):
            return SetpointLimit(name, unit, 0.0, 1.0)
    if unit in site.gas_turbines:
        g = site.gas_turbines[unit]
        if quantity == "power_mw":
            amb, fouling = current.get(tags.AMBIENT), current.get(tags.gt_fouling(unit))
            if amb is None or fouling is None or not (math.isfinite(amb) and math.isfinite(fouling)):
                upper = g.min_power_mw   # not known: no room is assumed (and the write is refused: see requires)
            else:
                upper = max(g.min_power_mw, g.base_power_mw(amb, fouling))
            return SetpointLimit(name, unit, g.min_power_mw, upper, g.ramp_mw_per_min, switches=True,
                                 on_above=_on_above(g.min_power_mw, upper))
        if quantity == "duct_steam_tph" and g.hrsg is not None:
            h = g.hrsg
            return SetpointLimit(name, unit, h.duct_min_steam_tph, h.duct_max_steam_tph, switches=True,
                                 on_above=_on_above(h.duct_min_steam_tph, h.duct_max_steam_tph))
    if unit in site.turbines:
        t = site.turbines[unit]
        if quantity == "power_mw" and t.drive == "generator" and t.max_power_mw is not None:
            return SetpointLimit(name, unit, t.min_power_mw, t.max_power_mw, t.ramp_mw_per_min, switches=True,
                                 on_above=_on_above(t.min_power_mw, t.max_power_mw))
        if quantity.startswith("extraction") and quantity.endswith("_tph"):
            k = quantity[len("extraction"):-len("_tph")]
            if k.isdigit() and int(k) < len(t.sections) - 1:
                return SetpointLimit(name, unit, 0.0, t.sections[int(k)].max_flow_tph, x_ramp)
    if quantity == "steam_tph":
        if unit in site.consumers and site.consumers[unit].flexible:
            c = site.consumers[unit]
            return SetpointLimit(name, unit, float(c.min_tph), float(c.max_tph))
        if unit in site.letdowns:
            return SetpointLimit(name, unit, 0.0, site.letdowns[unit].max_flow_tph)
        if unit in site.vents:
            return SetpointLimit(name, unit, 0.0, site.vents[unit].max_flow_tph)
    return None


def _on_above(minimum: float, maximum: float) -> float:
    """A reading above this means running: half the minimum (the optimiser's rule for boilers and
    gas turbines), or just above 0 for a unit whose minimum is 0."""
    return 0.5 * minimum if minimum > 0 else 1e-6 * max(1.0, abs(maximum))


def _in_service(site: Site, unit: str) -> bool:
    for table in (site.boilers, site.gas_turbines, site.turbines):
        if unit in table:
            return bool(getattr(table[unit], "available", True))
    return True


def check_write(limit: SetpointLimit, value: object, current: Mapping[str, float], cycle_s: float,
                held_units: Collection[str] = frozenset(), start_stop: bool = False) -> str | None:
    """None when ``value`` may be written for ``limit``'s setpoint, else the reason it may not.

    ``current``: tag -> value read Good this cycle (good, finite readings only). ``held_units``:
    the units the Supervisor held. ``start_stop``: the setpoint may start or stop its unit (it
    is in the configuration's ``start_stop_allow_list``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"value {value!r} is not a finite number"
    v = float(value)
    unit = limit.unit
    if not limit.in_service:
        return f"{unit} is out of service in the site file"
    if unit in held_units:
        return f"{unit} is held by the supervisor (its reading was bad)"
    missing = [t for t in limit.requires if not _good(current.get(t))]
    if missing:
        return f"{unit} held: {', '.join(missing)} not read Good this cycle (bad quality, stale or missing): nothing of {unit} is written"
    if tags.available(unit) in limit.requires and current[tags.available(unit)] < 0.5:
        return f"{unit} is reported unavailable"
    step = None if limit.ramp_per_min is None else limit.ramp_per_min * cycle_s / 60.0
    tol_lo, tol_hi = 1e-6 * max(1.0, abs(limit.lower)), 1e-6 * max(1.0, abs(limit.upper))
    cur = current.get(limit.name)
    if limit.switches:
        if cur is None:  # cannot happen: its own reading is required
            return f"current value of {limit.name} not read this cycle: on or off unknown"
        running = cur > limit.on_above
        zero = abs(v) <= tol_lo
        if not running:
            if zero:
                return f"{unit} is off (reading {cur:.6g}) and stays off: not written"
            if not start_stop:
                return (f"{v:.6g} would start {unit}, which is off (reading {cur:.6g}): starts are written only for setpoints"
                        " in closed_loop.start_stop_allow_list")
            top = limit.upper if step is None else min(limit.upper, limit.lower + step)
            if not limit.lower - tol_lo <= v <= top + tol_hi:
                return f"a start of {unit} goes to [{limit.lower:.6g}, {top:.6g}] (minimum, plus one move limit); {v:.6g} is outside"
            return None
        if zero:
            if not start_stop:
                return (f"0 would stop {unit}, which is running (reading {cur:.6g}): stops are written only for setpoints"
                        " in closed_loop.start_stop_allow_list")
            if step is not None and cur - step > limit.lower + tol_lo:
                return f"a stop of {unit} only from within one move limit ({step:.6g}) of its minimum {limit.lower:.6g}; reading {cur:.6g}"
            return None
    if v < limit.lower - tol_lo:
        return f"{v:.6g} is below the equipment minimum {limit.lower:.6g}"
    if v > limit.upper + tol_hi:
        return f"{v:.6g} is above the equipment maximum {limit.upper:.6g}"
    if step is not None:
        if not _good(cur):
            return f"current value of {limit.name} not read this cycle: the move limit cannot be checked"
        if abs(v - cur) > step + 1e-6 * max(1.0, abs(cur)):
            return f"move {v - cur:+.6g} from the current {cur:.6g} exceeds the move limit {step:.6g} per cycle"
    return None


def _good(x: object) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)
