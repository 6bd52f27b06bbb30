"""One supervisory cycle's step (part of :class:`optimizer.supervisor.Supervisor`): the work of
:meth:`Supervisor.step` once its lock is held, and the time budget it runs under.

Validate the snapshot; the cycle's data as Param values (:mod:`optimizer.cycle_params`); the
optimisation on the solve lane and, beside it on the worker lane, the current point and the duals
LP (:mod:`optimizer.cycle_lanes`, :mod:`optimizer.cycle_beside`); a local LP or a hold when the
optimisation gives no answer in time; the certificate (:mod:`optimizer.cycle_certify`); the
checks, KPIs and setpoints read back (:mod:`optimizer.cycle_results`); the Proposal. The methods
are :class:`StepMixin`'s, which Supervisor inherits.
"""

from __future__ import annotations

import logging
import time

import pandas as pd

from optimizer.binding import BindingLimits
from optimizer.cycle_lanes import SolveResult, _Handoff
from optimizer.n1_cover import cover_shortfall
from optimizer.proposal import Proposal
from optimizer.snapshot import ValidatedSnapshot

# the Supervisor's records, wherever its methods live
log = logging.getLogger("optimizer.supervisor")


class StepMixin:
    """Supervisor's step: one cycle from the snapshot to the Proposal, within the time budget."""

    def _step(self, snapshot: object, t0: float) -> Proposal:
        self._settle_lanes(t0)
        now = None
        if self.config.stale_after_s is not None:
            now = self.config.clock() if self.config.clock is not None else pd.Timestamp.now()
        snap = self.validator.validate(snapshot, now=now)
        self._last_validated = snap
        t_valid = time.perf_counter()
        stats: dict = {"validate_ms": 1e3 * (t_valid - t0), "binaries": self.n_binaries}
        if not snap.valid:
            # a refused snapshot's values are not taken (they may be stale or replayed): the hold
            # is the last accepted state
            return Proposal(timestamp=_iso(snap.timestamp) if snap.timestamp.value else "", status="invalid_input",
                            setpoints=self._hold_setpoints(self.validator.last_good), warnings=snap.errors, substitutions=_subs(snap),
                            stats={**stats, "total_ms": 1e3 * (time.perf_counter() - t0)})
        if snap.unknown_units:
            # a unit whose operating point has never been read: on or off, at what load, is not
            # known, and neither are the header balances; moving anything else could only guess
            units = sorted(snap.unknown_units)
            return Proposal(timestamp=_iso(snap.timestamp), status="unknown_state", setpoints=self._hold_setpoints(snap.values, snap),
                            warnings=[f"operating point of {', '.join(units)} never read (no last good value): holding every setpoint "
                                      "until it is read"] + snap.warnings, substitutions=_subs(snap), held_units=sorted(snap.held_units),
                            stats={**stats, "total_ms": 1e3 * (time.perf_counter() - t0)})
        if self.plan_forecaster is not None:  # the plan's forecasts need the recent history
            try:
                self.plan_forecaster.observe(snap.timestamp, snap.values)
            except Exception:  # never costs the cycle its answer
                log.exception("plan forecaster failed to take the snapshot")
        reconciliation = self._reconcile(snap) if self.config.reconcile else {}
        drift = self._observe_drift(snapshot, snap)
        cycle = self._cycle_data(snap)
        self._note_states(cycle.states, snap.timestamp)
        warnings = snap.warnings + list(cycle.warnings)
        if reconciliation.get("gross_errors"):
            warnings.append("suspected gross measurement errors: " + ", ".join(
                f"{g['tag']} ({g['bias_tph']:+.1f} t/h)" for g in reconciliation["gross_errors"]))
        if drift.get("flagged"):
            warnings.append("surrogates outside their validated accuracy band (retrain: `steamopt surrogate retrain`): "
                            + ", ".join(f"{n} (MAPE {drift['models'][n]['mape_pct']:.2f} % vs {drift['models'][n]['validated_mape_pct']:.2f} %)"
                                        for n in drift["flagged"]))
        if snap.unknown_tags:
            warnings.append(f"ignored {len(snap.unknown_tags)} unknown tag(s): {', '.join(snap.unknown_tags[:8])}")
        stats["binaries_free"] = cycle.free_binaries

        # the optimisation runs on the solve lane and, beside it, the work the cycle needs on the
        # worker lane (the current point's LP and KPIs, the check's evaluators, the audit hash, the
        # duals LP: _beside); this thread waits for each no later than the budget allows and
        # abandons a lane whose HiGHS has not answered by then (Lane, _await): the cycle answers
        # within time_budget_s + answer_margin_s whatever HiGHS does
        opt_values = self._write(cycle, pinned=False)
        opt_model = self._solver.arrays(opt_values)
        try:
            opt_model, stats["twins"] = self._twins.order(opt_model)
        except Exception:  # the rows only speed the search: without them the model is the same
            log.exception("twin ordering failed; solving without it")
        t_upd2 = time.perf_counter()
        handoff = _Handoff(deadline=t0 + self.config.time_budget_s)
        hard = handoff.deadline  # the latest this thread waits for a solve (the margin is for what follows)
        try:
            opt_job = self._solver.prepare(opt_model, self._opt_time_limit(t0), self.config.mip_rel_gap, slot="opt")
        except Exception as exc:  # a solver failure is a status, not a crash
            log.warning("HiGHS failed: %s", exc)
            opt_job = None
            result = SolveResult(False, "fallback_hold", f"solver error: {type(exc).__name__}: {exc}", 0.0)
        opt_ticket = None
        if opt_job is not None:  # the Pyomo variables take the solution when asked (Supervisor.model)
            opt_ticket = self._runner.submit(self._solve, self._remaining(t0), job=opt_job, pyomo=False)
        self._pool.submit(self._beside, snapshot, cycle, opt_values, opt_job, t0, handoff, opt_ticket)
        if opt_ticket is not None:
            result = self._await(opt_ticket, hard, "the optimisation")
            if result.status == "time_limited":
                self._overshoot_s.append(max(0.0, result.solve_s - opt_job.g.getOptionValue("time_limit")[1]))
        if handoff.current_done.wait(max(0.0, hard - time.perf_counter())):
            current, current_kpis, verify_prep = handoff.current, handoff.current_kpis, handoff.verify_prep
            self._snapshot_hash = handoff.snapshot_hash
        else:  # the current point's LP hangs: as if it had failed
            self._abandon_worker()
            current, current_kpis, verify_prep = SolveResult(False, "fallback_hold", "abandoned: HiGHS did not answer within the time budget", 0.0), {}, None
        if not current.ok:
            warnings.append(f"current operating point could not be evaluated by the model ({current.reason})")
        t_solve = time.perf_counter()
        self._t_solved = t_solve if result.ok else None  # a fallback's own solve is not the rest of a cycle
        status = result.status
        solved_model = opt_job.model if opt_job is not None else None
        if result.ok:
            self._remember_hot(self._solver.solution())
        if not result.ok:
            room = hard - time.perf_counter() - 0.002
            if result.abandoned or room < 0.005:  # the budget is spent: hold
                warnings.append(f"optimisation gave no answer ({result.reason}); no time left for a local LP")
            else:
                warnings.append(f"optimisation gave no answer ({result.reason}); trying a local LP around the current point")
                local_values = self._write(cycle, pinned=False, local=True)
                self._sync(local_values)
                solved_model = self._solver.arrays(local_values)
                result = self._await(self._runner.submit(self._solve, min(max(self._remaining(t0), 0.05), room), model=solved_model, pyomo=False),
                                     hard, "the local LP")
            status = "fallback_local" if result.ok else "fallback_hold"
            t_solve = time.perf_counter()
        stats.update({"highs_ms": 1e3 * result.solve_s, "current_ms": 1e3 * current.solve_s,
                      "update_ms": 1e3 * (t_upd2 - t_valid), "solve_ms": 1e3 * (t_solve - t_upd2), "nodes": result.nodes, "gap": result.gap,
                      "solver_status": result.reason, "objective": result.objective})
        if not result.ok:
            return Proposal(timestamp=_iso(snap.timestamp), status="fallback_hold", setpoints=self._hold_setpoints(snap.values, snap),
                            current_kpis=current_kpis, warnings=warnings + ["holding the current setpoints"], substitutions=_subs(snap),
                            held_units=sorted(snap.held_units), stats={**stats, "total_ms": 1e3 * (time.perf_counter() - t0)})

        # certification (optimizer/certify.py): never worse than holding the current point; a
        # re-solve with presolve off on the solve lane, on the schedule of _resolve_reason
        x_opt = self._solver.solution()
        certificate, x_prop, resolve_job = self._certify(solved_model, x_opt, current, result, status, handoff)
        held = certificate.get("hold_check") == "held"
        if held:
            warnings.append(f"the optimiser's answer ({status}) is predicted worse than holding the current point "
                            f"(objective {certificate['proposal_objective']:.6g} against {certificate['hold_objective']:.6g}): "
                            "proposing the current point")

        # the duals LP at the chosen on/off pattern prices the binding limits: solved already if
        # the pattern is the one the worker solved it at, else the worker runs it now
        want_duals = status in ("optimal", "time_limited") and not held and self.config.duals
        if want_duals and not handoff.beside_done.wait(max(0.0, handoff.deadline - time.perf_counter())):
            self._abandon_worker()  # the duals LP solved beside the optimisation hangs
            warnings.append("binding limits not reported: the duals LP did not finish inside the time budget")
            want_duals = False
        pricing = handoff.pricing if want_duals else None
        want_duals = pricing is not None
        if want_duals:
            upper = self._solver.last_bounds()[1]
            self._last_pricing = duals_job = pricing
            fixed = self._fix_pricing(handoff, cycle)
            if fixed == "run":
                self._pool.submit(self._run_pricing, handoff)
            else:
                handoff.priced_ok = fixed == "priced"
                handoff.priced.set()
        # verify against the providers (onnxruntime) and the model's own balances
        agreement, domain = self._verify_curves(cycle, verify_prep, x_prop)
        proposed_kpis = self._kpis(x_prop) if held else self._kpis()
        unserved_cols, unplaced_cols, _ = self._columns_of_results()
        shortfall = {h: float(x_prop[c]) for h, c in unserved_cols if c >= 0 and x_prop[c] > 1e-6}
        unplaced = {h: float(x_prop[c]) for h, c in unplaced_cols if c >= 0 and x_prop[c] > 1e-6}
        if shortfall and status == "optimal":
            status = "infeasible_demand"
            warnings.append("demand beyond what the site can supply: " + ", ".join(f"{h} short {v:.2f} t/h" for h, v in shortfall.items()))
        if unplaced and status == "optimal":
            status = "infeasible_demand"
        if unplaced:
            warnings.append("steam the site cannot use or vent: " + ", ".join(f"{h} surplus {v:.2f} t/h" for h, v in unplaced.items()))
        power_short = float(x_prop[self._power_short_col]) if self._power_short_col >= 0 else 0.0
        if power_short > 1e-6:
            if status in ("optimal", "time_limited"):
                status = "infeasible_demand"
            warnings.append(f"electricity beyond what the site can generate and import: short {power_short:.2f} MW")
        else:
            power_short = 0.0
        swing_short = {h: float(x_prop[c]) for h, c in self._swing_cols if c >= 0 and x_prop[c] > 1e-6}
        if swing_short:  # no headroom left to absorb what the models miss: the plant may be short
            if status in ("optimal", "time_limited"):
                status = "infeasible_demand"
            warnings.append("swing reserve for pressure control short: " + ", ".join(
                f"{h} {v:.2f} of {self.site.headers[h].swing_reserve_tph:g} t/h" for h, v in swing_short.items()))
        fuel_short = self._fuel_short(x_prop)
        if fuel_short:  # a fuel header whose sources cannot meet its draws (optimizer/fuel_system.py)
            if status in ("optimal", "time_limited"):
                status = "infeasible_demand"
            warnings.append("fuel beyond what the fuel headers can supply: " + ", ".join(f"{h} short {v:.2f} GJ/h" for h, v in fuel_short.items()))
        substituted = snap.substituted
        if substituted and status in ("optimal", "time_limited"):
            # solved, but on values the plant did not give this cycle: the plant may differ
            status = "substituted"
            warnings.append(f"solved on substitutes for {len(substituted)} bad reading(s) ("
                            + ", ".join(f"{s.tag}: {s.reason}" for s in substituted[:4]) + (", ..." if len(substituted) > 4 else "")
                            + "): advisory, the plant link does not write it")
        uncovered = cover_shortfall(self._model, lambda v: self._solver._col.get(id(v), -1), x_prop)  # noqa: SLF001
        if uncovered:  # N-1 cover (optimizer/n1_cover.py) not reachable inside this cycle's boxes
            warnings.append(f"N-1 cover short (within {self.site.n1_cover.cover_time_min:g} min): "
                            + ", ".join(f"losing {s} leaves {v:.2f} t/h uncovered" for s, v in uncovered.items()))
        bad = self.curve_mismatches(agreement)
        if bad:
            warnings.append("surrogate mismatch between the model and onnxruntime (for a first-principles curve: its function): "
                            + ", ".join(f"{k} {v:.2e}" for k, v in bad.items()))
        # what needs no duals, while the worker's duals LP runs
        setpoints = self._setpoints(x_prop)
        savings = {k: current_kpis[k] - proposed_kpis[k] for k in proposed_kpis if k in current_kpis}
        t_ver = time.perf_counter()
        binding = []
        if want_duals:
            # no longer than the budget: a duals LP still running then (HiGHS checks its own time
            # limit only now and then) leaves the binding limits out, and the next cycle waits for
            # it a while (_settle_lanes)
            if not handoff.priced.wait(max(0.0, handoff.deadline - time.perf_counter())):
                warnings.append("binding limits not reported: the duals LP did not finish inside the time budget")
            elif handoff.priced_ok:
                candidates = handoff.speculated_binding if handoff.hit else self._binding_limits.candidates(self._solver.duals(duals_job))
                binding = BindingLimits.at(candidates, x_opt, upper)
        if resolve_job is not None:
            self._collect_resolve(resolve_job, handoff.deadline, certificate, warnings)
        previous = self._sampled.take_verdict()
        if previous is not None:  # the last sampled re-solve's verdict
            certificate["previous_resolve"] = previous
            if previous.get("agrees") is False:
                warnings.append(f"the optimiser's answer of cycle {previous.get('cycle')} was not confirmed: {previous.get('message')}")
        t_end = time.perf_counter()
        if held and handoff.current_values is not None:  # the proposal is the current point: the Params its data
            self._sync(handoff.current_values)
        self._unloaded = x_prop  # the Pyomo variables take the proposal when asked (Supervisor.model)
        stats.update({"verify_ms": 1e3 * (t_ver - t_solve), "duals_ms": 1e3 * (t_end - t_ver), "total_ms": 1e3 * (t_end - t0)})
        proposal = Proposal(
            timestamp=_iso(snap.timestamp), status=status, setpoints=setpoints, current_kpis=current_kpis,
            proposed_kpis=proposed_kpis, savings=savings, shortfall_tph=shortfall, surplus_tph=unplaced, power_shortfall_mw=power_short,
            binding=binding, surrogate_agreement=agreement,
            domain_warnings=domain, substitutions=_subs(snap), held_units=sorted(snap.held_units), warnings=warnings, stats=stats,
            reconciliation=reconciliation, drift=drift, certificate=certificate, advice=self._plan_advice(snap.timestamp),
        )
        if self._sampled.pending is not None:  # under a time limit of a quarter of the cycle: the next cycle does not wait for it
            self._sampled.start(self._solver._options, max(self.config.time_budget_s, 0.25 * self.config.cycle_s),  # noqa: SLF001
                                self.config.mip_rel_gap, proposal.timestamp)
        return proposal

    def _remaining(self, t0: float) -> float:
        return max(0.01, self.config.time_budget_s - (time.perf_counter() - t0) - 0.01)

    def _opt_time_limit(self, t0: float) -> float:
        """HiGHS's time limit for the optimisation: what is left of the budget less what the rest
        of the cycle took lately (checking, duals, the proposal: about 1 ms on the reference site,
        5-12 ms with 30 plants) and how far HiGHS ran past its limit lately (it checks the clock
        between nodes: up to 11 ms with 30 plants; 1 % of the budget until a time-limited cycle
        has measured it); 1.5x the sum of the largest of the last 8 of each, at least 10 ms, at
        most a quarter of the budget, so that a time-limited cycle still answers inside its budget."""
        budget = self.config.time_budget_s
        late = max(self._post_solve_s, default=0.0) + max(self._overshoot_s, default=0.01 * budget)
        reserve = min(max(0.01, 1.5 * late), 0.25 * budget)
        return max(0.01, budget - (time.perf_counter() - t0) - reserve)


def _iso(ts) -> str:
    try:
        return pd.Timestamp(ts).isoformat()
    except (ValueError, TypeError):
        return ""


def _subs(snap: ValidatedSnapshot) -> list[dict]:
    return [{"tag": s.tag, "value": s.value, "reason": s.reason, "used": s.used, "source": s.source, "count": s.count} for s in snap.substitutions]
