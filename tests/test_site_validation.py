"""Bad site files: every problem is a SiteError line naming the file, the dotted path, the value
and the rule.

Each case starts from the reference site (``scenarios/sites/reference_olefins.toml``) parsed with
:mod:`tomllib`, changes one thing (a fresh deep copy per test) and checks that
:func:`optimizer.site.site_from_dict` reports exactly that thing. A line reads
``<source>: <dotted path> = <value>: <rule>``.
"""

from __future__ import annotations

import copy
import errno
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Callable

import pytest

from optimizer.site import SiteError, load_site, parse_site, site_from_dict
from optimizer.site.loader import MAX_SITE_FILE_BYTES

REFERENCE_SITE = Path(__file__).resolve().parents[1] / "scenarios" / "sites" / "reference_olefins.toml"
SOURCE = "ref.toml"

with REFERENCE_SITE.open("rb") as _f:
    _REFERENCE = tomllib.load(_f)


def reference() -> dict[str, Any]:
    """A fresh, independent copy of the reference site's data."""
    return copy.deepcopy(_REFERENCE)


# --------------------------------------------------------------------------- mutation helpers

Mutation = Callable[[dict], None]
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _steps(path: str) -> list[str | int]:
    return [key if key else int(index) for key, index in _STEP.findall(path)]


def _parent(data: dict, path: str) -> tuple[Any, str | int]:
    steps = _steps(path)
    node = data
    for step in steps[:-1]:
        node = node[step]
    return node, steps[-1]


def put(path: str, value: Any) -> Mutation:
    """Set ``path`` (e.g. ``turbines.TG1.sections[1].outlet``) to ``value``, creating the key."""

    def mutate(data: dict) -> None:
        node, last = _parent(data, path)
        node[last] = value

    return mutate


def drop(path: str) -> Mutation:
    """Delete the key (or list item) at ``path``."""

    def mutate(data: dict) -> None:
        node, last = _parent(data, path)
        del node[last]

    return mutate


def put_key(table: str, key: str, value: Any) -> Mutation:
    """Set ``key`` (which may contain dots, like a tag name) in the table at ``table``."""

    def mutate(data: dict) -> None:
        node, last = _parent(data, table)
        node[last][key] = value

    return mutate


def both(*mutations: Mutation) -> Mutation:
    def mutate(data: dict) -> None:
        for m in mutations:
            m(data)

    return mutate


def errors_of(data: Any, source: str = SOURCE) -> SiteError:
    with pytest.raises(SiteError) as info:
        site_from_dict(data, source)
    return info.value


def assert_reported(err: SiteError, path: str, value: str, rule: str, source: str = SOURCE) -> str:
    """``err`` has a line ``<source>: <path> = <value...>: ...<rule>...``; returns that line.

    ``value`` is the shown value (its repr) or, for long values, the start of it.
    """
    lines = str(err).splitlines()
    assert len(lines) == len(err.issues), "one line per problem"
    assert all(line.startswith(f"{source}: ") for line in lines), "every line names the file"
    head = f"{source}: {path} = {value}"
    for line in lines:
        if line.startswith(head) and rule in line[len(head):]:
            return line
    raise AssertionError(f"no line starting {head!r} with rule {rule!r}; got:\n" + "\n".join(lines))


# --------------------------------------------------------------------------- cases
# (id, mutation, dotted path, shown value (or its start), fragment of the rule)

CASES = [
    # -- references to unknown headers, fuels, turbines
    ("boiler-unknown-header", put("boilers.B3.header", "XHP"), "boilers.B3.header", "'XHP'", "unknown header (known: HP, LP, MP, SHP)"),
    ("hrsg-unknown-header", put("gas_turbines.GT1.hrsg.header", "HHP"), "gas_turbines.GT1.hrsg.header", "'HHP'", "unknown header (known: HP, LP, MP, SHP)"),
    ("letdown-unknown-inlet", put("letdowns.LD_HP_MP.inlet", "HPP"), "letdowns.LD_HP_MP.inlet", "'HPP'", "unknown header (known: HP, LP, MP, SHP)"),
    ("letdown-unknown-outlet", put("letdowns.LD_MP_LP.outlet", "LPP"), "letdowns.LD_MP_LP.outlet", "'LPP'", "unknown header (known: HP, LP, MP, SHP)"),
    ("consumer-unknown-header", put("consumers.LP_FLARE.header", "FLARE"), "consumers.LP_FLARE.header", "'FLARE'", "unknown header (known: HP, LP, MP, SHP)"),
    ("vent-unknown-header", put("vents.V_MP.header", "M P"), "vents.V_MP.header", "'M P'", "unknown header"),
    ("byproduct-unknown-header", put("byproduct_sources.TLE.header", "VHP"), "byproduct_sources.TLE.header", "'VHP'", "unknown header"),
    ("deaerator-unknown-header", put("steam.deaerator_steam_header", "LLP"), "steam.deaerator_steam_header", "'LLP'", "unknown header"),
    ("turbine-unknown-inlet", put("turbines.TG2.inlet", "SHPX"), "turbines.TG2.inlet", "'SHPX'", "unknown header (known: HP, LP, MP, SHP)"),
    (
        "section-unknown-outlet",
        put("turbines.TG1.sections[1].outlet", "LPX"),
        "turbines.TG1.sections[1].outlet",
        "'LPX'",
        "unknown header or condenser (known: CGC_COND, HP, LP, MP, PRC_COND, SHP, TG3_COND)",
    ),
    ("boiler-unknown-fuel", put("boilers.B3.fuels[1]", "fuel_oil"), "boilers.B3.fuels[1]", "'fuel_oil'", "unknown fuel (known: fuel_gas, natural_gas)"),
    ("gas-turbine-unknown-fuel", put("gas_turbines.GT2.fuel", "diesel"), "gas_turbines.GT2.fuel", "'diesel'", "unknown fuel (known: fuel_gas, natural_gas)"),
    ("duct-burner-unknown-fuel", put("gas_turbines.GT1.hrsg.duct_fuel", "lpg"), "gas_turbines.GT1.hrsg.duct_fuel", "'lpg'", "unknown fuel"),
    ("practice-power-unknown-turbine", put("practice.turbine_power_mw.TG9", 5.0), "practice.turbine_power_mw.TG9", "'TG9'", "unknown turbine (known: BFP, CGC, ETH, PRC, TG1, TG2, TG3)"),
    ("practice-extraction-unknown-turbine", put("practice.extraction_tph.TG9", [10.0]), "practice.extraction_tph.TG9", "'TG9'", "unknown turbine"),
    ("practice-motor-unknown-turbine", put("practice.drivers_on_motor", ["BFP2"]), "practice.drivers_on_motor[0]", "'BFP2'", "unknown turbine"),
    ("practice-duct-unknown-gas-turbine", put("practice.duct_firing_tph.GT3", 5.0), "practice.duct_firing_tph.GT3", "'GT3'", "unknown gas_turbine (known: GT1, GT2)"),
    # -- ids
    (
        "consumer-named-like-boiler",
        put("consumers.B1", {"header": "LP", "demand_tph": 1.0}),
        "consumers.B1",
        "'B1'",
        "duplicate id: already used by boilers.B1",
    ),
    (
        "condenser-named-like-header",
        put("condensers.LP", {"pressure_bara": 0.1}),
        "condensers.LP",
        "'LP'",
        "duplicate id: already used by headers.LP",
    ),
    ("vent-named-like-fuel", put("vents.fuel_gas", {"header": "LP", "max_flow_tph": 5.0}), "vents.fuel_gas", "'fuel_gas'", "duplicate id: already used by fuels.fuel_gas"),
    ("id-with-space", put("consumers.LP FLARE", {"header": "LP", "demand_tph": 1.0}), "consumers.LP FLARE", "'LP FLARE'", "id must use letters, digits, '_' or '-' only"),
    # -- pressure order
    (
        "letdown-outlet-above-inlet",
        put("letdowns.LD_MP_LP.outlet", "HP"),
        "letdowns.LD_MP_LP.outlet",
        "'HP'",
        "outlet pressure 43.013 bar(a) must be below inlet MP's 19.013 bar(a)",
    ),
    (
        "letdown-outlet-equal-inlet",
        put("letdowns.LD_HP_MP.outlet", "HP"),
        "letdowns.LD_HP_MP.outlet",
        "'HP'",
        "outlet pressure 43.013 bar(a) must be below inlet HP's 43.013 bar(a)",
    ),
    (
        "section-outlet-above-previous-stage",
        put("turbines.TG1.sections[1].outlet", "HP"),
        "turbines.TG1.sections[1].outlet",
        "'HP'",
        "outlet pressure 43.013 bar(a) must be below MP's 19.013 bar(a)",
    ),
    (
        "first-section-outlet-at-inlet-pressure",
        put("turbines.ETH.sections[0].outlet", "HP"),
        "turbines.ETH.sections[0].outlet",
        "'HP'",
        "outlet pressure 43.013 bar(a) must be below HP's 43.013 bar(a)",
    ),
    (
        "condenser-not-last-section",
        lambda d: d["turbines"]["CGC"]["sections"].reverse(),
        "turbines.CGC.sections[0].outlet",
        "'CGC_COND'",
        "a condenser can only be the last section's outlet",
    ),
    # -- ranges (negative limits, out-of-range values)
    ("negative-boiler-max", put("boilers.B3.max_steam_tph", -10.0), "boilers.B3.max_steam_tph", "-10.0", "must be > 0 t/h (allowed (0, 5000])"),
    ("negative-boiler-min", put("boilers.B1.min_steam_tph", -5.0), "boilers.B1.min_steam_tph", "-5.0", "must be >= 0 t/h"),
    ("negative-letdown-capacity", put("letdowns.LD_HP_MP.max_flow_tph", -1.0), "letdowns.LD_HP_MP.max_flow_tph", "-1.0", "must be > 0 t/h"),
    ("negative-demand", put("consumers.LP_TRACING.demand_tph", -10.0), "consumers.LP_TRACING.demand_tph", "-10.0", "must be >= 0 t/h (allowed [0, 5000])"),
    ("negative-fuel-price", put("fuels.natural_gas.price_per_gj", -1.0), "fuels.natural_gas.price_per_gj", "-1.0", "must be >= 0 currency/GJ"),
    ("negative-section-min-flow", put("turbines.TG1.sections[0].min_flow_tph", -1.0), "turbines.TG1.sections[0].min_flow_tph", "-1.0", "must be >= 0 t/h"),
    ("negative-import-limit", put("electricity.max_import_mw", -5.0), "electricity.max_import_mw", "-5.0", "must be >= 0 MW"),
    ("negative-practice-duct-firing", put("practice.duct_firing_tph.GT1", -1.0), "practice.duct_firing_tph.GT1", "-1.0", "must be >= 0 t/h"),
    ("zero-ramp", put("boilers.B1.ramp_tph_per_min", 0.0), "boilers.B1.ramp_tph_per_min", "0.0", "must be > 0 t/h/min"),
    ("condenser-above-range", put("condensers.CGC_COND.pressure_bara", 2.0), "condensers.CGC_COND.pressure_bara", "2.0", "must be < 1.5 bar(a) (allowed (0.005, 1.5))"),
    ("efficiency-above-one", put("boilers.B2.efficiency_curve.efficiency[5]", 1.2), "boilers.B2.efficiency_curve.efficiency[5]", "1.2", "must be <= 1"),
    ("weekday-out-of-range", put("electricity.tariff[0].weekdays", [0, 7]), "electricity.tariff[0].weekdays[1]", "7", "must be <= 6"),
    ("start-hour-24", put("electricity.tariff[0].start_hour", 24), "electricity.tariff[0].start_hour", "24", "must be <= 23 h (allowed [0, 23])"),
    ("atmosphere-out-of-range", put("steam.atmospheric_pressure_bar", 1.2), "steam.atmospheric_pressure_bar", "1.2", "must be < 1.1 bar(a) (allowed (0.8, 1.1))"),
    # -- inverted min/max
    ("boiler-min-above-max", put("boilers.B2.min_steam_tph", 170.0), "boilers.B2.min_steam_tph", "170.0", "must not exceed max_steam_tph = 160"),
    ("generator-min-above-max", put("turbines.TG1.min_power_mw", 30.0), "turbines.TG1.min_power_mw", "30.0", "must not exceed max_power_mw = 25"),
    ("section-min-above-max", put("turbines.TG2.sections[0].min_flow_tph", 200.0), "turbines.TG2.sections[0].min_flow_tph", "200.0", "must not exceed max_flow_tph = 150"),
    ("rated-above-max", put("turbines.ETH.sections[0].rated_flow_tph", 130.0), "turbines.ETH.sections[0].rated_flow_tph", "130.0", "must not exceed max_flow_tph = 120"),
    ("flexible-band-inverted", put("consumers.MP_C3_SPLITTER.min_tph", 31.0), "consumers.MP_C3_SPLITTER.min_tph", "31.0", "must not exceed max_tph = 30"),
    ("flexible-demand-outside-band", put("consumers.MP_C3_SPLITTER.demand_tph", 35.0), "consumers.MP_C3_SPLITTER.demand_tph", "35.0", "must lie in [min_tph, max_tph] = [25.5, 30]"),
    ("duct-min-above-max", put("gas_turbines.GT1.hrsg.duct_min_steam_tph", 40.0), "gas_turbines.GT1.hrsg.duct_min_steam_tph", "40.0", "must not exceed duct_max_steam_tph = 30"),
    ("gas-turbine-min-above-iso", put("gas_turbines.GT2.min_power_mw", 50.0), "gas_turbines.GT2.min_power_mw", "50.0", "must not exceed iso_power_mw = 42"),
    ("byproduct-min-above-max", put("byproduct_sources.TLE.min_steam_tph", 300.0), "byproduct_sources.TLE.min_steam_tph", "300.0", "must not exceed max_steam_tph = 280"),
    ("byproduct-nominal-outside", put("byproduct_sources.TLE.nominal_steam_tph", 300.0), "byproduct_sources.TLE.nominal_steam_tph", "300.0", "must lie in [min_steam_tph, max_steam_tph] = [200, 280]"),
    ("contract-min-above-import", put("electricity.contract_min_import_mw", 90.0), "electricity.contract_min_import_mw", "90.0", "must not exceed max_import_mw = 80"),
    ("practice-power-outside-range", put("practice.turbine_power_mw.TG2", 20.0), "practice.turbine_power_mw.TG2", "20.0", "must lie in [2, 12] MW"),
    ("practice-duct-above-burner", put("practice.duct_firing_tph.GT1", 40.0), "practice.duct_firing_tph.GT1", "40.0", "must not exceed the duct burner's 30 t/h"),
    # -- header sources
    (
        "header-without-source",
        put("headers.VLP", {"pressure_barg": 0.5, "temp_c": 150.0}),
        "headers.VLP",
        "'VLP'",
        "has no possible source: no boiler, HRSG, by-product source, letdown or turbine section feeds it",
    ),
    # -- unknown keys and typos
    ("typo-boiler-key", put("boilers.B1.max_steam_tp", 150.0), "boilers.B1.max_steam_tp", "150.0", "did you mean 'max_steam_tph'?"),
    ("typo-top-level-key", put("curency", "THB"), "curency", "'THB'", "unknown key (allowed: boilers, byproduct_sources, condensers,"),
    ("typo-section-key", put("turbines.TG1.sections[0].isentropic_efficency", 0.78), "turbines.TG1.sections[0].isentropic_efficency", "0.78", "did you mean 'isentropic_efficiency'?"),
    ("typo-curve-key", put("boilers.B1.efficiency_curve.load_fractions", [0.5, 1.0]), "boilers.B1.efficiency_curve.load_fractions", "[0.5, 1.0]", "did you mean 'load_fraction'?"),
    ("typo-fouling-key", put("gas_turbines.GT1.fouling.E10.power_loss_per_100h", 0.1), "gas_turbines.GT1.fouling.E10.power_loss_per_100h", "0.1", "did you mean 'power_loss_per_1000h'?"),
    # -- wrong types
    ("string-for-number", put("headers.HP.pressure_barg", "42"), "headers.HP.pressure_barg", "'42'", "must be a number (in bar(g))"),
    ("bool-for-number", put("boilers.B1.max_steam_tph", True), "boilers.B1.max_steam_tph", "True", "must be a number (in t/h)"),
    ("number-for-bool", put("boilers.B1.available", 1), "boilers.B1.available", "1", "must be true or false"),
    ("string-for-bool", put("consumers.MP_C3_SPLITTER.flexible", "yes"), "consumers.MP_C3_SPLITTER.flexible", "'yes'", "must be true or false"),
    ("table-for-list", put("boilers.B1.fuels", {"natural_gas": True}), "boilers.B1.fuels", "{'natural_gas': True}", "must be a list of strings"),
    ("table-for-sections", put("turbines.TG2.sections", {"outlet": "LP", "max_flow_tph": 150.0}), "turbines.TG2.sections", "{'outlet': 'LP'", "must be a list of tables"),
    ("list-for-table", put("boilers.B1.efficiency_curve", [0.9, 0.91]), "boilers.B1.efficiency_curve", "[0.9, 0.91]", "must be a table"),
    ("string-for-component", put("headers.HP", "42 barg"), "headers.HP", "'42 barg'", "must be a table"),
    ("float-for-int", put("electricity.tariff[0].start_hour", 9.5), "electricity.tariff[0].start_hour", "9.5", "must be an integer"),
    ("string-in-int-list", put("electricity.tariff[0].weekdays", [0, "Tue"]), "electricity.tariff[0].weekdays[1]", "'Tue'", "must be an integer"),
    ("number-for-string", put("name", 42), "name", "42", "must be a string"),
    ("bad-drive", put("turbines.TG1.drive", "motor"), "turbines.TG1.drive", "'motor'", "must be one of 'generator', 'machine'"),
    ("bad-section-model", put("turbines.TG1.sections[0].model", "willian"), "turbines.TG1.sections[0].model", "'willian'", "must be one of 'willans', 'isentropic', 'enthalpy_drop'"),
    ("bad-gwp-set", put("emissions.gwp_set", "AR4"), "emissions.gwp_set", "'AR4'", "must be one of 'AR5', 'AR6'"),
    ("string-in-practice-table", put("practice.turbine_power_mw.TG1", "10"), "practice.turbine_power_mw.TG1", "'10'", "must be a number (in MW)"),
    # -- missing required fields
    ("missing-boiler-max", drop("boilers.B1.max_steam_tph"), "boilers.B1.max_steam_tph", "(missing)", "required: maximum continuous steam (t/h, a number)"),
    ("missing-site-name", drop("name"), "name", "(missing)", "required: site name (a string)"),
    ("missing-header-pressure", drop("headers.LP.pressure_barg"), "headers.LP.pressure_barg", "(missing)", "required: header pressure (bar(g), a number)"),
    ("missing-section-max-flow", drop("turbines.TG1.sections[1].max_flow_tph"), "turbines.TG1.sections[1].max_flow_tph", "(missing)", "required: maximum flow through the section"),
    ("missing-letdown-inlet", drop("letdowns.LD_HP_MP.inlet"), "letdowns.LD_HP_MP.inlet", "(missing)", "required: upstream header (a string)"),
    ("missing-fouling-rate", drop("gas_turbines.GT1.fouling.E12.power_loss_per_1000h"), "gas_turbines.GT1.fouling.E12.power_loss_per_1000h", "(missing)", "required: fractional power loss"),
    ("missing-tariff-name", drop("electricity.tariff[0].name"), "electricity.tariff[0].name", "(missing)", "required: period name (a string)"),
    ("missing-boiler-fuels", put("boilers.B2.fuels", []), "boilers.B2.fuels", "[]", "needs at least 1 item(s)"),
    ("no-turbine-sections", put("turbines.TG2.sections", []), "turbines.TG2.sections", "[]", "needs at least 1 item(s)"),
    ("no-headers", put("headers", {}), "headers", "{}", "a site needs at least one header"),
    # -- header states
    ("header-below-saturation", put("headers.LP.temp_c", 150.0), "headers.LP.temp_c", "150.0", "must be above saturation (155.6 C at 4.5 bar(g))"),
    (
        "header-enthalpy-below-liquid",
        both(drop("headers.LP.temp_c"), put("headers.LP.enthalpy_kj_kg", 500.0)),
        "headers.LP.enthalpy_kj_kg",
        "500.0",
        "must exceed saturated-liquid enthalpy",
    ),
    (
        "header-temp-and-enthalpy",
        put("headers.HP.enthalpy_kj_kg", 3200.0),
        "headers.HP",
        "{'temp_c': 400.0, 'enthalpy_kj_kg': 3200.0}",
        "give exactly one of temp_c or enthalpy_kj_kg",
    ),
    (
        "header-neither-temp-nor-enthalpy",
        drop("headers.MP.temp_c"),
        "headers.MP",
        "{'temp_c': None, 'enthalpy_kj_kg': None}",
        "give exactly one of temp_c or enthalpy_kj_kg",
    ),
    (
        "header-supercritical",
        put("headers.SHP.pressure_barg", 250.0),
        "headers.SHP.pressure_barg",
        "250.0",
        "absolute pressure 251.013 bar(a) must lie between the triple point 0.00611657 and the critical point 220.64 bar(a)",
    ),
    ("nan-header-temp", put("headers.HP.temp_c", math.nan), "headers.HP.temp_c", "nan", "must be a number, not nan"),
    ("nan-in-curve", put("boilers.B1.efficiency_curve.efficiency[0]", math.nan), "boilers.B1.efficiency_curve.efficiency[0]", "nan", "must be a number, not nan"),
    ("nan-in-practice", put("practice.extraction_tph.CGC", [math.nan]), "practice.extraction_tph.CGC[0]", "nan", "must be a number, not nan"),
    ("inf-penalty", put("vents.V_LP.penalty_per_t", math.inf), "vents.V_LP.penalty_per_t", "inf", "must be finite"),
    ("inf-ramp", put("boilers.B1.ramp_tph_per_min", math.inf), "boilers.B1.ramp_tph_per_min", "inf", "must be finite"),
    # -- boilers: efficiency and curves
    (
        "boiler-efficiency-and-curve",
        put("boilers.B1.efficiency", 0.9),
        "boilers.B1",
        "{'efficiency': 0.9, 'efficiency_curve': EfficiencyCurve(",
        "give exactly one of efficiency or efficiency_curve",
    ),
    (
        "boiler-neither-efficiency-nor-curve",
        drop("boilers.B4.efficiency_curve"),
        "boilers.B4",
        "{'efficiency': None, 'efficiency_curve': None}",
        "give exactly one of efficiency or efficiency_curve",
    ),
    (
        "curve-not-strictly-increasing",
        put("boilers.B1.efficiency_curve.load_fraction", [0.25, 0.40, 0.40, 0.70, 0.85, 1.00]),
        "boilers.B1.efficiency_curve.load_fraction",
        "[0.25, 0.4, 0.4, 0.7, 0.85, 1.0]",
        "must be strictly increasing",
    ),
    (
        "gas-turbine-curve-decreasing",
        put("gas_turbines.GT1.part_load_efficiency.load_fraction", [0.25, 0.75, 0.50, 1.00]),
        "gas_turbines.GT1.part_load_efficiency.load_fraction",
        "[0.25, 0.75, 0.5, 1.0]",
        "must be strictly increasing",
    ),
    (
        "curve-lengths-mismatch",
        drop("boilers.B3.efficiency_curve.efficiency[5]"),
        "boilers.B3.efficiency_curve.efficiency",
        "[0.888, 0.904, 0.914, 0.918, 0.915]",
        "must have as many points as load_fraction (6)",
    ),
    (
        "hrsg-curve-lengths-mismatch",
        put("gas_turbines.GT2.hrsg.part_load_recovery.relative", [0.9, 0.95, 1.0, 1.0, 1.0]),
        "gas_turbines.GT2.hrsg.part_load_recovery.relative",
        "[0.9, 0.95, 1.0, 1.0, 1.0]",
        "must have as many points as load_fraction (4)",
    ),
    (
        "curve-single-point",
        put("boilers.B2.efficiency_curve", {"load_fraction": [1.0], "efficiency": [0.9]}),
        "boilers.B2.efficiency_curve.load_fraction",
        "[1.0]",
        "needs at least 2 item(s)",
    ),
    # -- gas turbines
    ("filter-class-not-in-fouling", put("gas_turbines.GT1.filter_class", "F9"), "gas_turbines.GT1.filter_class", "'F9'", "must be one of the fouling classes: E10, E12"),
    ("duct-burner-without-fuel", drop("gas_turbines.GT2.hrsg.duct_fuel"), "gas_turbines.GT2.hrsg.duct_fuel", "None", "required when duct_max_steam_tph > 0"),
    # -- steam turbines
    ("machine-without-power", drop("turbines.CGC.power_mw"), "turbines.CGC.power_mw", "None", "required for a machine drive"),
    ("generator-without-max-power", drop("turbines.TG2.max_power_mw"), "turbines.TG2.max_power_mw", "None", "required for a generator"),
    ("willans-without-efficiency", drop("turbines.ETH.sections[0].isentropic_efficiency"), "turbines.ETH.sections[0].isentropic_efficiency", "None", "required for a willans section"),
    ("enthalpy-drop-to-condenser", put("turbines.PRC.sections[1].model", "enthalpy_drop"), "turbines.PRC.sections[1].model", "'enthalpy_drop'", "an enthalpy_drop section to a condenser needs exhaust_enthalpy_kj_kg or enthalpy_drop_kj_kg"),
    # -- practice
    (
        "practice-too-many-extractions",
        put("practice.extraction_tph.CGC", [120.0, 10.0]),
        "practice.extraction_tph.CGC",
        "[120.0, 10.0]",
        "needs 1 value(s), one per extraction of a 2-section turbine",
    ),
    (
        "practice-extraction-on-back-pressure-turbine",
        put("practice.extraction_tph.ETH", [5.0]),
        "practice.extraction_tph.ETH",
        "[5.0]",
        "needs 0 value(s), one per extraction of a 1-section turbine",
    ),
    ("practice-power-on-machine", put("practice.turbine_power_mw.CGC", 30.0), "practice.turbine_power_mw.CGC", "30.0", "only generator turbines take a power setpoint"),
    ("practice-motor-without-motor", put("practice.drivers_on_motor", ["ETH"]), "practice.drivers_on_motor[0]", "'ETH'", "this drive has no motor alternative"),
    # -- electricity
    ("tariff-end-equals-start", put("electricity.tariff[0].end_hour", 9), "electricity.tariff[0].end_hour", "9", "must be after start_hour = 9"),
    ("tariff-end-before-start", put("electricity.tariff[0].end_hour", 8), "electricity.tariff[0].end_hour", "8", "must be after start_hour = 9"),
    ("no-electricity-with-generators", drop("electricity"), "electricity", "None", "required: the site generates or uses power"),
    # -- consumers
    (
        "flexible-without-band",
        drop("consumers.MP_C3_SPLITTER.min_tph"),
        "consumers.MP_C3_SPLITTER",
        "{'min_tph': None, 'max_tph': 30.0}",
        "a flexible consumer needs min_tph and max_tph",
    ),
    ("band-without-flexible", put("consumers.MP_C3_SPLITTER.flexible", False), "consumers.MP_C3_SPLITTER.flexible", "False", "min_tph/max_tph are given, so flexible must be true"),
    # -- water side
    ("feedwater-above-deaerator-saturation", put("steam.feedwater_temp_c", 150.0), "steam.feedwater_temp_c", "150.0", "must not exceed the deaerator's saturation temperature 120.42 C at 1 bar(g)"),
    # 0.1 C above saturation is already steam at the deaerator's pressure (found on a site at 1.3 bar(g), 125 C)
    ("feedwater-just-above-deaerator-saturation", put("steam.feedwater_temp_c", 120.5), "steam.feedwater_temp_c", "120.5",
     "must not exceed the deaerator's saturation temperature 120.42 C at 1 bar(g)"),
    # -- measurement uncertainty and the OPC UA tag map
    ("sigma-unknown-tag", put("measurements.sigma_rel", {"LD_XX.steam_tph": 0.02}), "measurements.sigma_rel.LD_XX.steam_tph", "'LD_XX.steam_tph'", "must be a flow tag"),
    ("sigma-not-a-flow", put("measurements.sigma_rel", {"ambient_temp_c": 0.02}), "measurements.sigma_rel.ambient_temp_c", "'ambient_temp_c'", "must be a flow tag"),
    ("sigma-too-large", put("measurements.sigma_rel", {"B1.steam_tph": 0.9}), "measurements.sigma_rel.B1.steam_tph", "0.9", "<= 0.5"),
    ("sigma-abs-zero", put("measurements.sigma_abs_tph", 0.0), "measurements.sigma_abs_tph", "0.0", "> 0"),
    ("default-sigma-zero", put("measurements.default_sigma_rel", 0.0), "measurements.default_sigma_rel", "0.0", "> 0"),
    ("read-node-unknown-tag", put_key("plant_connection.read_nodes", "B9.steam_tph", "ns=2;s=x"), "plant_connection.read_nodes.B9.steam_tph", "'B9.steam_tph'", "not a snapshot tag of this site"),
    ("read-node-bad-node-id", put_key("plant_connection.read_nodes", "B1.steam_tph", "B1 steam"), "plant_connection.read_nodes.B1.steam_tph", "'B1 steam'", "must be an OPC UA node id"),
    ("control-node-not-a-setpoint", put("plant_connection.control_nodes.ambient_temp_c", "ns=2;s=amb.SP"), "plant_connection.control_nodes.ambient_temp_c", "'ambient_temp_c'", "not a setpoint of this site"),
    ("control-node-is-read", put_key("plant_connection.control_nodes", "B1.steam_tph", "ns=2;s=RO.B1.steam_tph.PV"), "plant_connection", "'ns=2;s=RO.B1.steam_tph.PV'", "never both read and written"),
    ("watchdog-bad-node-id", put("plant_connection.watchdog_node", "ns=two;s=hb"), "plant_connection.watchdog_node", "'ns=two;s=hb'", "must be an OPC UA node id"),
    ("boiler-feedwater-above-saturation", put("boilers.B1.feedwater_temp_c", 330.0), "boilers.B1.feedwater_temp_c", "330.0", "feedwater must be below saturation at SHP (318."),
]


@pytest.mark.parametrize(("mutation", "path", "value", "rule"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_site_is_reported(mutation: Mutation, path: str, value: str, rule: str) -> None:
    data = reference()
    mutation(data)
    err = errors_of(data)
    assert_reported(err, path, value, rule)
    assert any(issue.path == path for issue in err.issues)


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- details of some rules


def test_typo_hint_names_the_allowed_keys() -> None:
    data = reference()
    data["boilers"]["B1"]["max_steam_tp"] = 150.0
    line = assert_reported(errors_of(data), "boilers.B1.max_steam_tp", "150.0", "unknown key (allowed: ")
    assert "max_steam_tph" in line and "min_steam_tph" in line and "efficiency_curve" in line
    assert line.endswith("; did you mean 'max_steam_tph'?")


def test_unknown_key_without_close_match_has_no_hint() -> None:
    data = reference()
    data["headers"]["HP"]["colour"] = "red"
    line = assert_reported(errors_of(data), "headers.HP.colour", "'red'", "unknown key (allowed: enthalpy_kj_kg, pressure_barg, spray_water, swing_reserve_tph, temp_c)")
    assert "did you mean" not in line


def test_unknown_key_alone_still_runs_the_cross_component_rules() -> None:
    """An unknown key does not stop the build, so a cross-component problem is reported with it."""
    data = reference()
    data["boilers"]["B1"]["max_steam_tp"] = 150.0
    data["boilers"]["B2"]["header"] = "XHP"
    err = errors_of(data)
    assert_reported(err, "boilers.B1.max_steam_tp", "150.0", "did you mean 'max_steam_tph'?")
    assert_reported(err, "boilers.B2.header", "'XHP'", "unknown header")
    assert len(err.issues) == 2


def test_saturation_in_message_matches_iapws() -> None:
    """The temperature quoted by the header rule is the IF97 saturation temperature at the
    header's absolute pressure (4.5 bar(g) + 1.01325 bar)."""
    from optimizer import steam

    data = reference()
    data["headers"]["LP"]["temp_c"] = 150.0
    t_sat = steam.saturation_temp_c(4.5 + 1.01325)
    assert 155.0 < t_sat < 156.0
    assert_reported(errors_of(data), "headers.LP.temp_c", "150.0", f"must be above saturation ({t_sat:.1f} C at 4.5 bar(g))")


def test_header_exactly_at_saturation_is_rejected() -> None:
    from optimizer import steam

    data = reference()
    t_sat = steam.saturation_temp_c(18.0 + 1.01325)
    data["headers"]["MP"]["temp_c"] = t_sat
    assert_reported(errors_of(data), "headers.MP.temp_c", repr(t_sat), "must be above saturation")


def test_non_table_root_names_the_file() -> None:
    err = errors_of([1, 2])
    assert str(err) == "ref.toml: (file) = [1, 2]: must be a table of site data (as parsed from TOML)"


def test_empty_site_reports_the_missing_name() -> None:
    err = errors_of({})
    assert str(err) == "ref.toml: name = (missing): required: site name (a string)"


# --------------------------------------------------------------------------- many problems at once


def test_several_type_and_range_problems_are_all_reported() -> None:
    data = reference()
    data["boilers"]["B3"]["max_steam_tph"] = -10.0
    data["headers"]["HP"]["pressure_barg"] = "42"
    data["turbines"]["TG1"]["drive"] = "motor"
    data["consumers"]["LP_FLARE"]["demand_tph"] = math.nan
    del data["letdowns"]["LD_HP_MP"]["inlet"]
    err = errors_of(data)
    expected = [
        ("boilers.B3.max_steam_tph", "-10.0", "must be > 0 t/h"),
        ("headers.HP.pressure_barg", "'42'", "must be a number"),
        ("turbines.TG1.drive", "'motor'", "must be one of"),
        ("consumers.LP_FLARE.demand_tph", "nan", "not nan"),
        ("letdowns.LD_HP_MP.inlet", "(missing)", "required"),
    ]
    for path, value, rule in expected:
        assert_reported(err, path, value, rule)
    assert len(err.issues) == len(expected)
    assert len(str(err).splitlines()) == len(expected)


def test_several_cross_component_problems_are_all_reported() -> None:
    data = reference()
    data["boilers"]["B3"]["header"] = "XHP"
    data["letdowns"]["LD_MP_LP"]["outlet"] = "HP"
    data["consumers"]["B1"] = {"header": "LP", "demand_tph": 1.0}
    data["electricity"]["tariff"][0]["end_hour"] = 9
    data["gas_turbines"]["GT1"]["filter_class"] = "F9"
    data["practice"]["extraction_tph"]["CGC"] = [120.0, 10.0]
    err = errors_of(data)
    expected = [
        ("boilers.B3.header", "'XHP'", "unknown header"),
        ("letdowns.LD_MP_LP.outlet", "'HP'", "must be below inlet MP's"),
        ("consumers.B1", "'B1'", "duplicate id"),
        ("electricity.tariff[0].end_hour", "9", "must be after start_hour"),
        ("gas_turbines.GT1.filter_class", "'F9'", "fouling classes"),
        ("practice.extraction_tph.CGC", "[120.0, 10.0]", "needs 1 value(s)"),
    ]
    for path, value, rule in expected:
        assert_reported(err, path, value, rule)
    assert len(err.issues) == len(expected)
    assert len(str(err).splitlines()) == len(expected)


def test_site_error_is_a_value_error_with_structured_issues() -> None:
    data = reference()
    data["boilers"]["B3"]["max_steam_tph"] = -10.0
    err = errors_of(data)
    assert isinstance(err, ValueError)
    assert err.source == SOURCE
    (issue,) = err.issues
    assert (issue.path, issue.value) == ("boilers.B3.max_steam_tph", -10.0)
    assert issue.rule.startswith("must be > 0 t/h")


# --------------------------------------------------------------------------- text and files


def test_reference_site_loads_cleanly() -> None:
    site = load_site(REFERENCE_SITE)
    assert site.name == "reference_olefins"
    assert site.source == str(REFERENCE_SITE)
    assert list(site.headers) == ["SHP", "HP", "MP", "LP"]
    assert len(site.boilers) == 4 and len(site.turbines) == 7 and len(site.consumers) == 20


def test_reference_data_validates_from_a_dict() -> None:
    site = site_from_dict(reference(), SOURCE)
    assert site.source == SOURCE
    assert site == load_site(REFERENCE_SITE)  # source is excluded from comparison


def test_toml_syntax_error() -> None:
    text = REFERENCE_SITE.read_text(encoding="utf-8").replace('name = "reference_olefins"', 'name = "reference_olefins', 1)
    with pytest.raises(SiteError) as info:
        parse_site(text, "broken.toml")
    (line,) = str(info.value).splitlines()
    assert line.startswith("broken.toml: (toml) = '': is not valid TOML: ")
    assert "line 5" in line


def test_toml_duplicate_table_is_a_syntax_error() -> None:
    text = REFERENCE_SITE.read_text(encoding="utf-8") + '\n[headers.LP]\npressure_barg = 4.5\ntemp_c = 200.0\n'
    with pytest.raises(SiteError, match=r"^dup\.toml: \(toml\) = '': is not valid TOML: "):
        parse_site(text, "dup.toml")


def test_parse_site_validates_the_content() -> None:
    text = REFERENCE_SITE.read_text(encoding="utf-8").replace("max_steam_tph = 160.0              # t/h\n", "max_steam_tph = -1.0\n", 1)
    with pytest.raises(SiteError) as info:
        parse_site(text, "text.toml")
    assert_reported(info.value, "boilers.B1.max_steam_tph", "-1.0", "must be > 0 t/h", source="text.toml")


def test_file_too_large(tmp_path: Path) -> None:
    path = tmp_path / "huge.toml"
    path.write_text("# padding\n" * (MAX_SITE_FILE_BYTES // 10 + 1), encoding="utf-8")
    with pytest.raises(SiteError) as info:
        load_site(path)
    size = path.stat().st_size
    assert size > MAX_SITE_FILE_BYTES
    assert str(info.value) == f"{path}: (file) = '{size} bytes': must be at most {MAX_SITE_FILE_BYTES} bytes"


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "caf\u00e9"\n'.encode("latin-1"))
    with pytest.raises(SiteError) as info:
        load_site(path)
    assert str(info.value) == f"{path}: (file) = 'byte 11': is not UTF-8 text"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    with pytest.raises(SiteError) as info:
        load_site(path)
    assert str(info.value) == f"{path}: (file) = '{path}': cannot be read: {os.strerror(errno.ENOENT)}"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(SiteError) as info:
        load_site(tmp_path)
    assert str(info.value).startswith(f"{tmp_path}: (file) = '{tmp_path}': cannot be read: ")


def test_load_site_reports_content_errors_with_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "site.toml"
    path.write_text(REFERENCE_SITE.read_text(encoding="utf-8").replace('header = "SHP"', 'header = "XHP"', 1), encoding="utf-8")
    with pytest.raises(SiteError) as info:
        load_site(path)
    assert_reported(info.value, "boilers.B1.header", "'XHP'", "unknown header", source=str(path))
