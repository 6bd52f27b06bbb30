"""The supervisory cycle: ``Supervisor(site, models, config).step(snapshot) -> Proposal``.

One cycle (DESIGN.md, "One supervisory cycle"):

1. validate the snapshot (:mod:`optimizer.snapshot`); nothing raises;
2. the cycle's data as a vector of the model's mutable parameters: boxes (equipment limits
   intersected with move limits, on/off allowed by minimum up/down times), demands, prices, and
   each learned curve's exact breakpoints over its box (:mod:`optimizer.curves`); the HiGHS model
   computed from it as arrays (:mod:`optimizer.lp_arrays`);
3. solve with HiGHS (highspy, :mod:`optimizer.highs_direct`) under what is left of the time
   budget: the optimisation on the solve lane; beside it, on the worker lane, the current
   operating point (boxes pinned: the predicted current KPIs), the duals LP and what the check
   needs. Lanes are threads the cycle can abandon: whatever HiGHS does, the step answers within
   ``time_budget_s + answer_margin_s`` (see :class:`SupervisorConfig`);
4. certify (:mod:`optimizer.certify`): the answer is never predicted worse than holding the
   current point (else the current point is proposed), and on a schedule a re-solve with
   presolve off confirms its objective; verify: every learned curve evaluated by its provider
   (onnxruntime for surrogates) at the proposed point must match the embedded value to 1e-6
   relative; balances and bounds re-checked;
5. return the Proposal: setpoints, KPIs current and proposed, savings, binding limits, status,
   certificate, statistics.

If the optimisation gives no answer in time, a local LP around the current point (on/off pattern
held, boxes shrunk) answers if time is left; if that fails too, the current setpoints are held.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.repn import generate_standard_repn

from optimizer import __version__, certify, tags
from optimizer.audit import append_line, sha256_of
from optimizer.binding import BindingLimits
from optimizer.plant_words import describe_limit
from optimizer.config import TUNED_HIGHS_OPTIONS, SupervisorConfig, check_config  # noqa: F401 - TUNED_HIGHS_OPTIONS re-exported
from optimizer.curves import CurveProvider
from optimizer.fp_curves import complete_curves, site_curves
from optimizer.cycle import CycleData
from optimizer.duct import duct_box, duct_models, missing_duct_models
from optimizer.ectg import ectg_box, ectg_models, ectg_values
from optimizer.formulation import build_model, on_var, sos2_bits, x_var, y_var
from optimizer.highs_direct import HighsDirect, Lane, Ticket
from optimizer.lp_arrays import affine_terms
from optimizer.n1_cover import cover_shortfall
from optimizer.proposal import Proposal
from optimizer.schedule import Schedule
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties, compute_properties
from optimizer.snapshot import SnapshotValidator, ValidatedSnapshot
from optimizer.twins import TwinOrder

log = logging.getLogger(__name__)


class Supervisor:
    """One site's supervisory engine. Build once; call :meth:`step` every cycle.

    ``models``: the ONNX surrogates (``{name: OnnxSurrogate}``, e.g. from
    :func:`surrogate.manifest.load_model_dir`) or any :class:`~optimizer.curves.CurveProvider`.
    A Supervisor is safe to share between threads (calls are serialised by a lock).
    """

    def __init__(self, site: Site, models: Mapping | CurveProvider, config: SupervisorConfig | None = None,
                 properties: SiteProperties | None = None):
        self.site = site
        self.config = config or SupervisorConfig()
        if self.config.objective not in ("cost", "co2e", "steam", "weighted"):
            raise ValueError(f"objective = {self.config.objective!r}: must be one of cost, co2e, steam, weighted")
        HighsDirect.check_options(self.config.solver_options)  # unknown HiGHS options or bad values: refused here, not ignored
        check_config(self.config)
        self.props = properties or compute_properties(site)
        self._models_given = models  # what reload() rebuilds from when it is given no new model directory
        # extraction-condensing generators' two-decision networks: the exact multi-input embedding
        # (optimizer/ectg.py), unless the site file puts the turbine on first principles (its LP
        # section's own Willans line then); every other model a 1-D curve
        provider = hasattr(models, "breakpoints")
        self.ectg = {} if provider else {t: u for t, u in ectg_models(site, models).items()
                                         if site.turbines[t].curve_source != "first_principles"}
        # learned duct firing (duct_curve = "learned"): the GT's power and the duct fuel, the same
        # embedding (optimizer/duct.py); refused without its model (a provider: additive)
        self.ducts = {} if provider else duct_models(site, models)
        missing = None if provider else missing_duct_models(site, self.ducts)
        if self.ectg or self.ducts:
            taken = {u.name for u in self.ectg.values()} | {u.name for u in self.ducts.values()}
            models = {n: mdl for n, mdl in models.items() if n not in taken}
        # each unit's curve source (optimizer/fp_curves.py): learned where the site file and the
        # models say so, first principles elsewhere; a provider given as such is completed; every
        # learned unit without its model, ducts too, named in one error
        try:
            self.curves: CurveProvider = (complete_curves(site, models, self.props) if provider
                                          else site_curves(site, models, self.props, self.config.max_curve_points, embedded=self.ectg))
        except ValueError as exc:
            raise ValueError(f"{exc}; {missing}" if missing else str(exc)) from None
        if missing:
            raise ValueError(missing)
        cfg = self.config
        weights = {"cost": (1.0, 0.0, 0.0), "co2e": (1e-6, 1.0, 0.0), "steam": (1e-6, 0.0, 1.0),
                   "weighted": (cfg.weights.get("cost", 0.0) or 1e-6, cfg.weights.get("co2e", 0.0), cfg.weights.get("steam", 0.0))}[cfg.objective]
        # a tiny cost weight with the other objectives keeps fuel on its curve and breaks ties
        self._weights = weights
        self._model = build_model(site, self.props, self.curves.slots, weights, point_cap=self.config.max_curve_points, ectg=self.ectg,
                                  ducts=self.ducts)
        self._network_pos: dict | None = None  # per two-decision network ("ectg" | "duct", unit): positions of its Params
        self.plan_forecaster = None  # an object with observe(ts, values) and forecast(values, start, periods, period_min)
        self.following = None  # the Schedule the cycle follows (Supervisor.follow)
        self._unloaded: np.ndarray | None = None  # a solution the Pyomo variables do not hold yet (see model)
        self.validator = self._new_validator()
        self._lock = threading.Lock()
        self._key_pos: dict = {}  # (Param component, index) -> position in a parameter value vector
        self._fixed_written = None  # the CycleData whose fixed part the base vector holds
        self._curve_pos: dict | None = None  # per curve group: positions of its breakpoint, weight and bit Params
        self._curve_rows: dict | None = None  # per curve group: (curve_x, curve_y) rows with signs, weight columns
        self._code_cols: tuple | None = None  # integer columns, per SOS group the positions of its bits, Gray decoding
        self._verify_cols: dict | None = None  # per learned curve: HiGHS columns of on/off, decision, output
        self._last_pricing = None  # the last duals LP (its copy of the model, for inspection)
        self._last_current = None  # the last current-point solve (its basis starts the next one)
        self._last_pattern: tuple | None = None  # the last duals LP's integer pattern
        self._skip_cols: np.ndarray | None = None  # per HiGHS column: a learned curve's internal one (the hold check leaves it out)
        self._row_col_names: tuple[list[str], list[str]] | None = None
        self._snapshot_hash: str | None = None  # this cycle's snapshot hash, once computed
        self._t_solved: float | None = None  # when this cycle's optimisation answered
        self._post_solve_s: deque[float] = deque(maxlen=8)  # what the cycles took after their optimisation (s)
        self._overshoot_s: deque[float] = deque(maxlen=8)  # how far time-limited optimisations ran past their limit (s)
        self._setpoint_plan: list | None = None  # (tag, rule, HiGHS columns) of each setpoint
        self._result_cols: tuple | None = None  # HiGHS columns of the shortfall, surplus and mixing variables
        self._last_hot: dict | None = None
        self._last_validated: ValidatedSnapshot | None = None
        self._kpi_exprs: dict | None = None
        self._balances = None
        self._kpi_coefs: tuple | None = None
        self._kpi_layout: tuple | None = None  # (columns any KPI uses, constant coefficients, the Param-holding ones)
        self._cycle_count = 0
        self._seen_state: dict[str, tuple[bool, pd.Timestamp | None]] = {}  # unit -> (on, since when: None if not seen change)
        # every HiGHS run of the cycle on a lane it can abandon: the optimisation, the local LP and
        # the re-solve on one, the current point and the duals LP on the other (see answer_margin_s)
        self._pool = Lane(f"steamopt-{site.name}-beside")
        self._runner = Lane(f"steamopt-{site.name}-solve")
        self._sampled = certify.SampledResolves(f"steamopt-{site.name}-certify")  # the sampled re-solves, between cycles
        self._domains = {name: self.curves.domain(name) for name in self.curves.slots}
        self._set_static_params()
        # HiGHS driven directly under the Pyomo model: see optimizer/highs_direct.py for why
        self._solver = HighsDirect(self._model, options={"threads": 1, "random_seed": 0, **self.config.solver_options})
        self.n_binaries = self._solver.n_binaries
        # identical units (twins) ordered in each cycle's optimisation, exact (optimizer/twins.py)
        self._twins = TwinOrder(self._model, self._solver.template, self._solver.variables, [*site.boilers, *site.gas_turbines, *site.turbines])
        # what holds the proposal, from the duals LP, in plant words
        self._binding_limits = BindingLimits(self._names, lambda n: describe_limit(n, site), site.currency)
        # parameter values (HighsDirect.params order): the static and the cycle's fixed data; and
        # what the Pyomo Params hold (the last optimisation's data)
        self._base = self._solver.template.values()
        self._synced = self._base.copy()
        self._unserved_cols = [self._solver.column(self._model.unserved[h]) for h in self._model.H]
        self._power_short_col = self._solver._col.get(id(self._model.power_short), -1)  # noqa: SLF001
        self._swing_cols = [(h, self._solver._col.get(id(self._model.swing_short[h]), -1)) for h in self._model.SW]  # noqa: SLF001
        models_hashes = {n: m.sha256 for n, m in getattr(self.curves, "models", {}).items()} or {"provider": type(self.curves).__name__}
        models_hashes.update({u.name: u.model.sha256 for u in [*self.ectg.values(), *self.ducts.values()]})
        plain_config = {f.name: getattr(self.config, f.name) for f in dataclasses.fields(self.config) if f.name not in ("audit_log", "clock")}
        self.audit_info = {"engine_version": __version__, "site_hash": sha256_of(site), "model_hashes": models_hashes,
                           "config_hash": sha256_of(plain_config)}
        self._plain_config = plain_config
        self._int_cols = [(c, v.parent_component().name, v.index()) for c, v in self._solver.integer_columns().items()]
        self.drift_monitor = None
        onnx_models = getattr(self.curves, "models", None)
        if onnx_models is not None and (self.ectg or self.ducts):
            onnx_models = {**onnx_models, **{u.name: u.model for u in [*self.ectg.values(), *self.ducts.values()]}}
        if self.config.drift and onnx_models:
            from surrogate.drift import DriftMonitor

            self.drift_monitor = DriftMonitor(onnx_models)

    def _new_validator(self) -> SnapshotValidator:
        cfg = self.config
        return SnapshotValidator(self.site, stale_after_s=cfg.stale_after_s or math.inf, future_tolerance_s=cfg.future_tolerance_s,
                                 max_gap_s=cfg.max_timestamp_gap_s, resync_after=cfg.timestamp_resync_after)

    # ------------------------------------------------------------------ public
    @property
    def model(self) -> pyo.ConcreteModel:
        """The Pyomo model. After a cycle its Params hold the optimisation's data and its
        variables the proposal's solution: the solution is written into them when the model is
        first asked for (the cycle itself reads the solution from HiGHS's arrays, and writing
        160 variables cost the cycle about 0.1 ms)."""
        x, self._unloaded = self._unloaded, None
        if x is not None:
            self._solver.load_pyomo(x)
        return self._model

    def step(self, snapshot: object) -> Proposal:
        """One supervisory cycle. Never raises for bad plant data (or anything else)."""
        with self._lock:
            t0 = time.perf_counter()
            # the state carried into this cycle, for the audit record (replayable): only when logged
            state_before = None if not self.config.audit_log else {
                "last_hot": dict(self._last_hot) if self._last_hot is not None else None,
                "seen_state": {u: [on, None if t is None else t.isoformat()] for u, (on, t) in self._seen_state.items()}}
            self._snapshot_hash = None  # set by the cycle while it waits for the solver
            self._t_solved = None
            self._last_validated = None
            try:
                proposal = self._step(snapshot, t0)
            except Exception as exc:  # the cycle must answer whatever happens
                log.exception("supervisory cycle failed")
                # hold what this cycle read (its validated values; the last good ones only if
                # validation itself did not finish)
                read = self._last_validated.values if self._last_validated is not None else self.validator.last_good
                proposal = Proposal(timestamp=_iso(getattr(self.validator, "last_timestamp", None)), status="fallback_hold",
                                    setpoints=self._hold_setpoints(read),
                                    warnings=[f"internal error, holding: {type(exc).__name__}: {exc}"],
                                    stats={"total_ms": 1e3 * (time.perf_counter() - t0)})
            try:
                digest = self._snapshot_hash if self._snapshot_hash is not None else sha256_of(snapshot)
                proposal.audit = {**self.audit_info, "snapshot_hash": digest}
                if self.config.audit_log:
                    v = self._last_validated
                    append_line(self.config.audit_log, {
                        "audit": proposal.audit, "config": self._plain_config, "snapshot": snapshot,
                        "validated": None if v is None or not v.valid else {
                            "timestamp": v.timestamp.isoformat(), "values": v.values,
                            "substituted": [sub.tag for sub in v.substitutions]},
                        "state": state_before, "proposal": proposal.to_dict()})
            except Exception:  # the audit trail never costs the plant its answer
                log.exception("audit record failed")
            if self._t_solved is not None:  # what this cycle took after its optimisation: the next ones reserve it
                self._post_solve_s.append(time.perf_counter() - self._t_solved)
            return proposal

    def plan(self, snapshot: object, forecast: pd.DataFrame | None = None, horizon_h: float = 24.0, period_min: float = 60.0, *,
             time_budget_s: float | None = None, mip_rel_gap: float = 1e-4, end_on: Mapping[str, bool] | None = None) -> Schedule:
        """A look-ahead schedule over ``horizon_h`` hours in periods of ``period_min`` minutes,
        period 0 starting at the snapshot's time (the horizon formulation:
        :mod:`optimizer.horizon`). ``forecast``: one row per period, columns the snapshot tags
        whose value changes (demands, by-product steam, ambient, prices; see
        :func:`optimizer.planning.check_forecast`); None: from :attr:`plan_forecaster` when set,
        else every disturbance held at its value now. ``end_on``: unit -> its state required in
        the last period. Within ``time_budget_s`` (default ``SupervisorConfig.plan_time_budget_s``)
        at ``mip_rel_gap``; a horizon with no answer by then falls back to the single-period
        answer (status ``fallback_single_period``). Never raises; changes nothing the cycle uses."""
        from optimizer import planning

        budget = self.config.plan_time_budget_s if time_budget_s is None else time_budget_s
        with self._lock:
            return planning.plan(self, snapshot, forecast, horizon_h, period_min, budget, mip_rel_gap, end_on)

    def follow(self, schedule: Schedule | None) -> None:
        """Make later cycles keep each switchable unit's on/off at ``schedule``'s state for the
        period holding the snapshot's time, where the cycle's own rules leave the choice
        (availability, minimum up/down and held units win); the proposals carry the schedule's
        next starts and stops as advice. None (or a schedule that did not solve): stop following."""
        with self._lock:
            self.following = schedule if schedule is not None and schedule.ok else None

    def reload(self, site_path=None, models_dir=None) -> tuple[bool, str]:
        """Take a changed site file and/or model directory, only through this explicit call.

        The new site and models are validated and a complete new engine is built first; only if
        that succeeds does it replace the running one (between cycles, under the lock). On any
        problem the running engine is kept and the message says why. Returns (ok, message)."""
        from optimizer.model_site import load_models_for_site
        from optimizer.site import load_site

        try:
            site = load_site(site_path) if site_path is not None else self.site
            # the models (or provider) this engine was built from, the ECTG models with them: each
            # unit's curve source is resolved again against the new site file ("none": no learned models)
            models = load_models_for_site(site, models_dir) if models_dir is not None else self._models_given
            fresh = Supervisor(site, models, self.config)
        except Exception as exc:  # validation failed: keep what runs
            log.warning("reload refused, keeping the running engine: %s", exc)
            return False, f"reload refused, keeping the running engine: {type(exc).__name__}: {exc}"
        with self._lock:
            last_good, last_ts, seen = self.validator.last_good, self.validator.last_timestamp, self._seen_state
            lock = self._lock
            if self.audit_info["model_hashes"] == fresh.audit_info["model_hashes"] and fresh.drift_monitor is not None:
                fresh.drift_monitor = self.drift_monitor  # the same models: their error windows carry on
            self.__dict__.update({k: v for k, v in fresh.__dict__.items() if k != "_lock"})
            self._lock = lock
            self.validator.last_good.update({k: v for k, v in last_good.items() if k in self.validator.rules})
            self.validator.last_timestamp = last_ts
            self._seen_state = seen
        return True, f"reloaded: site {self.site.name} ({self.audit_info['site_hash'][:12]}), {len(self.audit_info['model_hashes'])} model(s)"

    def evaluate(self, snapshot: Mapping) -> dict[str, float]:
        """The model's predicted KPIs of an operating point (the snapshot's setpoints held), without
        proposing anything and without touching the cycle's state (last good values, timestamps).
        Used by studies to predict what today's practice costs. Empty if it cannot be evaluated."""
        with self._lock:
            try:
                snap = SnapshotValidator(self.site).validate(snapshot)
                if not snap.valid or snap.unknown_units:
                    return {}
                cycle = self._cycle_data(snap)
                t0 = time.perf_counter()
                values, model, fix, _job, r = self._solve_current(cycle, self.config.time_budget_s)
                self._sync(values)  # the KPIs' prices
                res = self._current_result(r, fix, model, t0)
                return self._kpis(res.x) if res.ok else {}
            except Exception:  # an evaluation for a study must not end it
                log.exception("evaluation failed")
                return {}

    # ------------------------------------------------------------------ the cycle
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

    # ------------------------------------------------------------------ lanes (optimizer/highs_direct.py)
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

    # ------------------------------------------------------------------ certification (optimizer/certify.py)
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
                if chk.hold_better:
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

    def _curve_internal_cols(self) -> np.ndarray:
        """Per HiGHS column: True for a learned curve's internal columns (weights ``lam``,
        segment bits ``z``), which the hold check leaves out with their rows (the current point
        writes each curve through one segment of its own, the optimisation through the box's)."""
        if self._skip_cols is None:
            _, cols = self._names()
            self._skip_cols = np.array([n.startswith(("lam[", "z[", "ectg_", "duct_")) for n in cols], dtype=bool)
        return self._skip_cols

    # ------------------------------------------------------------------ cycle data
    def _set_static_params(self) -> None:
        m, site = self._model, self.site
        m.carbon_price.set_value(site.emissions.carbon_price_per_t)
        e = site.electricity
        m.import_hi.set_value(e.max_import_mw if e else 0.0)
        m.export_hi.set_value(e.max_export_mw if e else 0.0)
        for b in m.B:
            bo = site.boilers[b]
            if bo.efficiency is not None:
                m.b_fuel_per_tph[b].set_value((self.props.header_enthalpy_kj_kg[bo.header] - self.props.boiler_feedwater_kj_kg[b]) / 1000.0 / bo.efficiency)

    def minutes_seen(self, unit: str, on_now: bool, ts: pd.Timestamp) -> float:
        """Minutes since this engine saw ``unit``'s on/off state change: 0 if it changes now (the
        reading says ``on_now``, the last cycle's said otherwise), inf if no change was seen."""
        seen = self._seen_state.get(unit)
        if seen is None:
            return math.inf
        on, since = seen
        if on != on_now:
            return 0.0
        return math.inf if since is None else max(0.0, (ts - since).total_seconds() / 60.0)

    def _note_states(self, states: Mapping[str, bool], ts: pd.Timestamp) -> None:
        for unit, on in states.items():
            seen = self._seen_state.get(unit)
            if seen is None:
                self._seen_state[unit] = (on, None)
            elif seen[0] != on:
                self._seen_state[unit] = (on, ts)

    def _cycle_data(self, snap: ValidatedSnapshot) -> "CycleData":
        self._cycle_count += 1
        return CycleData.build(self, snap)

    def _write(self, c: "CycleData", pinned: bool, local: bool = False) -> np.ndarray:
        """The cycle as a parameter value vector (:attr:`HighsDirect.params` order): the fixed
        data (kept in the base vector from one call to the next), the boxes (``pinned``: collapsed
        to the current point; ``local``: the fallback's) and the learned curves' breakpoints, the
        weights beyond each curve's points bounded to 0 and the segment bits it does not need."""
        pos = self._key_pos
        if c is not self._fixed_written:  # the cycle's fixed data, once per cycle
            base = self._base
            for key, value in c.fixed.items():
                j = pos.get(key)
                base[self._position(key) if j is None else j] = value
            self._fixed_written = c
        # every position and value collected in plain lists, then one scatter: a handful of numpy
        # calls instead of several per curve group (each costs microseconds with cold caches)
        idx, val = [], []
        for key, value in (c.pinned if pinned else (c.local if local else c.box)).items():
            j = pos.get(key)
            idx.append(self._position(key) if j is None else j)
            val.append(value)
        groups = c.curves_pinned if pinned else (c.local_curves(self) if local else c.curves)
        if self._curve_pos is None:
            self._curve_pos = self._curve_positions()
        for g, (xs, ys) in groups.items():
            n = len(xs)
            cx, cy, lam, z = self._curve_pos[g]
            # breakpoints only for the weights in use: a weight bounded to 0 contributes nothing
            # whatever its coefficients
            idx += cx[:n]
            val += xs.tolist()
            for name, y in ys.items():
                idx += cy[name][:n]
                val += y.tolist()
            idx += lam
            val += [1.0] * n + [0.0] * (len(lam) - n)
            if z:  # the binaries this cycle's segments need; the rest held at 0
                need = sos2_bits(n - 1)
                idx += z
                val += [1.0] * need + [0.0] * (len(z) - need)
        # the two-decision networks (TG3's inlet, the learned ducts): their Params for this variant's box
        variant = c.pinned if pinned else (c.local if local else c.box)
        if self._network_pos is None:
            self._network_pos = {key: [self._solver.param_position(p) for p in emb.param_data] for key, emb in self._networks()}
        boxes = [(("ectg", t), ectg_box(variant[("t_lo", t)], variant[("t_hi", t)], variant[("x_lo", (t, 0))], variant[("x_hi", (t, 0))]))
                 for t in self.ectg]
        boxes += [(("duct", g), duct_box(self.site, g, variant[("g_lo", g)], variant[("g_hi", g)])) for g in self.ducts]
        embeddings = dict(self._networks())
        for key, (lo, hi) in boxes:
            idx += self._network_pos[key]
            val += ectg_values(embeddings[key], lo, hi).tolist()
        values = self._base.copy()
        values[idx] = val
        return values

    def _networks(self) -> list[tuple[tuple[str, str], object]]:
        """((kind, unit), embedding) of every two-decision network in the model."""
        m = self._model
        return ([(("ectg", t), m.ectg_embeddings[t]) for t in self.ectg]
                + [(("duct", g), m.duct_embeddings[g]) for g in self.ducts])

    def _position(self, key: tuple) -> int:
        """Position of the Param ``key = (component, index)`` in a value vector (cached)."""
        j = self._key_pos[key] = self._solver.param_position(getattr(self._model, key[0])[key[1]])
        return j

    def _curve_positions(self) -> dict:
        """Per curve group: positions (lists) of its breakpoints cx, each member's values cy, the
        weights' bounds lam_hi and the segment bits' bounds z_hi (empty without bits)."""
        st = self._model.st
        out = {}
        for g, grp in st.groups.items():
            k = range(grp.max_points)
            cx = [self._position(("cx", (g, i))) for i in k]
            cy = {n: [self._position(("cy", (n, i))) for i in k] for n in grp.members}
            lam = [self._position(("lam_hi", (g, i))) for i in k]
            z = [self._position(("z_hi", (g, b))) for b in range(st.bits[g])] if g in st.bits else []
            out[g] = (cx, cy, lam, z)
        return out

    def _sync(self, values: np.ndarray) -> None:
        """Set the Pyomo Params to ``values`` (only those that differ from what they hold). The
        values were validated when the cycle data was built, so they are stored directly
        (Pyomo's set_value re-validates the index and domain at about 3 us a call)."""
        params = self._solver.params
        for j in np.flatnonzero(values != self._synced).tolist():
            params[j]._value = float(values[j])  # noqa: SLF001
        self._synced = values

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

    def _reconcile(self, snap: ValidatedSnapshot) -> dict:
        """Data reconciliation of the snapshot's flows (reported; the cycle uses the measurements)."""
        from optimizer.reconciliation import build_balances, reconcile

        if self._balances is None:
            self._balances = build_balances(self.site, self.props)
        measured = {t: v for t, v in snap.values.items() if t in self._balances.tags}
        r = reconcile(measured, self.site, self.props, balances=self._balances)
        return {
            "status": r.status, "chi2_before": r.chi2_before, "dof_before": r.dof_before, "p_before": r.p_before,
            "chi2_after": r.chi2_after, "dof_after": r.dof_after, "p_after": r.p_after,
            "gross_errors": [{"tag": g.tag, "z": g.z, "critical_z": g.critical_z, "measured": g.measured,
                              "bias_tph": g.bias_tph, "indistinguishable_from": [t for t in g.equivalent if t != g.tag]}
                             for g in r.gross_errors],
            "reconciled": r.reconciled, "unmeasured": r.unmeasured, "messages": r.messages,
        }

    def _observe_drift(self, raw: object, snap: ValidatedSnapshot) -> dict:
        """Feed the drift monitor the snapshot as measured (substituted values are not
        measurements) and return its compact verdict: flagged models and, per model, the rolling
        MAPE and bias (%) against the validated MAPE. An HRSG's unfired steam, when not sent,
        is its total steam less the duct-fired steam."""
        mon = self.drift_monitor
        if mon is None or not isinstance(raw, Mapping):
            return {}
        measured = dict(raw)
        for g in self.site.gas_turbines:
            total, duct = measured.get(f"{g}.hrsg_steam_tph"), measured.get(tags.duct_steam(g), 0.0)
            if tags.hrsg_unfired(g) not in measured and isinstance(total, (int, float)) and isinstance(duct, (int, float)):
                measured[tags.hrsg_unfired(g)] = float(total) - float(duct)
        for sub in snap.substitutions:
            measured.pop(sub.tag, None)
        mon.observe(measured)
        return {"flagged": mon.flagged(), "models": mon.verdicts()}

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

    def _columns_of_results(self) -> tuple:
        """HiGHS columns of unserved[h], unplaced[h] and hot[i] (-1: a variable HiGHS does not hold)."""
        if self._result_cols is None:
            m, col = self._model, self._solver._col  # noqa: SLF001
            self._result_cols = ([(h, col.get(id(m.unserved[h]), -1)) for h in m.H], [(h, col.get(id(m.unplaced[h]), -1)) for h in m.H],
                                 [(i, col.get(id(m.hot[i]), -1)) for i in m.hot])
        return self._result_cols

    def _fuel_short(self, x: np.ndarray) -> dict[str, float]:
        """GJ/h each fuel header cannot get at solution ``x`` (above 1e-6)."""
        m, col = self._model, self._solver._col  # noqa: SLF001
        cols = [(h, col.get(id(m.fh_unserved[h]), -1)) for h in m.FH]
        return {h: float(x[c]) for h, c in cols if c >= 0 and x[c] > 1e-6}

    def _remember_hot(self, x: np.ndarray) -> None:
        self._last_hot = {i: round(float(x[c])) if c >= 0 else 0 for i, c in self._columns_of_results()[2]}

    # ------------------------------------------------------------------ results
    def _prepare_verify(self, c: "CycleData") -> tuple[list, object]:
        """What checking a proposal needs, made while the optimisation runs: per learned curve, the
        HiGHS columns of the unit's on/off, decision and output and the domain checks (a
        disturbance's message now, the decision's bounds for later), in the domain's order; and
        the provider's evaluator at the cycle's disturbances: every curve in one call where the
        provider offers it (:meth:`SurrogateCurves.line_evaluator`), else one per curve."""
        m = self._model
        if self._verify_cols is None:
            col = self._solver.column
            self._verify_cols = {name: (col(on_var(m, s)), col(x_var(m, s)), col(y_var(m, s))) for name, s in self.curves.slots.items()}
        line = getattr(self.curves, "line_evaluator", None)
        evaluate_all = line(c.disturbances) if line is not None else None
        make = getattr(self.curves, "point_evaluator", None)
        out = []
        for name, slot in self.curves.slots.items():
            if evaluate_all is not None:
                f = None
            elif make is not None:
                f = make(name, c.disturbances)
            else:
                f = (lambda name: lambda x: self.curves.evaluate(name, x, c.disturbances))(name)
            checks = []
            for tag, (lo, hi) in self._domains[name].items():
                if tag == slot.x_tag:
                    checks.append((tag, lo, hi))
                else:
                    v = c.disturbances.get(tag)
                    if v is not None and not (lo - 1e-9 <= v <= hi + 1e-9):
                        checks.append(f"{name}: {tag} = {v:.4g} outside the training domain [{lo:.4g}, {hi:.4g}]")
            out.append((name, self._verify_cols[name], f, checks))
        return out, evaluate_all

    def _verify_curves(self, c: "CycleData", prepared: tuple[list, object] | None = None,
                       x: np.ndarray | None = None) -> tuple[dict[str, float], list[str]]:
        """Every running unit's learned curves evaluated by their provider (onnxruntime for
        surrogates) at solution ``x`` (default: the loaded one), against the embedded values;
        training-domain warnings."""
        if x is None:
            x = self._solver.solution()
        per_curve, evaluate_all = prepared if prepared is not None else self._prepare_verify(c)
        served = evaluate_all([float(x[c_x]) for _, (_, c_x, _), _, _ in per_curve]) if evaluate_all is not None else None
        agreement, domain = {}, []
        for i, (name, (c_on, c_x, c_y), f, checks) in enumerate(per_curve):
            if x[c_on] < 0.5:
                continue
            xv, y_model = float(x[c_x]), float(x[c_y])
            y_served = float(served[i]) if served is not None else f(xv)
            agreement[name] = abs(y_model - y_served) / max(abs(y_served), 1e-9)
            for chk in checks:
                if isinstance(chk, str):
                    domain.append(chk)
                elif not (chk[1] - 1e-9 <= xv <= chk[2] + 1e-9):
                    domain.append(f"{name}: {chk[0]} = {xv:.4g} outside the training domain [{chk[1]:.4g}, {chk[2]:.4g}]")
        m = self._model
        # the two-decision networks, where their unit runs: onnxruntime at the solution's inputs
        # against the solution's output (TG3: power, extraction -> inlet flow; a lit duct: GT power,
        # duct fuel -> fired steam)
        col = self._solver.column
        checks = [(unit, m.t_on[t], {unit.power_tag: m.t_out[t], unit.extraction_tag: m.extr[t, 0]}, m.flow[t, 0])
                  for t, unit in self.ectg.items()]
        checks += [(unit, m.d_on[g], {unit.power_tag: m.g_power[g], unit.fuel_tag: m.d_fuel[g]}, m.d_steam[g])
                   for g, unit in self.ducts.items()]
        for unit, on, inputs, output in checks:
            if x[col(on)] < 0.5:
                continue
            point = {tag: float(x[col(var)]) for tag, var in inputs.items()}
            y_served = float(unit.model.evaluate(point)[0])
            agreement[unit.name] = abs(float(x[col(output)]) - y_served) / max(abs(y_served), 1e-9)
            d_lo, d_hi = unit.domain()
            for (tag, v), lo, hi in zip(point.items(), d_lo, d_hi):
                if not (lo - 1e-9 <= v <= hi + 1e-9):
                    domain.append(f"{unit.name}: {tag} = {v:.4g} outside the training domain [{lo:.4g}, {hi:.4g}]")
        return agreement, domain

    def curve_mismatches(self, agreement: Mapping[str, float]) -> dict[str, float]:
        """The curves whose relative disagreement with their provider exceeds what they may have:
        ``agreement_rtol`` for exact curves (surrogates, linear first-principles curves), the
        provider's ``tolerance(name)`` where larger (a linearised first-principles curve:
        :data:`optimizer.fp_curves.FP_LINEARISATION_RTOL`). An extraction-condensing generator's
        network (no curve of the provider: :mod:`optimizer.ectg`) is exact: ``agreement_rtol``."""
        tol = getattr(self.curves, "tolerance", None)
        rtol = self.config.agreement_rtol
        slots = self.curves.slots
        return {k: v for k, v in agreement.items() if v > (max(rtol, tol(k)) if tol is not None and k in slots else rtol)}

    def _kpis(self, x: np.ndarray | None = None) -> dict[str, float]:
        """Predicted KPIs at a solution vector (default: the loaded optimisation), from the KPI
        expressions compiled once into affine functions of the HiGHS columns."""
        if self._kpi_exprs is None:
            self._kpi_exprs = {k: _compile_affine(e, self._solver.column, self._solver.template.index)
                               for k, e in self._kpi_expressions().items()}
        if x is None:
            x = self._solver.solution()
        if self._kpi_coefs is None or self._kpi_coefs[0] != self._cycle_count:
            # coefficients hold prices (Params): evaluated once per cycle into one matrix over the
            # columns any KPI uses, then one product per solution
            if self._kpi_layout is None:
                used = np.unique(np.concatenate([cols for _, cols, _ in self._kpi_exprs.values()]))
                where = {int(c): i for i, c in enumerate(used)}
                base = np.zeros((len(self._kpi_exprs), used.size))
                mutable = []  # (kpi row, position, constant, Param terms) of the coefficients holding Params
                for i, (coefs, cols, _c0) in enumerate(self._kpi_exprs.values()):
                    for (c0, terms), col in zip(coefs, cols):
                        if terms:
                            mutable.append((i, where[int(col)], c0, list(terms.items())))
                        else:
                            base[i, where[int(col)]] += c0
                self._kpi_layout = (used, base, mutable)
            used, base, mutable = self._kpi_layout
            p = self._synced  # what the Params hold
            k_mat = base.copy()
            for i, j, c0, terms in mutable:
                k_mat[i, j] += c0 + sum(a * p[k] for k, a in terms)
            const = np.array([c0 + sum(a * p[k] for k, a in terms.items()) for _, _, (c0, terms) in self._kpi_exprs.values()])
            self._kpi_coefs = (self._cycle_count, k_mat, const)
        _, k_mat, const = self._kpi_coefs
        values = k_mat @ x[self._kpi_layout[0]] + const
        return dict(zip(self._kpi_exprs, values.tolist()))

    def _kpi_expressions(self) -> dict:
        m = self._model
        k = {f"fuel_{f}_gj_h": m.fuel[f] for f in m.F}
        # the fuel system (optimizer/fuel_system.py): each header's burnt and flared gas, each purchase's take
        k.update({f"fuel_header_{h}_gj_h": sum(m.fh_draw[h, u] for hh, u in m.FHU if hh == h) for h in m.FH})
        k.update({f"flare_{h}_gj_h": m.fh_flare[h] for h in m.FR})
        k.update({f"fuel_source_{s}_gj_h": m.fs_take[s] for s in m.FSP})
        k.update({
            "fuel_gj_h": sum(m.fuel[f] for f in m.F) + m.fs_burnt,
            "steam_generated_tph": m.steam_generated,
            "vent_tph": sum(m.vent[v] for v in m.V),
            "power_import_mw": m.imp, "power_export_mw": m.exp,
            "co2e_scope1_t_h": m.co2_scope1, "co2e_scope2_t_h": m.co2_scope2, "co2e_t_h": m.co2,
            "fuel_cost_per_h": m.fuel_cost, "electricity_cost_per_h": m.electricity_cost,
            "carbon_cost_per_h": m.carbon_cost, "penalty_cost_per_h": m.penalty_cost,
            "cost_per_h": m.cost,
        })
        return k

    def _setpoints(self, x: np.ndarray | None = None) -> dict[str, float]:
        """The proposal's setpoints at solution ``x`` (default: the loaded optimisation), read
        through a plan of (tag, rule, HiGHS columns) made once from the model. Binaries within
        HiGHS's integrality tolerance are rounded; a unit that is off gets 0."""
        if self._setpoint_plan is None:
            self._setpoint_plan = self._make_setpoint_plan()
        v = (self._solver.solution() if x is None else x).tolist()
        v.append(0.0)  # the column -1 of a variable HiGHS does not hold: 0 (as Pyomo's unset value)
        sp: dict[str, float] = {}
        for tag, rule, a, b in self._setpoint_plan:
            if rule == "value":
                sp[tag] = v[a]
            elif rule == "if_on":
                sp[tag] = v[a] if round(v[b]) else 0.0
            elif rule == "on":
                sp[tag] = round(v[a])
            elif rule == "off":
                sp[tag] = 1 - round(v[a])
            elif isinstance(rule, tuple):  # ("blend", idle share): a burner's draw a over the sum of its draws b (a list)
                total = sum(v[j] for j in b)
                sp[tag] = v[a] / total if total > 0 else rule[1]
            else:  # "share" of fuel column a in total column b; rule holds the share of an idle boiler
                total = v[b]
                sp[tag] = v[a] / total if total > 0 else rule
        return sp

    def _make_setpoint_plan(self) -> list[tuple]:
        m, site = self._model, self.site
        col = self._solver._col  # noqa: SLF001

        def c(var) -> int:
            return col.get(id(var), -1)

        plan: list[tuple] = []
        for b in m.B:
            plan.append((tags.boiler_steam(b), "if_on", c(m.b_steam[b]), c(m.b_on[b])))
            plan.append((f"{b}.on", "on", c(m.b_on[b]), None))
        fs = site.fuel_system
        for b in m.B:
            fuels = site.boilers[b].fuels
            if len(fuels) > 1 and fs.burner_of(b) is None:
                for f in fuels:
                    plan.append((f"{b}.fuel_{f}_share", 1.0 if f == fuels[0] else 0.0, c(m.b_fuel_split[b, f]), c(m.b_fuel[b])))
        for u, bu in fs.burners.items():  # a burner's blend (optimizer/fuel_system.py); idle: all on its first header
            if len(bu.headers) > 1:
                draws = [c(m.fh_draw[h, u]) for h in bu.headers]
                for i, h in enumerate(bu.headers):
                    plan.append((tags.fuel_share(bu.unit, h, bu.duct), ("blend", 1.0 if i == 0 else 0.0), draws[i], draws))
        for g in m.G:
            plan.append((tags.gt_power(g), "if_on", c(m.g_power[g]), c(m.g_on[g])))
            if g in m.GD:
                plan.append((tags.duct_steam(g), "if_on", c(m.d_steam[g]), c(m.d_on[g])))
        for t in m.TG:
            plan.append((tags.turbine_power(t), "if_on", c(m.t_out[t]), c(m.t_on[t])))
            plan.append((f"{t}.on", "on", c(m.t_on[t]), None))
        plan += [(tags.extraction(t, k), "value", c(m.extr[t, k]), None) for t, k in m.TX]
        plan += [(tags.on_motor(t), "off", c(m.t_on[t]), None) for t in m.TMOT]
        plan += [(tags.steam(cf), "value", c(m.cdraw[cf]), None) for cf in m.CF]
        plan += [(tags.column_reflux(k), "value", c(m.reflux[k]), None) for k in m.COL]  # a steered column: its reflux
        plan += [(tags.steam(l), "value", c(m.ld[l]), None) for l in m.L]
        plan += [(tags.steam(vid), "value", c(m.vent[vid]), None) for vid in m.V]
        return plan

    def _plan_advice(self, ts: pd.Timestamp, hours: float = 4.0) -> list[str]:
        """The followed schedule's starts and stops within the next ``hours`` (their start-up
        begins from now on)."""
        sched = self.following
        if sched is None:
            return []
        until = ts + pd.Timedelta(hours=hours)
        out = []
        for line, when in zip(sched.advice, sched.advice_times):
            if ts <= pd.Timestamp(when) < until:
                out.append(line)
        return out

    def _hold_setpoints(self, values: Mapping[str, float], snap: ValidatedSnapshot | None = None) -> dict[str, float]:
        """The current setpoints as read (what holding means): this cycle's good readings (or their
        last good values). A unit reported unavailable gets none (a tripped unit's last reading is
        not a setpoint); a unit whose reading is unknown gets none."""
        m = self._model
        units = [(b, [tags.boiler_steam(b)]) for b in self.site.boilers]
        units += [(g, [tags.gt_power(g)] + ([tags.duct_steam(g)] if g in m.GD else [])) for g in self.site.gas_turbines]
        units += [(t, [tags.turbine_power(t)] if t in m.TG else []) for t in self.site.turbines]
        units += [(t, [tags.extraction(t, k)]) for t, k in m.TX]
        units += [(t, [tags.on_motor(t)]) for t in m.TMOT]
        units += [(k, [tags.column_reflux(k)]) for k in m.COL]
        out: dict[str, float] = {}
        for unit, keys in units:
            if values.get(tags.available(unit), 1.0) < 0.5 or (snap is not None and unit in snap.unknown_units):
                continue
            out.update({k: float(values[k]) for k in keys if k in values})
        return out


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


# the duals LP starts from an optimal basis of the last cycle's (0 simplex iterations in the
# median): unscaled, measured 0.16 instead of 0.22 ms on the reference site, the same duals
_PRICING_OPTIONS = {"simplex_scale_strategy": 0}

def _compile_affine(expr, column, index: dict[int, int]):
    """An expression linear in the variables as (coefficients, HiGHS columns, constant), each
    coefficient and the constant ``(c, {parameter position: slope})`` (affine in the Params:
    :func:`optimizer.lp_arrays.affine_terms`), evaluated against a parameter value vector."""
    repn = generate_standard_repn(expr, compute_values=False)
    if not repn.is_linear():
        raise ValueError(f"KPI expression is not linear: {expr}")
    coefs = [affine_terms(c, index) for c in repn.linear_coefs]
    cols = np.array([column(v) for v in repn.linear_vars], dtype=np.int64)
    return coefs, cols, affine_terms(repn.constant, index)


def _iso(ts) -> str:
    try:
        return pd.Timestamp(ts).isoformat()
    except (ValueError, TypeError):
        return ""


def _subs(snap: ValidatedSnapshot) -> list[dict]:
    return [{"tag": s.tag, "value": s.value, "reason": s.reason, "used": s.used, "source": s.source, "count": s.count} for s in snap.substitutions]
