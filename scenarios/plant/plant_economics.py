"""The plant simulator's fuel and money (:mod:`scenarios.plant.simulator`): fuels with a
supply limit made up by the boilers' other fuel, the fuel system settled at the operating point,
and the site's power balance with the grid, its CO2e, costs and penalties as tags.

A part of :class:`~scenarios.plant.simulator.PlantSimulator`, which holds what it uses (the
site, the unit curves, the fuels' emission factors).
"""

from __future__ import annotations

import pandas as pd

from optimizer.fuel_system import FuelSettlement, settle
from scenarios.plant.inputs import Disturbances, Setpoints


class PlantEconomics:
    """The fuel and money of :class:`~scenarios.plant.simulator.PlantSimulator` (see the module docstring)."""

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
