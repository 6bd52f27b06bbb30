"""Apply a Proposal to the plant (simulator): the plant's controllers take the setpoints, and the
boilers' pressure master still closes the SHP balance around the proposed loads."""

from __future__ import annotations

from optimizer import tags
from optimizer.proposal import Proposal
from optimizer.site.model import Site
from scenarios.plant.inputs import Setpoints


def setpoints_from_proposal(site: Site, proposal: Proposal, previous: Setpoints | None = None) -> Setpoints:
    """Simulator setpoints from a Proposal's setpoints (tags); units not in it keep ``previous``."""
    sp = proposal.setpoints
    prev = previous or Setpoints()
    boilers = {b: sp[tags.boiler_steam(b)] for b in site.boilers if sp.get(f"{b}.on", 1) >= 0.5 and sp.get(tags.boiler_steam(b), 0.0) > 0}
    if not sp:
        return prev
    return Setpoints(
        boiler_steam_tph=boilers,
        boilers_on_master=set(boilers),
        boiler_fuel_share={b: {f: sp[f"{b}.fuel_{f}_share"] for f in bo.fuels} for b, bo in site.boilers.items()
                           if len(bo.fuels) > 1 and all(f"{b}.fuel_{f}_share" in sp for f in bo.fuels)} or prev.boiler_fuel_share,
        gt_power_mw={g: sp[tags.gt_power(g)] for g in site.gas_turbines if sp.get(tags.gt_power(g), 0.0) > 0},
        duct_steam_tph={g: sp.get(tags.duct_steam(g), 0.0) for g in site.gas_turbines},
        turbine_power_mw={t: sp.get(tags.turbine_power(t), 0.0) for t, tur in site.turbines.items() if tur.drive == "generator"},
        turbine_extraction_tph={t: [sp.get(tags.extraction(t, k), 0.0) for k in range(len(tur.sections) - 1)]
                                for t, tur in site.turbines.items() if len(tur.sections) > 1},
        drivers_on_motor={t for t, tur in site.turbines.items() if tur.motor is not None and sp.get(tags.on_motor(t), 0) >= 0.5},
        consumer_tph={c: sp[tags.steam(c)] for c, con in site.consumers.items() if con.flexible and con.column is None and tags.steam(c) in sp},
        column_reflux={c: sp[tags.column_reflux(c)] for c, con in site.consumers.items()
                       if con.column is not None and tags.column_reflux(c) in sp} or prev.column_reflux,
        fuel_share={u: {h: sp[tags.fuel_share(bu.unit, h, bu.duct)] for h in bu.headers} for u, bu in site.fuel_system.burners.items()
                    if all(tags.fuel_share(bu.unit, h, bu.duct) in sp for h in bu.headers)} or prev.fuel_share,
    )
