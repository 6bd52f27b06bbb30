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
| ``duct_steam`` | ``G.power_mw``, ``G.duct_fuel_gj_h`` (HRSGs with ``duct_curve = "learned"``) | ``G.duct_steam_tph`` |

``ectg_steam`` has TWO decision inputs (power and extraction): it is embedded by the exact
multi-input ReLU embedding (:mod:`optimizer.relu_embedding`), not as a 1-D curve. Its data come
from the unit's own campaign (:class:`scenarios.plant.campaign.CampaignConfig` ``step_units``), so
that the other units' campaign, and so their training data, stay as they were.

``duct_steam`` likewise has two decision inputs (the GT's power and the duct fuel), from the duct's
own campaign (``step_units`` naming the GT, :mod:`scenarios.plant.campaign`); rows with the burner
lit only. Other ducts stay additive (``duct_curve = "additive"``: fuel = steam x enthalpy rise /
``duct_efficiency``).
"""

from __future__ import annotations

from collections.abc import Mapping

from optimizer.site.model import Site, extraction_condensing_generators, learned_ducts
from scenarios.plant.historian import unit_of
from surrogate.data import QuantitySpec

AMBIENT = "ambient_temp_c"
AMBIENT_RANGE_C = (-20.0, 60.0)


def learned_quantities(site: Site, include_first_principles: bool = False) -> list[QuantitySpec]:
    """The site's learned quantities, with the valid range of every column (a unit that is off,
    or a reading outside physics, is not data for its curve). A unit whose ``curve_source`` is
    ``first_principles`` is not learned (left out) unless ``include_first_principles`` (the
    oracle: the true curves of every unit)."""
    return [spec for spec, _ in _learned(site, include_first_principles)]


def operating_ranges(site: Site) -> dict[str, dict[str, tuple[float, float]]]:
    """Per learned quantity, the operating range of each input the optimiser moves or the process
    sets over a known band (a boiler's steam [min, max] t/h, a GT's power [min, base power at the
    design ambient] MW, a generator turbine's power [min, max] MW, a column's reflux ratio and
    feed); ambient and fouling hours have none. Training data must cover these (see
    :func:`box_coverage`), or the optimiser would extrapolate the model over the rest."""
    return {spec.name: box for spec, box in _learned(site)}


def box_coverage(reference: Mapping[str, tuple[float, float]], domain: Mapping[str, tuple[float, float]]) -> dict[str, float]:
    """Per input of ``reference``: the share of its span that ``domain`` (a data or training
    domain, same units) covers, ``|[lo_d, hi_d] ∩ [lo_r, hi_r]| / (hi_r - lo_r)`` (1 for a
    zero-width reference span that the domain contains, else 0). Used before training by
    ``surrogate train`` (reference: the operating range) and ``surrogate retrain`` (reference:
    the current model's training domain)."""
    out = {}
    for name, (a, b) in reference.items():
        c, d = domain[name]
        inter = max(0.0, min(b, d) - max(a, c))
        out[name] = inter / (b - a) if b > a else float(c <= a <= d)
    return out


def narrow_inputs(coverage: Mapping[str, float], min_coverage: float) -> dict[str, float]:
    """The inputs whose coverage (:func:`box_coverage`) is below ``min_coverage``."""
    return {k: v for k, v in coverage.items() if v < min_coverage}


def _learned(site: Site, include_first_principles: bool = False) -> list[tuple[QuantitySpec, dict[str, tuple[float, float]]]]:
    kinds, excluded = set(site.surrogates.kinds), set(site.surrogates.exclude)
    if not include_first_principles:
        excluded |= {u.id for coll in (site.boilers, site.gas_turbines, site.turbines) for u in coll.values()
                     if u.curve_source == "first_principles"}
    specs: list[tuple[QuantitySpec, dict[str, tuple[float, float]]]] = []

    def spec(name: str, inputs: list[str], outputs: list[str], ranges: dict, operating: dict) -> None:
        cols = inputs + outputs
        specs.append((QuantitySpec(name, inputs, outputs, ranges={AMBIENT: AMBIENT_RANGE_C, **ranges},
                                   units={c: unit_of(c) for c in cols}, settle_rows=0), operating))

    if "boiler_fuel" in kinds:
        for b in site.boilers.values():
            if b.id not in excluded:
                spec(f"{b.id}_fuel", [f"{b.id}.steam_tph", AMBIENT], [f"{b.id}.fuel_gj_h"],
                     {f"{b.id}.steam_tph": (b.min_steam_tph * 0.97, b.max_steam_tph * 1.03), f"{b.id}.fuel_gj_h": (1e-6, 1e6)},
                     {f"{b.id}.steam_tph": (b.min_steam_tph, b.max_steam_tph)})
    for g in site.gas_turbines.values():
        if g.id in excluded:
            continue
        inputs = [f"{g.id}.power_mw", AMBIENT, f"{g.id}.fouling_hours"]
        ranges = {f"{g.id}.power_mw": (g.min_power_mw * 0.97, g.iso_power_mw * 1.2), f"{g.id}.fouling_hours": (0.0, 1e5)}
        operating = {f"{g.id}.power_mw": (g.min_power_mw, max(g.min_power_mw, g.base_power_mw(site.design_ambient_c, 0.0)))}
        if "gt_fuel" in kinds:
            spec(f"{g.id}_fuel", inputs, [f"{g.id}.fuel_gj_h"], {**ranges, f"{g.id}.fuel_gj_h": (1e-6, 1e6)}, operating)
        if "hrsg_steam" in kinds and g.hrsg is not None:
            spec(f"{g.id}_hrsg", inputs, [f"{g.id}.hrsg_unfired_tph"], {**ranges, f"{g.id}.hrsg_unfired_tph": (1e-6, 1e5)}, operating)
    if "turbine_steam" in kinds:
        for t in site.turbines.values():
            if t.id not in excluded and t.drive == "generator" and len(t.sections) == 1:
                spec(f"{t.id}_steam", [f"{t.id}.power_mw"], [f"{t.id}.inlet_tph"],
                     {f"{t.id}.power_mw": (max(t.min_power_mw, 1e-6) * 0.97, t.max_power_mw * 1.03), f"{t.id}.inlet_tph": (1e-6, 1e5)},
                     {f"{t.id}.power_mw": (t.min_power_mw, t.max_power_mw)})
    for c in site.consumers.values():
        col = c.column
        if col is None or c.id in excluded:
            continue
        # reflux ratio first (the decision), the feed the disturbance; each over its range with
        # 3 % slack, like the units' loads above
        inputs = [f"{c.id}.reflux_ratio", f"{c.id}.feed_tph"]
        ranges = {f"{c.id}.reflux_ratio": (col.reflux_ratio_min * 0.97, col.reflux_ratio_max * 1.03),
                  f"{c.id}.feed_tph": (col.feed_min_tph * 0.97, col.feed_max_tph * 1.03)}
        operating = {f"{c.id}.reflux_ratio": (col.reflux_ratio_min, col.reflux_ratio_max),
                     f"{c.id}.feed_tph": (col.feed_min_tph, col.feed_max_tph)}
        if "column_steam" in kinds:
            spec(f"{c.id}_steam", inputs, [f"{c.id}.steam_tph"], {**ranges, f"{c.id}.steam_tph": (1e-6, 1e5)}, operating)
        if "column_purity" in kinds:
            spec(f"{c.id}_purity", inputs, [f"{c.id}.purity_mol_frac"], {**ranges, f"{c.id}.purity_mol_frac": (1e-6, 1.0)}, operating)
    if "ectg_steam" in kinds:
        for tid in extraction_condensing_generators(site):
            t = site.turbines[tid]
            if tid in excluded:
                continue
            hp, lp = t.sections
            spec(f"{tid}_steam", [f"{tid}.power_mw", f"{tid}.extraction0_tph"], [f"{tid}.inlet_tph"],
                 {f"{tid}.power_mw": (max(t.min_power_mw, 1e-6) * 0.97, t.max_power_mw * 1.03),
                  f"{tid}.extraction0_tph": (0.0, max(0.0, hp.max_flow_tph - lp.min_flow_tph) * 1.03),
                  f"{tid}.inlet_tph": (1e-6, 1e5)},
                 {f"{tid}.power_mw": (t.min_power_mw, t.max_power_mw),
                  f"{tid}.extraction0_tph": (0.0, max(0.0, hp.max_flow_tph - lp.min_flow_tph))})
    if "duct_steam" in kinds:
        for gid in learned_ducts(site):
            g = site.gas_turbines[gid]
            if gid in excluded:
                continue
            h = g.hrsg
            # the burner lit (fuel above 0, steam above 0) and the GT running, each with 3 % slack
            spec(f"{gid}_duct", [f"{gid}.power_mw", f"{gid}.duct_fuel_gj_h"], [f"{gid}.duct_steam_tph"],
                 {f"{gid}.power_mw": (g.min_power_mw * 0.97, g.iso_power_mw * 1.2),
                  f"{gid}.duct_fuel_gj_h": (max(h.duct_min_fuel_gj_h * 0.97, 1e-6), h.duct_max_fuel_gj_h * 1.03),
                  f"{gid}.duct_steam_tph": (1e-6, h.duct_max_steam_tph * 1.03)},
                 {f"{gid}.power_mw": (g.min_power_mw, max(g.min_power_mw, g.base_power_mw(site.design_ambient_c, 0.0))),
                  f"{gid}.duct_fuel_gj_h": (h.duct_min_fuel_gj_h, h.duct_max_fuel_gj_h)})
    return specs
