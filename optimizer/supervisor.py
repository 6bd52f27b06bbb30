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

This module holds the class: its construction, the public calls (:meth:`Supervisor.step`,
``plan``, ``follow``, ``reload``, ``evaluate``) and the snapshot's side reports (reconciliation,
drift). The cycle's parts are mixins Supervisor inherits, one job a module:
:mod:`optimizer.cycle_step` (the step and its time budget), :mod:`optimizer.cycle_params` (the
cycle's data written as Param values), :mod:`optimizer.cycle_lanes` (the abandonable HiGHS runs),
:mod:`optimizer.cycle_beside` (the current point and the duals LP beside the optimisation),
:mod:`optimizer.cycle_certify` (certification of the answer), :mod:`optimizer.cycle_results`
(curve verification, KPIs, setpoints read back).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Mapping

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer import __version__, certify, tags
from optimizer.audit import append_line, sha256_of
from optimizer.binding import BindingLimits
from optimizer.plant_words import describe_limit
from optimizer.config import TUNED_HIGHS_OPTIONS, SupervisorConfig, check_config  # noqa: F401 - TUNED_HIGHS_OPTIONS re-exported
from optimizer.curves import CurveProvider
from optimizer.fp_curves import complete_curves, site_curves
from optimizer.cycle_beside import _PRICING_OPTIONS, BesideMixin  # noqa: F401 - _PRICING_OPTIONS re-exported
from optimizer.cycle_certify import CertifyMixin
from optimizer.cycle_lanes import LanesMixin, SolveResult, _Handoff  # noqa: F401 - SolveResult, _Handoff re-exported
from optimizer.cycle_params import ParamsMixin
from optimizer.cycle_results import ResultsMixin, _compile_affine  # noqa: F401 - _compile_affine re-exported
from optimizer.cycle_step import StepMixin, _iso, _subs  # noqa: F401 - _subs re-exported
from optimizer.duct import duct_models, missing_duct_models
from optimizer.ectg import ectg_models
from optimizer.formulation import build_model
from optimizer.highs_direct import HighsDirect, Lane
from optimizer.proposal import Proposal
from optimizer.schedule import Schedule
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties, compute_properties
from optimizer.snapshot import SnapshotValidator, ValidatedSnapshot
from optimizer.twins import TwinOrder

log = logging.getLogger(__name__)


class Supervisor(StepMixin, LanesMixin, CertifyMixin, ParamsMixin, BesideMixin, ResultsMixin):
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
        self._hold_cols: np.ndarray | None = None  # HiGHS columns of what holding holds (the hold check in the model)
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

    # ------------------------------------------------------------------ the snapshot's side reports
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
