"""Tag names: the language shared by snapshots, historians, surrogates and proposals.

A tag is ``<id>.<quantity>_<unit>`` (or a site-wide name such as ``ambient_temp_c``). The
plant simulator writes these names, the surrogates are trained on them, and a snapshot from the
plant's supervisory layer uses them; keeping them in one place keeps the three consistent.
"""

from __future__ import annotations

AMBIENT = "ambient_temp_c"
SITE_LOAD = "site_load_mw"


def boiler_steam(b: str) -> str:
    return f"{b}.steam_tph"


def boiler_fuel(b: str) -> str:
    return f"{b}.fuel_gj_h"


def boiler_fuel_of(b: str, fuel: str) -> str:
    """One fuel's share of a boiler's fuel, GJ/h (a dual-fuel boiler's split)."""
    return f"{b}.fuel_{fuel}_gj_h"


def fuel(unit: str) -> str:
    """Fuel of a fuel-system source or process furnace, GJ/h (LHV)."""
    return f"{unit}.fuel_gj_h"


def fuel_share(unit: str, header: str, duct: bool = False) -> str:
    """A burner's share of its fuel energy drawn from a fuel header (a setpoint), -."""
    return f"{unit}.{'duct_' if duct else ''}fuel_{header}_share"


def gt_power(g: str) -> str:
    return f"{g}.power_mw"


def gt_fuel(g: str) -> str:
    return f"{g}.fuel_gj_h"


def gt_fouling(g: str) -> str:
    return f"{g}.fouling_hours"


def hrsg_unfired(g: str) -> str:
    return f"{g}.hrsg_unfired_tph"


def duct_steam(g: str) -> str:
    return f"{g}.duct_steam_tph"


def duct_fuel(g: str) -> str:
    """A duct burner's fuel, GJ/h (LHV)."""
    return f"{g}.duct_fuel_gj_h"


def turbine_power(t: str) -> str:
    return f"{t}.power_mw"


def turbine_inlet(t: str) -> str:
    return f"{t}.inlet_tph"


def extraction(t: str, k: int) -> str:
    return f"{t}.extraction{k}_tph"


def on_motor(t: str) -> str:
    return f"{t}.on_motor"


def steam(unit: str) -> str:
    """Steam of a consumer, by-product source, letdown or vent."""
    return f"{unit}.steam_tph"


def available(unit: str) -> str:
    return f"{unit}.available"


def minutes_in_state(unit: str) -> str:
    """Minutes since the unit last started or stopped (for minimum up/down times)."""
    return f"{unit}.minutes_in_state"


def column_feed(c: str) -> str:
    """A steered column's feed, t/h (a disturbance)."""
    return f"{c}.feed_tph"


def column_reflux(c: str) -> str:
    """A steered column's reflux ratio L/D (its decision; dimensionless)."""
    return f"{c}.reflux_ratio"


def column_purity(c: str) -> str:
    """A steered column's distillate purity, light-key mole fraction (mol/mol)."""
    return f"{c}.purity_mol_frac"
