"""The oracle: the same optimiser given the simulator's true curves, finely linearised.

It bounds what any set of surrogates could achieve: the gap between steamopt and the oracle is
what imperfect learned curves cost. The curves are the learned quantities of the site
(:mod:`scenarios.learning`), with the same names and tags as the surrogates, but evaluated from
:mod:`scenarios.plant.curves` (no noise, no learning).

Under a reality gap the true plant degrades as the study goes on; the oracle knows that too: its
curves read the true conditions of the step being decided from a :class:`TrueConditions` the
study updates (a boiler's lost efficiency, a gas turbine's true fouling rate). It reads the same
meters as every other policy.
"""

from __future__ import annotations

from dataclasses import dataclass

from optimizer import tags
from optimizer.curves import CurveSlot, SampledCurves, classify
from optimizer.site.model import Site
from scenarios.learning import learned_quantities
from scenarios.plant.inputs import Disturbances
from scenarios.plant.simulator import PlantSimulator


@dataclass
class TrueConditions:
    """The true plant's conditions of the step being decided (``None``: as the site file says)."""

    current: Disturbances | None = None

    def boiler_efficiency_loss(self, unit: str) -> float:
        return 0.0 if self.current is None else self.current.boiler_efficiency_loss.get(unit, 0.0)

    def gt_fouling_rate_factor(self, unit: str) -> float:
        return 1.0 if self.current is None else self.current.gt_fouling_rate_factor.get(unit, 1.0)


def oracle_curves(site: Site, simulator: PlantSimulator, points: int = 17,
                  conditions: TrueConditions | None = None) -> SampledCurves:
    """True curves of every learned quantity, linearised on ``points`` equal steps of each
    cycle's box (the box is small, so the linearisation is fine); ``conditions``: the true
    plant's degradation at the step being decided (default: none)."""
    conditions = conditions or TrueConditions()
    slots: dict[str, CurveSlot] = {}
    functions = {}
    for q in learned_quantities(site, include_first_principles=True):
        x_tag, y_tag = q.inputs[0], q.outputs[0]
        found = classify(site, y_tag)
        if found is None:  # a two-decision quantity (an extraction-condensing generator's steam): the
            continue       # oracle's model takes that turbine's sections by their Willans lines
        kind, unit, _ = found
        slots[q.name] = CurveSlot(q.name, unit, kind, x_tag, y_tag, tuple(q.inputs[1:]), points, False)
        functions[q.name] = _true_function(simulator, unit, kind, conditions)
    return SampledCurves(slots, functions, points=points)


def _true_function(sim: PlantSimulator, unit: str, kind: str, cond: TrueConditions):
    if kind == "boiler_fuel":
        curve = sim.boilers[unit]
        return lambda x, d: curve.fuel_gj_h(x, d[tags.AMBIENT], efficiency_loss=cond.boiler_efficiency_loss(unit))
    if kind in ("gt_fuel", "hrsg_steam"):
        gt = sim.gts[unit]
        f = gt.fuel_gj_h if kind == "gt_fuel" else gt.unfired_steam_tph
        return lambda x, d: f(x, d[tags.AMBIENT], d.get(tags.gt_fouling(unit), 0.0), fouling_rate_factor=cond.gt_fouling_rate_factor(unit))
    if kind == "column_steam":  # a steered column: x is its reflux ratio, its feed a disturbance
        col = sim.columns[unit]
        return lambda x, d: col.steam_tph(d[tags.column_feed(unit)], x)
    if kind == "column_purity":
        col = sim.columns[unit]
        return lambda x, d: col.purity(x)
    turbine = sim.turbines[unit]
    return lambda x, d: turbine.solve(x, [])[0][0] if x > 0 else 0.0
