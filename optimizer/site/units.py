"""The site model's units: boilers, gas turbines with their HRSG, steam turbines and their sections.

Plain frozen dataclasses with :func:`~optimizer.site.attribute.attr` metadata (unit, range,
description), as in :mod:`optimizer.site.model`, which re-exports every name; with the curves and
rating tables they state, the start and stop data they share, and the few formulas that belong to
the data (a gas turbine's base power, :func:`interp_flat`, :func:`start_cost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from optimizer.site.attribute import attr

__all__ = [
    "CURVE_SOURCES",
    "Boiler",
    "EfficiencyCurve",
    "Fouling",
    "GasTurbine",
    "Hrsg",
    "Motor",
    "RatingTable",
    "RelativeCurve",
    "SteamTurbine",
    "TurbineSection",
    "interp_flat",
    "start_cost",
]


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


# --------------------------------------------------------------------------- units


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


def start_cost(unit: Boiler | GasTurbine | SteamTurbine, hours_off_h: float) -> float:
    """Cost of starting ``unit`` (site currency per start) after ``hours_off_h`` hours off:
    ``cold_startup_cost`` from ``cold_after_h`` hours off on, when the unit has one, else
    ``startup_cost``."""
    if unit.cold_after_h is not None and unit.cold_startup_cost is not None and hours_off_h >= unit.cold_after_h:
        return unit.cold_startup_cost
    return unit.startup_cost
