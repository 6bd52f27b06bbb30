"""What a unit's part of a proposed saving is worth, for the adherence report
(:mod:`scenarios.adherence`): the optimum of a historian row with that one unit held where it
was (a separate Supervisor, the same configuration), the units the Supervisor can hold, and a
snapshot's good readings (the held solve's last good values).
"""

from __future__ import annotations

import dataclasses
import math

from optimizer.site.model import Site
from optimizer.snapshot import tag_rules
from optimizer.supervisor import Supervisor
from scenarios.historian_replay import ReplayResult


def _holdable_units(site: Site) -> dict[str, list[str]]:
    """Units the supervisor holds where they are when their own tags are unreadable: unit -> tags."""
    units: dict[str, list[str]] = {}
    for tag, rule in tag_rules(site).items():
        if rule.unit is not None and rule.required:
            units.setdefault(rule.unit, []).append(tag)
    # a machine drive is held only through its motor switch; its extraction is never held
    return {u: ts for u, ts in units.items() if any(t.endswith(("_steam_tph", ".steam_tph", ".power_mw", ".on_motor")) for t in ts)
            and not (u in site.turbines and site.turbines[u].drive == "machine" and site.turbines[u].motor is None)}


class _HeldEvaluator:
    """The optimum of one row with one unit held where it was: a separate Supervisor (same
    configuration, no audit log, no duals) whose last good values are the rows' readings."""

    def __init__(self, site: Site, models, replay: ReplayResult):
        cfg = dataclasses.replace(replay.config, audit_log=None, stale_after_s=None, clock=None, duals=False)
        self.sup = Supervisor(site, models, cfg)
        self.rules = tag_rules(site)
        self.unit_tags = _holdable_units(site)

    def cost_with_held(self, snapshot: dict, last_good: dict[str, float], unit: str) -> float:
        held = self.unit_tags.get(unit)
        if not held or not all(t in last_good for t in held):
            return math.nan
        v = self.sup.validator
        v.last_good = dict(last_good)
        v.last_timestamp = None
        snap = {**snapshot, **{t: math.nan for t in held}}
        p = self.sup.step(snap)
        if not p.ok or unit not in p.held_units:
            return math.nan
        return float(p.proposed_kpis.get("cost_per_h", math.nan))


def _good_values(snapshot: dict, rules) -> dict[str, float]:
    out = {}
    for tag, value in snapshot.items():
        r = rules.get(tag)
        if r is not None and isinstance(value, float) and math.isfinite(value) and r.lower <= value <= r.upper:
            out[tag] = value
    return out
