"""Settle a header's mixing binary before the MIP when the box decides it.

A header that receives turbine exhausts (or undesuperheated letdowns) closes its energy balance
with either spray water (the mixed inflows are hotter than the header) or a deficit (colder),
never both: one binary ``hot`` per header (:mod:`optimizer.formulation`),

.. math::
    a\\,w - q = e(x), \\qquad a\\,w \\le M\\,\\text{hot}, \\qquad q \\le M\\,(1 - \\text{hot}),
    \\qquad w, q \\ge 0

with ``w`` the spray (t/h), ``q`` the deficit (MW), ``a > 0`` the spray's cooling per t/h and
``e(x)`` the header's excess (MW): the energy row's right-hand side minus its other terms.

Over a period's box the sign of ``e`` is often fixed (on the reference site the HP and MP
headers' exhausts are always colder than the header). Let :math:`\\bar e` and
:math:`\\underline e` be the maximum and minimum of ``e`` over the block's LP relaxation (two LPs
per header; the relaxation contains every MIP-feasible point, so these bound ``e`` on the MIP too).

* :math:`\\bar e \\le 0`: in any feasible point with ``hot = 1`` we have ``q = 0`` and
  ``a w = e \\le 0``, hence ``w = 0`` and ``e = 0``; the same point with ``hot = 0`` is feasible
  and costs the same. So fixing ``hot = 0`` removes no optimum.
* :math:`\\underline e \\ge 0`: symmetric, ``hot = 1``.

Otherwise the binary stays. A relaxation that is not solved to optimality (infeasible or
unbounded block) fixes nothing. The fix is exact, not a heuristic: the optimum is unchanged, the
search loses a binary per settled header (measured in ``benchmarks/plan_horizon.py``).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import highspy
import numpy as np
from scipy.sparse import csc_matrix

from optimizer.highs_direct import run_in_this_thread
from optimizer.lp_arrays import LpArrays

_CONTINUOUS = int(highspy.HighsVarType.kContinuous)
_TOL = 1e-9   # MW: an excess this close to zero counts as of fixed sign


@dataclass(frozen=True)
class MixingHeader:
    """Where one mixing header's pieces sit in a block: its energy row, spray, deficit and binary."""

    header: str
    energy_row: int
    spray_col: int
    deficit_col: int
    hot_col: int


def mixing_headers(sup) -> list[MixingHeader]:
    """The block positions of every header with a mixing binary in ``sup``'s model."""
    m, solver = sup._model, sup._solver  # noqa: SLF001
    return [MixingHeader(h, solver.row(m.energy[h]), solver.column(m.spray[h]), solver.column(m.deficit[h]),
                         solver.column(m.hot[h])) for h in m.hot]


def excess_range(block: LpArrays, headers: list[MixingHeader]) -> dict[str, tuple[float, float]]:
    """``header -> (min e, max e)`` in MW over ``block``'s LP relaxation (module docstring);
    headers whose LPs do not solve to optimality are left out."""
    if not headers:
        return {}
    relaxed = dataclasses.replace(block, integrality=np.full(block.num_col, _CONTINUOUS, dtype=np.int32),
                                  col_cost=np.zeros(block.num_col), offset=0.0)
    g = highspy.Highs()
    g.setOptionValue("output_flag", False)
    g.setOptionValue("threads", 1)
    relaxed.pass_to(g)
    rows = csc_matrix((block.a_value, block.a_index, block.a_start), shape=(block.num_row, block.num_col)).tocsr()
    out = {}
    for mh in headers:
        # the energy row's other terms: every column with an entry in it but spray and deficit
        row = rows.getrow(mh.energy_row)
        keep = ~np.isin(row.indices, (mh.spray_col, mh.deficit_col))
        # the row is "a w - q = e" up to a positive or negative scale: its deficit coefficient's sign says which
        flip = float(np.sign(-row.data[row.indices == mh.deficit_col][0]))
        cols, coefs = row.indices[keep], flip * row.data[keep]
        rhs = flip * float(block.row_lower[mh.energy_row])
        idx = cols.astype(np.int32)
        values = []
        for sign in (1.0, -1.0):  # min of the others (max e), then max of the others (min e)
            g.changeColsCost(len(idx), idx, sign * np.array(coefs))
            run_in_this_thread(g)
            if g.getModelStatus() != highspy.HighsModelStatus.kOptimal:
                break
            values.append(sign * g.getInfo().objective_function_value)
        g.changeColsCost(len(idx), idx, np.zeros(len(idx)))
        if len(values) == 2:
            out[mh.header] = (rhs - values[1], rhs - values[0])
    return out


def settled_binaries(block: LpArrays, headers: list[MixingHeader]) -> dict[int, float]:
    """Block column -> value for each mixing binary the LP bounds settle (module docstring)."""
    out = {}
    ranges = excess_range(block, headers)
    for mh in headers:
        if mh.header not in ranges:
            continue
        low, high = ranges[mh.header]
        if high <= _TOL:
            out[mh.hot_col] = 0.0
        elif low >= -_TOL:
            out[mh.hot_col] = 1.0
    return out
