"""Symmetry breaking between identical units ("twins"), exact, checked every cycle.

A site with several identical units (the generated multi-plant sites: thirty copies of TG2 on the
same headers, all in the same state) has a MILP with as many equivalent optima as there are ways
to tell the copies apart: with one of thirty turbo-generators to stop, HiGHS proves the optimum
by ruling out each choice of which one. Measured on the 30-plant site (24 cycles, HiGHS 1.16,
one thread): 20-920 nodes and 0.6-3.5 s per cycle without the rows below, 1-6 nodes with them,
same optimum.

**The rows.** Let the cycle's model (:class:`~optimizer.lp_arrays.LpArrays`) be
``min c x, L <= A x <= U, l <= x <= u, x_I integer``. A unit ``a`` owns columns ``C_a`` (the
variables indexed by its id, by a curve group ``"<id>.<input>"``, or in its network block
``duct_<id>``/``ectg_<id>``) and the rows ``R_a`` whose every entry is in ``C_a`` (its private
rows: limits, curve weights, its condenser's duty). Units ``a`` and ``b`` are *twins in this
cycle* if their columns and private rows correspond one to one (``C_a[k] <-> C_b[k]`` in column
order, ``R_a[j] <-> R_b[j]`` in row order; the same variable and the same rows, built once) and,
with ``sigma`` swapping ``C_a[k]`` and ``C_b[k]`` and ``pi`` swapping ``R_a[j]`` and ``R_b[j]``,
every number of the model is unchanged: ``c``, ``l``, ``u`` and integrality on ``C_a`` equal
those on ``C_b`` position by position, ``L``, ``U`` on ``R_a`` equal those on ``R_b``, and each
entry ``A[r, C_a[k]]`` equals ``A[pi(r), C_b[k]]`` (for a row shared with the rest of the site,
``pi(r) = r``: the same header balance, with the same coefficient). No other column has an entry
in a private row. Then ``(sigma, pi)`` maps the model onto itself: ``x`` is feasible iff
``x o sigma`` is, with the same objective. This is checked on the numbers HiGHS is given, every
cycle (exact equality, nothing assumed from the site file): copies in different states, with
different boxes, start costs or curves, are not twins.

Twins form groups (every pair in a group is twin); in each group, for the first integer column
position ``k`` that is not fixed this cycle (the same for all members: their bounds are equal),
the rows

.. math:: x_{C_{a_1}[k]} \\ge x_{C_{a_2}[k]} \\ge \\dots \\ge x_{C_{a_n}[k]}

are appended (:meth:`LpArrays.with_rows`, counted in ``symmetry_rows``). Exact: for any feasible
``x``, permuting each group's members (a product of swaps, each mapping the model onto itself;
groups own disjoint columns, so their permutations commute) so that ``x_{C[k]}`` decreases along
the group gives a feasible point of the same objective that satisfies every appended row. So the
optimum is unchanged; only which of two identical units a plan starts is decided by the order
(the first in the site's order). The appended rows are no rule of the plant: a point is checked
against the model without them (:func:`optimizer.certify.violation`), and the duals LP leaves
them out.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pyomo.environ as pyo

from optimizer.lp_arrays import LpArrays, LpTemplate

log = logging.getLogger(__name__)

_NETWORK_BLOCKS = ("duct_", "ectg_")  # blocks of one unit's embedded network (optimizer/duct.py, optimizer/ectg.py)


@dataclass
class _Class:
    """Units of one structure (same variables, same private-row pattern): per unit (row of each
    array) its columns, private rows and matrix entries (positions in the template's pattern),
    in corresponding order."""

    units: list[str]
    cols: np.ndarray      # (n, columns per unit)
    rows: np.ndarray      # (n, private rows per unit)
    entries: np.ndarray   # (n, entries per unit)
    integer: np.ndarray   # positions (in cols) of the integer columns


def _owner(v, units: set[str], model) -> set[str]:
    """The units a variable belongs to (see the module docstring)."""
    blk = v.parent_block()
    while blk is not None and blk.parent_block() is not None and blk.parent_block() is not model:
        blk = blk.parent_block()
    if blk is not None and blk is not model:
        name = blk.local_name
        for prefix in _NETWORK_BLOCKS:
            if name.startswith(prefix) and name[len(prefix):] in units:
                return {name[len(prefix):]}
    idx = v.index()
    out = set()
    for e in idx if isinstance(idx, tuple) else (idx,):
        if isinstance(e, str):
            if e in units:
                out.add(e)
            elif "." in e and e.split(".", 1)[0] in units:
                out.add(e.split(".", 1)[0])
    return out


def _signature(v, unit: str) -> tuple:
    """A variable's place in its unit, the unit's id replaced: (block kind, component, index)."""
    comp = v.parent_component()
    blk = comp.parent_block()
    kind = next((p for p in _NETWORK_BLOCKS if blk is not None and blk.local_name.startswith(p)), "")
    path = comp.getname(fully_qualified=True)
    if kind:
        path = kind + path.split(".", 1)[1] if "." in path else path
    idx = v.index()

    def norm(e):
        if e == unit:
            return "*"
        if isinstance(e, str) and e.startswith(unit + "."):
            return "*" + e[len(unit):]
        return e
    return kind, path, tuple(norm(e) for e in (idx if isinstance(idx, tuple) else (idx,)))


class TwinOrder:
    """The twins of a model's units, found in each cycle's arrays, and their ordering rows (see
    the module docstring). Built once per model: ``template`` its :class:`LpTemplate`, ``columns``
    its (Pyomo variable, column) pairs, ``units`` the ids of the units to look at (boilers, gas
    turbines, steam turbines)."""

    def __init__(self, model: pyo.Block, template: LpTemplate, columns: Iterable[tuple[object, int]], units: Iterable[str]):
        unit_list = list(dict.fromkeys(units))
        unit_set = set(unit_list)
        owned: dict[str, list[tuple[int, tuple]]] = {u: [] for u in unit_list}
        shared_owner: set[str] = set()
        col_owner = np.full(template.num_col, -1, dtype=np.int64)
        pos = {u: i for i, u in enumerate(unit_list)}
        for v, c in columns:
            who = _owner(v, unit_set, model)
            if len(who) > 1:  # a column of two units: neither is swapped alone
                shared_owner |= who
            elif who:
                u = next(iter(who))
                owned[u].append((c, _signature(v, u)))
                col_owner[c] = pos[u]
        a_row, a_col = template.pattern()
        a_row, a_col = np.asarray(a_row, dtype=np.int64), np.asarray(a_col, dtype=np.int64)
        ent_owner = col_owner[a_col]
        # a row is private to a unit when all its entries are in that unit's columns
        n_row = template.num_row
        first = np.full(n_row, -2, dtype=np.int64)
        private = np.ones(n_row, dtype=bool)
        for r, o in zip(a_row, ent_owner):
            if o < 0:
                private[r] = False
            elif first[r] == -2:
                first[r] = o
            elif first[r] != o:
                private[r] = False
        private &= first >= 0
        by_col: dict[int, list[int]] = {}
        for k, c in enumerate(a_col):
            by_col.setdefault(int(c), []).append(k)
        integrality = template._integrality  # noqa: SLF001 - constant per model
        classes: dict[tuple, list[tuple[str, list[int], list[int], list[int]]]] = {}
        for u in unit_list:
            if u in shared_owner or not owned[u]:
                continue
            items = sorted(owned[u])
            cols = [c for c, _ in items]
            sig = tuple(s for _, s in items)
            prows = sorted({int(a_row[k]) for c in cols for k in by_col.get(c, []) if private[a_row[k]] and first[a_row[k]] == pos[u]})
            pj = {r: j for j, r in enumerate(prows)}
            ents, keys = [], []
            for kc, c in enumerate(cols):
                here = sorted(((("p", pj[int(a_row[k])]) if int(a_row[k]) in pj else ("s", int(a_row[k]))), k) for k in by_col.get(c, []))
                keys.append(tuple(key for key, _ in here))
                ents.extend(k for _, k in here)
            ints = tuple(int(integrality[c]) for c in cols)
            if not any(t != 0 for t in ints):
                continue  # nothing to branch on: no ordering to add
            classes.setdefault((sig, tuple(keys), len(prows), ints), []).append((u, cols, prows, ents))
        self.classes: list[_Class] = []
        for (_, _, _, ints), members in classes.items():
            if len(members) < 2:
                continue
            self.classes.append(_Class(
                units=[m[0] for m in members], cols=np.array([m[1] for m in members], dtype=np.int64),
                rows=np.array([m[2] for m in members], dtype=np.int64).reshape(len(members), -1),
                entries=np.array([m[3] for m in members], dtype=np.int64).reshape(len(members), -1),
                integer=np.array([k for k, t in enumerate(ints) if t != 0], dtype=np.int64)))
        log.debug("twin candidates: %s", {c.units[0]: len(c.units) for c in self.classes})

    def groups(self, model: LpArrays) -> list[tuple[list[str], np.ndarray, np.ndarray]]:
        """The twin groups of this cycle's ``model`` (the template's arrays, ``entries`` set): per
        group its units (in the model's order), their columns (one row per unit, corresponding
        positions) and the positions of the integer columns."""
        if model.entries is None:
            raise ValueError("twins: the model's arrays have no template entries (rows appended, or not made by LpTemplate.arrays)")
        out = []
        for cl in self.classes:
            data = np.hstack([model.col_cost[cl.cols], model.col_lower[cl.cols], model.col_upper[cl.cols],
                              model.row_lower[cl.rows], model.row_upper[cl.rows], model.entries[cl.entries]])
            data = np.ascontiguousarray(data + 0.0)  # -0.0 and 0.0 are the same coefficient
            same: dict[bytes, list[int]] = {}
            for i in range(data.shape[0]):  # bit-for-bit equal numbers
                same.setdefault(data[i].tobytes(), []).append(i)
            for members in same.values():
                if len(members) >= 2:
                    out.append(([cl.units[i] for i in members], cl.cols[members], cl.integer))
        return out

    def order(self, model: LpArrays) -> tuple[LpArrays, dict[str, int]]:
        """``model`` with each twin group's ordering rows appended (the module docstring), and
        per group (named by its first unit) how many units it orders."""
        starts, index, value = [0], [], []
        info: dict[str, int] = {}
        for units, cols, integer in self.groups(model):
            free = [k for k in integer if model.col_lower[cols[0, k]] < model.col_upper[cols[0, k]]]
            if not free:
                continue
            k = free[0]
            for i in range(len(units) - 1):
                index.extend((cols[i, k], cols[i + 1, k]))
                value.extend((1.0, -1.0))
                starts.append(len(index))
            info[units[0]] = len(units)
        n = len(starts) - 1
        if not n:
            return model, info
        return model.with_rows(np.array(starts), np.array(index), np.array(value), np.zeros(n), np.full(n, np.inf), symmetry=True), info
