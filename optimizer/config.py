"""The supervisory cycle's settings (:class:`SupervisorConfig`) and their checks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

TUNED_HIGHS_OPTIONS: dict[str, object] = {
    "mip_heuristic_run_rins": False,
    "mip_heuristic_run_rens": False,
    "mip_heuristic_run_feasibility_jump": False,
    "mip_allow_restart": False,
}


@dataclass
class SupervisorConfig:
    """Cycle settings. Times in seconds unless named otherwise."""

    cycle_s: float = 60.0
    time_budget_s: float = 1.0
    objective: str = "cost"                       # cost | co2e | steam | weighted
    weights: dict[str, float] = field(default_factory=lambda: {"cost": 1.0, "co2e": 0.0, "steam": 0.0})
    mip_rel_gap: float = 1e-7
    start_payback_h: float | None = 8.0            # a start (stop) must pay its cost back within this many hours of today's saving rate; None: not priced
    agreement_rtol: float = 1e-6
    stale_after_s: float | None = None             # None: no staleness check against the clock
    future_tolerance_s: float = 120.0              # with stale_after_s: how far ahead a timestamp may be
    clock: object = None                           # () -> datetime of "now" (naive: site local time; aware: converted); default: local wall clock
    max_timestamp_gap_s: float = 86400.0           # a timestamp further ahead of the last accepted one is a clock fault ...
    timestamp_resync_after: int = 3                # ... unless this many snapshots in a row agree on the new time line
    min_switch_interval_min: float = 60.0          # drive motor/turbine changes, generator starts and stops
    measurement_band: float = 0.02                 # current-point evaluation: boilers may trim +-2 % to close the balance
    local_box_fraction: float = 0.25               # fallback LP: share of the move box kept around the current point
    extraction_ramp_tph_per_min: float = 5.0       # move limit of turbine extraction flows
    # HiGHS options. The defaults switch off MIP heuristics that cost more than they find on
    # these small models: measured on the reference site (same optimum to 1e-9), 60 s cycles
    # 9.5 -> 3.7 ms, 900 s cycles 172 -> 34 ms, the oracle's finer curves 512 -> 83 ms.
    solver_options: dict[str, object] = field(default_factory=lambda: dict(TUNED_HIGHS_OPTIONS))
    duals: bool = True                             # report binding limits (one extra LP per cycle)
    audit_log: str | None = None                   # append one JSON line per cycle here (replayable)
    reconcile: bool = False                        # reconcile the measured flows with the header balances each cycle
    max_curve_points: int = 32                     # breakpoints reserved per learned curve (deep networks; a box needing more narrows)
    drift: bool = False                            # monitor each ONNX surrogate against the measured outputs (surrogate/drift.py)
    # The step answers within time_budget_s + answer_margin_s whatever HiGHS does: every solve
    # runs on a lane the cycle can abandon (optimizer/highs_lanes.py, Lane). The cycle waits for
    # any solve until time_budget_s after its start (HiGHS's own time limits end before that:
    # _opt_time_limit); one not back by then is abandoned (asked to stop through HiGHS's
    # interrupt callback, its instance never reused) and counts as failed: no answer from the
    # optimisation or the local LP holds this cycle's readings (fallback_hold), none from the
    # current point leaves the current KPIs and the hold check out, none from the duals LP the
    # binding limits. The margin is for the work after the wait and the machine's scheduling
    # (checking the answer and building the proposal: about 1 ms on the reference site on a
    # quiet machine, up to 12 ms measured with 30 plants; 1-30 ms measured from the budget's end
    # to the answer with a hang injected, at a load average of 8 on 2 cores).
    answer_margin_s: float = 0.05
    # Certification (optimizer/certify.py; Proposal.certificate). The answer is never proposed
    # when it is predicted worse than holding the current point (in the objective, by more than
    # certify_rtol relative) and holding is allowed: the current point is proposed instead. The
    # optimisation is solved again with presolve off (about 0.1 s on the reference site, against
    # 0.015 s with presolve): inside the budget, waited for, whenever the predicted saving
    # against holding exceeds certify_saving_rel of holding's objective (implausible); and every
    # certify_every-th cycle (0: never) after the cycle answered, on a thread of its own, its
    # verdict in a later proposal (certificate["previous_resolve"]; a cycle that starts before it
    # finished asks it to stop). A disagreement (beyond certify_rtol, or the answer's gap when
    # time-limited) is warned of and logged.
    certify_every: int = 10
    # Look-ahead plans (Supervisor.plan): the time budget and HiGHS options of a plan's solve
    # (optimizer/planning.py's PLAN_HIGHS_OPTIONS underneath)
    plan_time_budget_s: float = 10.0
    plan_solver_options: dict[str, object] = field(default_factory=dict)
    plan_myopic_start: bool = True                 # give the plan's MILP the period-by-period schedule as its first incumbent
    plan_myopic_start_min_periods: int = 12        # ... on horizons of at least this many periods (docs/lookahead.md: on 6 it cost
                                                   # 0.2-1.1 s a plan for nothing; on 12 and 24 it ended nearer the bound)
    certify_saving_rel: float = 0.25
    certify_rtol: float = 1e-6


def check_config(cfg: SupervisorConfig) -> None:
    """The time-margin and certification settings, refused with the field, value and rule."""
    def number(name: str, value) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} = {value!r}: must be a finite number")
        return float(value)

    if number("answer_margin_s", cfg.answer_margin_s) <= 0.0:
        raise ValueError(f"answer_margin_s = {cfg.answer_margin_s!r}: must be > 0 (seconds)")
    if isinstance(cfg.certify_every, bool) or not isinstance(cfg.certify_every, int) or cfg.certify_every < 0:
        raise ValueError(f"certify_every = {cfg.certify_every!r}: must be an integer >= 0 (0: re-solve only implausible savings)")
    if number("certify_saving_rel", cfg.certify_saving_rel) <= 0.0:
        raise ValueError(f"certify_saving_rel = {cfg.certify_saving_rel!r}: must be > 0 (a fraction of holding's objective)")
    k = cfg.plan_myopic_start_min_periods
    if isinstance(k, bool) or not isinstance(k, int) or k < 2:
        raise ValueError(f"plan_myopic_start_min_periods = {k!r}: must be an integer >= 2 (periods of a plan)")
    if number("certify_rtol", cfg.certify_rtol) < 0.0:
        raise ValueError(f"certify_rtol = {cfg.certify_rtol!r}: must be >= 0")
