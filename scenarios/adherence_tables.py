"""The adherence report's period tables (:mod:`scenarios.adherence`): per unit (moves advised
and followed, saving proposed and captured, gap), per binding limit (its worth from the duals,
the gap while it bound) and the period's totals. Money integrates with the step ``dt`` in h.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from optimizer.site.model import Site
from scenarios.adherence_held import _holdable_units


def _units_table(unit_steps: pd.DataFrame, dt: float, site: Site) -> pd.DataFrame:
    cols = ["unit", "steps_advised", "steps_followed", "followed_pct", "mean_progress", "proposed_saving", "captured_saving", "gap", "gap_share_pct", "costed"]
    if unit_steps.empty:
        return pd.DataFrame(columns=cols).set_index("unit")
    holdable = set(_holdable_units(site))
    rows = []
    total_gap = unit_steps["gap_per_h"].sum() * dt
    for u, g in unit_steps.groupby("unit", sort=False):
        adv = g[g["advised"]]
        n_adv = len(adv)
        n_fol = int(adv["followed"].astype(bool).sum()) if n_adv else 0
        gap = g["gap_per_h"].sum() * dt
        rows.append({"unit": u, "steps_advised": n_adv, "steps_followed": n_fol, "followed_pct": 100.0 * n_fol / n_adv if n_adv else np.nan,
                     "mean_progress": float(adv["progress"].mean()) if n_adv else np.nan,
                     "proposed_saving": g["proposed_saving_per_h"].sum() * dt, "captured_saving": g["captured_saving_per_h"].sum() * dt,
                     "gap": gap, "gap_share_pct": 100.0 * gap / total_gap if total_gap > 0 else np.nan,
                     "costed": u in holdable})
    return pd.DataFrame(rows, columns=cols).sort_values("gap", ascending=False).set_index("unit")


_INDEX = re.compile(r"^([^\[]+)\[([^\],]+)")


def _constraints_table(binding: pd.DataFrame, unit_steps: pd.DataFrame, dt: float, site: Site) -> pd.DataFrame:
    cols = ["limit", "what", "kind", "unit", "steps_binding", "mean_worth_per_unit_per_h", "max_worth_per_unit_per_h",
            "worth_per_unit", "gap_when_binding", "unit_gap_when_binding"]
    if binding.empty:
        return pd.DataFrame(columns=cols).set_index("limit")
    known = {*site.boilers, *site.gas_turbines, *site.turbines, *site.letdowns, *site.vents, *site.consumers}
    ugap = unit_steps.set_index(["timestamp", "unit"])["gap_per_h"] if not unit_steps.empty else pd.Series(dtype=float)
    rows = []
    for limit, g in binding.groupby("limit", sort=False):
        m = _INDEX.match(limit)
        unit = m.group(2).strip("'\" ") if m else ""
        unit = unit if unit in known else ""
        unit_gap = np.nan
        if unit:
            unit_gap = sum(float(ugap.get((ts, unit), 0.0)) for ts in g["timestamp"]) * dt
        rows.append({"limit": limit, "what": g["what"].iloc[0], "kind": g["kind"].iloc[0], "unit": unit, "steps_binding": len(g),
                     "mean_worth_per_unit_per_h": g["worth_per_unit_per_h"].mean(), "max_worth_per_unit_per_h": g["worth_per_unit_per_h"].max(),
                     "worth_per_unit": g["worth_per_unit_per_h"].sum() * dt, "gap_when_binding": g["gap_per_h"].sum() * dt,
                     "unit_gap_when_binding": unit_gap})
    return pd.DataFrame(rows, columns=cols).sort_values("worth_per_unit", ascending=False).set_index("limit")


def _totals(steps: pd.DataFrame, setpoints: pd.DataFrame, unit_steps: pd.DataFrame, dt: float) -> dict[str, float]:
    t: dict[str, float] = {"steps_assessed": float(len(steps))}
    if steps.empty:
        return t
    usable = steps[steps["usable"]]
    t["steps_with_advice"] = float(len(usable))
    t["proposed_saving"] = usable["proposed_saving_per_h"].sum() * dt
    t["captured_saving"] = usable["captured_saving_per_h"].sum() * dt
    t["gap"] = usable["gap_per_h"].sum() * dt
    t["captured_pct"] = 100.0 * t["captured_saving"] / t["proposed_saving"] if t["proposed_saving"] > 0 else math.nan
    t["predicted_co2e_saving_t"] = usable["predicted_co2e_saving_t_h"].sum() * dt
    t["captured_co2e_t"] = usable["captured_co2e_t_h"].sum() * dt
    adv = setpoints[setpoints["advised"]] if not setpoints.empty else setpoints
    t["setpoint_moves_advised"] = float(len(adv))
    t["setpoint_moves_followed"] = float(adv["followed"].sum()) if len(adv) else 0.0
    t["setpoints_followed_pct"] = 100.0 * t["setpoint_moves_followed"] / len(adv) if len(adv) else math.nan
    uadv = unit_steps[unit_steps["advised"].astype(bool)] if not unit_steps.empty else unit_steps
    t["unit_moves_advised"] = float(len(uadv))
    t["unit_moves_followed_pct"] = 100.0 * float(uadv["followed"].astype(bool).sum()) / len(uadv) if len(uadv) else math.nan
    with_adv = steps["followed"].dropna()
    t["steps_fully_followed_pct"] = 100.0 * float(with_adv.astype(bool).sum()) / len(with_adv) if len(with_adv) else math.nan
    t["realised_change"] = usable["realised_change_per_h"].sum() * dt
    return t
