"""The site model's economics: fuels (price, heating value, emission factors), the grid connection
with its tariff, and emissions accounting with the carbon price.

Plain frozen dataclasses with :func:`~optimizer.site.attribute.attr` metadata (unit, range,
description), as in :mod:`optimizer.site.model`, which re-exports every name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from optimizer.site.attribute import attr

__all__ = ["Electricity", "Emissions", "Fuel", "TariffPeriod"]


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
