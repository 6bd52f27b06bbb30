"""First-principles steady-state simulator of a site: the plant that studies run against.

Given the operating point (:class:`~scenarios.plant.inputs.Setpoints`) and the disturbances
(:class:`~scenarios.plant.inputs.Disturbances`), :meth:`PlantSimulator.simulate` computes every
flow, fuel, power, vent, CO2e and cost, and each header's mass and energy balance.

How the balances close (as the plant's pressure controllers would):

* units with a setpoint deliver it (gas turbines, duct burners, generators, extractions); machine
  drives deliver the process power; process steam is drawn as demanded;
* the reality gap (:mod:`scenarios.plant.reality_gap`; disturbances' ``boiler_efficiency_loss``,
  ``gt_fouling_rate_factor``, ``unmeasured_loss_fraction``): boilers burn fuel at their degraded
  efficiency, gas turbines follow their curves at ``factor`` x the running hours (the
  ``fouling_hours`` tag stays nominal), and a header with an unmeasured loss loses that fraction of
  its consumers' draw as a stream ``<header>.unmeasured_loss`` (tag
  ``<header>.unmeasured_loss_tph``), made up by the cascade like any other outflow;
* turbine exhausts enter their header at their own enthalpy ``h_ex = h_in - 3600 P_k / m_k``;
  a header's desuperheater sprays feedwater to bring hotter exhaust to the header's state,
  ``w_H = sum m (h_ex - h_H) / (h_H - h_w)``; when the mix is colder than the header, no water
  is sprayed and the header's energy deficit (MW) is reported: the header runs below its
  nominal temperature;
* bottom-up, a header short of steam is fed by its letdowns (desuperheated), then by the
  boilers on pressure master (trimmed equally within their limits); top-down, a header with
  surplus backs its master boilers down, then vents, then passes the excess down its letdowns;
* what is left is reported as ``shortfall_tph`` or ``surplus_tph`` of the header: the setpoints
  could not balance it; no steam is invented;
* the deaerator heats make-up, returned condensate and condenser condensate to the feedwater
  temperature with steam from its header; its steam and the feedwater demand depend on each
  other, so the cascade is repeated until the deaerator steam changes by less than 1e-10 t/h;
* a fuel with a supply limit is never burned beyond it: the boilers' other fuel makes up
  (a fuel-gas header with natural-gas make-up).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pandas as pd

from optimizer.emissions import fuel_factor
from optimizer.fuel_system import FuelSettlement, fuel_system_units, settle
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties, compute_properties
from optimizer.steam import header_spray_or_deficit, mixing_letdowns
from scenarios.plant.column import ColumnCurve, column_draw
from scenarios.plant.curves import BoilerCurve, GasTurbineCurve, TurbineCurve
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.reality_gap import check_disturbance_gap, unmeasured_loss_tag

log = logging.getLogger(__name__)

MW_PER_TPH_KJKG = 1.0 / 3600.0
_MAX_ITER = 200
_TOL_TPH = 1e-10


@dataclass
class Stream:
    """A stream entering or leaving a header: t/h at kJ/kg."""

    name: str
    tph: float
    h_kj_kg: float


@dataclass
class HeaderBalance:
    """Everything entering and leaving one header. Outflows leave at the header's enthalpy."""

    header: str
    h_kj_kg: float
    inflows: list[Stream] = field(default_factory=list)
    outflows: list[Stream] = field(default_factory=list)
    energy_deficit_mw: float = 0.0
    shortfall_tph: float = 0.0
    surplus_tph: float = 0.0

    def mass_residual_tph(self) -> float:
        """In - out, t/h; shortfall counts as in (unserved demand) and surplus as out (unresolved)."""
        return sum(s.tph for s in self.inflows) + self.shortfall_tph - sum(s.tph for s in self.outflows) - self.surplus_tph

    def energy_residual_mw(self) -> float:
        e_in = sum(s.tph * s.h_kj_kg for s in self.inflows) + self.shortfall_tph * self.h_kj_kg
        e_out = sum(s.tph * s.h_kj_kg for s in self.outflows) + self.surplus_tph * self.h_kj_kg
        return (e_in - e_out) * MW_PER_TPH_KJKG + self.energy_deficit_mw


@dataclass
class PlantState:
    """The simulated steady state: tags (name -> value, units in the names), header balances,
    and notes on anything the setpoints could not do."""

    timestamp: pd.Timestamp
    tags: dict[str, float]
    headers: dict[str, HeaderBalance]
    notes: list[str]

    def __getitem__(self, tag: str) -> float:
        return self.tags[tag]


class PlantSimulator:
    """Steady-state simulator of one site. Build once per site; :meth:`simulate` per time step."""

    def __init__(self, site: Site, properties: SiteProperties | None = None):
        self.site = site
        self.props = properties or compute_properties(site)
        p = self.props
        self.boilers = {b.id: BoilerCurve(b, p.header_enthalpy_kj_kg[b.header], p.boiler_feedwater_kj_kg[b.id]) for b in site.boilers.values()}
        self.gts = {
            g.id: GasTurbineCurve(g, p.header_enthalpy_kj_kg[g.hrsg.header] if g.hrsg else 0.0, p.hrsg_feedwater_kj_kg.get(g.id, 0.0))
            for g in site.gas_turbines.values()
        }
        self.turbines = {t.id: TurbineCurve(t, p.sections[t.id]) for t in site.turbines.values()}
        self.columns = {c.id: ColumnCurve(c.column) for c in site.consumers.values() if c.column is not None}
        self.factors = {f.id: fuel_factor(f, site.emissions.gwp_set) for f in site.fuels.values()}
        self._on_fs = fuel_system_units(site)
        self._ascending = [h.id for h in sorted(site.headers.values(), key=lambda h: h.pressure_barg)]
        self._letdowns_into = {h: sorted((ld for ld in site.letdowns.values() if ld.outlet == h), key=lambda ld: site.headers[ld.inlet].pressure_barg) for h in site.headers}
        self._letdowns_out = {h: sorted((ld for ld in site.letdowns.values() if ld.inlet == h), key=lambda ld: -site.headers[ld.outlet].pressure_barg) for h in site.headers}
        self._vents = {h: [v for v in site.vents.values() if v.header == h] for h in site.headers}

    # ------------------------------------------------------------------ public
    def simulate(self, setpoints: Setpoints, disturbances: Disturbances) -> PlantState:
        """The steady state at one operating point. Never invents steam: see the module docstring."""
        site, props, d = self.site, self.props, disturbances
        amb = site.design_ambient_c if d.ambient_temp_c is None else d.ambient_temp_c
        tags: dict[str, float] = {"ambient_temp_c": amb}
        notes: list[str] = []
        h_h = props.header_enthalpy_kj_kg
        bal = {hid: HeaderBalance(hid, h_h[hid]) for hid in site.headers}
        fuel_use: dict[str, float] = {f: 0.0 for f in site.fuels}
        fs_fuel: dict[tuple[str, bool], float] = {}  # (unit, duct) -> GJ/h of the units burning from the fuel system
        on_fs = self._on_fs
        up = lambda uid: uid not in d.unavailable  # noqa: E731
        check_disturbance_gap(site, d)

        # --- by-product steam and process consumers (fixed for the step)
        for s in site.byproduct_sources.values():
            tph = max(0.0, d.byproduct_steam_tph.get(s.id, s.nominal_steam_tph)) if up(s.id) else 0.0
            tags[f"{s.id}.steam_tph"] = tph
            bal[s.header].inflows.append(Stream(s.id, tph, h_h[s.header]))
        returned_tph = 0.0
        drawn = {h: 0.0 for h in site.headers}
        for c in site.consumers.values():
            demand = d.consumer_demand_tph.get(c.id, c.demand_tph)
            if c.column is not None:
                demand = column_draw(c, self.columns[c.id], setpoints, d, demand, tags, notes) if up(c.id) else 0.0
            elif c.flexible:
                demand = setpoints.consumer_tph.get(c.id, demand)
                demand = min(max(demand, c.min_tph), c.max_tph)
            tph = max(0.0, demand) if up(c.id) else 0.0
            tags[f"{c.id}.steam_tph"] = tph
            bal[c.header].outflows.append(Stream(c.id, tph, h_h[c.header]))
            drawn[c.header] += tph
            frac = site.steam.condensate_return_fraction if c.condensate_return_fraction is None else c.condensate_return_fraction
            returned_tph += frac * tph
        for hid, loss_fraction in d.unmeasured_loss_fraction.items():  # traps and leaks: lost, not returned
            loss = loss_fraction * drawn[hid]
            tags[unmeasured_loss_tag(hid)] = loss
            bal[hid].outflows.append(Stream(f"{hid}.unmeasured_loss", loss, h_h[hid]))

        # --- gas turbines and HRSGs
        gen_mw = 0.0
        for gid, curve in self.gts.items():
            g, fouling_h = curve.gt, d.gt_fouling_hours.get(gid, 0.0)
            k_f = d.gt_fouling_rate_factor.get(gid, 1.0)
            base = curve.base_power_mw(amb, fouling_h, k_f)
            on = up(gid) and gid in setpoints.gt_power_mw
            p_set = setpoints.gt_power_mw.get(gid)
            power = (base if p_set is None else min(max(p_set, g.min_power_mw), base)) if on else 0.0
            if on and p_set is not None and abs(power - p_set) > 1e-9:
                notes.append(f"{gid}: power setpoint {p_set:.2f} MW limited to {power:.2f} MW (base {base:.2f} MW)")
            fuel = curve.fuel_gj_h(power, amb, fouling_h, k_f)
            if (gid, False) in on_fs:
                fs_fuel[gid, False] = fuel
            else:
                fuel_use[g.fuel] += fuel
            gen_mw += power
            unfired = curve.unfired_steam_tph(power, amb, fouling_h, k_f) if on else 0.0
            duct, duct_fuel = 0.0, 0.0
            if on and g.hrsg is not None:
                duct = setpoints.duct_steam_tph.get(gid, 0.0)
                duct = 0.0 if duct <= 0.0 else min(max(duct, g.hrsg.duct_min_steam_tph), g.hrsg.duct_max_steam_tph)
                # the burner master fires the fuel that raises the set steam (oxygen-limited duct
                # firing: optimizer/unit_physics.py), up to its capacity and the exhaust's oxygen
                duct_fuel = curve.duct_fuel_for_steam_gj_h(duct, power, amb, fouling_h, k_f) if duct > 0 else 0.0
                cap = curve.duct_fuel_cap_gj_h(power, amb, fouling_h, k_f) if curve.duct_oxygen_limited else float("inf")
                if duct_fuel > cap:
                    duct_fuel = cap
                    fired = curve.duct_steam_tph(power, cap, amb, fouling_h, k_f)
                    notes.append(f"{gid}: duct steam setpoint {duct:.2f} t/h limited to {fired:.2f} t/h (duct fuel {cap:.1f} GJ/h at most "
                                 f"at {power:.2f} MW)")
                    duct = fired
                if (gid, True) in on_fs:
                    fs_fuel[gid, True] = duct_fuel
                else:
                    fuel_use[g.hrsg.duct_fuel] += duct_fuel
                bal[g.hrsg.header].inflows.append(Stream(f"{gid}.hrsg", unfired + duct, h_h[g.hrsg.header]))
            tags.update({
                f"{gid}.power_mw": power, f"{gid}.base_power_mw": base, f"{gid}.fuel_gj_h": fuel,
                f"{gid}.heat_rate_kj_kwh": curve.heat_rate_kj_kwh(power, amb, fouling_h, k_f) if power > 0 else 0.0,
                f"{gid}.exhaust_gj_h": curve.exhaust_gj_h(power, amb, fouling_h, k_f), f"{gid}.fouling_hours": fouling_h,
                f"{gid}.hrsg_unfired_tph": unfired, f"{gid}.duct_steam_tph": duct,
                f"{gid}.duct_fuel_gj_h": duct_fuel, f"{gid}.hrsg_steam_tph": unfired + duct,
            })

        # --- steam turbines; exhausts enter headers at their own enthalpy
        motor_mw = 0.0
        condensate_tph, condenser_mw = 0.0, {c: 0.0 for c in site.condensers}
        exhaust_energy_excess = {hid: 0.0 for hid in site.headers}  # sum m (h_ex - h_H), t/h*kJ/kg
        turbine_shaft_mw = 0.0
        for tid, curve in self.turbines.items():
            t = curve.turbine
            if t.drive == "machine":
                target = d.machine_power_mw.get(tid, t.power_mw)
                on_motor = (tid in setpoints.drivers_on_motor or not up(tid)) and t.motor is not None
                motor_shaft_mw = 0.0
                if on_motor:
                    motor_mw += target / t.motor.efficiency
                    motor_shaft_mw, target = target, 0.0
                elif not up(tid):
                    notes.append(f"{tid}: drive unavailable and no motor: the machine is stopped")
                    target = 0.0
                tags[f"{tid}.on_motor"] = float(on_motor)
            else:
                target = setpoints.turbine_power_mw.get(tid, 0.0) if up(tid) else 0.0
                if 0.0 < target < t.min_power_mw:
                    notes.append(f"{tid}: power setpoint {target:.2f} MW below minimum {t.min_power_mw:.2f} MW; stopped")
                    target = 0.0
                target = min(target, t.max_power_mw)
            n_x = len(t.sections) - 1
            if target > 0.0:
                x_set = list(setpoints.turbine_extraction_tph.get(tid, [0.0] * n_x))[:n_x]
                x_set += [0.0] * (n_x - len(x_set))
                flows, x, delivered, tnotes = curve.solve(target, x_set)
                notes.extend(f"{tid}: {n}" for n in tnotes)
            else:
                flows, x, delivered = [0.0] * len(t.sections), [0.0] * n_x, 0.0
            if t.drive == "generator":
                gen_mw += delivered
            # a machine's power tag is the power its process takes, whichever drive gives it (the
            # engine reads it as the machine's demand); the turbine's own share is turbine_power_mw
            tags[f"{tid}.power_mw"] = delivered + (motor_shaft_mw if t.drive == "machine" else 0.0)
            if t.drive == "machine":
                tags[f"{tid}.turbine_power_mw"] = delivered
            tags[f"{tid}.power_shortfall_mw"] = max(0.0, target - delivered)
            tags[f"{tid}.inlet_tph"] = flows[0]
            bal[t.inlet].outflows.append(Stream(f"{tid}.inlet", flows[0], h_h[t.inlet]))
            h_in = h_h[t.inlet]
            for k, (sec, m) in enumerate(zip(t.sections, flows)):
                p_k = curve.section_power_mw(k, m) if m > 0 else 0.0
                turbine_shaft_mw += p_k
                h_ex = h_in - 3600.0 * p_k / m if m > 0 else h_in
                tags[f"{tid}.s{k}_flow_tph"] = m
                tags[f"{tid}.s{k}_exhaust_kj_kg"] = h_ex
                leaving = x[k] if k < n_x else m  # extraction after this section, or the exhaust
                if sec.outlet in site.condensers:
                    condensate_tph += leaving
                    condenser_mw[sec.outlet] += leaving * (h_ex - props.condensate_kj_kg[sec.outlet]) * MW_PER_TPH_KJKG
                else:
                    bal[sec.outlet].inflows.append(Stream(f"{tid}.s{k}", leaving, h_ex))
                    exhaust_energy_excess[sec.outlet] += leaving * (h_ex - h_h[sec.outlet])
                if k < n_x:
                    tags[f"{tid}.extraction{k}_tph"] = x[k]
                h_in = h_ex

        # --- boilers, letdowns, vents, deaerator: the pressure-control cascade, iterated with the
        # deaerator steam and the header desuperheaters: a header's spray (or energy deficit)
        # follows from the exhausts and the undesuperheated letdowns entering it
        # (optimizer.steam.header_spray_or_deficit, the optimiser's rule), and the letdown flows
        # come from the cascade
        mixing_lds = mixing_letdowns(site.letdowns.values(), h_h)
        boiler_on = {b: up(b) and setpoints.boiler_steam_tph.get(b, 0.0) > 0.0 for b in self.boilers}
        master = {b for b in setpoints.boilers_on_master if boiler_on.get(b)}
        da_steam = 0.0
        spray = self._set_spray(bal, exhaust_energy_excess, mixing_lds, {})
        for _ in range(_MAX_ITER):
            cascade = self._cascade(bal, setpoints, boiler_on, master, da_steam)
            boiler_tph, ld_in, vent_tph, short, surplus = cascade
            new_spray = self._set_spray(bal, exhaust_energy_excess, mixing_lds, ld_in)
            feedwater = self._feedwater(bal, boiler_tph, ld_in, new_spray)
            new_da = self._deaerator_steam(feedwater, returned_tph, condensate_tph)
            settled = abs(new_da - da_steam) < _TOL_TPH and all(abs(new_spray[k] - spray[k]) < _TOL_TPH for k in spray)
            da_steam, spray = new_da, new_spray
            if settled:
                break
        else:  # pragma: no cover - the map is a contraction for any physical site
            notes.append("deaerator iteration did not converge")
        cascade = self._cascade(bal, setpoints, boiler_on, master, da_steam)
        boiler_tph, ld_in, vent_tph, short, surplus = cascade

        # --- record the cascade's streams
        da_h = props.deaerator_steam_header
        bal[da_h].outflows.append(Stream("deaerator", da_steam, h_h[da_h]))
        for bid, tph in boiler_tph.items():
            b = self.boilers[bid].boiler
            bal[b.header].inflows.append(Stream(bid, tph, h_h[b.header]))
            loss = d.boiler_efficiency_loss.get(bid, 0.0)
            fuel = self.boilers[bid].fuel_gj_h(tph, amb, loss)
            shares = setpoints.boiler_fuel_share.get(bid) or {b.fuels[0]: 1.0}
            total_share = sum(shares.values())
            if (bid, False) in on_fs:  # its fuel comes from the fuel system's headers (settled below)
                fs_fuel[bid, False] = fuel
            for f in (b.fuels if (bid, False) not in on_fs else ()):  # every fuel the boiler can burn gets its tag (0 when unused)
                part = fuel * shares.get(f, 0.0) / total_share
                fuel_use[f] += part
                tags[f"{bid}.fuel_{f}_gj_h"] = part
            tags.update({f"{bid}.steam_tph": tph, f"{bid}.fuel_gj_h": fuel, f"{bid}.on": float(tph > 0),
                         f"{bid}.efficiency": self.boilers[bid].efficiency(tph, amb, loss) if tph > 0 else 0.0})
        self._make_up_limited_fuels(tags, fuel_use, boiler_tph, notes)
        for lid, tph in ld_in.items():
            ld = self.site.letdowns[lid]
            water = tph * props.letdown_water_ratio[lid]
            bal[ld.inlet].outflows.append(Stream(lid, tph, h_h[ld.inlet]))
            bal[ld.outlet].inflows.append(Stream(lid, tph, h_h[ld.inlet]))
            if water > 0:
                bal[ld.outlet].inflows.append(Stream(f"{lid}.water", water, props.letdown_water_kj_kg[lid]))
            tags[f"{lid}.steam_tph"], tags[f"{lid}.water_tph"] = tph, water
        for vid, tph in vent_tph.items():
            v = self.site.vents[vid]
            bal[v.header].outflows.append(Stream(vid, tph, h_h[v.header]))
            tags[f"{vid}.steam_tph"] = tph
        for hid, b in bal.items():
            b.shortfall_tph, b.surplus_tph = short[hid], surplus[hid]
            tags[f"{hid}.shortfall_tph"], tags[f"{hid}.surplus_tph"] = short[hid], surplus[hid]
            tags[f"{hid}.spray_water_tph"], tags[f"{hid}.energy_deficit_mw"] = spray[hid], b.energy_deficit_mw
            if short[hid] > 1e-9:
                notes.append(f"{hid}: {short[hid]:.2f} t/h short: demand not served")
            if surplus[hid] > 1e-9:
                notes.append(f"{hid}: {surplus[hid]:.2f} t/h surplus with nowhere to go")

        # --- deaerator and water side
        feedwater = self._feedwater(bal, boiler_tph, ld_in, spray)
        makeup = feedwater - returned_tph - condensate_tph - da_steam
        if not props.has_deaerator:  # returned water beyond the feedwater is drained
            makeup = max(0.0, makeup)
        tags.update({"deaerator.steam_tph": da_steam, "deaerator.feedwater_tph": feedwater, "deaerator.makeup_tph": makeup,
                     "deaerator.condensate_return_tph": returned_tph, "deaerator.condenser_condensate_tph": condensate_tph})
        for c, mw in condenser_mw.items():
            tags[f"{c}.duty_mw"] = mw
            if mw > self.site.condensers[c].max_duty_mw + 1e-9:
                notes.append(f"{c}: duty {mw:.1f} MW above its {self.site.condensers[c].max_duty_mw:.1f} MW cooling capacity")

        tags["site.turbine_shaft_mw"] = turbine_shaft_mw
        fs = self._fuel_system(tags, fs_fuel, setpoints, d, notes) if site.fuel_system.headers else None
        self._economics(tags, fuel_use, gen_mw, motor_mw, boiler_tph, vent_tph, d, notes, fs)
        return PlantState(d.timestamp, tags, bal, notes)

    # ------------------------------------------------------------------ cascade
    def _set_spray(self, bal, exhaust_excess: dict[str, float], mixing_lds: dict[str, tuple[str, float]],
                   ld_in: dict[str, float]) -> dict[str, float]:
        """Each header's spray water (t/h, as its ``{H}.spray`` inflow) and energy deficit (MW) from
        the exhausts' excess and the undesuperheated letdowns' at flows ``ld_in``; replaces the
        previous iteration's. Returns header -> spray t/h."""
        excess = dict(exhaust_excess)
        for lid, (outlet, drop) in mixing_lds.items():
            excess[outlet] += ld_in.get(lid, 0.0) * drop
        spray = {}
        for hid, e in excess.items():
            h_w = self.props.header_spray_water_kj_kg[hid]
            spray[hid], bal[hid].energy_deficit_mw = header_spray_or_deficit(e, self.props.header_enthalpy_kj_kg[hid], h_w)
            bal[hid].inflows = [x for x in bal[hid].inflows if x.name != f"{hid}.spray"]
            if spray[hid] > 0:
                bal[hid].inflows.append(Stream(f"{hid}.spray", spray[hid], h_w))
        return spray

    def _cascade(self, bal, setpoints, boiler_on, master, da_steam):
        """Letdowns, vents and boiler trim that close each header (see the module docstring)."""
        site, props = self.site, self.props
        boiler = {b: (min(max(setpoints.boiler_steam_tph.get(b, 0.0), self.boilers[b].boiler.min_steam_tph), self.boilers[b].boiler.max_steam_tph) if boiler_on[b] else 0.0) for b in self.boilers}
        ld_in = {l: 0.0 for l in site.letdowns}
        vent = {v: 0.0 for v in site.vents}
        short = {h: 0.0 for h in site.headers}
        surplus = {h: 0.0 for h in site.headers}
        da_h = props.deaerator_steam_header
        ratio = props.letdown_water_ratio

        def net(h: str) -> float:
            b = bal[h]
            value = sum(s.tph for s in b.inflows) - sum(s.tph for s in b.outflows)
            value += sum(t for bid, t in boiler.items() if self.boilers[bid].boiler.header == h)
            value += sum(ld_in[ld.id] * (1.0 + ratio[ld.id]) for ld in self._letdowns_into[h])
            value -= sum(ld_in[ld.id] for ld in self._letdowns_out[h])
            value -= sum(vent[v.id] for v in self._vents[h])
            return value - (da_steam if h == da_h else 0.0)

        def trim(h: str, delta: float) -> float:
            """Move the master boilers of header h by delta t/h in total (equal shares); returns the rest."""
            units = [b for b in master if self.boilers[b].boiler.header == h]
            while units and abs(delta) > 1e-12:
                share = delta / len(units)
                nxt = []
                for b in units:
                    bo = self.boilers[b].boiler
                    new = min(max(boiler[b] + share, bo.min_steam_tph), bo.max_steam_tph)
                    delta -= new - boiler[b]
                    boiler[b] = new
                    if bo.min_steam_tph < new < bo.max_steam_tph:
                        nxt.append(b)
                units = nxt
            return delta

        # bottom-up: deficits drawn from letdowns, then master boilers
        for h in self._ascending:
            deficit = -net(h)
            if deficit <= 0:
                continue
            for ld in self._letdowns_into[h]:
                add = min(deficit / (1.0 + ratio[ld.id]), ld.max_flow_tph - ld_in[ld.id])
                if add > 0:
                    ld_in[ld.id] += add
                    deficit -= add * (1.0 + ratio[ld.id])
            trim(h, deficit)
        # top-down: surplus backs boilers off, vents, then passes down the letdowns
        for h in reversed(self._ascending):
            excess = net(h)
            if excess > 0:
                excess = -trim(h, -excess)
                for v in self._vents[h]:
                    add = min(excess, v.max_flow_tph - vent[v.id])
                    vent[v.id] += add
                    excess -= add
                for ld in self._letdowns_out[h]:
                    add = min(excess, ld.max_flow_tph - ld_in[ld.id])
                    if add > 0:
                        ld_in[ld.id] += add
                        excess -= add
            residual = net(h)
            if residual > 1e-12:
                surplus[h] = residual
            elif residual < -1e-12:
                short[h] = -residual
        return boiler, ld_in, vent, short, surplus

    def _make_up_limited_fuels(self, tags: dict[str, float], fuel_use: dict[str, float], boiler_tph: dict[str, float],
                               notes: list[str]) -> None:
        """A fuel with a supply limit (``max_gj_h``, e.g. cracker fuel gas) cannot be burned beyond
        it: when the boilers' fuel shares ask for more, the fuel header's make-up opens and each
        boiler burning it takes the excess, in proportion to what it asked, on its first other
        fuel (the usual fuel-gas header with natural-gas make-up). Boilers with no other fuel
        keep the excess (reported as a limit the plant is outside of)."""
        for f, fuel in self.site.fuels.items():
            excess = fuel_use[f] - fuel.max_gj_h
            if excess <= 1e-9:
                continue
            burners = [b for b in boiler_tph if tags.get(f"{b}.fuel_{f}_gj_h", 0.0) > 0.0
                       and any(g != f for g in self.boilers[b].boiler.fuels)]
            asked = sum(tags[f"{b}.fuel_{f}_gj_h"] for b in burners)
            if asked <= 0.0:
                continue
            moved = min(excess, asked)
            for b in burners:
                part = moved * tags[f"{b}.fuel_{f}_gj_h"] / asked
                other = next(g for g in self.boilers[b].boiler.fuels if g != f)
                tags[f"{b}.fuel_{f}_gj_h"] -= part
                tags[f"{b}.fuel_{other}_gj_h"] = tags.get(f"{b}.fuel_{other}_gj_h", 0.0) + part
                fuel_use[f] -= part
                fuel_use[other] += part
            notes.append(f"fuel {f}: supply limit {fuel.max_gj_h:.1f} GJ/h reached; {moved:.2f} GJ/h made up with the boilers' other fuel")

    def _feedwater(self, bal, boiler_tph, ld_in, spray) -> float:
        raised = sum(s.tph for b in bal.values() for s in b.inflows if s.name.endswith(".hrsg") or s.name in self.site.byproduct_sources)
        return sum(boiler_tph.values()) + raised + sum(ld_in[l] * self.props.letdown_water_ratio[l] for l in ld_in) + sum(spray.values())

    def _deaerator_steam(self, feedwater: float, returned: float, condensate: float) -> float:
        """Deaerator heating steam from its mass and energy balance (make-up is the free flow).

        .. math:: S = \\frac{F (h_{fw} - h_m) - R (h_r - h_m) - C (h_c - h_m)}{h_s - h_m}
        """
        p = self.props
        if not p.has_deaerator:
            return 0.0
        h_m, h_s = p.makeup_kj_kg, p.header_enthalpy_kj_kg[p.deaerator_steam_header]
        h_c = next(iter(p.condensate_kj_kg.values()), h_m)
        if len(set(p.condensate_kj_kg.values())) > 1:
            raise NotImplementedError("condensers at different pressures")  # pragma: no cover
        s = (feedwater * (p.deaerator_feedwater_kj_kg - h_m) - returned * (p.condensate_return_kj_kg - h_m) - condensate * (h_c - h_m)) / (h_s - h_m)
        return max(0.0, s)

    # ------------------------------------------------------------------ economics
    def _fuel_system(self, tags, fs_fuel, setpoints: Setpoints, d: Disturbances, notes) -> FuelSettlement:
        """The fuel system settled at this operating point (optimizer/fuel_system.py, the model's
        definitions): its tags, and its cost and CO2e for the economics."""
        fs = self.site.fuel_system
        r = settle(self.site, fs_fuel, setpoints.fuel_share, d.fuel_gj_h, d.fuel_gj_h)
        for (h, u), gj in r.draws.items():
            bu = fs.burners[u]
            tags[f"{bu.unit}.{'duct_' if bu.duct else ''}fuel_{h}_gj_h"] = gj
        for h in fs.headers:
            tags[f"site.fuel_header_{h}_gj_h"] = sum(gj for (hh, _), gj in r.draws.items() if hh == h)
            if fs.headers[h].flare or h in r.flare:
                tags[f"site.flare_{h}_gj_h"] = r.flare.get(h, 0.0)
        for s, (_, src) in fs.sources().items():
            tags[f"{s}.fuel_gj_h"] = r.takes[s] if src.kind == "purchase" else d.fuel_gj_h.get(s, src.nominal_gj_h)
        for x, fur in fs.furnaces.items():
            tags[f"{x}.fuel_gj_h"] = d.fuel_gj_h.get(x, fur.draw_gj_h)
        notes += r.notes
        return r

    def _economics(self, tags, fuel_use, gen_mw, motor_mw, boiler_tph, vent_tph, d: Disturbances, notes,
                   fs: FuelSettlement | None = None) -> None:
        site = self.site
        e, em = site.electricity, site.emissions
        load = (d.site_load_mw if d.site_load_mw is not None else (e.site_load_mw if e else 0.0)) + motor_mw
        balance = load - gen_mw
        imp, exp = max(0.0, balance), max(0.0, -balance)
        if e is not None and imp > e.max_import_mw + 1e-9:
            notes.append(f"grid import {imp:.2f} MW above the {e.max_import_mw:.2f} MW limit")
        if e is not None and exp > e.max_export_mw + 1e-9:
            notes.append(f"grid export {exp:.2f} MW above the {e.max_export_mw:.2f} MW limit")
        fuel_cost = sum(fuel_use[f] * site.fuels[f].price_per_gj for f in fuel_use)
        for f, gj in fuel_use.items():
            tags[f"site.fuel_{f}_gj_h"] = gj
            if gj > site.fuels[f].max_gj_h + 1e-9:
                notes.append(f"fuel {f}: {gj:.1f} GJ/h above its {site.fuels[f].max_gj_h:.1f} GJ/h availability")
        scope1 = sum(fuel_use[f] * self.factors[f].total_t_gj for f in fuel_use)
        if fs is not None:  # the fuel system: purchases, flare; the burners' and the flare's CO2e
            fuel_cost += fs.cost_per_h
            scope1 += fs.co2e_t_h
        grid_ef = e.grid_ef_t_mwh if e else 0.0
        scope2 = imp * grid_ef - (exp * grid_ef if em.credit_export else 0.0)
        counted = (scope1 if em.scope1 else 0.0) + (scope2 if em.scope2 else 0.0)
        price = self.import_price_per_mwh(d.timestamp)
        elec_cost = imp * price - exp * (e.export_price_per_mwh if e else 0.0)
        penalty = sum(vent_tph[v] * site.vents[v].penalty_per_t for v in vent_tph)
        if e is not None:
            penalty += max(0.0, e.contract_min_import_mw - imp) * e.shortfall_penalty_per_mwh
        for c in site.consumers.values():
            if c.offspec_below_tph is not None:
                penalty += max(0.0, c.offspec_below_tph - tags[f"{c.id}.steam_tph"]) * c.offspec_penalty_per_t
        carbon = em.carbon_price_per_t * counted
        steam_generated = sum(boiler_tph.values()) + sum(tags.get(f"{g}.hrsg_steam_tph", 0.0) for g in self.gts)
        tags.update({
            "site.fuel_gj_h": sum(fuel_use.values()) + (sum(fs.draws.values()) if fs is not None else 0.0),
            "site.steam_generated_tph": steam_generated,
            "site.byproduct_steam_tph": sum(tags[f"{s}.steam_tph"] for s in site.byproduct_sources),
            "site.vent_tph": sum(vent_tph.values()),
            "site.load_mw": load, "site.generation_mw": gen_mw, "site.motor_mw": motor_mw,
            "site.power_import_mw": imp, "site.power_export_mw": exp,
            "site.import_price_per_mwh": price,
            "site.co2e_scope1_t_h": scope1, "site.co2e_scope2_t_h": scope2, "site.co2e_t_h": counted,
            "site.fuel_cost_per_h": fuel_cost, "site.electricity_cost_per_h": elec_cost,
            "site.carbon_cost_per_h": carbon, "site.penalty_cost_per_h": penalty,
            "site.cost_per_h": fuel_cost + elec_cost + carbon + penalty,
            "site.steam_shortfall_tph": sum(tags[f"{h}.shortfall_tph"] for h in site.headers),
            "site.steam_surplus_tph": sum(tags[f"{h}.surplus_tph"] for h in site.headers),
        })

    def import_price_per_mwh(self, timestamp: pd.Timestamp) -> float:
        """Energy price of imported power at a time (tariff period or default, plus Ft)."""
        e = self.site.electricity
        ts = pd.Timestamp(timestamp)
        return e.import_price_per_mwh(ts.weekday(), ts.hour) if e is not None else 0.0
