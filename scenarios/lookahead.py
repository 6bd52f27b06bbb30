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

The rolling-plan policies are in :mod:`scenarios.lookahead_policy`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.site.model import Boiler, GasTurbine, Site, SteamTurbine, start_cost

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
