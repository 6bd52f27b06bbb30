"""The site model: plain typed objects describing a steam network.

Components declare data only (as in oemof-solph and PyPSA); formulations and the simulator
read them. Each field's metadata is its attribute-table row: unit, allowed range and
description. The TOML loader (:mod:`optimizer.site.loader`) validates a site file against
exactly these rows, so documentation and validation come from one table
(:func:`optimizer.site.schema.attribute_table` prints it).

Conventions: pressures ``*_barg`` gauge (``*_bara`` absolute, condensers only), temperatures
``*_c`` in C, steam flows ``*_tph`` in t/h, power ``*_mw`` in MW, fuel ``*_gj_h`` in GJ/h
(LHV), prices per GJ / MWh / t in the site's currency, emission factors in kg/TJ.

The classes live by part of the site, one module each, and are all re-exported here so that
``from optimizer.site.model import X`` keeps working: :mod:`optimizer.site.attribute` (:func:`attr`),
:mod:`optimizer.site.units` (boilers, gas turbines, steam turbines), :mod:`optimizer.site.network`
(headers, water side, letdowns, vents, sources, consumers), :mod:`optimizer.site.economics` (fuels,
electricity, emissions), :mod:`optimizer.site.fuel_system` (the fuel system); here: the whole
:class:`Site` and its site-wide sections (practice, surrogates, measurements, plant connection,
N-1 cover) and the questions asked of a whole site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# attr first: the fuel system's module imports it from here while this module is being imported
from optimizer.site.attribute import attr
from optimizer.site.economics import Electricity, Emissions, Fuel, TariffPeriod  # noqa: F401
from optimizer.site.fuel_system import FuelSystem
from optimizer.site.network import (  # noqa: F401
    ByproductSource,
    Column,
    Condenser,
    Consumer,
    Header,
    Letdown,
    SteamSystem,
    Vent,
    WaterState,
)
from optimizer.site.units import (  # noqa: F401
    _CURVE_SOURCE_DESC,
    _GENERATORS_ONLY,
    _START_STOP,
    CURVE_SOURCES,
    Boiler,
    EfficiencyCurve,
    Fouling,
    GasTurbine,
    Hrsg,
    Motor,
    RatingTable,
    RelativeCurve,
    SteamTurbine,
    TurbineSection,
    _start_stop,
    interp_flat,
    start_cost,
)


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
