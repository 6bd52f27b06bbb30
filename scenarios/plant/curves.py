"""The plant's "true" performance curves, with the curvature the surrogates have to learn.

Each class wraps one unit's site data and answers in physical units. They are smooth
(shape-preserving cubic interpolation of the site's points), so a learned model sees real
curvature rather than kinks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.optimize import brentq

from optimizer.site.model import Boiler, GasTurbine, RelativeCurve, SteamTurbine, TurbineSection
from optimizer.site.properties import SectionProperties

GJ_PER_MWH = 3.6


def _pchip(xs: list[float], ys: list[float]) -> PchipInterpolator:
    return PchipInterpolator(np.asarray(xs, float), np.asarray(ys, float), extrapolate=False)


def _eval_clamped(f: PchipInterpolator, x: float) -> float:
    """Evaluate with flat extrapolation outside the data points."""
    lo, hi = f.x[0], f.x[-1]
    return float(f(min(max(x, lo), hi)))


def _relative(curve: RelativeCurve | None):
    if curve is None:
        return lambda x: 1.0
    f = _pchip(curve.load_fraction, curve.relative)
    return lambda x: _eval_clamped(f, x)


@dataclass
class BoilerCurve:
    """Boiler efficiency (LHV) and fuel.

    .. math:: \\eta(x, T) = \\eta_{curve}(x) + k_{amb} (T - T_{ref}),\\qquad
              Q_{fuel}\\,[GJ/h] = \\frac{m\\,[t/h]\\,(h_{steam} - h_{fw})\\,[kJ/kg]}{1000\\,\\eta}

    with ``x = m / m_max``.
    """

    boiler: Boiler
    steam_kj_kg: float
    feedwater_kj_kg: float

    def __post_init__(self) -> None:
        c = self.boiler.efficiency_curve
        self._curve = _pchip(c.load_fraction, c.efficiency) if c is not None else None

    def efficiency(self, steam_tph: float, ambient_c: float, efficiency_loss: float = 0.0) -> float:
        """Efficiency (LHV, fraction) at ``steam_tph`` t/h and ``ambient_c`` C, less
        ``efficiency_loss`` (absolute fraction: 0.01 = one point; degradation the site file does not
        know, :mod:`scenarios.plant.reality_gap`)."""
        b = self.boiler
        x = steam_tph / b.max_steam_tph
        base = b.efficiency if self._curve is None else _eval_clamped(self._curve, x)
        return base + b.ambient_efficiency_per_c * (ambient_c - b.reference_ambient_c) - efficiency_loss

    def heat_to_steam_gj_h(self, steam_tph: float) -> float:
        return steam_tph * (self.steam_kj_kg - self.feedwater_kj_kg) / 1000.0

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
class GasTurbineCurve:
    """Gas turbine capacity, heat rate and exhaust, and its HRSG.

    Base (maximum) power and base heat rate at ambient ``T`` and fouling hours ``t_f``:

    .. math:: P_{base} = P_{ISO} (1 + a_P (T - 15)) (1 - f_P t_f / 1000)
    .. math:: HR_{base} = HR_{ISO} (1 + a_{HR} (T - 15)) (1 + f_{HR} t_f / 1000)

    At load fraction ``x = P / P_base`` the heat rate is ``HR_base / eta_rel(x)`` (Buttler et al.
    2015 part-load curve). Fuel ``Q = P HR / 1000`` GJ/h; exhaust heat ``Q (1 - loss) - 3.6 P``.
    The HRSG recovers ``r(x, T) = r_0 eta_rec(x) (1 + a_r (T - 15))`` of the exhaust heat, ``r_0``
    calibrated so that it raises ``unfired_steam_at_base_tph`` at ISO base load; duct firing adds
    steam at its incremental efficiency.

    ``fouling_rate_factor`` ``k`` (every method, default 1): the true fouling rates are ``k f_P`` and
    ``k f_HR``, i.e. the curves at ``k t_f`` (the reality gap, :mod:`scenarios.plant.reality_gap`).
    """

    gt: GasTurbine
    hrsg_steam_kj_kg: float
    hrsg_feedwater_kj_kg: float

    def __post_init__(self) -> None:
        self._rel_eff = _relative(self.gt.part_load_efficiency)
        hrsg = self.gt.hrsg
        self._rel_rec = _relative(hrsg.part_load_recovery if hrsg else None)
        if hrsg is not None:
            iso_exhaust = self._exhaust_gj_h(self.gt.iso_power_mw, self.gt.iso_power_mw * self.gt.iso_heat_rate_kj_kwh / 1000.0)
            self._r0 = hrsg.unfired_steam_at_base_tph * self._dh / 1000.0 / iso_exhaust
        else:
            self._r0 = 0.0

    @property
    def _dh(self) -> float:
        return self.hrsg_steam_kj_kg - self.hrsg_feedwater_kj_kg

    def fouling(self) -> tuple[float, float]:
        return self.gt.fouling_rates()

    def base_power_mw(self, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        """Maximum power, MW, at ``ambient_c`` C after ``fouling_h`` running hours since the last wash."""
        return self.gt.base_power_mw(ambient_c, fouling_h * fouling_rate_factor)

    def heat_rate_kj_kwh(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        g = self.gt
        _, fh = self.fouling()
        tf = fouling_h * fouling_rate_factor
        base_hr = g.iso_heat_rate_kj_kwh * (1.0 + g.heat_rate_ambient_coef_per_c * (ambient_c - g.iso_ambient_c)) * (1.0 + fh * tf / 1000.0)
        x = power_mw / self.base_power_mw(ambient_c, tf)
        return base_hr / self._rel_eff(x)

    def fuel_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        if power_mw <= 0.0:
            return 0.0
        return power_mw * self.heat_rate_kj_kwh(power_mw, ambient_c, fouling_h, fouling_rate_factor) / 1000.0

    def _exhaust_gj_h(self, power_mw: float, fuel_gj_h: float) -> float:
        return fuel_gj_h * (1.0 - self.gt.exhaust_loss_fraction) - GJ_PER_MWH * power_mw

    def exhaust_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        if power_mw <= 0:
            return 0.0
        return self._exhaust_gj_h(power_mw, self.fuel_gj_h(power_mw, ambient_c, fouling_h, fouling_rate_factor))

    def recovery(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        hrsg = self.gt.hrsg
        if hrsg is None or power_mw <= 0.0:
            return 0.0
        x = power_mw / self.base_power_mw(ambient_c, fouling_h, fouling_rate_factor)
        return self._r0 * self._rel_rec(x) * (1.0 + hrsg.ambient_recovery_per_c * (ambient_c - self.gt.iso_ambient_c))

    def unfired_steam_tph(self, power_mw: float, ambient_c: float, fouling_h: float, fouling_rate_factor: float = 1.0) -> float:
        k = fouling_rate_factor
        heat = self.recovery(power_mw, ambient_c, fouling_h, k) * self.exhaust_gj_h(power_mw, ambient_c, fouling_h, k)
        return heat * 1000.0 / self._dh if self.gt.hrsg else 0.0

    def duct_fuel_gj_h(self, duct_steam_tph: float) -> float:
        if duct_steam_tph <= 0.0 or self.gt.hrsg is None:
            return 0.0
        return duct_steam_tph * self._dh / 1000.0 / self.gt.hrsg.duct_efficiency


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
