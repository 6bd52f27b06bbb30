"""Snapshot validation: every value checked, bad tags substituted or their unit held, nothing raised.

A snapshot is a mapping of tag -> value (the historian's tag names, see :mod:`optimizer.tags`)
plus ``timestamp`` (ISO 8601). What the engine needs from it:

* disturbances: ``ambient_temp_c``, each consumer's ``<id>.steam_tph``, each by-product source's
  ``<id>.steam_tph``, each machine drive's ``<id>.power_mw`` (the process power), ``site_load_mw``,
  each GT's ``<id>.fouling_hours``;
* the current operating point: ``<boiler>.steam_tph``, ``<gt>.power_mw``, ``<gt>.duct_steam_tph``,
  ``<generator>.power_mw``, ``<turbine>.extraction<k>_tph``, ``<drive>.on_motor``;
* optional: ``<unit>.available`` (0/1, default 1), ``<unit>.minutes_in_state`` (time since the
  unit last started or stopped), prices ``<fuel>.price_per_gj`` and ``import_price_per_mwh``.

Each value must be a finite number inside the tag's physical range. A bad value (missing, NaN,
inf, wrong type, out of range) is replaced by the last good value of that tag (counted), or by
the site's nominal value when there is none; a unit whose own operating point could not be read
is held where it was. Unknown tags are ignored and reported.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from optimizer import tags
from optimizer.site.model import Site


@dataclass(frozen=True)
class TagRule:
    """What a tag may hold and what to use when it is bad."""

    tag: str
    lower: float
    upper: float
    nominal: float | None
    unit: str | None = None  # the unit whose operating point this is (held when the tag is bad)
    required: bool = True


@dataclass
class Substitution:
    tag: str
    value: object
    reason: str
    used: float | None
    source: str  # "last good" | "nominal" | "held"
    count: int = 1


@dataclass
class ValidatedSnapshot:
    """Clean values for every tag the engine uses, and the record of what was wrong."""

    timestamp: pd.Timestamp
    values: dict[str, float]
    substitutions: list[Substitution] = field(default_factory=list)
    held_units: set[str] = field(default_factory=set)
    unknown_tags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors


def tag_rules(site: Site) -> dict[str, TagRule]:
    """The physical range and fallback of every tag a snapshot of this site may carry."""
    r: dict[str, TagRule] = {}

    def add(tag, lo, hi, nominal, unit=None, required=True):
        r[tag] = TagRule(tag, lo, hi, nominal, unit, required)

    add(tags.AMBIENT, -30.0, 60.0, site.design_ambient_c)
    e = site.electricity
    add(tags.SITE_LOAD, 0.0, 10.0 * (e.site_load_mw if e else 1.0) + 1.0, e.site_load_mw if e else 0.0)
    for c in site.consumers.values():
        add(tags.steam(c.id), 0.0, 5.0 * max(c.demand_tph, c.max_tph or 0.0) + 10.0, c.demand_tph)
    for s in site.byproduct_sources.values():
        add(tags.steam(s.id), 0.0, 2.0 * s.max_steam_tph, s.nominal_steam_tph)
    for b in site.boilers.values():
        add(tags.boiler_steam(b.id), 0.0, 1.5 * b.max_steam_tph, None, unit=b.id)
    for g in site.gas_turbines.values():
        add(tags.gt_power(g.id), 0.0, 1.5 * g.iso_power_mw, None, unit=g.id)
        add(tags.gt_fouling(g.id), 0.0, 1e5, 0.0)
        if g.hrsg is not None and g.hrsg.duct_max_steam_tph > 0:
            add(tags.duct_steam(g.id), 0.0, 1.5 * g.hrsg.duct_max_steam_tph, 0.0, unit=g.id)
    for t in site.turbines.values():
        if t.drive == "machine":
            add(tags.turbine_power(t.id), 0.0, 2.0 * t.power_mw, t.power_mw)
        else:
            add(tags.turbine_power(t.id), 0.0, 1.5 * t.max_power_mw, None, unit=t.id)
        for k in range(len(t.sections) - 1):
            add(tags.extraction(t.id, k), 0.0, 1.5 * t.sections[k].max_flow_tph, None, unit=t.id)
        if t.motor is not None:
            add(tags.on_motor(t.id), 0.0, 1.0, 0.0, unit=t.id)
    units = [*site.boilers, *site.gas_turbines, *site.turbines, *site.letdowns, *site.vents]
    for u in units:
        add(tags.available(u), 0.0, 1.0, 1.0, required=False)
        add(tags.minutes_in_state(u), 0.0, 1e8, 1e6, required=False)
    for v in site.vents.values():  # measured vent flows: the current point's evaluation keeps them
        add(tags.steam(v.id), 0.0, 2.0 * v.max_flow_tph, None, required=False)
    # further flow measurements, optional: they give data reconciliation its redundancy
    for ld in site.letdowns.values():
        add(tags.steam(ld.id), 0.0, 2.0 * ld.max_flow_tph, None, required=False)
    # measured outputs of the learned quantities, optional: they let the drift monitor compare
    # each surrogate with what the plant did
    for b in site.boilers.values():
        add(tags.boiler_fuel(b.id), 0.0, 3.0 * 4.0 * b.max_steam_tph, None, required=False)  # 4 GJ/t covers any boiler's heat per tonne
    for g in site.gas_turbines.values():
        add(tags.gt_fuel(g.id), 0.0, 3.0 * g.iso_power_mw * g.iso_heat_rate_kj_kwh / 1000.0, None, required=False)
        if g.hrsg is not None:
            add(tags.hrsg_unfired(g.id), 0.0, 2.0 * g.hrsg.unfired_steam_at_base_tph + 1.0, None, required=False)
    for g in site.gas_turbines.values():
        if g.hrsg is not None:
            add(f"{g.id}.hrsg_steam_tph", 0.0, 2.0 * (g.hrsg.unfired_steam_at_base_tph + g.hrsg.duct_max_steam_tph), None, required=False)
    for t in site.turbines.values():
        add(tags.turbine_inlet(t.id), 0.0, 2.0 * t.sections[0].max_flow_tph, None, required=False)
        for k, sec in enumerate(t.sections):
            add(f"{t.id}.s{k}_flow_tph", 0.0, 2.0 * sec.max_flow_tph, None, required=False)
    total = sum(b.max_steam_tph for b in site.boilers.values()) + sum(s.max_steam_tph for s in site.byproduct_sources.values())
    add("deaerator.steam_tph", 0.0, total + 1.0, None, required=False)
    for h in site.headers:
        add(f"{h}.spray_water_tph", 0.0, total + 1.0, None, required=False)
    for f in site.fuels:
        add(f"{f}.price_per_gj", 0.0, 1e5, site.fuels[f].price_per_gj, required=False)
    add("import_price_per_mwh", 0.0, 1e6, None, required=False)
    return r


def setpoint_names(site: Site) -> list[str]:
    """Every setpoint a Proposal of this site may carry (the keys of ``Proposal.setpoints``)."""
    names: list[str] = []
    for b in site.boilers.values():
        names += [tags.boiler_steam(b.id), f"{b.id}.on"]
        if len(b.fuels) > 1:
            names += [f"{b.id}.fuel_{f}_share" for f in b.fuels]
    for g in site.gas_turbines.values():
        names.append(tags.gt_power(g.id))
        if g.hrsg is not None and g.hrsg.duct_max_steam_tph > 0:
            names.append(tags.duct_steam(g.id))
    for t in site.turbines.values():
        if t.drive == "generator":
            names += [tags.turbine_power(t.id), f"{t.id}.on"]
        names += [tags.extraction(t.id, k) for k in range(len(t.sections) - 1)]
        if t.motor is not None:
            names.append(tags.on_motor(t.id))
    names += [tags.steam(c.id) for c in site.consumers.values() if c.flexible]
    names += [tags.steam(u) for u in (*site.letdowns, *site.vents)]
    return names


class SnapshotValidator:
    """Validates snapshots of one site and remembers the last good value of every tag."""

    def __init__(self, site: Site, stale_after_s: float = 600.0, future_tolerance_s: float = 120.0):
        self.site = site
        self.rules = tag_rules(site)
        self.stale_after_s = stale_after_s
        self.future_tolerance_s = future_tolerance_s
        self.last_good: dict[str, float] = {}
        self.bad_counts: dict[str, int] = {}
        self.last_timestamp: pd.Timestamp | None = None

    def validate(self, snapshot: object, now: pd.Timestamp | None = None) -> ValidatedSnapshot:
        """Never raises: a snapshot that cannot be used at all has ``errors``."""
        if not isinstance(snapshot, Mapping):
            return ValidatedSnapshot(pd.Timestamp(0), {}, errors=[f"snapshot must be a mapping of tag -> value, got {type(snapshot).__name__}"])
        errors: list[str] = []
        ts = self._timestamp(snapshot.get("timestamp"), errors, now)
        out = ValidatedSnapshot(ts, {}, errors=errors)
        for key in snapshot:
            if key != "timestamp" and key not in self.rules:
                out.unknown_tags.append(str(key))
        for tag, rule in self.rules.items():
            raw = snapshot.get(tag, _MISSING)
            reason = self._check(raw, rule)
            if reason is None:
                value = float(raw)
                out.values[tag] = value
                self.last_good[tag] = value
                self.bad_counts.pop(tag, None)
                continue
            if raw is _MISSING and not rule.required:  # not reported: its nominal (e.g. available)
                if rule.nominal is not None:
                    out.values[tag] = rule.nominal
                continue
            count = self.bad_counts[tag] = self.bad_counts.get(tag, 0) + 1
            if tag in self.last_good:
                out.values[tag] = self.last_good[tag]
                out.substitutions.append(Substitution(tag, _shown(raw), reason, self.last_good[tag], "last good", count))
            elif rule.nominal is not None:
                out.values[tag] = rule.nominal
                out.substitutions.append(Substitution(tag, _shown(raw), reason, rule.nominal, "nominal", count))
            else:
                out.substitutions.append(Substitution(tag, _shown(raw), reason, None, "held", count))
            if rule.unit is not None:
                out.held_units.add(rule.unit)
        if not errors:
            self.last_timestamp = ts
        return out

    def _timestamp(self, raw: object, errors: list[str], now: pd.Timestamp | None) -> pd.Timestamp:
        try:
            ts = pd.Timestamp(raw)
            if pd.isna(ts):
                raise ValueError("missing")
        except (ValueError, TypeError):
            errors.append(f"timestamp = {_shown(raw)!r}: must be an ISO 8601 date and time")
            return pd.Timestamp(0)
        if ts.tzinfo is not None:
            ts = ts.tz_convert("UTC").tz_localize(None)
        if self.last_timestamp is not None and ts <= self.last_timestamp:
            errors.append(f"timestamp = {ts.isoformat()}: not after the previous snapshot's {self.last_timestamp.isoformat()} (duplicated or out of order)")
        if now is not None:
            age = (now - ts).total_seconds()
            if age > self.stale_after_s:
                errors.append(f"timestamp = {ts.isoformat()}: stale, {age:.0f} s old (allowed {self.stale_after_s:.0f} s)")
            elif age < -self.future_tolerance_s:
                errors.append(f"timestamp = {ts.isoformat()}: {-age:.0f} s in the future (allowed {self.future_tolerance_s:.0f} s)")
        return ts

    @staticmethod
    def _check(raw: object, rule: TagRule) -> str | None:
        if raw is _MISSING:
            return "missing"
        if isinstance(raw, bool) or not isinstance(raw, (int, float)):
            return f"not a number ({type(raw).__name__})"
        value = float(raw)
        if not math.isfinite(value):
            return "not finite"
        if not rule.lower <= value <= rule.upper:
            return f"outside [{rule.lower:g}, {rule.upper:g}]"
        return None


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING = _Missing()


def _shown(value: object) -> object:
    if isinstance(value, (int, float, str, bool)) or value is None:
        return value
    return repr(value)[:60]
