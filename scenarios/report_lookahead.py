"""The study report's look-ahead section: starts and stops, cost including them, the value of
looking ahead against the myopic cycle and against perfect foresight, the plans made, and a plot
of which units ran when (one panel per policy).

Reads the summary's columns from :func:`scenarios.study.summarize` (``starts``, ``stops``,
``start_stop_cost``, ``cost_incl_starts``, ``lookahead_saving``, ``lookahead_saving_pct``,
``lookahead_co2e_saving_t``, ``share_of_perfect_foresight_saving_pct``,
``share_of_lookahead_value_pct``) and the steps' ``plan_status``, ``plan_ms``, ``planned_on`` and
the units' on tags (boiler ``<B>.on``; gas turbine and generator turbine ``<U>.power_mw`` > 0).
Missing columns never stop the report: the section says what it lacks.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from scenarios.report_common import date_axis, finite, md_table, no_data, num, save
from scenarios.report_findings import value

#: The plot of this section.
UNITS_ON = "units_on.png"
LOOKAHEAD = ("steamopt_lookahead", "oracle_lookahead")
MYOPIC_OF = {"steamopt_lookahead": "steamopt", "oracle_lookahead": "oracle"}
ON_EPS_MW = 1e-6


def has_start_stop(summary: pd.DataFrame) -> bool:
    """Whether the summary carries the start/stop accounting."""
    return "starts" in summary.columns and "cost_incl_starts" in summary.columns


def realised_on(steps: pd.DataFrame, boilers: Sequence[str], others: Sequence[str]) -> pd.DataFrame:
    """Per row of ``steps``: unit -> on (bool; NaN where the tag is missing or NaN)."""
    out = {}
    for u in list(boilers) + list(others):
        tag = f"{u}.on" if u in boilers else f"{u}.power_mw"
        if tag in steps.columns:
            v = pd.to_numeric(steps[tag], errors="coerce")
            out[u] = (v > (0.5 if u in boilers else ON_EPS_MW)).where(v.notna())
    return pd.DataFrame(out, index=steps.index)


def plan_adherence(steps: pd.DataFrame, policy: str, boilers: Sequence[str], others: Sequence[str]) -> tuple[int, int]:
    """(steps with a followed plan, of which steps whose realised set of units on differs from the
    plan's ``planned_on`` for that step) of one policy."""
    g = steps[steps["policy"] == policy]
    if "planned_on" not in g.columns:
        return 0, 0
    planned = g["planned_on"].fillna("").astype(str)
    with_plan = planned != ""
    on = realised_on(g, boilers, others)
    differs = 0
    for idx in g.index[with_plan.to_numpy()]:
        real = {u for u in on.columns if on.at[idx, u] is True or on.at[idx, u] == 1.0}
        if real != set(planned.at[idx].split(",")):
            differs += 1
    return int(with_plan.sum()), differs


def lookahead_markdown(summary: pd.DataFrame, steps: pd.DataFrame, policies: Sequence[str], currency: str,
                       boilers: Sequence[str], others: Sequence[str]) -> list[str]:
    """The section's Markdown lines (without its heading)."""
    if not has_start_stop(summary):
        return ["_The summary has no start/stop accounting (`starts`, `cost_incl_starts`)._", ""]
    rows = []
    for p in [p for p in policies if p in summary.index]:
        rows.append([p, num(value(summary, p, "cost")), num(value(summary, p, "start_stop_cost")),
                     num(value(summary, p, "cost_incl_starts")), num(value(summary, p, "starts")),
                     num(value(summary, p, "stops")), num(value(summary, p, "co2e_t"), 1),
                     num(value(summary, p, "lookahead_saving")), num(value(summary, p, "lookahead_saving_pct"), 2),
                     num(value(summary, p, "lookahead_co2e_saving_t"), 1)])
    headers = ["policy", f"cost ({currency})", f"start/stop cost ({currency})", f"cost incl. starts ({currency})", "starts",
               "stops", "CO2e (t)", f"look-ahead saving ({currency})", "look-ahead saving (%)", "look-ahead CO2e saving (t)"]
    lines = [md_table(headers, rows, [False] + [True] * 9), "",
             "Starts and stops are counted on the realised plant (boilers, gas turbines, generator turbines) and priced "
             "with the site's start-up costs (hot or cold by hours off) and shut-down costs. The look-ahead saving of a "
             "look-ahead policy is the myopic policy's cost including starts minus its own (steamopt_lookahead against "
             "steamopt, oracle_lookahead against oracle).", ""]
    sentences = []
    for la in LOOKAHEAD:
        my = MYOPIC_OF[la]
        s = value(summary, la, "lookahead_saving")
        if finite(s):
            d_starts = value(summary, la, "starts") - value(summary, my, "starts")
            starts = f"({num(value(summary, la, 'starts'))} starts against {num(value(summary, my, 'starts'))})"
            co2 = value(summary, la, "lookahead_co2e_saving_t")
            if abs(s) < 0.5:
                sentences.append(f"{la} is level with {my} on cost including starts {starts}.")
                continue
            sentences.append(f"{la} {'saves' if s > 0 else 'costs'} {num(abs(s))} {currency} "
                             f"({num(abs(value(summary, la, 'lookahead_saving_pct')), 2)} %) against {my}, cost including "
                             f"starts, with {num(abs(d_starts))} {'fewer' if d_starts <= 0 else 'more'} starts {starts} "
                             f"and {num(abs(co2), 1)} t CO2e {'less' if co2 >= 0 else 'more'}.")
    share = value(summary, "steamopt_lookahead", "share_of_perfect_foresight_saving_pct")
    if finite(share):
        sentences.append(f"Of what perfect foresight with the true curves (oracle_lookahead) saves over myopic steamopt, "
                         f"steamopt_lookahead on its forecasts and surrogates captures {num(share, 1)} %.")
    elif {"steamopt", "oracle_lookahead", "steamopt_lookahead"} <= set(summary.index):
        sentences.append("Perfect foresight (oracle_lookahead) does not save over myopic steamopt here: no share of its "
                         "saving is reported.")
    value_share = value(summary, "steamopt_lookahead", "share_of_lookahead_value_pct")
    if finite(value_share):
        sentences.append(f"The value of looking ahead on forecasts and surrogates is {num(value_share, 1)} % of its value with "
                         "perfect foresight and the true curves (each against its own myopic policy).")
    if sentences:
        lines += [" ".join(sentences), ""]
    lines += _plan_lines(steps, policies, boilers, others)
    return lines


def _plan_lines(steps: pd.DataFrame, policies: Sequence[str], boilers: Sequence[str], others: Sequence[str]) -> list[str]:
    if "plan_status" not in steps.columns:
        return []
    rows = []
    for p in [p for p in policies if p in LOOKAHEAD]:
        g = steps[steps["policy"] == p]
        made = g["plan_status"].fillna("").astype(str)
        made = made[made != ""]
        if made.empty:
            continue
        ms = pd.to_numeric(g.get("plan_ms"), errors="coerce").dropna()
        counts = ", ".join(f"{k} {v}" for k, v in made.value_counts().items())
        followed, differs = plan_adherence(steps, p, boilers, others)
        rows.append([p, num(len(made)), counts, num(ms.median(), 0) if len(ms) else "n/a",
                     num(ms.quantile(0.95), 0) if len(ms) else "n/a", num(ms.max(), 0) if len(ms) else "n/a",
                     num(followed), num(differs)])
    if not rows:
        return []
    headers = ["policy", "plans", "statuses", "plan p50 (ms)", "plan p95 (ms)", "plan max (ms)", "steps with a plan",
               "steps off the plan's on/off"]
    return [md_table(headers, rows, [False, True, False, True, True, True, True, True]), "",
            "A step is off the plan's on/off when the units the plant ran differ from those the followed schedule has on "
            "in that step's period (the cycle's own rules can overrule the plan: availability, minimum up and down "
            "times, held units).", ""]


def plot_units_on(steps: pd.DataFrame, policies: Sequence[str], boilers: Sequence[str], others: Sequence[str],
                  path: Path) -> None:
    """One panel per policy: a bar per unit where it ran; on a look-ahead policy, the plan's on/off
    (``planned_on``) as a thin line above each bar."""
    units = list(boilers) + list(others)
    n = max(1, len(policies))
    fig, axes = plt.subplots(n, 1, figsize=(11, 0.35 * len(units) * n + 1.2), sharex=True, squeeze=False)
    axes = axes[:, 0]
    fig.suptitle("Units on: realised (bars) and planned (line above, look-ahead policies)", fontsize=11)
    for ax, p in zip(axes, policies):
        g = steps[steps["policy"] == p].sort_values("timestamp")
        ax.set_title(p, loc="left", fontsize=10)
        if g.empty or not units:
            no_data(ax, f"{p}: no steps" if g.empty else "no units")
            continue
        t = pd.to_datetime(g["timestamp"])
        step = t.diff().median() if len(t) > 1 else pd.Timedelta(minutes=15)
        on = realised_on(g, boilers, others)
        planned = g["planned_on"].fillna("").astype(str) if "planned_on" in g.columns else None
        for k, u in enumerate(units):
            y = len(units) - 1 - k
            if u in on.columns:
                ax.broken_barh(_runs(t, on[u].fillna(False).astype(bool).to_numpy(), step), (y - 0.35, 0.5),
                               facecolors="#1f77b4")
            if planned is not None and (planned != "").any():
                has = planned != ""
                flags = np.array([u in s.split(",") for s in planned])
                for a, w in _runs(t[has.to_numpy()], flags[has.to_numpy()], step):
                    ax.plot([a, a + w], [y + 0.3, y + 0.3], color="#ff7f0e", lw=1.6, solid_capstyle="butt")
        ax.set_yticks(range(len(units)))
        ax.set_yticklabels(units[::-1], fontsize=8)
        ax.set_ylim(-0.6, len(units) - 0.3)
        ax.grid(axis="x", alpha=0.3)
        date_axis(ax)
    fig.tight_layout()
    save(fig, path)


def _runs(t: pd.Series, flags: np.ndarray, step: pd.Timedelta) -> list[tuple]:
    """(start, width) of each run of True in ``flags`` at times ``t`` (each step lasting ``step``)."""
    times = list(pd.to_datetime(pd.Series(t)).reset_index(drop=True))
    out, begin = [], None
    for i, f in enumerate(flags):
        if f and begin is None:
            begin = i
        if begin is not None and (not f or i == len(flags) - 1 or times[i + 1] - times[i] > 1.5 * step):
            end = i if f else i - 1
            out.append((times[begin], times[end] - times[begin] + step))
            begin = None
    return out
