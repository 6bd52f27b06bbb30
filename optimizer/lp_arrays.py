"""The cycle's HiGHS model as numpy arrays, computed from the mutable parameters in one product.

Why: each cycle writes a few hundred parameter values (boxes, demands, prices, breakpoints) and
solves three variants of the model (the optimisation, the current point, the duals LP). Going
through Pyomo's Params and HiGHS's incremental calls (one ``changeCoeff`` per coefficient, a
``getModel`` and a ``passModel`` per solve) touched hundreds of Python objects per cycle; here the
parameters are one vector ``p`` and every number HiGHS takes that depends on them is

.. math::

    v = \\min(\\max(c + M p,\\ \\ell),\\ u)

with ``M`` a sparse matrix (one row per coefficient, bound, row bound or cost), ``c`` the constant
part and ``[l, u]`` the variable's domain where Pyomo clips a bound to it (``max(lb, domain lb)``).
Everything else of the model is constant and kept as arrays; :meth:`LpTemplate.arrays` fills in
``v`` and hands back an :class:`LpArrays`, which :meth:`LpArrays.pass_to` gives HiGHS in one call.

``M`` and ``c`` come from the expressions Pyomo's persistent HiGHS interface recorded when it
built the model (``_mutable_helpers``, ``_mutable_bounds``, ``_mutable_objective``; Pyomo is pinned
to 6.10 in pyproject.toml): each must be affine in its parameters. :func:`affine_terms` takes each
apart in one walk of its tree (sums, negations, products and divisions by parameter-free factors;
linear in the expression's size, so building the template is linear in the site's size) and checks
the result against the expression's value; any other expression is checked by perturbation (our
formulation has none; anything not affine is refused with the expression named).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import (NPV_DivisionExpression, NPV_MaxExpression, NPV_MinExpression, NPV_NegationExpression,
                                          NPV_ProductExpression, NPV_SumExpression)
from pyomo.core.expr.visitor import identify_mutable_parameters
from scipy.sparse import csc_matrix, csr_matrix

_CONTINUOUS = int(highspy.HighsVarType.kContinuous)


@dataclass
class LpArrays:
    """One HiGHS model: column-wise matrix, bounds, costs, integrality (HiGHS's own layout)."""

    num_col: int
    num_row: int
    sense: int
    offset: float
    col_cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    a_start: np.ndarray   # int32, num_col + 1
    a_index: np.ndarray   # int32 row of each entry
    a_value: np.ndarray
    integrality: np.ndarray  # int32 HighsVarType per column
    # the template's full matrix pattern's values (zeros kept, LpTemplate.pattern order), for
    # checks that compare entries by position (optimizer/twins.py); None once rows are added
    entries: np.ndarray | None = None
    # trailing rows that only break symmetry between identical units (optimizer/twins.py): not
    # rules of the plant, so checks of a point against the model's rules leave them out
    symmetry_rows: int = 0

    def pass_to(self, g: highspy.Highs) -> None:
        """Give this model to HiGHS instance ``g`` (replacing whatever it held)."""
        g.passModel(self.num_col, self.num_row, int(self.a_index.size), int(highspy.MatrixFormat.kColwise), self.sense,
                    self.offset, self.col_cost, self.col_lower, self.col_upper, self.row_lower, self.row_upper,
                    self.a_start, self.a_index, self.a_value, self.integrality)

    def with_fixed(self, cols: np.ndarray, values: np.ndarray) -> "LpArrays":
        """A copy with columns ``cols`` fixed at ``values`` and made continuous (an LP if they
        are all the integer columns), without symmetry-breaking rows: a model with columns fixed
        evaluates a given point (a hold, an on/off pattern), and those rows are no rule of the
        plant (a point breaking them has a twin-permuted copy that keeps them, of the same
        objective: optimizer/twins.py), while fixing the point's own values could make them
        infeasible."""
        base = self.without_symmetry_rows()
        lower, upper, integrality = base.col_lower.copy(), base.col_upper.copy(), base.integrality.copy()
        lower[cols] = values
        upper[cols] = values
        integrality[cols] = _CONTINUOUS
        return replace(base, col_lower=lower, col_upper=upper, integrality=integrality)

    def relaxed(self, cols: np.ndarray) -> "LpArrays":
        """A copy with columns ``cols`` continuous (bounds kept)."""
        integrality = self.integrality.copy()
        integrality[cols] = _CONTINUOUS
        return replace(self, integrality=integrality)

    def with_rows(self, starts: np.ndarray, index: np.ndarray, value: np.ndarray, lower: np.ndarray,
                  upper: np.ndarray, symmetry: bool = False) -> "LpArrays":
        """A copy with rows appended after the model's own: row ``i`` has the entries
        ``index[starts[i]:starts[i + 1]]`` (columns) with ``value``, and bounds ``lower[i] <= . <=
        upper[i]``. ``symmetry``: the rows only break symmetry (counted in :attr:`symmetry_rows`);
        rows can only be appended after such rows if they are such rows too."""
        n_new = int(len(lower))
        if n_new == 0:
            return self
        if self.symmetry_rows and not symmetry:
            raise ValueError("rows of the model cannot be appended after symmetry-breaking rows")
        starts, index, value = np.asarray(starts, dtype=np.int64), np.asarray(index, dtype=np.int64), np.asarray(value, dtype=float)
        counts = np.diff(self.a_start)
        cols = np.concatenate([np.repeat(np.arange(self.num_col, dtype=np.int64), counts), index])
        rows = np.concatenate([self.a_index.astype(np.int64), self.num_row + np.repeat(np.arange(n_new, dtype=np.int64), np.diff(starts))])
        vals = np.concatenate([self.a_value, value])
        order = np.argsort(cols, kind="stable")  # column-wise, the model's own entries first in each column
        a_start = np.zeros(self.num_col + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=self.num_col), out=a_start[1:])
        return replace(self, num_row=self.num_row + n_new, row_lower=np.concatenate([self.row_lower, np.asarray(lower, dtype=float)]),
                       row_upper=np.concatenate([self.row_upper, np.asarray(upper, dtype=float)]), a_start=a_start,
                       a_index=rows[order].astype(np.int32), a_value=vals[order], entries=None,
                       symmetry_rows=self.symmetry_rows + (n_new if symmetry else 0))

    def without_symmetry_rows(self) -> "LpArrays":
        """The model without its trailing symmetry-breaking rows (itself if it has none)."""
        if not self.symmetry_rows:
            return self
        n = self.num_row - self.symmetry_rows
        keep = self.a_index < n
        cols = np.repeat(np.arange(self.num_col), np.diff(self.a_start))[keep]
        a_start = np.zeros(self.num_col + 1, dtype=np.int32)
        np.cumsum(np.bincount(cols, minlength=self.num_col), out=a_start[1:])
        return replace(self, num_row=n, row_lower=self.row_lower[:n], row_upper=self.row_upper[:n], a_start=a_start,
                       a_index=self.a_index[keep], a_value=self.a_value[keep], symmetry_rows=0)

    def quiet_highs(self, options: Mapping[str, object] | None = None) -> highspy.Highs:
        """A new HiGHS instance, its output off, ``options`` set in their order, holding this
        model (for the one-off solves beside the cycle's kept instances)."""
        g = highspy.Highs()
        g.setOptionValue("output_flag", False)
        for k, v in (options or {}).items():
            g.setOptionValue(k, v)
        self.pass_to(g)
        return g

    def highs_model(self) -> highspy.HighsModel:
        """The same model as a ``highspy.HighsModel`` (for tools that take one)."""
        return self.quiet_highs().getModel()


class _NotAffine(Exception):
    """An expression node :func:`_decompose` does not take apart as affine."""


def _decompose(expr, index: dict[int, int], values: dict[int, float]) -> tuple[float, dict[int, float]]:
    """``expr`` as ``(c, {position: slope})`` in one walk of its tree (linear in its size).

    Sums, negations, products with a parameter-free factor and divisions by a parameter-free
    denominator are combined exactly; any other node whose subtree holds a mutable parameter
    raises :class:`_NotAffine` (the caller then falls back to perturbation). Iterative, so deep
    trees need no recursion. ``values``: filled with each parameter's current value."""
    out: list = []  # the result of the node being left
    stack: list = [(expr, None, [])]  # (node, iterator over its args, its children's results)
    while stack:
        node, it, kids = stack[-1]
        if it is None:
            if not hasattr(node, "is_expression_type"):  # a number (Python's or numpy's)
                stack.pop()
                _push(stack, out, (float(node), None))
                continue
            if not node.is_expression_type():
                stack.pop()
                if node.is_parameter_type() and not node.is_constant():  # a mutable parameter
                    j = index[id(node)]
                    values[j] = node.value
                    _push(stack, out, (0.0, {j: 1.0}))
                elif node.is_potentially_variable():
                    raise _NotAffine(f"variable {node} in a parameter expression")
                else:  # an immutable parameter or a numeric constant object
                    _push(stack, out, (float(pyo.value(node)), None))
                continue
            if node.is_named_expression_type() or isinstance(node, _COMBINED):
                stack[-1] = (node, iter(node.args), kids)
                continue
            stack.pop()  # any other node: affine only if it holds no mutable parameter
            if list(identify_mutable_parameters(node)):
                raise _NotAffine(f"{type(node).__name__} of a parameter")
            _push(stack, out, (float(pyo.value(node)), None))
            continue
        child = next(it, _END)
        if child is not _END:
            stack.append((child, None, []))
            continue
        stack.pop()
        _push(stack, out, _combine(node, kids))
    c, terms = out[0]
    return c, dict(terms or {})


_END = object()
_COMBINED = (NPV_SumExpression, NPV_NegationExpression, NPV_ProductExpression, NPV_DivisionExpression)


def _push(stack: list, out: list, result: tuple) -> None:
    """Hand a node's result to its parent (or to ``out`` for the root)."""
    (stack[-1][2] if stack else out).append(result)


def _combine(node, kids: list) -> tuple[float, dict[int, float] | None]:
    """A node's affine form from its children's (``None``: no parameter term). Every dict here
    was made by this walk for one parent, so it is updated in place: a sum merges into its
    largest child's dict (a chain of binary sums, as Pyomo writes a row's constant, stays linear)."""
    if node.is_named_expression_type():
        return kids[0]
    if isinstance(node, NPV_SumExpression):
        c = 0.0
        terms = None
        for kc, kt in kids:
            c += kc
            if kt and (terms is None or len(kt) > len(terms)):
                terms = kt
        for _, kt in kids:
            if kt and kt is not terms:
                for j, a in kt.items():
                    terms[j] = terms.get(j, 0.0) + a
        return c, terms
    if isinstance(node, NPV_NegationExpression):
        c, t = kids[0]
        return -c, _scaled(t, -1.0)
    (ac, at), (bc, bt) = kids
    if isinstance(node, NPV_ProductExpression):
        if at and bt:
            raise _NotAffine("product of two parameter expressions")
        if bt:
            (ac, at), (bc, bt) = (bc, bt), (ac, at)
        return ac * bc, _scaled(at, bc)
    if bt:  # division
        raise _NotAffine("division by a parameter expression")
    return ac / bc, _divided(at, bc)


def _scaled(terms: dict[int, float] | None, f: float) -> dict[int, float] | None:
    if terms:
        for j in terms:
            terms[j] = terms[j] * f
    return terms


def _divided(terms: dict[int, float] | None, d: float) -> dict[int, float] | None:
    if terms:
        for j in terms:
            terms[j] = terms[j] / d
    return terms


def affine_terms(expr, index: dict[int, int]) -> tuple[float, dict[int, float]]:
    """``expr`` (a Pyomo expression or a number) as ``c + sum_j a_j p_j`` over the mutable
    parameters' positions ``j`` (``index``: id of a parameter data object -> position); ValueError
    if it is not affine.

    Sums, negations, products and divisions by parameter-free factors are decomposed in one walk
    of the expression (:func:`_decompose`: linear in its size, so a header balance over
    thousands of consumers costs thousands of steps, not millions); the decomposition is checked
    against the expression's value at the current parameters. Any other expression is checked by
    perturbation (each parameter moved by 1, then all by 2: one evaluation per parameter)."""
    if isinstance(expr, (int, float)):
        return float(expr), {}
    try:
        values: dict[int, float] = {}
        c, terms = _decompose(expr, index, values)
    except _NotAffine:
        return _affine_by_perturbation(expr, index)
    f0 = float(pyo.value(expr))
    at = c + sum(a * values[j] for j, a in terms.items())
    scale = abs(c) + sum(abs(a * values[j]) for j, a in terms.items())
    if not abs(at - f0) <= 1e-9 * (1.0 + abs(f0) + scale):
        raise ValueError(f"expression {expr}: its affine decomposition gives {at} at the current parameters, "
                         f"the expression {f0}: the HiGHS model cannot be computed as arrays")
    return c, terms


def _affine_by_perturbation(expr, index: dict[int, int]) -> tuple[float, dict[int, float]]:
    """:func:`affine_terms` for expressions :func:`_decompose` does not take apart: slopes by
    moving each parameter by 1, affinity checked by moving all by 2."""
    params = list(identify_mutable_parameters(expr))
    f0 = float(pyo.value(expr))
    if not params:
        return f0, {}
    p0 = [p.value for p in params]
    slopes = []
    for p, v in zip(params, p0):
        p.set_value(v + 1.0)
        slopes.append(float(pyo.value(expr)) - f0)
        p.set_value(v)
    for p, v in zip(params, p0):
        p.set_value(v + 2.0)
    f2 = float(pyo.value(expr))
    for p, v in zip(params, p0):
        p.set_value(v)
    if abs(f2 - f0 - 2.0 * sum(slopes)) > 1e-9 * (1.0 + abs(f0) + abs(f2)):
        raise ValueError(f"expression {expr} is not affine in its parameters: the HiGHS model cannot be computed as arrays")
    terms: dict[int, float] = {}
    for p, a in zip(params, slopes):
        j = index[id(p)]
        terms[j] = terms.get(j, 0.0) + a
    return f0 - sum(a * v for a, v in zip(slopes, p0)), terms


def _clipped(expr, index: dict[int, int], empty: float) -> tuple[float, dict[int, float], float, float]:
    """A bound expression as (c, terms, lower clip, upper clip): Pyomo writes a variable's bound
    as ``max(bound, domain lb)`` or ``min(bound, domain ub)``; None (no bound) is ``empty``."""
    if expr is None:
        return empty, {}, -np.inf, np.inf
    if isinstance(expr, (NPV_MaxExpression, NPV_MinExpression)):
        a, b = expr.args
        const = [x for x in (a, b) if not list(identify_mutable_parameters(x))]
        if len(const) == 2:
            return float(pyo.value(expr)), {}, -np.inf, np.inf
        if len(const) != 1:
            raise ValueError(f"bound {expr}: only max/min of one parameter expression and a constant can be computed as arrays")
        inner = b if const[0] is a else a
        c, terms = affine_terms(inner, index)
        clip = float(pyo.value(const[0]))
        return (c, terms, clip, np.inf) if isinstance(expr, NPV_MaxExpression) else (c, terms, -np.inf, clip)
    c, terms = affine_terms(expr, index)
    return c, terms, -np.inf, np.inf


class LpTemplate:
    """What the model's HiGHS arrays are made of (see the module docstring).

    ``persistent``: Pyomo's persistent HiGHS interface after ``set_instance(model)``; ``model``:
    the Pyomo model. :attr:`params` lists every mutable parameter of the model; a value vector
    holds their values in that order (:meth:`values` reads the current ones from Pyomo)."""

    def __init__(self, persistent, model: pyo.ConcreteModel):
        h: highspy.Highs = persistent._solver_model  # noqa: SLF001
        var_map = persistent._pyomo_var_to_solver_var_map  # noqa: SLF001
        con_map = persistent._pyomo_con_to_solver_con_map  # noqa: SLF001
        self.params = [p for comp in model.component_objects(pyo.Param, descend_into=True) if comp.mutable for p in comp.values()]
        self.index = {id(p): j for j, p in enumerate(self.params)}
        lp = h.getLp()
        n_col, n_row = lp.num_col_, lp.num_row_
        a = lp.a_matrix_
        shape = (n_row, n_col)
        args = (np.asarray(a.value_, dtype=float), np.asarray(a.index_), np.asarray(a.start_))
        base = (csc_matrix(args, shape=shape) if a.format_ == highspy.MatrixFormat.kColwise else csr_matrix(args, shape=shape)).tocoo()
        entries = {(int(r), int(c)): float(v) for r, c, v in zip(base.row, base.col, base.data)}

        consts, rows, clips_lo, clips_hi = [], [], [], []  # one per computed number, in the order below

        def add(c: float, terms: dict[int, float], lo: float = -np.inf, hi: float = np.inf) -> None:
            consts.append(c)
            rows.append(terms)
            clips_lo.append(lo)
            clips_hi.append(hi)

        coef_at = []
        row_at = []
        for helpers in persistent._mutable_helpers.values():  # noqa: SLF001
            for hp in helpers:
                if hasattr(hp, "pyomo_var_id"):
                    where = (con_map[hp.pyomo_con], hp.var_map[hp.pyomo_var_id])
                    entries.setdefault(where, 0.0)
                    coef_at.append(where)
                    add(*affine_terms(hp.expr, self.index))
                else:
                    row_at.append(con_map[hp.con])
        for helpers in persistent._mutable_helpers.values():  # noqa: SLF001 - row bounds after all coefficients
            for hp in helpers:
                if not hasattr(hp, "pyomo_var_id"):
                    add(*_clipped(hp.lower_expr, self.index, -np.inf))
        for helpers in persistent._mutable_helpers.values():  # noqa: SLF001
            for hp in helpers:
                if not hasattr(hp, "pyomo_var_id"):
                    add(*_clipped(hp.upper_expr, self.index, np.inf))
        bounds = list(persistent._mutable_bounds.items())  # noqa: SLF001
        for _vid, (_v, hp) in bounds:
            add(*_clipped(hp.lower_expr, self.index, -np.inf))
        for _vid, (_v, hp) in bounds:
            add(*_clipped(hp.upper_expr, self.index, np.inf))
        obj = persistent._mutable_objective  # noqa: SLF001
        for c in obj.linear_coefs:
            add(*affine_terms(c.expr, self.index))
        add(*affine_terms(obj.constant.expr, self.index))

        data, ri, ci = [], [], []
        for i, terms in enumerate(rows):
            for j, v in terms.items():
                if v != 0.0:
                    ri.append(i)
                    ci.append(j)
                    data.append(v)
        self._m = csr_matrix((data, (ri, ci)), shape=(len(rows), len(self.params)))
        self._c = np.array(consts, dtype=float)
        self._clip_lo = np.array(clips_lo, dtype=float)
        self._clip_hi = np.array(clips_hi, dtype=float)
        self._clipped = bool(np.isfinite(self._clip_lo).any() or np.isfinite(self._clip_hi).any())

        # the matrix: every entry Pyomo wrote plus every mutable coefficient's place, column-wise
        keys = np.array(sorted(entries, key=lambda rc: (rc[1], rc[0])), dtype=np.int64).reshape(-1, 2)
        slot = {(int(r), int(c)): k for k, (r, c) in enumerate(keys)}
        self._a_row = keys[:, 0].astype(np.int32)
        coef_slot = np.array([slot[w] for w in coef_at], dtype=np.int64)
        self.num_col, self.num_row = n_col, n_row
        self._sense = int(lp.sense_)
        self._integrality = (np.array([int(t) for t in lp.integrality_], dtype=np.int32) if len(lp.integrality_)
                             else np.full(n_col, _CONTINUOUS, dtype=np.int32))
        # every number of the model in one vector, [matrix values | col lower | col upper | row
        # lower | row upper | cost | offset], and where each computed number goes in it: a solve's
        # model is one copy and one scatter (few numpy calls: each costs microseconds with the
        # caches cold, as they are at the start of a cycle)
        nnz = keys.shape[0]
        cuts = np.cumsum([0, nnz, n_col, n_col, n_row, n_row, n_col, 1])
        self._parts = [slice(int(cuts[i]), int(cuts[i + 1])) for i in range(7)]
        self._numbers = np.concatenate([
            np.array([entries[(int(r), int(c))] for r, c in keys], dtype=float),
            np.asarray(lp.col_lower_, dtype=float), np.asarray(lp.col_upper_, dtype=float),
            np.asarray(lp.row_lower_, dtype=float), np.asarray(lp.row_upper_, dtype=float),
            np.asarray(lp.col_cost_, dtype=float), [float(lp.offset_)]])
        bound_cols = np.array([var_map[vid] for vid, _ in bounds], dtype=np.int64)
        self._target = np.concatenate([
            coef_slot, cuts[3] + np.array(row_at, dtype=np.int64), cuts[4] + np.array(row_at, dtype=np.int64),
            cuts[1] + bound_cols, cuts[2] + bound_cols,
            cuts[5] + np.array([var_map[c.pyomo_var_id] for c in obj.linear_coefs], dtype=np.int64), [cuts[6]]]).astype(np.int64)
        self._a_col = keys[:, 1]

    def values(self) -> np.ndarray:
        """The parameters' current Pyomo values, in :attr:`params` order."""
        return np.array([p.value for p in self.params], dtype=float)

    def arrays(self, values: np.ndarray) -> LpArrays:
        """The HiGHS model at parameter values ``values`` (in :attr:`params` order)."""
        v = self._c + self._m @ values
        if self._clipped:
            v = np.minimum(np.maximum(v, self._clip_lo), self._clip_hi)
        numbers = self._numbers.copy()
        numbers[self._target] = v
        a, col_lower, col_upper, row_lower, row_upper, cost, offset = (numbers[part] for part in self._parts)
        keep = a != 0.0  # HiGHS holds no zero entries (changeCoeff to 0 deletes one)
        a_start = np.zeros(self.num_col + 1, dtype=np.int32)
        np.cumsum(np.bincount(self._a_col[keep], minlength=self.num_col), out=a_start[1:])
        return LpArrays(self.num_col, self.num_row, self._sense, float(offset[0]), cost, col_lower, col_upper,
                        row_lower, row_upper, a_start, self._a_row[keep], a[keep], self._integrality, entries=a)

    def pattern(self) -> tuple[np.ndarray, np.ndarray]:
        """(row, column) of every entry the matrix can hold, column-wise: the positions of
        :attr:`LpArrays.entries` (a mutable coefficient's place is held even where it is 0)."""
        return self._a_row, self._a_col
