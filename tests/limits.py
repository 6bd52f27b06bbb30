"""The safety rules a Proposal must obey, written once for the tests, independently of the engine
(optimizer/cycle.py and optimizer/snapshot.py are what is being checked, so nothing here calls them
except for the tags' documented physical ranges, :func:`optimizer.snapshot.tag_rules`).

The rules (README, optimizer/cycle.py's docstring, issue 14):

* a reading is good when it is a real number (Python or numpy int/float, not a bool except for 0/1 flags, finite, not
  too large for a float) inside its tag's physical range; anything else is bad (missing, NaN,
  inf, 10**400, strings, booleans, None, containers);
* the last known good state of a tag is its good reading this cycle, else its last good reading
  (a snapshot refused as ``invalid_input`` does not count);
* boxes: equipment limits intersected with move limits (ramp x cycle time) around the last good
  reading, clamped into the equipment range first (a GT above today's base power may come down
  to it; nothing else may move down faster than its ramp);
* a running unit stops only from near its minimum (last good load - ramp x cycle <= minimum) and
  when its minimum up time / the switch interval has passed and it may be switched off; a stopped
  unit starts only when available, its minimum down time / switch interval has passed, and at
  no more than minimum + ramp x cycle; a unit that becomes unavailable is off (a trip stops it from
  any load);
* a unit whose own reading is bad is held: listed in ``held_units``, same on/off and same load as
  its last good state; with no last good state at all it is at least not switched off (a bad
  reading never switches a unit off);
* extraction flows move at most ``extraction_ramp_tph_per_min`` x cycle minutes from their last
  good reading (at 0 too), inside [0, section maximum];
* optional tags: an absent availability flag means its last good value (available only if it was
  never reported); an availability flag reported bad with no good value is unknown: the unit may
  not be started. ``minutes_in_state`` absent: its last good value plus the time since (long ago if
  never reported); reported bad with nothing good before: unknown, no start or stop. A GT's
  fouling hours unknown (never good): its maximum is unknown, so its power may not rise;
* holds (``fallback_hold``, ``unknown_state``, ``invalid_input``) carry the last known good readings: this
  cycle's for ``fallback_hold`` and ``unknown_state``, the previous cycle's for ``invalid_input`` (the refused snapshot is not used);
  an unavailable unit's hold is 0.

:class:`LimitChecker` carries the last known good state through a sequence of cycles;
:func:`assert_inside_limits` checks one cycle from a fresh state (every tag's only reading is the
snapshot's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from optimizer import tags
from optimizer.site.model import Site
from optimizer.snapshot import tag_rules

OPTIMISED = ("optimal", "infeasible_demand", "time_limited", "fallback_local", "substituted")
HOLDS = ("fallback_hold", "invalid_input", "unknown_state")


def as_number(raw: object) -> float | None:
    """The float a raw reading stands for, or None when it is not a finite real number."""
    if isinstance(raw, (bool, np.bool_)) or not isinstance(raw, (int, float, np.integer, np.floating)):
        return None
    try:
        x = float(raw)
    except (OverflowError, ValueError):
        return None
    return x if math.isfinite(x) else None


def _tol(x: float) -> float:
    return 1e-6 * max(1.0, abs(x))


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


class LimitChecker:
    """The rules above for one site, with the last known good state carried between cycles.

    ``violations(snapshot, proposal)`` lists every broken rule of one cycle (empty: all good) and
    then takes the snapshot's good readings as the last good state (unless the proposal refused
    the snapshot as ``invalid_input``)."""

    def __init__(self, site: Site, cycle_s: float = 60.0, extraction_ramp_tph_per_min: float = 5.0,
                 min_switch_interval_min: float = 60.0):
        self.site = site
        self.dt_min = cycle_s / 60.0
        self.x_ramp = extraction_ramp_tph_per_min
        self.switch_min = min_switch_interval_min
        self.rules = tag_rules(site)
        self.last_good: dict[str, float] = {}
        self.last_good_at: dict[str, pd.Timestamp] = {}

    # ------------------------------------------------------------------ readings
    def good(self, snapshot: Mapping, tag: str) -> float | None:
        """The tag's reading in this snapshot if it is good, else None."""
        if tag not in snapshot:
            return None
        rule = self.rules.get(tag)
        raw = snapshot[tag]
        # a 0/1 flag (availability, drive on motor) may be a boolean
        x = float(bool(raw)) if rule is not None and rule.flag and isinstance(raw, (bool, np.bool_)) else as_number(raw)
        if x is None or (rule is not None and not rule.lower <= x <= rule.upper):
            return None
        return x

    def _known(self, snapshot: Mapping, tag: str, use_snapshot: bool) -> float | None:
        x = self.good(snapshot, tag) if use_snapshot else None
        return x if x is not None else self.last_good.get(tag)

    def _time(self, snapshot: Mapping) -> pd.Timestamp | None:
        raw = snapshot.get("timestamp")
        if not isinstance(raw, str):
            return None
        try:
            ts = pd.Timestamp(raw)
        except (ValueError, TypeError, OverflowError):
            return None
        if pd.isna(ts):
            return None
        # naive timestamps are site local time; aware ones are converted to it
        return ts.tz_convert(self.site.timezone or "UTC").tz_localize(None) if ts.tzinfo is not None else ts

    def commit(self, snapshot: Mapping) -> None:
        """Take the snapshot's good readings as the last good state."""
        ts = self._time(snapshot)
        for tag in self.rules:
            x = self.good(snapshot, tag)
            if x is not None:
                self.last_good[tag] = x
                if ts is not None:
                    self.last_good_at[tag] = ts

    # ------------------------------------------------------------------ the cycle's reference state
    def _availability(self, snapshot: Mapping, unit: str, equipment_ok: bool, use: bool) -> bool | None:
        """True/False, or None when unknown (reported but unreadable, never good)."""
        if not equipment_ok:
            return False
        tag = tags.available(unit)
        x = self.good(snapshot, tag) if use else None
        if x is not None:
            return x >= 0.5
        if tag in self.last_good:
            return self.last_good[tag] >= 0.5
        if use and tag in snapshot:  # reported, unreadable, nothing good before
            return None
        return True  # never reported: the documented default

    def _minutes(self, snapshot: Mapping, unit: str, use: bool) -> float | None:
        tag = tags.minutes_in_state(unit)
        x = self.good(snapshot, tag) if use else None
        if x is not None:
            return x
        if tag in self.last_good:
            ts, then = self._time(snapshot), self.last_good_at.get(tag)
            extra = (ts - then).total_seconds() / 60.0 if ts is not None and then is not None and ts > then else 0.0
            return self.last_good[tag] + extra
        if use and tag in snapshot:
            return None
        return math.inf

    # ------------------------------------------------------------------ the check
    def violations(self, snapshot: Mapping, p, commit: bool = True) -> list[str]:
        """Every rule the proposal ``p`` breaks for this snapshot (see the module docstring)."""
        out: list[str] = []
        status = p.status
        use = status != "invalid_input"  # a refused snapshot is not the plant's state
        if not isinstance(snapshot, Mapping):
            snapshot = {}
        if status in OPTIMISED:
            self._check_optimised(snapshot, p, out)
        elif status in HOLDS:
            self._check_hold(snapshot, p, out, use)
        else:
            out.append(f"unknown status {status!r}")
        for name, value in p.setpoints.items():
            if as_number(value) is None:
                out.append(f"{name} = {value!r}: not a finite number")
        if commit and use:
            self.commit(snapshot)
        return out

    def _held(self, snapshot: Mapping, unit: str, own_tags: list[str]) -> bool:
        return any(self.good(snapshot, t) is None for t in own_tags)

    def _check_hold(self, snapshot: Mapping, p, out: list[str], use: bool) -> None:
        site, sp = self.site, p.setpoints
        units: dict[str, list[str]] = {}
        for b in site.boilers:
            units[b] = [tags.boiler_steam(b)]
        for g, gt in site.gas_turbines.items():
            units[g] = [tags.gt_power(g)] + ([tags.duct_steam(g)] if gt.hrsg is not None and gt.hrsg.duct_max_steam_tph > 0 else [])
        for t, tur in site.turbines.items():
            own = [tags.turbine_power(t)] if tur.drive == "generator" else []
            own += [tags.extraction(t, k) for k in range(len(tur.sections) - 1)]
            own += [tags.on_motor(t)] if tur.motor is not None else []
            units[t] = own
        equipment = {**{b: bo.available for b, bo in site.boilers.items()}, **{g: gt.available for g, gt in site.gas_turbines.items()},
                     **{t: tur.available for t, tur in site.turbines.items()}}
        for unit, own in units.items():
            off = use and self._availability(snapshot, unit, equipment[unit], use) is False
            for tag in own:
                if tag not in sp:
                    continue
                v = sp[tag]
                if as_number(v) is None:
                    continue
                if off and tag != tags.on_motor(unit):
                    if abs(v) > _tol(0.0):
                        out.append(f"{p.status}: {tag} = {v:.6g} held for {unit}, which is unavailable (must be 0)")
                    continue
                ref = self._known(snapshot, tag, use)
                if ref is None:
                    out.append(f"{p.status}: {tag} = {v:.6g} held with no good reading ever (nothing to hold)")
                elif abs(v - ref) > _tol(ref):
                    which = "this cycle's reading or last good value" if use else "the last good value before the refused snapshot"
                    out.append(f"{p.status}: {tag} = {v:.6g} is not {which} {ref:.6g}")

    def _check_optimised(self, snapshot: Mapping, p, out: list[str]) -> None:
        site, sp, dt = self.site, p.setpoints, self.dt_min
        held_listed = set(p.held_units)

        def need(tag: str) -> float | None:
            if tag not in sp:
                out.append(f"{tag}: missing from the proposal")
                return None
            return as_number(sp[tag])

        # boilers
        for b, bo in site.boilers.items():
            s, on = need(tags.boiler_steam(b)), need(f"{b}.on")
            if s is None or on is None:
                continue
            on = on >= 0.5
            cur = self._known(snapshot, tags.boiler_steam(b), True)
            avail = self._availability(snapshot, b, bo.available, True)
            held = self._held(snapshot, b, [tags.boiler_steam(b)])
            self._unit(out, b, on, s, cur, avail, held, held_listed, bo.min_steam_tph, bo.max_steam_tph, bo.ramp_tph_per_min,
                       can_off=bo.can_switch_off, can_on=bo.can_switch_off, up_min=bo.min_up_min, down_min=bo.min_down_min,
                       minutes=self._minutes(snapshot, b, True))
            if not on and abs(s) > _tol(0.0):
                out.append(f"{b}: off with steam {s:.6g} t/h")
        # gas turbines
        amb = self._known(snapshot, tags.AMBIENT, True)
        amb = site.design_ambient_c if amb is None else amb
        for g, gt in site.gas_turbines.items():
            s = need(tags.gt_power(g))
            if s is None:
                continue
            on = s > _tol(0.0)
            cur = self._known(snapshot, tags.gt_power(g), True)
            avail = self._availability(snapshot, g, gt.available, True)
            duct_tag = tags.duct_steam(g) if gt.hrsg is not None and gt.hrsg.duct_max_steam_tph > 0 else None
            own = [tags.gt_power(g)] + ([duct_tag] if duct_tag else [])
            held = self._held(snapshot, g, own)
            fouling = self._known(snapshot, tags.gt_fouling(g), True)
            top = max(gt.min_power_mw, gt.base_power_mw(amb, fouling)) if fouling is not None else None
            if top is None:  # maximum unknown: no rise above the last good load (nor above ISO)
                top = gt.iso_power_mw if cur is None else min(gt.iso_power_mw, max(gt.min_power_mw, cur))
            self._unit(out, g, on, s, cur, avail, held, held_listed, gt.min_power_mw, top, gt.ramp_mw_per_min,
                       can_off=gt.can_switch_off, can_on=gt.can_switch_off, up_min=gt.min_up_min, down_min=gt.min_down_min,
                       minutes=self._minutes(snapshot, g, True))
            if duct_tag:
                d = need(duct_tag)
                if d is None:
                    continue
                h = gt.hrsg
                if abs(d) > _tol(0.0):
                    if not on:
                        out.append(f"{g}: duct firing {d:.6g} t/h with the GT off")
                    if not h.duct_min_steam_tph - _tol(h.duct_min_steam_tph) <= d <= h.duct_max_steam_tph + _tol(h.duct_max_steam_tph):
                        out.append(f"{duct_tag} = {d:.6g} outside [{h.duct_min_steam_tph:g}, {h.duct_max_steam_tph:g}]")
                if held:
                    dcur = self._known(snapshot, duct_tag, True)
                    if dcur is not None and avail is not False and abs(d - dcur) > _tol(dcur):
                        out.append(f"{g} held (bad reading) but {duct_tag} moved {dcur:.6g} -> {d:.6g}")
        # steam turbines
        for t, tur in site.turbines.items():
            own = [tags.turbine_power(t)] if tur.drive == "generator" else []
            xtags = [tags.extraction(t, k) for k in range(len(tur.sections) - 1)]
            own += xtags + ([tags.on_motor(t)] if tur.motor is not None else [])
            held = self._held(snapshot, t, own)
            avail = self._availability(snapshot, t, tur.available, True)
            minutes = self._minutes(snapshot, t, True)
            if tur.drive == "generator":
                s, on = need(tags.turbine_power(t)), need(f"{t}.on")
                if s is not None and on is not None:
                    on = on >= 0.5
                    cur = self._known(snapshot, tags.turbine_power(t), True)
                    self._unit(out, t, on, s, cur, avail, held, held_listed, tur.min_power_mw, tur.max_power_mw, tur.ramp_mw_per_min,
                               can_off=tur.can_switch_off, can_on=tur.can_switch_off, up_min=max(self.switch_min, tur.min_up_min),
                               down_min=max(self.switch_min, tur.min_down_min),
                               minutes=minutes, running_above=0.0)
                    if not on and abs(s) > _tol(0.0):
                        out.append(f"{t}: off with power {s:.6g} MW")
            elif tur.motor is not None:
                m = need(tags.on_motor(t))
                if m is not None:
                    m_on = m >= 0.5
                    was = self._known(snapshot, tags.on_motor(t), True)
                    if avail is False and not m_on:
                        out.append(f"{t}: drive unavailable but kept on its turbine")
                    elif was is not None and m_on != (was >= 0.5) and avail is not False:
                        if held:
                            out.append(f"{t}: held (bad reading) but switched {'to' if m_on else 'off'} its motor")
                        elif minutes is None or minutes < self.switch_min:
                            out.append(f"{t}: drive switched {'to' if m_on else 'off'} its motor {minutes} min after its last change (interval {self.switch_min:g})")
            for k, xt in enumerate(xtags):
                x = need(xt)
                if x is None:
                    continue
                x_max = tur.sections[k].max_flow_tph
                if not -_tol(0.0) <= x <= x_max + _tol(x_max):
                    out.append(f"{xt} = {x:.6g} outside [0, {x_max:g}]")
                if avail is False:  # a trip stops the turbine from any load, its extractions with it
                    continue
                xcur = self._known(snapshot, xt, True)
                if xcur is None:
                    if t not in held_listed:
                        out.append(f"{t}: extraction never read but {t} not in held_units")
                    continue
                c = _clamp(xcur, 0.0, x_max)
                step = 0.0 if held else self.x_ramp * dt
                if abs(x - c) > step + _tol(c):
                    out.append(f"{xt}: {xcur:.6g} -> {x:.6g} moves {x - c:+.6g} t/h, limit {step:g}{' (held)' if held else ''}")
        for l, ld in site.letdowns.items():
            v = need(tags.steam(l))
            if v is not None:
                hi = ld.max_flow_tph if self._availability(snapshot, l, True, True) is not False else 0.0
                if not -_tol(0.0) <= v <= hi + _tol(hi):
                    out.append(f"{l} = {v:.6g} outside [0, {hi:g}]")
        for c, con in site.consumers.items():
            if con.flexible and con.column is None:
                v = need(tags.steam(c))
                if v is not None and not con.min_tph - _tol(con.min_tph) <= v <= con.max_tph + _tol(con.max_tph):
                    out.append(f"{c} = {v:.6g} outside [{con.min_tph:g}, {con.max_tph:g}]")
            elif con.column is not None:  # a steered column: its reflux in range, moved at most its limit
                col, rt = con.column, tags.column_reflux(c)
                r = need(rt)
                if r is None:
                    continue
                if not col.reflux_ratio_min - _tol(0.0) <= r <= col.reflux_ratio_max + _tol(0.0):
                    out.append(f"{rt} = {r:.6g} outside [{col.reflux_ratio_min:g}, {col.reflux_ratio_max:g}]")
                rcur, feed = self._known(snapshot, rt, True), self.good(snapshot, tags.column_feed(c))
                if rcur is None:
                    if c not in held_listed:
                        out.append(f"{c}: reflux never read but {c} not in held_units")
                    continue
                # held: its reflux or feed reading bad, or its feed outside the column's range
                held = self.good(snapshot, rt) is None or feed is None or not col.feed_min_tph <= feed <= col.feed_max_tph
                rc = _clamp(rcur, col.reflux_ratio_min, col.reflux_ratio_max)
                step = 0.0 if held else col.reflux_move_per_min * dt
                if abs(r - rc) > step + 1e-9 * (1.0 + abs(rc)):
                    out.append(f"{rt}: {rcur:.6g} -> {r:.6g} moves {r - rc:+.6g}, limit {step:g}{' (held)' if held else ''}")

    def _unit(self, out: list[str], u: str, on: bool, s: float, cur: float | None, avail: bool | None, held: bool,
              held_listed: set[str], emin: float, emax: float, ramp: float, can_off: bool, can_on: bool,
              up_min: float, down_min: float, minutes: float | None, running_above: float | None = None) -> None:
        """One unit's on/off and load against its last good load ``cur``."""
        dt = self.dt_min
        if held and u not in held_listed:
            out.append(f"{u}: its reading is bad but it is not in held_units")
        if avail is False:
            if on:
                out.append(f"{u}: unavailable but proposed on at {s:.6g}")
            return
        if cur is None:  # never read: held; a bad reading never switches a unit off
            if not on:
                out.append(f"{u}: never read (bad reading, no last good value) and proposed OFF")
            elif not emin - _tol(emin) <= s <= emax + _tol(emax):
                out.append(f"{u}: {s:.6g} outside [{emin:g}, {emax:g}]")
            return
        was_on = cur > (0.5 * emin if running_above is None else running_above)
        if held:
            if on != was_on:
                out.append(f"{u}: held (bad reading) but switched {'on' if on else 'OFF'} (last good {cur:.6g})")
            elif on and abs(s - cur) > _tol(cur) and abs(s - _clamp(cur, emin, emax)) > _tol(cur):
                out.append(f"{u}: held (bad reading) but moved {cur:.6g} -> {s:.6g}")
            return
        if on and was_on:
            c = _clamp(cur, emin, emax)
            lo, hi = max(emin, c - ramp * dt), min(emax, c + ramp * dt)
            if not lo - _tol(lo) <= s <= hi + _tol(hi):
                out.append(f"{u}: {cur:.6g} -> {s:.6g} outside its box [{lo:.6g}, {hi:.6g}] (limits [{emin:g}, {emax:.6g}], ramp {ramp * dt:g})")
        elif on and not was_on:
            hi = min(emax, emin + ramp * dt)
            if avail is None:
                out.append(f"{u}: started with its availability unknown")
            elif not can_on:
                out.append(f"{u}: started but may not be switched by the optimiser")
            elif minutes is None or minutes < down_min:
                out.append(f"{u}: started {minutes} min after it stopped (minimum {down_min:g})")
            if not emin - _tol(emin) <= s <= hi + _tol(hi):
                out.append(f"{u}: started at {s:.6g}, outside [{emin:g}, {hi:.6g}]")
        elif not on and was_on:
            if avail is None:
                return  # maybe unavailable: stopping is the safe side
            if not can_off:
                out.append(f"{u}: stopped (from {cur:.6g}) but may not be switched off by the optimiser")
            elif minutes is None or minutes < up_min:
                out.append(f"{u}: stopped {minutes} min after it started (minimum {up_min:g})")
            if cur - ramp * dt > emin + _tol(emin):
                out.append(f"{u}: stopped from {cur:.6g}, above its minimum {emin:g} + ramp {ramp * dt:g}")


def _reference_site() -> Site:
    from optimizer.site import load_site

    return load_site(Path(__file__).resolve().parents[1] / "scenarios" / "sites" / "reference_olefins.toml")


_SITE: list[Site] = []


def assert_inside_limits(snapshot: dict, p, cycle_s: float = 60.0, site: Site | None = None,
                         extraction_ramp_tph_per_min: float = 5.0, min_switch_interval_min: float = 60.0) -> None:
    """Every setpoint of ``p`` obeys the rules for this snapshot, with no earlier readings (the
    snapshot's good readings are the last good state). Default site: the reference site."""
    if site is None:
        if not _SITE:
            _SITE.append(_reference_site())
        site = _SITE[0]
    checker = LimitChecker(site, cycle_s, extraction_ramp_tph_per_min, min_switch_interval_min)
    bad = checker.violations(snapshot, p)
    assert not bad, f"{p.status}: " + "; ".join(bad)
