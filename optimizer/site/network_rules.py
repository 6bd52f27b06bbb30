"""Cross-component rules of a site's steam network: headers (pressure inside the saturation
range, superheated state), the deaerator and feedwater, desuperheating water, letdowns (pressure
order), vents, by-product sources, consumers and steered columns, and that every header has a
possible source.

Part of :class:`optimizer.site.loader.SiteRules`; each ``_check_*`` adds issues, none raises.
"""

from __future__ import annotations

from optimizer import steam
from optimizer.site.rule_base import _OUT_OF_RANGE, CRITICAL_POINT_BARA, TRIPLE_POINT_BARA, RuleContext


class NetworkRules(RuleContext):
    """The steam network's rules (see the module docstring)."""

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
