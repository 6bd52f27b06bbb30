"""Which quantities of a site are learned, and from which historian columns.

This is where the steam network meets :mod:`surrogate`, which only sees column names: each
learned quantity has one free decision input (a load) and disturbances, so that each cycle the
optimiser can embed it as an exact 1-D piecewise-linear curve.

| kind | inputs | output |
| --- | --- | --- |
| ``boiler_fuel`` | ``B.steam_tph``, ``ambient_temp_c`` | ``B.fuel_gj_h`` |
| ``gt_fuel`` | ``G.power_mw``, ``ambient_temp_c``, ``G.fouling_hours`` | ``G.fuel_gj_h`` |
| ``hrsg_steam`` | ``G.power_mw``, ``ambient_temp_c``, ``G.fouling_hours`` | ``G.hrsg_unfired_tph`` |
| ``turbine_steam`` | ``T.power_mw`` (single-section generators) | ``T.inlet_tph`` |
| ``column_steam`` | ``C.reflux_ratio``, ``C.feed_tph`` (steered columns) | ``C.steam_tph`` |
| ``column_purity`` | ``C.reflux_ratio``, ``C.feed_tph`` (steered columns) | ``C.purity_mol_frac`` |
| ``ectg_steam`` | ``T.power_mw``, ``T.extraction0_tph`` (extraction-condensing generators) | ``T.inlet_tph`` |

``ectg_steam`` has TWO decision inputs (power and extraction): it is embedded by the exact
multi-input ReLU embedding (:mod:`optimizer.relu_embedding`), not as a 1-D curve. Its data come
from the unit's own campaign (:class:`scenarios.plant.campaign.CampaignConfig` ``step_units``), so
that the other units' campaign, and so their training data, stay as they were.

Duct firing stays first principles (its incremental efficiency is close to 100 %).
"""

from __future__ import annotations

from optimizer.site.model import Site, extraction_condensing_generators
from scenarios.plant.historian import unit_of
from surrogate.data import QuantitySpec

AMBIENT = "ambient_temp_c"
AMBIENT_RANGE_C = (-20.0, 60.0)


def learned_quantities(site: Site) -> list[QuantitySpec]:
    """The site's learned quantities, with the valid range of every column (a unit that is off,
    or a reading outside physics, is not data for its curve)."""
    kinds, excluded = set(site.surrogates.kinds), set(site.surrogates.exclude)
    specs: list[QuantitySpec] = []

    def spec(name: str, inputs: list[str], outputs: list[str], ranges: dict) -> None:
        cols = inputs + outputs
        specs.append(QuantitySpec(name, inputs, outputs, ranges={AMBIENT: AMBIENT_RANGE_C, **ranges},
                                  units={c: unit_of(c) for c in cols}, settle_rows=0))

    if "boiler_fuel" in kinds:
        for b in site.boilers.values():
            if b.id not in excluded:
                spec(f"{b.id}_fuel", [f"{b.id}.steam_tph", AMBIENT], [f"{b.id}.fuel_gj_h"],
                     {f"{b.id}.steam_tph": (b.min_steam_tph * 0.97, b.max_steam_tph * 1.03), f"{b.id}.fuel_gj_h": (1e-6, 1e6)})
    for g in site.gas_turbines.values():
        if g.id in excluded:
            continue
        inputs = [f"{g.id}.power_mw", AMBIENT, f"{g.id}.fouling_hours"]
        ranges = {f"{g.id}.power_mw": (g.min_power_mw * 0.97, g.iso_power_mw * 1.2), f"{g.id}.fouling_hours": (0.0, 1e5)}
        if "gt_fuel" in kinds:
            spec(f"{g.id}_fuel", inputs, [f"{g.id}.fuel_gj_h"], {**ranges, f"{g.id}.fuel_gj_h": (1e-6, 1e6)})
        if "hrsg_steam" in kinds and g.hrsg is not None:
            spec(f"{g.id}_hrsg", inputs, [f"{g.id}.hrsg_unfired_tph"], {**ranges, f"{g.id}.hrsg_unfired_tph": (1e-6, 1e5)})
    if "turbine_steam" in kinds:
        for t in site.turbines.values():
            if t.id not in excluded and t.drive == "generator" and len(t.sections) == 1:
                spec(f"{t.id}_steam", [f"{t.id}.power_mw"], [f"{t.id}.inlet_tph"],
                     {f"{t.id}.power_mw": (max(t.min_power_mw, 1e-6) * 0.97, t.max_power_mw * 1.03), f"{t.id}.inlet_tph": (1e-6, 1e5)})
    for c in site.consumers.values():
        col = c.column
        if col is None or c.id in excluded:
            continue
        # reflux ratio first (the decision), the feed the disturbance; each over its range with
        # 3 % slack, like the units' loads above
        inputs = [f"{c.id}.reflux_ratio", f"{c.id}.feed_tph"]
        ranges = {f"{c.id}.reflux_ratio": (col.reflux_ratio_min * 0.97, col.reflux_ratio_max * 1.03),
                  f"{c.id}.feed_tph": (col.feed_min_tph * 0.97, col.feed_max_tph * 1.03)}
        if "column_steam" in kinds:
            spec(f"{c.id}_steam", inputs, [f"{c.id}.steam_tph"], {**ranges, f"{c.id}.steam_tph": (1e-6, 1e5)})
        if "column_purity" in kinds:
            spec(f"{c.id}_purity", inputs, [f"{c.id}.purity_mol_frac"], {**ranges, f"{c.id}.purity_mol_frac": (1e-6, 1.0)})
    if "ectg_steam" in kinds:
        for tid in extraction_condensing_generators(site):
            t = site.turbines[tid]
            if tid in excluded:
                continue
            hp, lp = t.sections
            spec(f"{tid}_steam", [f"{tid}.power_mw", f"{tid}.extraction0_tph"], [f"{tid}.inlet_tph"],
                 {f"{tid}.power_mw": (max(t.min_power_mw, 1e-6) * 0.97, t.max_power_mw * 1.03),
                  f"{tid}.extraction0_tph": (0.0, max(0.0, hp.max_flow_tph - lp.min_flow_tph) * 1.03),
                  f"{tid}.inlet_tph": (1e-6, 1e5)})
    return specs
