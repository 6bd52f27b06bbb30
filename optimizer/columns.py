"""Steered distillation columns in the site model: the reflux ratio the decision, the reboiler's
steam and the distillate purity its learned curves.

A column ``c`` (a consumer with a ``column`` table, :class:`optimizer.site.model.Column`) whose two
learned curves the provider supplies (kinds ``column_steam`` and ``column_purity``, one curve
group on the reflux ratio ``r_c``, embedded exactly by :func:`optimizer.formulation.add_learned_curves`
as a GT's fuel and HRSG steam are) adds, per cycle with the feed fixed in the curves' breakpoints:

.. math::
    \\underline{r}_c \\le r_c \\le \\overline{r}_c, \\qquad
    p_c + \\pi_c \\ge (p^{spec}_c + p^{margin}_c)\\, o_c, \\qquad \\pi_c \\ge 0, \\qquad
    \\underline{S}_c o_c - \\rho_c \\le S_c \\le \\overline{S}_c o_c + \\rho_c, \\qquad \\rho_c \\ge 0

with ``S_c`` (its steam, the curve's output) drawn from its header as any consumer's draw, ``p_c``
the purity curve's output, ``o_c`` the column running (a variable held by its bounds at the Param
``col_on``: 1, or 0 for a column out of service), the box ``[r_lo, r_hi]`` its reflux range intersected with the move limit of the cycle
(optimizer/cycle.py). ``[\\underline{S}_c, \\overline{S}_c]`` the reboiler's steam limits (the consumer's ``min_tph``,
``max_tph``), ``\\rho_c`` steam beyond them priced at :data:`REBOILER_OUT_PENALTY`;
``\\pi_c``, purity below the spec, is priced at
:data:`PURITY_SHORT_PENALTY`: far above any steam it could save, so the spec holds whenever the
box allows it; a box that cannot reach the spec (a held column, a feed jump beyond one move)
gives the purity the box allows, not an infeasible model.

A column without both curves stays a plain consumer: its measured draw fixed, its reflux held.
"""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.site.model import Site

#: currency per (mol/mol) of purity below the spec, per hour: 1e5 per 100 ppm, above any steam
#: cost a column's reflux could save (30 t/h x about 1000 per t)
PURITY_SHORT_PENALTY = 1.0e9

#: currency per t/h of reboiler steam beyond its limits, per hour (as unserved steam)
REBOILER_OUT_PENALTY = 1.0e6

COLUMN_KINDS = ("column_steam", "column_purity")


def steered_columns(site: Site, curves) -> list[str]:
    """The site's columns whose steam and purity curves are both among ``curves`` (CurveSlots)."""
    have = {(s.unit, s.kind) for s in curves.values()}
    return [c for c, con in site.consumers.items()
            if con.column is not None and all((c, k) in have for k in COLUMN_KINDS)]


def add_columns(m: pyo.Block, site: Site, columns: list[str], param) -> None:
    """The columns' sets, Params (``r_lo``, ``r_hi``, ``col_on``, ``purity_min``), variables
    (``reflux``, ``col_steam``, ``col_purity``, ``purity_short``) and the purity row ``col_spec``
    (the module docstring's math). ``param(block, name, index)`` adds a mutable Param."""
    m.COL = pyo.Set(initialize=columns)
    for name in ("r_lo", "r_hi", "col_on", "purity_min"):
        param(m, name, m.COL)
    m.reflux = pyo.Var(m.COL, domain=pyo.NonNegativeReals, bounds=lambda m, c: (m.r_lo[c], m.r_hi[c]))
    # running: a variable held at its Param by its bounds (the curves' weights sum to it; a
    # proposal's check reads it like a unit's on/off)
    m.col_run = pyo.Var(m.COL, domain=pyo.NonNegativeReals, bounds=lambda m, c: (m.col_on[c], m.col_on[c]))
    m.col_steam = pyo.Var(m.COL, domain=pyo.NonNegativeReals)
    m.col_purity = pyo.Var(m.COL, domain=pyo.Reals)
    m.purity_short = pyo.Var(m.COL, domain=pyo.NonNegativeReals)
    # purity_min is (spec + margin) x col_on, written by the cycle (one Param per row bound:
    # the HiGHS arrays are affine in the Params)
    m.col_spec = pyo.Constraint(m.COL, rule=lambda m, c: m.col_purity[c] + m.purity_short[c] >= m.purity_min[c])
    # the reboiler's steam within its limits (the consumer's [min_tph, max_tph]); a box whose every
    # reflux lies beyond them (a feed far from the campaign's) is priced, not infeasible
    lo = {c: site.consumers[c].min_tph for c in columns}
    hi = {c: site.consumers[c].max_tph for c in columns}
    m.reboiler_out = pyo.Var(m.COL, domain=pyo.NonNegativeReals)
    m.reboiler_max = pyo.Constraint(m.COL, rule=lambda m, c: m.col_steam[c] <= hi[c] * m.col_run[c] + m.reboiler_out[c])
    m.reboiler_min = pyo.Constraint(m.COL, rule=lambda m, c: m.col_steam[c] + m.reboiler_out[c] >= lo[c] * m.col_run[c])


def purity_penalty(m: pyo.Block):
    """The objective's price of purity below the spec and of reboiler steam beyond its limits."""
    return PURITY_SHORT_PENALTY * sum(m.purity_short[c] for c in m.COL) + REBOILER_OUT_PENALTY * sum(m.reboiler_out[c] for c in m.COL)
