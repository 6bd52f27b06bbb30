"""First-principles unit performance from the site file: ONE definition for the optimiser and the simulator.

The optimiser's first-principles curves (:mod:`optimizer.fp_curves`) and the plant simulator
(:mod:`scenarios.plant.curves`, which adds what the site file does not know: efficiency lost to
degradation, a true fouling rate differing from the stated one) both evaluate these classes.

* :class:`BoilerPhysics` - fuel from the stated efficiency (constant, or a part-load curve
  interpolated by a shape-preserving cubic, PCHIP, flat beyond its points) with the ambient
  correction:

  .. math:: \\eta(x, T) = \\eta_{curve}(x) + k_{amb} (T - T_{ref}),\\qquad
            Q_{fuel}\\,[GJ/h] = \\frac{m\\,[t/h]\\,(h_{steam} - h_{fw})\\,[kJ/kg]}{1000\\,\\eta}

  with ``x = m / m_max``. With a constant efficiency the fuel is linear in the steam for a fixed
  ambient (:meth:`BoilerPhysics.linear_in_steam`).
* :class:`GasTurbinePhysics` - fuel, exhaust heat and unfired HRSG steam from the rating: either
  the ISO rating with its ambient coefficients and part-load efficiency curve, or the data
  sheet's rating table (:class:`optimizer.site.model.RatingTable`); compressor fouling on top.
* Duct firing (:meth:`GasTurbinePhysics.duct_steam_tph`): additive at the HRSG's
  ``duct_efficiency`` (``S = F eta_0 1000 / dh``), or, when the site gives the GT's exhaust flow,
  oxygen-limited. The duct burner burns its fuel in the GT exhaust's spare oxygen; with ``m_ex(P)``
  the exhaust mass flow (base flow times the part-load curve of the inlet guide vanes), ``Q_GT(P)``
  the GT's fuel, the fuel that the exhaust's oxygen can still burn down to the burner's minimum
  oxygen ``y_min`` (mole fraction) is

  .. math:: F_u(P) = \\frac{w_{O_2} m_{ex}(P) - o\\,Q_{GT}(P) - y_{min} \\frac{M_{O_2}}{M_{ex}} m_{ex}(P)}{o}

  (``w_O2`` = 0.2314, oxygen's mass fraction in air; ``o`` = 0.0798 t O2 per GJ of natural gas,
  methane's 3.99 kg/kg over its LHV 50.0 MJ/kg; ``M_ex`` = 28.4 g/mol for the exhaust; the GT's fuel
  mass in the exhaust is neglected, about 1.5 %). The incremental (marginal) efficiency falls
  linearly with the share of that spare oxygen used, ``eta_m = eta_0 (1 - beta F / F_u(P))``
  (``beta``: the site's ``duct_o2_falloff``), so

  .. math:: S(P, F) = \\frac{1000}{dh}\\,\\eta_0 \\left(F - \\frac{\\beta F^2}{2 F_u(P)}\\right),\\qquad F \\le F_u(P)

  concave in ``F``; at a higher GT load the exhaust holds less spare oxygen per tonne (more GT
  fuel burnt in it) and, with the guide vanes open, more flow: the two act against each other, so
  the fired steam is a joint, not an additive, function of load and firing. Light firing stays
  near 100 % LHV (Ganapathy: the fired HRSG's fuel efficiency is close to 100 %, its stack
  temperature even falling); the falloff near the oxygen limit (incomplete burnout, a hotter gas
  path the fixed surfaces recover less of) is the site's assumed ``beta``: no public per-unit figure.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator

from optimizer.site.model import Boiler, GasTurbine, RelativeCurve, interp_flat

GJ_PER_MWH = 3.6
#: Oxygen's mass fraction in dry air, -.
O2_AIR_MASS_FRACTION = 0.2314
#: Oxygen burnt per GJ (LHV) of natural gas, t/GJ: methane's 3.99 kg O2 per kg over its LHV 50.0 MJ/kg.
O2_T_PER_GJ = 0.0798
#: Mole-to-mass factor of oxygen in a GT exhaust, M_O2 / M_exhaust = 32.0 / 28.4.
O2_MOLE_TO_MASS = 32.0 / 28.4


def pchip(xs: list[float], ys: list[float]) -> PchipInterpolator:
    """A shape-preserving cubic through the points (no extrapolation: see :func:`eval_clamped`)."""
    return PchipInterpolator(np.asarray(xs, float), np.asarray(ys, float), extrapolate=False)


def eval_clamped(f: PchipInterpolator, x: float) -> float:
    """Evaluate with flat extrapolation outside the data points."""
    lo, hi = f.x[0], f.x[-1]
    return float(f(min(max(x, lo), hi)))


def relative_curve(curve: RelativeCurve | None) -> Callable[[float], float]:
    """A relative curve as a function of load fraction (1.0 everywhere when not given)."""
    if curve is None:
        return lambda x: 1.0
    f = pchip(curve.load_fraction, curve.relative)
    return lambda x: eval_clamped(f, x)


@dataclass
class BoilerPhysics:
    """Boiler efficiency (LHV) and fuel from the site file (see the module docstring).

    ``steam_kj_kg``: the enthalpy of the steam raised (its header's), ``feedwater_kj_kg`` the
    boiler's feedwater (:class:`optimizer.site.properties.SiteProperties`)."""

    boiler: Boiler
    steam_kj_kg: float
    feedwater_kj_kg: float

    def __post_init__(self) -> None:
        c = self.boiler.efficiency_curve
        self._curve = pchip(c.load_fraction, c.efficiency) if c is not None else None

    @property
    def linear_in_steam(self) -> bool:
        """True when the fuel is linear in the steam at a fixed ambient (a constant efficiency)."""
        return self._curve is None

    def efficiency(self, steam_tph: float, ambient_c: float) -> float:
        """Efficiency (LHV, fraction) at ``steam_tph`` t/h and ``ambient_c`` C."""
        b = self.boiler
        x = steam_tph / b.max_steam_tph
        base = b.efficiency if self._curve is None else eval_clamped(self._curve, x)
        return base + b.ambient_efficiency_per_c * (ambient_c - b.reference_ambient_c)

    def heat_to_steam_gj_h(self, steam_tph: float) -> float:
        """Heat taken up by the water and steam, GJ/h."""
        return steam_tph * (self.steam_kj_kg - self.feedwater_kj_kg) / 1000.0

    def fuel_on_gj_h(self, steam_tph: float, ambient_c: float) -> float:
        """The running boiler's fuel curve, GJ/h (LHV), at ``steam_tph`` t/h and ``ambient_c`` C,
        continued below zero steam (the efficiency flat below its curve's first point: linear
        there), as a curve's breakpoints just beyond a box starting at 0 need it."""
        eta = self.efficiency(steam_tph, ambient_c)
        if not eta > 0.0:
            raise ValueError(f"boiler {self.boiler.id}: efficiency {eta!r} at {steam_tph:g} t/h, {ambient_c:g} C: must stay > 0")
        return self.heat_to_steam_gj_h(steam_tph) / eta

    def fuel_gj_h(self, steam_tph: float, ambient_c: float) -> float:
        """Fuel, GJ/h (LHV), at ``steam_tph`` t/h and ``ambient_c`` C (0 at no steam)."""
        if steam_tph <= 0.0:
            return 0.0
        return self.fuel_on_gj_h(steam_tph, ambient_c)


@dataclass
class GasTurbinePhysics:
    """Gas turbine capacity, heat rate and exhaust, and its HRSG, at ambient ``T`` and
    ``t_f`` running hours since the last compressor wash.

    Base (maximum) power: :meth:`optimizer.site.model.GasTurbine.base_power_mw` (the rating
    table's, else ``P_ISO (1 + a_P (T - 15)) (1 - f_P t_f / 1000)``). Heat rate at load fraction
    ``x = P / P_base``: with a rating table ``HR_table(T, x) (1 + f_HR t_f / 1000)``, bilinear in
    the table (flat beyond its ends); else ``HR_ISO (1 + a_HR (T - 15)) (1 + f_HR t_f / 1000) /
    eta_rel(x)`` (Buttler et al. 2015 part-load curve). Fuel ``Q = P HR / 1000`` GJ/h; exhaust
    heat ``Q (1 - loss) - 3.6 P``. The HRSG recovers ``r(x, T) = r_0 eta_rec(x) (1 + a_r (T - 15))``
    of the exhaust heat, ``r_0`` calibrated so that it raises ``unfired_steam_at_base_tph`` at the
    ISO rating's base load; duct firing adds steam at its incremental efficiency."""

    gt: GasTurbine
    hrsg_steam_kj_kg: float
    hrsg_feedwater_kj_kg: float

    def __post_init__(self) -> None:
        self._rel_eff = relative_curve(self.gt.part_load_efficiency)
        hrsg = self.gt.hrsg
        self._rel_rec = relative_curve(hrsg.part_load_recovery if hrsg else None)
        if hrsg is not None:
            iso_exhaust = self._exhaust_gj_h(self.gt.iso_power_mw, self.gt.iso_power_mw * self.gt.iso_heat_rate_kj_kwh / 1000.0)
            self._r0 = hrsg.unfired_steam_at_base_tph * self._dh / 1000.0 / iso_exhaust
        else:
            self._r0 = 0.0

    @property
    def _dh(self) -> float:
        return self.hrsg_steam_kj_kg - self.hrsg_feedwater_kj_kg

    def fouling(self) -> tuple[float, float]:
        """(power loss, heat-rate rise) per 1000 running hours of the fitted inlet filter."""
        return self.gt.fouling_rates()

    def base_power_mw(self, ambient_c: float, fouling_h: float) -> float:
        """Maximum power, MW, at ``ambient_c`` C after ``fouling_h`` running hours since the last wash."""
        return self.gt.base_power_mw(ambient_c, fouling_h)

    def heat_rate_kj_kwh(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """Heat rate (LHV), kJ/kWh, at ``power_mw`` MW."""
        g = self.gt
        _, fh = self.fouling()
        x = power_mw / self.base_power_mw(ambient_c, fouling_h)
        if g.rating_table is not None:
            return _bilinear(g.rating_table, ambient_c, x) * (1.0 + fh * fouling_h / 1000.0)
        base_hr = g.iso_heat_rate_kj_kwh * (1.0 + g.heat_rate_ambient_coef_per_c * (ambient_c - g.iso_ambient_c)) * (1.0 + fh * fouling_h / 1000.0)
        return base_hr / self._rel_eff(x)

    def fuel_on_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """The running GT's fuel curve, GJ/h (LHV), continued below zero power (see
        :meth:`BoilerPhysics.fuel_on_gj_h`)."""
        return power_mw * self.heat_rate_kj_kwh(power_mw, ambient_c, fouling_h) / 1000.0

    def fuel_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """Fuel, GJ/h (LHV), at ``power_mw`` MW (0 when off)."""
        if power_mw <= 0.0:
            return 0.0
        return power_mw * self.heat_rate_kj_kwh(power_mw, ambient_c, fouling_h) / 1000.0

    def _exhaust_gj_h(self, power_mw: float, fuel_gj_h: float) -> float:
        return fuel_gj_h * (1.0 - self.gt.exhaust_loss_fraction) - GJ_PER_MWH * power_mw

    def exhaust_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """Exhaust heat, GJ/h."""
        if power_mw <= 0:
            return 0.0
        return self._exhaust_gj_h(power_mw, self.fuel_gj_h(power_mw, ambient_c, fouling_h))

    def recovery(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """Share of the exhaust heat the HRSG recovers (unfired)."""
        if self.gt.hrsg is None or power_mw <= 0.0:
            return 0.0
        return self._recovery_on(power_mw, ambient_c, fouling_h)

    def _recovery_on(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        x = power_mw / self.base_power_mw(ambient_c, fouling_h)
        return self._r0 * self._rel_rec(x) * (1.0 + self.gt.hrsg.ambient_recovery_per_c * (ambient_c - self.gt.iso_ambient_c))

    def unfired_steam_tph(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """Unfired HRSG steam, t/h."""
        heat = self.recovery(power_mw, ambient_c, fouling_h) * self.exhaust_gj_h(power_mw, ambient_c, fouling_h)
        return heat * 1000.0 / self._dh if self.gt.hrsg else 0.0

    def unfired_steam_on_tph(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """The running GT's unfired HRSG steam curve, t/h, continued below zero power (see
        :meth:`BoilerPhysics.fuel_on_gj_h`); equal to :meth:`unfired_steam_tph` at any power > 0."""
        if self.gt.hrsg is None:
            return 0.0
        fuel = self.fuel_on_gj_h(power_mw, ambient_c, fouling_h)
        heat = self._recovery_on(power_mw, ambient_c, fouling_h) * self._exhaust_gj_h(power_mw, fuel)
        return heat * 1000.0 / self._dh

    def duct_fuel_gj_h(self, duct_steam_tph: float) -> float:
        """Duct-burner fuel, GJ/h, for ``duct_steam_tph`` t/h of fired steam."""
        if duct_steam_tph <= 0.0 or self.gt.hrsg is None:
            return 0.0
        return duct_steam_tph * self._dh / 1000.0 / self.gt.hrsg.duct_efficiency

    @property
    def duct_oxygen_limited(self) -> bool:
        """True when the duct firing is oxygen-limited (the site gives the exhaust flow; module docstring)."""
        return self.gt.hrsg is not None and self.gt.hrsg.exhaust_flow_at_base_tph is not None

    def exhaust_flow_tph(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """GT exhaust mass flow, t/h, at ``power_mw`` (0 when off or no flow given)."""
        h = self.gt.hrsg
        if h is None or h.exhaust_flow_at_base_tph is None or power_mw <= 0.0:
            return 0.0
        x = power_mw / self.base_power_mw(ambient_c, fouling_h)
        return h.exhaust_flow_at_base_tph * relative_curve(h.exhaust_flow_part_load)(x)

    def duct_usable_fuel_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """Fuel, GJ/h (LHV), the exhaust's spare oxygen can burn down to the burner's minimum
        oxygen (``F_u(P)`` of the module docstring); inf when not oxygen-limited, 0 when off."""
        if not self.duct_oxygen_limited:
            return float("inf")
        m_ex = self.exhaust_flow_tph(power_mw, ambient_c, fouling_h)
        if m_ex <= 0.0:
            return 0.0
        o2_in = O2_AIR_MASS_FRACTION * m_ex - O2_T_PER_GJ * self.fuel_gj_h(power_mw, ambient_c, fouling_h)
        o2_min = self.gt.hrsg.duct_min_o2_vol_frac * O2_MOLE_TO_MASS * m_ex
        return max(0.0, (o2_in - o2_min) / O2_T_PER_GJ)

    def duct_fuel_cap_gj_h(self, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """The most duct fuel, GJ/h, the burner may fire at ``power_mw``: its capacity and the exhaust's oxygen."""
        cap = self.gt.hrsg.duct_max_fuel_gj_h if self.gt.hrsg is not None and self.gt.hrsg.duct_max_fuel_gj_h is not None else float("inf")
        return min(cap, self.duct_usable_fuel_gj_h(power_mw, ambient_c, fouling_h))

    def duct_steam_tph(self, power_mw: float, duct_fuel_gj_h: float, ambient_c: float, fouling_h: float) -> float:
        """Duct-fired steam, t/h, from ``duct_fuel_gj_h`` GJ/h at ``power_mw`` (module docstring;
        the fuel is taken up to what the exhaust's oxygen can burn)."""
        h = self.gt.hrsg
        if h is None or duct_fuel_gj_h <= 0.0:
            return 0.0
        if not self.duct_oxygen_limited:
            return duct_fuel_gj_h * h.duct_efficiency * 1000.0 / self._dh
        f_u = self.duct_usable_fuel_gj_h(power_mw, ambient_c, fouling_h)
        if f_u <= 0.0:
            return 0.0
        f = min(duct_fuel_gj_h, f_u)
        return h.duct_efficiency * (f - h.duct_o2_falloff * f * f / (2.0 * f_u)) * 1000.0 / self._dh

    def duct_fuel_for_steam_gj_h(self, duct_steam_tph: float, power_mw: float, ambient_c: float, fouling_h: float) -> float:
        """The duct fuel, GJ/h, that fires ``duct_steam_tph`` t/h at ``power_mw`` (the inverse of
        :meth:`duct_steam_tph`, closed form); inf when the exhaust's oxygen cannot fire that much."""
        h = self.gt.hrsg
        if h is None or duct_steam_tph <= 0.0:
            return 0.0
        if not self.duct_oxygen_limited:
            return self.duct_fuel_gj_h(duct_steam_tph)
        f_u = self.duct_usable_fuel_gj_h(power_mw, ambient_c, fouling_h)
        heat = duct_steam_tph * self._dh / 1000.0 / h.duct_efficiency  # = F - beta F^2 / (2 F_u)
        beta = h.duct_o2_falloff
        if beta == 0.0:
            return heat if heat <= f_u else float("inf")
        disc = 1.0 - 2.0 * beta * heat / f_u if f_u > 0.0 else -1.0
        if disc < 0.0:
            return float("inf")
        f = f_u / beta * (1.0 - np.sqrt(disc))
        return float(f) if f <= f_u * (1.0 + 1e-12) else float("inf")


def _bilinear(table, ambient_c: float, load_fraction: float) -> float:
    """The table's heat rate at (ambient, load fraction): linear in each, flat beyond the ends."""
    rows = [interp_flat(load_fraction, table.load_fraction, row) for row in table.heat_rate_kj_kwh]
    return interp_flat(ambient_c, table.ambient_c, rows)
