"""Fuel-gas properties from composition: heating values, density, Wobbe index, emission factors.

A gas is ideal at normal conditions (0 C, 101.325 kPa; molar volume 22.414 L/mol): volume and
mole fractions are the same, and a mixture's volumetric heating value and relative density are
the volume-weighted sums of its components' (the compressibility of these gases at normal
conditions is within 0.3 % of 1, which is ignored).

Per component (gas at 25 C): higher heating value ``HHV`` = the standard enthalpy of combustion
to liquid water, kJ/mol (NIST Chemistry WebBook, "Condensed phase thermochemistry data",
Delta_c H gas; values as recalled, rounded to 0.1 kJ/mol, NOT checked to the last digit);
lower heating value ``LHV = HHV - (n_H / 2) * 44.01`` (water's enthalpy of vaporisation at
25 C, 44.01 kJ/mol, NIST). This reproduces the LHVs the scenario module already uses: hydrogen
241.8 kJ/mol = 10.79 MJ/Nm3, methane 802.7 kJ/mol = 35.81 MJ/Nm3.

Per normal cubic metre: ``LHV_v = LHV_mol / 22.414`` MJ/Nm3; relative density (to air)
``d = M / 28.964``; Wobbe index ``W = HHV_v / sqrt(d)`` MJ/Nm3 (the interchangeability measure of
burners: equal Wobbe, equal heat release through the same orifice at the same pressure).

CO2 from carbon content (complete combustion, every carbon atom to CO2): for a gas with mole
fractions ``x_i``, ``n_C`` carbon atoms and ``LHV_i`` kJ/mol per component,

.. math:: EF_{CO_2}\\,[t/GJ] = 44.01\\,[g/mol] \\cdot \\sum_i x_i n_{C,i} / \\sum_i x_i LHV_i\\,[kJ/mol]

(g/kJ = t/GJ). Methane 54.8 t/TJ against IPCC's 56.1 for natural gas (which carries ethane,
propane and CO2). CH4 and N2O from combustion: per unit of energy, IPCC 2006 vol. 2 ch. 2
table 2.2 defaults for gaseous fuels (1 and 0.1 kg/TJ), given per fuel header in the site file.

Flaring (:func:`flare_factor`): a flare burns a fraction ``eta`` of the gas (IPCC 2006 vol. 2
ch. 4, oil and gas: the Tier 1 flaring factors assume 98 % combustion efficiency, as does the
API Compendium of GHG methodologies (2009, sec. 4.6); NOT checked to the page); the carbon burnt
leaves as CO2, the methane not burnt as CH4:

.. math:: EF_{flare} = \\eta EF_{CO_2} + GWP_{CH_4} (1 - \\eta) \\cdot 16.04\\, x_{CH_4} / \\sum_i x_i LHV_i

(other unburnt hydrocarbons are not counted as CH4).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

MOLAR_VOLUME_L = 22.414      # L/mol = Nm3/kmol, ideal gas at 0 C and 101.325 kPa
AIR_MOLAR_MASS = 28.964      # g/mol, dry air
WATER_LATENT_KJ_MOL = 44.01  # kJ/mol, enthalpy of vaporisation of water at 25 C (NIST)
CO2_MOLAR_MASS = 44.01       # g/mol
CH4_MOLAR_MASS = 16.04       # g/mol


@dataclass(frozen=True)
class Component:
    """A fuel-gas component: higher heating value (kJ/mol), molar mass (g/mol), atoms C and H."""

    hhv_kj_mol: float
    molar_mass_g_mol: float
    carbon: int
    hydrogen: int

    @property
    def lhv_kj_mol(self) -> float:
        return self.hhv_kj_mol - 0.5 * self.hydrogen * WATER_LATENT_KJ_MOL


#: The components a fuel header's composition may name (mole = volume fractions). Higher heating
#: values: standard enthalpies of combustion of the gases at 25 C (NIST Chemistry WebBook, Delta_c H
#: gas; n-butane for c4h10); molar masses from IUPAC atomic weights.
COMPONENTS: dict[str, Component] = {
    "h2": Component(285.8, 2.016, 0, 2),
    "ch4": Component(890.7, 16.043, 1, 4),
    "c2h4": Component(1411.2, 28.054, 2, 4),
    "c2h6": Component(1560.7, 30.070, 2, 6),
    "c3h6": Component(2058.0, 42.081, 3, 6),
    "c3h8": Component(2219.2, 44.097, 3, 8),
    "c4h10": Component(2877.5, 58.123, 4, 10),
    "co": Component(283.0, 28.010, 1, 0),
    "co2": Component(0.0, 44.010, 1, 0),
    "n2": Component(0.0, 28.014, 0, 0),
}


@dataclass(frozen=True)
class GasProperties:
    """A gas's properties per normal cubic metre and per GJ (LHV).

    ``lhv_mj_nm3``, ``hhv_mj_nm3``: heating values; ``relative_density``: to air (-);
    ``h2_fraction``: hydrogen by volume (-); ``co2_t_gj``: CO2 of complete combustion per GJ LHV;
    ``ch4_t_gj``: methane per GJ LHV (t CH4, not CO2e; for the flare's slip)."""

    lhv_mj_nm3: float
    hhv_mj_nm3: float
    relative_density: float
    h2_fraction: float
    co2_t_gj: float
    ch4_t_gj: float

    @property
    def wobbe_mj_nm3(self) -> float:
        """Wobbe index on the higher heating value, MJ/Nm3."""
        return self.hhv_mj_nm3 / math.sqrt(self.relative_density)


def composition_properties(composition: Mapping[str, float]) -> GasProperties:
    """Properties of a gas given as mole fractions (keys of :data:`COMPONENTS`, summing to 1)."""
    total = sum(composition.values())
    x = {k: v / total for k, v in composition.items()}
    lhv_mol = sum(x[k] * COMPONENTS[k].lhv_kj_mol for k in x)
    hhv_mol = sum(x[k] * COMPONENTS[k].hhv_kj_mol for k in x)
    molar_mass = sum(x[k] * COMPONENTS[k].molar_mass_g_mol for k in x)
    carbon = sum(x[k] * COMPONENTS[k].carbon for k in x)
    return GasProperties(
        lhv_mj_nm3=lhv_mol / MOLAR_VOLUME_L,
        hhv_mj_nm3=hhv_mol / MOLAR_VOLUME_L,
        relative_density=molar_mass / AIR_MOLAR_MASS,
        h2_fraction=x.get("h2", 0.0),
        co2_t_gj=CO2_MOLAR_MASS * carbon / lhv_mol if lhv_mol > 0 else 0.0,
        ch4_t_gj=CH4_MOLAR_MASS * x.get("ch4", 0.0) / lhv_mol if lhv_mol > 0 else 0.0,
    )


def blend_properties(volumes: Mapping[str, float], gases: Mapping[str, GasProperties]) -> GasProperties:
    """Properties of a blend of gases given as volumes (any unit) per gas: the exact (nonlinear)
    mixture rules, for checking a blend the linear rows admitted (Wobbe index included)."""
    total = sum(volumes.values())
    x = {k: v / total for k, v in volumes.items()}
    lhv = sum(x[k] * gases[k].lhv_mj_nm3 for k in x)
    energy = {k: x[k] * gases[k].lhv_mj_nm3 / lhv for k in x}  # energy shares
    return GasProperties(
        lhv_mj_nm3=lhv,
        hhv_mj_nm3=sum(x[k] * gases[k].hhv_mj_nm3 for k in x),
        relative_density=sum(x[k] * gases[k].relative_density for k in x),
        h2_fraction=sum(x[k] * gases[k].h2_fraction for k in x),
        co2_t_gj=sum(energy[k] * gases[k].co2_t_gj for k in x),
        ch4_t_gj=sum(energy[k] * gases[k].ch4_t_gj for k in x),
    )
