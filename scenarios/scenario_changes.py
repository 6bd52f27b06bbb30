"""The changes a scenario makes to its site's plain data (:func:`apply_changes`), the checks of
changes and events against the site file (:func:`change_issues`, :func:`event_issues`) and the
energy share of hydrogen co-firing (:func:`hydrogen_energy_share`). Re-exported by
:mod:`scenarios.scenario`."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

from optimizer.site.schema import DataFileError, ValidationIssue
from scenarios.fuel_changes import add_byproduct_gas, add_hydrogen_supply, supply_issues
from scenarios.plant.profiles import OUTAGE_COLLECTIONS
from scenarios.scenario_model import Changes, Event, HydrogenCofiring

#: Lower heating value of hydrogen by volume, MJ/Nm3 (0 C, 101.325 kPa): 120 MJ/kg (IEA/NEA 2020)
#: x 0.0899 kg/Nm3 (normal density of H2, NIST Webbook) = 10.8.
H2_LHV_MJ_NM3 = 10.8
#: Lower heating value of pipeline natural gas by volume, MJ/Nm3: methane's 50.0 MJ/kg x 0.717 kg/Nm3
#: = 35.8 (NIST Webbook; typical lean pipeline gas is 34-37). With :data:`H2_LHV_MJ_NM3` it reproduces
#: the published CO2 cuts of hydrogen blends (IEA/NEA 2020; TNO/Ricardo-AEA 2012).
NATURAL_GAS_LHV_MJ_NM3 = 35.8
#: Lower heating value of hydrogen by mass, MJ/kg (IEA/NEA 2020).
H2_LHV_MJ_KG = 120.0


# --------------------------------------------------------------------------- hydrogen


def hydrogen_energy_share(volume_fraction: float, base_lhv_mj_nm3: float = NATURAL_GAS_LHV_MJ_NM3) -> float:
    """Energy share of hydrogen in a blend with ``volume_fraction`` hydrogen by volume:
    ``v LHV_H2 / (v LHV_H2 + (1 - v) LHV_base)`` (volumetric LHVs, MJ/Nm3). Equal to the CO2 cut."""
    v = float(volume_fraction)
    if not 0.0 <= v <= 1.0:
        raise ValueError(f"volume_fraction = {volume_fraction!r} is out of range: must be in [0, 1]")
    h2 = v * H2_LHV_MJ_NM3
    return h2 / (h2 + (1.0 - v) * base_lhv_mj_nm3) if h2 > 0 else 0.0


# --------------------------------------------------------------------------- references


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key)
    return value if isinstance(value, dict) else {}


def _known(ids: Sequence[str] | Mapping[str, Any]) -> str:
    return ", ".join(sorted(ids)) or "none"


def change_issues(site_data: Mapping[str, Any], changes: Changes) -> list[ValidationIssue]:
    """Problems of ``changes`` against a site's plain data (unknown ids, missing equipment)."""
    issues: list[ValidationIssue] = []
    err = lambda p, v, r: issues.append(ValidationIssue(p, v, r))  # noqa: E731
    boilers, gts, consumers = _table(site_data, "boilers"), _table(site_data, "gas_turbines"), _table(site_data, "consumers")
    fuels = _table(site_data, "fuels")
    if changes.gt_filter_class is not None:
        if not gts:
            err("changes.gt_filter_class", changes.gt_filter_class, "the site has no gas turbines")
        lacking = {gid: _table(g, "fouling") for gid, g in gts.items() if isinstance(g, dict)}
        lacking = {gid: classes for gid, classes in lacking.items() if classes and changes.gt_filter_class not in classes}
        if lacking:
            known = "; ".join(f"{gid}: {_known(classes)}" for gid, classes in lacking.items())
            err("changes.gt_filter_class", changes.gt_filter_class, f"is not a fouling class of gas turbine {', '.join(lacking)} (classes {known})")
    if changes.column_steam_reduction > 0.0:
        if not changes.column_consumers:
            err("changes.column_consumers", [], "names no consumer, so column_steam_reduction would do nothing")
        for i, cid in enumerate(changes.column_consumers):
            if cid not in consumers:
                err(f"changes.column_consumers[{i}]", cid, f"unknown consumer (known: {_known(consumers)})")
        if len(set(changes.column_consumers)) != len(changes.column_consumers):
            err("changes.column_consumers", changes.column_consumers, "must not repeat a consumer")
    seen: set[str] = set()
    for i, h in enumerate(changes.hydrogen):
        path = f"changes.hydrogen[{i}].unit"
        if h.unit in seen:
            err(path, h.unit, "co-fired twice: give one entry per unit")
        seen.add(h.unit)
        base = _base_fuel(site_data, h.unit)
        if h.unit in boilers:
            if base is None:
                err(path, h.unit, "boiler has no fuels to blend hydrogen into")
        elif h.unit in gts:
            if base is None:
                err(path, h.unit, "gas turbine has no HRSG duct burner (hrsg.duct_fuel) to co-fire")
        else:
            err(path, h.unit, f"unknown boiler or gas turbine (known: {_known(list(boilers) + list(gts))})")
            continue
        if base is not None and base not in fuels:
            err(path, h.unit, f"its fuel {base!r} is not a fuel of the site")
        if _blend_id(h.unit) in fuels:
            err(path, h.unit, f"the site already has a fuel {_blend_id(h.unit)!r}")
    if changes.hydrogen_supply is not None:
        issues += supply_issues(site_data, changes.hydrogen_supply.burners, "changes.hydrogen_supply")
    if changes.byproduct_gas is not None:
        issues += supply_issues(site_data, changes.byproduct_gas.burners, "changes.byproduct_gas")
    if not isinstance(site_data.get("electricity"), dict):
        if changes.grid_ef_t_mwh is not None:
            err("changes.grid_ef_t_mwh", changes.grid_ef_t_mwh, "the site has no [electricity] section")
        if changes.import_price_scale != 1.0:
            err("changes.import_price_scale", changes.import_price_scale, "the site has no [electricity] section")
    return issues


def event_issues(site_data: Mapping[str, Any], events: Sequence[Event]) -> list[ValidationIssue]:
    """Problems of ``events`` against a site's plain data (unit ids of the right kind)."""
    issues: list[ValidationIssue] = []
    units = {uid for name in OUTAGE_COLLECTIONS for uid in _table(site_data, name)}
    consumers = _table(site_data, "consumers")
    for i, e in enumerate(events):
        if e.kind == "outage" and e.unit not in units:
            issues.append(ValidationIssue(f"events[{i}].unit", e.unit,
                                          f"unknown unit for an outage: must be an id of {', '.join(OUTAGE_COLLECTIONS)} (known: {_known(units)})"))
        if e.kind == "demand_step" and e.unit not in consumers:
            issues.append(ValidationIssue(f"events[{i}].unit", e.unit, f"unknown consumer for a demand step (known: {_known(consumers)})"))
    return issues


def _base_fuel(site_data: Mapping[str, Any], unit: str) -> str | None:
    """The fuel a co-fired unit burns today: a boiler's first fuel, a gas turbine's duct fuel."""
    b = _table(site_data, "boilers").get(unit)
    if isinstance(b, dict):
        fuels = b.get("fuels")
        return fuels[0] if isinstance(fuels, list) and fuels and isinstance(fuels[0], str) else None
    g = _table(site_data, "gas_turbines").get(unit)
    if isinstance(g, dict):
        hrsg = g.get("hrsg")
        duct = hrsg.get("duct_fuel") if isinstance(hrsg, dict) else None
        return duct if isinstance(duct, str) else None
    return None


def _blend_id(unit: str) -> str:
    return f"h2_blend_{unit}"


# --------------------------------------------------------------------------- changes


def apply_changes(site_data: Mapping[str, Any], changes: Changes, *, source: str = "<changes>") -> dict[str, Any]:
    """A changed deep copy of a site's plain data (as parsed from TOML); ``site_data`` is untouched.

    In this order:

    1. ``fuel_price_scale`` multiplies every fuel's ``price_per_gj``; ``import_price_scale`` the
       import tariff: ``default_price_per_mwh``, each tariff period's ``price_per_mwh`` and
       ``ft_per_mwh`` (the export price is not scaled);
    2. ``gt_filter_class`` becomes every gas turbine's ``filter_class``;
    3. ``column_steam_reduction`` r multiplies by (1 - r) the ``demand_tph`` of each consumer in
       ``column_consumers`` and, when flexible, its ``min_tph``, ``max_tph`` and ``offspec_below_tph``;
       ``column_reflux_held`` sets every steered column's ``reflux_ratio_min`` and ``reflux_ratio_max``
       to its ``reflux_ratio_today`` (the column held at today's reflux);
    4. hydrogen co-firing: for each entry a fuel ``h2_blend_<unit>`` with the unit's current fuel
       (a boiler's first fuel, a gas turbine's HRSG ``duct_fuel``) blended with hydrogen at energy
       share s = :func:`hydrogen_energy_share` (volume fraction): emission factors x (1 - s), price
       ``(1 - s) price + s h2_price_per_gj`` (the base price after step 1), mass LHV
       ``1 / (s / 120 + (1 - s) / LHV_base)`` MJ/kg and availability limit ``max_gj_h / (1 - s)`` if
       the base fuel has one (then per blend, not shared with other users of the base fuel); the
       boiler's ``fuels`` become ``[blend]``, or the HRSG's ``duct_fuel`` the blend;
       ``hydrogen_supply``, ``byproduct_gas``: a fuel system whose hydrogen the optimiser allocates,
       whose by-product gas it burns or flares (:mod:`scenarios.fuel_changes`);
    5. ``carbon_price_per_t``, ``gwp_set`` (``[emissions]``) and ``grid_ef_t_mwh`` (``[electricity]``)
       replace the site's values when given.
    6. ``n1_cover`` and ``n1_cover_time_min`` replace ``[n1_cover]`` ``enabled`` and ``cover_time_min``
       when given.

    Unknown ids or missing equipment raise :class:`~optimizer.site.schema.DataFileError` (a
    ValueError) naming the field, e.g. ``changes.hydrogen[0].unit``.
    """
    issues = change_issues(site_data, changes)
    if issues:
        raise DataFileError(source, issues)
    data: dict[str, Any] = copy.deepcopy(dict(site_data))
    fuels = _table(data, "fuels")

    if changes.fuel_price_scale != 1.0:
        for f in fuels.values():
            if isinstance(f, dict) and isinstance(f.get("price_per_gj"), int | float):
                f["price_per_gj"] = f["price_per_gj"] * changes.fuel_price_scale
    e = data.get("electricity")
    if changes.import_price_scale != 1.0 and isinstance(e, dict):
        k = changes.import_price_scale
        for key in ("default_price_per_mwh", "ft_per_mwh"):
            if isinstance(e.get(key), int | float):
                e[key] = e[key] * k
        for period in e.get("tariff", []) if isinstance(e.get("tariff"), list) else []:
            if isinstance(period, dict) and isinstance(period.get("price_per_mwh"), int | float):
                period["price_per_mwh"] = period["price_per_mwh"] * k

    if changes.gt_filter_class is not None:
        for g in _table(data, "gas_turbines").values():
            g["filter_class"] = changes.gt_filter_class

    if changes.column_steam_reduction > 0.0:
        keep = 1.0 - changes.column_steam_reduction
        consumers = _table(data, "consumers")
        for cid in changes.column_consumers:
            c = consumers[cid]
            keys = ["demand_tph"] + (["min_tph", "max_tph", "offspec_below_tph"] if c.get("flexible") else [])
            for key in keys:
                if isinstance(c.get(key), int | float):
                    c[key] = c[key] * keep

    if changes.column_reflux_held:
        for c in _table(data, "consumers").values():
            col = c.get("column") if isinstance(c, dict) else None
            if isinstance(col, dict) and isinstance(col.get("reflux_ratio_today"), int | float):
                col["reflux_ratio_min"] = col["reflux_ratio_max"] = col["reflux_ratio_today"]

    for h in changes.hydrogen:
        base_id = _base_fuel(data, h.unit)
        assert base_id is not None  # checked by change_issues
        fuels[_blend_id(h.unit)] = _blend_fuel(fuels[base_id], h)
        if h.unit in _table(data, "boilers"):
            data["boilers"][h.unit]["fuels"] = [_blend_id(h.unit)]
        else:
            data["gas_turbines"][h.unit]["hrsg"]["duct_fuel"] = _blend_id(h.unit)

    if changes.hydrogen_supply is not None:  # the fuel system of scenarios/fuel_changes.py (prices after step 1)
        add_hydrogen_supply(data, changes.hydrogen_supply)
    if changes.byproduct_gas is not None:
        add_byproduct_gas(data, changes.byproduct_gas)

    if changes.carbon_price_per_t is not None or changes.gwp_set is not None:
        em = data.setdefault("emissions", {})
        if changes.carbon_price_per_t is not None:
            em["carbon_price_per_t"] = changes.carbon_price_per_t
        if changes.gwp_set is not None:
            em["gwp_set"] = changes.gwp_set
    if changes.grid_ef_t_mwh is not None:
        data["electricity"]["grid_ef_t_mwh"] = changes.grid_ef_t_mwh
    if changes.n1_cover is not None or changes.n1_cover_time_min is not None:
        cover = data.setdefault("n1_cover", {})
        if not isinstance(cover, dict):  # a malformed [n1_cover]: left for the site's validation to report
            return data
        if changes.n1_cover is not None:
            cover["enabled"] = changes.n1_cover
        if changes.n1_cover_time_min is not None:
            cover["cover_time_min"] = changes.n1_cover_time_min
    return data


def _blend_fuel(base: Mapping[str, Any], h: HydrogenCofiring) -> dict[str, Any]:
    s = hydrogen_energy_share(h.volume_fraction)
    num = lambda key: float(base.get(key, 0.0)) if isinstance(base.get(key, 0.0), int | float) else 0.0  # noqa: E731
    blend: dict[str, Any] = {
        "price_per_gj": (1.0 - s) * num("price_per_gj") + s * h.h2_price_per_gj,
        "ef_co2_kg_tj": num("ef_co2_kg_tj") * (1.0 - s),
        "ef_ch4_kg_tj": num("ef_ch4_kg_tj") * (1.0 - s),
        "ef_n2o_kg_tj": num("ef_n2o_kg_tj") * (1.0 - s),
    }
    lhv = base.get("lhv_mj_kg")
    if isinstance(lhv, int | float) and lhv > 0:
        blend["lhv_mj_kg"] = 1.0 / (s / H2_LHV_MJ_KG + (1.0 - s) / lhv)
    limit = base.get("max_gj_h")
    if isinstance(limit, int | float) and math.isfinite(limit):
        blend["max_gj_h"] = limit / (1.0 - s)
    return blend
