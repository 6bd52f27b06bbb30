"""What a study's hydrogen bought: the same study without the hydrogen supply, and the difference.

A study whose scenario offers hydrogen (``[changes.hydrogen_supply]`` with ``t_per_day > 0``,
scenarios/fuel_changes.py) is run a second time with the supply at 0 t/day, for the policies
that decide where hydrogen is burnt (steamopt, the oracle: today's practice has no rule for
it). Per policy, over the study's period:

* ``hydrogen_gj``: hydrogen burnt (GJ, LHV), summed over the burners;
* ``co2e_cut_t = CO2e_without - CO2e_with`` (t);
* ``extra_cost = C_with - C_without`` with ``C`` the resource cost, ``cost - carbon_cost`` (the
  carbon charge is a transfer, not a cost of abating; as the sweep's marginal abatement cost);
* ``cost_per_t_co2e = extra_cost / co2e_cut_t`` (currency per t CO2e avoided), NaN when the cut
  is not positive.

Both runs see the same disturbances, noise and seed, so the difference is the hydrogen's.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from scenarios.scenario import load_scenario

#: the policies that allocate hydrogen (the others burn their first fuel header)
ALLOCATING_POLICIES = ("steamopt", "oracle")
#: the scenario field that sets the supply (scenarios/scenario.py aliases it as hydrogen_t_per_day)
SUPPLY_FIELD = "changes.hydrogen_supply.t_per_day"


def counterfactual_policies(policies: tuple[str, ...] | list[str]) -> list[str]:
    """The study's policies that allocate hydrogen (run again without it)."""
    return [p for p in policies if p in ALLOCATING_POLICIES]


def _resource_cost(row: pd.Series) -> float:
    return float(row["cost"]) - float(row.get("carbon_cost", 0.0) or 0.0)


def hydrogen_value(with_h2: pd.DataFrame, without_h2: pd.DataFrame) -> pd.DataFrame:
    """Per policy present in both summaries (indexed by policy): hydrogen burnt, CO2e with and
    without, the cut, the extra resource cost and the cost per t CO2e avoided (see the module)."""
    rows = []
    for policy in without_h2.index:
        if policy not in with_h2.index:
            continue
        w, wo = with_h2.loc[policy], without_h2.loc[policy]
        h2 = sum(float(v) for k, v in w.items() if k.startswith("hydrogen_") and k.endswith("_gj") and pd.notna(v))
        cut = float(wo["co2e_t"]) - float(w["co2e_t"])
        extra = _resource_cost(w) - _resource_cost(wo)
        rows.append({"policy": policy, "hydrogen_gj": h2, "co2e_without_t": float(wo["co2e_t"]), "co2e_with_t": float(w["co2e_t"]),
                     "co2e_cut_t": cut, "extra_cost": extra, "cost_per_t_co2e": extra / cut if cut > 0.0 else math.nan})
    return pd.DataFrame(rows).set_index("policy") if rows else pd.DataFrame(columns=["hydrogen_gj"]).rename_axis("policy")


def hydrogen_markdown(table: pd.DataFrame, currency: str, t_per_day: float) -> list[str]:
    """The report's section: the table and how it was made."""
    lines = [f"The same study run again without the hydrogen supply ({t_per_day:g} t/day -> 0), for the policies that "
             f"allocate it; cost is the resource cost (cost - carbon cost). Cost per t CO2e = extra cost / CO2e cut.", "",
             f"| policy | hydrogen burnt (GJ) | CO2e without (t) | CO2e with (t) | CO2e cut (t) | extra cost ({currency}) "
             f"| cost per t CO2e ({currency}/t) |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for policy, r in table.iterrows():
        per_t = f"{r['cost_per_t_co2e']:,.0f}" if math.isfinite(r["cost_per_t_co2e"]) else "- (no cut)"
        lines.append(f"| {policy} | {r['hydrogen_gj']:,.1f} | {r['co2e_without_t']:,.1f} | {r['co2e_with_t']:,.1f} "
                     f"| {r['co2e_cut_t']:,.2f} | {r['extra_cost']:,.0f} | {per_t} |")
    return lines + [""]


def study_without_hydrogen(scenario_path: str | Path, with_h2: pd.DataFrame, policies: tuple[str, ...] | list[str],
                           hours: float | None, currency: str, progress: bool = False) -> tuple[pd.DataFrame, list[str]] | None:
    """Run the scenario again with its hydrogen supply at 0 t/day for the allocating policies and
    return ``(table, markdown lines)``; None when the scenario offers no hydrogen or no policy
    allocates it."""
    from scenarios.study import run_study
    from scenarios.study_files import spec_from_scenario_file

    supply = load_scenario(scenario_path).changes.hydrogen_supply
    chosen = counterfactual_policies(policies)
    if supply is None or supply.t_per_day <= 0.0 or not chosen:
        return None
    spec = spec_from_scenario_file(scenario_path, {SUPPLY_FIELD: 0.0}, hours=hours, policies=chosen)
    table = hydrogen_value(with_h2, run_study(spec, progress=progress).summary)
    return table, hydrogen_markdown(table, currency, supply.t_per_day)
