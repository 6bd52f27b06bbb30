"""The findings of a study report: sentences generated from the numbers of the summary and the steps.

Against each baseline (practice, good_practice): each policy's cost and CO2e saving, steamopt's share
of the oracle's saving, predicted vs realised saving, the saving not credited because the true plant
ended outside a limit. Then, honestly: where the primary baseline is cheaper than steamopt (steps,
hours, days, tariff periods), which limits the true plant violated and when, which surrogates the
drift monitor flagged, and the steps whose ambient lay outside the surrogates' training range.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pandas as pd

from scenarios.report_common import (ORACLE, PRACTICE, baselines_of, capitalise, finite, num, pct, policy_order,
                                     prepare_summary, primary_baseline, split_list, step_savings, violation_flags, who)

TARIFF_COLUMN = "site.import_price_per_mwh"  # currency/MWh: distinct values = tariff periods
MAX_TARIFF_PERIODS = 6
MAX_NAMED = 4  # kinds of violations / flagged surrogates named per policy


def value(summary: pd.DataFrame, policy: str, column: str) -> float:
    """A number of the summary, NaN when the policy, the column or the number is missing."""
    if policy in summary.index and column in summary.columns:
        v = pd.to_numeric(pd.Series([summary.at[policy, column]]), errors="coerce").iloc[0]
        return float(v) if finite(v) else math.nan
    return math.nan


def saving(summary: pd.DataFrame, baseline: str | None, policy: str, saving_col: str, pct_col: str,
           total_col: str) -> tuple[float, float]:
    """(saving, saving in % of the baseline total): from the summary's columns, else from the totals."""
    s, p = value(summary, policy, saving_col), value(summary, policy, pct_col)
    base_total = value(summary, baseline, total_col) if baseline else math.nan
    if not finite(s) and baseline:
        s = base_total - value(summary, policy, total_col)
    if not finite(p) and finite(s) and finite(base_total) and base_total != 0:
        p = s / abs(base_total) * 100.0
    return s, p


def _infer_step_hours(steps: pd.DataFrame) -> float:
    if steps.empty or "timestamp" not in steps.columns:
        return math.nan
    d = steps.drop_duplicates("timestamp")["timestamp"].sort_values().diff().dropna()
    return d.median().total_seconds() / 3600.0 if len(d) else math.nan


def _saving_sentences(summary, b, others, currency) -> tuple[list[str], dict[str, float]]:
    out, costs = [], {}
    for p in others:
        cost, cost_pct = saving(summary, b, p, f"cost_saving_vs_{b}", f"cost_saving_vs_{b}_pct", "cost")
        co2, co2_pct = saving(summary, b, p, f"co2e_saving_vs_{b}_t", f"co2e_saving_vs_{b}_pct", "co2e_t")
        costs[p] = cost
        parts = []
        if finite(cost):
            parts.append(f"saves {num(cost)} {currency} ({pct(cost_pct)} %)" if cost >= 0
                         else f"costs {num(-cost)} {currency} more ({pct(-cost_pct)} %)")
        if finite(co2):
            if co2 >= 0:  # "saves X THB (..) and Y t CO2e (..)": one verb for two savings
                saves = "" if parts and parts[0].startswith("saves") else "saves "
                parts.append(f"{saves}{num(co2, 1)} t CO2e ({pct(co2_pct)} %)")
            else:
                parts.append(f"emits {num(-co2, 1)} t CO2e more ({pct(-co2_pct)} %)")
        if parts:
            out.append(capitalise(f"{who(p)} {' and '.join(parts)} over the period compared with {b}."))
        else:
            out.append(capitalise(f"{who(p)}: no cost or CO2e figures to compare with {b}."))
    return out, costs


def _share_sentences(summary, b, others, costs, baselines) -> list[str]:
    """Each policy's share of the oracle's saving against ``b``; not for a baseline doing worse than
    ``b`` (practice against good_practice: a negative share of a strawman says nothing)."""
    out = []
    if ORACLE not in costs or not finite(costs[ORACLE]):
        return out
    for p in others:
        if p == ORACLE or not finite(costs.get(p)) or (p in baselines and costs[p] < 0):
            continue
        share = value(summary, p, f"share_of_oracle_saving_vs_{b}_pct")
        if costs[ORACLE] > 0:
            share = share if finite(share) else costs[p] / costs[ORACLE] * 100
            out.append(f"{capitalise(p)} captures {pct(share)} % of the oracle's cost saving against {b}.")
        else:
            out.append(f"The oracle saves nothing against {b}, so {p}'s share of it is not defined.")
    return out


def _predicted_sentences(summary, b, others, currency) -> list[str]:
    out = []
    for p in others:
        pred, real = value(summary, p, f"predicted_saving_vs_{b}"), value(summary, p, f"realised_saving_vs_{b}")
        if not (finite(pred) and finite(real)):
            continue
        if real != 0:
            diff = (pred - real) / abs(real) * 100
            where = "above" if diff >= 0 else "below"
            out.append(f"{capitalise(who(p))}'s predicted saving against {b} ({num(pred)} {currency}) is {pct(abs(diff))} % "
                       f"{where} its realised saving ({num(real)} {currency}).")
        else:
            out.append(f"{capitalise(who(p))}'s predicted saving against {b} is {num(pred)} {currency}; the realised saving is 0.")
    return out


def _uncredited_sentences(summary, b, others, currency) -> list[str]:
    parts = [f"{who(p)} {num(value(summary, p, f'uncredited_saving_vs_{b}'))} {currency}" for p in others
             if finite(value(summary, p, f"uncredited_saving_vs_{b}")) and value(summary, p, f"uncredited_saving_vs_{b}") > 0]
    if not parts:
        return []
    return [f"Saving against {b} at steps where the true plant ended outside a limit is not credited: "
            + ", ".join(parts) + "."]


def where_baseline_is_cheaper(steps: pd.DataFrame, baseline: str, policy: str, step_hours: float, currency: str) -> list[str]:
    """Sentences on where ``baseline`` costs less than ``policy``: steps and hours, the extra cost at
    those steps, the days and the tariff periods (distinct import prices) over which it is cheaper."""
    d = step_savings(steps, baseline, policy, "site.cost_per_h")
    if d.empty:
        return []
    s = d["saving"].dropna()  # baseline - policy, currency/h: negative = the baseline is cheaper
    worse = s[s < 0]
    if worse.empty:
        return [f"{capitalise(baseline)} is cheaper than {who(policy)} at none of the {len(s)} steps."]
    out = [f"{capitalise(baseline)} is cheaper than {who(policy)} at {len(worse)} of {len(s)} steps "
           f"({num(len(worse) * step_hours, 1)} h, {pct(100 * len(worse) / len(s))} % of the time), by "
           f"{num(-worse.sum() * step_hours)} {currency} in total at those steps."]
    daily = (s * step_hours).groupby(s.index.floor("1D")).sum()
    lost = daily[daily < 0]
    if len(daily) > 1 or len(lost):
        days = ", ".join(f"{t:%Y-%m-%d} by {num(-v)} {currency}" for t, v in lost.items())
        out.append(f"Over whole days {baseline} is cheaper on {len(lost)} of {len(daily)} days" + (f" ({days})." if days else "."))
    if TARIFF_COLUMN in steps.columns:
        price = steps[steps["policy"] == baseline].set_index("timestamp")[TARIFF_COLUMN]
        price = pd.to_numeric(price, errors="coerce").reindex(s.index).round(2)
        levels = price.dropna().unique()
        if 1 < len(levels) <= MAX_TARIFF_PERIODS:
            by_level = (s * step_hours).groupby(price).sum()
            parts = [f"at an import price of {num(lv, 0)} {currency}/MWh {who(policy)} "
                     + (f"saves {num(v)} {currency}" if v >= 0 else f"costs {num(-v)} {currency} more")
                     for lv, v in by_level.sort_index().items()]
            out.append(f"By tariff period against {baseline}: " + "; ".join(parts) + ".")
    return out


def _violation_sentences(steps: pd.DataFrame, policies: Sequence[str], summary: pd.DataFrame, step_hours: float) -> list[str]:
    has_steps = "violation" in steps.columns or "violations" in steps.columns
    if not has_steps and "violation_steps" not in summary.columns:
        return []
    parts = []
    for p in policies:
        frame = steps[steps["policy"] == p]
        flags = violation_flags(frame) if has_steps else None
        n = int(flags.sum()) if flags is not None else value(summary, p, "violation_steps")
        if not finite(n) or n == 0:
            continue
        text = f"{who(p)} at {int(n)} steps"
        if flags is not None and flags.any():
            times = flags.index[flags.to_numpy()]
            text += f" ({pd.Timestamp(times.min()):%Y-%m-%d %H:%M} to {pd.Timestamp(times.max()):%Y-%m-%d %H:%M})"
        if "violations" in frame.columns:
            kinds = Counter(k for v in frame["violations"] for k in split_list(v, ";"))
            if kinds:
                named = [f"{k} ({c} steps)" if c > 1 else k for k, c in kinds.most_common(MAX_NAMED)]
                more = len(kinds) - len(named)
                text += ": " + "; ".join(named) + (f"; and {more} other kinds" if more > 0 else "")
        parts.append(text)
    if not parts:
        return ["The true plant stayed within every limit under every policy."]
    return ["The true plant ended outside a limit under " + "; under ".join(parts) + "."]


def _drift_sentences(steps: pd.DataFrame, policies: Sequence[str], summary: pd.DataFrame) -> list[str]:
    if "drift_flagged" not in steps.columns and "drift_flagged_steps" not in summary.columns:
        return []
    out = []
    for p in policies:
        frame = steps[steps["policy"] == p]
        names: Counter = Counter()
        first: dict[str, pd.Timestamp] = {}
        n_steps = 0
        if "drift_flagged" in frame.columns:
            for t, v in zip(frame["timestamp"], frame["drift_flagged"]):
                flagged = split_list(v, ",")
                n_steps += bool(flagged)
                for name in flagged:
                    names[name] += 1
                    first.setdefault(name, t)
        elif finite(value(summary, p, "drift_flagged_steps")):
            n_steps = int(value(summary, p, "drift_flagged_steps"))
        if n_steps == 0:
            continue
        named = [f"{k} at {c} steps (first {first[k]:%Y-%m-%d %H:%M})" if k in first else f"{k} at {c} steps"
                 for k, c in names.most_common(MAX_NAMED)]
        more = len(names) - len(named)
        out.append(f"The drift monitor flagged {p}'s surrogates at {n_steps} steps"
                   + (": " + "; ".join(named) + (f"; and {more} more surrogates" if more > 0 else "") if named else "") + ".")
    if not out and ("drift_flagged" in steps.columns and steps["drift_flagged"].notna().any()
                    or "drift_flagged_steps" in summary.columns):
        out.append("The drift monitor flagged no surrogate during the period.")
    return out


def _training_range_sentences(steps: pd.DataFrame, summary: pd.DataFrame, step_hours: float) -> list[str]:
    if "outside_training_range" in steps.columns:
        per_t = steps.drop_duplicates("timestamp").set_index("timestamp")["outside_training_range"]
        flags = per_t.map(lambda x: bool(x) if isinstance(x, (bool, np.bool_)) or finite(x) else False).astype(bool)
        n, total = int(flags.sum()), len(flags)
        if n == 0:
            return [f"The ambient stayed inside the surrogates' training range at all {total} steps."]
        times = flags.index[flags.to_numpy()]
        return [f"The ambient lay outside the surrogates' training range at {n} of {total} steps "
                f"({num(n * step_hours, 1)} h; first {pd.Timestamp(times.min()):%Y-%m-%d %H:%M}, "
                f"last {pd.Timestamp(times.max()):%Y-%m-%d %H:%M})."]
    if "outside_training_range_steps" in summary.columns:
        n = pd.to_numeric(summary["outside_training_range_steps"], errors="coerce").max()
        if finite(n):
            return [f"The ambient lay outside the surrogates' training range at {int(n)} steps." if n
                    else "The ambient stayed inside the surrogates' training range at every step."]
    return []


def _run_sentences(summary, steps, others) -> list[str]:
    out = []
    if "status" in steps.columns:
        parts = []
        for p in others:
            counts = steps.loc[steps["policy"] == p, "status"].astype(str).value_counts()
            if len(counts):
                parts.append(f"{p}: " + ", ".join(f"{n} {s}" for s, n in counts.items()))
        if parts:
            out.append("Supervisory step outcomes: " + "; ".join(parts) + ".")
    times = []
    for p in others:
        p50, p95, mx = (value(summary, p, c) for c in ("step_ms_p50", "step_ms_p95", "step_ms_max"))
        if not finite(p95) and "step_ms" in steps.columns:
            v = pd.to_numeric(steps.loc[steps["policy"] == p, "step_ms"], errors="coerce").dropna().to_numpy(dtype=float)
            if len(v):
                p50, p95, mx = float(np.percentile(v, 50)), float(np.percentile(v, 95)), float(v.max())
        if finite(p95):
            times.append(f"{p} p50 {num(p50, 1)} ms, p95 {num(p95, 1)} ms, max {num(mx, 1)} ms")
    if times:
        out.append("Step wall time: " + "; ".join(times) + ".")
    return out


def findings_sections(summary: pd.DataFrame, steps: pd.DataFrame | None = None, *, currency: str = "THB",
                      baseline: str | None = None, policies: list[str] | None = None,
                      baselines: Sequence[str] | None = None, step_hours: float | None = None) -> list[tuple[str, list[str]]]:
    """The findings as (heading, sentences) sections generated from the numbers: one per baseline (the
    primary first), where the primary baseline does better than steamopt, limits/drift/training range,
    and the runs. ``baselines``: by default practice and good_practice, those present (``baseline``
    alone gives just that one). ``step_hours`` (h) weighs steps into hours and currency; inferred from
    the timestamps if not given."""
    summary = prepare_summary(summary)
    steps = steps if steps is not None and "policy" in getattr(steps, "columns", []) else pd.DataFrame(columns=["policy"])
    policies = policies or policy_order(steps, summary)
    if baselines is None:
        baselines = [baseline] if baseline else baselines_of(policies, steps) or [PRACTICE]
    baselines = list(baselines)
    hours = step_hours if step_hours and finite(step_hours) else _infer_step_hours(steps)
    primary = primary_baseline(baselines)
    optimisers = [p for p in policies if p not in baselines]
    sections: list[tuple[str, list[str]]] = []
    for b in [primary] + [b for b in baselines if b != primary]:  # the primary (most honest) baseline first
        others = [p for p in policies if p != b]
        sentences, costs = _saving_sentences(summary, b, others, currency)
        sentences += _share_sentences(summary, b, others, costs, baselines)
        sentences += _predicted_sentences(summary, b, others, currency)
        sentences += _uncredited_sentences(summary, b, others, currency)
        sections.append((f"Against {b}", sentences))
    better: list[str] = []
    if primary and finite(hours) and "timestamp" in steps.columns and primary in set(steps["policy"]):
        for p in optimisers:
            if p != ORACLE and p in set(steps["policy"]):
                better += where_baseline_is_cheaper(steps, primary, p, hours, currency)
    sections.append((f"Where {primary} does better", better))
    sections.append(("Limits, drift and training range", _violation_sentences(steps, policies, summary, hours)
                     + _drift_sentences(steps, optimisers, summary) + _training_range_sentences(steps, summary, hours)))
    runs = _run_sentences(summary, steps, optimisers)
    vented = [(p, value(summary, p, "vented_t")) for p in policies]
    if any(finite(v) for _, v in vented):
        runs.append("Steam vented: " + ", ".join(f"{p} {num(v, 1)} t" for p, v in vented if finite(v)) + ".")
    sections.append(("Runs", runs))
    return [(h, s) for h, s in sections if s]


def findings(summary: pd.DataFrame, steps: pd.DataFrame | None = None, **kwargs) -> list[str]:
    """All sentences of :func:`findings_sections` (same arguments), in order."""
    return [s for _, sentences in findings_sections(summary, steps, **kwargs) for s in sentences]
