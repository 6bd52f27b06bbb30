"""Look-ahead in studies: start-up/shut-down accounting and the rolling-plan policies.

Start-up and shut-down accounting (every policy of a study)
------------------------------------------------------------
The units that start and stop are the boilers, the gas turbines and the generator turbines
(``drive = "generator"``). A unit is *on* at a step when its realised tag says so:

* boiler ``<B>.on`` > 0.5 (the simulator sets it when the boiler makes steam);
* gas turbine ``<GT>.power_mw`` > :data:`ON_EPS_MW`;
* generator turbine ``<TG>.power_mw`` > :data:`ON_EPS_MW`.

A step whose tags are missing (a failed step) keeps the state of the step before it. Before the
first step every unit is in its ``initial`` state (in a study: the plant as today's practice runs it
at the first step's conditions, the state every policy starts from). A *start* is an off -> on
change between consecutive steps, a *stop* an on -> off change. A start costs
:func:`optimizer.site.model.start_cost` ``(unit, hours_off_h)``, where ``hours_off_h`` is the time from
the first step the unit was seen off to the step it is seen on again (a unit off before the study
counts ``initial_hours_off_h``, default infinite: a cold start); a stop costs the unit's
``shutdown_cost``. The totals per policy are the summary columns ``starts``, ``stops``,
``start_stop_cost`` (site currency) and ``cost_incl_starts`` = ``cost`` + ``start_stop_cost``.

Rolling-plan policies
---------------------
``steamopt_lookahead`` and ``oracle_lookahead`` (:class:`RollingPlanner`) run the supervisory cycle
every step exactly as ``steamopt`` and ``oracle`` do, and in addition, every :data:`REPLAN_MIN`
minutes of study time (the first step included), plan :data:`PLAN_HORIZON_H` hours at
:data:`PLAN_PERIOD_MIN`-minute periods from the snapshot the cycle reads
(:meth:`optimizer.supervisor.Supervisor.plan`) and hand the schedule to the cycle
(:meth:`~optimizer.supervisor.Supervisor.follow`): until the next plan each step keeps every unit's
on/off at the schedule's state for the period holding its timestamp, where the cycle's own rules
allow (availability, minimum up/down, held units). A plan that gives no schedule of the horizon
(:attr:`optimizer.schedule.Schedule.ok` false: a fallback, invalid input) is not followed: the cycle runs myopic until the next plan.

* ``steamopt_lookahead`` plans on what the Supervisor forecasts (``forecast=None``): its
  ``plan_forecaster`` (:func:`plan_forecaster`: the learned forecasters of ``<models>_forecast``
  beside the surrogates when that directory exists, seeded with :data:`HISTORY_H` hours of the
  profile before the study, :func:`profile_history`), which the cycle feeds every step's
  snapshot; without forecasters, persistence; the import price from the site's tariff per period;
* ``oracle_lookahead`` plans with perfect foresight: the forecast DataFrame of each plan is built
  from the study's true future disturbances (:func:`true_forecast`: per period the mean of the
  steps inside it; beyond the study's last step the last value), and the curves are the oracle's
  true curves.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

import dataclasses
from pathlib import Path

from optimizer import tags
from optimizer.site.model import Boiler, GasTurbine, Site, SteamTurbine, start_cost
from scenarios.plant.inputs import Disturbances
from scenarios.plant.profiles import ProfileConfig, generate_disturbances

log = logging.getLogger(__name__)

#: A gas turbine or generator turbine delivering more than this is on, MW.
ON_EPS_MW = 1e-6

Unit = Boiler | GasTurbine | SteamTurbine


def switched_units(site: Site) -> dict[str, Unit]:
    """The units that start and stop: boilers, gas turbines, generator turbines (site order)."""
    out: dict[str, Unit] = {}
    out.update(site.boilers)
    out.update(site.gas_turbines)
    out.update({t.id: t for t in site.turbines.values() if t.drive == "generator"})
    return out


def on_tag(site: Site, unit: str) -> str:
    """The realised tag that tells whether ``unit`` is on."""
    return f"{unit}.on" if unit in site.boilers else f"{unit}.power_mw"


def on_states(site: Site, tags: Mapping[str, float]) -> dict[str, bool | None]:
    """Unit -> on (True/False) from one step's realised tags; ``None`` where the tag is missing or NaN."""
    out: dict[str, bool | None] = {}
    for u in switched_units(site):
        v = tags.get(on_tag(site, u))
        try:
            v = float(v)
        except (TypeError, ValueError):
            v = math.nan
        out[u] = None if not math.isfinite(v) else (v > 0.5 if u in site.boilers else v > ON_EPS_MW)
    return out


@dataclass(frozen=True)
class StartStop:
    """One start or stop: the unit, the step at which it is first seen in its new state, the kind
    (``start`` / ``stop``), hours off before a start (h), the start level (``hot``/``cold``, for a
    unit with two levels; else ``hot``) and the cost (site currency)."""

    unit: str
    timestamp: pd.Timestamp
    kind: str
    hours_off_h: float
    level: str
    cost: float


def start_stop_events(site: Site, timestamps: Sequence, states: Sequence[Mapping[str, bool | None]],
                      initial: Mapping[str, bool], initial_hours_off_h: float | Mapping[str, float] = math.inf) -> list[StartStop]:
    """Every start and stop of the switched units over a sequence of steps (see the module docstring).

    ``timestamps[i]`` and ``states[i]`` (unit -> on, ``None``: unknown, the state carries on) are
    step ``i``; ``initial``: unit -> on before the first step; ``initial_hours_off_h``: how long
    (h) a unit off in ``initial`` has been off at the first step (one number for all, or per unit).
    Raises ``ValueError`` when the two sequences differ in length or a unit lacks an initial state.
    """
    if len(timestamps) != len(states):
        raise ValueError(f"timestamps: {len(timestamps)} entries, states: {len(states)}; must be equal")
    units = switched_units(site)
    missing = [u for u in units if u not in initial]
    if missing:
        raise ValueError(f"initial: no state for unit(s) {missing}; every boiler, gas turbine and generator turbine needs one")
    ts = [pd.Timestamp(t) for t in timestamps]
    events: list[StartStop] = []
    for u, unit in units.items():
        on = bool(initial[u])
        off_since: pd.Timestamp | None = None  # first step seen off (None: off since before the study)
        pre_off = (initial_hours_off_h.get(u, math.inf) if isinstance(initial_hours_off_h, Mapping)
                   else float(initial_hours_off_h))
        for t, s in zip(ts, states):
            now = s.get(u)
            if now is None or now == on:
                continue
            if now:  # start
                if off_since is None:
                    hours = pre_off + (t - ts[0]).total_seconds() / 3600.0
                else:
                    hours = (t - off_since).total_seconds() / 3600.0
                cost = start_cost(unit, hours)
                cold = unit.cold_after_h is not None and unit.cold_startup_cost is not None and hours >= unit.cold_after_h
                events.append(StartStop(u, t, "start", hours, "cold" if cold else "hot", float(cost)))
            else:  # stop
                off_since = t
                events.append(StartStop(u, t, "stop", 0.0, "", float(unit.shutdown_cost)))
            on = bool(now)
    events.sort(key=lambda e: (e.timestamp, e.unit))
    return events


def start_stop_totals(events: Iterable[StartStop]) -> dict[str, float]:
    """``starts``, ``stops`` (counts) and ``start_stop_cost`` (site currency) of a list of events."""
    events = list(events)
    return {"starts": sum(e.kind == "start" for e in events), "stops": sum(e.kind == "stop" for e in events),
            "start_stop_cost": float(sum(e.cost for e in events))}


def policy_start_stops(site: Site, steps: pd.DataFrame, initial: Mapping[str, bool],
                       initial_hours_off_h: float | Mapping[str, float] = math.inf) -> list[StartStop]:
    """The starts and stops of one policy's rows of a study's steps table (ordered by timestamp)."""
    g = steps.sort_values("timestamp", kind="stable")
    cols = [c for c in (on_tag(site, u) for u in switched_units(site)) if c in g.columns]
    records = g[cols].to_dict("records") if cols else [{} for _ in range(len(g))]
    return start_stop_events(site, list(g["timestamp"]), [on_states(site, r) for r in records], initial, initial_hours_off_h)


def units_on(states: Mapping[str, bool | None]) -> str:
    """The units on, comma-joined in the given order (the ``planned_on`` / ``realised_on`` columns)."""
    return ",".join(u for u, on in states.items() if on)


def start_stop_columns(site: Site, steps: pd.DataFrame, initial: Mapping[str, bool]) -> pd.DataFrame:
    """Per policy of a steps table: ``starts``, ``stops``, ``start_stop_cost`` (index = policy)."""
    rows = {p: start_stop_totals(policy_start_stops(site, g, initial)) for p, g in steps.groupby("policy", sort=False)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "policy"
    return out.astype({"starts": np.int64, "stops": np.int64})


#: Look-ahead policy -> the myopic policy with the same curves.
MYOPIC_OF = {"steamopt_lookahead": "steamopt", "oracle_lookahead": "oracle"}
LOOKAHEAD_POLICIES = tuple(MYOPIC_OF)


def lookahead_columns(summary: pd.DataFrame) -> pd.DataFrame:
    """Add ``cost_incl_starts`` = ``cost`` + ``start_stop_cost`` to every row and, on a look-ahead
    policy's row whose myopic twin (:data:`MYOPIC_OF`) is present, the value of looking ahead
    (all on ``cost_incl_starts``, site currency; CO2e in t):

    * ``lookahead_saving`` = C(myopic) - C(look-ahead), ``lookahead_saving_pct`` (of C(myopic)),
      ``lookahead_co2e_saving_t``;
    * on ``steamopt_lookahead``, with ``oracle_lookahead`` present (perfect foresight):
      ``share_of_perfect_foresight_saving_pct`` = 100 (C(steamopt) - C(steamopt_lookahead)) /
      (C(steamopt) - C(oracle_lookahead)), the share of what perfect foresight saves over myopic
      steamopt that the forecasts capture; and ``share_of_lookahead_value_pct`` = 100
      lookahead_saving(steamopt_lookahead) / lookahead_saving(oracle_lookahead), the value of
      looking ahead on forecasts and surrogates as a share of its value with perfect foresight and
      true curves. NaN when the denominator is not positive.
    """
    s = summary.copy()
    if "cost" not in s or "start_stop_cost" not in s:
        return s
    s["cost_incl_starts"] = s["cost"] + s["start_stop_cost"]
    c = s["cost_incl_starts"]
    for la, my in MYOPIC_OF.items():
        if la in s.index and my in s.index:
            s.loc[la, "lookahead_saving"] = c[my] - c[la]
            s.loc[la, "lookahead_saving_pct"] = 100.0 * (c[my] - c[la]) / c[my] if c[my] else math.nan
            if "co2e_t" in s:
                s.loc[la, "lookahead_co2e_saving_t"] = s.loc[my, "co2e_t"] - s.loc[la, "co2e_t"]
    if {"steamopt", "steamopt_lookahead", "oracle_lookahead"} <= set(s.index):
        full = c["steamopt"] - c["oracle_lookahead"]
        s.loc["steamopt_lookahead", "share_of_perfect_foresight_saving_pct"] = (
            100.0 * (c["steamopt"] - c["steamopt_lookahead"]) / full if full > 0 else math.nan)
        if "oracle" in s.index:
            value = s.loc["oracle_lookahead", "lookahead_saving"]
            s.loc["steamopt_lookahead", "share_of_lookahead_value_pct"] = (
                100.0 * s.loc["steamopt_lookahead", "lookahead_saving"] / value if value > 0 else math.nan)
    return s


# ----------------------------------------------------------------------------- rolling plans

#: Plan horizon (h), period (min) and how often a new plan is made (min of study time). The
#: horizon is 6 h, not the planner's 24 h default: on the reference site a 24 x 60 min plan does
#: not finish in the 10 s plan budget on a busy 2-core machine (measured: time_limited at 10 s
#: and at 30 s, gap 0.35 %), a 6 x 60 min plan takes 3.7-5.7 s to gap 1e-4 (docs/lookahead.md).
PLAN_HORIZON_H = 6.0
PLAN_PERIOD_MIN = 60.0
REPLAN_MIN = 60.0
#: Relative MIP gap of each plan (PLAN_API's default).
PLAN_MIP_GAP = 1e-4


#: Hours of history made before a study for steamopt_lookahead's forecaster (the bundled forecasters need 48 h).
HISTORY_H = 50.0


def forecasters_dir(models_path: str | Path) -> Path | None:
    """The default forecasters of a model directory: ``<models>_forecast`` beside it, if it exists."""
    p = Path(models_path)
    cand = p.with_name(p.name + "_forecast")
    return cand if cand.is_dir() else None


def profile_history(site: Site, config: ProfileConfig, hours: float = HISTORY_H) -> list[Disturbances]:
    """What a historian would hold when a study begins: the same profile generator and settings
    over the ``hours`` before ``config.start`` (seed + 1, no outages), at the study's step."""
    if not hours > 0:
        raise ValueError(f"hours = {hours}: must be > 0")
    before = dataclasses.replace(config, start=config.start - pd.Timedelta(hours=hours), hours=hours, seed=config.seed + 1,
                                 outages=[])
    return generate_disturbances(site, before)


def plan_forecaster(site: Site, forecasters: str | Path | None, history: Sequence[Disturbances] = ()):
    """A fresh :class:`optimizer.plan_forecast.PlanForecaster` over the forecasters in directory
    ``forecasters`` (None: none, persistence for every series), seeded with ``history``."""
    from optimizer.plan_forecast import PlanForecaster  # noqa: PLC0415 - only steamopt_lookahead needs it
    from surrogate.forecast import load_forecasters  # noqa: PLC0415

    pf = PlanForecaster(site, load_forecasters(forecasters) if forecasters is not None else None)
    if history:
        pf.load_history(pd.DataFrame([forecast_values(site, d) for d in history],
                                     index=pd.DatetimeIndex([d.timestamp for d in history])))
    return pf


def forecast_values(site: Site, d: Disturbances) -> dict[str, float]:
    """The forecastable snapshot tags of one step's disturbances (PLAN_API's forecast columns):
    each consumer's ``<c>.steam_tph`` (0 when unavailable), each by-product source's
    ``<s>.steam_tph`` (0 when unavailable), ``ambient_temp_c``, ``site_load_mw`` (when the site has
    a grid connection or the step gives one), each gas turbine's fouling hours and each switched
    unit's availability ``<U>.available`` (1/0: a planned outage is known ahead)."""
    out: dict[str, float] = {}
    for c in site.consumers.values():
        out[tags.steam(c.id)] = 0.0 if c.id in d.unavailable else max(0.0, d.consumer_demand_tph.get(c.id, c.demand_tph))
    for s in site.byproduct_sources.values():
        out[tags.steam(s.id)] = 0.0 if s.id in d.unavailable else max(0.0, d.byproduct_steam_tph.get(s.id, s.nominal_steam_tph))
    out[tags.AMBIENT] = site.design_ambient_c if d.ambient_temp_c is None else d.ambient_temp_c
    load = d.site_load_mw if d.site_load_mw is not None else (site.electricity.site_load_mw if site.electricity else None)
    if load is not None:
        out[tags.SITE_LOAD] = load
    for g in site.gas_turbines:
        if g in d.gt_fouling_hours:
            out[tags.gt_fouling(g)] = d.gt_fouling_hours[g]
    for u in switched_units(site):
        out[tags.available(u)] = 0.0 if u in d.unavailable else 1.0
    return out


def true_forecast(site: Site, disturbances: Sequence[Disturbances], start: pd.Timestamp, periods: int,
                  period_min: float) -> pd.DataFrame:
    """Perfect foresight: the forecast DataFrame (PLAN_API: index = period starts from ``start``,
    columns = snapshot tags) whose period ``t`` holds the mean of the true disturbances
    (:func:`forecast_values`) of the steps with a timestamp in ``[start + t p, start + (t+1) p)``
    (availability: the smallest, a unit out in any step of a period is out for the period);
    a period with no step (beyond the study's end, or between coarse steps) holds the last value
    before it. Raises ``ValueError`` for ``periods < 1`` or ``period_min <= 0``."""
    if periods < 1:
        raise ValueError(f"periods = {periods}: must be at least 1")
    if not period_min > 0:
        raise ValueError(f"period_min = {period_min}: must be > 0")
    start = pd.Timestamp(start)
    index = pd.DatetimeIndex([start + pd.Timedelta(minutes=period_min * t) for t in range(periods)])
    ts = pd.DatetimeIndex([d.timestamp for d in disturbances])
    frame = pd.DataFrame([forecast_values(site, d) for d in disturbances], index=ts)
    before = frame[frame.index <= start]
    if len(before) == 0:
        raise ValueError(f"start = {start}: before the first step of the disturbances ({ts[0] if len(ts) else 'none'})")
    k = ((frame.index - start) / pd.Timedelta(minutes=period_min)).to_numpy()
    inside = (k >= 0) & (k < periods)
    groups = frame[inside].groupby(np.floor(k[inside]).astype(int))
    means = groups.mean()
    avail = [c for c in frame.columns if c.endswith(".available")]
    if avail:
        means[avail] = groups[avail].min()
    out = means.reindex(range(periods))
    out.iloc[0] = out.iloc[0].fillna(before.iloc[-1])
    out = out.ffill()
    out.index = index
    return out


class RollingPlanner:
    """The look-ahead part of ``steamopt_lookahead`` / ``oracle_lookahead`` (module docstring).

    ``supervisor``: the policy's Supervisor (surrogates or the oracle's curves); ``disturbances``:
    the study's true disturbances (read only for perfect foresight); ``forecaster``: for
    ``steamopt_lookahead``, an object set as the Supervisor's ``plan_forecaster`` (``observe(ts,
    values)``, ``forecast(values, start, periods, period_min)``); ``None``: the Supervisor's own
    (none by default: persistence).
    """

    def __init__(self, site: Site, policy: str, supervisor, disturbances: Sequence[Disturbances], *,
                 forecaster: object | None = None,
                 horizon_h: float = PLAN_HORIZON_H, period_min: float = PLAN_PERIOD_MIN, replan_min: float = REPLAN_MIN,
                 mip_rel_gap: float = PLAN_MIP_GAP, time_budget_s: float | None = None):
        if policy not in MYOPIC_OF:
            raise ValueError(f"policy = {policy!r}: not a look-ahead policy ({', '.join(MYOPIC_OF)})")
        if not replan_min > 0:
            raise ValueError(f"replan_min = {replan_min}: must be > 0")
        self.site, self.policy, self.supervisor = site, policy, supervisor
        self.disturbances = list(disturbances)
        self.horizon_h, self.period_min, self.replan_min = horizon_h, period_min, replan_min
        self.mip_rel_gap, self.time_budget_s = mip_rel_gap, time_budget_s
        self.periods = round(horizon_h * 60.0 / period_min)
        self.schedule = None
        self.schedules: list = []  # every plan made, in order
        self._last_plan: pd.Timestamp | None = None
        if forecaster is not None and policy == "steamopt_lookahead":
            supervisor.plan_forecaster = forecaster

    def due(self, ts: pd.Timestamp) -> bool:
        """Whether a new plan is due at ``ts`` (the first step, then every ``replan_min``)."""
        return self._last_plan is None or (ts - self._last_plan) >= pd.Timedelta(minutes=self.replan_min) - pd.Timedelta(seconds=1)

    def before_step(self, snapshot: Mapping, seen: Disturbances) -> dict:
        """Plan when due and hand the schedule to the cycle; the step's row fields: ``plan_status``
        (this step's plan, '' when none was made), ``plan_ms``, ``plan_gap``, ``planned_on`` (units
        the followed schedule has on in the period holding the step; '' without one)."""
        ts = pd.Timestamp(seen.timestamp)
        info = {"plan_status": "", "plan_ms": np.nan, "plan_gap": np.nan}
        if self.due(ts):
            forecast = None
            if self.policy == "oracle_lookahead":
                forecast = true_forecast(self.site, self.disturbances, ts, self.periods, self.period_min)
                known = self.supervisor.validator.rules
                forecast = forecast[[c for c in forecast.columns if c in known]]
            t = time.perf_counter()
            schedule = self.supervisor.plan(snapshot, forecast=forecast, horizon_h=self.horizon_h, period_min=self.period_min,
                                            time_budget_s=self.time_budget_s, mip_rel_gap=self.mip_rel_gap)
            info["plan_ms"] = 1e3 * (time.perf_counter() - t)
            info["plan_status"] = schedule.status
            info["plan_gap"] = getattr(schedule, "gap", np.nan)
            self._last_plan = ts
            self.schedules.append(schedule)
            self.schedule = schedule if schedule.ok else None
            if self.schedule is None:
                log.warning("%s at %s: plan status %s, not followed: %s", self.policy, ts, schedule.status,
                            "; ".join(getattr(schedule, "warnings", [])[:2]))
            self.supervisor.follow(self.schedule)
        info["planned_on"] = self.planned_on(ts)
        return info

    def planned_on(self, ts: pd.Timestamp) -> str:
        """Units the followed schedule has on in the period holding ``ts`` ('' without a schedule)."""
        if self.schedule is None or self.schedule.on is None or len(self.schedule.on) == 0:
            return ""
        on = self.schedule.on
        k = on.index.searchsorted(pd.Timestamp(ts), side="right") - 1
        row = on.iloc[max(0, min(k, len(on) - 1))]
        return ",".join(u for u in switched_units(self.site) if u in row.index and row[u] > 0.5)
