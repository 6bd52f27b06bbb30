"""Scenario studies as data: what to simulate, on which site, with which changes.

A scenario file (TOML, data only, size-limited) names a site file and a model directory, a
horizon (start, hours, step), the disturbance-profile settings, events (outages and demand
steps), changes to the site (inlet-filter class, column steam reduction, hydrogen
co-firing, carbon price, grid emission factor, GWP set, price scales) and the reality gap (a
true plant that differs from what the models know: :mod:`scenarios.plant.reality_gap`). Bundled
studies live in ``scenarios/studies/``.

Every field is declared with :func:`optimizer.site.model.attr` (unit, range, description), so a
scenario file is validated exactly like a site file, by :class:`optimizer.site.schema.Builder`;
every problem is one line of a :class:`~optimizer.site.schema.DataFileError` naming the file, the
dotted path, the value and the rule. :func:`scenario_reference_markdown` prints the tables.

API:

* :func:`load_scenario` (file) and :func:`scenario_from_dict` (plain data) -> :class:`Scenario`;
  the resolved paths are ``scenario.site_path`` and ``scenario.models_path`` (:class:`~pathlib.Path`).
  ``site`` and ``models`` are relative to the scenario file's folder and must resolve inside that
  folder tree or inside the project's ``scenarios/`` folder (absolute paths too); anything else is
  refused.
* :func:`build_site`: the site file with the scenario's changes (:func:`apply_changes`), validated
  by :func:`optimizer.site.loader.site_from_dict`.
* :func:`profile_config`, :func:`apply_events`, :func:`scenario_disturbances`: the disturbance
  profile of the scenario (outage events go into the profile, demand steps are applied after).
* :func:`with_overrides`: set dotted fields (``{"changes.carbon_price_per_t": 500}``) and
  re-validate, for sweeps; :func:`parse_set` parses one ``KEY=V1,V2,...`` command-line item.
  Short aliases (:data:`ALIASES`): ``carbon_price``, ``grid_ef``, ``filter_class``, ``gwp_set``,
  ``fuel_price_scale``, ``import_price_scale``, ``column_steam_reduction``, ``ambient_min_c``,
  ``ambient_max_c``.

Hydrogen co-firing (:func:`hydrogen_energy_share`): a volume fraction ``v`` of hydrogen in the fuel
gas carries the energy share ``s = v LHV_H2 / (v LHV_H2 + (1 - v) LHV_NG)`` with volumetric lower
heating values ``LHV_H2 = 10.8 MJ/Nm3`` and ``LHV_NG = 35.8 MJ/Nm3``; hydrogen burns without CO2,
so CO2 falls by ``s``. This reproduces the published mapping 10 vol% -> 3.2 %, 20 -> 7.0 %,
30 -> 11.4 %, 50 -> 23 % (IEA/NEA 2020, TNO/Ricardo-AEA 2012) to 0.1 point.

The code is split by job; this module re-exports it, so ``from scenarios.scenario import X`` is the
import path: :mod:`scenarios.scenario_model` (the dataclasses, paths, limits, aliases, reference
tables), :mod:`scenarios.scenario_load` (files and plain data validated into a scenario),
:mod:`scenarios.scenario_changes` (changes applied to the site's data and checked against it),
:mod:`scenarios.scenario_build` (the changed site and the disturbance profile) and
:mod:`scenarios.scenario_overrides` (``--set`` and sweeps).
"""

from __future__ import annotations

from scenarios.scenario_build import apply_events, build_site, profile_config, scenario_disturbances
from scenarios.scenario_changes import (
    H2_LHV_MJ_KG,
    H2_LHV_MJ_NM3,
    NATURAL_GAS_LHV_MJ_NM3,
    apply_changes,
    change_issues,
    event_issues,
    hydrogen_energy_share,
)
from scenarios.scenario_load import (
    ALLOWED_ROOTS_ENV,
    allowed_roots,
    bundled_scenarios,
    load_scenario,
    read_site_data,
    scenario_from_dict,
)
from scenarios.scenario_model import (
    ALIASES,
    MAX_SCENARIO_FILE_BYTES,
    SCENARIOS_DIR,
    SECTIONS,
    STUDIES_DIR,
    Changes,
    Event,
    HydrogenCofiring,
    Policy,
    ProfileSettings,
    Scenario,
    scenario_reference_markdown,
)
from scenarios.scenario_overrides import parse_set, with_overrides

__all__ = [
    "ALIASES",
    "ALLOWED_ROOTS_ENV",
    "Changes",
    "Event",
    "H2_LHV_MJ_KG",
    "H2_LHV_MJ_NM3",
    "HydrogenCofiring",
    "MAX_SCENARIO_FILE_BYTES",
    "NATURAL_GAS_LHV_MJ_NM3",
    "Policy",
    "ProfileSettings",
    "SCENARIOS_DIR",
    "SECTIONS",
    "STUDIES_DIR",
    "Scenario",
    "allowed_roots",
    "apply_changes",
    "apply_events",
    "build_site",
    "bundled_scenarios",
    "change_issues",
    "event_issues",
    "hydrogen_energy_share",
    "load_scenario",
    "parse_set",
    "profile_config",
    "read_site_data",
    "scenario_disturbances",
    "scenario_from_dict",
    "scenario_reference_markdown",
    "with_overrides",
]
