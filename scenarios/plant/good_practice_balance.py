"""The good shift team's steam balance sheet (rule 2 of :mod:`scenarios.plant.good_practice`).

Header by header from the lowest pressure up, a header's need (metered process users, the
deaerator, the turbines planned to draw from it, the letdown to the header below, the steam its
meters do not account for) less what arrives regardless (by-product and HRSG steam, machine-drive
exhausts, desuperheater water) is filled from the controllable sources in order of their cost per
t delivered at nominal data (:meth:`BalanceSheet._sources`); a letdown takes only what is left.
The sheet is iterated until the deaerator steam and the desuperheater water it implies settle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from optimizer import tags
from optimizer.site.model import Site, SteamTurbine
from optimizer.site.properties import SiteProperties
from scenarios.plant.curves import GasTurbineCurve, TurbineCurve

TAIL_MARGIN_TPH = 1.0      # t/h above a condensing tail's minimum flow left by maximum extraction
UNMETERED_GAIN = 0.25      # - weight of the latest step in the smoothed unaccounted steam per header
LETDOWN_MARGIN_FRACTION = 0.01  # - of a header's metered users left to its letdown by the plan
UNMETERED_MAX_FRACTION = 0.10  # - of a header's metered users: the most one step's imbalance counts
_PASSES = 40               # at most, balance passes (deaerator steam, spray water and turbine caps depend on the plan)
_PASS_TOL_TPH = 1e-9       # t/h, passes stop when deaerator steam and spray water move less


@dataclass
class Plan:
    """The balance sheet of one step (t/h): what each controllable source is planned to give."""

    flows: dict[str, list[float]] = field(default_factory=dict)       # turbine -> section flows, t/h
    extraction: dict[str, list[float]] = field(default_factory=dict)  # turbine -> extractions, t/h
    duct: dict[str, float] = field(default_factory=dict)              # GT -> duct steam, t/h
    letdown: dict[str, float] = field(default_factory=dict)           # letdown -> inlet-side t/h
    surplus: dict[str, float] = field(default_factory=dict)           # header -> t/h left over
    boiler_demand: dict[str, float] = field(default_factory=dict)     # header -> t/h of boiler steam
    spray: dict[str, float] = field(default_factory=dict)             # header -> desuperheater water t/h



class BalanceSheet:
    """Rule 2 of :mod:`scenarios.plant.good_practice`: the steam balance sheet, filled header by
    header from the bottom with the cheapest sources first, on nominal curves and metered flows.

    A mix-in of :class:`~scenarios.plant.good_practice.GoodPractice`, which sets the attributes
    below each step (the memo of nominal-curve answers, the generators' power caps, the smoothed
    unmetered steam per header) and provides ``_num`` (a checked snapshot reading).
    """

    site: Site
    props: SiteProperties
    gts: dict[str, GasTurbineCurve]
    turbines: dict[str, TurbineCurve]
    _ascending: list[str]
    _memo: dict[tuple, float]
    _caps: dict[str, float]
    _unmetered: dict[str, float]

    def _power_value(self, price: float) -> float:
        """Currency per MWh of power made on site at the margin: the period's import price (the
        site imports; the export and contract-minimum margins are not priced by this rule)."""
        return price


    def _generator_mw(self, plan: Plan) -> dict[str, float]:
        """Planned power (MW) of each running generator at its planned flows (nominal curve)."""
        out = {}
        for t in self.site.turbines.values():
            if t.drive == "generator" and t.id in plan.flows and plan.flows[t.id][0] > 0:
                mw = self.turbines[t.id].output_mw(plan.flows[t.id][0], plan.extraction.get(t.id, []))
                out[t.id] = min(max(mw, t.min_power_mw), self._pmax(t))
        return out


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
    def _balance(self, meas, byprod, da, machine_mw, unfired, motors, down, heat_cost, price, values) -> Plan:
        site, props = self.site, self.props
        h_h = props.header_enthalpy_kj_kg
        prev = Plan(spray={h: 0.0 for h in site.headers})
        gens = sorted((t for t in site.turbines.values() if t.drive == "generator" and t.id not in down and t.sections[-1].outlet in site.headers),
                      key=lambda t: -site.headers[t.inlet].pressure_barg)
        users = {h: sum(tph for c, tph in meas.items() if site.consumers[c].header == h) for h in site.headers}
        for _ in range(_PASSES):
            prev_da = da
            plan = Plan()
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
                # the controllable sources fill all but a small margin, left to the letdown: a header
                # run at the edge vents on every meter error and demand move, one with a margin lets
                # the letdown take them
                margin = LETDOWN_MARGIN_FRACTION * users[h] if any(ld.outlet == h for ld in site.letdowns.values()) else 0.0
                need -= margin
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
                need += margin
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
        weight UNMETERED_GAIN) so that meter noise does not move the plan every step; one step's
        imbalance counts at most UNMETERED_MAX_FRACTION of the header's metered users (a larger one
        is an upset, not a loss)."""
        for h, net in self._metered_imbalance(snap).items():
            users = sum(self._num(snap, tags.steam(c.id), 0.0) for c in self.site.consumers.values() if c.header == h)
            bound = UNMETERED_MAX_FRACTION * users
            net = min(max(net, -bound), bound)
            self._unmetered[h] = (1.0 - UNMETERED_GAIN) * self._unmetered.get(h, 0.0) + UNMETERED_GAIN * net

    def _deaerator_steam(self, plan: Plan, meas: dict[str, float], byprod: dict[str, float], unfired: dict[str, float]) -> float:
        """Deaerator heating steam (t/h) of the planned balance, from the deaerator's mass and
        energy balance: it heats the feedwater (boilers, HRSGs, by-product steam, letdown and
        header spray water) from make-up, returned condensate and condenser condensate,
        ``S = (F (h_fw - h_m) - R (h_r - h_m) - C (h_c - h_m)) / (h_s - h_m)``."""
        site, p = self.site, self.props
        if not p.has_deaerator:
            return 0.0
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
            flows, _, _, notes = curve.solve(power_mw, [x])
            return not notes and flows[1] >= s1.min_flow_tph + TAIL_MARGIN_TPH and flows[0] <= s0.max_flow_tph

        lo, hi = 0.0, s0.max_flow_tph
        if not ok(lo):
            return 0.0
        for _ in range(30):  # to 300 t/h / 2^30, far below a meter's resolution
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if ok(mid) else (lo, mid)
        return lo

    def _gen_exhaust(self, t: SteamTurbine, need: float, prev: Plan, plan: Plan, heat_cost: float, price: float) -> float:
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

    def _gen_extraction(self, t: SteamTurbine, need: float, plan: Plan) -> float:
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

    def _spray(self, plan: Plan, h_h: dict[str, float]) -> dict[str, float]:
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

