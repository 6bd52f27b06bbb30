"""Binding limits: which of the model's limits hold the proposal, and what one more unit of each
is worth per hour.

The worth is the dual of the limit's row (or the reduced cost of its column) in the duals LP: the
optimisation's model with its on/off pattern held and each learned curve continued just beyond
its box, so that a unit's box is held by its limit rows alone (optimizer/supervisor.py,
_prepare_pricing). Rows and columns are recognised by their Pyomo component's name.

A limit of one unit (a boiler's, a GT's, a duct burner's, a steam turbine's: :data:`UNIT_ON`) is
binding only while that unit runs in the proposal. With its on/off held at 0 in the duals LP,
a stopped unit's rows are degenerate (its flows are held at zero by several rows at once, e.g. a
turbine's section flows, extraction and power): relaxing one of them alone saves nothing,
whatever dual the LP returns for it, and "TG3 at maximum power" for a TG3 that is off is wrong
in plant words too. So such rows are left out of the report (:meth:`BindingLimits.at`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

# limits worth reporting, by Pyomo component name: what one more unit of each is worth
LIMITS: dict[str, str] = {
    "mass": "marginal value of steam at the header (per t/h)",
    "swing": "swing reserve for pressure control (per t/h)",
    "b_max": "boiler maximum steam (per t/h)", "b_min": "boiler minimum / move limit (per t/h)",
    "g_max": "GT power limit: base load or move limit (per MW)", "g_min": "GT minimum / move limit (per MW)",
    "d_max": "duct-firing maximum (per t/h)", "t_gen_max": "generator maximum / move limit (per MW)",
    "t_gen_min": "generator minimum / move limit (per MW)", "t_flow_max": "turbine section maximum flow (per t/h)",
    "t_flow_min": "turbine section minimum flow (per t/h)", "x_max": "extraction maximum / move limit (per t/h)",
    "x_min": "extraction minimum / move limit (per t/h)", "ld": "letdown capacity (per t/h)", "vent": "vent capacity (per t/h)",
    "cdraw": "flexible consumer band (per t/h)", "fuel_limit": "fuel availability (per GJ/h)", "imp": "grid import limit (per MW)",
    "exp": "grid export limit (per MW)", "cond_duty": "condenser cooling capacity (per MW)", "grid": "marginal value of electricity (per MW)",
    "contract": "contract minimum import (per MW)", "makeup_nonneg": "make-up water (per t/h)",
    "n1_cover": "N-1 cover: spare steam reachable within the cover time on losing the source (per t/h)",
    "col_spec": "column purity spec (per mol/mol)", "reflux": "column reflux range / move limit (per unit of reflux ratio)",
    "fh_balance": "marginal value of fuel gas at the fuel header (per GJ/h)",
    "fb_limit": "burner blend limit: hydrogen, LHV or Wobbe (per unit of the burner's scaled volume row)",
    "fs_take": "fuel purchase availability (per GJ/h)",
}

#: limits that belong to one unit (the first index of the row or column), by component name: the
#: component of that unit's on/off variable
UNIT_ON: dict[str, str] = {
    "b_max": "b_on", "b_min": "b_on", "g_max": "g_on", "g_min": "g_on", "d_max": "d_on",
    "t_gen_max": "t_on", "t_gen_min": "t_on", "t_flow_max": "t_on", "t_flow_min": "t_on", "x_max": "t_on", "x_min": "t_on",
}


def _on_name(name: str) -> str | None:
    """The on/off column's name of the unit a limit belongs to (``x_max[TG3,0]`` -> ``t_on[TG3]``),
    None for a limit of no single unit."""
    base, _, rest = name.partition("[")
    on = UNIT_ON.get(base)
    if on is None or not rest:
        return None
    return f"{on}[{rest.rstrip(']').split(',')[0]}]"


class BindingLimits:
    """The binding-limit report of one model. ``names``: () -> (row names, column names) of the
    HiGHS model, asked for once (the index of the limits worth reporting is kept)."""

    def __init__(self, names: Callable[[], tuple[list[str], list[str]]],
                 describe: Callable[[str], tuple[str, str]] | None = None, currency: str = ""):
        self._names = names
        self._index: tuple | None = None
        # plant words and unit of each limit (optimizer.plant_words.describe_limit)
        self._describe = describe or (lambda n: (n, ""))
        self._currency = currency

    def _entry(self, name: str, kind: str, what: str, said: tuple[str, str], worth: float) -> dict:
        return {"limit": name, "kind": kind, "what": what, "description": said[0], "unit": said[1], "currency": self._currency,
                "worth_per_unit_per_h": worth}

    def candidates(self, duals) -> tuple[list[tuple[int, dict]], list[tuple[int, int, dict]]] | None:
        """What the report needs only the duals for: the constraints with a dual (on/off column
        of their unit, entry), and the columns with a reduced cost (column, on/off column, entry),
        before the tests of :meth:`at` (an on/off column -1: the limit is no single unit's)."""
        if duals is None:
            return None
        if self._index is None:  # per kind: (HiGHS indices, names, what each is worth, plant words and unit), once
            rows, cols = self._names()

            col_of = {n: i for i, n in enumerate(cols)}

            def index(names):
                hits = [(i, n, LIMITS[n.split("[")[0]]) for i, n in enumerate(names) if n and n.split("[")[0] in LIMITS]
                on = [col_of.get(_on_name(n), -1) for _, n, _ in hits]  # the unit's on/off column, -1: none
                return (np.array([i for i, _, _ in hits], dtype=np.int64), [n for _, n, _ in hits], [w for _, _, w in hits],
                        [self._describe(n) for _, n, _ in hits], on)

            self._index = (index(rows), index(cols))
        row_dual, col_dual = duals
        (r_idx, r_names, r_what, r_said, r_on), (c_idx, c_names, c_what, c_said, c_on) = self._index
        r_worth, c_worth = np.abs(row_dual[r_idx]), np.abs(col_dual[c_idx])
        rows_out = [(r_on[k], self._entry(r_names[k], "constraint", r_what[k], r_said[k], float(r_worth[k])))
                    for k in np.flatnonzero(r_worth > 1e-6).tolist()]
        cols_out = [(int(c_idx[k]), c_on[k], self._entry(c_names[k], "bound", c_what[k], c_said[k], float(c_worth[k])))
                    for k in np.flatnonzero(c_worth > 1e-6).tolist()]
        return rows_out, cols_out

    @staticmethod
    def at(candidates, x: np.ndarray, upper: np.ndarray, top: int = 12) -> list[dict]:
        """The binding limits from their :meth:`candidates` at solution ``x`` with column upper
        bounds ``upper``, the most valuable first (at most ``top``). A limit of a unit that is off
        at ``x`` is not binding (module docstring)."""
        if candidates is None:
            return []
        rows_out, cols_out = candidates

        def running(on: int) -> bool:
            return on < 0 or x[on] >= 0.5

        # a flow resting at zero is not a limit anyone would relax: only columns at their upper bound
        out = [dict(d) for on, d in rows_out if running(on)] + \
              [dict(d) for i, on, d in cols_out if running(on) and abs(x[i] - upper[i]) <= 1e-7 * (1.0 + abs(x[i]))]
        out.sort(key=lambda d: -d["worth_per_unit_per_h"])
        return out[:top]
