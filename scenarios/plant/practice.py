"""Today's practice: the rule-based dispatch a plant runs without an optimiser.

* every available boiler is on and on the SHP pressure master, sharing the load equally (the
  simulator's master trims them equally from their minimum);
* gas turbines at base load (``None`` = the maximum the ambient and fouling allow);
* duct firing, turbo-generator power and extraction flows at the site's fixed practice setpoints;
* drives on their turbine unless the practice puts them on the motor;
* flexible consumers at their nominal draw; a steered column at its fixed reflux ratio
  (``reflux_ratio_today``), its steam following its feed;
* letdowns and vents close the balances (the simulator's pressure controllers).
"""

from __future__ import annotations

from optimizer.site.model import Site
from scenarios.plant.inputs import Disturbances, Setpoints


def todays_practice(site: Site, disturbances: Disturbances) -> Setpoints:
    """Setpoints of today's practice for the given conditions."""
    pr = site.practice
    up = lambda uid: uid not in disturbances.unavailable  # noqa: E731
    boilers = {b.id: b.min_steam_tph for b in site.boilers.values() if b.available and up(b.id)}
    return Setpoints(
        boiler_steam_tph=boilers,
        boilers_on_master=set(boilers),
        gt_power_mw={g.id: None for g in site.gas_turbines.values() if g.available and up(g.id)},
        duct_steam_tph=dict(pr.duct_firing_tph),
        turbine_power_mw={t: p for t, p in pr.turbine_power_mw.items() if site.turbines[t].available and up(t)},
        turbine_extraction_tph={t: list(x) for t, x in pr.extraction_tph.items()},
        drivers_on_motor=set(pr.drivers_on_motor),
        consumer_tph={c.id: disturbances.consumer_demand_tph.get(c.id, c.demand_tph) for c in site.consumers.values()
                      if c.flexible and c.column is None},
        column_reflux={c.id: c.column.reflux_ratio_today for c in site.consumers.values() if c.column is not None},
    )
