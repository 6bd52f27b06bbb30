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

Otherwise the binary stays, and its big-M is replaced by the range (:func:`tightened`): the site's
``M`` is a worst case over the whole site (every exhaust at its maximum flow and the hottest
enthalpy), and with it the LP relaxation makes steam out of spray water paid by a deficit (one
period of the reference site's horizon: the relaxation 48 % below the optimum; with the range,
9 %). With :math:`\\underline e < 0 < \\bar e` the rows become

.. math::
    a\\,w \\le \\bar e\\,\\text{hot}, \\qquad q \\le -\\underline e\\,(1 - \\text{hot})

which remove no feasible point (``hot = 1``: ``q = 0``, ``a w = e \\le \\bar e``; ``hot = 0``:
``w = 0``, ``q = -e \\le -\\underline e``) and whose relaxation in ``(w, q)`` is
:math:`a w / \\bar e + q / (-\\underline e) \\le 1`: the convex hull of the two disjuncts (the
segments :math:`0 \\le a w \\le \\bar e,\\ q = 0` and :math:`w = 0,\\ 0 \\le q \\le -\\underline e`).

A relaxation that is not solved to optimality (infeasible or unbounded block) fixes and tightens
nothing. Both steps are exact, not heuristics: the optimum is unchanged; the search loses a
binary per settled header and branches less on the others (measured in
``benchmarks/plan_horizon.py``).
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
    """Where one mixing header's pieces sit in a block: its energy row, spray, deficit, binary and
    the two rows that tie spray and deficit to the binary."""

    header: str
    energy_row: int
    spray_col: int
    deficit_col: int
    hot_col: int
    spray_row: int      # a w - M hot <= 0
    deficit_row: int    # q + M hot <= M


def mixing_headers(sup) -> list[MixingHeader]:
    """The block positions of every header with a mixing binary in ``sup``'s model."""
    m, solver = sup._model, sup._solver  # noqa: SLF001
    return [MixingHeader(h, solver.row(m.energy[h]), solver.column(m.spray[h]), solver.column(m.deficit[h]),
                         solver.column(m.hot[h]), solver.row(m.spray_if_hot[h]), solver.row(m.deficit_if_cold[h])) for h in m.hot]


def excess_range(block: LpArrays, headers: list[MixingHeader]) -> dict[str, tuple[float, float]]:
    """``header -> (min e, max e)`` in MW over ``block``'s LP relaxation (module docstring);
    headers whose LPs do not solve to optimality are left out."""
    if not headers:
        return {}
    relaxed = dataclasses.replace(block, integrality=np.full(block.num_col, _CONTINUOUS, dtype=np.int32),
                                  col_cost=np.zeros(block.num_col), offset=0.0)
    g = relaxed.quiet_highs({"threads": 1})
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
    return tightened(block, headers)[1]


def tightened(block: LpArrays, headers: list[MixingHeader]) -> tuple[LpArrays, dict[int, float]]:
    """``block`` with the big-M of each mixing binary the LP bounds do not settle replaced by the
    excess's range (module docstring), and block column -> value of each binary they settle.
    ``block`` itself is not changed."""
    settled: dict[int, float] = {}
    ranges = excess_range(block, headers)
    a_value, row_upper = block.a_value.copy(), block.row_upper.copy()
    for mh in headers:
        if mh.header not in ranges:
            continue
        low, high = ranges[mh.header]
        if high <= _TOL:
            settled[mh.hot_col] = 0.0
        elif low >= -_TOL:
            settled[mh.hot_col] = 1.0
        else:
            # the rows as written: s_w (a w) - M hot <= 0 and s_q q + M hot <= M, with s_w, s_q the
            # rows' own scales of the energy row's a w and q
            s_w = _coef(block, mh.spray_col, mh.spray_row) / abs(_coef(block, mh.spray_col, mh.energy_row))
            s_q = _coef(block, mh.deficit_col, mh.deficit_row) / abs(_coef(block, mh.deficit_col, mh.energy_row))
            for k in range(block.a_start[mh.hot_col], block.a_start[mh.hot_col + 1]):
                if block.a_index[k] == mh.spray_row:     # -> a w <= e_max hot
                    a_value[k] = -s_w * high
                elif block.a_index[k] == mh.deficit_row:  # -> q <= -e_min (1 - hot)
                    a_value[k] = -s_q * low
                    row_upper[mh.deficit_row] = -s_q * low
    return dataclasses.replace(block, a_value=a_value, row_upper=row_upper), settled


def _coef(block: LpArrays, col: int, row: int) -> float:
    """The coefficient of column ``col`` in row ``row`` of ``block`` (0 when absent)."""
    entries = slice(block.a_start[col], block.a_start[col + 1])
    hit = np.flatnonzero(block.a_index[entries] == row)
    return float(block.a_value[entries][hit[0]]) if hit.size else 0.0
