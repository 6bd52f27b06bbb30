"""The numbers one supervisory cycle writes into the model, built from a validated snapshot.

Boxes: equipment limits intersected with move limits (ramp rate x cycle time); a unit stops only
from near its minimum load; starts and stops respect minimum up/down times
(``<unit>.minutes_in_state``); a unit whose own reading is bad is held. Three variants of the
boxes: the optimisation's, the current point's (pinned within the measurement band) and the
fallback's (a shrunk box around the current point). Plus demands, prices, the tariff, and each
learned curve's exact breakpoints over its box.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimizer import tags
from optimizer.curves import merge_breakpoints
from optimizer.fp_curves import boiler_physics, linear_fuel_boilers
from optimizer.formulation import sos2_bits
from optimizer.site.model import Site, start_cost
from optimizer.snapshot import ValidatedSnapshot

if TYPE_CHECKING:
    from optimizer.supervisor import Supervisor


@dataclass
class CycleData:
    """Everything the cycle writes into the model: fixed data, the three box variants and the
    curves' breakpoints for each."""

    fixed: dict[tuple[str, object], float]
    box: dict[tuple[str, object], float]
    pinned: dict[tuple[str, object], float]
    local: dict[tuple[str, object], float]
    # per curve group (:class:`optimizer.curves.CurveGroup`): the union of its members'
    # breakpoints over the box and each member's values there
    curves: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]
    # per curve: a function giving ((x, y) just beyond its box on each side, its secant over the
    # pinned band), called (and grouped: curves_pinned, curve_ends) only when asked, after the
    # optimisation has started
    later_by_curve: dict[str, object]
    local_boxes: dict[str, tuple[float, float]]
    disturbances: dict[str, float]
    warnings: list[str]
    free_binaries: int
    duct_on: dict[str, bool]
    members: dict[str, tuple[str, ...]]           # curve group -> its curves
    _by_curve: dict[str, tuple[np.ndarray, np.ndarray]]  # per curve: breakpoints over the box
    states: dict[str, bool]                        # unit -> on as read (a drive: on its motor), for Supervisor.minutes_seen
    minutes: dict[str, float] = dataclasses.field(default_factory=dict)  # unit -> minutes in its state, as the cycle took them

    @functools.cached_property
    def _later(self) -> dict[str, tuple]:
        return {name: f() for name, f in self.later_by_curve.items()}

    @property
    def pinned_by_curve(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per curve: its secant over the pinned band."""
        return {name: v[1] for name, v in self._later.items()}

    @property
    def ends_by_curve(self) -> dict[str, tuple[float, float, float, float]]:
        """Per curve: (x, y) just beyond its box on each side."""
        return {name: v[0] for name, v in self._later.items()}

    @functools.cached_property
    def curves_pinned(self) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Per curve group: its members' secants over the pinned band, merged."""
        return {g: merge_breakpoints(self.pinned_by_curve, names) for g, names in self.members.items()}

    @functools.cached_property
    def curve_ends(self) -> dict[str, tuple[float, dict[str, float], float, dict[str, float]]]:
        """Per curve group: x just below and just above its box and each member's y there, on the
        networks with no kink between them and the box: the duals LP extends each group to them,
        so that a unit's box is held by its limit rows alone and their duals price it (with the
        curves ending exactly at the box edge the two are redundant and the duals split the worth
        between them arbitrarily)."""
        return {g: _group_ends(self.ends_by_curve, self._by_curve, names) for g, names in self.members.items()}

    def local_curves(self, sup: Supervisor) -> dict[str, tuple[np.ndarray, dict[str, np.ndarray]]]:
        """Group breakpoints over the fallback's small boxes (computed only when the fallback runs)."""
        per_curve = {name: sup.curves.breakpoints(name, lo, hi, self.disturbances) for name, (lo, hi) in self.local_boxes.items()}
        return {g: merge_breakpoints(per_curve, grp.members) for g, grp in sup._model.st.groups.items()}

    @classmethod
    def build(cls, sup: Supervisor, snap: ValidatedSnapshot, dt_min: float | None = None, free_switching: bool = False,
              price_switches: bool = True) -> "CycleData":
        """The cycle's data. ``dt_min``: the minutes the move limits cover (default: the cycle's);
        ``free_switching``: minimum up/down times left out (a plan's periods: the horizon's
        coupling rows hold them, optimizer/horizon.py); a schedule the Supervisor follows
        (:meth:`Supervisor.follow`) narrows each unit's on/off to its plan where the rules allow;
        ``price_switches``: a start or stop pays its cost over ``start_payback_h`` (False: a plan's
        periods, whose coupling prices starts and stops itself)."""
        site, cfg, v = sup.site, sup.config, snap.values
        dt_min = cfg.cycle_s / 60.0 if dt_min is None else dt_min
        follow = None if free_switching else getattr(sup, "following", None)
        fixed: dict = {}
        box: dict = {}
        pinned: dict = {}
        local: dict = {}
        warnings: list[str] = []
        free = 0
        duct_on: dict[str, bool] = {}
        unit_box: dict[str, tuple[float, float, float, float, float]] = {}  # unit -> (lo, hi, pin_lo, pin_hi, local lo/hi below)
        local_box: dict[str, tuple[float, float]] = {}

        def avail(u: str) -> bool:
            return v.get(tags.available(u), 1.0) >= 0.5

        states: dict[str, bool] = {}  # unit -> on (for a drive: on its motor) as read this cycle
        minutes_of: dict[str, float] = {}

        def minutes(u: str, on_now: bool) -> float:
            # the smaller of what the plant reports and what this engine saw itself: a unit that
            # tripped (its reading fell to 0) is not restarted before its minimum down time even
            # where the plant reports no minutes in state
            states[u] = on_now
            m = min(v.get(tags.minutes_in_state(u), 1e6), sup.minutes_seen(u, on_now, snap.timestamp))
            minutes_of[u] = m
            return math.inf if free_switching else m

        def set3(comp, idx, b, p, lo_=None):
            box[(comp, idx)] = b
            pinned[(comp, idx)] = p
            local[(comp, idx)] = b if lo_ is None else lo_

        def moving(u, cur, emin, emax, ramp, on_now, can_on, can_off, held, band=0.0):
            """(on_lo, on_hi) and (lo, hi) for the optimisation, the pinned and the local boxes."""
            nonlocal free
            if held:  # a unit whose own reading is bad stays as it is
                can_on = can_off = False
            if on_now and cur - ramp * dt_min > emin:  # a unit stops only from (near) its minimum load
                can_off = False
            on_lo = 0.0 if (not on_now or can_off) else 1.0
            on_hi = 1.0 if (on_now or can_on) else 0.0
            on_lo, on_hi = _followed(follow, u, snap.timestamp, on_lo, on_hi)
            free += int(on_lo != on_hi)
            if on_now:
                c = min(max(cur, emin), emax)
                step = ramp * dt_min if not held else 0.0
                lo, hi = max(emin, c - step), min(emax, c + step)
                pl, ph = max(emin, c * (1 - band)), min(emax, c * (1 + band))
                frac = cfg.local_box_fraction
                ll, lh = max(emin, c - frac * step), min(emax, c + frac * step)
            else:
                lo, hi = emin, min(emax, emin + ramp * dt_min)
                pl = ph = ll = lh = emin
            lo, hi = min(lo, hi), max(lo, hi)
            return (on_lo, on_hi), (lo, hi), (pl, ph), (ll, lh), on_now

        # boilers
        for b, bo in site.boilers.items():
            cur = v[tags.boiler_steam(b)]  # every unit's operating point is known here (Supervisor: unknown_units)
            on_now = cur > 0.5 * bo.min_steam_tph and cur > 0.0
            ok = bo.available and avail(b)
            mins = minutes(b, on_now)
            (ol, oh), (lo, hi), (pl, ph), (ll, lh), _ = moving(
                b, cur, bo.min_steam_tph, bo.max_steam_tph, bo.ramp_tph_per_min, on_now and ok,
                can_on=ok and bo.can_switch_off and mins >= bo.min_down_min, can_off=bo.can_switch_off and mins >= bo.min_up_min,
                held=b in snap.held_units, band=cfg.measurement_band)
            if on_now and not ok:
                warnings.append(f"{b}: reported unavailable while running; proposed off")
            set3("b_on_lo", b, ol, 1.0 if on_now and ok else 0.0, 1.0 if on_now and ok else 0.0)
            set3("b_on_hi", b, oh, 1.0 if on_now and ok else 0.0, 1.0 if on_now and ok else 0.0)
            set3("b_lo", b, lo, pl, ll)
            set3("b_hi", b, hi, ph, lh)
            unit_box[("boiler_fuel", b)] = (lo, hi, pl, ph)
            local_box[("boiler_fuel", b)] = (ll, lh)
            if len(bo.fuels) > 1:  # the current point burns the measured fuel split (free when unread)
                burnt = [v.get(tags.boiler_fuel_of(b, f)) for f in bo.fuels]
                total = sum(burnt) if None not in burnt else 0.0
                for f, gj in zip(bo.fuels, burnt):
                    set3("b_share_lo", (b, f), 0.0, gj / total if on_now and total > 0.0 else 0.0, 0.0)
        # gas turbines
        amb = v.get(tags.AMBIENT, site.design_ambient_c)
        # a constant-efficiency boiler with no curve of its own: fuel = this x steam, its
        # efficiency corrected for this cycle's ambient (optimizer/fp_curves.py, the linear row
        # b_linear_fuel of optimizer/formulation.py)
        for b in linear_fuel_boilers(site, sup.curves.slots):
            fixed[("b_fuel_per_tph", b)] = boiler_physics(site, sup.props, b).fuel_on_gj_h(1.0, amb)
        for g, gt in site.gas_turbines.items():
            cur = v[tags.gt_power(g)]
            # no fouling reading ever: the GT is held (snapshot), so its maximum at no fouling
            # bounds nothing; the curves take it as the disturbance
            fouling = v.get(tags.gt_fouling(g), 0.0)
            base = gt.base_power_mw(amb, fouling)
            on_now = cur > 0.5 * gt.min_power_mw
            ok = gt.available and avail(g)
            mins = minutes(g, on_now)
            (ol, oh), (lo, hi), (pl, ph), (ll, lh), _ = moving(
                g, cur, gt.min_power_mw, max(gt.min_power_mw, base), gt.ramp_mw_per_min, on_now and ok,
                can_on=ok and gt.can_switch_off and mins >= gt.min_down_min, can_off=gt.can_switch_off and mins >= gt.min_up_min,
                held=g in snap.held_units)
            pin_on = 1.0 if on_now and ok else 0.0
            set3("g_on_lo", g, ol, pin_on, pin_on)
            set3("g_on_hi", g, oh, pin_on, pin_on)
            set3("g_lo", g, lo, pl, ll)
            set3("g_hi", g, hi, ph, lh)
            for kind in ("gt_fuel", "hrsg_steam"):
                unit_box[(kind, g)] = (lo, hi, pl, ph)
                local_box[(kind, g)] = (ll, lh)
            if g in sup._model.GD:
                h = gt.hrsg
                dcur = v[tags.duct_steam(g)]
                d_now = dcur > 0 and ok
                d_at = min(max(h.duct_min_steam_tph, dcur), h.duct_max_steam_tph)  # the reading inside the burner's range
                on_pin = 1.0 if d_now else 0.0
                if g in snap.held_units:  # a held GT's duct burner stays as it is, on or off, at its load
                    set3("d_on_lo", g, on_pin, on_pin, on_pin)
                    set3("d_on_hi", g, on_pin, on_pin, on_pin)
                    set3("d_lo", g, d_at, d_at, d_at)
                    set3("d_hi", g, d_at, d_at, d_at)
                else:
                    set3("d_on_lo", g, 0.0, on_pin, on_pin)
                    set3("d_on_hi", g, 1.0 if ok else 0.0, on_pin, on_pin)
                    set3("d_lo", g, h.duct_min_steam_tph, d_at, d_at)
                    set3("d_hi", g, h.duct_max_steam_tph, d_at, d_at)
                    free += int(ok)
                duct_on[g] = d_now
        # steam turbines
        x_step = cfg.extraction_ramp_tph_per_min * dt_min
        for t, tur in site.turbines.items():
            ok = tur.available and avail(t)
            # a turbine stops (or hands its machine to the motor) only from extractions within one
            # move of zero, as it stops only from near its minimum load: its extractions go to 0 with it
            low_extraction = all(v[tags.extraction(t, k)] <= x_step for k in range(len(tur.sections) - 1))
            if tur.drive == "machine":
                demand = v.get(tags.turbine_power(t), tur.power_mw)
                fixed[("demand_mw", t)] = demand
                on_motor_now = v.get(tags.on_motor(t), 0.0) >= 0.5 if tur.motor else False
                mins = minutes(t, on_motor_now)
                can_switch = (tur.motor is not None and mins >= cfg.min_switch_interval_min and t not in snap.held_units
                              and (on_motor_now or low_extraction))
                if tur.motor is None:
                    on_lo = on_hi = 1.0 if ok else 0.0
                    if not ok:
                        warnings.append(f"{t}: drive unavailable and no motor: the machine stops")
                else:
                    on_lo = 0.0 if (can_switch or not ok) else (0.0 if on_motor_now else 1.0)
                    on_hi = (1.0 if (can_switch or not on_motor_now) else 0.0) if ok else 0.0
                    on_lo, on_hi = _followed(follow, t, snap.timestamp, on_lo, on_hi)
                    free += int(on_lo != on_hi)
                pin = 0.0 if (on_motor_now or not ok) else 1.0
                set3("t_on_lo", t, on_lo, pin, pin)
                set3("t_on_hi", t, on_hi, pin, pin)
                set3("t_lo", t, 0.0, 0.0)
                set3("t_hi", t, 0.0, 0.0)
            else:
                cur = v[tags.turbine_power(t)]
                on_now = cur > 0.0
                mins = minutes(t, on_now)
                (ol, oh), (lo, hi), (pl, ph), (ll, lh), _ = moving(
                    t, cur, tur.min_power_mw, tur.max_power_mw, tur.ramp_mw_per_min, on_now and ok,
                    can_on=ok and tur.can_switch_off and mins >= max(cfg.min_switch_interval_min, tur.min_down_min),
                    can_off=tur.can_switch_off and mins >= max(cfg.min_switch_interval_min, tur.min_up_min) and low_extraction,
                    held=t in snap.held_units)
                pin_on = 1.0 if on_now and ok else 0.0
                set3("t_on_lo", t, ol, pin_on, pin_on)
                set3("t_on_hi", t, oh, pin_on, pin_on)
                set3("t_lo", t, lo, pl, ll)
                set3("t_hi", t, hi, ph, lh)
                fixed[("demand_mw", t)] = 0.0
                unit_box[("turbine_steam", t)] = (lo, hi, pl, ph)
                local_box[("turbine_steam", t)] = (ll, lh)
            for k, sec in enumerate(tur.sections):
                fixed[("m_lo", (t, k))] = sec.min_flow_tph
                fixed[("m_hi", (t, k))] = sec.max_flow_tph
                if k < len(tur.sections) - 1:  # extraction flows move at most extraction_ramp per minute
                    x_max = sec.max_flow_tph
                    # a reading above the section's maximum (inside the accepted range) is taken
                    # at the maximum: the box must not invert
                    xcur = min(max(v[tags.extraction(t, k)], 0.0), x_max)
                    if v[tags.extraction(t, k)] > x_max:
                        warnings.append(f"{tags.extraction(t, k)} = {v[tags.extraction(t, k)]:.4g} t/h: above the section's maximum "
                                        f"{x_max:.4g} t/h; taken at the maximum")
                    if t in snap.held_units:  # a held turbine's extractions stay where they are
                        set3("x_lo", (t, k), xcur, xcur, xcur)
                        set3("x_hi", (t, k), xcur, xcur, xcur)
                    else:
                        step = x_step
                        frac = cfg.local_box_fraction
                        set3("x_lo", (t, k), max(0.0, xcur - step), xcur * (1 - cfg.measurement_band), max(0.0, xcur - frac * step))
                        set3("x_hi", (t, k), min(x_max, xcur + step), min(x_max, xcur * (1 + cfg.measurement_band)), min(x_max, xcur + frac * step))
        # network, demands, prices
        for l, ld in site.letdowns.items():
            fixed[("ld_hi", l)] = ld.max_flow_tph if avail(l) else 0.0
        for vid, vent in site.vents.items():
            fixed[("vent_hi", vid)] = vent.max_flow_tph if avail(vid) else 0.0
            # the current point vents (at least nearly) what it is measured to vent: rule-based
            # operation wastes steam the optimal closure of the balances would not
            measured = v.get(tags.steam(vid))
            keep = 0.0 if measured is None else min(max(0.0, measured * (1 - 5 * cfg.measurement_band) - 0.5), fixed[("vent_hi", vid)])
            set3("vent_lo", vid, 0.0, keep, 0.0)
        for c, con in site.consumers.items():
            demand = v.get(tags.steam(c), con.demand_tph)
            fixed[("draw", c)] = demand
            if con.flexible and c in sup._model.CF:
                cur = min(max(demand, con.min_tph), con.max_tph)
                set3("draw_lo", c, con.min_tph, cur, con.min_tph)
                set3("draw_hi", c, con.max_tph, cur, con.max_tph)
        for c in sup._model.COL:  # steered columns: the reflux ratio within its range and its move
            (lo, hi), (pl, ph), (ll, lh) = _column_box(site.consumers[c].column, c, v, snap, cfg, dt_min, warnings)
            set3("r_lo", c, lo, pl, ll)
            set3("r_hi", c, hi, ph, lh)
            col = site.consumers[c].column
            fixed[("col_on", c)] = 1.0
            fixed[("purity_min", c)] = col.purity_spec + col.purity_margin
            for kind in ("column_steam", "column_purity"):
                unit_box[(kind, c)] = (lo, hi, pl, ph)
                local_box[(kind, c)] = (ll, lh)
        for s, src in site.byproduct_sources.items():
            fixed[("tle", s)] = v.get(tags.steam(s), src.nominal_steam_tph)
        for f, fuel in site.fuels.items():
            fixed[("fuel_price", f)] = v.get(f"{f}.price_per_gj", fuel.price_per_gj)
            fixed[("fuel_hi", f)] = fuel.max_gj_h  # inf: no row bound (a large finite stand-in upsets HiGHS's scaling)
        for s, (_, src) in site.fuel_system.sources().items():  # the fuel system (optimizer/fuel_system.py)
            if src.kind == "byproduct":  # measured; a bad reading is held at its last good value (snapshot)
                fixed[("fs_make", s)] = v.get(tags.fuel(s), src.nominal_gj_h)
            else:
                fixed[("fs_price", s)] = v.get(f"{s}.price_per_gj", src.price_per_gj)
                fixed[("fs_hi", s)] = src.max_gj_h
                if src.min_gj_h > 0:
                    fixed[("fs_min", s)] = src.min_gj_h
        for x, fur in site.fuel_system.furnaces.items():
            fixed[("fx_draw", x)] = v.get(tags.fuel(x), fur.draw_gj_h)
        fixed[("site_load", None)] = v.get(tags.SITE_LOAD, site.electricity.site_load_mw if site.electricity else 0.0)
        fixed[("import_price", None)] = v.get("import_price_per_mwh", _import_price(site, snap.timestamp))
        # a switch's cost as a rate: start cost (hot or cold by the minutes off) / H on a unit off
        # now, stop cost / H on a unit on now (rate * on + constant: 0 when it stays on)
        payback = cfg.start_payback_h if (price_switches and not free_switching) else None
        const = 0.0
        generators = {t: tur for t, tur in site.turbines.items() if tur.drive == "generator"}
        for kind, units in (("b", site.boilers), ("g", site.gas_turbines), ("t", generators)):
            for u, unit in units.items():
                rate = 0.0
                if payback and u in states:
                    if states[u]:
                        rate = -unit.shutdown_cost / payback
                        const -= rate
                    else:
                        rate = start_cost(unit, minutes_of[u] / 60.0) / payback
                fixed[("switch_rate", (kind, u))] = rate
        fixed[("switch_const", None)] = const

        # curves: exact breakpoints over each box
        disturbances = {tags.AMBIENT: amb, **{tags.gt_fouling(g): v.get(tags.gt_fouling(g), 0.0) for g in site.gas_turbines}}
        disturbances.update({k: val for k, val in v.items() if k not in disturbances})
        curves, later = {}, {}
        deferred = getattr(sup.curves, "box_curve_deferred", None)  # a provider's one-pass fast path, if it has one

        def curve(name: str, lo: float, hi: float, pl: float, ph: float) -> None:
            # exact breakpoints a little beyond the box: the optimisation takes them cut to the
            # box; the duals LP takes the ends beyond it (see CycleData.curve_ends). The current
            # point's narrow band: its secant is enough for a prediction and keeps that
            # evaluation free of curve binaries
            margin = CURVE_MARGIN_FRACTION * max(abs(hi), abs(lo), 1.0)
            fast = deferred(name, lo, hi, margin, pl, ph, disturbances) if deferred else None
            if fast is not None:
                curves[name], later[name] = fast
            else:
                xs, ys = _beyond_box(*sup.curves.breakpoints(name, lo - margin, hi + margin, disturbances), lo, hi)
                curves[name] = _cut_to_box(xs, ys, lo, hi)
                done = ((float(xs[0]), float(ys[0]), float(xs[-1]), float(ys[-1])), sup.curves.secant(name, pl, ph, disturbances))
                later[name] = lambda done=done: done

        for name, slot in sup.curves.slots.items():
            curve(name, *unit_box[(slot.kind, slot.unit)])
        groups = sup._model.st.groups
        merged = {g: merge_breakpoints(curves, grp.members) for g, grp in groups.items()}
        # a group with more kinks in its box than the model reserves points for: the unit's box
        # shrinks, this cycle, to the stretch of breakpoints around its current point that fits
        # (every curve of the unit then fits too; the fallback's box is clipped to it)
        for g, grp in groups.items():
            xs = merged[g][0]
            if len(xs) <= grp.max_points:
                continue
            first = sup.curves.slots[grp.members[0]]
            lo, hi, pl, ph = unit_box[(first.kind, grp.unit)]
            nlo, nhi = _window(xs, 0.5 * (pl + ph), grp.max_points)
            lo_p, hi_p = _BOX_PARAMS[first.kind]
            for name in grp.members:
                slot = sup.curves.slots[name]
                unit_box[(slot.kind, grp.unit)] = (nlo, nhi, pl, ph)
                ll, lh = local_box[(slot.kind, grp.unit)]
                local_box[(slot.kind, grp.unit)] = (min(max(ll, nlo), nhi), max(min(lh, nhi), nlo))
                curve(name, nlo, nhi, pl, ph)
            merged[g] = merge_breakpoints(curves, grp.members)
            box[(lo_p, grp.unit)], box[(hi_p, grp.unit)] = nlo, nhi
            local[(lo_p, grp.unit)] = min(max(local[(lo_p, grp.unit)], nlo), nhi)
            local[(hi_p, grp.unit)] = max(min(local[(hi_p, grp.unit)], nhi), nlo)
            warnings.append(f"{grp.unit}: box narrowed to [{nlo:.4g}, {nhi:.4g}] this cycle: its learned curves have more kinks in its "
                            f"move box than the model reserves breakpoints for (SupervisorConfig.max_curve_points)")
        for g in sup._model.st.sos_groups:
            free += sos2_bits(len(merged[g][0]) - 1)
        local_boxes = {name: local_box[(slot.kind, slot.unit)] for name, slot in sup.curves.slots.items()}
        return cls(fixed, box, pinned, local, merged, later, local_boxes, disturbances, warnings, free, duct_on,
                   {g: grp.members for g, grp in groups.items()}, curves, states, minutes_of)


def _followed(schedule, unit: str, ts: pd.Timestamp, on_lo: float, on_hi: float) -> tuple[float, float]:
    """A unit's on/off bounds narrowed to the followed schedule's state at ``ts`` where the
    cycle's own rules leave the choice (availability, minimum up/down, held units win)."""
    if schedule is None or on_lo == on_hi:
        return on_lo, on_hi
    want = schedule.state_at(unit, ts)
    if want is None:
        return on_lo, on_hi
    return (1.0, 1.0) if want else (0.0, 0.0)


def _group_ends(ends: dict, curves: dict, members: tuple[str, ...]) -> tuple[float, dict[str, float], float, dict[str, float]]:
    """A group's ends just beyond its box: the nearer of its members' ends on each side, each
    member's value there by interpolation between its own end and its box edge (it is linear
    there: no kink between its end and the box)."""
    x_lo = max(ends[n][0] for n in members)
    x_hi = min(ends[n][2] for n in members)
    y_lo, y_hi = {}, {}
    for n in members:
        (xs, ys), (e0, f0, e1, f1) = curves[n], ends[n]
        y_lo[n] = float(np.interp(x_lo, [e0, xs[0]], [f0, ys[0]])) if xs[0] > e0 else f0
        y_hi[n] = float(np.interp(x_hi, [xs[-1], e1], [ys[-1], f1])) if e1 > xs[-1] else f1
    return x_lo, y_lo, x_hi, y_hi


# the box Params each kind of learned curve's decision input is held by
_BOX_PARAMS = {"boiler_fuel": ("b_lo", "b_hi"), "gt_fuel": ("g_lo", "g_hi"), "hrsg_steam": ("g_lo", "g_hi"),
               "turbine_steam": ("t_lo", "t_hi"), "column_steam": ("r_lo", "r_hi"), "column_purity": ("r_lo", "r_hi")}


def _column_box(col, c: str, v, snap: ValidatedSnapshot, cfg, dt_min: float, warnings: list[str]):
    """A steered column's reflux boxes: (optimisation), (current point), (fallback). The reflux
    moves at most ``reflux_move_per_min x dt_min`` from its reading (taken inside its range);
    a column whose reflux or feed reading is substituted, or whose feed is outside its range
    (where its learned curves were not trained), is held where it is (its steam and purity at
    another reflux are not known well enough to move it)."""
    r_read = v[tags.column_reflux(c)]
    cur = min(max(r_read, col.reflux_ratio_min), col.reflux_ratio_max)
    if cur != r_read:
        warnings.append(f"{tags.column_reflux(c)} = {r_read:.4g}: outside the column's range "
                        f"[{col.reflux_ratio_min:g}, {col.reflux_ratio_max:g}]; taken at {cur:.4g}")
    feed_bad = any(sub.tag == tags.column_feed(c) for sub in snap.substitutions)
    feed = v[tags.column_feed(c)]
    feed_out = not col.feed_min_tph <= feed <= col.feed_max_tph
    held = c in snap.held_units or feed_bad or feed_out
    if feed_bad:
        warnings.append(f"{c}: feed reading substituted: the column is held at its reflux ratio {cur:.4g}")
    elif feed_out:
        warnings.append(f"{c}: feed {feed:.4g} t/h outside its range [{col.feed_min_tph:g}, {col.feed_max_tph:g}]: "
                        f"the column is held at its reflux ratio {cur:.4g}")
    step = 0.0 if held else col.reflux_move_per_min * dt_min
    lo, hi = max(col.reflux_ratio_min, cur - step), min(col.reflux_ratio_max, cur + step)
    frac = cfg.local_box_fraction
    ll, lh = max(col.reflux_ratio_min, cur - frac * step), min(col.reflux_ratio_max, cur + frac * step)
    return (lo, hi), (cur, cur), (ll, lh)


def _window(xs: np.ndarray, x0: float, points: int) -> tuple[float, float]:
    """The widest run of ``points`` consecutive breakpoints of ``xs`` (increasing) that holds
    ``x0``, centred on it where the ends allow."""
    i = int(np.clip(np.searchsorted(xs, x0, side="right") - 1, 0, len(xs) - 2))  # x0 in segment [xs[i], xs[i+1]]
    a = int(np.clip(i - (points - 2) // 2, 0, len(xs) - points))
    return float(xs[a]), float(xs[a + points - 1])


CURVE_MARGIN_FRACTION = 1e-3  # of the box edge's magnitude (at least 1 unit): 0.16 t/h on a 160 t/h boiler


def _cut_to_box(xs: np.ndarray, ys: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """The breakpoints of a curve over ``[lo, hi]`` from its breakpoints over a wider range (the
    ends by interpolation: exact, the curve being linear between breakpoints)."""
    inner = (xs > lo) & (xs < hi)
    if hi <= lo:
        return np.array([lo]), np.interp([lo], xs, ys)
    ends = np.interp([lo, hi], xs, ys)
    return np.concatenate(([lo], xs[inner], [hi])), np.concatenate(([ends[0]], ys[inner], [ends[1]]))


def _beyond_box(xs: np.ndarray, ys: np.ndarray, lo: float, hi: float) -> tuple[np.ndarray, np.ndarray]:
    """Breakpoints over ``[lo - m, hi + m]`` cut back so that no kink lies outside ``[lo, hi]``:
    each end moves to halfway between the box edge and the last kink beyond it (the curve is
    linear there, so the end value is exact by interpolation). The curve then still reaches
    strictly beyond the box without adding a segment."""
    xs, ys = np.asarray(xs, float), np.asarray(ys, float)
    if xs.size < 3:
        return xs, ys
    i = int(np.searchsorted(xs, lo, side="left")) - 1   # xs[i] < lo <= xs[i + 1]
    if i >= 1:  # kinks xs[1..i] below the box: start halfway between the last one and lo
        e = 0.5 * (xs[i] + lo)
        y = ys[i] + (ys[i + 1] - ys[i]) * (e - xs[i]) / (xs[i + 1] - xs[i])
        xs, ys = np.concatenate(([e], xs[i + 1:])), np.concatenate(([y], ys[i + 1:]))
    j = int(np.searchsorted(xs, hi, side="right"))       # xs[j - 1] <= hi < xs[j]
    if j <= xs.size - 2:  # kinks xs[j..-2] above the box: end halfway between hi and the first one
        e = 0.5 * (hi + xs[j])
        y = ys[j - 1] + (ys[j] - ys[j - 1]) * (e - xs[j - 1]) / (xs[j] - xs[j - 1])
        xs, ys = np.concatenate((xs[:j], [e])), np.concatenate((ys[:j], [y]))
    return xs, ys


def _import_price(site: Site, ts: pd.Timestamp) -> float:
    return site.electricity.import_price_per_mwh(ts.weekday(), ts.hour) if site.electricity else 0.0
