"""The work beside the optimisation (part of :class:`optimizer.supervisor.Supervisor`): the
current operating point and the duals LP, on the worker lane while the solve lane runs the
optimisation.

The current point: the boxes pinned to the measurements, the integer columns fixed where they are
known, an LP (a MIP if that fails); its KPIs are the proposal's current KPIs and its solution the
hold the certificate compares with. The duals LP (the pricing of the binding limits): a copy of the
optimisation's model with integers continuous and each curve continued just beyond its box,
solved at the last cycle's on/off pattern while the optimisation runs, else at the optimisation's
once it answered. The methods are :class:`BesideMixin`'s, which Supervisor inherits.
"""

from __future__ import annotations

import logging
import time

import highspy
import numpy as np
from pyomo.repn import generate_standard_repn

from optimizer.audit import sha256_of
from optimizer.cycle import CycleData
from optimizer.cycle_lanes import SolveResult, _Handoff
from optimizer.formulation import x_var, y_var
from optimizer.highs_direct import Ticket

# the Supervisor's records, wherever its methods live
log = logging.getLogger("optimizer.supervisor")

# the duals LP starts from an optimal basis of the last cycle's (0 simplex iterations in the
# median): unscaled, measured 0.16 instead of 0.22 ms on the reference site, the same duals
_PRICING_OPTIONS = {"simplex_scale_strategy": 0}


class BesideMixin:
    """Supervisor's work beside the optimisation: the current point's LP and the duals LP."""

    def _beside(self, snapshot: object, cycle: "CycleData", opt_values: np.ndarray, opt_job, t0: float, handoff: "_Handoff",
                opt_ticket: Ticket | None = None) -> None:
        """On the worker lane, while the solve lane runs the optimisation: the Params set to the
        optimisation's data, the check's evaluators, the current point's LP and KPIs and the
        snapshot's audit hash (then ``handoff.current_done``), and the duals LP prepared (and
        solved at the last cycle's pattern; then ``handoff.beside_done``). Never raises; both
        events are set whatever happens. Writes only into ``handoff`` and the Params (an
        abandoned lane stops at its next HiGHS run's end: Lane). It first lets the optimisation
        reach HiGHS (``opt_ticket.started``, 5 ms at most): both threads need the interpreter
        lock until then, and this one holding it for its Python work held the optimisation back
        (measured: a median of 3 ms, a 90th percentile of 10 ms on a loaded machine)."""
        cur_job = cur_run = fix = None
        if opt_ticket is not None:
            opt_ticket.started.wait(0.005)
        try:
            # the Params hold the optimisation's data (the KPIs' prices; the model reads
            # consistently with the proposal it will hold)
            self._sync(opt_values)
            handoff.verify_prep = self._prepare_verify(cycle)
            try:
                handoff.current_values, pinned_model, fix, cur_job, cur_run = self._solve_current(cycle, self._remaining(t0), slot="current")
            except Exception as exc:  # the proposal does not depend on it: report and go on
                log.warning("HiGHS failed on the current point: %s", exc)
                pinned_model = fix = cur_job = cur_run = None
            if cur_run is not None:
                handoff.current = self._current_result(cur_run, fix, pinned_model, t0)
            handoff.current_kpis = self._kpis(handoff.current.x) if handoff.current.ok else {}
            try:
                handoff.snapshot_hash = sha256_of(snapshot)
            except Exception:  # the audit trail never costs the plant its answer: step() tries again and reports
                handoff.snapshot_hash = None
        except Exception:  # the cycle goes on with what is there
            log.exception("the work beside the optimisation failed")
        finally:
            handoff.current_done.set()
        try:
            if self.config.duals and opt_job is not None:
                handoff.pricing = self._prepare_pricing(opt_job, cycle, cur_job, cur_run, fix, t0, handoff)
        except Exception:
            log.exception("the duals LP beside the optimisation failed")
        finally:
            handoff.beside_done.set()

    def _prepare_pricing(self, opt_job, cycle: "CycleData", cur_job, cur_run, fix, t0: float, handoff: "_Handoff"):
        """The duals LP, all but its on/off pattern: a copy of the optimisation's model, integers
        continuous, each curve continued just beyond its box (see _extend_curves), started from
        the last cycle's duals LP's optimal basis (same rows and columns; the optimum moves little
        between cycles: measured on the reference site, 0 simplex iterations in the median and
        0.22 ms, against 10 iterations and 0.75 ms from the current point's basis), else from the
        current point's. Solved at once at the last cycle's on/off pattern and segments: the
        optimum usually keeps them (156 of 199 reference cycles), and then the duals are ready
        when it answers (see _fix_pricing). None if it cannot be prepared.
        tests/test_supervisor.py prices every limit by finite differences."""
        try:
            basis = self._solver.optimal_basis(self._last_pricing)  # before its instance is reused
            pricing = self._solver.prepare_pricing(0.2, opt_job.model, slot="duals", options=_PRICING_OPTIONS)
            self._extend_curves(pricing.g, cycle)
            if basis is None and cur_job is not None and fix is not None and cur_run.status == "optimal":
                basis = cur_job.g.getBasis()
            if basis is not None and basis.valid:
                pricing.g.setBasis(basis)
            if self._last_pattern is not None:
                self._solver.fix_integers(pricing, np.array(self._last_pattern, dtype=float))
                pricing.g.setOptionValue("time_limit", self._remaining(t0))
                self._solver.execute(pricing)
                if pricing.g.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                    handoff.speculated = self._last_pattern
                    handoff.speculated_binding = self._binding_limits.candidates(self._solver.duals(pricing))
            return pricing
        except Exception as exc:  # binding limits are a report: the cycle goes on without them
            log.warning("duals LP could not be prepared: %s", exc)
            return None

    def _run_pricing(self, handoff: "_Handoff") -> None:
        """On the worker: the duals LP, held at the optimisation's pattern by :meth:`_fix_pricing`."""
        try:
            self._solver.execute(handoff.pricing)
            handoff.priced_ok = True
        except Exception as exc:  # binding limits are a report: the cycle goes on without them
            log.warning("duals LP failed: %s", exc)
        finally:
            handoff.priced.set()

    def _fix_pricing(self, handoff: "_Handoff", cycle: "CycleData") -> str | None:
        """The duals LP at the optimisation's on/off pattern and segments: "priced" if the LP
        solved while the optimisation ran had that pattern (its duals stand), "run" once the LP
        is held at it (its time limit what is left of the cycle; it starts from the first run's
        optimal basis), None if there is no duals LP or that failed."""
        if handoff.pricing is None:
            return None
        try:
            pattern = self._integer_pattern(self._solver.solution(), cycle)
            self._last_pattern = pattern
            if pattern == handoff.speculated:
                handoff.hit = True
                return "priced"
            self._solver.fix_integers(handoff.pricing, np.array(pattern, dtype=float))
            handoff.pricing.g.setOptionValue("time_limit", max(0.005, handoff.deadline - time.perf_counter()))
            return "run"
        except Exception as exc:  # binding limits are a report: the cycle goes on without them
            log.warning("duals LP could not be fixed at the optimisation's pattern: %s", exc)
            return None

    def _current_fix(self, c: "CycleData", pinned: np.ndarray) -> dict[int, float] | None:
        """Every integer column's value at the current operating point: on/off states are known
        (the pinned boxes' ``*_on_lo`` in ``pinned``, the pinned parameter vector), the
        header-mixing states are taken from the last solution (None before the first one)."""
        if self._last_hot is None:
            return None
        values: dict[int, float] = {}
        pos = self._key_pos
        for col, name, idx in self._int_cols:
            if name in ("b_on", "g_on", "t_on"):
                key = (f"{name}_lo", idx)
                j = pos.get(key)
                values[col] = float(pinned[self._position(key) if j is None else j])
            elif name == "d_on":
                values[col] = 1.0 if c.duct_on.get(idx, False) else 0.0
            elif name == "z":  # the pinned box's one segment: code 0
                values[col] = 0.0
            elif name == "hot":
                values[col] = float(self._last_hot.get(idx, 1.0))
        return values

    def _solve_current(self, cycle: "CycleData", time_limit: float, slot: str | None = None) -> tuple:
        """The current operating point solved: the boxes pinned, the integer columns fixed where
        they are known (an LP; with ``slot``, started from that slot's last optimal basis, a like
        LP's). Returns (pinned parameter values, pinned model, fix, job, result)."""
        values = self._write(cycle, pinned=True)
        model = self._solver.arrays(values)
        fix = self._current_fix(cycle, values)
        basis = self._solver.optimal_basis(self._last_current) if (fix and slot is not None) else None
        job = self._solver.prepare(model, time_limit, 0.0 if fix else self.config.mip_rel_gap, fix=fix, slot=slot, basis=basis)
        if slot is not None:
            self._last_current = job
        return values, model, fix, job, self._solver.run(job, False)

    def _current_result(self, r, fix, model, t0: float) -> "SolveResult":
        """Check a current-point solve; if its LP failed (the mixing states changed), solve the
        current point (``model``, the pinned one) again as a MIP, without touching the loaded
        optimisation."""
        ok = r.status == "optimal" and r.x is not None and all(r.x[col] < 1e-6 for col in self._unserved_cols)
        if ok or fix is None:
            return SolveResult(ok, "optimal" if ok else "fallback_hold", r.model_status, r.run_s, r.nodes, 0.0, r.objective, r.x)
        r = self._solver.run(self._solver.prepare(model, self._remaining(t0), self.config.mip_rel_gap), load=False)
        ok = r.status in ("optimal", "feasible_limit") and r.x is not None
        return SolveResult(ok, "optimal" if ok else "fallback_hold", r.model_status, r.run_s, r.nodes, 0.0, r.objective, r.x)

    def _extend_curves(self, g, c: "CycleData") -> None:
        """In the duals LP (a copy), move each curve group's end breakpoints just beyond the box
        (:attr:`CycleData.curve_ends`), so that the unit limit rows alone hold the box and their
        duals are what relaxing each limit saves."""
        m = self._model
        if self._curve_rows is None:
            self._curve_rows = {}

            def row_of(con, var):
                repn = generate_standard_repn(con.body, compute_values=True)
                coef = {id(v): a for v, a in zip(repn.linear_vars, repn.linear_coefs)}
                return self._solver.row(con), -coef[id(var)]  # a weight's coefficient: -coef(x) * point

            for gname, grp in m.st.groups.items():
                slot = self.curves.slots[grp.members[0]]
                x_row = row_of(m.curve_x[gname], x_var(m, slot))
                y_rows = {n: row_of(m.curve_y[n], y_var(m, self.curves.slots[n])) for n in grp.members}
                cols = [self._solver.column(m.lam[gname, k]) for k in range(grp.max_points)]
                self._curve_rows[gname] = (x_row, y_rows, cols)
        for gname, (x_lo, y_lo, x_hi, y_hi) in c.curve_ends.items():
            n = len(c.curves[gname][0])
            if n < 2:
                continue
            (rx, sx), y_rows, cols = self._curve_rows[gname]
            g.changeCoeff(rx, cols[0], sx * x_lo)
            g.changeCoeff(rx, cols[n - 1], sx * x_hi)
            for name, (ry, sy) in y_rows.items():
                g.changeCoeff(ry, cols[0], sy * y_lo[name])
                g.changeCoeff(ry, cols[n - 1], sy * y_hi[name])

    def _integer_pattern(self, x: np.ndarray, c: "CycleData") -> tuple[int, ...]:
        """The integer columns' values in ``x`` (rounded, :attr:`HighsDirect._int_idx` order) with
        each SOS group's binaries naming a segment of this cycle's curve. A unit at its box's last
        breakpoint may carry the code of the (unused) segment beyond it, which holds that
        breakpoint alone; in the duals LP, where the curve reaches past the box, that point lies
        outside the box, so the code becomes the last used segment's (which holds the same point).
        Plain Python on a few dozen numbers: right after the optimisation, with the caches cold,
        it took a quarter of the time of the same in numpy."""
        if self._code_cols is None:
            m = self._model
            where = {int(col): k for k, col in enumerate(self._solver._int_idx.tolist())}  # noqa: SLF001
            groups = [(g, [where[self._solver.column(m.z[g, b])] for b in range(m.st.bits[g])]) for g in m.st.sos_groups]
            width = max((len(bits) for _, bits in groups), default=0)
            inverse = [0] * (1 << width)  # Gray code -> segment index
            for seg in range(1 << width):
                inverse[seg ^ (seg >> 1)] = seg
            self._code_cols = (self._solver._int_idx.tolist(), groups, inverse)  # noqa: SLF001
        columns, groups, inverse = self._code_cols
        values = x.tolist()
        pattern = [round(values[i]) for i in columns]
        for g, bits in groups:
            code = 0
            for b, k in enumerate(bits):
                code |= pattern[k] << b
            last = max(0, len(c.curves[g][0]) - 2)
            if inverse[code] > last:
                gray = last ^ (last >> 1)
                for b, k in enumerate(bits):
                    pattern[k] = (gray >> b) & 1
        return tuple(pattern)
