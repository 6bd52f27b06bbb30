"""Classic economic dispatch: load units at equal incremental cost (lambda iteration).

For units ``i`` with cost ``C_i(m_i)`` (currency/h) convex on ``[lo_i, hi_i]`` and a total
``D = sum m_i``, the cheapest loading has every unit not at a limit at the same incremental
(marginal) cost ``lambda = dC_i/dm_i``; a unit at its minimum has ``dC_i/dm >= lambda`` there, one
at its maximum ``<= lambda`` (Wood & Wollenberg, *Power Generation, Operation and Control*, ch. 3).
:func:`equal_incremental_cost` finds ``lambda`` by bisection: for a trial ``lambda`` each unit
runs where its marginal cost equals it (clipped to its limits), and the total is monotone in
``lambda``.

:func:`boiler_cost_curve` builds a boiler's cost curve from its *nominal* efficiency curve (site
file) and fuel prices as the textbook does: the heat-input curve ``Q(m)`` (GJ/h) is fitted by a
least-squares quadratic ``a + b m + c m^2`` over the boiler's range, which is convex (``c > 0``) for
a boiler whose efficiency peaks inside its range, whereas the interpolated efficiency curve's own
marginal fuel falls at low load and would make the dispatch ambiguous; a dual-fuel boiler burns
its cheapest fuel first, up to that fuel's availability ``max_gj_h``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from optimizer.site.model import Site
from scenarios.plant.curves import BoilerCurve

_DM_TPH = 1e-4  # t/h, step of the central difference for marginal costs


@dataclass(frozen=True)
class CostCurve:
    """One unit's cost ``cost(m)`` (currency/h) for output ``m`` in ``[min_tph, max_tph]`` (t/h).

    ``marginal(m)`` (currency/t) defaults to a central difference of ``cost``; give it
    analytically when known (a quadratic's ``a + 2 b m``).
    """

    name: str
    min_tph: float
    max_tph: float
    cost: Callable[[float], float]
    marginal_fn: Callable[[float], float] | None = None

    def marginal(self, m: float) -> float:
        """Incremental cost at ``m``, currency per t."""
        if self.marginal_fn is not None:
            return self.marginal_fn(m)
        lo, hi = max(self.min_tph, m - _DM_TPH), min(self.max_tph, m + _DM_TPH)
        if hi <= lo:
            return 0.0
        return (self.cost(hi) - self.cost(lo)) / (hi - lo)

    def output_at(self, lam: float, tol: float = 1e-11) -> float:
        """Output (t/h) at which the marginal cost equals ``lam``, clipped to the limits."""
        lo, hi = self.min_tph, self.max_tph
        if self.marginal(lo) >= lam:
            return lo
        if self.marginal(hi) <= lam:
            return hi
        for _ in range(200):
            mid = 0.5 * (lo + hi)
            if self.marginal(mid) < lam:
                lo = mid
            else:
                hi = mid
            if hi - lo < tol:
                break
        return 0.5 * (lo + hi)


@dataclass(frozen=True)
class Dispatch:
    """Loads (t/h, in the order of the curves), the system incremental cost (currency/t), and
    whether the demand had to be clipped to the units' total range."""

    loads_tph: list[float]
    lambda_per_t: float
    clipped: bool


def equal_incremental_cost(curves: Sequence[CostCurve], demand_tph: float, tol_tph: float = 1e-9) -> Dispatch:
    """Load ``curves`` to ``demand_tph`` in total at equal incremental cost (lambda iteration).

    A demand outside ``[sum min, sum max]`` is clipped to it (every unit at its minimum or
    maximum; ``clipped`` says so). Raises ``ValueError`` for a unit whose ``min_tph > max_tph``
    or a demand that is not a finite number.
    """
    if not curves:
        return Dispatch([], math.nan, demand_tph != 0.0)
    if not math.isfinite(demand_tph):
        raise ValueError(f"demand_tph = {demand_tph!r}: must be a finite number of t/h")
    for c in curves:
        if not c.min_tph <= c.max_tph:
            raise ValueError(f"{c.name}: min_tph = {c.min_tph} above max_tph = {c.max_tph}; a unit's minimum must not exceed its maximum")
    lo_total, hi_total = sum(c.min_tph for c in curves), sum(c.max_tph for c in curves)
    if demand_tph <= lo_total:
        return Dispatch([c.min_tph for c in curves], min(c.marginal(c.min_tph) for c in curves), demand_tph < lo_total - tol_tph)
    if demand_tph >= hi_total:
        return Dispatch([c.max_tph for c in curves], max(c.marginal(c.max_tph) for c in curves), demand_tph > hi_total + tol_tph)
    lam_lo = min(c.marginal(c.min_tph) for c in curves)
    lam_hi = max(c.marginal(c.max_tph) for c in curves)
    loads = [c.min_tph for c in curves]
    for _ in range(200):
        lam = 0.5 * (lam_lo + lam_hi)
        loads = [c.output_at(lam) for c in curves]
        total = sum(loads)
        if abs(total - demand_tph) < tol_tph:
            break
        if total < demand_tph:
            lam_lo = lam
        else:
            lam_hi = lam
        if lam_hi - lam_lo < 1e-13 * max(1.0, abs(lam)):
            break
    # a flat stretch of marginal cost (several units at exactly lambda): share the rest among
    # the units strictly inside their limits, in proportion to their room
    rest = demand_tph - sum(loads)
    if abs(rest) > tol_tph:
        room = [(c.max_tph - m) if rest > 0 else (m - c.min_tph) for c, m in zip(curves, loads)]
        total_room = sum(room)
        if total_room > 0:
            loads = [m + rest * r / total_room for m, r in zip(loads, room)]
    return Dispatch(loads, lam, False)


def fuel_cost_per_h(site: Site, fuels: Sequence[str], fuel_gj_h: float, cheap_fuel_room_gj_h: dict[str, float] | None = None) -> tuple[float, dict[str, float]]:
    """Cost (currency/h) of ``fuel_gj_h`` GJ/h burnt in a unit that can burn ``fuels``, cheapest
    first, each up to the room it has (``cheap_fuel_room_gj_h``, default the fuel's ``max_gj_h``);
    the last fuel takes the rest. Returns the cost and the GJ/h of each fuel."""
    room = cheap_fuel_room_gj_h or {}
    order = sorted(fuels, key=lambda f: site.fuels[f].price_per_gj)
    left, cost, split = fuel_gj_h, 0.0, {}
    for i, f in enumerate(order):
        cap = math.inf if i == len(order) - 1 else room.get(f, site.fuels[f].max_gj_h)
        take = min(left, max(0.0, cap))
        split[f] = take
        cost += take * site.fuels[f].price_per_gj
        left -= take
    if left > 0:  # every fuel capped: the last one takes it regardless
        split[order[-1]] += left
        cost += left * site.fuels[order[-1]].price_per_gj
    return cost, split


def heat_input_fit(curve: BoilerCurve, ambient_c: float, points: int = 41) -> tuple[float, float, float]:
    """Least-squares quadratic ``(a, b, c)`` of the nominal fuel ``Q = a + b m + c m^2`` (GJ/h,
    m in t/h) over the boiler's range at an ambient (C)."""
    b = curve.boiler
    m = np.linspace(b.min_steam_tph, b.max_steam_tph, points)
    q = np.array([curve.fuel_gj_h(float(x), ambient_c) for x in m])
    c2, c1, c0 = np.polyfit(m, q, 2)
    return float(c0), float(c1), float(c2)


def boiler_cost_curve(site: Site, curve: BoilerCurve, ambient_c: float, cheap_fuel_room_gj_h: dict[str, float] | None = None) -> CostCurve:
    """A boiler's nominal fuel-cost curve (currency/h against steam t/h) at an ambient (C): the
    quadratic fit of its heat input, burnt cheapest fuel first."""
    b = curve.boiler
    a0, a1, a2 = heat_input_fit(curve, ambient_c)

    def cost(m: float) -> float:
        return fuel_cost_per_h(site, b.fuels, a0 + a1 * m + a2 * m * m, cheap_fuel_room_gj_h)[0]

    # marginal: dQ/dm times the price of the fuel burnt at the margin (the cheapest with room left)
    room = cheap_fuel_room_gj_h or {}
    order = sorted(b.fuels, key=lambda f: site.fuels[f].price_per_gj)
    caps = []
    total = 0.0
    for i, f in enumerate(order):
        total += math.inf if i == len(order) - 1 else max(0.0, room.get(f, site.fuels[f].max_gj_h))
        caps.append((total, site.fuels[f].price_per_gj))

    def marginal(m: float) -> float:
        q = a0 + a1 * m + a2 * m * m
        price = next(p for cap, p in caps if q < cap)
        return (a1 + 2.0 * a2 * m) * price

    return CostCurve(b.id, b.min_steam_tph, b.max_steam_tph, cost, marginal)
