"""The site's fuel system: fuel-gas headers with their sources, the burners that draw on them and
the process furnaces that take fixed draws (site file ``[fuel_system]``).

A fuel header carries one gas (its composition, or its LHV and density): by-product gas the site
makes (a measured disturbance that must be burned or flared), gas bought under a contract
(price, availability, minimum take), hydrogen supplied at a price. A burner (a boiler's, a gas
turbine's combustor, an HRSG duct burner) may draw on several headers; its blend is the
optimiser's decision within its limits on hydrogen by volume, LHV and Wobbe index (the rows and
their derivation: :mod:`optimizer.fuel_system`). Flows are energy, GJ/h (LHV), like the learned
fuel curves. The data only; :mod:`optimizer.fuel_system` writes the rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from optimizer.fuel_gas import COMPONENTS, GasProperties, composition_properties
from optimizer.site.model import attr


@dataclass(frozen=True, kw_only=True)
class FuelSource:
    """A supply into a fuel header: by-product gas (made by the process, measured each cycle as
    ``<id>.fuel_gj_h``) or a purchase (contract or hydrogen supply: price, availability, minimum take)."""

    id: str
    kind: Literal["byproduct", "purchase"] = attr("-", "byproduct (made by the process: burned or flared) or purchase")
    nominal_gj_h: float = attr("GJ/h", "by-product: production when the snapshot gives no good reading", default=0.0, ge=0.0, le=1e6)
    price_per_gj: float = attr("currency/GJ", "purchase: price on LHV basis (by-product gas has none: it is made anyway)",
                               default=0.0, ge=0.0, le=1e5)
    max_gj_h: float = attr("GJ/h", "purchase: availability; by-product: the most the process makes (its reading's range)",
                           default=math.inf, ge=0.0)
    min_gj_h: float = attr("GJ/h", "purchase: contract minimum take, take-or-pay (gas not taken is paid for)", default=0.0, ge=0.0, le=1e6)


@dataclass(frozen=True, kw_only=True)
class FuelHeader:
    """A fuel-gas header: one gas (composition by volume, or its LHV and relative density), its
    sources and its flare."""

    id: str
    composition: dict[str, float] = attr("-", "mole (= volume) fractions summing to 1, keys: " + ", ".join(COMPONENTS)
                                         + " (or give lhv_mj_nm3 and relative_density instead)", default_factory=dict, ge=0.0, le=1.0)
    lhv_mj_nm3: float | None = attr("MJ/Nm3", "lower heating value (instead of a composition)", default=None, gt=0.0, le=200.0)
    hhv_mj_nm3: float | None = attr("MJ/Nm3", "higher heating value (instead of a composition; needed for Wobbe limits)",
                                    default=None, gt=0.0, le=250.0)
    relative_density: float | None = attr("-", "density relative to air (instead of a composition)", default=None, gt=0.0, le=5.0)
    h2_volume_fraction: float = attr("-", "hydrogen by volume (instead of a composition)", default=0.0, ge=0.0, le=1.0)
    ef_co2_kg_tj: float | None = attr("kg/TJ", "CO2 of combustion per TJ (LHV); default: from the composition's carbon "
                                      "(required without a composition)", default=None, ge=0.0, le=2e5)
    ef_ch4_kg_tj: float = attr("kg/TJ", "CH4 of combustion (IPCC 2006 vol. 2 table 2.2, gaseous fuels: 1)", default=1.0, ge=0.0, le=1e4)
    ef_n2o_kg_tj: float = attr("kg/TJ", "N2O of combustion (IPCC 2006 vol. 2 table 2.2, gaseous fuels: 0.1)", default=0.1, ge=0.0, le=1e4)
    sources: dict[str, FuelSource] = attr("-", "supplies into the header", default_factory=dict)
    flare: bool = attr("-", "gas no burner takes can be flared (required with a by-product source)", default=False)
    flare_cost_per_gj: float = attr("currency/GJ", "cost of flaring besides its CO2e (steam, purge, permits)", default=0.0, ge=0.0, le=1e5)
    flare_efficiency: float = attr("-", "share of the flared gas burnt (IPCC/API default 0.98; the rest escapes, methane as CH4)",
                                   default=0.98, gt=0.0, le=1.0)

    def gas(self) -> GasProperties:
        """The header gas's properties (:mod:`optimizer.fuel_gas`); call on a validated header.
        Without a composition its methane is not known: a flare's methane slip is not counted."""
        if self.composition:
            g = composition_properties(self.composition)
            if self.ef_co2_kg_tj is not None:
                g = GasProperties(g.lhv_mj_nm3, g.hhv_mj_nm3, g.relative_density, g.h2_fraction, self.ef_co2_kg_tj * 1e-6, g.ch4_t_gj)
            return g
        return GasProperties(lhv_mj_nm3=self.lhv_mj_nm3, hhv_mj_nm3=self.hhv_mj_nm3 or math.nan,
                             relative_density=self.relative_density, h2_fraction=self.h2_volume_fraction,
                             co2_t_gj=(self.ef_co2_kg_tj or 0.0) * 1e-6, ch4_t_gj=0.0)


@dataclass(frozen=True, kw_only=True)
class Burner:
    """A unit's burner on the fuel system: the headers it can draw on and its blend limits.

    The unit's fuel energy (its learned or first-principles curve, GJ/h) is split over the
    headers; the split is a decision. Limits apply to the blend the burner receives."""

    id: str
    unit: str = attr("-", "the boiler or gas turbine this burner belongs to", ref="boilers|gas_turbines")
    duct: bool = attr("-", "the gas turbine's HRSG duct burner (not its combustor)", default=False)
    headers: list[str] = attr("-", "fuel headers it can draw on", ref="fuel_system.headers", min_len=1)
    max_h2_volume_fraction: float = attr("-", "most hydrogen by volume in its blend", default=1.0, ge=0.0, le=1.0)
    min_lhv_mj_nm3: float | None = attr("MJ/Nm3", "lowest LHV of its blend", default=None, gt=0.0, le=200.0)
    max_lhv_mj_nm3: float | None = attr("MJ/Nm3", "highest LHV of its blend", default=None, gt=0.0, le=200.0)
    min_wobbe_mj_nm3: float | None = attr("MJ/Nm3", "lowest Wobbe index (HHV) of its blend", default=None, gt=0.0, le=200.0)
    max_wobbe_mj_nm3: float | None = attr("MJ/Nm3", "highest Wobbe index (HHV) of its blend", default=None, gt=0.0, le=200.0)
    limits_source: str = attr("-", "where the limits come from (burner vendor, test, standard)", default="")


@dataclass(frozen=True, kw_only=True)
class Furnace:
    """A process furnace drawing a fixed fuel flow from one header (measured as ``<id>.fuel_gj_h``).

    Its draw takes its share of the header's supply; its combustion CO2e is the process's (not in
    the utilities' CO2e the optimiser weighs)."""

    id: str
    header: str = attr("-", "fuel header it draws on", ref="fuel_system.headers")
    draw_gj_h: float = attr("GJ/h", "draw when the snapshot gives no good reading", ge=0.0, le=1e6)
    max_gj_h: float = attr("GJ/h", "the most it draws (its reading's range)", default=math.inf, gt=0.0)


@dataclass(frozen=True, kw_only=True)
class FuelSystem:
    """Fuel-gas headers, burners and process furnaces (empty: fuels as in ``[fuels]`` only)."""

    headers: dict[str, FuelHeader] = attr("-", "fuel-gas headers", default_factory=dict)
    burners: dict[str, Burner] = attr("-", "burners drawing on the headers (a unit listed here takes its fuel from them, "
                                      "not from its `fuels`/`fuel`/`duct_fuel`)", default_factory=dict)
    furnaces: dict[str, Furnace] = attr("-", "process furnaces with fixed draws", default_factory=dict)

    def sources(self) -> dict[str, tuple[str, FuelSource]]:
        """Every source: id -> (its header, the source)."""
        return {s: (h, src) for h, fh in self.headers.items() for s, src in fh.sources.items()}

    def burner_of(self, unit: str, duct: bool = False) -> Burner | None:
        """The burner of ``unit`` (its duct burner when ``duct``), or None."""
        return next((b for b in self.burners.values() if b.unit == unit and b.duct == duct), None)
