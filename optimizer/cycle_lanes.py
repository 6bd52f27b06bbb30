"""The supervisory cycle's lanes (part of :class:`optimizer.supervisor.Supervisor`): its HiGHS
runs, each on a thread the cycle can abandon (:class:`optimizer.highs_direct.Lane`), waited for no
later than the time budget allows, and their results.

The solve lane runs the optimisation, the local LP and the in-cycle re-solve; the worker lane the
current point and the duals LP (:mod:`optimizer.cycle_beside`). :class:`SolveResult` is what a
solve gives the cycle, :class:`_Handoff` what the worker hands the caller's thread within one
cycle. The methods are :class:`LanesMixin`'s, which Supervisor inherits.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np

from optimizer.highs_direct import Lane, Ticket

# the Supervisor's records, wherever its methods live
log = logging.getLogger("optimizer.supervisor")


class LanesMixin:
    """Supervisor's lanes: waiting for, abandoning and settling them, and one HiGHS solve."""

    def _await(self, ticket: Ticket, until: float, what: str) -> "SolveResult":
        """The SolveResult of a solve submitted to the solve lane, waited for until ``until``
        (perf_counter time); if HiGHS has not answered by then the lane is abandoned and the
        result is a failure with ``abandoned`` set."""
        if not ticket.wait(until):
            self._abandon_runner()
            log.error("%s did not answer within the time budget: its HiGHS run is abandoned", what)
            return SolveResult(False, "fallback_hold", f"{what} abandoned: HiGHS did not answer within the time budget", 0.0, abandoned=True)
        if ticket.error is not None:
            exc = ticket.error
            log.warning("%s failed: %s", what, exc)
            return SolveResult(False, "fallback_hold", f"solver error: {type(exc).__name__}: {exc}", 0.0)
        return ticket.value

    def _abandon_runner(self) -> None:
        """Give up the solve lane (its HiGHS run asked to stop; its instance never used again)
        and take a fresh one."""
        self._runner.abandon()
        self._runner = Lane(f"steamopt-{self.site.name}-solve")
        self._solver.forget("opt")

    def _abandon_worker(self) -> None:
        """Give up the worker lane (current point, duals LP) and take a fresh one; the LPs it held
        are forgotten (their bases are not read again)."""
        self._pool.abandon()
        self._pool = Lane(f"steamopt-{self.site.name}-beside")
        self._solver.forget("current", "duals")
        self._last_current = None
        self._last_pricing = None

    def _settle_lanes(self, t0: float) -> None:
        """At a cycle's start: the last cycle's lane work (a duals LP still running) is over
        before its instances are reused; waited for until a quarter of this cycle's budget, then
        abandoned."""
        self._sampled.collect()
        until = t0 + 0.25 * self.config.time_budget_s
        for lane, abandon in ((self._pool, self._abandon_worker), (self._runner, self._abandon_runner)):
            if lane.last is not None and not lane.last.wait(until):
                log.warning("lane %s still busy from the last cycle: abandoned", lane.name)
                abandon()

    def _solve(self, time_limit: float, job=None, model=None, pyomo: bool = True) -> "SolveResult":
        """Solve ``model`` (:class:`~optimizer.lp_arrays.LpArrays`), or run ``job``, a solve
        already prepared (e.g. to be run on the worker thread); ``pyomo``: load the solution into
        the Pyomo variables now (else the caller does, :meth:`HighsDirect.load_pyomo`)."""
        t = time.perf_counter()
        try:
            if job is not None:
                r = self._solver.run(job, pyomo=pyomo)
            else:
                r = self._solver.solve(model, time_limit, self.config.mip_rel_gap, pyomo=pyomo)
        except Exception as exc:  # a solver failure is a status, not a crash
            log.warning("HiGHS failed: %s", exc)
            return SolveResult(False, "fallback_hold", f"solver error: {type(exc).__name__}: {exc}", time.perf_counter() - t)
        gap = None
        if r.objective is not None and r.bound is not None:
            gap = abs(r.objective - r.bound) / max(1.0, abs(r.objective))
        if r.status == "optimal":
            return SolveResult(True, "optimal", r.model_status, time.perf_counter() - t, r.nodes, gap, r.objective)
        if r.status == "feasible_limit":
            return SolveResult(True, "time_limited", r.model_status, time.perf_counter() - t, r.nodes, gap, r.objective)
        return SolveResult(False, "fallback_hold", r.model_status, time.perf_counter() - t, r.nodes, gap, None)


@dataclass
class _Handoff:
    """Between the caller's thread and the worker within one cycle: what the worker did beside
    the optimisation (set, then ``beside_done``), and the duals LP (``priced``)."""

    deadline: float = math.inf  # perf_counter() time by which the cycle must have answered
    current_done: threading.Event = field(default_factory=threading.Event)  # current, current_kpis, verify_prep, snapshot_hash set
    beside_done: threading.Event = field(default_factory=threading.Event)  # ... and the duals LP prepared (pricing, speculated)
    snapshot_hash: str | None = None
    current: "SolveResult" = field(default_factory=lambda: SolveResult(False, "fallback_hold", "solver error on the current point", 0.0))
    current_kpis: dict = field(default_factory=dict)
    current_values: np.ndarray | None = None  # the current point's (pinned) parameter values
    verify_prep: object = None
    pricing: object = None
    speculated: tuple | None = None  # the integer pattern the duals LP was solved at while the optimisation ran
    speculated_binding: object = None  # ... and its binding-limit candidates (BindingLimits.candidates)
    hit: bool = False  # the optimisation's pattern was the speculated one
    priced: threading.Event = field(default_factory=threading.Event)  # the duals LP is done with
    priced_ok: bool = False  # ... and it ran (or was solved at the optimisation's pattern already)


@dataclass
class SolveResult:
    ok: bool
    status: str
    reason: str
    solve_s: float
    nodes: int = -1
    gap: float | None = None
    objective: float | None = None
    x: np.ndarray | None = None
    abandoned: bool = False  # HiGHS did not answer in time and its lane was given up
