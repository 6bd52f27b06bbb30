"""Good practice: what a competent shift team does with no optimiser.

The team knows only the site file's *nominal* unit data (efficiency curves, turbine sections,
gas-turbine ratings, prices, tariff) and what the DCS shows: the measured tags of the snapshot
(noise and meter bias included). It never sees the simulator's true or degraded curves, nor the
surrogates. Each step it works through the steam balance header by header, bottom up, like an
operator's balance sheet, and applies these rules:

1. **Gas turbines by tariff period.** On-peak: base load. Off-peak: base or minimum (or off, if
   the unit may be switched off) whichever costs less at nominal data, the HRSG's steam credited at
   the boiler steam cost and the power at the period's import price. (Common
   cogeneration practice: run the GT when its power is worth more than its net fuel.)
2. **Letdowns only to hold headers, vents only for real surplus**
   (:mod:`scenarios.plant.good_practice_balance`). Steam has a value at each header: at a boiler
   header the boiler's marginal cost, lower down the cost of the header's cheapest source. Each
   header, from the bottom, is filled from its controllable sources in order of their cost per t
   delivered at nominal data and the period's power price, within each unit's limits; the letdown
   from above takes only what is left:

   * an extraction drive's extraction (CGC, PRC): at fixed process power one more t/h extracted
     costs only ``s_tail / (s_0 + s_tail)`` t/h of inlet steam (their Willans slopes: 0.80 and 0.65
     on the reference site) and saves condensing-tail steam whose latent heat goes to the sea
     ("condense only what must be"; the tail kept at its minimum + 1 t/h at most);
   * a back-pressure turbo-generator's exhaust or extraction: its inlet steam less the power made
     on the way, so at peak TG1 (SHP to MP to LP) takes the LP and MP loads and off-peak CGC
     extraction with TG2 (HP to LP) is cheaper ("more at peak");
   * duct firing (incremental efficiency ~0.98 against ~0.92 for a boiler and its letdown),
     never more than its header needs.

   A generator whose minimum flow would be vented runs only if its power is worth more than the
   vented steam; the generators are not loaded past the contract minimum import; the sources fill
   a header's need less 1 % of its metered users, which the letdown carries (a header run at the
   edge vents at every meter error and every move of demand; with a margin the letdown takes them).
3. **Driver switches** (units with a motor) by a fixed rule from nominal prices: the motor's
   electricity at the period's price against the turbine's steam, its inlet steam at its header's
   value less its exhaust at the value of the header it feeds (nothing, and the vent penalty, for
   exhaust that header would vent). Steam values come from the boiler steam cost (rule 2).
4. **Boilers.** Number in service: running capacity >= planned boiler steam + a spare margin of
   the header's ``swing_reserve_tph`` plus the by-product steam that could be lost if the furnaces
   fell to their site-file minimum (a furnace going to decoke; 40 t/h on the reference site): the
   running boilers can then hold pressure when the TLE steam drops. Cheapest nominal cost per t
   started first, most expensive stopped first; one stop per step, starts and stops after the
   site's ``min_up_min``/``min_down_min``; a stop needs 10 % of the unit's maximum more room than
   the rule (hysteresis, no chatter). Loading: equal incremental cost on the nominal fuel-cost
   curves (:mod:`scenarios.plant.dispatch`), a dual-fuel boiler burning its cheapest fuel up to
   the fuel's ``max_gj_h``; all on the pressure master, which trims the balance's error equally.
5. **Steam the meters do not account for.** Each header's metered imbalance (in minus out, letdown
   water at its nominal ratio) is carried into the plan as an extra need, smoothed over steps, the
   way a shift team books "losses" when its balance sheet does not close (leaks, failed traps, a
   meter reading off).

Ramp rates are not applied (the simulator is steady state; neither is today's practice ramped).
Any failure (a tag missing or not a number) is logged with the tag and the previous setpoints are
kept: the policy never raises during a study.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from optimizer import tags
from optimizer.site.model import Site, SteamTurbine
from optimizer.site.properties import SiteProperties, compute_properties
from scenarios.plant.curves import BoilerCurve, GasTurbineCurve, TurbineCurve
from scenarios.plant.dispatch import (
    boiler_cost_curve,
    equal_incremental_cost,
    fuel_cost_per_h,
)
from scenarios.plant.good_practice_balance import BalanceSheet, Plan
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.practice import todays_practice

log = logging.getLogger(__name__)

STOP_BAND_FRACTION = 0.10  # - of a boiler's maximum: extra room needed before it is stopped
FUEL_ROOM = 0.95           # - of a limited fuel's max_gj_h planned (room for the master's trim)


@dataclass
class _Clock:
    """On/off record of one unit: state and minutes in it."""

    on: bool
    minutes: float


class GoodPractice(BalanceSheet):
    """The competent-operator baseline (see the module docstring for the rules).

    One object lives through a study: it keeps each boiler's and gas turbine's on/off state and
    minutes in it. ``step_min`` is the time between calls (min).
    """

    def __init__(self, site: Site, step_min: float, properties: SiteProperties | None = None) -> None:
        if not (isinstance(step_min, (int, float)) and math.isfinite(step_min) and step_min > 0):
            raise ValueError(f"step_min = {step_min!r}: must be a positive number of minutes")
        self.site, self.step_min = site, float(step_min)
        p = self.props = properties or compute_properties(site)
        h = p.header_enthalpy_kj_kg
        self.boilers = {b.id: BoilerCurve(b, h[b.header], p.boiler_feedwater_kj_kg[b.id]) for b in site.boilers.values()}
        self.gts = {g.id: GasTurbineCurve(g, h[g.hrsg.header] if g.hrsg else 0.0, p.hrsg_feedwater_kj_kg.get(g.id, 0.0))
                    for g in site.gas_turbines.values()}
        self.turbines = {t.id: TurbineCurve(t, p.sections[t.id]) for t in site.turbines.values()}
        self._ascending = [x.id for x in sorted(site.headers.values(), key=lambda x: x.pressure_barg)]
        long_ago = 1e9  # min: every unit has been in its state long enough to move
        self._clock = {b.id: _Clock(b.available, long_ago) for b in site.boilers.values()}
        self._clock.update({g.id: _Clock(g.available, long_ago) for g in site.gas_turbines.values()})
        self._last: Setpoints | None = None
        self._caps: dict[str, float] = {}  # MW, generator limits of the current step (contract import)
        self._memo: dict[tuple, float] = {}  # nominal-curve answers of the current step
        self._unmetered: dict[str, float] = {}  # t/h per header the meters do not account for (smoothed)
        self._down_before: set[str] = set()  # units unavailable at the previous call
        self.notes: list[str] = []  # what the last call decided, in plant words

    # ------------------------------------------------------------------ public
    def setpoints(self, snapshot: Mapping[str, object]) -> Setpoints:
        """Setpoints for the snapshot (the plant under the previous setpoints, as the DCS shows it)."""
        try:
            sp = self._decide(snapshot)
        except Exception as exc:  # a baseline policy must not stop a study
            if isinstance(exc, (ValueError, KeyError, TypeError)):
                log.error("good_practice: %s; previous setpoints kept", exc)
            else:
                log.exception("good_practice failed; previous setpoints kept")
            self.notes = [f"error: {exc}; previous setpoints kept"]
            sp = self._last if self._last is not None else todays_practice(self.site, Disturbances(unavailable=self._unavailable(snapshot)))
        self._last = sp
        return sp

    # ------------------------------------------------------------------ reading the snapshot
    def _num(self, snap: Mapping[str, object], tag: str, default: float | None = None) -> float:
        if tag not in snap:
            if default is None:
                raise KeyError(f"snapshot tag {tag!r} missing (needed by good_practice)")
            return default
        v = snap[tag]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise ValueError(f"snapshot tag {tag!r} = {v!r}: must be a finite number")
        return float(v)

    def _unavailable(self, snap: Mapping[str, object]) -> set[str]:
        out = set()
        for coll in (self.site.boilers, self.site.gas_turbines, self.site.turbines, self.site.consumers, self.site.byproduct_sources):
            for uid, u in coll.items():
                if not getattr(u, "available", True) or snap.get(tags.available(uid), 1) == 0:
                    out.add(uid)
        return out

    # ------------------------------------------------------------------ the decision
    def _decide(self, snap: Mapping[str, object]) -> Setpoints:
        site = self.site
        ts = pd.Timestamp(str(snap["timestamp"]))
        amb = self._num(snap, tags.AMBIENT, site.design_ambient_c)
        down = self._unavailable(snap)
        e = site.electricity
        price = e.import_price_per_mwh(ts.weekday(), ts.hour) if e else 0.0
        peak = e is not None and price > e.default_price_per_mwh + e.ft_per_mwh + 1e-9
        self._memo = {}
        for c in self._clock.values():
            c.minutes += self.step_min
        notes = [f"{'on-peak' if peak else 'off-peak'} {price:.1f}/MWh"]
        heat_cost = self._heat_cost_per_gj(amb, down)  # currency per GJ put into steam by a boiler

        meas = {c: self._num(snap, tags.steam(c), site.consumers[c].demand_tph) for c in site.consumers}
        byprod = {s: self._num(snap, tags.steam(s), site.byproduct_sources[s].nominal_steam_tph) if s not in down else 0.0
                  for s in site.byproduct_sources}
        da = self._num(snap, "deaerator.steam_tph", 0.0)
        if down == self._down_before:  # a unit just lost or back: the sheet is not closing for that reason
            self._update_unmetered(snap)
        self._down_before = set(down)
        machine_mw = {}
        for t in site.turbines.values():
            if t.drive == "machine":
                mw = self._num(snap, tags.turbine_power(t.id), t.power_mw)
                machine_mw[t.id] = mw if mw > 0 else t.power_mw

        # rule 1: gas turbines
        gt_power: dict[str, float | None] = {}
        for gid, curve in self.gts.items():
            g = curve.gt
            if gid in down:
                self._set(gid, False)
                continue
            fouling = self._num(snap, tags.gt_fouling(gid), 0.0)
            choice = self._gt_choice(curve, amb, fouling, peak, price, heat_cost)
            on = choice != "off"
            if not self._can_move(gid, g, on=on):  # minimum up/down (site field, if any): stay as it is
                on = self._clock[gid].on
                choice = "minimum" if on and choice == "off" else choice
            self._set(gid, on)
            notes.append(f"{gid}: {choice if on else 'off'}")
            if on:
                gt_power[gid] = None if choice == "base" else g.min_power_mw
        unfired = {gid: (self.gts[gid].unfired_steam_tph(self.gts[gid].base_power_mw(amb, self._num(snap, tags.gt_fouling(gid), 0.0)) if p is None else p,
                                                         amb, self._num(snap, tags.gt_fouling(gid), 0.0))) for gid, p in gt_power.items()}

        # rule 2's order and rule 3 price steam at each header at its cheapest source
        motors: set[str] = set()
        values = self._steam_values(heat_cost, price, machine_mw, down, unfired)
        notes.append("steam value " + ", ".join(f"{h} {v:.0f}/t" for h, v in values.items()))
        plan = self._balance(meas, byprod, da, machine_mw, unfired, motors, down, heat_cost, price, values)
        for t in site.turbines.values():
            if t.motor is None or t.drive != "machine":
                continue
            if t.id in down:
                motors.add(t.id)
                continue
            if self._motor_pays(t, machine_mw[t.id], plan, values, price):
                motors.add(t.id)
        if motors:
            plan = self._balance(meas, byprod, da, machine_mw, unfired, motors, down, heat_cost, price, values)
            notes.append(f"on motor: {', '.join(sorted(motors))}")

        # rule 2, last: generators do not push the import below the contract minimum (below it a
        # MWh earns only the price less the shortfall penalty, and export is capped)
        self._caps = {}
        turbine_mw = self._generator_mw(plan)
        if e is not None:
            load = self._num(snap, tags.SITE_LOAD, e.site_load_mw) + sum(machine_mw[t] / site.turbines[t].motor.efficiency for t in motors)
            gt_mw = sum(self.gts[g].base_power_mw(amb, self._num(snap, tags.gt_fouling(g), 0.0)) if p is None else p for g, p in gt_power.items())
            for _ in range(4):
                short = e.contract_min_import_mw - (load - gt_mw - sum(turbine_mw.values()))
                if short <= 1e-6 or not turbine_mw:
                    break
                top = max(turbine_mw, key=turbine_mw.get)
                self._caps[top] = max(site.turbines[top].min_power_mw, turbine_mw[top] - short)
                plan = self._balance(meas, byprod, da, machine_mw, unfired, motors, down, heat_cost, price, values)
                turbine_mw = self._generator_mw(plan)
            if self._caps:
                notes.append("generators held for the contract import: " + ", ".join(f"{t} {p:.1f} MW" for t, p in self._caps.items()))

        # rule 4: boilers
        boiler_sp, shares = self._boilers(plan, byprod, amb, down, notes)
        self.plan = plan  # the balance behind the setpoints (for tests and reports)
        self.notes = notes + [f"vent planned on {h}: {v:.1f} t/h" for h, v in plan.surplus.items() if v > 1e-6]
        return Setpoints(
            boiler_steam_tph=boiler_sp,
            boilers_on_master=set(boiler_sp),
            boiler_fuel_share=shares,
            gt_power_mw=gt_power,
            duct_steam_tph=dict(plan.duct),
            turbine_power_mw=turbine_mw,
            turbine_extraction_tph={t: list(x) for t, x in plan.extraction.items()},
            drivers_on_motor=motors,
            consumer_tph={},
        )

    # ------------------------------------------------------------------ rule 1
    def _gt_choice(self, curve: GasTurbineCurve, amb: float, fouling: float, peak: bool, price: float, heat_cost: float) -> str:
        g = curve.gt
        if peak:
            return "base"
        fuel_price = self.site.fuels[g.fuel].price_per_gj
        steam_gj_t = curve._dh / 1000.0 if g.hrsg else 0.0
        power_value = self._power_value(price)

        def cost(p: float) -> float:  # currency/h of running at p MW, net of power and HRSG steam
            if p <= 0:
                return 0.0
            steam = curve.unfired_steam_tph(p, amb, fouling)
            return curve.fuel_gj_h(p, amb, fouling) * fuel_price - p * power_value - steam * steam_gj_t * heat_cost

        options = {"base": cost(curve.base_power_mw(amb, fouling)), "minimum": cost(g.min_power_mw)}
        if g.can_switch_off:
            options["off"] = 0.0
        return min(options, key=options.get)

    def _heat_cost_per_gj(self, amb: float, down: set[str]) -> float:
        """Currency per GJ of heat put into steam at the margin: the best available boiler at 70 %
        load (near its best nominal efficiency) burning its dearest fuel (a limited cheap fuel is
        used up first, so the last t/h burns the dear one)."""
        best = math.inf
        for bid, c in self.boilers.items():
            if bid in down:
                continue
            m = 0.7 * c.boiler.max_steam_tph
            price = max(self.site.fuels[f].price_per_gj for f in c.boiler.fuels)
            best = min(best, price * c.fuel_gj_h(m, amb) / c.heat_to_steam_gj_h(m))
        if not math.isfinite(best):
            best = min(f.price_per_gj for f in self.site.fuels.values()) / 0.9
        return best

    # ------------------------------------------------------------------ rule 3
    def _motor_pays(self, t: SteamTurbine, power_mw: float, plan: Plan, values: dict[str, float], price: float) -> bool:
        """Motor if its electricity costs less than the turbine's steam: the inlet steam at its
        header's value, less the exhaust's value at the header it feeds (nothing, and the vent
        penalty, for the part that header would vent)."""
        m = self.turbines[t.id].solve(power_mw, [0.0] * (len(t.sections) - 1))[0][0]
        outlet = t.sections[-1].outlet
        vented = min(m, plan.surplus.get(outlet, 0.0))
        penalty = max((v.penalty_per_t for v in self.site.vents.values() if v.header == outlet), default=0.0)
        turbine = m * values[t.inlet] - (m - vented) * values.get(outlet, 0.0) + vented * penalty
        motor = power_mw / t.motor.efficiency * self._power_value(price)
        return motor < turbine

    # ------------------------------------------------------------------ rule 4: boilers
    def _can_move(self, uid: str, unit: object, on: bool) -> bool:
        """Whether ``uid`` may be switched to ``on`` now (minimum up/down times)."""
        c = self._clock[uid]
        if c.on == on:
            return True
        limit = getattr(unit, "min_down_min" if on else "min_up_min", 0.0)
        return c.minutes >= limit

    def _set(self, uid: str, on: bool) -> None:
        c = self._clock[uid]
        if c.on != on:
            c.on, c.minutes = on, 0.0

    def _boilers(self, plan: Plan, byprod: dict[str, float], amb: float, down: set[str], notes: list[str]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
        site = self.site
        loads, shares = {}, {}
        for bid in self.boilers:
            if bid in down and self._clock[bid].on:
                self._set(bid, False)
                notes.append(f"{bid}: unavailable")
        # a limited fuel is planned to FUEL_ROOM of its availability: the master's trim moves the
        # boilers' fuel at fixed shares, and must not push it over the limit
        room = {f: FUEL_ROOM * fu.max_gj_h for f, fu in site.fuels.items() if math.isfinite(fu.max_gj_h)}
        for h, demand in plan.boiler_demand.items():
            units = [bid for bid, c in self.boilers.items() if c.boiler.header == h]
            rank = sorted(units, key=lambda b: self._cost_per_t(b, amb))
            h_cfg = site.headers[h]
            reserve = h_cfg.swing_reserve_tph + sum(max(0.0, byprod[s.id] - s.min_steam_tph) for s in site.byproduct_sources.values() if s.header == h)
            running = [b for b in rank if self._clock[b].on and b not in down]
            cap = lambda bs: sum(self.boilers[b].boiler.max_steam_tph for b in bs)
            for b in rank:  # starts: as many as the rule needs, cheapest first
                if cap(running) >= demand + reserve:
                    break
                if b not in running and b not in down and self._can_move(b, self.boilers[b].boiler, on=True):
                    running.append(b)
                    self._set(b, True)
                    notes.append(f"{b}: start (capacity {cap(running):.0f} t/h for {demand:.0f} + {reserve:.0f} t/h)")
            for b in reversed(rank):  # one stop per step, most expensive first
                bo = self.boilers[b].boiler
                if b not in running or not bo.can_switch_off or not self._can_move(b, bo, on=False):
                    continue
                rest = [r for r in running if r != b]
                too_low = sum(self.boilers[r].boiler.min_steam_tph for r in running) > demand
                if rest and (cap(rest) >= demand + reserve + STOP_BAND_FRACTION * bo.max_steam_tph or too_low):
                    running.remove(b)
                    self._set(b, False)
                    notes.append(f"{b}: stop")
                    break
            curves = [boiler_cost_curve(site, self.boilers[b], amb, room) for b in running]
            disp = equal_incremental_cost(curves, demand)
            for b, m in zip(running, disp.loads_tph):
                loads[b] = m
                bo = self.boilers[b].boiler
                if len(bo.fuels) > 1:
                    _, split = fuel_cost_per_h(site, bo.fuels, self.boilers[b].fuel_gj_h(m, amb), room)
                    total = sum(split.values())
                    shares[b] = {f: v / total for f, v in split.items()} if total > 0 else {bo.fuels[0]: 1.0}
        return loads, shares

    def _cost_per_t(self, bid: str, amb: float) -> float:
        """Nominal fuel cost per t (currency/t) at 70 % load, cheapest fuel first."""
        c = self.boilers[bid]
        m = 0.7 * c.boiler.max_steam_tph
        return fuel_cost_per_h(self.site, c.boiler.fuels, c.fuel_gj_h(m, amb))[0] / m
