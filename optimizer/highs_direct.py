"""HiGHS driven directly (highspy) under the Pyomo-built model.

Why: measured on the reference site (2 cores), Pyomo's persistent HiGHS interface spends about
11 ms per solve re-evaluating every mutable-parameter expression through Pyomo's expression
visitor and about 5 ms capturing the solver's output, against about 14 ms of HiGHS itself; the
cycle does two solves. Here the model is still written in Pyomo and handed to HiGHS once by
Pyomo's persistent interface (which also records which parameter feeds which coefficient,
bound, right-hand side or cost); from that record :class:`~optimizer.lp_arrays.LpTemplate`
computes the whole HiGHS model from a vector of parameter values in one sparse product, each
solve passes those arrays to HiGHS in one call, and the primal values are loaded back into the
Pyomo variables.

The lanes the solves run on (:mod:`optimizer.highs_lanes`) and the check of HiGHS options
(:mod:`optimizer.highs_options`) are in their own modules; their names are importable from here too.

This uses internals of ``pyomo.contrib.solver.solvers.highs`` (``_mutable_helpers``,
``_mutable_bounds``, ``_mutable_objective``, the column/row maps): Pyomo is pinned to the 6.10
series in pyproject.toml, and tests cover it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.contrib.solver.solvers.highs import Highs

from optimizer.highs_lanes import _THIS_LANE, EXIT_WAIT_S, Abandoned, Lane, Ticket, cancel  # noqa: F401 - re-exported (their old path)
from optimizer.highs_options import check_solver_options
from optimizer.lp_arrays import LpArrays, LpTemplate

log = logging.getLogger(__name__)


@dataclass
class DirectResult:
    status: str            # optimal | feasible_limit | infeasible | error
    model_status: str
    objective: float | None
    bound: float | None
    nodes: int
    has_solution: bool
    run_s: float
    x: np.ndarray | None = None


@dataclass
class Prepared:
    g: highspy.Highs
    model: object


def run_in_this_thread(g: "highspy.Highs") -> None:
    """``g.run()`` in the calling thread. HiGHS keeps one task scheduler per calling thread, sized
    by the first run in it; if another HiGHS user in this thread (Pyomo's appsi_highs with its
    default, a solve with more threads) set it up for more threads, every run with threads=1 is
    refused before it starts (status error, model status not set). Then this thread's scheduler is
    reset (nothing else of HiGHS can be running in it) and the run made again."""
    if g.run() == highspy.HighsStatus.kError and g.getModelStatus() == highspy.HighsModelStatus.kNotset:
        log.info("HiGHS refused to run: this thread's task scheduler was set up by another HiGHS user; resetting it")
        highspy.Highs.resetThreadScheduler(True)
        g.run()


class HighsDirect:
    """One persistent HiGHS instance for one Pyomo model (see the module docstring)."""

    check_options = staticmethod(check_solver_options)

    def __init__(self, model: pyo.ConcreteModel, options: dict | None = None):
        self.model = model
        self._pyomo = Highs()
        self._pyomo.config.load_solutions = False
        self._pyomo.set_instance(model)
        self.h: highspy.Highs = self._pyomo._solver_model  # noqa: SLF001
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("log_to_console", False)
        self._options = check_solver_options(options, "options")
        self._last_model = None
        self._last_x: np.ndarray | None = None
        self._instances: dict[str, highspy.Highs] = {}
        self._applied: dict[str, dict] = {}  # per slot: the options its instance holds
        var_map = self._pyomo._pyomo_var_to_solver_var_map  # noqa: SLF001
        self._vars = [(v, var_map[id(v)]) for v in model.component_data_objects(pyo.Var) if id(v) in var_map]
        self._col = {id(v): c for v, c in self._vars}
        self._int_cols = [c for v, c in self._vars if v.is_integer() or v.is_binary()]
        self._int_idx = np.array(sorted(self._int_cols), dtype=np.int32)
        self.n_binaries = sum(1 for v, _ in self._vars if v.is_binary())
        self.template = LpTemplate(self._pyomo, model)
        self.params = self.template.params  # every mutable Param; a value vector follows this order

    @property
    def variables(self) -> list[tuple[object, int]]:
        """(Pyomo variable, HiGHS column) of every column."""
        return list(self._vars)

    def param_position(self, data) -> int:
        """Position of a mutable Param's data object in a value vector (:attr:`params` order)."""
        return self.template.index[id(data)]

    def arrays(self, values: np.ndarray) -> LpArrays:
        """The HiGHS model at parameter values ``values`` (see :class:`LpTemplate`)."""
        return self.template.arrays(values)

    def _fresh(self, time_limit: float, mip_rel_gap: float, options: dict | None, model: LpArrays,
               slot: str | None = None) -> highspy.Highs:
        """A HiGHS instance holding ``model``: new, or the instance kept for ``slot`` (one per role
        in the cycle, e.g. "opt"). A slot's previous solve must be finished and no longer read.
        A kept instance keeps its options (set again only when ``options`` differ from its
        last): passing a model replaces the old one and its solver data, and HiGHS's time limit
        counts each run on its own."""
        wanted = {**self._options, **(options or {})}
        g = self._instances.get(slot) if slot is not None else None
        if g is None or self._applied.get(slot) != wanted:
            if g is None:
                g = highspy.Highs()
            else:
                g.clear()  # other options than last time: from HiGHS's defaults again
            g.setOptionValue("output_flag", False)
            for k, v in wanted.items():
                if g.setOptionValue(k, v) != highspy.HighsStatus.kOk:  # checked when built: a bug if it happens
                    log.error("HiGHS refused option %s = %r; it keeps its previous value", k, v)
            if slot is not None:
                self._instances[slot], self._applied[slot] = g, wanted
        g.setOptionValue("time_limit", float(time_limit))
        g.setOptionValue("mip_rel_gap", float(mip_rel_gap))
        model.pass_to(g)
        return g

    def prepare(self, model: LpArrays, time_limit: float, mip_rel_gap: float, options: dict | None = None,
                fix: dict[int, float] | None = None, slot: str | None = None,
                basis: "highspy.HighsBasis | None" = None) -> "Prepared":
        """A solve of ``model``, ready to run (possibly in another thread). ``fix``: integer
        columns fixed at these values and made continuous (an LP); ``basis``: with ``fix``, the
        LP's starting basis (e.g. a like LP's optimal one)."""
        if fix:
            idx = np.array(sorted(fix), dtype=np.int32)
            model = model.with_fixed(idx, np.array([fix[i] for i in idx], dtype=float))
        g = self._fresh(time_limit, mip_rel_gap, options, model, slot)
        if fix and basis is not None and basis.valid:
            g.setBasis(basis)
        return Prepared(g, model)

    def run(self, job: "Prepared", load: bool = True, pyomo: bool = True) -> DirectResult:
        """Run a prepared solve. HiGHS releases the GIL while it runs. ``load``: make this the
        solve that :meth:`solution`, duals and bounds refer to and (``pyomo``, else later by
        :meth:`load_pyomo`) write the primal values into the Pyomo variables."""
        g = job.g
        t0 = time.perf_counter()
        self.execute(job)
        run_s = time.perf_counter() - t0
        status = g.getModelStatus()
        info = g.getInfo()
        has_sol = info.primal_solution_status == 2
        name = g.modelStatusToString(status)
        if status == highspy.HighsModelStatus.kOptimal:
            kind = "optimal"
        elif has_sol:
            kind = "feasible_limit"
        elif status in (highspy.HighsModelStatus.kInfeasible, highspy.HighsModelStatus.kUnboundedOrInfeasible):
            kind = "infeasible"
        else:
            kind = "error"
        nodes = int(info.mip_node_count) if info.mip_node_count >= 0 else 0
        bound = info.mip_dual_bound if info.mip_node_count >= 0 else (info.objective_function_value if kind == "optimal" else None)
        x = np.asarray(g.getSolution().col_value) if has_sol else None
        if load:
            self._last_model, self._last_x = job.model, x
            if pyomo:
                self.load_pyomo(x)
        return DirectResult(kind, name, info.objective_function_value if has_sol else None, bound, nodes, has_sol, run_s, x)

    def load_pyomo(self, x: np.ndarray | None) -> None:
        """Write the primal values ``x`` (a solve's, in column order) into the Pyomo variables."""
        if x is not None:
            for v, col in self._vars:
                v.set_value(x[col], skip_validation=True)

    @classmethod
    def execute(cls, job: "Prepared") -> None:
        """:meth:`run_only` where the cycle can abandon it: on a :class:`Lane`'s thread the run is
        that lane's current HiGHS run (cancelled if the lane is abandoned) and, if the lane was
        abandoned while it ran, :class:`Abandoned` is raised as it returns (nothing of its result
        may be used). Elsewhere simply :meth:`run_only`."""
        lane = _THIS_LANE.__dict__.get("state")
        if lane is None:
            cls.run_only(job)
            return
        with lane.running(job):
            cls.run_only(job)

    def forget(self, *slots: str) -> None:
        """Drop the HiGHS instances kept for ``slots`` (an abandoned lane's: one that may still be
        running is never used again); the next :meth:`prepare` for a slot builds a fresh one."""
        for slot in slots:
            self._instances.pop(slot, None)
            self._applied.pop(slot, None)

    @staticmethod
    def run_only(job: "Prepared") -> None:
        """Run a prepared solve and nothing else (its results stay in ``job.g``)."""
        run_in_this_thread(job.g)

    def solve(self, model: LpArrays, time_limit: float, mip_rel_gap: float, options: dict | None = None,
              fix: dict[int, float] | None = None, load: bool = True, pyomo: bool = True) -> DirectResult:
        """Prepare and run in this thread."""
        return self.run(self.prepare(model, time_limit, mip_rel_gap, options, fix), load=load, pyomo=pyomo)

    def column(self, var) -> int:
        return self._col[id(var)]

    def row(self, con) -> int:
        """HiGHS row index of a Pyomo constraint."""
        return self._pyomo._pyomo_con_to_solver_con_map[con]  # noqa: SLF001

    def integer_columns(self) -> dict[int, object]:
        """HiGHS column index -> Pyomo variable, for every integer (binary) column."""
        return {c: v for v, c in self._vars if v.is_integer() or v.is_binary()}

    def solution(self) -> np.ndarray:
        """Column values of the last loaded solve (the copy taken when it ran)."""
        return self._last_x

    def prepare_pricing(self, time_limit: float, model: LpArrays, slot: str | None = None, options: dict | None = None) -> "Prepared":
        """An LP copy of ``model`` with its integer columns made continuous; :meth:`fix_integers`
        then holds them at a solution's on/off pattern, and its duals price the binding limits.
        Nothing here depends on the solution, so it can be prepared while the MILP runs."""
        relaxed = model.without_symmetry_rows().relaxed(self._int_idx)  # rows between twins (optimizer/twins.py) price nothing
        return Prepared(self._fresh(time_limit, 0.0, options, relaxed, slot), relaxed)

    def fix_integers(self, job: "Prepared", pattern: np.ndarray) -> None:
        """Hold a :meth:`prepare_pricing` LP's integer columns (``_int_idx``, increasing) at
        ``pattern``."""
        idx = self._int_idx
        job.g.changeColsBounds(idx.size, idx, pattern, pattern)

    @staticmethod
    def optimal_basis(job: "Prepared | None") -> "highspy.HighsBasis | None":
        """The optimal basis of a prepared LP that has run (to start a like LP from), else None."""
        if job is None or job.g.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        basis = job.g.getBasis()
        return basis if basis.valid else None

    @staticmethod
    def duals(job: "Prepared") -> tuple[np.ndarray, np.ndarray] | None:
        """(row duals, column reduced costs) of a prepared LP that has run, or None if it failed."""
        sol = job.g.getSolution()
        if job.g.getModelStatus() != highspy.HighsModelStatus.kOptimal or not sol.dual_valid:
            return None
        return np.asarray(sol.row_dual), np.asarray(sol.col_dual)

    def last_model(self) -> highspy.HighsModel:
        """The HiGHS model (``highspy.HighsModel``) of the last loaded solve, as it was solved:
        the cycle's optimisation."""
        return self._last_model.highs_model()

    def last_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Column bounds of the model last handed to HiGHS."""
        return self._last_model.col_lower, self._last_model.col_upper

    def names(self) -> tuple[list[str], list[str]]:
        """Pyomo names of HiGHS rows and columns, by index."""
        rows = [""] * self.h.getNumRow()
        for con, r in self._pyomo._pyomo_con_to_solver_con_map.items():  # noqa: SLF001
            rows[r] = con.name
        cols = [""] * self.h.getNumCol()
        for v, c in self._vars:
            cols[c] = v.name
        return rows, cols
