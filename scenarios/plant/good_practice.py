"""Good practice: what a competent shift team does with no optimiser.

The team knows only the site file's *nominal* unit data (efficiency curves, turbine sections,
gas-turbine ratings, prices, tariff) and what the DCS shows: the measured tags of the snapshot
(noise and meter bias included). It never sees the simulator's true or degraded curves, nor the
surrogates. Each step it works through the steam balance header by header, bottom up, like an
operator's balance sheet, and applies these rules:

1. **Gas turbines by tariff period.** On-peak: base load. Off-peak: base or minimum (or off, if
   the unit may be switched off) whichever costs less at nominal data, the HRSG's steam credited at
   the boiler steam cost and the power at the import (or export) price of the period. (Common
   cogeneration practice: run the GT when its power is worth more than its net fuel.)
2. **Letdowns only to hold headers.** A header's need (measured consumers, deaerator, turbine
   inlets planned from it, minus fixed inflows and desuperheater water) is filled from the cheapest
   source first, and a letdown only takes what is left:

   * machine-drive extractions (CGC, PRC) first: at fixed process power one more t/h extracted
     costs only ``s_tail / (s_0 + s_tail)`` t/h of inlet steam (their Willans slopes; 0.65-0.8 for
     the reference site) and saves the condensing tail's latent heat, the largest loss of a steam
     system; extraction is held within the section limits, the condensing tail at its minimum plus
     1 t/h when the header can take it ("condense only what must be");
   * back-pressure turbo-generators next, from the highest inlet pressure (most power per t):
     their power costs about ``3.6 / eta_boiler`` GJ of fuel per MWh, far below any grid price;
     a generator whose minimum flow would be vented runs only if its power is worth more than the
     vented steam at nominal data;
   * duct firing on an HRSG header next (incremental efficiency ~0.98 against ~0.92 for the
     boilers, so cheaper than steam raised in a boiler and let down), never more than the header
     needs;
   * the letdown from the header above takes the rest.

   When a header would still have surplus with every source into it at its minimum, the plan cuts
   those flows (extraction, duct firing, turbine flow) before anything is vented.
3. **Driver switches** (units with a motor) by a fixed rule from nominal prices: the motor's
   electricity at the period's price against the turbine's steam at the boiler steam cost, counting
   only the enthalpy drop when its exhaust is needed downstream and the whole steam (plus the vent
   penalty) when it would be vented.
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
from dataclasses import dataclass, field

import pandas as pd

from optimizer import tags
from optimizer.site.model import Site, SteamTurbine
from optimizer.site.properties import SiteProperties, compute_properties
from scenarios.plant.curves import BoilerCurve, GasTurbineCurve, TurbineCurve
from scenarios.plant.dispatch import boiler_cost_curve, equal_incremental_cost, fuel_cost_per_h
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.practice import todays_practice

log = logging.getLogger(__name__)

TAIL_MARGIN_TPH = 1.0      # t/h above a condensing tail's minimum flow left by maximum extraction
STOP_BAND_FRACTION = 0.10  # - of a boiler's maximum: extra room needed before it is stopped
UNMETERED_GAIN = 0.25      # - weight of the latest step in the smoothed unaccounted steam per header
FUEL_ROOM = 0.97           # - of a limited fuel's max_gj_h planned (room for the master's trim)
_PASSES = 40               # at most, balance passes (deaerator steam, spray water and turbine caps depend on the plan)
_PASS_TOL_TPH = 1e-9       # t/h, passes stop when deaerator steam and spray water move less


@dataclass
class _Clock:
    """On/off record of one unit: state and minutes in it."""

    on: bool
    minutes: float


@dataclass
class _Plan:
    flows: dict[str, list[float]] = field(default_factory=dict)       # turbine -> section flows, t/h
    extraction: dict[str, list[float]] = field(default_factory=dict)  # turbine -> extractions, t/h
    duct: dict[str, float] = field(default_factory=dict)              # GT -> duct steam, t/h
    letdown: dict[str, float] = field(default_factory=dict)           # letdown -> inlet-side t/h
    surplus: dict[str, float] = field(default_factory=dict)           # header -> t/h left over
    boiler_demand: dict[str, float] = field(default_factory=dict)     # header -> t/h of boiler steam
    spray: dict[str, float] = field(default_factory=dict)             # header -> desuperheater water t/h


class GoodPractice:
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
        self.notes: list[str] = []  # what the last call decided, in plant words

    # ------------------------------------------------------------------ public
    def setpoints(self, snapshot: Mapping[str, object]) -> Setpoints:
        """Setpoints for the snapshot (the plant under the previous setpoints, as the DCS shows it)."""
        try:
            sp = self._decide(snapshot)
        except (ValueError, KeyError, TypeError) as exc:
            log.error("good_practice: %s; previous setpoints kept", exc)
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
        site, props = self.site, self.props
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
        self._update_unmetered(snap)
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
            if choice == "off" and self._can_move(gid, g, on=False):
                self._set(gid, False)
                continue
            self._set(gid, True)
            gt_power[gid] = None if choice == "base" else g.min_power_mw
            notes.append(f"{gid}: {choice}")
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

    def _generator_mw(self, plan: _Plan) -> dict[str, float]:
        """Planned power (MW) of each running generator at its planned flows (nominal curve)."""
        out = {}
        for t in self.site.turbines.values():
            if t.drive == "generator" and t.id in plan.flows and plan.flows[t.id][0] > 0:
                mw = self.turbines[t.id].output_mw(plan.flows[t.id][0], plan.extraction.get(t.id, []))
                out[t.id] = min(max(mw, t.min_power_mw), self._pmax(t))
        return out

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

    def _power_value(self, price: float) -> float:
        """Currency per MWh of power made on site at the margin: the period's import price (the
        site imports; the export and contract-minimum margins are not priced by this rule)."""
        return price

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
    def _motor_pays(self, t: SteamTurbine, power_mw: float, plan: _Plan, values: dict[str, float], price: float) -> bool:
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

    def _sources(self, h: str, values: dict[str, float], price: float, motors: set[str], down: set[str],
                 unfired: dict[str, float]) -> list[tuple[float, str, object]]:
        """The controllable steam sources into header ``h`` with their cost per t delivered
        (currency/t) at nominal data: the inlet steam at its header's value less the power made on
        the way at the period's value; an extraction drive's extra inlet steam per t extracted;
        duct-burner fuel per t."""
        site, props, pv = self.site, self.props, self._power_value(price)
        out: list[tuple[float, str, object]] = []
        for t in site.turbines.values():
            if t.id in down or t.inlet not in values:
                continue
            if self._extraction_drive(t) and t.sections[0].outlet == h and t.id not in motors:
                out.append((self._inlet_per_extracted(t) * values[t.inlet], "extraction drive", t))
            if t.drive != "generator" or t.sections[-1].outlet not in site.headers or len(t.sections) > 2:
                continue
            slopes = [sp.slope_mw_per_tph * t.mechanical_efficiency for sp in props.sections[t.id]]
            if t.sections[-1].outlet == h:
                out.append((values[t.inlet] - sum(slopes) * pv, "exhaust", t))
            elif len(t.sections) == 2 and t.sections[0].outlet == h:
                out.append((values[t.inlet] - slopes[0] * pv, "extraction", t))
        ducts = [g for g in unfired if self.gts[g].gt.hrsg is not None and self.gts[g].gt.hrsg.header == h]
        if ducts:
            c = self.gts[ducts[0]]
            out.append((c._dh / 1000.0 / c.gt.hrsg.duct_efficiency * site.fuels[c.gt.hrsg.duct_fuel or c.gt.fuel].price_per_gj, "duct", ducts))
        return out

    def _inlet_per_extracted(self, t: SteamTurbine) -> float:
        """Extra inlet steam (t) per t extracted at the drive's process power, nominal curve."""
        key = ("inlet_per_extracted", t.id)
        if key not in self._memo:
            p = self.site.turbines[t.id].power_mw or 0.0
            x0 = 0.5 * self._x_max(t, p)
            self._memo[key] = self.turbines[t.id].solve(p, [x0 + 1.0])[0][0] - self.turbines[t.id].solve(p, [x0])[0][0]
        return self._memo[key]

    def _steam_values(self, heat_cost: float, price: float, machine_mw: dict[str, float], down: set[str], unfired: dict[str, float]) -> dict[str, float]:
        """Value of a t of steam at each header (currency/t), top down: a boiler header at the
        boiler steam cost, a lower header at its cheapest source (letdowns included)."""
        site, props = self.site, self.props
        values: dict[str, float] = {}
        for h in reversed(self._ascending):
            cands = [heat_cost * (props.header_enthalpy_kj_kg[h] - props.boiler_feedwater_kj_kg[b.id]) / 1000.0
                     for b in site.boilers.values() if b.header == h and b.id not in down]
            cands += [c for c, _, _ in self._sources(h, values, price, set(), down, unfired)]
            cands += [values[ld.inlet] / (1.0 + props.letdown_water_ratio[ld.id]) for ld in site.letdowns.values() if ld.outlet == h and ld.inlet in values]
            values[h] = max(0.0, min(cands)) if cands else 0.0
        return values

    # ------------------------------------------------------------------ rule 2: the balance
    def _balance(self, meas, byprod, da, machine_mw, unfired, motors, down, heat_cost, price, values) -> _Plan:
        site, props = self.site, self.props
        h_h = props.header_enthalpy_kj_kg
        prev = _Plan(spray={h: 0.0 for h in site.headers})
        gens = sorted((t for t in site.turbines.values() if t.drive == "generator" and t.id not in down and t.sections[-1].outlet in site.headers),
                      key=lambda t: -site.headers[t.inlet].pressure_barg)
        for _ in range(_PASSES):
            prev_da = da
            plan = _Plan()
            draw = {h: 0.0 for h in site.headers}   # t/h leaving the header (planned so far)
            fixed = {h: prev.spray.get(h, 0.0) for h in site.headers}  # t/h entering, not decided here
            for c, tph in meas.items():
                draw[site.consumers[c].header] += tph
            draw[props.deaerator_steam_header] += da
            for s, tph in byprod.items():
                fixed[site.byproduct_sources[s].header] += tph
            for gid, tph in unfired.items():
                fixed[self.gts[gid].gt.hrsg.header] += tph
            for t in site.turbines.values():  # machine drives without a variable extraction
                if t.drive != "machine" or t.id in motors or t.id in down:
                    continue
                if self._extraction_drive(t):
                    continue
                key = ("drive flows", t.id, machine_mw[t.id])
                if key not in self._memo:
                    self._memo[key] = self.turbines[t.id].solve(machine_mw[t.id], [0.0] * (len(t.sections) - 1))[0]
                flows = list(self._memo[key])
                plan.flows[t.id] = flows
                draw[t.inlet] += flows[0]
                for k, sec in enumerate(t.sections):
                    if sec.outlet in site.headers:
                        fixed[sec.outlet] += flows[k] if k == len(t.sections) - 1 else 0.0
            for h in self._ascending:
                need = draw[h] - fixed[h] + self._unmetered.get(h, 0.0)
                for t in gens:  # a running two-section generator keeps its exhaust's minimum flow
                    if len(t.sections) == 2 and t.sections[-1].outlet == h:
                        lo, x_prev = t.sections[-1].min_flow_tph, list(prev.extraction.get(t.id, [0.0]))
                        plan.flows[t.id], plan.extraction[t.id] = [lo + x_prev[0], lo], x_prev
                        need -= lo
                for _, kind, obj in sorted(self._sources(h, values, price, motors, down, unfired), key=lambda s: s[0]):
                    if kind == "extraction drive":
                        x = min(max(need, 0.0), self._x_max(obj, machine_mw[obj.id]))
                        flows, xs, _, _ = self.turbines[obj.id].solve(machine_mw[obj.id], [x])
                        plan.flows[obj.id], plan.extraction[obj.id] = flows, xs
                        draw[obj.inlet] += flows[0]
                        need -= xs[0]
                    elif kind == "exhaust":
                        need -= self._gen_exhaust(obj, need, prev, plan, heat_cost, price)
                    elif kind == "extraction" and obj.id in plan.flows:
                        need -= self._gen_extraction(obj, need, plan)
                    elif kind == "duct":  # equal shares over the HRSGs of the header
                        n = len(obj)
                        for gid in obj:
                            hr = self.gts[gid].gt.hrsg
                            d = min(need / n, hr.duct_max_steam_tph) if need > 0 else 0.0
                            plan.duct[gid] = d if d >= hr.duct_min_steam_tph else 0.0
                            need -= plan.duct[gid]
                for t in gens:  # the generators' inlet flows are settled once their top outlet is
                    if t.sections[0].outlet == h and t.id in plan.flows:
                        draw[t.inlet] += plan.flows[t.id][0]
                lds = sorted((ld for ld in site.letdowns.values() if ld.outlet == h), key=lambda ld: site.headers[ld.inlet].pressure_barg)
                for ld in lds:
                    if need <= 0:
                        break
                    r = props.letdown_water_ratio[ld.id]
                    take = min(need / (1.0 + r), ld.max_flow_tph)
                    plan.letdown[ld.id] = take
                    draw[ld.inlet] += take
                    need -= take * (1.0 + r)
                if site.boilers and any(b.header == h for b in site.boilers.values()):
                    plan.boiler_demand[h] = max(0.0, need)
                    need = min(need, 0.0)
                plan.surplus[h] = max(0.0, -need)
            plan.spray = self._spray(plan, h_h)
            da = self._deaerator_steam(plan, meas, byprod, unfired)
            moved = max([abs(da - prev_da)] + [abs(plan.spray[h] - prev.spray.get(h, 0.0)) for h in plan.spray])
            prev = plan
            if moved < _PASS_TOL_TPH:
                break
        return plan

    def _metered_imbalance(self, snap: Mapping[str, object]) -> dict[str, float]:
        """Per header, metered steam in minus metered steam out (t/h) in the snapshot: what the
        balance sheet does not account for (leaks, failed traps, a meter reading off). Letdown
        water at its nominal ratio; a header with a tag missing is left out."""
        site, p = self.site, self.props
        out: dict[str, float] = {}
        for h in site.headers:
            try:
                net = self._num(snap, f"{h}.spray_water_tph")
                net += sum(self._num(snap, tags.steam(s.id)) for s in site.byproduct_sources.values() if s.header == h)
                net += sum(self._num(snap, tags.boiler_steam(b.id)) for b in site.boilers.values() if b.header == h)
                net += sum(self._num(snap, f"{g.id}.hrsg_steam_tph") for g in site.gas_turbines.values() if g.hrsg and g.hrsg.header == h)
                net -= sum(self._num(snap, tags.steam(c.id)) for c in site.consumers.values() if c.header == h)
                net -= sum(self._num(snap, tags.steam(v.id)) for v in site.vents.values() if v.header == h)
                for ld in site.letdowns.values():
                    if ld.outlet == h:
                        net += self._num(snap, tags.steam(ld.id)) * (1.0 + p.letdown_water_ratio[ld.id])
                    if ld.inlet == h:
                        net -= self._num(snap, tags.steam(ld.id))
                for t in site.turbines.values():
                    if t.inlet == h:
                        net -= self._num(snap, tags.turbine_inlet(t.id))
                    for k, sec in enumerate(t.sections):
                        if sec.outlet == h:
                            last = k == len(t.sections) - 1
                            net += self._num(snap, f"{t.id}.s{k}_flow_tph" if last else tags.extraction(t.id, k))
                if h == p.deaerator_steam_header:
                    net -= self._num(snap, "deaerator.steam_tph")
            except (KeyError, ValueError):
                continue
            out[h] = net
        return out

    def _update_unmetered(self, snap: Mapping[str, object]) -> None:
        """Carry each header's unaccounted steam into the plan, smoothed over steps (an EWMA with
        weight UNMETERED_GAIN) so that meter noise does not move the plan every step."""
        for h, net in self._metered_imbalance(snap).items():
            self._unmetered[h] = (1.0 - UNMETERED_GAIN) * self._unmetered.get(h, 0.0) + UNMETERED_GAIN * net

    def _deaerator_steam(self, plan: _Plan, meas: dict[str, float], byprod: dict[str, float], unfired: dict[str, float]) -> float:
        """Deaerator heating steam (t/h) of the planned balance, from the deaerator's mass and
        energy balance: it heats the feedwater (boilers, HRSGs, by-product steam, letdown and
        header spray water) from make-up, returned condensate and condenser condensate,
        ``S = (F (h_fw - h_m) - R (h_r - h_m) - C (h_c - h_m)) / (h_s - h_m)``."""
        site, p = self.site, self.props
        feed = sum(plan.boiler_demand.values()) + sum(byprod.values()) + sum(unfired.values()) + sum(plan.duct.values())
        feed += sum(tph * p.letdown_water_ratio[ld] for ld, tph in plan.letdown.items()) + sum(plan.spray.values())
        returned = sum(tph * (site.steam.condensate_return_fraction if site.consumers[c].condensate_return_fraction is None
                              else site.consumers[c].condensate_return_fraction) for c, tph in meas.items())
        condensate = sum(flows[k] for tid, flows in plan.flows.items() for k, sec in enumerate(site.turbines[tid].sections)
                         if sec.outlet in site.condensers and k == len(flows) - 1)
        h_m, h_s = p.makeup_kj_kg, p.header_enthalpy_kj_kg[p.deaerator_steam_header]
        h_c = next(iter(p.condensate_kj_kg.values()), h_m)
        s = (feed * (p.deaerator_feedwater_kj_kg - h_m) - returned * (p.condensate_return_kj_kg - h_m) - condensate * (h_c - h_m)) / (h_s - h_m)
        return max(0.0, s)

    def _extraction_drive(self, t: SteamTurbine) -> bool:
        """A machine drive with one extraction to a header and a condensing tail."""
        return t.drive == "machine" and len(t.sections) == 2 and t.sections[0].outlet in self.site.headers and t.sections[1].outlet in self.site.condensers

    def _x_max(self, t: SteamTurbine, power_mw: float) -> float:
        """Largest extraction (t/h) at ``power_mw`` keeping the tail at its minimum + margin and
        the first section within its maximum (nominal curve, bisection)."""
        key = ("x_max", t.id, power_mw)
        if key not in self._memo:
            self._memo[key] = self._x_max_uncached(t, power_mw)
        return self._memo[key]

    def _x_max_uncached(self, t: SteamTurbine, power_mw: float) -> float:
        curve, s0, s1 = self.turbines[t.id], t.sections[0], t.sections[1]

        def ok(x: float) -> bool:
            flows, xs, _, notes = curve.solve(power_mw, [x])
            return not notes and flows[1] >= s1.min_flow_tph + TAIL_MARGIN_TPH and flows[0] <= s0.max_flow_tph

        lo, hi = 0.0, s0.max_flow_tph
        if not ok(lo):
            return 0.0
        for _ in range(30):  # to 300 t/h / 2^30, far below a meter's resolution
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo

    def _gen_exhaust(self, t: SteamTurbine, need: float, prev: _Plan, plan: _Plan, heat_cost: float, price: float) -> float:
        """Back-pressure exhaust (t/h) of generator ``t`` into its header given the header's need;
        sets ``plan.flows``. A two-section machine keeps the previous pass's extraction."""
        curve, last = self.turbines[t.id], t.sections[-1]
        x_prev = prev.extraction.get(t.id, [0.0] * (len(t.sections) - 1))
        two = len(t.sections) == 2

        def power(e: float) -> float:
            return curve.output_mw(e + sum(x_prev), x_prev)

        lo = last.min_flow_tph
        if not two:
            lo = max(lo, t.sections[0].min_flow_tph, self._flow_for_power(t, t.min_power_mw, x_prev))
        hi = last.max_flow_tph if two else min(last.max_flow_tph, t.sections[0].max_flow_tph)
        while hi > lo and power(hi) > self._pmax(t):
            hi_new = self._flow_for_power(t, self._pmax(t), x_prev) - sum(x_prev)
            hi = max(lo, min(hi, hi_new))
            break
        if two:  # its minimum is already counted in the header's balance: add what the header needs
            e = lo + min(max(need, 0.0), max(0.0, hi - lo))
            plan.flows[t.id] = [e + sum(x_prev), e]
            plan.extraction[t.id] = list(x_prev)
            return e - lo
        if need >= lo:
            e = min(need, hi)
        else:
            vented = lo - max(need, 0.0)
            penalty = max((v.penalty_per_t for v in self.site.vents.values() if v.header == last.outlet), default=0.0)
            h_in = self.props.header_enthalpy_kj_kg[t.inlet]
            steam = (h_in - min(self.props.header_spray_water_kj_kg.values())) / 1000.0 * heat_cost + penalty
            worth = power(lo) * self._power_value(price) - vented * steam
            e = lo if worth > 0 else 0.0
        if e <= 0:
            return 0.0
        plan.flows[t.id] = [e + sum(x_prev), e] if two else [e]
        if two:
            plan.extraction[t.id] = list(x_prev)
        return e

    def _gen_extraction(self, t: SteamTurbine, need: float, plan: _Plan) -> float:
        """Extraction (t/h) of two-section generator ``t`` into the header given its need."""
        curve, s0 = self.turbines[t.id], t.sections[0]
        e = plan.flows[t.id][1]
        hi = max(0.0, s0.max_flow_tph - e)
        x = min(max(need, 0.0), hi)
        if curve.output_mw(e + x, [x]) > self._pmax(t):
            lo_x, hi_x = 0.0, x
            for _ in range(50):
                mid = 0.5 * (lo_x + hi_x)
                lo_x, hi_x = (mid, hi_x) if curve.output_mw(e + mid, [mid]) <= self._pmax(t) else (lo_x, mid)
            x = lo_x
        x = max(x, max(0.0, s0.min_flow_tph - e))
        plan.flows[t.id] = [e + x, e]
        plan.extraction[t.id] = [x]
        return x

    def _pmax(self, t: SteamTurbine) -> float:
        """A generator's power limit this step (MW): its maximum, or less to hold the contract import."""
        return min(t.max_power_mw, self._caps.get(t.id, math.inf))

    def _flow_for_power(self, t: SteamTurbine, power_mw: float, x: list[float]) -> float:
        """Inlet flow (t/h) at which the nominal curve gives ``power_mw`` with extractions ``x``."""
        return self.turbines[t.id].solve(power_mw, list(x))[0][0] if power_mw > 0 else 0.0

    def _spray(self, plan: _Plan, h_h: dict[str, float]) -> dict[str, float]:
        """Desuperheater water (t/h) per header for the planned turbine flows (nominal curves)."""
        excess = {h: 0.0 for h in self.site.headers}
        for tid, flows in plan.flows.items():
            t, curve = self.site.turbines[tid], self.turbines[tid]
            x = plan.extraction.get(tid, [])
            h_in = h_h[t.inlet]
            for k, (sec, m) in enumerate(zip(t.sections, flows)):
                p_k = curve.section_power_mw(k, m) if m > 0 else 0.0
                h_ex = h_in - 3600.0 * p_k / m if m > 0 else h_in
                leaving = x[k] if k < len(x) else m
                if sec.outlet in excess:
                    excess[sec.outlet] += leaving * (h_ex - h_h[sec.outlet])
                h_in = h_ex
        return {h: max(0.0, v) / (h_h[h] - self.props.header_spray_water_kj_kg[h]) for h, v in excess.items()}

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

    def _boilers(self, plan: _Plan, byprod: dict[str, float], amb: float, down: set[str], notes: list[str]) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
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
            cap = lambda bs: sum(self.boilers[b].boiler.max_steam_tph for b in bs)  # noqa: E731
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
