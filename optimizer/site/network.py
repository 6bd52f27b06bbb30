"""The site model's steam network: headers, the water side, condensers, letdowns, vents, by-product
steam sources and process consumers (with the distillation column a consumer may be).

Plain frozen dataclasses with :func:`~optimizer.site.attribute.attr` metadata (unit, range,
description), as in :mod:`optimizer.site.model`, which re-exports every name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from optimizer.site.attribute import attr

__all__ = ["ByproductSource", "Column", "Condenser", "Consumer", "Header", "Letdown", "SteamSystem", "Vent", "WaterState"]


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


# --------------------------------------------------------------------------- headers


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


# --------------------------------------------------------------------------- condensers, valves, sources and users of steam


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
