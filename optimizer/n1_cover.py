"""N-1 steam cover: the running units can make good the loss of any one steam source in time.

Built only when the site file asks for it (``[n1_cover] enabled = true``); the constraint block
below is added to the site model by :func:`add_n1_cover` (written once for all sources, as the
other unit blocks of :mod:`optimizer.formulation`). Every coefficient is site data, so the block
holds no per-cycle Param of its own: it acts on the cycle through the boilers' on/off and steam
variables and the by-product steam Params the cycle already writes.

Symbols (units): ``T`` cover time (min, ``n1_cover.cover_time_min``); for each boiler ``j``:
``s_j`` steam (t/h), ``u_j`` on/off, ``S_j`` maximum steam, ``rho_j`` ramp rate (t/h per min),
``r_j`` its spare capacity reachable within ``T`` (t/h); for each covered source ``s``: ``L_s``
the steam lost with it (t/h), ``R(s)`` the boilers other than ``s`` whose header can reach
``s``'s header (the same header, or one upstream of it through a chain of letdowns), ``O_s`` the
sum of the declared options (letdowns from outside the model, load shedding) whose header can
reach it (t/h, constant), and ``\\delta_s`` the cover's shortfall (t/h).

.. math::
    0 \\le r_j \\le \\rho_j T, \\qquad r_j + s_j \\le S_j u_j \\qquad \\forall j

    \\sum_{j \\in R(s)} r_j + \\delta_s \\ge L_s - O_s, \\qquad \\delta_s \\ge 0 \\qquad \\forall s

with ``L_s = s_s`` for a boiler, ``L_s = q_s + d_s`` (unfired HRSG steam plus duct-fired steam)
for a gas turbine, and ``L_s`` the cycle's by-product steam (a Param) for a by-product source.
An off boiler offers nothing (``r_j <= S_j u_j - s_j = 0``): starting a boiler takes far longer
than a cover time. The shortfall is priced at :data:`N1_SHORT_PENALTY` per t/h in the objective's
slack cost, far above any cost of steam and below unserved demand: whenever the cover can be met
inside this cycle's boxes it is met (``\\delta = 0``); a plant that starts outside it (or cannot
get there within one cycle's move limits) still gets an answer, one that restores as much cover
as the boxes allow, and the proposal's warnings name the uncovered sources. When row
``n1_cover[s]`` binds, its dual is what one more t/h of cover for ``s`` would be worth per hour;
the binding-limits report names it.

The balance is site-wide along the letdown graph: the capacity of a letdown that would carry the
spare steam to the lost source's header is not checked per contingency, and turbine extractions
are not counted as a path (their flows follow the machines they drive).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from optimizer.site.model import Site

log = logging.getLogger(__name__)

N1_SHORT_PENALTY = 1.0e5  # currency per t/h of missing N-1 cover, per hour: above any steam cost, below UNSERVED_PENALTY


@dataclass(frozen=True)
class CoverPlan:
    """The static shape of a site's N-1 cover, from site data only.

    ``sources``: covered source id -> its kind (``boiler``, ``gt``, ``byproduct``);
    ``reserves``: source id -> the boilers whose spare capacity counts for it;
    ``options_tph``: source id -> the declared options' steam that counts for it (t/h);
    ``reserve_max_tph``: boiler id -> ``ramp x cover time`` (t/h)."""

    cover_time_min: float
    sources: dict[str, str]
    reserves: dict[str, list[str]]
    options_tph: dict[str, float]
    reserve_max_tph: dict[str, float]


def reachable_headers(site: Site, header: str) -> set[str]:
    """The headers steam can reach from ``header`` through letdowns (itself included)."""
    seen, todo = {header}, [header]
    while todo:
        h = todo.pop()
        for ld in site.letdowns.values():
            if ld.inlet == h and ld.outlet not in seen:
                seen.add(ld.outlet)
                todo.append(ld.outlet)
    return seen


def source_header(site: Site, sid: str) -> str | None:
    """The header a covered source feeds (None for a gas turbine without an HRSG or an unknown id)."""
    if sid in site.boilers:
        return site.boilers[sid].header
    if sid in site.gas_turbines:
        hrsg = site.gas_turbines[sid].hrsg
        return hrsg.header if hrsg is not None else None
    if sid in site.byproduct_sources:
        return site.byproduct_sources[sid].header
    return None


def default_sources(site: Site) -> list[str]:
    """Every boiler and every gas turbine with an HRSG."""
    return list(site.boilers) + [g for g, gt in site.gas_turbines.items() if gt.hrsg is not None]


def cover_plan(site: Site) -> CoverPlan:
    """The cover's sources, reserve sets and option totals (the site must be valid)."""
    cov = site.n1_cover
    ids = list(cov.sources) or default_sources(site)
    reach = {h: reachable_headers(site, h) for h in site.headers}
    sources, reserves, options = {}, {}, {}
    for sid in ids:
        kind = "boiler" if sid in site.boilers else ("gt" if sid in site.gas_turbines else "byproduct")
        target = source_header(site, sid)
        sources[sid] = kind
        reserves[sid] = [j for j, b in site.boilers.items() if j != sid and target in reach.get(b.header, ())]
        options[sid] = sum(o.steam_tph for o in cov.options.values() if target in reach.get(o.header, ()))
    return CoverPlan(cov.cover_time_min, sources, reserves, options,
                     {j: b.ramp_tph_per_min * cov.cover_time_min for j, b in site.boilers.items()})


def add_n1_cover(m: pyo.Block, site: Site) -> pyo.Expression:
    """Add the cover's variables and rows (the module docstring's math) to the site model ``m``
    (which must hold ``B``, ``b_on``, ``b_steam``, ``g_unfired``, ``d_steam``/``GD`` and ``tle``);
    returns the shortfall's penalty, for the objective's slack cost.

    Adds the sets ``N1S`` (covered sources), the variables ``n1_reserve[B]`` (t/h) and
    ``n1_short[N1S]`` (t/h), the rows ``n1_spare[B]`` and ``n1_cover[N1S]``."""
    plan = cover_plan(site)
    m.n1_plan = plan
    m.N1S = pyo.Set(initialize=list(plan.sources))
    m.n1_reserve = pyo.Var(m.B, domain=pyo.NonNegativeReals, bounds=lambda m, j: (0.0, plan.reserve_max_tph[j]))
    m.n1_short = pyo.Var(m.N1S, domain=pyo.NonNegativeReals)
    smax = {j: site.boilers[j].max_steam_tph for j in site.boilers}
    m.n1_spare = pyo.Constraint(m.B, rule=lambda m, j: m.n1_reserve[j] + m.b_steam[j] <= smax[j] * m.b_on[j])

    def loss(m, s):
        kind = plan.sources[s]
        if kind == "boiler":
            return m.b_steam[s]
        if kind == "gt":
            return m.g_unfired[s] + (m.d_steam[s] if s in m.GD else 0.0)
        return m.tle[s]

    m.n1_cover = pyo.Constraint(m.N1S, rule=lambda m, s: sum(m.n1_reserve[j] for j in plan.reserves[s]) + m.n1_short[s] - loss(m, s)
                                >= -plan.options_tph[s])
    m.n1_short_cost = pyo.Expression(expr=N1_SHORT_PENALTY * sum(m.n1_short[s] for s in m.N1S))
    return m.n1_short_cost


def cover_shortfall(m: pyo.Block, column: Callable[[object], int], x: np.ndarray, tol: float = 1e-6) -> dict[str, float]:
    """Per covered source, the cover missing at solution ``x`` (t/h; only those above ``tol``).
    ``column``: variable -> its position in ``x`` (-1: not held, read as 0). Empty without the block."""
    if not hasattr(m, "n1_short"):
        return {}
    out = {}
    for s in m.N1S:
        c = column(m.n1_short[s])
        v = float(x[c]) if c >= 0 else 0.0
        if v > tol:
            out[s] = v
    return out

