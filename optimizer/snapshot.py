"""Snapshot validation: every value checked, bad tags substituted or their unit held, nothing raised.

A snapshot is a mapping of tag -> value (the historian's tag names, see :mod:`optimizer.tags`)
plus ``timestamp``. What the engine needs from it:

* disturbances: ``ambient_temp_c``, each consumer's ``<id>.steam_tph``, each by-product source's
  ``<id>.steam_tph``, each machine drive's ``<id>.power_mw`` (the process power), ``site_load_mw``;
* the current operating point: ``<boiler>.steam_tph``, ``<gt>.power_mw``, ``<gt>.duct_steam_tph``,
  ``<generator>.power_mw``, ``<turbine>.extraction<k>_tph``, ``<drive>.on_motor``;
* each unit's condition: ``<gt>.fouling_hours``, ``<unit>.available`` (0/1 or true/false),
  ``<unit>.minutes_in_state`` (time since the unit last started or stopped);
* optional: prices ``<fuel>.price_per_gj`` and ``import_price_per_mwh``, further measurements.

Rules (each bad value is reported in ``substitutions`` with its reason):

* A value must be a real number (Python or numpy int/float; booleans only for the 0/1 flags),
  finite, representable as a float and inside the tag's physical range.
* A bad or missing value is replaced by the last good value of that tag. Without one:
  a disturbance takes the site's nominal value; a unit's **operating point** is unknown, and
  the unit's state with it: the engine then moves nothing (:attr:`ValidatedSnapshot.unknown_units`);
  a unit's **condition** that was reported but is unreadable holds the unit (no start, stop or
  move): unreadable availability could hide a trip, unreadable minutes in state could hide a
  minimum up/down time, unreadable fouling could hide a lower maximum.
* A tag that is not in the snapshot at all keeps its last good value (reported); an optional tag
  the plant has never sent takes its nominal value silently (most sites do not report
  availability or minutes in state).
* A unit whose own operating point could not be read is held where it was (last good value).
* ``timestamp``: an ISO 8601 string or a datetime, between 2000 and 2100. A timestamp with a UTC
  offset is converted to the site's local time (``timezone`` in the site file; refused when the
  site declares none, since the tariff period would be a guess); a naive one is site local time.
  Each must come after the last accepted one. A snapshot refused for its timestamp changes
  nothing (last good values included). A single timestamp far out of line with the last
  accepted one (more than ``max_gap_s`` ahead, or behind it) is refused; when
  ``resync_after`` snapshots in a row agree among themselves on a new time line, it is taken
  (with a warning), so that one bad clock value cannot block the engine for ever.

Unknown tags are ignored and reported. :meth:`SnapshotValidator.validate` never raises.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from optimizer import tags
from optimizer.site.model import Site, learned_ducts

# what a tag is to the engine, and so what its bad value means (see the module docstring)
DISTURBANCE, POINT, CONDITION, OPTIONAL = "disturbance", "point", "condition", "optional"


@dataclass(frozen=True)
class TagRule:
    """What a tag may hold and what to use when it is bad."""

    tag: str
    lower: float
    upper: float
    nominal: float | None
    unit: str | None = None  # the unit whose operating point or condition this is (held when the tag is bad)
    required: bool = True
    kind: str = DISTURBANCE  # DISTURBANCE | POINT | CONDITION | OPTIONAL
    flag: bool = False  # a 0/1 flag: booleans are accepted as 0/1
    # a reading further than this rate (per minute since the last accepted snapshot, plus
    # ``rate_slack``) from the tag's last good value is a spike, not the plant: substituted
    max_rate_per_min: float | None = None
    rate_slack: float = 0.0


@dataclass
class Substitution:
    tag: str
    value: object
    reason: str
    used: float | None
    source: str  # "last good" | "nominal" | "held"
    count: int = 1
    kind: str = DISTURBANCE  # the tag's kind (TagRule.kind)


@dataclass
class ValidatedSnapshot:
    """Clean values for every tag the engine uses, and the record of what was wrong."""

    timestamp: pd.Timestamp
    values: dict[str, float]
    substitutions: list[Substitution] = field(default_factory=list)
    held_units: set[str] = field(default_factory=set)
    # units whose own operating point has no good value at all (none now, none before): their
    # state is unknown, so the cycle moves nothing
    unknown_units: set[str] = field(default_factory=set)
    unknown_tags: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    # the last good values this snapshot would leave (taken by the validator only when the
    # snapshot is accepted: a refused snapshot changes nothing)
    good: dict[str, float] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    @property
    def substituted(self) -> list[Substitution]:
        """Substitutions of tags the proposal depends on (disturbances, operating points and the
        units' conditions: availability, minutes in state, fouling): a proposal computed on them
        may not match the plant. Optional tags (prices, further measurements) do not count."""
        return [s for s in self.substitutions if s.kind in (DISTURBANCE, POINT, CONDITION)]


def tag_rules(site: Site) -> dict[str, TagRule]:
    """The physical range and fallback of every tag a snapshot of this site may carry."""
    r: dict[str, TagRule] = {}

    def add(tag, lo, hi, nominal, unit=None, required=True, kind=None, **more):
        kind = kind or (DISTURBANCE if required else OPTIONAL)
        r[tag] = TagRule(tag, lo, hi, nominal, unit, required, kind, **more)

    # weather moves ambient by a few C an hour (a front: about 10 C): 0.5 C/min + 2 C is generous,
    # and catches a sensor jumping to a plausible but wrong value (it sets every GT's maximum)
    add(tags.AMBIENT, -30.0, 60.0, site.design_ambient_c, max_rate_per_min=0.5, rate_slack=2.0)
    e = site.electricity
    add(tags.SITE_LOAD, 0.0, 10.0 * (e.site_load_mw if e else 1.0) + 1.0, e.site_load_mw if e else 0.0,
        required=e is not None)  # a site with no grid connection balances no power
    for c in site.consumers.values():
        add(tags.steam(c.id), 0.0, 5.0 * max(c.demand_tph, c.max_tph or 0.0) + 10.0, c.demand_tph)
    for s in site.byproduct_sources.values():
        add(tags.steam(s.id), 0.0, 2.0 * s.max_steam_tph, s.nominal_steam_tph)
    for s, (_, src) in site.fuel_system.sources().items():  # by-product fuel gas: a disturbance (bad: last good, else nominal)
        if src.kind == "byproduct":
            add(tags.fuel(s), 0.0, 1.5 * src.max_gj_h if math.isfinite(src.max_gj_h) else 10.0 * src.nominal_gj_h + 100.0, src.nominal_gj_h)
        else:
            add(f"{s}.price_per_gj", 0.0, 1e5, src.price_per_gj, required=False)
    for x, fur in site.fuel_system.furnaces.items():
        add(tags.fuel(x), 0.0, 1.5 * fur.max_gj_h if math.isfinite(fur.max_gj_h) else 10.0 * fur.draw_gj_h + 100.0, fur.draw_gj_h)
    for c in site.consumers.values():
        if c.column is not None:  # a steered column: its reflux is its operating point, its feed a disturbance
            col = c.column         # (a substituted feed holds the column: optimizer/cycle.py)
            add(tags.column_reflux(c.id), 0.0, 2.0 * col.reflux_ratio_max, None, unit=c.id, kind=POINT)
            add(tags.column_feed(c.id), 0.0, 2.0 * col.feed_max_tph, col.feed_nominal_tph, unit=c.id)
            add(tags.column_purity(c.id), 0.0, 1.0, None, required=False)
    for b in site.boilers.values():
        add(tags.boiler_steam(b.id), 0.0, 1.5 * b.max_steam_tph, None, unit=b.id, kind=POINT)
    for g in site.gas_turbines.values():
        add(tags.gt_power(g.id), 0.0, 1.5 * g.iso_power_mw, None, unit=g.id, kind=POINT)
        add(tags.gt_fouling(g.id), 0.0, 1e5, None, unit=g.id, kind=CONDITION)  # no reading: the maximum is unknown
        if g.hrsg is not None and g.hrsg.duct_max_steam_tph > 0:
            add(tags.duct_steam(g.id), 0.0, 1.5 * g.hrsg.duct_max_steam_tph, None, unit=g.id, kind=POINT)
    for t in site.turbines.values():
        if t.drive == "machine":
            add(tags.turbine_power(t.id), 0.0, 2.0 * t.power_mw, t.power_mw)
        else:
            add(tags.turbine_power(t.id), 0.0, 1.5 * t.max_power_mw, None, unit=t.id, kind=POINT)
        for k in range(len(t.sections) - 1):
            add(tags.extraction(t.id, k), 0.0, 1.5 * t.sections[k].max_flow_tph, None, unit=t.id, kind=POINT)
        if t.motor is not None:
            add(tags.on_motor(t.id), 0.0, 1.0, None, unit=t.id, kind=POINT, flag=True)
    units = [*site.boilers, *site.gas_turbines, *site.turbines, *site.letdowns, *site.vents]
    for u in units:
        # not reported by the site at all: available, long in its state; once reported, the last
        # good value; unreadable: the unit is held
        add(tags.available(u), 0.0, 1.0, 1.0, unit=u, required=False, kind=CONDITION, flag=True)
        add(tags.minutes_in_state(u), 0.0, 1e8, 1e6, unit=u, required=False, kind=CONDITION)
    for b in site.boilers.values():  # a dual-fuel boiler's measured split: the current point's evaluation burns it
        if len(b.fuels) > 1:
            for f in b.fuels:
                add(tags.boiler_fuel_of(b.id, f), 0.0, 1e6, None, required=False)
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
    for gid in learned_ducts(site):  # a learned duct's fuel: an input of its model (optimizer/duct.py)
        add(tags.duct_fuel(gid), 0.0, 2.0 * site.gas_turbines[gid].hrsg.duct_max_fuel_gj_h, None, required=False)
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
    fs = site.fuel_system
    for b in site.boilers.values():
        names += [tags.boiler_steam(b.id), f"{b.id}.on"]
        if len(b.fuels) > 1 and fs.burner_of(b.id) is None:
            names += [f"{b.id}.fuel_{f}_share" for f in b.fuels]
    for bu in fs.burners.values():  # a burner's blend: its share of each fuel header
        if len(bu.headers) > 1:
            names += [tags.fuel_share(bu.unit, h, bu.duct) for h in bu.headers]
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
    names += [tags.steam(c.id) for c in site.consumers.values() if c.flexible and c.column is None]
    names += [tags.column_reflux(c.id) for c in site.consumers.values() if c.column is not None]  # a column: its reflux
    names += [tags.steam(u) for u in (*site.letdowns, *site.vents)]
    return names


# timestamps outside these years are clock faults, not plant time
EARLIEST_TIMESTAMP = pd.Timestamp("2000-01-01")
LATEST_TIMESTAMP = pd.Timestamp("2100-01-01")


class SnapshotValidator:
    """Validates snapshots of one site and remembers the last good value of every tag.

    ``timezone``: the site's IANA zone (default: the site file's ``timezone``); ``max_gap_s``:
    how far ahead of the last accepted snapshot a timestamp may be (s); ``resync_after``: how
    many snapshots in a row must agree on a new time line before it is taken."""

    def __init__(self, site: Site, stale_after_s: float = 600.0, future_tolerance_s: float = 120.0,
                 max_gap_s: float = 86400.0, resync_after: int = 3, timezone: str | None = None):
        self.site = site
        self.rules = tag_rules(site)
        self.stale_after_s = stale_after_s
        self.future_tolerance_s = future_tolerance_s
        self.max_gap_s = max_gap_s
        self.resync_after = resync_after
        zone = timezone if timezone is not None else getattr(site, "timezone", "")
        self.zone = ZoneInfo(zone) if zone else None
        self.last_good: dict[str, float] = {}
        self.bad_counts: dict[str, int] = {}
        self.last_timestamp: pd.Timestamp | None = None
        self._candidates: list[pd.Timestamp] = []  # refused timestamps that may be a new time line

    def validate(self, snapshot: object, now: object = None) -> ValidatedSnapshot:
        """Never raises: a snapshot that cannot be used at all has ``errors``. The last good
        values (and the last timestamp) change only when the snapshot is accepted."""
        try:
            return self._validate(snapshot, now)
        except Exception as exc:  # a defect here must not cost the plant its answer: refuse the snapshot
            return ValidatedSnapshot(pd.Timestamp(0), {}, errors=[f"snapshot could not be validated: {type(exc).__name__}: {exc}"])

    def _validate(self, snapshot: object, now: object) -> ValidatedSnapshot:
        if not isinstance(snapshot, Mapping):
            return ValidatedSnapshot(pd.Timestamp(0), {}, errors=[f"snapshot must be a mapping of tag -> value, got {type(snapshot).__name__}"])
        errors: list[str] = []
        warnings: list[str] = []
        ts = self._timestamp(snapshot.get("timestamp", _MISSING), errors, warnings, now)
        out = ValidatedSnapshot(ts, {}, errors=errors, warnings=warnings)
        for key in snapshot:
            if key != "timestamp" and key not in self.rules:
                out.unknown_tags.append(str(key)[:80])
        counts: dict[str, int] = {}
        minutes = (ts - self.last_timestamp).total_seconds() / 60.0 if self.last_timestamp is not None and not errors else None
        for tag, rule in self.rules.items():
            raw = snapshot.get(tag, _MISSING)
            value, reason = _read(raw, rule)
            if reason is None and rule.max_rate_per_min is not None and minutes is not None and tag in self.last_good:
                allowed = rule.max_rate_per_min * max(minutes, 0.0) + rule.rate_slack
                if abs(value - self.last_good[tag]) > allowed:
                    reason = (f"jumped {value - self.last_good[tag]:+.4g} from its last good value {self.last_good[tag]:.4g} in "
                              f"{minutes:.3g} min (at most {rule.max_rate_per_min:g}/min + {rule.rate_slack:g})")
            if reason is None:
                out.values[tag] = out.good[tag] = value
                continue
            last = self.last_good.get(tag)
            if raw is _MISSING and not rule.required and last is None:
                # never sent by this site: its nominal, silently (e.g. no availability flags)
                if rule.nominal is not None:
                    out.values[tag] = rule.nominal
                continue
            count = counts[tag] = self.bad_counts.get(tag, 0) + 1
            shown = _shown(raw)
            if last is not None:
                out.values[tag] = last
                out.substitutions.append(Substitution(tag, shown, reason, last, "last good", count, rule.kind))
                if rule.kind == POINT:  # where the unit is now is not known: it does not move
                    out.held_units.add(rule.unit)
            elif rule.kind in (DISTURBANCE, OPTIONAL):
                if rule.nominal is not None:
                    out.values[tag] = rule.nominal
                source = "nominal" if rule.nominal is not None else "left out"
                out.substitutions.append(Substitution(tag, shown, reason, rule.nominal, source, count, rule.kind))
            else:  # a unit's operating point or condition with no good value ever: the unit is held
                out.substitutions.append(Substitution(tag, shown, reason, None, "held", count, rule.kind))
                out.held_units.add(rule.unit)
                if rule.kind == POINT:
                    out.unknown_units.add(rule.unit)
                elif rule.nominal is not None:  # the cycle needs a value (availability, minutes in state):
                    out.values[tag] = rule.nominal  # the nominal, the unit held whatever it is
        if not errors:
            self.last_good.update(out.good)
            for tag in self.rules:
                if tag in counts:
                    self.bad_counts[tag] = counts[tag]
                elif tag in out.good:
                    self.bad_counts.pop(tag, None)
            self.last_timestamp = ts
            self._candidates.clear()
        return out

    # ------------------------------------------------------------------ timestamps
    def local_time(self, raw: object, what: str = "timestamp") -> pd.Timestamp:
        """``raw`` (ISO 8601 string or datetime) as the site's naive local time; ValueError with
        the rule broken otherwise."""
        if isinstance(raw, str):
            text = raw.strip()
            try:
                parsed = _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                raise ValueError(f"{what} = {raw[:40]!r}: must be an ISO 8601 date and time (e.g. 2026-03-02T10:00:00+07:00)") from None
            ts = pd.Timestamp(parsed)
        elif isinstance(raw, _dt.datetime):
            ts = pd.Timestamp(raw)
        elif isinstance(raw, np.datetime64):
            ts = pd.Timestamp(raw)
        else:
            raise ValueError(f"{what} = {_shown(raw)!r}: must be an ISO 8601 date and time string or a datetime, "
                             f"not {type(raw).__name__} (numbers are refused: epoch seconds and nanoseconds look alike)")
        if pd.isna(ts):
            raise ValueError(f"{what} = {_shown(raw)!r}: not a time")
        if ts.tzinfo is not None:
            if self.zone is None:
                raise ValueError(f"{what} = {ts.isoformat()}: has a UTC offset but the site file declares no `timezone`, "
                                 "so its local time (and tariff period) is unknown: declare it or send local time without offset")
            ts = ts.tz_convert(self.zone).tz_localize(None)
        if not EARLIEST_TIMESTAMP <= ts < LATEST_TIMESTAMP:
            raise ValueError(f"{what} = {ts.isoformat()}: outside [{EARLIEST_TIMESTAMP.date()}, {LATEST_TIMESTAMP.date()}): a clock fault")
        return ts

    def _timestamp(self, raw: object, errors: list[str], warnings: list[str], now: object) -> pd.Timestamp:
        if raw is _MISSING:
            errors.append("timestamp: missing (an ISO 8601 date and time is required)")
            return pd.Timestamp(0)
        try:
            ts = self.local_time(raw)
        except ValueError as exc:
            errors.append(str(exc))
            return pd.Timestamp(0)
        if now is not None:
            try:
                now_ts = self.local_time(now, "clock()")
            except ValueError as exc:
                errors.append(f"the engine's clock is unusable: {exc}")
                return ts
            age = (now_ts - ts).total_seconds()
            if age > self.stale_after_s:
                errors.append(f"timestamp = {ts.isoformat()}: stale, {age:.0f} s old (allowed {self.stale_after_s:.0f} s)")
            elif age < -self.future_tolerance_s:
                errors.append(f"timestamp = {ts.isoformat()}: {-age:.0f} s in the future (allowed {self.future_tolerance_s:.0f} s)")
        last = self.last_timestamp
        if last is None or errors:
            return ts
        gap = (ts - last).total_seconds()
        if 0 < gap <= self.max_gap_s:
            return ts
        # out of line with the last accepted snapshot: refused, unless it continues a run of
        # snapshots that agree among themselves (the plant's clock really moved)
        c = self._candidates
        if c and 0 < (ts - c[-1]).total_seconds() <= self.max_gap_s:
            c.append(ts)
        else:
            c[:] = [ts]
        if len(c) >= self.resync_after:
            warnings.append(f"timestamp = {ts.isoformat()}: {len(c)} snapshots in a row agree on a new time line "
                            f"({gap / 3600:+.1f} h from the last accepted {last.isoformat()}): taken")
            return ts
        if gap <= 0:
            errors.append(f"timestamp = {ts.isoformat()}: not after the previous snapshot's {last.isoformat()} (duplicated or out of order)")
        else:
            errors.append(f"timestamp = {ts.isoformat()}: {gap / 3600:.1f} h after the previous snapshot's {last.isoformat()} "
                          f"(more than {self.max_gap_s / 3600:g} h: a clock fault unless {self.resync_after} snapshots in a row agree)")
        return ts


def _read(raw: object, rule: TagRule) -> tuple[float, str | None]:
    """(value, None) for a good value, (nan, reason) for a bad one."""
    if raw is _MISSING:
        return math.nan, "missing"
    if isinstance(raw, (bool, np.bool_)):
        if not rule.flag:
            return math.nan, "not a number (bool)"
        return float(bool(raw)), None
    if not isinstance(raw, numbers.Real):
        return math.nan, f"not a number ({type(raw).__name__})"
    try:
        value = float(raw)
    except (OverflowError, ValueError, TypeError):
        return math.nan, "not representable as a float (too large)"
    if not math.isfinite(value):
        return math.nan, "not finite"
    if not rule.lower <= value <= rule.upper:
        return math.nan, f"outside [{rule.lower:g}, {rule.upper:g}]"
    return value, None


class _Missing:
    def __repr__(self) -> str:
        return "(missing)"


_MISSING = _Missing()


def _shown(value: object) -> object:
    """A bad value as it can be reported (short, JSON-safe)."""
    if isinstance(value, (bool, float)) or value is None:
        return value
    if isinstance(value, int) and abs(value) < 10**15:
        return value
    if isinstance(value, str):
        return value[:60]
    return repr(value)[:60]
