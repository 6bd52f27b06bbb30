"""What one supervisory cycle returns: plain, JSON-serialisable data."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field

STATUSES = {
    "optimal": "solved to optimality (within the MIP gap)",
    "time_limited": "the solver hit the time budget; its best feasible incumbent is proposed",
    "fallback_local": "the full solve gave no answer; a local LP around the current point (on/off pattern held, boxes shrunk) answered",
    "fallback_hold": "no solve answered; hold the current setpoints",
    "infeasible_demand": "demand cannot be met (or surplus steam cannot be used or vented, or a header's swing reserve for pressure "
                         "control kept) with the available units; the proposal minimises the shortfall (see shortfall_tph, surplus_tph, "
                         "power_shortfall_mw, warnings)",
    "invalid_input": "the snapshot cannot be used (see warnings); hold the current setpoints",
    "unknown_state": "a unit's own operating point has never been read (no last good value): its state, and so the header "
                     "balances, are unknown; nothing is moved (hold the current setpoints) until it is read",
    "substituted": "solved on substitutes for bad or absent readings the proposal depends on (a demand, a by-product source, "
                   "a unit's operating point, availability, minutes in state or fouling; see substitutions): the plant may differ "
                   "from what was assumed, so it is advisory (the plant link does not write it)",
}


@dataclass
class Proposal:
    """Setpoints and predicted KPIs of one cycle. Advisory: nothing is written anywhere."""

    timestamp: str
    status: str
    setpoints: dict[str, float] = field(default_factory=dict)
    current_kpis: dict[str, float] = field(default_factory=dict)
    proposed_kpis: dict[str, float] = field(default_factory=dict)
    savings: dict[str, float] = field(default_factory=dict)
    shortfall_tph: dict[str, float] = field(default_factory=dict)
    surplus_tph: dict[str, float] = field(default_factory=dict)
    power_shortfall_mw: float = 0.0  # electricity the site can neither generate nor import
    binding: list[dict] = field(default_factory=list)
    surrogate_agreement: dict[str, float] = field(default_factory=dict)
    domain_warnings: list[str] = field(default_factory=list)
    substitutions: list[dict] = field(default_factory=list)
    held_units: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stats: dict[str, float | int | str] = field(default_factory=dict)
    audit: dict = field(default_factory=dict)  # engine version; site, model, config and snapshot hashes
    reconciliation: dict = field(default_factory=dict)  # with SupervisorConfig.reconcile: status, tests, gross errors
    drift: dict = field(default_factory=dict)  # with SupervisorConfig.drift: flagged surrogates, rolling MAPE/bias per model
    certificate: dict = field(default_factory=dict)  # optimizer/certify.py: hold check (held: the current point proposed), re-solve verdict
    advice: list[str] = field(default_factory=list)  # the followed plan's next starts and stops (Supervisor.follow)

    def to_json_line(self) -> str:
        """The proposal as one JSON line (for logs)."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def ok(self) -> bool:
        """True when the setpoints came from a solve (not a hold)."""
        return self.status in ("optimal", "time_limited", "fallback_local", "infeasible_demand", "substituted")

    def to_dict(self) -> dict:
        return _finite(asdict(self))

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False)


def _finite(obj):
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_finite(v) for v in obj]
    return obj
