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

The header cascade (:mod:`scenarios.plant.cascade`), the fuel and money
(:mod:`scenarios.plant.plant_economics`) and the state's types (:mod:`scenarios.plant.plant_state`,
re-exported here) are in their own modules.
"""

from __future__ import annotations

import logging

from optimizer.emissions import fuel_factor
from optimizer.fuel_system import fuel_system_units
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties, compute_properties
from optimizer.steam import mixing_letdowns
from scenarios.plant.cascade import HeaderCascade
from scenarios.plant.column import ColumnCurve, column_draw
from scenarios.plant.curves import BoilerCurve, GasTurbineCurve, TurbineCurve
from scenarios.plant.inputs import Disturbances, Setpoints
from scenarios.plant.plant_economics import PlantEconomics
from scenarios.plant.plant_state import MW_PER_TPH_KJKG, HeaderBalance, PlantState, Stream
from scenarios.plant.reality_gap import check_disturbance_gap, unmeasured_loss_tag

log = logging.getLogger(__name__)

_MAX_ITER = 200
_TOL_TPH = 1e-10


class PlantSimulator(HeaderCascade, PlantEconomics):
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
