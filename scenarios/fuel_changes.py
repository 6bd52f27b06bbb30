"""Scenario changes that give a site a fuel system (:mod:`optimizer.fuel_system`): a hydrogen
supply the optimiser allocates (``[changes.hydrogen_supply]``) and by-product fuel gas that must
be burned or flared (``[changes.byproduct_gas]``).

Both build the site's ``[fuel_system]`` from its ``[fuels]``:

* per base fuel of a listed burner (a boiler's first fuel, a gas turbine's fuel, an HRSG's duct
  fuel) a header ``<fuel>_header`` carrying that fuel, bought at its price (after
  ``fuel_price_scale``) with its own emission factors, given by LHV 35.8 MJ/Nm3 and relative
  density 0.60 (typical lean pipeline gas, as :data:`scenarios.scenario.NATURAL_GAS_LHV_MJ_NM3`:
  10 vol% hydrogen is then 3.2 % of the energy, as in the fixed-share studies). A base fuel with
  an availability limit is refused (the limit would no longer be shared with its other users);
* hydrogen supply: a header ``hydrogen`` (pure hydrogen) with one purchase ``H2_SUPPLY`` of
  ``t/day x 120 MJ/kg / 24 h = 5 GJ/h per t/day`` (LHV 120 MJ/kg, IEA/NEA 2020, as
  :data:`scenarios.scenario.H2_LHV_MJ_KG`); ``take = "contract"``: the whole supply is take-or-pay
  (the optimiser decides where it burns, not whether it is bought); ``"optional"``: bought only
  where it pays (the marginal abatement cost sweep);
* by-product gas: a header ``offgas`` with the source ``OFFGAS`` (made at ``make_gj_h``, measured
  each cycle as ``OFFGAS.fuel_gj_h``) and a flare;
* each listed burner draws on its base fuel's header plus the offered one, within its
  ``max_h2_volume_fraction``. Order matters where no blend is set (today's practice): a burner
  draws on its first header and makes up from the next (the plant simulator, optimizer/fuel_system.settle);
  for by-product gas ``first = true`` puts the offgas header first (today's fixed allocation:
  that burner burns what is made, its base fuel makes up).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from optimizer.site.model import attr
from optimizer.site.schema import ValidationIssue

H2_GJ_H_PER_T_DAY = 120.0 * 1000.0 / 24.0 / 1000.0  # GJ/h per t/day: 120 MJ/kg (LHV) x 1000 kg / 24 h
H2_HEADER, H2_SOURCE = "hydrogen", "H2_SUPPLY"
OFFGAS_HEADER, OFFGAS_SOURCE = "offgas", "OFFGAS"
BASE_LHV_MJ_NM3, BASE_RELATIVE_DENSITY = 35.8, 0.60
#: A cracker's fuel gas (demethaniser overhead, methane rich, with hydrogen): an assumed typical
#: composition (methane 70-90 %, hydrogen 5-25 % are the usual ranges quoted; not from one source).
CRACKER_OFFGAS = {"ch4": 0.80, "h2": 0.15, "c2h4": 0.01, "c2h6": 0.02, "n2": 0.02}


@dataclass(frozen=True, kw_only=True)
class FuelBurner:
    """A burner offered a fuel, with its hydrogen limit."""

    unit: str = attr("-", "a boiler or gas turbine id")
    duct: bool = attr("-", "the gas turbine's HRSG duct burner (not its combustor)", default=False)
    max_h2_volume_fraction: float = attr("-", "most hydrogen by volume in its blend (existing boilers and duct burners about 0.3; "
                                         "gas turbines without a combustor change about 0.1)", ge=0.0, le=1.0)
    first: bool = attr("-", "the offered fuel is its first header (today's practice burns it first; by-product gas)", default=False)


@dataclass(frozen=True, kw_only=True)
class HydrogenSupply:
    """A hydrogen supply the optimiser allocates among the burners listed."""

    t_per_day: float = attr("t/day", "hydrogen supplied", ge=0.0, le=1e4)
    price_per_gj: float = attr("currency/GJ", "hydrogen price on LHV basis", default=1000.0, ge=0.0, le=1e5)
    take: Literal["contract", "optional"] = attr("-", "contract: the whole supply is paid for (take-or-pay); optional: bought "
                                                 "only where it pays", default="contract")
    burners: list[FuelBurner] = attr("-", "burners that may take hydrogen", min_len=1)


@dataclass(frozen=True, kw_only=True)
class ByproductGas:
    """By-product fuel gas the site makes: burned by the burners listed or flared."""

    make_gj_h: float = attr("GJ/h", "by-product gas made (LHV); the snapshot's OFFGAS.fuel_gj_h each cycle", ge=0.0, le=1e5)
    composition: dict[str, float] = attr("-", "mole fractions (optimizer/fuel_gas.py components); default: a cracker's fuel gas",
                                         default_factory=lambda: dict(CRACKER_OFFGAS), ge=0.0, le=1.0)
    flare_cost_per_gj: float = attr("currency/GJ", "cost of flaring besides its CO2e", default=0.0, ge=0.0, le=1e5)
    burners: list[FuelBurner] = attr("-", "burners that can burn it", min_len=1)


def _table(data: Mapping[str, Any], key: str) -> dict:
    t = data.get(key)
    return t if isinstance(t, dict) else {}


def _base_fuel(data: Mapping[str, Any], b: FuelBurner) -> str | None:
    if b.unit in _table(data, "boilers"):
        if b.duct:  # a boiler has no duct burner
            return None
        fuels = _table(data, "boilers")[b.unit].get("fuels")
        return fuels[0] if isinstance(fuels, list) and fuels and isinstance(fuels[0], str) else None
    g = _table(data, "gas_turbines").get(b.unit)
    if not isinstance(g, dict):
        return None
    if b.duct:
        hrsg = g.get("hrsg")
        return hrsg.get("duct_fuel") if isinstance(hrsg, dict) else None
    return g.get("fuel")


def supply_issues(data: Mapping[str, Any], burners: list[FuelBurner], path: str) -> list[ValidationIssue]:
    """Problems of a change's burners against the site's plain data (``path``: the change's)."""
    out: list[ValidationIssue] = []
    boilers, gts, fuels = _table(data, "boilers"), _table(data, "gas_turbines"), _table(data, "fuels")
    if _table(data, "fuel_system"):
        out.append(ValidationIssue(path, "(site)", "the site already has a [fuel_system]: give the fuel there"))
    seen = set()
    for i, b in enumerate(burners):
        p = f"{path}.burners[{i}]"
        if b.unit not in boilers and b.unit not in gts:
            out.append(ValidationIssue(f"{p}.unit", b.unit, f"unknown boiler or gas turbine (known: {', '.join(sorted([*boilers, *gts]))})"))
            continue
        if (b.unit, b.duct) in seen:
            out.append(ValidationIssue(f"{p}.unit", b.unit, "listed twice"))
        seen.add((b.unit, b.duct))
        base = _base_fuel(data, b)
        if base is None or base not in fuels:
            out.append(ValidationIssue(f"{p}.unit", b.unit, "no fuel to blend into (a boiler's first fuel, a gas turbine's fuel, "
                                                            "or with duct = true its HRSG's duct fuel)"))
        elif isinstance(fuels[base].get("max_gj_h"), int | float) and math.isfinite(fuels[base]["max_gj_h"]):
            out.append(ValidationIssue(f"{p}.unit", b.unit, f"its fuel {base!r} has an availability limit (max_gj_h), which the "
                                                            "fuel system would not share with the fuel's other users"))
    return out


@dataclass
class _Builder:
    data: dict[str, Any]
    headers: dict[str, Any] = field(default_factory=dict)
    burners: dict[str, Any] = field(default_factory=dict)

    def burner(self, b: FuelBurner, offered: str) -> None:
        base = _base_fuel(self.data, b)
        hid = f"{base}_header"
        if hid not in self.headers:
            f = _table(self.data, "fuels")[base]
            self.headers[hid] = {"lhv_mj_nm3": BASE_LHV_MJ_NM3, "relative_density": BASE_RELATIVE_DENSITY, "h2_volume_fraction": 0.0,
                                 "ef_co2_kg_tj": f.get("ef_co2_kg_tj", 0.0), "ef_ch4_kg_tj": f.get("ef_ch4_kg_tj", 0.0),
                                 "ef_n2o_kg_tj": f.get("ef_n2o_kg_tj", 0.0),
                                 "sources": {f"{base}_BUY": {"kind": "purchase", "price_per_gj": f["price_per_gj"]}}}
        bid = f"{b.unit}_duct" if b.duct else b.unit
        entry = self.burners.setdefault(bid, {"unit": b.unit, "duct": b.duct, "headers": [hid], "max_h2_volume_fraction": 1.0,
                                              "limits_source": "scenario change"})
        entry["headers"] = [offered] + entry["headers"] if b.first else entry["headers"] + [offered]
        entry["max_h2_volume_fraction"] = min(entry["max_h2_volume_fraction"], b.max_h2_volume_fraction)

    def done(self) -> None:
        self.data["fuel_system"] = {"headers": self.headers, "burners": self.burners}


def _builder(data: dict[str, Any]) -> _Builder:
    return _Builder(data, _table(_table(data, "fuel_system"), "headers"), _table(_table(data, "fuel_system"), "burners"))


def add_hydrogen_supply(data: dict[str, Any], s: HydrogenSupply) -> None:
    """Add (or extend) the site's fuel system with the hydrogen supply (module docstring; in place)."""
    fs = _builder(data)
    gj_h = s.t_per_day * H2_GJ_H_PER_T_DAY
    fs.headers[H2_HEADER] = {"composition": {"h2": 1.0}, "ef_ch4_kg_tj": 0.0, "ef_n2o_kg_tj": 0.0,
                             "sources": {H2_SOURCE: {"kind": "purchase", "price_per_gj": s.price_per_gj, "max_gj_h": gj_h,
                                                     "min_gj_h": gj_h if s.take == "contract" else 0.0}}}
    for b in s.burners:
        fs.burner(b, H2_HEADER)
    fs.done()


def add_byproduct_gas(data: dict[str, Any], g: ByproductGas) -> None:
    """Add (or extend) the site's fuel system with the by-product gas (module docstring; in place)."""
    fs = _builder(data)
    fs.headers[OFFGAS_HEADER] = {"composition": dict(g.composition), "flare": True, "flare_cost_per_gj": g.flare_cost_per_gj,
                                 "sources": {OFFGAS_SOURCE: {"kind": "byproduct", "nominal_gj_h": g.make_gj_h}}}
    for b in g.burners:
        fs.burner(b, OFFGAS_HEADER)
    fs.done()
