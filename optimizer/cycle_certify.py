"""Certification of the cycle's answer (part of :class:`optimizer.supervisor.Supervisor`; the
checks themselves are :mod:`optimizer.certify`).

The proposal is never predicted worse than holding the current point (else the current point is
proposed; a hold that looks cheaper only through linearised curves' chords is first priced in the
optimisation's own model, :func:`optimizer.certify.hold_in_model`), and on a schedule a re-solve with presolve off confirms its objective: an implausible
saving now, inside the cycle's budget, on the solve lane; every ``certify_every``-th cycle after
the cycle answered. The methods are :class:`CertifyMixin`'s, which Supervisor inherits.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from optimizer import certify
from optimizer.cycle_lanes import SolveResult, _Handoff
from optimizer.highs_direct import Ticket

# the Supervisor's records, wherever its methods live
log = logging.getLogger("optimizer.supervisor")


class CertifyMixin:
    """Supervisor's certification: the hold check, the re-solve's schedule and verdict."""

    def _certify(self, model, x_opt: np.ndarray, current: "SolveResult", result: "SolveResult", status: str,
                 handoff: "_Handoff") -> tuple[dict, np.ndarray, Ticket | None]:
        """The proposal's certificate: holding the current point compared in the model's
        objective (``hold_check``: "passed"; "held" when the answer is predicted worse than a
        hold the model allows, so the current point's solution ``current.x`` is proposed;
        "hold_not_allowed" when worse but the hold breaks a rule of the model; "not_checked"
        without a current point), and the re-solve when the schedule calls for it
        (:meth:`_resolve_reason`): an implausible saving is re-solved now on the solve lane and
        waited for inside the budget (the returned ticket, :meth:`_collect_resolve`); a sampled
        cycle is re-solved after the cycle answered (:class:`optimizer.certify.SampledResolves`),
        its verdict in a later proposal's ``certificate["previous_resolve"]``. Returns (certificate, the solution
        to propose, the ticket of a re-solve to wait for or None)."""
        cfg = self.config
        cert: dict = {"hold_check": "not_checked", "proposal_objective": None, "hold_objective": None, "resolve": None}
        x_prop = x_opt
        try:
            f_prop = certify.objective(model, x_opt)
            cert["proposal_objective"] = f_prop
            rtol = max(cfg.certify_rtol, result.gap or 0.0) if status == "time_limited" else cfg.certify_rtol
            saving = None
            if current.ok and current.x is not None:
                chk = certify.hold_check(model, x_opt, current.x, cfg.certify_rtol, self._curve_internal_cols(), self._names())
                cert["hold_objective"] = chk.hold_objective
                saving = chk.hold_objective - chk.proposal_objective
                in_model = None
                if chk.hold_better:
                    room = handoff.deadline - time.perf_counter() - 0.002
                    in_model = certify.hold_in_model(model, current.x, self._hold_decision_cols(), room,
                                                     self._solver._options) if room > 0.005 else None  # noqa: SLF001
                    cert["hold_objective_in_model"] = in_model
                if chk.hold_better and in_model is not None and \
                        chk.proposal_objective - in_model <= cfg.certify_rtol * max(1.0, abs(in_model)):
                    cert["hold_check"] = "passed"
                    cert["hold_note"] = ("holding looks cheaper only through the linearised curves' chords: at the current "
                                         f"decisions the optimisation's model costs {in_model:.9g}, no less than its answer")
                elif chk.hold_better:
                    cert["hold_check"] = "held"
                    x_prop = current.x
                    log.warning("the optimiser's answer (%s, objective %.9g) is predicted worse than holding the current point (%.9g): "
                                "proposing the current point", status, chk.proposal_objective, chk.hold_objective)
                elif chk.worse:
                    cert["hold_check"] = "hold_not_allowed"
                    cert["hold_violation"] = chk.hold_violation
                else:
                    cert["hold_check"] = "passed"
            why, now = self._resolve_reason(status, saving, cert["hold_objective"])
            if why is None:
                return cert, x_prop, None
            cert["resolve"] = {"reason": why, "rtol": rtol}
            if not now:
                if self._sampled.running is not None:
                    cert["resolve"]["status"] = "skipped: the last sampled re-solve is still running"
                else:
                    cert["resolve"]["status"] = "runs after this cycle: its verdict comes with a later proposal (previous_resolve)"
                    self._sampled.pending = (model, rtol, f_prop, why)
                return cert, x_prop, None
            room = handoff.deadline - time.perf_counter() - 0.002
            if room < 0.005:
                cert["resolve"]["status"] = "skipped: no time left in the budget"
                return cert, x_prop, None
            return cert, x_prop, self._runner.submit(certify.resolve, model, self._solver._options, room, cfg.mip_rel_gap)  # noqa: SLF001
        except Exception as exc:  # the certificate is a check: without it the proposal stands, said so
            log.exception("certification failed")
            cert["error"] = f"{type(exc).__name__}: {exc}"
            return cert, x_opt, None

    def _resolve_reason(self, status: str, saving: float | None, hold_objective: float | None) -> tuple[str | None, bool]:
        """Why this cycle's optimisation is re-solved (None: it is not) and whether now (inside
        the cycle's budget): whenever the predicted saving against holding exceeds
        ``certify_saving_rel`` of holding's objective (implausible: now), and every
        ``certify_every``-th cycle (sampled: after the cycle answered, on the certify lane)."""
        if status not in ("optimal", "time_limited"):
            return None, False
        cfg = self.config
        if saving is not None and hold_objective is not None and saving > cfg.certify_saving_rel * max(1.0, abs(hold_objective)):
            return f"implausible saving: {saving:.6g} is more than {cfg.certify_saving_rel:g} of holding's objective {hold_objective:.6g}", True
        if cfg.certify_every and self._cycle_count % cfg.certify_every == 0:
            return f"every {cfg.certify_every} cycles", False
        return None, False

    def _collect_resolve(self, ticket: Ticket, until: float, cert: dict, warnings: list[str]) -> None:
        """An in-cycle re-solve's verdict into the certificate (waited for until ``until``, else
        the solve lane is abandoned); a disagreement is logged and warned of."""
        res = cert["resolve"]
        if not ticket.wait(until):
            self._abandon_runner()
            res["status"] = "unfinished: abandoned at the end of the time budget"
            return
        if ticket.error is not None:
            res["status"] = f"error: {type(ticket.error).__name__}: {ticket.error}"
            log.warning("re-solve failed: %s", ticket.error)
            return
        res.update(certify.verdict(cert["proposal_objective"], ticket.value, res))
        if res["agrees"] is False:
            warnings.append(f"optimiser's answer not confirmed: {res['message']}")

    def _names(self) -> tuple[list[str], list[str]]:
        """Pyomo names of the HiGHS rows and columns (cached)."""
        if self._row_col_names is None:
            self._row_col_names = self._solver.names()
        return self._row_col_names

    def _hold_decision_cols(self) -> np.ndarray:
        """HiGHS columns of what holding holds (:func:`optimizer.certify.hold_in_model`): the
        setpoints' own columns (units' loads and on/off, extractions, reflux, flexible draws),
        not the letdowns and vents that close the balances (cached)."""
        if self._hold_cols is None:
            if self._setpoint_plan is None:
                self._setpoint_plan = self._make_setpoint_plan()
            m = self._model
            balancing = {self._solver._col.get(id(v), -1) for v in list(m.ld.values()) + list(m.vent.values())}  # noqa: SLF001
            cols = set()
            for _tag, rule, a, b in self._setpoint_plan:
                if rule in ("if_on", "on", "off", "value"):
                    cols.add(a)
                    if rule == "if_on":
                        cols.add(b)
            self._hold_cols = np.array(sorted(c for c in cols if c >= 0 and c not in balancing), dtype=int)
        return self._hold_cols

    def _curve_internal_cols(self) -> np.ndarray:
        """Per HiGHS column: True for a learned curve's internal columns (weights ``lam``,
        segment bits ``z``), which the hold check leaves out with their rows (the current point
        writes each curve through one segment of its own, the optimisation through the box's)."""
        if self._skip_cols is None:
            _, cols = self._names()
            self._skip_cols = np.array([n.startswith(("lam[", "z[", "ectg_", "duct_")) for n in cols], dtype=bool)
        return self._skip_cols
