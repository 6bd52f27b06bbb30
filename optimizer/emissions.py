"""Greenhouse-gas accounting: CO2e of fuels (scope 1) and grid power (scope 2).

.. math::
    \\mathrm{CO_2e}\\,[t/h] = \\sum_f E_f\\,[GJ/h] \\cdot 10^{-6}
        (EF_{CO_2,f} + GWP_{CH_4} EF_{CH_4,f} + GWP_{N_2O} EF_{N_2O,f})\\,[kg/TJ]
        + P_{import}\\,[MW] \\cdot EF_{grid}\\,[t/MWh]

(1 GJ = 1e-3 TJ and 1 kg = 1e-3 t, hence the 1e-6.)

Sources:
* GWP100, IPCC Fifth Assessment Report (AR5, WG1 ch. 8, table 8.7): CH4 28, N2O 265.
* GWP100, IPCC Sixth Assessment Report (AR6, WG1 ch. 7, table 7.15): CH4 27.9 (non-fossil; 29.8
  fossil is also published; 27.9 is the value the design notes adopt), N2O 273.
* Emission factors: 2006 IPCC Guidelines, vol. 2 ch. 2, tables 2.2/2.3 (stationary combustion),
  given per fuel in the site file.
"""

from __future__ import annotations

from dataclasses import dataclass

from optimizer.site.fuel_system import FuelHeader
from optimizer.site.model import Fuel

GWP100: dict[str, dict[str, float]] = {
    "AR5": {"CH4": 28.0, "N2O": 265.0},
    "AR6": {"CH4": 27.9, "N2O": 273.0},
}


@dataclass(frozen=True)
class EmissionFactor:
    """CO2e per unit of fuel energy, t/GJ, split by gas (all in CO2e)."""

    co2_t_gj: float
    ch4_t_gj: float
    n2o_t_gj: float

    @property
    def total_t_gj(self) -> float:
        return self.co2_t_gj + self.ch4_t_gj + self.n2o_t_gj


def fuel_factor(fuel: Fuel, gwp_set: str = "AR5") -> EmissionFactor:
    """CO2e factor of a fuel (t CO2e per GJ LHV) under a GWP set."""
    gwp = GWP100[gwp_set]
    return EmissionFactor(
        co2_t_gj=fuel.ef_co2_kg_tj * 1e-6,
        ch4_t_gj=gwp["CH4"] * fuel.ef_ch4_kg_tj * 1e-6,
        n2o_t_gj=gwp["N2O"] * fuel.ef_n2o_kg_tj * 1e-6,
    )


def header_factor(header: FuelHeader, gwp_set: str = "AR5") -> float:
    """CO2e of burning a fuel header's gas, t CO2e per GJ (LHV): CO2 from its carbon content (or
    the header's ``ef_co2_kg_tj``), CH4 and N2O per TJ (IPCC 2006 stationary combustion)
    (:mod:`optimizer.fuel_gas`)."""
    gwp = GWP100[gwp_set]
    return header.gas().co2_t_gj + (gwp["CH4"] * header.ef_ch4_kg_tj + gwp["N2O"] * header.ef_n2o_kg_tj) * 1e-6


def flare_factor(header: FuelHeader, gwp_set: str = "AR5") -> float:
    """CO2e of flaring a fuel header's gas, t CO2e per GJ (LHV): the burnt share
    ``flare_efficiency`` of its carbon as CO2, the unburnt share of its methane as CH4
    (:mod:`optimizer.fuel_gas`; IPCC 2006 vol. 2 ch. 4 and the API Compendium take 98 %)."""
    gas, eta = header.gas(), header.flare_efficiency
    return eta * gas.co2_t_gj + GWP100[gwp_set]["CH4"] * (1.0 - eta) * gas.ch4_t_gj
