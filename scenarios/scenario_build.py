"""What a scenario builds: its site with the changes applied (:func:`build_site`) and its
disturbance profile with the events (:func:`profile_config`, :func:`apply_events`,
:func:`scenario_disturbances`). Re-exported by :mod:`scenarios.scenario`."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pandas as pd

from optimizer.site.loader import site_from_dict
from optimizer.site.model import Site
from scenarios.plant.inputs import Disturbances
from scenarios.plant.profiles import Outage, ProfileConfig, generate_disturbances
from scenarios.scenario_changes import _known, _table, apply_changes
from scenarios.scenario_load import _site_path, read_site_data
from scenarios.scenario_model import Scenario


def build_site(scenario: Scenario) -> Site:
    """The scenario's site: the site file with the changes applied, validated.

    Raises :class:`~optimizer.site.schema.DataFileError` whose source names both files.
    """
    site_path = _site_path(scenario)
    data = read_site_data(scenario)
    changed = apply_changes(data, scenario.changes, source=scenario.source)
    return site_from_dict(changed, f"{site_path} with changes from {scenario.source}")


# --------------------------------------------------------------------------- profile and events


def profile_config(scenario: Scenario, site: Site | None = None) -> ProfileConfig:
    """The disturbance-profile settings of the scenario; outage events become profile outages.

    The fouling start hours apply to every gas turbine of ``site`` (read from the site file when
    no site is given).
    """
    p = scenario.profile
    gt_ids = list(site.gas_turbines) if site is not None else list(_table(read_site_data(scenario), "gas_turbines"))
    return ProfileConfig(
        start=pd.Timestamp(scenario.start),
        hours=scenario.hours,
        step_min=scenario.step_min,
        seed=scenario.seed,
        ambient_min_c=p.ambient_min_c,
        ambient_max_c=p.ambient_max_c,
        tle_variation=p.tle_variation,
        decoking=p.decoking,
        gt_fouling_start_hours={g: p.gt_fouling_start_hours for g in gt_ids},
        outages=[Outage(e.unit, pd.Timestamp(e.start), pd.Timestamp(e.end)) for e in scenario.events if e.kind == "outage"],
    )


def apply_events(disturbances: Sequence[Disturbances], scenario: Scenario, site: Site) -> list[Disturbances]:
    """Demand steps applied to a profile: inside ``[start, end)`` the consumer's demand is multiplied
    by ``factor`` (the disturbance's demand, else the site's nominal ``demand_tph``); overlapping
    steps multiply. Returns new objects for the changed steps; the input is not modified.
    (The simulator still keeps a flexible consumer's draw inside its band.)"""
    steps = [(e, pd.Timestamp(e.start), pd.Timestamp(e.end)) for e in scenario.events if e.kind == "demand_step"]
    for e, _, _ in steps:
        if e.unit not in site.consumers:
            raise ValueError(f"events: unit = {e.unit!r} is not a consumer of site {site.name!r} (known: {_known(site.consumers)})")
    out: list[Disturbances] = []
    for d in disturbances:
        hits = [e for e, a, z in steps if a <= d.timestamp < z]
        if hits:
            demand = dict(d.consumer_demand_tph)
            for e in hits:
                demand[e.unit] = demand.get(e.unit, site.consumers[e.unit].demand_tph) * e.factor
            d = dataclasses.replace(d, consumer_demand_tph=demand, unavailable=set(d.unavailable))
        out.append(d)
    return out


def scenario_disturbances(scenario: Scenario, site: Site) -> list[Disturbances]:
    """The scenario's profile on its (changed) site: generated, then demand steps applied."""
    return apply_events(generate_disturbances(site, profile_config(scenario, site)), scenario, site)
