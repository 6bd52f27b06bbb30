"""The plant's "true" performance curves, with the curvature the surrogates have to learn.

Each class wraps one unit's site data and answers in physical units. They are smooth
(shape-preserving cubic interpolation of the site's points), so a learned model sees real
curvature rather than kinks. Boilers and gas turbines are the site file's physics, the ONE
definition the optimiser's first-principles curves use too (:mod:`optimizer.unit_physics`),
plus what only the true plant has (lost efficiency, a true fouling rate).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from optimizer.site.model import SteamTurbine, TurbineSection
from optimizer.site.properties import SectionProperties
from optimizer.unit_physics import GJ_PER_MWH, BoilerPhysics, GasTurbinePhysics  # noqa: F401 - GJ_PER_MWH re-exported


@dataclass
class BoilerCurve(BoilerPhysics):
    """The true boiler: the site file's physics (:class:`optimizer.unit_physics.BoilerPhysics`,
    the same the optimiser's first-principles curves use) less an efficiency loss the site file
    does not know (:mod:`scenarios.plant.reality_gap`)."""

    def efficiency(self, steam_tph: float, ambient_c: float, efficiency_loss: float = 0.0) -> float:
        """Efficiency (LHV, fraction) at ``steam_tph`` t/h and ``ambient_c`` C, less
        ``efficiency_loss`` (absolute fraction: 0.01 = one point; degradation the site file does not
        know, :mod:`scenarios.plant.reality_gap`)."""
        return super().efficiency(steam_tph, ambient_c) - efficiency_loss

    def fuel_gj_h(self, steam_tph: float, ambient_c: float, efficiency_loss: float = 0.0) -> float:
        """Fuel, GJ/h (LHV), at ``steam_tph`` t/h, ``ambient_c`` C and an efficiency loss (see :meth:`efficiency`)."""
        if steam_tph <= 0.0:
            return 0.0
        eta = self.efficiency(steam_tph, ambient_c, efficiency_loss)
        if not eta > 0.0:
            raise ValueError(f"boiler {self.boiler.id}: efficiency {eta!r} at {steam_tph:g} t/h, {ambient_c:g} C with "
                             f"efficiency_loss = {efficiency_loss!r}: must stay > 0")
        return self.heat_to_steam_gj_h(steam_tph) / eta


@dataclass
class GasTurbineCurve(GasTurbinePhysics):
    """The true gas turbine and HRSG: the site file's physics
    (:class:`optimizer.unit_physics.GasTurbinePhysics`, the same the optimiser's first-principles
    curves use) with a true fouling rate that may differ from the stated one.

    ``fouling_rate_factor`` ``k`` (every method, default 1): the true fouling rates are ``k f_P`` and
    ``k f_HR``, i.e. the curves at ``k t_f`` (the reality gap, :mod:`scenarios.plant.reality_gap`).
    """

    def base_power_mw(self, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        """Maximum power, MW, at ``ambient_c`` C after ``fouling_h`` running hours since the last wash."""
        return super().base_power_mw(ambient_c, fouling_h * fouling_rate_factor)

    def heat_rate_kj_kwh(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        return super().heat_rate_kj_kwh(power_mw, ambient_c, fouling_h * fouling_rate_factor)

    def fuel_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        return super().fuel_gj_h(power_mw, ambient_c, fouling_h * fouling_rate_factor)

    def exhaust_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        return super().exhaust_gj_h(power_mw, ambient_c, fouling_h * fouling_rate_factor)

    def recovery(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        return super().recovery(power_mw, ambient_c, fouling_h * fouling_rate_factor)

    def unfired_steam_tph(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        return super().unfired_steam_tph(power_mw, ambient_c, fouling_h * fouling_rate_factor)

    def duct_steam_tph(self, power_mw: float, duct_fuel_gj_h: float, ambient_c: float, fouling_h: float,
                       fouling_rate_factor: float = 1.0) -> float:
        return super().duct_steam_tph(power_mw, duct_fuel_gj_h, ambient_c, fouling_h * fouling_rate_factor)

    def duct_fuel_for_steam_gj_h(self, duct_steam_tph: float, power_mw: float, ambient_c: float, fouling_h: float,
                                 fouling_rate_factor: float = 1.0) -> float:
        return super().duct_fuel_for_steam_gj_h(duct_steam_tph, power_mw, ambient_c, fouling_h * fouling_rate_factor)

    def duct_fuel_cap_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        return super().duct_fuel_cap_gj_h(power_mw, ambient_c, fouling_h * fouling_rate_factor)


@dataclass
class TurbineCurve:
    """A multi-section steam turbine: section flows from output power and extractions.

    Section ``k`` carries ``m_k = m_1 - sum_{j<k} x_j`` (``x_j`` the extraction after section ``j``)
    and makes shaft power ``P_k(m_k)`` by its true curve (:meth:`section_power_mw`); the output is
    ``eta_mech * sum_k P_k``. Given the output and the extractions, ``m_1`` is the root of a
    monotonic function (Brent's method).
    """

    turbine: SteamTurbine
    sections: list[SectionProperties]

    def section_power_mw(self, k: int, flow_tph: float) -> float:
        """True shaft power of section ``k`` at ``flow_tph`` (Willans line bent at part load)."""
        sec: TurbineSection = self.turbine.sections[k]
        sp = self.sections[k]
        linear = sp.slope_mw_per_tph * flow_tph - sp.intercept_mw
        if sec.model != "willans" or sec.part_load_curvature == 0.0:
            return linear
        u = 1.0 - flow_tph / sp.rated_flow_tph
        return linear * (1.0 - sec.part_load_curvature * u * u)

    def output_mw(self, inlet_tph: float, extractions: list[float]) -> float:
        return self.turbine.mechanical_efficiency * sum(self.section_power_mw(k, m) for k, m in enumerate(self.flows(inlet_tph, extractions)))

    @staticmethod
    def flows(inlet_tph: float, extractions: list[float]) -> list[float]:
        out, m = [inlet_tph], inlet_tph
        for x in extractions:
            m -= x
            out.append(m)
        return out

    def solve(self, power_mw: float, extractions: list[float]) -> tuple[list[float], list[float], float, list[str]]:
        """Section flows for a target output power.

        Returns ``(flows, extractions, delivered_mw, notes)``. When the target needs a section
        outside its flow limits, the last extraction gives way first (an extraction turbine's
        controller holds the exhaust section inside its limits); if that is not enough the
        delivered power differs from the target and a note says so.
        """
        secs = self.turbine.sections
        notes: list[str] = []
        x = [max(0.0, v) for v in extractions]
        lo, hi = self._inlet_bounds(x)
        if lo > hi and x:
            notes.append("extractions exceed what the section limits allow; extraction reduced")
            x = self._fit_extractions(x)
            lo, hi = self._inlet_bounds(x)
        f = lambda m: self.output_mw(m, x) - power_mw  # noqa: E731
        if f(lo) > 0.0 and x:
            # even the exhaust section's minimum flow gives too much power: lower the last extraction
            tail_min = secs[-1].min_flow_tph
            def g(xl: float) -> float:
                return self.output_mw(tail_min + sum(x[:-1]) + xl, x[:-1] + [xl]) - power_mw
            if g(0.0) <= 0.0:
                xl = brentq(g, 0.0, x[-1], xtol=1e-12)
                notes.append(f"extraction {len(x) - 1} reduced to {xl:.2f} t/h to keep the exhaust section at its minimum flow")
                x = x[:-1] + [xl]
                m1 = tail_min + sum(x)
                return self.flows(m1, x), x, self.output_mw(m1, x), notes
            lo_m = lo
            notes.append("power below what the minimum flows give")
            return self.flows(lo_m, x), x, self.output_mw(lo_m, x), notes
        if f(lo) > 0.0:
            notes.append("power below what the minimum flow gives")
            return self.flows(lo, x), x, self.output_mw(lo, x), notes
        if f(hi) < 0.0:
            notes.append("power above what the maximum flows give")
            return self.flows(hi, x), x, self.output_mw(hi, x), notes
        m1 = brentq(f, lo, hi, xtol=1e-12, rtol=1e-14)
        return self.flows(m1, x), x, self.output_mw(m1, x), notes

    def _inlet_bounds(self, x: list[float]) -> tuple[float, float]:
        lo, hi, upstream = 0.0, np.inf, 0.0
        for k, sec in enumerate(self.turbine.sections):
            lo = max(lo, sec.min_flow_tph + upstream)
            hi = min(hi, sec.max_flow_tph + upstream)
            if k < len(x):
                upstream += x[k]
        return lo, hi

    def _fit_extractions(self, x: list[float]) -> list[float]:
        """Scale extractions down until the section limits admit an inlet flow."""
        for scale in np.linspace(1.0, 0.0, 101):
            trial = [v * scale for v in x]
            lo, hi = self._inlet_bounds(trial)
            if lo <= hi:
                return trial
        return [0.0] * len(x)
