"""Read a site from TOML and validate it: types and ranges from the attribute tables, then the
rules that tie components together (references, pressure order, limits, sources).

Files are data only: TOML parsed with :mod:`tomllib`, size-limited, nothing executed.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from optimizer import steam
from optimizer.site.model import EfficiencyCurve, RelativeCurve, Site, SteamTurbine, extraction_condensing_generators
from optimizer.site.schema import Builder, DataFileError, ValidationIssue, loads_toml_checked, read_toml_file

log = logging.getLogger(__name__)

MAX_SITE_FILE_BYTES = 2_000_000
SiteError = DataFileError
# Saturation exists from the triple point to the critical point (IAPWS-IF97 region 4); iapws
# raises NotImplementedError (not SteamPropertyError) outside it.
TRIPLE_POINT_BARA = 0.00611657
CRITICAL_POINT_BARA = 220.64
_OUT_OF_RANGE = (steam.SteamPropertyError, NotImplementedError)


def load_site(path: str | Path) -> Site:
    """Read and validate a site file. Raises :class:`SiteError` (one line per problem)."""
    path = Path(path)
    return site_from_dict(read_toml_file(path, MAX_SITE_FILE_BYTES), str(path))


def parse_site(text: str, source: str = "<string>") -> Site:
    """Validate a site given as TOML text."""
    return site_from_dict(loads_toml_checked(text, source), source)


def site_from_dict(data: dict[str, Any], source: str = "<dict>") -> Site:
    """Validate a site given as plain data (as parsed from TOML)."""
    if not isinstance(data, dict):
        raise SiteError(source, [ValidationIssue("(file)", data, "must be a table of site data (as parsed from TOML)")])
    builder = Builder()
    site = builder.build(Site, data, "")
    if site is not None:
        site = _replace_source(site, source)
        rules = SiteRules(site, builder)
        rules.check()
        if rules.warnings and not builder.issues:
            for w in rules.warnings:
                log.warning("%s: %s", source, w)
            site = dataclasses.replace(site, warnings=tuple(rules.warnings))
    if builder.issues:
        raise SiteError(source, builder.issues)
    return site


def _replace_source(site: Site, source: str) -> Site:
    return dataclasses.replace(site, source=source)


# an OPC UA node id in its string form (OPC UA part 6, 5.3.1.10)
_NODE_ID = re.compile(r"(?:ns=\d+;|nsu=[^;]+;)?(?:i=\d+|s=.+|g=[0-9A-Fa-f-]{36}|b=[A-Za-z0-9+/=]+)")


class SiteRules:
    """Cross-component rules. Each ``_check_*`` adds issues; none raises."""

    def __init__(self, site: Site, builder: Builder):
        self.site = site
        self.b = builder
        self.warnings: list[str] = []  # accepted, but said at load and by `site check`

    def check(self) -> None:
        for name in sorted(n for n in dir(self) if n.startswith("_check_")):
            getattr(self, name)()
        if not self.b.issues:  # tag and setpoint names are derived from a sound site
            self._tags_measurements()
            self._tags_plant_connection()
        if not self.b.issues:  # the steam states of a sound site (textbook conventions)
            from optimizer.site.textbook import check_steam_states

            check_steam_states(self.site, self.b, self.warnings)

    # -- helpers
    def _ref(self, path: str, value: str | None, collections: str) -> bool:
        if value is None:
            return True
        pools = {c: getattr(self.site, c) for c in collections.split("|")}
        if any(value in pool for pool in pools.values()):
            return True
        known = sorted(k for pool in pools.values() for k in pool)
        self.b.error(path, value, f"unknown {' or '.join(c.rstrip('s') for c in pools)} (known: {', '.join(known) or 'none'})")
        return False

    def _pressure(self, node: str) -> float | None:
        if node in self.site.headers:
            return self.site.headers[node].pressure_barg + self.site.steam.atmospheric_pressure_bar
        if node in self.site.condensers:
            return self.site.condensers[node].pressure_bara
        return None

    def _limits(self, path: str, lo: float | None, hi: float | None, lo_name: str, hi_name: str) -> None:
        if lo is not None and hi is not None and lo > hi:
            self.b.error(f"{path}.{lo_name}", lo, f"must not exceed {hi_name} = {hi:g}")

    def _curve(self, path: str, curve: EfficiencyCurve | RelativeCurve | None, yname: str) -> None:
        if curve is None:
            return
        xs, ys = curve.load_fraction, getattr(curve, yname)
        if len(xs) != len(ys):
            self.b.error(f"{path}.{yname}", ys, f"must have as many points as load_fraction ({len(xs)})")
        if any(b <= a for a, b in zip(xs, xs[1:])):
            self.b.error(f"{path}.load_fraction", xs, "must be strictly increasing")

    # -- rules
    def _check_ids_unique(self) -> None:
        seen: dict[str, str] = {}
        for coll in ("headers", "fuels", "boilers", "gas_turbines", "turbines", "condensers", "letdowns", "vents", "byproduct_sources", "consumers"):
            for key in getattr(self.site, coll):
                if key in seen:
                    self.b.error(f"{coll}.{key}", key, f"duplicate id: already used by {seen[key]}.{key} (ids name tags and must be unique)")
                else:
                    seen[key] = coll
                if not key.replace("_", "").replace("-", "").isalnum():
                    self.b.error(f"{coll}.{key}", key, "id must use letters, digits, '_' or '-' only")

    def _check_headers(self) -> None:
        if not self.site.headers:
            self.b.error("headers", {}, "a site needs at least one header")
        atm = self.site.steam.atmospheric_pressure_bar
        for h in self.site.headers.values():
            path = f"headers.{h.id}"
            if (h.temp_c is None) == (h.enthalpy_kj_kg is None):
                self.b.error(path, {"temp_c": h.temp_c, "enthalpy_kj_kg": h.enthalpy_kj_kg}, "give exactly one of temp_c or enthalpy_kj_kg")
                continue
            p_bara = h.pressure_barg + atm
            if p_bara <= 0.0:
                self.b.error(f"{path}.pressure_barg", h.pressure_barg, f"absolute pressure must be > 0 (atmosphere {atm} bar)")
                continue
            try:
                t_sat = steam.saturation_temp_c(p_bara)
            except _OUT_OF_RANGE:
                self.b.error(
                    f"{path}.pressure_barg",
                    h.pressure_barg,
                    f"absolute pressure {p_bara:g} bar(a) must lie between the triple point {TRIPLE_POINT_BARA:g} and the critical point "
                    f"{CRITICAL_POINT_BARA:g} bar(a) (IAPWS-IF97 saturation): headers carry subcritical steam",
                )
                continue
            if h.temp_c is not None and h.temp_c <= t_sat:
                self.b.error(f"{path}.temp_c", h.temp_c, f"must be above saturation ({t_sat:.1f} C at {h.pressure_barg:g} bar(g)): headers carry superheated steam")
            if h.enthalpy_kj_kg is not None:
                h_liq = steam.saturated_liquid(p_bara).enthalpy_kj_kg
                if h.enthalpy_kj_kg <= h_liq:
                    self.b.error(f"{path}.enthalpy_kj_kg", h.enthalpy_kj_kg, f"must exceed saturated-liquid enthalpy {h_liq:.1f} kJ/kg at {h.pressure_barg:g} bar(g)")

    def _check_steam_system(self) -> None:
        s = self.site.steam
        if not s.deaerator:
            if s.deaerator_steam_header:
                self.b.error("steam.deaerator_steam_header", s.deaerator_steam_header, "a site without a deaerator (deaerator = false) has no deaerator steam; leave it out")
            return
        if s.feedwater_enthalpy_kj_kg is not None:
            self.b.error("steam.feedwater_enthalpy_kj_kg", s.feedwater_enthalpy_kj_kg,
                         "with a deaerator the feedwater leaves it at feedwater_temp_c; state an enthalpy only for a site without one "
                         "(deaerator = false) or per boiler / HRSG")
        if s.deaerator_steam_header:
            self._ref("steam.deaerator_steam_header", s.deaerator_steam_header, "headers")
        if s.condensate_return_temp_c > s.feedwater_temp_c:
            self.b.error("steam.condensate_return_temp_c", s.condensate_return_temp_c,
                         f"must not exceed feedwater_temp_c = {s.feedwater_temp_c:g} C (the deaerator heats returned condensate, it cannot cool it)")
        p_da = s.deaerator_pressure_barg + s.atmospheric_pressure_bar
        if p_da > 0:
            t_sat = steam.saturation_temp_c(p_da)
            if s.feedwater_temp_c > t_sat:  # no margin: above it, water at the deaerator's pressure is steam
                self.b.error("steam.feedwater_temp_c", s.feedwater_temp_c, f"must not exceed the deaerator's saturation temperature {t_sat:.2f} C at {s.deaerator_pressure_barg:g} bar(g)")
        else:
            self.b.error("steam.deaerator_pressure_barg", s.deaerator_pressure_barg, "absolute pressure must be > 0")

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

    def _check_water_states(self) -> None:
        """Desuperheating water: exactly one of temperature, enthalpy, entropy with its pressure."""
        where = [(f"headers.{h.id}.spray_water", h.spray_water) for h in self.site.headers.values()]
        where += [(f"letdowns.{ld.id}.desuperheat_water", ld.desuperheat_water) for ld in self.site.letdowns.values()]
        for path, w in where:
            if w is None:
                continue
            given = [n for n in ("temp_c", "enthalpy_kj_kg", "entropy_kj_kgk") if getattr(w, n) is not None]
            if len(given) != 1:
                self.b.error(path, {n: getattr(w, n) for n in ("temp_c", "enthalpy_kj_kg", "entropy_kj_kgk")},
                             "give pressure_barg and exactly one of temp_c, enthalpy_kj_kg, entropy_kj_kgk")
            elif w.pressure_barg + self.site.steam.atmospheric_pressure_bar <= 0.0:
                self.b.error(f"{path}.pressure_barg", w.pressure_barg, "absolute pressure must be > 0")

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

    def _check_letdowns(self) -> None:
        for ld in self.site.letdowns.values():
            path = f"letdowns.{ld.id}"
            ok = self._ref(f"{path}.inlet", ld.inlet, "headers") & self._ref(f"{path}.outlet", ld.outlet, "headers")
            if ok:
                p_in, p_out = self._pressure(ld.inlet), self._pressure(ld.outlet)
                if not p_out < p_in:
                    self.b.error(f"{path}.outlet", ld.outlet, f"outlet pressure {p_out:.3f} bar(a) must be below inlet {ld.inlet}'s {p_in:.3f} bar(a)")

    def _check_vents_sources_consumers(self) -> None:
        for v in self.site.vents.values():
            self._ref(f"vents.{v.id}.header", v.header, "headers")
        for s in self.site.byproduct_sources.values():
            path = f"byproduct_sources.{s.id}"
            self._ref(f"{path}.header", s.header, "headers")
            self._limits(path, s.min_steam_tph, s.max_steam_tph, "min_steam_tph", "max_steam_tph")
            if not s.min_steam_tph <= s.nominal_steam_tph <= s.max_steam_tph:
                self.b.error(f"{path}.nominal_steam_tph", s.nominal_steam_tph, f"must lie in [min_steam_tph, max_steam_tph] = [{s.min_steam_tph:g}, {s.max_steam_tph:g}]")
        for c in self.site.consumers.values():
            path = f"consumers.{c.id}"
            self._ref(f"{path}.header", c.header, "headers")
            if c.flexible:
                if c.min_tph is None or c.max_tph is None:
                    self.b.error(path, {"min_tph": c.min_tph, "max_tph": c.max_tph}, "a flexible consumer needs min_tph and max_tph")
                else:
                    self._limits(path, c.min_tph, c.max_tph, "min_tph", "max_tph")
                    if not c.min_tph <= c.demand_tph <= c.max_tph:
                        self.b.error(f"{path}.demand_tph", c.demand_tph, f"must lie in [min_tph, max_tph] = [{c.min_tph:g}, {c.max_tph:g}]")
            elif c.min_tph is not None or c.max_tph is not None:
                self.b.error(f"{path}.flexible", c.flexible, "min_tph/max_tph are given, so flexible must be true")
            if c.column is not None:
                self._column_rules(path, c)

    def _column_rules(self, path: str, c) -> None:
        """A steered column: a flexible consumer (its reboiler's steam limits), no off-spec draw
        (its purity spec replaces it), its ranges in order and today's point inside them."""
        col, cp = c.column, f"{path}.column"
        if not c.flexible:
            self.b.error(f"{path}.flexible", c.flexible, "a steered column must be flexible (min_tph/max_tph: its reboiler's steam limits)")
        if c.offspec_below_tph is not None:
            self.b.error(f"{path}.offspec_below_tph", c.offspec_below_tph, "a steered column has a purity spec instead; leave it out")
        self._limits(cp, col.feed_min_tph, col.feed_max_tph, "feed_min_tph", "feed_max_tph")
        self._limits(cp, col.reflux_ratio_min, col.reflux_ratio_max, "reflux_ratio_min", "reflux_ratio_max")
        if col.feed_min_tph <= col.feed_max_tph and not col.feed_min_tph <= col.feed_nominal_tph <= col.feed_max_tph:
            self.b.error(f"{cp}.feed_nominal_tph", col.feed_nominal_tph,
                         f"must lie in [feed_min_tph, feed_max_tph] = [{col.feed_min_tph:g}, {col.feed_max_tph:g}]")
        if col.reflux_ratio_min <= col.reflux_ratio_max and not col.reflux_ratio_min <= col.reflux_ratio_today <= col.reflux_ratio_max:
            self.b.error(f"{cp}.reflux_ratio_today", col.reflux_ratio_today,
                         f"must lie in [reflux_ratio_min, reflux_ratio_max] = [{col.reflux_ratio_min:g}, {col.reflux_ratio_max:g}]")
        if col.purity_spec + col.purity_margin >= 1.0:
            self.b.error(f"{cp}.purity_margin", col.purity_margin, f"purity_spec + purity_margin must be below 1 (purity_spec = {col.purity_spec:g})")
        if col.distillate_to_feed >= col.feed_light_fraction / col.purity_spec:
            self.b.error(f"{cp}.distillate_to_feed", col.distillate_to_feed,
                         f"must be below feed_light_fraction / purity_spec = {col.feed_light_fraction / col.purity_spec:.4g} "
                         "(the distillate cannot hold more of the light key than the feed brings)")

    def _check_header_sources(self) -> None:
        site = self.site
        fed: set[str] = set()
        fed.update(b.header for b in site.boilers.values())
        fed.update(g.hrsg.header for g in site.gas_turbines.values() if g.hrsg)
        fed.update(s.header for s in site.byproduct_sources.values())
        fed.update(ld.outlet for ld in site.letdowns.values())
        fed.update(s.outlet for t in site.turbines.values() for s in t.sections)
        for h in site.headers:
            if h not in fed:
                self.b.error(f"headers.{h}", h, "has no possible source: no boiler, HRSG, by-product source, letdown or turbine section feeds it")

    def _check_electricity(self) -> None:
        e = self.site.electricity
        if e is None:
            if self.site.gas_turbines or any(t.drive == "generator" or t.motor for t in self.site.turbines.values()):
                self.b.error("electricity", None, "required: the site generates or uses power (gas turbines, generators or motors)")
            return
        self._limits("electricity", e.contract_min_import_mw, e.max_import_mw, "contract_min_import_mw", "max_import_mw")
        for i, p in enumerate(e.tariff):
            if p.end_hour <= p.start_hour:
                self.b.error(f"electricity.tariff[{i}].end_hour", p.end_hour, f"must be after start_hour = {p.start_hour}")

    def _check_practice(self) -> None:
        pr, site = self.site.practice, self.site
        for gt in pr.duct_firing_tph:
            if self._ref(f"practice.duct_firing_tph.{gt}", gt, "gas_turbines"):
                hrsg = site.gas_turbines[gt].hrsg
                cap = hrsg.duct_max_steam_tph if hrsg else 0.0
                if pr.duct_firing_tph[gt] > cap:
                    self.b.error(f"practice.duct_firing_tph.{gt}", pr.duct_firing_tph[gt], f"must not exceed the duct burner's {cap:g} t/h")
        for tid, p in pr.turbine_power_mw.items():
            if self._ref(f"practice.turbine_power_mw.{tid}", tid, "turbines"):
                t = site.turbines[tid]
                if t.drive != "generator":
                    self.b.error(f"practice.turbine_power_mw.{tid}", p, "only generator turbines take a power setpoint (machine power is set by the process)")
                elif t.max_power_mw is not None and not t.min_power_mw <= p <= t.max_power_mw:
                    self.b.error(f"practice.turbine_power_mw.{tid}", p, f"must lie in [{t.min_power_mw:g}, {t.max_power_mw:g}] MW")
        for tid, flows in pr.extraction_tph.items():
            if self._ref(f"practice.extraction_tph.{tid}", tid, "turbines"):
                n = len(site.turbines[tid].sections) - 1
                if len(flows) != n:
                    self.b.error(f"practice.extraction_tph.{tid}", flows, f"needs {n} value(s), one per extraction of a {n + 1}-section turbine")
        for i, tid in enumerate(pr.drivers_on_motor):
            if self._ref(f"practice.drivers_on_motor[{i}]", tid, "turbines") and site.turbines[tid].motor is None:
                self.b.error(f"practice.drivers_on_motor[{i}]", tid, "this drive has no motor alternative")

    def _check_timezone(self) -> None:
        zone = self.site.timezone
        if zone:
            try:
                ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.b.error("timezone", zone, "must be an IANA time zone name (e.g. Asia/Bangkok)")

    def _check_surrogates(self) -> None:
        site = self.site
        units = {**site.boilers, **site.gas_turbines, **site.turbines}
        for i, uid in enumerate(site.surrogates.exclude):
            if uid not in units:
                self.b.error(f"surrogates.exclude[{i}]", uid, f"unknown unit (known: {', '.join(units)})")

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

    def _check_fuel_system(self) -> None:
        from optimizer.site.fuel_rules import check_fuel_system  # the fuel system's rules, in their own module

        check_fuel_system(self)

    def _check_n1_cover(self) -> None:
        from optimizer.n1_cover import cover_plan, default_sources, source_header  # the cover builds on the site model

        site, cov = self.site, self.site.n1_cover
        bad = False
        for i, sid in enumerate(cov.sources):
            path = f"n1_cover.sources[{i}]"
            if not self._ref(path, sid, "boilers|gas_turbines|byproduct_sources"):
                bad = True
            elif source_header(site, sid) is None:
                self.b.error(path, sid, "a gas turbine without an HRSG raises no steam: it is not a steam source to cover")
                bad = True
            if sid in cov.sources[:i]:
                self.b.error(path, sid, "must not repeat a source")
                bad = True
        for oid, opt in cov.options.items():
            if not self._ref(f"n1_cover.options.{oid}.header", opt.header, "headers"):
                bad = True
        if not cov.enabled or bad or self.b.issues:
            return
        if not cov.sources and not default_sources(site):
            self.b.error("n1_cover.sources", [], "names no source and the site has no boiler or gas turbine with an HRSG: nothing to cover")
            return
        # a by-product source always raises at least its minimum: a cover that can never reach that is a data error
        plan = cover_plan(site)
        for i, sid in enumerate(cov.sources):
            if plan.sources[sid] != "byproduct":
                continue
            best = sum(min(plan.reserve_max_tph[j], site.boilers[j].max_steam_tph - site.boilers[j].min_steam_tph)
                       for j in plan.reserves[sid]) + plan.options_tph[sid]
            need = site.byproduct_sources[sid].min_steam_tph
            if need > best:
                self.b.error(f"n1_cover.sources[{i}]", sid,
                             f"its loss (at least min_steam_tph = {need:g} t/h) exceeds the most the cover can reach within "
                             f"cover_time_min = {cov.cover_time_min:g} min: {best:.4g} t/h (every boiler that can reach its header "
                             f"running at its minimum, plus the options)")

    def _tags_measurements(self) -> None:
        from optimizer.snapshot import tag_rules  # the snapshot module builds on the site model

        known = tag_rules(self.site)
        for tag in self.site.measurements.sigma_rel:
            if tag not in known or not tag.endswith("_tph"):
                self.b.error(f"measurements.sigma_rel.{tag}", tag, "must be a flow tag (…_tph) of this site's snapshots")

    def _tags_plant_connection(self) -> None:
        from optimizer.snapshot import setpoint_names, tag_rules

        pc = self.site.plant_connection
        known, setpoints = tag_rules(self.site), set(setpoint_names(self.site))
        for tag, node in pc.read_nodes.items():
            if tag not in known:
                self.b.error(f"plant_connection.read_nodes.{tag}", tag, "not a snapshot tag of this site (see `steamopt site attributes`)")
            self._node(f"plant_connection.read_nodes.{tag}", node)
        for key, node in pc.advisory_nodes.items():
            self._node(f"plant_connection.advisory_nodes.{key}", node)
        for tag, node in pc.control_nodes.items():
            if tag not in setpoints:
                self.b.error(f"plant_connection.control_nodes.{tag}", tag, f"not a setpoint of this site (one of: {', '.join(sorted(setpoints))})")
            self._node(f"plant_connection.control_nodes.{tag}", node)
        for path, node in (("plant_connection.timestamp_node", pc.timestamp_node), ("plant_connection.watchdog_node", pc.watchdog_node)):
            if node:
                self._node(path, node)
        written = list(pc.advisory_nodes.values()) + list(pc.control_nodes.values()) + [pc.watchdog_node] * bool(pc.watchdog_node)
        read = set(pc.read_nodes.values())
        for node in sorted({n for n in written if written.count(n) > 1 or n in read}):
            self.b.error("plant_connection", node, "a node is written by one item only and never both read and written")

    def _node(self, path: str, node: str) -> None:
        if not _NODE_ID.fullmatch(node):
            self.b.error(path, node, "must be an OPC UA node id: [ns=<index>;|nsu=<uri>;](i=<number>|s=<name>|g=<guid>|b=<base64>)")

