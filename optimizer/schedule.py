"""What a look-ahead plan returns (:meth:`optimizer.supervisor.Supervisor.plan`): plain data.

Per period: setpoints (the cycle's tag names), predicted KPIs (the cycle's names, per hour) and
each switchable unit's on/off; the starts and stops with their times and costs; the costs over the
horizon; what the first period commits to; advice for the operator; the forecast's methods.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pandas as pd

from optimizer.proposal import _finite

PLAN_STATUSES = {
    "optimal": "the horizon solved to its MIP gap",
    "time_limited": "the horizon's solve hit its time budget; its best schedule is returned (see gap)",
    "infeasible_demand": "some period cannot meet its demand with the available units; the schedule minimises the shortfall",
    "fallback_single_period": "the horizon gave no answer inside its budget: the single-period answer (period 0 only) is returned",
    "fallback_hold": "neither the horizon nor the single-period model answered: hold the current setpoints",
    "invalid_input": "the snapshot or the forecast cannot be used (see warnings)",
    "unknown_state": "a unit's operating point has never been read: nothing is planned",
}


@dataclass
class Schedule:
    """A plan over ``len(times)`` periods of ``period_min`` minutes from ``start`` (site-local time)."""

    status: str
    start: str
    period_min: float
    times: list[str] = field(default_factory=list)
    setpoints: pd.DataFrame = field(default_factory=pd.DataFrame)  # periods x setpoint tags
    kpis: pd.DataFrame = field(default_factory=pd.DataFrame)       # periods x KPI names (per hour)
    on: pd.DataFrame = field(default_factory=pd.DataFrame)         # periods x switchable units (0/1)
    starts: list[dict] = field(default_factory=list)   # unit, action (start / switch to the turbine), period, begin_startup, cost, kind (hot/cold)
    stops: list[dict] = field(default_factory=list)    # unit, action (stop / switch to the motor), period, cost
    costs: dict[str, float] = field(default_factory=dict)  # energy, startup, shutdown, total (site currency)
    objective: float | None = None
    gap: float | None = None
    first_period: dict[str, float] = field(default_factory=dict)
    advice: list[str] = field(default_factory=list)
    advice_times: list[str] = field(default_factory=list)  # when each advice line is due (ISO), in order
    forecast_methods: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when the schedule came from a solve of the horizon."""
        return self.status in ("optimal", "time_limited", "infeasible_demand")

    def state_at(self, unit: str, ts) -> bool | None:
        """The planned on/off state of ``unit`` in the period holding ``ts`` (None: not planned,
        outside the horizon or not a switchable unit)."""
        if not self.ok or unit not in self.on.columns or self.on.empty:
            return None
        ts = pd.Timestamp(ts)
        idx = self.on.index
        end = idx[-1] + pd.Timedelta(minutes=self.period_min)
        if ts < idx[0] or ts >= end:
            return None
        return bool(self.on[unit].iloc[int(idx.searchsorted(ts, side="right")) - 1] >= 0.5)

    def to_dict(self) -> dict:
        def frame(df: pd.DataFrame) -> dict:
            return {str(c): [float(v) for v in df[c].to_numpy()] for c in df.columns}

        return _finite({
            "status": self.status, "start": self.start, "period_min": self.period_min, "times": list(self.times),
            "setpoints": frame(self.setpoints), "kpis": frame(self.kpis), "on": frame(self.on),
            "starts": self.starts, "stops": self.stops, "costs": self.costs, "objective": self.objective, "gap": self.gap,
            "first_period": self.first_period, "advice": self.advice, "advice_times": self.advice_times, "forecast_methods": self.forecast_methods,
            "warnings": self.warnings, "stats": self.stats,
        })

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)
