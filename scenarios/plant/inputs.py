"""What the plant simulator takes: the operating point (setpoints) and the disturbances.

Both are plain dataclasses of dicts keyed by component id, so a policy, a profile generator or a
test can build them without knowing the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class Disturbances:
    """Conditions the operators do not choose, at one timestamp.

    Missing entries fall back to the site's nominal values (consumer ``demand_tph``, by-product
    ``nominal_steam_tph``, machine-drive ``power_mw``, ``site_load_mw``, ``design_ambient_c``).

    The last three fields are the reality gap (:mod:`scenarios.plant.reality_gap`), known to the
    true plant only; their defaults (empty) change nothing:

    * ``boiler_efficiency_loss``: efficiency lost per boiler, absolute fraction (0.01 = one point);
    * ``gt_fouling_rate_factor``: true fouling rate / the site file's, per gas turbine (absent: 1);
    * ``unmeasured_loss_fraction``: steam lost unmetered per header, fraction of the steam its
      process consumers draw.

    ``fuel_gj_h``: the fuel system's by-product fuel-gas make per source and draw per process
    furnace, GJ/h (absent: ``nominal_gj_h`` / ``draw_gj_h``).

    ``column_feed_tph``: feed per steered column, t/h (absent: the column's ``feed_nominal_tph``
    scaled by its consumer demand over ``demand_tph``: the demand profile read as throughput).
    """

    timestamp: pd.Timestamp = field(default_factory=lambda: pd.Timestamp("2026-01-05 00:00"))
    ambient_temp_c: float | None = None
    consumer_demand_tph: dict[str, float] = field(default_factory=dict)
    byproduct_steam_tph: dict[str, float] = field(default_factory=dict)
    machine_power_mw: dict[str, float] = field(default_factory=dict)
    site_load_mw: float | None = None
    gt_fouling_hours: dict[str, float] = field(default_factory=dict)
    unavailable: set[str] = field(default_factory=set)
    boiler_efficiency_loss: dict[str, float] = field(default_factory=dict)
    gt_fouling_rate_factor: dict[str, float] = field(default_factory=dict)
    unmeasured_loss_fraction: dict[str, float] = field(default_factory=dict)
    column_feed_tph: dict[str, float] = field(default_factory=dict)
    fuel_gj_h: dict[str, float] = field(default_factory=dict)


@dataclass
class Setpoints:
    """The operating point chosen by a policy (today's practice, the optimiser, the oracle).

    * ``boiler_steam_tph``: steam per boiler; a boiler absent or at 0 is off. Boilers listed in
      ``boilers_on_master`` are trimmed by the header pressure master to close their header.
    * ``boiler_fuel_share``: per boiler, share of each fuel in its fuel energy (default: first fuel).
    * ``gt_power_mw``: power per gas turbine (absent: off); ``None`` means base load.
    * ``duct_steam_tph``: duct-fired steam per HRSG (0 or absent: burner off).
    * ``turbine_power_mw``: power per generator turbine (absent or 0: stopped).
    * ``turbine_extraction_tph``: extraction flows per multi-section turbine, one per extraction.
    * ``drivers_on_motor``: switchable drives run on their motor.
    * ``consumer_tph``: draw of flexible consumers (absent: nominal demand); for a steered
      column, its reboiler's steam flow setpoint (the reflux ratio follows).
    * ``column_reflux``: reflux ratio per steered column (wins over ``consumer_tph``; neither:
      the column's ``reflux_ratio_today``).
    * ``fuel_share``: per fuel-system burner (its id), share of each fuel header in its fuel
      energy (absent: all from its first header).
    """

    boiler_steam_tph: dict[str, float] = field(default_factory=dict)
    boilers_on_master: set[str] = field(default_factory=set)
    boiler_fuel_share: dict[str, dict[str, float]] = field(default_factory=dict)
    gt_power_mw: dict[str, float | None] = field(default_factory=dict)
    duct_steam_tph: dict[str, float] = field(default_factory=dict)
    turbine_power_mw: dict[str, float] = field(default_factory=dict)
    turbine_extraction_tph: dict[str, list[float]] = field(default_factory=dict)
    drivers_on_motor: set[str] = field(default_factory=set)
    consumer_tph: dict[str, float] = field(default_factory=dict)
    column_reflux: dict[str, float] = field(default_factory=dict)
    fuel_share: dict[str, dict[str, float]] = field(default_factory=dict)
