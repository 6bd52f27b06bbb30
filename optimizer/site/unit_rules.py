"""Cross-component rules of a site's units: boilers, gas turbines with their HRSG and duct
burner, steam turbines and their sections (references, limits, curves, feedwater, section
models), start and stop data, curve sources and gas-turbine rating tables.

Part of :class:`optimizer.site.loader.SiteRules`; each ``_check_*`` adds issues, none raises.
"""

from __future__ import annotations

from optimizer import steam
from optimizer.site.model import SteamTurbine, extraction_condensing_generators
from optimizer.site.rule_base import _OUT_OF_RANGE, RuleContext


class UnitRules(RuleContext):
    """The units' rules (see the module docstring)."""

    def _check_boilers(self) -> None:
        for b in self.site.boilers.values():
            path = f"boilers.{b.id}"
            self._ref(f"{path}.header", b.header, "headers")
            for i, fuel in enumerate(b.fuels):
                self._ref(f"{path}.fuels[{i}]", fuel, "fuels")
            self._limits(path, b.min_steam_tph, b.max_steam_tph, "min_steam_tph", "max_steam_tph")
            if (b.efficiency is None) == (b.efficiency_curve is None):
                self.b.error(path, {"efficiency": b.efficiency, "efficiency_curve": b.efficiency_curve}, "give exactly one of efficiency or efficiency_curve")
            self._curve(f"{path}.efficiency_curve", b.efficiency_curve, "efficiency")
            self._feedwater(path, b, b.header)

    def _feedwater(self, path: str, unit, header: str) -> None:
        """A unit's feedwater: an enthalpy or a temperature (at a pressure), not both; a temperature
        below saturation at the pressure it is taken at."""
        if unit.feedwater_enthalpy_kj_kg is not None:
            for name in ("feedwater_temp_c", "feedwater_pressure_barg"):
                if getattr(unit, name) is not None:
                    self.b.error(f"{path}.{name}", getattr(unit, name), "give feedwater_enthalpy_kj_kg or a temperature (with its pressure), not both")
            return
        temp_c = unit.feedwater_temp_c
        if temp_c is None or header not in self.site.headers:
            return
        p_barg = next((x for x in (unit.feedwater_pressure_barg, self.site.steam.feedwater_pressure_barg) if x is not None), None)
        where = header if p_barg is None else f"{p_barg:g} bar(g)"
        p = (self.site.headers[header].pressure_barg if p_barg is None else p_barg) + self.site.steam.atmospheric_pressure_bar
        try:
            t_sat = steam.saturation_temp_c(p)
        except _OUT_OF_RANGE:
            return  # the header's pressure is reported by _check_headers
        if temp_c >= t_sat:
            self.b.error(f"{path}.feedwater_temp_c", temp_c, f"feedwater must be below saturation at {where} ({t_sat:.1f} C)")

    def _check_gas_turbines(self) -> None:
        for g in self.site.gas_turbines.values():
            path = f"gas_turbines.{g.id}"
            self._ref(f"{path}.fuel", g.fuel, "fuels")
            self._limits(path, g.min_power_mw, g.iso_power_mw, "min_power_mw", "iso_power_mw")
            self._curve(f"{path}.part_load_efficiency", g.part_load_efficiency, "relative")
            if g.fouling and g.filter_class not in g.fouling:
                self.b.error(f"{path}.filter_class", g.filter_class, f"must be one of the fouling classes: {', '.join(g.fouling)}")
            if g.hrsg is not None:
                hp = f"{path}.hrsg"
                self._ref(f"{hp}.header", g.hrsg.header, "headers")
                self._ref(f"{hp}.duct_fuel", g.hrsg.duct_fuel, "fuels")
                self._limits(hp, g.hrsg.duct_min_steam_tph, g.hrsg.duct_max_steam_tph, "duct_min_steam_tph", "duct_max_steam_tph")
                if g.hrsg.duct_max_steam_tph > 0 and g.hrsg.duct_fuel is None:
                    self.b.error(f"{hp}.duct_fuel", None, "required when duct_max_steam_tph > 0")
                self._curve(f"{hp}.part_load_recovery", g.hrsg.part_load_recovery, "relative")
                self._feedwater(hp, g.hrsg, g.hrsg.header)
                self._duct_rules(hp, g.hrsg)

    def _duct_rules(self, hp: str, h) -> None:
        """A learned duct needs a burner that fires (duct_max_steam_tph > 0) and its fuel range;
        an oxygen-limited true duct its exhaust-flow curve in order."""
        self._curve(f"{hp}.exhaust_flow_part_load", h.exhaust_flow_part_load, "relative")
        if h.duct_max_fuel_gj_h is not None:
            self._limits(hp, h.duct_min_fuel_gj_h, h.duct_max_fuel_gj_h, "duct_min_fuel_gj_h", "duct_max_fuel_gj_h")
        if h.duct_curve == "learned":
            if h.duct_max_steam_tph <= 0:
                self.b.error(f"{hp}.duct_curve", h.duct_curve, "learned duct firing needs a duct burner (duct_max_steam_tph > 0)")
            if h.duct_max_fuel_gj_h is None:
                self.b.error(f"{hp}.duct_max_fuel_gj_h", None, "required when duct_curve = \"learned\" (the learned model's fuel range)")

    def _check_turbines(self) -> None:
        for t in self.site.turbines.values():
            path = f"turbines.{t.id}"
            if not self._ref(f"{path}.inlet", t.inlet, "headers"):
                continue
            if t.drive == "machine" and t.power_mw is None:
                self.b.error(f"{path}.power_mw", None, "required for a machine drive (the process power, MW)")
            if t.drive == "generator":
                if t.max_power_mw is None:
                    self.b.error(f"{path}.max_power_mw", None, "required for a generator")
                self._limits(path, t.min_power_mw, t.max_power_mw, "min_power_mw", "max_power_mw")
            upstream = t.inlet
            p_up = self._pressure(t.inlet)
            n = len(t.sections)
            for i, s in enumerate(t.sections):
                sp = f"{path}.sections[{i}]"
                if not self._ref(f"{sp}.outlet", s.outlet, "headers|condensers"):
                    continue
                if s.outlet in self.site.condensers and i != n - 1:
                    self.b.error(f"{sp}.outlet", s.outlet, "a condenser can only be the last section's outlet")
                p_out = self._pressure(s.outlet)
                if p_up is not None and p_out is not None and not p_out < p_up:
                    self.b.error(f"{sp}.outlet", s.outlet, f"outlet pressure {p_out:.3f} bar(a) must be below {upstream}'s {p_up:.3f} bar(a)")
                self._section_model(sp, s)
                self._limits(sp, s.min_flow_tph, s.max_flow_tph, "min_flow_tph", "max_flow_tph")
                if s.rated_flow_tph is not None and s.rated_flow_tph > s.max_flow_tph:
                    self.b.error(f"{sp}.rated_flow_tph", s.rated_flow_tph, f"must not exceed max_flow_tph = {s.max_flow_tph:g}")
                upstream, p_up = s.outlet, p_out

    def _section_model(self, sp: str, s) -> None:
        """Which data each section model needs (the numbers are checked on the steam states, optimizer.site.textbook)."""
        if s.model == "isentropic" and s.isentropic_efficiency is None:
            self.b.error(f"{sp}.isentropic_efficiency", None, "required for a isentropic section")
        if s.model == "willans":
            if s.isentropic_efficiency is None and s.no_load_flow_fraction is not None:
                self.b.error(f"{sp}.isentropic_efficiency", None, "required for a willans section that gives no_load_flow_fraction "
                             "(leave out both to take the line from the Sun & Smith (2015) correlation)")
            elif s.isentropic_efficiency is not None and s.no_load_flow_fraction is None:
                self.b.error(f"{sp}.no_load_flow_fraction", None, "required for a willans section that gives isentropic_efficiency: "
                             "the no-load flow / rated flow (there is no default; 0.08 was assumed before); leave out both to take "
                             "the line from the Sun & Smith (2015) correlation")
        stated = [n for n in ("enthalpy_drop_kj_kg", "exhaust_enthalpy_kj_kg") if getattr(s, n) is not None]
        if s.model != "enthalpy_drop":
            for n in stated:
                self.b.error(f"{sp}.{n}", getattr(s, n), f"only for an enthalpy_drop section (this one is {s.model})")
            return
        if len(stated) > 1:
            self.b.error(f"{sp}.exhaust_enthalpy_kj_kg", s.exhaust_enthalpy_kj_kg, "give enthalpy_drop_kj_kg or exhaust_enthalpy_kj_kg, not both")
        elif stated and s.conversion != 1.0:
            self.b.error(f"{sp}.conversion", s.conversion, f"applies to the header-to-header drop only; {stated[0]} is stated")
        elif not stated and s.outlet in self.site.condensers:
            self.b.error(f"{sp}.model", s.model, "an enthalpy_drop section to a condenser needs exhaust_enthalpy_kj_kg or enthalpy_drop_kj_kg "
                         "(a condenser has no header enthalpy to drop to)")

    def _check_start_stop(self) -> None:
        """Start and stop data: the cold start pair (both or neither; cold at least hot), and
        none on a machine drive (it runs when its process does; the optimiser never starts it)."""
        site = self.site
        units = [(f"boilers.{u.id}", u) for u in site.boilers.values()] + [(f"gas_turbines.{u.id}", u) for u in site.gas_turbines.values()]
        units += [(f"turbines.{u.id}", u) for u in site.turbines.values()]
        for path, u in units:
            if isinstance(u, SteamTurbine) and u.drive == "machine":
                for name, unset in (("startup_cost", 0.0), ("cold_startup_cost", None), ("cold_after_h", None), ("shutdown_cost", 0.0),
                                    ("startup_time_min", 0.0), ("min_up_min", 0.0), ("min_down_min", 0.0)):
                    if getattr(u, name) != unset:
                        self.b.error(f"{path}.{name}", getattr(u, name), "start and stop data are for generator turbines only: "
                                     "a machine drive runs when its process does")
                continue
            if u.cold_startup_cost is None and u.cold_after_h is not None:
                self.b.error(f"{path}.cold_after_h", u.cold_after_h, "needs cold_startup_cost as well (give both or neither)")
            elif u.cold_startup_cost is not None and u.cold_after_h is None:
                self.b.error(f"{path}.cold_startup_cost", u.cold_startup_cost, "needs cold_after_h as well (give both or neither)")
            elif u.cold_startup_cost is not None and u.cold_startup_cost < u.startup_cost:
                self.b.error(f"{path}.cold_startup_cost", u.cold_startup_cost,
                             f"must be >= startup_cost = {u.startup_cost:g} (a cold start costs at least a hot one)")

    def _check_curve_sources(self) -> None:
        """Each unit's ``curve_source`` against the data it needs (a learned unit's model is checked
        when the models are loaded: optimizer/fp_curves.py), and the gas turbines' rating tables."""
        site = self.site
        excluded = set(site.surrogates.exclude)
        for b in site.boilers.values():
            if b.curve_source == "first_principles" and b.efficiency is None and b.efficiency_curve is None:
                self.b.error(f"boilers.{b.id}.curve_source", b.curve_source,
                             "first_principles needs efficiency or efficiency_curve (the fuel is computed from it)")
        units = [("boilers", u) for u in site.boilers.values()] + [("gas_turbines", u) for u in site.gas_turbines.values()]
        units += [("turbines", u) for u in site.turbines.values()]
        for coll, u in units:
            if u.curve_source == "learned" and u.id in excluded:
                self.b.error(f"{coll}.{u.id}.curve_source", u.curve_source, "a unit in surrogates.exclude is never learned: "
                             "remove it from the exclude list or set curve_source = \"first_principles\"")
        ectg = set(extraction_condensing_generators(site))  # learned too: inlet steam of power and extraction (ectg_steam)
        for t in site.turbines.values():
            if t.curve_source == "learned" and not (t.drive == "generator" and len(t.sections) == 1) and t.id not in ectg:
                self.b.error(f"turbines.{t.id}.curve_source", t.curve_source, "learned turbine curves (turbine_steam) exist only for "
                             f"single-section generators; {t.id} is a {len(t.sections)}-section {t.drive} drive: use auto or first_principles "
                             "(or, for an extraction-condensing generator, HP section to a header and LP section to a condenser: ectg_steam)")
        for g in site.gas_turbines.values():
            if g.rating_table is not None:
                self._rating_table(f"gas_turbines.{g.id}.rating_table", g.rating_table, g.min_power_mw)

    def _rating_table(self, path: str, r, min_power_mw: float) -> None:
        for name, xs in (("ambient_c", r.ambient_c), ("load_fraction", r.load_fraction)):
            if any(b <= a for a, b in zip(xs, xs[1:])):
                self.b.error(f"{path}.{name}", xs, "must be strictly increasing")
        if len(r.base_power_mw) != len(r.ambient_c):
            self.b.error(f"{path}.base_power_mw", r.base_power_mw, f"must have one value per ambient ({len(r.ambient_c)})")
        if r.load_fraction[-1] != 1.0:
            self.b.error(f"{path}.load_fraction", r.load_fraction, "must end at 1.0 (base load)")
        if len(r.heat_rate_kj_kwh) != len(r.ambient_c):
            self.b.error(f"{path}.heat_rate_kj_kwh", r.heat_rate_kj_kwh, f"must have one row per ambient ({len(r.ambient_c)})")
        for i, row in enumerate(r.heat_rate_kj_kwh):
            if len(row) != len(r.load_fraction):
                self.b.error(f"{path}.heat_rate_kj_kwh[{i}]", row, f"must have one value per load fraction ({len(r.load_fraction)})")
        if r.base_power_mw and min(r.base_power_mw) < min_power_mw:
            self.b.error(f"{path}.base_power_mw", r.base_power_mw, f"every base power must be at least min_power_mw = {min_power_mw:g}")
