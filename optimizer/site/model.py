"""The site model: plain typed objects describing a steam network.

Components declare data only (as in oemof-solph and PyPSA); formulations and the simulator
read them. Each field's metadata is its attribute-table row: unit, allowed range and
description. The TOML loader (:mod:`optimizer.site.loader`) validates a site file against
exactly these rows, so documentation and validation come from one table
(:func:`optimizer.site.schema.attribute_table` prints it).

Conventions: pressures ``*_barg`` gauge (``*_bara`` absolute, condensers only), temperatures
``*_c`` in C, steam flows ``*_tph`` in t/h, power ``*_mw`` in MW, fuel ``*_gj_h`` in GJ/h
(LHV), prices per GJ / MWh / t in the site's currency, emission factors in kg/TJ.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, dataclass, field
from typing import Any, Literal


def attr(
    unit: str = "",
    desc: str = "",
    *,
    default: Any = MISSING,
    default_factory: Any = MISSING,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    lt: float | None = None,
    ref: str | None = None,
    min_len: int | None = None,
) -> Any:
    """A site attribute: its unit, description and allowed range, as dataclass field metadata.

    ``ref`` names the collection a string (or each string of a list) must refer to, e.g.
    ``"headers"``; the loader checks it.
    """
    meta = {"unit": unit, "desc": desc, "ge": ge, "gt": gt, "le": le, "lt": lt, "ref": ref, "min_len": min_len,
            "allow_inf": default is not MISSING and isinstance(default, float) and math.isinf(default)}
    if default_factory is not MISSING:
        return field(default_factory=default_factory, metadata=meta)
    return field(default=default, metadata=meta)


# the fuel system's classes use attr (defined above): imported here, after it
from optimizer.site.fuel_system import FuelSystem  # noqa: E402


# --------------------------------------------------------------------------- curves


@dataclass(frozen=True, kw_only=True)
class EfficiencyCurve:
    """Boiler efficiency (LHV, fraction) against load fraction of maximum steam.

    Interpolated by a shape-preserving cubic (PCHIP), so the curve is smooth and has no
    overshoot between points; flat extrapolation outside the points.
    """

    load_fraction: list[float] = attr("-", "load / maximum load, strictly increasing", gt=0.0, le=1.5, min_len=2)
    efficiency: list[float] = attr("-", "efficiency (LHV) at each load fraction", gt=0.0, le=1.0, min_len=2)


@dataclass(frozen=True, kw_only=True)
class RelativeCurve:
    """A quantity relative to its value at full load (1.0 at load fraction 1), against load fraction."""

    load_fraction: list[float] = attr("-", "load / full load, strictly increasing", gt=0.0, le=1.5, min_len=2)
    relative: list[float] = attr("-", "value / value at full load", gt=0.0, le=2.0, min_len=2)


@dataclass(frozen=True, kw_only=True)
class RatingTable:
    """A gas turbine's rating from its data sheet: base power and heat rate against ambient and load.

    Base power is linear in ambient between the rows (flat beyond the ends); the heat rate is
    bilinear in (ambient, load fraction) (flat beyond the ends); compressor fouling applies on top
    (the ``fouling`` rates). Given, it replaces the ISO rating's ambient coefficients and
    ``part_load_efficiency`` for base power and fuel (the ISO rating still calibrates the HRSG).
    """

    ambient_c: list[float] = attr("C", "compressor-inlet ambient of each row, strictly increasing", ge=-40.0, le=60.0, min_len=2)
    base_power_mw: list[float] = attr("MW", "base (maximum) power at each ambient, clean compressor", gt=0.0, le=1000.0, min_len=2)
    load_fraction: list[float] = attr("-", "load / base load of each column, strictly increasing, the last 1.0", gt=0.0, le=1.0,
                                      min_len=2)
    heat_rate_kj_kwh: list[list[float]] = attr("kJ/kWh", "heat rate (LHV): one row per ambient, one value per load fraction",
                                               gt=3000.0, le=30000.0, min_len=2)


#: Where a unit's performance curve comes from (``curve_source`` of boilers, gas turbines and
#: steam turbines): ``auto`` learned where the model directory has the unit's model, else first
#: principles; ``learned`` a model is required; ``first_principles`` the site file's data (a model
#: of the unit, if any, is not used). See optimizer/fp_curves.py.
CURVE_SOURCES = ("auto", "learned", "first_principles")
_CURVE_SOURCE_DESC = ("where its performance curve comes from: auto (learned if the model directory has its model, else "
                      "first principles), learned (a model is required) or first_principles (the site file's data)")


# --------------------------------------------------------------------------- water side


@dataclass(frozen=True, kw_only=True)
class WaterState:
    """Water (or wet steam) stated by its own state: its pressure with one of temperature,
    enthalpy or entropy (IAPWS-IF97, :func:`optimizer.steam.water_state`). Given by enthalpy or
    entropy it may be wet (between saturated liquid and vapour)."""

    pressure_barg: float = attr("bar(g)", "pressure of the water where it is injected (e.g. the pump discharge)", gt=-1.0, le=300.0)
    temp_c: float | None = attr("C", "temperature (give exactly one of temp_c, enthalpy_kj_kg, entropy_kj_kgk)", default=None, gt=0.0, lt=800.0)
    enthalpy_kj_kg: float | None = attr("kJ/kg", "specific enthalpy", default=None, gt=0.0, le=4200.0)
    entropy_kj_kgk: float | None = attr("kJ/(kg K)", "specific entropy", default=None, gt=0.0, le=10.0)


@dataclass(frozen=True, kw_only=True)
class SteamSystem:
    """Site-wide water side: feedwater, deaerator, condensate return, make-up."""

    feedwater_temp_c: float = attr("C", "deaerated boiler feedwater temperature", default=120.0, gt=0.0, lt=300.0)
    deaerator_pressure_barg: float = attr("bar(g)", "deaerator operating pressure", default=1.0, ge=-0.5, le=20.0)
    deaerator_steam_header: str = attr("-", "header supplying deaerator heating steam", default="", ref="headers")
    condensate_return_fraction: float = attr("-", "default share of process steam returned as condensate", default=0.6, ge=0.0, le=1.0)
    condensate_return_temp_c: float = attr("C", "temperature of returned process condensate", default=90.0, gt=0.0, lt=200.0)
    makeup_temp_c: float = attr("C", "demineralised make-up water temperature", default=30.0, gt=0.0, lt=100.0)
    atmospheric_pressure_bar: float = attr("bar(a)", "atmospheric pressure for gauge to absolute", default=1.01325, gt=0.8, lt=1.1)
    deaerator: bool = attr("-", "the site has a deaerator (false: no deaerator balance; feedwater is taken at its stated state)", default=True)
    feedwater_enthalpy_kj_kg: float | None = attr("kJ/kg", "boiler and HRSG feedwater enthalpy, instead of feedwater_temp_c "
                                                  "(for units that state none of their own)", default=None, gt=0.0, le=2000.0)
    feedwater_pressure_barg: float | None = attr("bar(g)", "pressure at which feedwater_temp_c gives the boiler and HRSG "
                                                 "feedwater enthalpy (default: each unit's header pressure)", default=None, gt=-1.0, le=300.0)


# --------------------------------------------------------------------------- start and stop data
# The same five attributes on every unit that can be started and stopped (boilers, gas turbines,
# generator steam turbines). The single-period cycle does not read them; the horizon plan prices
# each start and stop with them. Defaults (no cost, no start time) keep older site files valid.


_START_STOP: dict[str, tuple[str, str, dict[str, Any]]] = {
    "startup_cost": ("currency/start", ("cost of a (hot) start: fuel burnt before the unit delivers plus wear; a start after "
                                        "cold_after_h hours off costs cold_startup_cost instead"), {"default": 0.0, "ge": 0.0, "le": 1e9}),
    "cold_startup_cost": ("currency/start", ("cost of a cold start, after at least cold_after_h hours off (give both or neither; "
                                             "at least startup_cost)"), {"default": None, "ge": 0.0, "le": 1e9}),
    "cold_after_h": ("h", "hours off after which a start is cold (give both or neither)", {"default": None, "gt": 0.0, "le": 8760.0}),
    "shutdown_cost": ("currency/stop", "cost of a stop", {"default": 0.0, "ge": 0.0, "le": 1e9}),
    "startup_time_min": ("min", "time from the start until the unit delivers (steam or power); 0: at once",
                         {"default": 0.0, "ge": 0.0, "le": 1440.0}),
}


_GENERATORS_ONLY = "; generators only (a machine drive runs when its process does)"


def _start_stop(name: str, note: str = "") -> Any:
    unit, desc, bounds = _START_STOP[name]
    return attr(unit, desc + note, **bounds)


# --------------------------------------------------------------------------- components


@dataclass(frozen=True, kw_only=True)
class Header:
    """A steam header at fixed pressure and temperature (or an explicit enthalpy)."""

    id: str
    pressure_barg: float = attr("bar(g)", "header pressure", gt=-1.0, le=300.0)
    temp_c: float | None = attr("C", "header temperature (superheated)", default=None, gt=0.0, le=800.0)
    enthalpy_kj_kg: float | None = attr("kJ/kg", "explicit header enthalpy, for sites that give one", default=None, gt=0.0, le=4200.0)
    swing_reserve_tph: float = attr("t/h", "pressure control: headroom to their maximum the running boilers on this header keep "
                                   "(0: none); missing headroom is priced, see optimizer/formulation.py", default=0.0, ge=0.0, le=1e4)
    spray_water: WaterState | None = attr("-", "water of the header's desuperheater and of the letdowns into it that state none "
                                          "(default: feedwater at feedwater_temp_c and the header's pressure)", default=None)


@dataclass(frozen=True, kw_only=True)
class Fuel:
    """A fuel: price, heating value, emission factors (IPCC 2006 stationary combustion, kg/TJ)."""

    id: str
    price_per_gj: float = attr("currency/GJ", "fuel price on LHV basis", ge=0.0, le=1e5)
    lhv_mj_kg: float | None = attr("MJ/kg", "lower heating value", default=None, gt=0.0, le=150.0)
    ef_co2_kg_tj: float = attr("kg/TJ", "CO2 emission factor", default=0.0, ge=0.0, le=2e5)
    ef_ch4_kg_tj: float = attr("kg/TJ", "CH4 emission factor", default=0.0, ge=0.0, le=1e4)
    ef_n2o_kg_tj: float = attr("kg/TJ", "N2O emission factor", default=0.0, ge=0.0, le=1e4)
    max_gj_h: float = attr("GJ/h", "availability limit of the fuel for the site", default=math.inf, gt=0.0)


@dataclass(frozen=True, kw_only=True)
class Boiler:
    """A fired boiler raising steam into one header from feedwater."""

    id: str
    header: str = attr("-", "header the boiler feeds", ref="headers")
    fuels: list[str] = attr("-", "fuels it can burn (first is the default)", ref="fuels", min_len=1)
    min_steam_tph: float = attr("t/h", "minimum stable steam when on", ge=0.0)
    max_steam_tph: float = attr("t/h", "maximum continuous steam", gt=0.0, le=5000.0)
    efficiency: float | None = attr("-", "constant efficiency (LHV)", default=None, gt=0.0, le=1.0)
    efficiency_curve: EfficiencyCurve | None = attr("-", "efficiency against load fraction", default=None)
    ambient_efficiency_per_c: float = attr("1/C", "efficiency change per C of combustion air above the reference", default=0.0005, ge=-0.01, le=0.01)
    reference_ambient_c: float = attr("C", "ambient at which the curve was taken", default=25.0, ge=-40.0, le=60.0)
    feedwater_temp_c: float | None = attr("C", "feedwater temperature if not the site's", default=None, gt=0.0, lt=350.0)
    feedwater_enthalpy_kj_kg: float | None = attr("kJ/kg", "feedwater enthalpy, instead of a temperature", default=None, gt=0.0, le=2000.0)
    feedwater_pressure_barg: float | None = attr("bar(g)", "pressure at which the feedwater temperature is taken (default: the "
                                                 "site's feedwater_pressure_barg, else the header's)", default=None, gt=-1.0, le=300.0)
    available: bool = attr("-", "in service", default=True)
    can_switch_off: bool = attr("-", "may be taken off line by the optimiser", default=True)
    ramp_tph_per_min: float = attr("t/h/min", "steam ramp rate (move limit)", default=2.0, gt=0.0)
    min_up_min: float = attr("min", "minimum time on after a start", default=240.0, ge=0.0)
    min_down_min: float = attr("min", "minimum time off after a stop", default=240.0, ge=0.0)
    startup_cost: float = _start_stop("startup_cost")
    cold_startup_cost: float | None = _start_stop("cold_startup_cost")
    cold_after_h: float | None = _start_stop("cold_after_h")
    shutdown_cost: float = _start_stop("shutdown_cost")
    startup_time_min: float = _start_stop("startup_time_min")
    curve_source: Literal["auto", "learned", "first_principles"] = attr(
        "-", _CURVE_SOURCE_DESC + "; first principles: fuel = steam x (h_steam - h_feedwater) / efficiency, the efficiency "
             "from efficiency or efficiency_curve with the ambient correction", default="auto")


@dataclass(frozen=True, kw_only=True)
class Fouling:
    """Compressor fouling for one inlet-filter class: losses linear in running hours since wash."""

    power_loss_per_1000h: float = attr("-", "fractional power loss per 1000 running hours", ge=0.0, le=0.5)
    heat_rate_rise_per_1000h: float = attr("-", "fractional heat-rate rise per 1000 running hours", ge=0.0, le=0.5)


@dataclass(frozen=True, kw_only=True)
class Hrsg:
    """Heat-recovery steam generator behind a gas turbine, with a duct burner."""

    header: str = attr("-", "header the HRSG feeds", ref="headers")
    unfired_steam_at_base_tph: float = attr("t/h", "unfired steam at ISO base load (calibrates heat recovery)", gt=0.0, le=2000.0)
    part_load_recovery: RelativeCurve | None = attr("-", "heat-recovery fraction relative to base, against GT load fraction", default=None)
    ambient_recovery_per_c: float = attr("1/C", "relative recovery change per C above ISO ambient", default=0.0, ge=-0.05, le=0.05)
    duct_fuel: str | None = attr("-", "duct-burner fuel", default=None, ref="fuels")
    duct_min_steam_tph: float = attr("t/h", "minimum duct-fired steam when the burner is on", default=0.0, ge=0.0)
    duct_max_steam_tph: float = attr("t/h", "maximum duct-fired steam", default=0.0, ge=0.0)
    duct_efficiency: float = attr("-", "incremental efficiency of duct firing", default=0.98, gt=0.0, le=1.0)
    feedwater_temp_c: float | None = attr("C", "feedwater temperature if not the site's", default=None, gt=0.0, lt=350.0)
    feedwater_enthalpy_kj_kg: float | None = attr("kJ/kg", "feedwater enthalpy, instead of a temperature", default=None, gt=0.0, le=2000.0)
    feedwater_pressure_barg: float | None = attr("bar(g)", "pressure at which the feedwater temperature is taken (default: the "
                                                 "site's feedwater_pressure_barg, else the header's)", default=None, gt=-1.0, le=300.0)
    # duct firing as a function of the GT's load (issue 17): see optimizer/unit_physics.py (GasTurbinePhysics.duct_steam_tph)
    duct_curve: Literal["additive", "learned"] = attr(
        "-", "how the optimiser models duct firing: additive (fired steam = duct fuel x duct_efficiency / steam enthalpy rise, "
             "whatever the GT's load) or learned (fired steam a learned function of the GT's power and the duct fuel, model "
             "<GT>_duct, trained from the duct campaign: `steamopt simulate --policy campaign --step-units <GT>`; additive when the "
             "GT's curve_source is first_principles)", default="additive")
    duct_min_fuel_gj_h: float = attr("GJ/h", "duct burner's minimum fuel when lit (LHV; its turndown)", default=0.0, ge=0.0)
    duct_max_fuel_gj_h: float | None = attr("GJ/h", "duct burner's maximum fuel (LHV; its capacity); required for duct_curve = learned",
                                            default=None, gt=0.0)
    exhaust_flow_at_base_tph: float | None = attr("t/h", "GT exhaust mass flow at ISO base load; given, the true duct firing is "
                                                  "oxygen-limited (its incremental efficiency falls as the exhaust's spare oxygen is "
                                                  "used), absent, additive at duct_efficiency", default=None, gt=0.0, le=20000.0)
    exhaust_flow_part_load: RelativeCurve | None = attr("-", "exhaust mass flow relative to base, against GT load fraction (inlet guide "
                                                        "vanes closing at part load)", default=None)
    duct_min_o2_vol_frac: float = attr("-", "lowest oxygen (mole fraction, wet) the duct burner may leave in the exhaust", default=0.115,
                                       gt=0.0, lt=0.21)
    duct_o2_falloff: float = attr("-", "relative drop of the incremental firing efficiency at the burner's oxygen limit "
                                  "(falls linearly with the share of the exhaust's spare oxygen used)", default=0.0, ge=0.0, lt=1.0)


@dataclass(frozen=True, kw_only=True)
class GasTurbine:
    """A gas turbine generator with its HRSG."""

    id: str
    fuel: str = attr("-", "fuel", ref="fuels")
    iso_power_mw: float = attr("MW", "rated power at ISO conditions (15 C)", gt=0.0, le=1000.0)
    iso_heat_rate_kj_kwh: float = attr("kJ/kWh", "heat rate (LHV) at ISO base load", gt=3000.0, le=30000.0)
    min_power_mw: float = attr("MW", "minimum power when on", ge=0.0)
    iso_ambient_c: float = attr("C", "ISO reference ambient", default=15.0, ge=-40.0, le=60.0)
    power_ambient_coef_per_c: float = attr("1/C", "relative base-power change per C above ISO", default=-0.007, ge=-0.05, le=0.0)
    heat_rate_ambient_coef_per_c: float = attr("1/C", "relative heat-rate change per C above ISO", default=0.002, ge=0.0, le=0.05)
    part_load_efficiency: RelativeCurve | None = attr("-", "efficiency relative to base against load fraction", default=None)
    exhaust_loss_fraction: float = attr("-", "share of fuel energy lost other than to power and exhaust", default=0.02, ge=0.0, lt=0.5)
    filter_class: str = attr("-", "inlet-filter class, a key of `fouling`", default="E10")
    fouling: dict[str, Fouling] = attr("-", "fouling rates by inlet-filter class", default_factory=dict)
    available: bool = attr("-", "in service", default=True)
    can_switch_off: bool = attr("-", "may be taken off line by the optimiser", default=False)
    ramp_mw_per_min: float = attr("MW/min", "power ramp rate (move limit)", default=3.0, gt=0.0)
    min_up_min: float = attr("min", "minimum time on after a start (0: none)", default=0.0, ge=0.0, le=1e5)
    min_down_min: float = attr("min", "minimum time off after a stop (0: none)", default=0.0, ge=0.0, le=1e5)
    startup_cost: float = _start_stop("startup_cost")
    cold_startup_cost: float | None = _start_stop("cold_startup_cost")
    cold_after_h: float | None = _start_stop("cold_after_h")
    shutdown_cost: float = _start_stop("shutdown_cost")
    startup_time_min: float = _start_stop("startup_time_min")
    hrsg: Hrsg | None = attr("-", "heat-recovery steam generator", default=None)
    curve_source: Literal["auto", "learned", "first_principles"] = attr(
        "-", _CURVE_SOURCE_DESC + "; first principles: fuel from the rating (rating_table, or the ISO rating with its "
             "coefficients and part_load_efficiency), unfired HRSG steam from the exhaust heat it recovers", default="auto")
    rating_table: RatingTable | None = attr("-", "data-sheet rating: base power and heat rate against ambient and load", default=None)

    def fouling_rates(self) -> tuple[float, float]:
        """(power loss, heat-rate rise) per 1000 running hours for the fitted inlet filter."""
        f = self.fouling.get(self.filter_class)
        return (f.power_loss_per_1000h, f.heat_rate_rise_per_1000h) if f else (0.0, 0.0)

    def base_power_mw(self, ambient_c: float, fouling_h: float) -> float:
        """Maximum power at an ambient and compressor fouling:
        ``P_ISO (1 + a_P (T - T_ISO)) (1 - f_P t_f / 1000)``."""
        loss, _ = self.fouling_rates()
        if self.rating_table is not None:  # the data sheet's base power at this ambient (linear between rows, flat beyond)
            clean = interp_flat(ambient_c, self.rating_table.ambient_c, self.rating_table.base_power_mw)
            return clean * max(0.0, 1.0 - loss * fouling_h / 1000.0)
        return self.iso_power_mw * (1.0 + self.power_ambient_coef_per_c * (ambient_c - self.iso_ambient_c)) * max(0.0, 1.0 - loss * fouling_h / 1000.0)


def interp_flat(x: float, xs: list[float], ys: list[float]) -> float:
    """Linear interpolation of ``ys`` over increasing ``xs`` at ``x``, flat beyond the ends."""
    if x <= xs[0]:
        return ys[0]
    if x >= xs[-1]:
        return ys[-1]
    i = next(k for k in range(1, len(xs)) if x <= xs[k])
    return ys[i - 1] + (ys[i] - ys[i - 1]) * (x - xs[i - 1]) / (xs[i] - xs[i - 1])


@dataclass(frozen=True, kw_only=True)
class TurbineSection:
    """One expansion section of a steam turbine, from the previous section's exhaust (or the
    turbine inlet) to ``outlet``: a header (extraction or back-pressure exhaust) or a condenser.

    Section models (power ``P`` MW, flow ``m`` t/h, specific drops kJ/kg):

    * ``isentropic``: ``P = m * eta_is * dh_is / 3600``
    * ``willans``: ``P = s * (m - f0 * m_rated)``, ``s = eta_is * dh_is / (3600 * (1 - f0))``, so the
      section reaches ``eta_is`` at rated flow and makes no power at ``f0 * m_rated``;
      ``part_load_curvature`` ``c`` bends the true curve: ``P * (1 - c * (1 - m/m_rated)^2)``;
      with neither ``isentropic_efficiency`` nor ``no_load_flow_fraction`` the line comes from the
      Sun & Smith (2015) correlation of inlet and outlet pressure and maximum flow
      (:mod:`optimizer.site.willans`);
    * ``enthalpy_drop``: ``P = m * conversion * (h_in - h_out_header) / 3600``, for sites that give
      header enthalpies (``conversion = 1`` is allowed); or ``P = m * dh / 3600`` with the drop
      ``dh`` stated (``enthalpy_drop_kj_kg``) or given by the exhaust enthalpy
      (``exhaust_enthalpy_kj_kg``: ``dh = h_in - h_exhaust``), the way to a condenser.
    """

    outlet: str = attr("-", "header or condenser the section exhausts to", ref="headers|condensers")
    model: Literal["willans", "isentropic", "enthalpy_drop"] = attr("-", "section power model", default="willans")
    isentropic_efficiency: float | None = attr("-", "isentropic efficiency at rated flow", default=None, gt=0.0, le=1.0)
    no_load_flow_fraction: float | None = attr("-", "Willans no-load flow / rated flow (with isentropic_efficiency; leave both out "
                                               "for the Sun & Smith correlation)", default=None, ge=0.0, lt=0.6)
    part_load_curvature: float = attr("-", "true-curve bending of the Willans line at part load", default=0.0, ge=0.0, lt=0.5)
    conversion: float = attr("-", "share of the header-to-header enthalpy drop converted (enthalpy_drop)", default=1.0, gt=0.0, le=1.0)
    min_flow_tph: float = attr("t/h", "minimum flow through the section when running", default=0.0, ge=0.0)
    max_flow_tph: float = attr("t/h", "maximum flow through the section", gt=0.0, le=5000.0)
    rated_flow_tph: float | None = attr("t/h", "rated flow (defaults to the maximum)", default=None, gt=0.0)
    enthalpy_drop_kj_kg: float | None = attr("kJ/kg", "stated enthalpy drop inlet -> exhaust (enthalpy_drop; instead of the "
                                             "header-to-header drop)", default=None, gt=0.0, le=2500.0)
    exhaust_enthalpy_kj_kg: float | None = attr("kJ/kg", "stated exhaust enthalpy (enthalpy_drop; e.g. a condensing exhaust, may be wet)",
                                                default=None, gt=0.0, le=4200.0)
    textbook_drop: bool = attr("-", "the stated drop is a textbook simplification: accept it quietly even where it exceeds the "
                               "isentropic drop (else such a drop is warned about)", default=False)


@dataclass(frozen=True, kw_only=True)
class Motor:
    """An electric motor that can replace a turbine drive."""

    efficiency: float = attr("-", "motor efficiency", default=0.95, gt=0.0, le=1.0)


@dataclass(frozen=True, kw_only=True)
class SteamTurbine:
    """A steam turbine of one or more sections driving a generator or a machine."""

    id: str
    inlet: str = attr("-", "inlet header", ref="headers")
    drive: Literal["generator", "machine"] = attr("-", "generator (power a decision) or machine (power set by the process)")
    sections: list[TurbineSection] = attr("-", "expansion sections in flow order", min_len=1)
    power_mw: float | None = attr("MW", "process power of a machine drive (nominal)", default=None, gt=0.0, le=1000.0)
    min_power_mw: float = attr("MW", "minimum power of a generator when on", default=0.0, ge=0.0)
    max_power_mw: float | None = attr("MW", "maximum power of a generator", default=None, gt=0.0, le=1000.0)
    mechanical_efficiency: float = attr("-", "shaft-to-output efficiency (generator or coupling)", default=0.97, gt=0.0, le=1.0)
    motor: Motor | None = attr("-", "motor that can replace this drive", default=None)
    available: bool = attr("-", "in service", default=True)
    can_switch_off: bool = attr("-", "a generator that may be stopped", default=True)
    ramp_mw_per_min: float = attr("MW/min", "power ramp rate (move limit)", default=2.0, gt=0.0)
    min_up_min: float = attr("min", "minimum time on after a start, generators only (0: none; the engine's "
                             "min_switch_interval_min applies as well)", default=0.0, ge=0.0, le=1e5)
    min_down_min: float = attr("min", "minimum time off after a stop, generators only (0: none; the engine's "
                               "min_switch_interval_min applies as well)", default=0.0, ge=0.0, le=1e5)
    startup_cost: float = _start_stop("startup_cost", _GENERATORS_ONLY)
    cold_startup_cost: float | None = _start_stop("cold_startup_cost", _GENERATORS_ONLY)
    cold_after_h: float | None = _start_stop("cold_after_h", _GENERATORS_ONLY)
    shutdown_cost: float = _start_stop("shutdown_cost", _GENERATORS_ONLY)
    startup_time_min: float = _start_stop("startup_time_min", _GENERATORS_ONLY)
    curve_source: Literal["auto", "learned", "first_principles"] = attr(
        "-", _CURVE_SOURCE_DESC + "; first principles: its sections' models; learned only for a single-section generator "
        "(turbine_steam) or an extraction-condensing generator (ectg_steam: inlet of power and extraction)",
        default="auto")


@dataclass(frozen=True, kw_only=True)
class Condenser:
    """A surface condenser at fixed (vacuum) pressure; condensate returns to the deaerator."""

    id: str
    pressure_bara: float = attr("bar(a)", "condenser pressure (absolute)", gt=0.005, lt=1.5)
    max_duty_mw: float = attr("MW", "cooling capacity", default=math.inf, gt=0.0)


@dataclass(frozen=True, kw_only=True)
class Letdown:
    """A pressure-reducing valve from ``inlet`` to ``outlet``, optionally desuperheated to the
    outlet header's enthalpy with water (its stated state, else the header's spray water)."""

    id: str
    inlet: str = attr("-", "upstream header", ref="headers")
    outlet: str = attr("-", "downstream header", ref="headers")
    max_flow_tph: float = attr("t/h", "maximum steam through the valve (inlet side)", gt=0.0, le=5000.0)
    desuperheat: bool = attr("-", "water injection to the outlet header's temperature", default=True)
    desuperheat_water: WaterState | None = attr("-", "the letdown desuperheater's water (default: the outlet header's spray_water)",
                                                default=None)


@dataclass(frozen=True, kw_only=True)
class Vent:
    """An atmospheric vent on a header (steam lost)."""

    id: str
    header: str = attr("-", "header vented", ref="headers")
    max_flow_tph: float = attr("t/h", "vent capacity", gt=0.0, le=5000.0)
    penalty_per_t: float = attr("currency/t", "penalty on vented steam", default=0.0, ge=0.0)


@dataclass(frozen=True, kw_only=True)
class ByproductSource:
    """Steam raised by the process (e.g. cracker transfer-line exchangers): a disturbance."""

    id: str
    header: str = attr("-", "header fed", ref="headers")
    min_steam_tph: float = attr("t/h", "lowest expected steam", ge=0.0)
    max_steam_tph: float = attr("t/h", "highest expected steam", gt=0.0, le=5000.0)
    nominal_steam_tph: float = attr("t/h", "typical steam", gt=0.0, le=5000.0)


@dataclass(frozen=True, kw_only=True)
class Column:
    """A distillation column the optimiser steers by its reflux ratio (the feed a disturbance).

    The reboiler's steam and the distillate purity follow (the simulator's binary shortcut model,
    scenarios/plant/column.py; the optimiser learns both). Mole and mass fractions are taken alike
    (a binary of nearly equal molar masses, e.g. propylene 42.08 / propane 44.10 g/mol)."""

    feed_nominal_tph: float = attr("t/h", "feed at today's operation", gt=0.0, le=5000.0)
    feed_min_tph: float = attr("t/h", "lowest feed the column runs at", gt=0.0, le=5000.0)
    feed_max_tph: float = attr("t/h", "highest feed the column runs at", gt=0.0, le=5000.0)
    feed_light_fraction: float = attr("-", "light key (product) mole fraction in the feed", gt=0.0, lt=1.0)
    distillate_to_feed: float = attr("-", "distillate / feed, held by the column's inventory control", gt=0.0, lt=1.0)
    relative_volatility: float = attr("-", "light / heavy key relative volatility", gt=1.0, le=10.0)
    theoretical_stages: float = attr("-", "equilibrium stages (trays x efficiency)", gt=1.0, le=1000.0)
    boilup_latent_heat_kj_kg: float = attr("kJ/kg", "latent heat of the boil-up", gt=0.0, le=5000.0)
    reboiler_heat_kj_kg: float = attr("kJ/kg", "heat one kg of header steam gives the reboiler (desuperheat and condense)",
                                      gt=0.0, le=4000.0)
    reflux_ratio_min: float = attr("-", "lowest reflux ratio L/D", gt=0.0, le=1000.0)
    reflux_ratio_max: float = attr("-", "highest reflux ratio L/D", gt=0.0, le=1000.0)
    reflux_ratio_today: float = attr("-", "today's fixed reflux ratio", gt=0.0, le=1000.0)
    reflux_move_per_min: float = attr("1/min", "largest reflux-ratio change per minute", gt=0.0, le=100.0)
    purity_spec: float = attr("mol/mol", "distillate purity specification (minimum light-key mole fraction)", gt=0.0, lt=1.0)
    purity_margin: float = attr("mol/mol", "margin the optimiser keeps above the spec (the purity model's error)",
                                default=0.0, ge=0.0, lt=1.0)


@dataclass(frozen=True, kw_only=True)
class Consumer:
    """A process steam consumer; a flexible one may be moved within its band."""

    id: str
    header: str = attr("-", "header drawn from", ref="headers")
    demand_tph: float = attr("t/h", "nominal demand", ge=0.0, le=5000.0)
    flexible: bool = attr("-", "demand may be set within [min_tph, max_tph]", default=False)
    min_tph: float | None = attr("t/h", "lowest allowed draw (flexible)", default=None, ge=0.0)
    max_tph: float | None = attr("t/h", "highest allowed draw (flexible)", default=None, ge=0.0)
    offspec_below_tph: float | None = attr("t/h", "below this draw product goes off-spec", default=None, ge=0.0)
    offspec_penalty_per_t: float = attr("currency/t", "penalty per t/h below offspec_below_tph, per hour", default=0.0, ge=0.0)
    condensate_return_fraction: float | None = attr("-", "condensate returned (default: site's)", default=None, ge=0.0, le=1.0)
    variability_fraction: float = attr("-", "relative random variation of the demand", default=0.03, ge=0.0, le=0.5)
    daily_swing_fraction: float = attr("-", "relative amplitude of the daily demand cycle", default=0.0, ge=0.0, le=0.5)
    column: Column | None = attr("-", "a distillation column steered by its reflux ratio (flexible: [min_tph, max_tph] "
                                 "are its reboiler's steam limits)", default=None)


@dataclass(frozen=True, kw_only=True)
class TariffPeriod:
    """A time-of-use period: weekdays (0 = Monday) and hours [start, end)."""

    name: str = attr("-", "period name")
    price_per_mwh: float = attr("currency/MWh", "energy price in the period", ge=0.0, le=1e6)
    weekdays: list[int] = attr("-", "days of the week (0 = Monday)", ge=0, le=6, min_len=1)
    start_hour: int = attr("h", "first hour of the period", ge=0, le=23)
    end_hour: int = attr("h", "hour the period ends (exclusive)", ge=1, le=24)


@dataclass(frozen=True, kw_only=True)
class Electricity:
    """Grid connection, tariff and contract."""

    site_load_mw: float = attr("MW", "site electrical load (nominal)", ge=0.0, le=5000.0)
    max_import_mw: float = attr("MW", "import limit", ge=0.0, le=5000.0)
    max_export_mw: float = attr("MW", "export limit", default=0.0, ge=0.0, le=5000.0)
    default_price_per_mwh: float = attr("currency/MWh", "energy price outside any tariff period (off-peak)", ge=0.0, le=1e6)
    tariff: list[TariffPeriod] = attr("-", "time-of-use periods (first match wins)", default_factory=list)
    ft_per_mwh: float = attr("currency/MWh", "fuel-adjustment charge added to every imported MWh", default=0.0, ge=-1e4, le=1e4)
    export_price_per_mwh: float = attr("currency/MWh", "price received for export", default=0.0, ge=0.0, le=1e6)
    contract_min_import_mw: float = attr("MW", "contract minimum import", default=0.0, ge=0.0)
    shortfall_penalty_per_mwh: float = attr("currency/MWh", "penalty per MWh imported below the contract minimum", default=0.0, ge=0.0)
    grid_ef_t_mwh: float = attr("tCO2e/MWh", "grid emission factor (scope 2)", default=0.0, ge=0.0, le=2.0)
    load_variability_fraction: float = attr("-", "relative random variation of the site load", default=0.02, ge=0.0, le=0.5)

    def import_price_per_mwh(self, weekday: int, hour: int) -> float:
        """Energy price of imported power: the first tariff period that matches (weekday
        0 = Monday, hour 0-23), else the default price; plus the fuel adjustment Ft."""
        for p in self.tariff:
            if weekday in p.weekdays and p.start_hour <= hour < p.end_hour:
                return p.price_per_mwh + self.ft_per_mwh
        return self.default_price_per_mwh + self.ft_per_mwh


@dataclass(frozen=True, kw_only=True)
class Emissions:
    """Emissions accounting and carbon price."""

    gwp_set: Literal["AR5", "AR6"] = attr("-", "global-warming potentials (IPCC AR5 or AR6, 100-year)", default="AR5")
    scope1: bool = attr("-", "count fuel combustion", default=True)
    scope2: bool = attr("-", "count grid import", default=True)
    credit_export: bool = attr("-", "credit exported power at the grid factor", default=False)
    carbon_price_per_t: float = attr("currency/tCO2e", "carbon price", default=0.0, ge=0.0, le=1e6)


@dataclass(frozen=True, kw_only=True)
class Practice:
    """Today's operating practice: the rule-based dispatch a plant runs without an optimiser."""

    duct_firing_tph: dict[str, float] = attr("t/h", "fixed duct-fired steam per gas turbine", default_factory=dict, ge=0.0)
    turbine_power_mw: dict[str, float] = attr("MW", "fixed power per generator turbine", default_factory=dict, ge=0.0)
    extraction_tph: dict[str, list[float]] = attr("t/h", "fixed extraction flows per turbine (one per extraction)", default_factory=dict, ge=0.0)
    drivers_on_motor: list[str] = attr("-", "switchable drives run on their motor", default_factory=list, ref="turbines")


@dataclass(frozen=True, kw_only=True)
class Surrogates:
    """Which unit quantities are learned from plant data (the rest are first principles).

    Kinds: ``boiler_fuel`` (fuel vs steam and ambient), ``gt_fuel`` (fuel vs power, ambient and
    fouling hours), ``hrsg_steam`` (unfired HRSG steam vs GT power, ambient and fouling hours),
    ``turbine_steam`` (inlet steam vs power of single-section generator turbines),
    ``column_steam`` and ``column_purity`` (a steered column's reboiler steam and distillate
    purity vs its reflux ratio and feed), ``ectg_steam`` (inlet steam vs power AND extraction of an
    extraction-condensing generator: two decision inputs, :func:`extraction_condensing_generators`),
    ``duct_steam`` (duct-fired steam vs GT power AND duct fuel of an HRSG with ``duct_curve = "learned"``:
    two decision inputs, :func:`learned_ducts`).
    """

    kinds: list[Literal["boiler_fuel", "gt_fuel", "hrsg_steam", "turbine_steam", "column_steam", "column_purity",
                        "ectg_steam", "duct_steam"]] = attr(
        "-", "kinds of quantity to learn", default_factory=lambda: ["boiler_fuel", "gt_fuel", "hrsg_steam", "turbine_steam"])
    exclude: list[str] = attr("-", "unit ids whose quantities stay first principles", default_factory=list)


@dataclass(frozen=True, kw_only=True)
class Measurements:
    """Measurement uncertainty of the plant's flow meters, used by data reconciliation.

    Each measured flow ``x_i`` has standard deviation ``sigma_i = rel_i |x_i| + abs``, with
    ``rel_i = sigma_rel[tag]`` where given and ``default_sigma_rel`` otherwise.
    """

    default_sigma_rel: float = attr("-", "relative standard deviation of a flow meter", default=0.01, gt=0.0, le=0.5)
    sigma_abs_tph: float = attr("t/h", "absolute part of every flow meter's standard deviation (> 0: a meter reading zero is not exact)", default=0.1, gt=0.0, le=100.0)
    sigma_rel: dict[str, float] = attr("-", "relative standard deviation per snapshot tag (e.g. \"LD_HP_MP.steam_tph\" = 0.02)",
                                       default_factory=dict, gt=0.0, le=0.5)


@dataclass(frozen=True, kw_only=True)
class PlantConnection:
    """Where the site's tags live in the plant's OPC UA address space (node ids such as
    ``ns=2;s=B1.steam_tph`` or ``nsu=urn:plant;i=1001``).

    The site file says *where* things are; whether anything is written, and with which security,
    is the adapter's run-time configuration (closed-loop mode and its allow-list are never
    switched on by a site file).
    """

    read_nodes: dict[str, str] = attr("-", "snapshot tag -> node read each cycle", default_factory=dict)
    timestamp_node: str = attr("-", "node holding the snapshot time (empty: the source timestamps of the values)", default="")
    advisory_nodes: dict[str, str] = attr("-", "proposal item -> advisory node it is published to (status, cost_per_h, "
                                          "saving_cost_per_h, setpoint.<tag>, ...)", default_factory=dict)
    control_nodes: dict[str, str] = attr("-", "setpoint tag -> control node (written only in closed-loop mode and when "
                                         "allow-listed)", default_factory=dict)
    watchdog_node: str = attr("-", "heartbeat node incremented every cycle (empty: none)", default="")


@dataclass(frozen=True, kw_only=True)
class CoverOption:
    """A declared way to make good lost steam within the N-1 cover time, besides spare boiler capacity."""

    id: str
    kind: Literal["letdown", "load_shed"] = attr(
        "-", "letdown (steam brought in from outside the modelled network, e.g. a neighbour's header or a standby letdown) "
             "or load_shed (process steam users tripped or cut)")
    header: str = attr("-", "header the option makes steam available at (a load shed: the header the shed users draw from)", ref="headers")
    steam_tph: float = attr("t/h", "steam the option makes available within the cover time", gt=0.0, le=5000.0)


@dataclass(frozen=True, kw_only=True)
class N1Cover:
    """N-1 steam cover: the running units must make good the loss of any one listed source within ``cover_time_min``.

    For each source ``s``: the spare capacity of the other running boilers that can reach its
    header (``min(ramp x cover time, maximum - steam)`` each), plus the declared options that can
    reach it, must be at least the steam ``s`` raises (:mod:`optimizer.n1_cover`).
    """

    enabled: bool = attr("-", "require the cover (false: the section is kept but not enforced)", default=False)
    cover_time_min: float = attr("min", "time within which the lost steam must be made good", default=10.0, gt=0.0, le=1440.0)
    sources: list[str] = attr("-", "boilers, gas turbines (their HRSG's unfired and duct steam) and by-product sources whose loss "
                                   "must be covered (empty: every boiler and every gas turbine with an HRSG)",
                              default_factory=list, ref="boilers|gas_turbines|byproduct_sources")
    options: dict[str, CoverOption] = attr("-", "letdown and load-shedding options", default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Site:
    """A whole site. Collections are dicts keyed by component id, in file order."""

    name: str = attr("-", "site name")
    currency: str = attr("-", "currency of all prices", default="THB")
    design_ambient_c: float = attr("C", "typical ambient temperature", default=30.0, ge=-40.0, le=60.0)
    timezone: str = attr("-", "IANA time zone of the site's local time (tariff periods; snapshot timestamps with a UTC offset "
                         "are converted to it); empty: timestamps must come without offset", default="")
    steam: SteamSystem = attr("-", "water side", default_factory=SteamSystem)
    headers: dict[str, Header] = attr("-", "steam headers", default_factory=dict)
    fuels: dict[str, Fuel] = attr("-", "fuels", default_factory=dict)
    boilers: dict[str, Boiler] = attr("-", "fired boilers", default_factory=dict)
    gas_turbines: dict[str, GasTurbine] = attr("-", "gas turbines with HRSGs", default_factory=dict)
    turbines: dict[str, SteamTurbine] = attr("-", "steam turbines", default_factory=dict)
    condensers: dict[str, Condenser] = attr("-", "condensers", default_factory=dict)
    letdowns: dict[str, Letdown] = attr("-", "letdown valves", default_factory=dict)
    vents: dict[str, Vent] = attr("-", "vents", default_factory=dict)
    byproduct_sources: dict[str, ByproductSource] = attr("-", "process steam sources", default_factory=dict)
    consumers: dict[str, Consumer] = attr("-", "process steam consumers", default_factory=dict)
    electricity: Electricity | None = attr("-", "grid connection", default=None)
    emissions: Emissions = attr("-", "emissions accounting", default_factory=Emissions)
    practice: Practice = attr("-", "today's operating practice", default_factory=Practice)
    surrogates: Surrogates = attr("-", "learned quantities", default_factory=Surrogates)
    measurements: Measurements = attr("-", "flow-meter uncertainty for data reconciliation", default_factory=Measurements)
    plant_connection: PlantConnection = attr("-", "OPC UA tag map", default_factory=PlantConnection)
    n1_cover: N1Cover = attr("-", "N-1 steam cover (loss of the largest running source)", default_factory=N1Cover)
    fuel_system: FuelSystem = attr("-", "fuel-gas headers, their sources, burners and furnaces (optimizer/fuel_system.py)",
                                   default_factory=FuelSystem)
    source: str = field(default="<memory>", compare=False, metadata={"internal": True})
    warnings: tuple[str, ...] = field(default=(), compare=False, metadata={"internal": True})

    def headers_by_pressure(self) -> list[Header]:
        """Headers from the highest pressure to the lowest."""
        return sorted(self.headers.values(), key=lambda h: -h.pressure_barg)


def start_cost(unit: Boiler | GasTurbine | SteamTurbine, hours_off_h: float) -> float:
    """Cost of starting ``unit`` (site currency per start) after ``hours_off_h`` hours off:
    ``cold_startup_cost`` from ``cold_after_h`` hours off on, when the unit has one, else
    ``startup_cost``."""
    if unit.cold_after_h is not None and unit.cold_startup_cost is not None and hours_off_h >= unit.cold_after_h:
        return unit.cold_startup_cost
    return unit.startup_cost


def extraction_condensing_generators(site: Site) -> list[str]:
    """Ids of the site's extraction-condensing turbogenerators: generator drives of exactly two
    sections (the first exhausting to a header: the extraction; the second to a condenser). Their
    inlet steam is a function of two decisions, the power and the extraction (learned kind
    ``ectg_steam``, embedded by :mod:`optimizer.relu_embedding`)."""
    return [t.id for t in site.turbines.values()
            if t.drive == "generator" and len(t.sections) == 2
            and t.sections[0].outlet in site.headers and t.sections[1].outlet in site.condensers]


def learned_ducts(site: Site) -> list[str]:
    """Ids of the gas turbines whose HRSG's duct firing is learned (``duct_curve = "learned"``): the
    fired steam a function of two decisions, the GT's power and the duct fuel (learned kind
    ``duct_steam``, embedded by :mod:`optimizer.relu_embedding`; see :mod:`optimizer.duct`), unless
    the site file puts the gas turbine itself on first principles (its duct is then additive, as an
    extraction-condensing generator on first principles keeps its sections' Willans lines)."""
    return [g.id for g in site.gas_turbines.values()
            if g.hrsg is not None and g.hrsg.duct_curve == "learned" and g.hrsg.duct_max_steam_tph > 0
            and g.curve_source != "first_principles"]
