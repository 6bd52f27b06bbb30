"""Hydrogen as a fuel the optimiser allocates (scenario ``[changes.hydrogen_supply]``).

Given a hydrogen supply (t/day, price) and the burners that may take it (each with its limit on
hydrogen by volume), the change adds a fuel system to the site (:mod:`optimizer.fuel_system`):

* a header ``hydrogen`` (pure hydrogen) with one purchase ``H2_SUPPLY``: availability
  ``t/day x 120 MJ/kg / 24 h = 5 GJ/h per t/day`` (LHV 120 MJ/kg, IEA/NEA 2020, as
  :data:`scenarios.scenario.H2_LHV_MJ_KG`); ``take = "contract"``: the whole supply is
  take-or-pay (bought in any case: the optimiser only decides where it is burnt);
  ``take = "optional"``: bought only where it pays (the marginal abatement cost sweep);
* per base fuel of the listed burners (a boiler's only fuel, a gas turbine's fuel, an HRSG's
  duct fuel) a header ``<fuel>_header`` carrying that fuel, bought at its price (after
  ``fuel_price_scale``) with its own emission factors, given by LHV 35.8 MJ/Nm3 and relative
  density 0.60 (typical lean pipeline gas, as :data:`scenarios.scenario.NATURAL_GAS_LHV_MJ_NM3`;
  so that 10 vol% hydrogen is 3.2 % of the energy, as in the fixed-share studies);
* per listed burner: headers ``[<fuel>_header, hydrogen]`` and its ``max_h2_volume_fraction``.

A base fuel with an availability limit cannot be moved to the fuel system by this change (the
limit would no longer be shared with its other users): refused, naming the burner.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from optimizer.site.model import attr
from optimizer.site.schema import ValidationIssue

H2_GJ_H_PER_T_DAY = 120.0 * 1000.0 / 24.0 / 1000.0  # GJ/h per t/day: 120 MJ/kg (LHV) x 1000 kg / 24 h
H2_HEADER, H2_SOURCE = "hydrogen", "H2_SUPPLY"
BASE_LHV_MJ_NM3, BASE_RELATIVE_DENSITY = 35.8, 0.60


@dataclass(frozen=True, kw_only=True)
class HydrogenBurner:
    """A burner offered hydrogen, with its limit."""

    unit: str = attr("-", "a boiler or gas turbine id")
    duct: bool = attr("-", "the gas turbine's HRSG duct burner (not its combustor)", default=False)
    max_h2_volume_fraction: float = attr("-", "most hydrogen by volume it takes (existing boilers and duct burners about 0.3; "
                                         "gas turbines without a combustor change about 0.1)", ge=0.0, le=1.0)


@dataclass(frozen=True, kw_only=True)
class HydrogenSupply:
    """A hydrogen supply the optimiser allocates among the burners listed."""

    t_per_day: float = attr("t/day", "hydrogen supplied", ge=0.0, le=1e4)
    price_per_gj: float = attr("currency/GJ", "hydrogen price on LHV basis", default=1000.0, ge=0.0, le=1e5)
    take: Literal["contract", "optional"] = attr("-", "contract: the whole supply is paid for (take-or-pay); optional: bought "
                                                 "only where it pays", default="contract")
    burners: list[HydrogenBurner] = attr("-", "burners that may take hydrogen", min_len=1)


def _table(data: Mapping[str, Any], key: str) -> dict:
    t = data.get(key)
    return t if isinstance(t, dict) else {}


def _base_fuel(data: Mapping[str, Any], b: HydrogenBurner) -> str | None:
    if b.unit in _table(data, "boilers"):
        fuels = _table(data, "boilers")[b.unit].get("fuels")
        return fuels[0] if isinstance(fuels, list) and len(fuels) == 1 else None
    g = _table(data, "gas_turbines").get(b.unit)
    if not isinstance(g, dict):
        return None
    if b.duct:
        hrsg = g.get("hrsg")
        return hrsg.get("duct_fuel") if isinstance(hrsg, dict) else None
    return g.get("fuel")


def supply_issues(data: Mapping[str, Any], s: HydrogenSupply) -> list[ValidationIssue]:
    """Problems of the change against the site's plain data."""
    out: list[ValidationIssue] = []
    boilers, gts, fuels = _table(data, "boilers"), _table(data, "gas_turbines"), _table(data, "fuels")
    if _table(data, "fuel_system"):
        out.append(ValidationIssue("changes.hydrogen_supply", "(site)", "the site already has a [fuel_system]: offer hydrogen there"))
    seen = set()
    for i, b in enumerate(s.burners):
        path = f"changes.hydrogen_supply.burners[{i}]"
        if b.unit not in boilers and b.unit not in gts:
            out.append(ValidationIssue(f"{path}.unit", b.unit, f"unknown boiler or gas turbine (known: {', '.join(sorted([*boilers, *gts]))})"))
            continue
        if (b.unit, b.duct) in seen:
            out.append(ValidationIssue(f"{path}.unit", b.unit, "listed twice"))
        seen.add((b.unit, b.duct))
        base = _base_fuel(data, b)
        if base is None or base not in fuels:
            out.append(ValidationIssue(f"{path}.unit", b.unit, "no single fuel to blend hydrogen into (a boiler with one fuel, a gas "
                                                               "turbine's fuel, or with duct = true its HRSG's duct fuel)"))
        elif isinstance(fuels[base].get("max_gj_h"), int | float) and math.isfinite(fuels[base]["max_gj_h"]):
            out.append(ValidationIssue(f"{path}.unit", b.unit, f"its fuel {base!r} has an availability limit (max_gj_h), which the "
                                                               "fuel system would not share with the fuel's other users"))
    return out


def add_hydrogen_supply(data: dict[str, Any], s: HydrogenSupply) -> None:
    """Add the fuel system of the module docstring to the site's plain data (in place)."""
    fuels = _table(data, "fuels")
    headers: dict[str, Any] = {}
    burners: dict[str, Any] = {}
    gj_h = s.t_per_day * H2_GJ_H_PER_T_DAY
    headers[H2_HEADER] = {"composition": {"h2": 1.0}, "ef_ch4_kg_tj": 0.0, "ef_n2o_kg_tj": 0.0,
                          "sources": {H2_SOURCE: {"kind": "purchase", "price_per_gj": s.price_per_gj, "max_gj_h": gj_h,
                                                  "min_gj_h": gj_h if s.take == "contract" else 0.0}}}
    for b in s.burners:
        base = _base_fuel(data, b)
        hid = f"{base}_header"
        if hid not in headers:
            f = fuels[base]
            headers[hid] = {"lhv_mj_nm3": BASE_LHV_MJ_NM3, "relative_density": BASE_RELATIVE_DENSITY, "h2_volume_fraction": 0.0,
                            "ef_co2_kg_tj": f.get("ef_co2_kg_tj", 0.0), "ef_ch4_kg_tj": f.get("ef_ch4_kg_tj", 0.0),
                            "ef_n2o_kg_tj": f.get("ef_n2o_kg_tj", 0.0),
                            "sources": {f"{base}_BUY": {"kind": "purchase", "price_per_gj": f["price_per_gj"]}}}
        bid = f"{b.unit}_duct" if b.duct else b.unit
        burners[bid] = {"unit": b.unit, "duct": b.duct, "headers": [hid, H2_HEADER], "max_h2_volume_fraction": b.max_h2_volume_fraction,
                        "limits_source": "scenario change hydrogen_supply"}
    data["fuel_system"] = {"headers": headers, "burners": burners}
