"""Scenario-study report: a Markdown summary with plots (PNG) of policies run against the plant.

``write_report`` takes the study runner's two tables:

* ``steps``: one row per (policy, timestamp) with ``status``, ``step_ms``, the simulator's realised tags
  (``site.cost_per_h``, ``site.co2e_t_h``, ``B1.steam_tph``, ``GT1.hrsg_steam_tph``, ``TLE.steam_tph``,
  ``V_MP.steam_tph`` ...) and, when the study gives them, ``violation`` / ``violations`` (the true plant
  outside a limit), ``drift_flagged`` (surrogates flagged by the drift monitor, comma-joined) and
  ``outside_training_range``;
* ``summary``: one row per policy (index = policy) with period totals and, for each baseline b
  (``practice``, ``good_practice``), ``cost_saving_vs_{b}``, ``..._pct``, ``co2e_saving_vs_{b}_t``,
  ``..._pct``, ``uncredited_saving_vs_{b}``, ``share_of_oracle_saving_vs_{b}_pct``,
  ``predicted_saving_vs_{b}``, ``realised_saving_vs_{b}``, ``predicted_vs_realised_vs_{b}_pct``, and
  ``violation_steps``, ``drift_flagged_steps``, ``outside_training_range_steps``;

and writes into ``out_dir`` the plots of :data:`IMAGES` (plus ``limits_and_drift.png`` when there is a
violation or a drift flag to show) and ``report.md``: title, notes, summary tables (one per baseline),
findings, plots with captions, data notes.

Savings are baseline - policy (positive = better than the baseline). Missing columns and NaN never stop
a report: the affected part is left out or derived from the totals, the panel says so, and the Markdown
lists each such gap under "Data notes". Every PNG of :data:`IMAGES` is always written, so the links in
the Markdown always resolve.

The sweep report lives in :mod:`scenarios.sweep_report`; its public names are re-exported here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scenarios import report_lookahead as lookahead
from scenarios import report_plots as plots
from scenarios.report_common import (GOOD_PRACTICE, ORACLE, PRACTICE, auto_decimals, baselines_of, colours, finite, is_carbon_price,
                                     md_table, num, policy_order, prepare_steps, prepare_summary, primary_baseline)
from scenarios.report_findings import findings, findings_sections, value
from scenarios.sweep_report import marginal_abatement_costs, write_sweep_report
from surrogate.atomic import atomic_write_text

__all__ = ["GOOD_PRACTICE", "IMAGES", "ORACLE", "PRACTICE", "ReportUnits", "findings", "is_carbon_price",
           "marginal_abatement_costs", "summary_table_markdown", "write_report", "write_sweep_report"]

IMAGES = {
    "vs_baseline": "saving_vs_baseline.png",
    "gap_to_oracle": "gap_to_oracle.png",
    "cumulative_savings": "cumulative_savings.png",
    "steam_generation": "steam_generation.png",
    "vents": "vents.png",
    "solve_time": "solve_time.png",
}
LIMITS_AND_DRIFT = "limits_and_drift.png"  # written only when there is something to show


@dataclass
class ReportUnits:
    """Which units' tags to plot: ids as in the site file (``B1``, ``GT1``, ``TLE``, ``V_MP`` ...).

    Tags read: boiler ``{id}.steam_tph``, gas turbine ``{id}.hrsg_steam_tph``, by-product source
    ``{id}.steam_tph``, vent ``{id}.steam_tph``.
    """

    boilers: list[str] = field(default_factory=list)
    gas_turbines: list[str] = field(default_factory=list)
    byproduct_sources: list[str] = field(default_factory=list)
    vents: list[str] = field(default_factory=list)
    generator_turbines: list[str] = field(default_factory=list)  # started and stopped like boilers and GTs


# ----------------------------------------------------------------------------- summary tables

def _summary_columns(currency: str, baselines: Sequence[str]) -> dict[str, tuple[str, str | None, str | int]]:
    """Known summary columns -> (header label, unit, decimals or 'pct'), in table order."""
    cols: dict[str, tuple[str, str | None, str | int]] = {
        "cost": ("cost", currency, 0),
        "fuel_cost": ("fuel cost", currency, 0),
        "electricity_cost": ("electricity cost", currency, 0),
        "carbon_cost": ("carbon cost", currency, 0),
        "penalty_cost": ("penalties", currency, 0),
        "co2e_t": ("CO2e", "t", 1),
        "co2e_scope1_t": ("CO2e scope 1", "t", 1),
        "co2e_scope2_t": ("CO2e scope 2", "t", 1),
        "fuel_gj": ("fuel", "GJ", 0),
        "steam_generated_t": ("steam generated", "t", 0),
        "vented_t": ("vented", "t", 1),
        "shortfall_t": ("steam shortfall", "t", 1),
        "import_mwh": ("import", "MWh", 1),
        "export_mwh": ("export", "MWh", 1),
        "starts": ("starts", None, 0),
        "stops": ("stops", None, 0),
        "start_stop_cost": ("start/stop cost", currency, 0),
        "cost_incl_starts": ("cost incl. starts", currency, 0),
        "lookahead_saving": ("look-ahead saving", currency, 0),
        "lookahead_saving_pct": ("look-ahead saving", "%", "pct"),
        "lookahead_co2e_saving_t": ("look-ahead CO2e saving", "t", 1),
        "share_of_perfect_foresight_saving_pct": ("share of the perfect-foresight saving", "%", "pct"),
        "share_of_lookahead_value_pct": ("share of look-ahead's value", "%", "pct"),
    }
    for b in baselines:
        cols.update({
            f"cost_saving_vs_{b}": ("cost saving", currency, 0),
            f"cost_saving_vs_{b}_pct": ("cost saving", "%", "pct"),
            f"co2e_saving_vs_{b}_t": ("CO2e saving", "t", 1),
            f"co2e_saving_vs_{b}_pct": ("CO2e saving", "%", "pct"),
            f"share_of_oracle_saving_vs_{b}_pct": ("share of the oracle's saving", "%", "pct"),
            f"predicted_saving_vs_{b}": ("predicted saving", currency, 0),
            f"realised_saving_vs_{b}": ("realised saving", currency, 0),
            f"predicted_vs_realised_vs_{b}_pct": ("predicted vs realised", "%", "pct"),
            f"uncredited_saving_vs_{b}": ("not credited (limit violated)", currency, 0),
        })
    cols.update({
        "violation_steps": ("steps outside a limit", None, 0),
        "drift_flagged_steps": ("steps with a drift flag", None, 0),
        "outside_training_range_steps": ("steps outside the training range", None, 0),
        "steps": ("steps", None, 0),
        "errors": ("errors", None, 0),
        "step_ms_p50": ("step p50", "ms", 1),
        "step_ms_p95": ("step p95", "ms", 1),
        "step_ms_max": ("step max", "ms", 1),
    })
    return cols


def _summary_groups_spec(baselines: Sequence[str]) -> list[tuple[str, str, str]]:
    """(heading, first column, last column) over the order of :func:`_summary_columns`."""
    groups = [("Period totals", "cost", "export_mwh"),
              ("Starts and stops (cost incl. starts; look-ahead against the myopic policy)", "starts", "share_of_lookahead_value_pct")]
    groups += [(f"Savings vs {b}", f"cost_saving_vs_{b}", f"uncredited_saving_vs_{b}") for b in baselines]
    groups += [("Limits, drift and training range", "violation_steps", "outside_training_range_steps"),
               ("Supervisory steps", "steps", "step_ms_max")]
    return groups


_PER_FUEL = re.compile(r"^fuel_(.+)_gj$")
_SAVING_VS = re.compile(r"^cost_saving_vs_(.+?)$")
_SUFFIX_UNITS = (("_pct", "%"), ("_mwh", "MWh"), ("_gj", "GJ"), ("_ms", "ms"), ("_t", "t"), ("_mw", "MW"))


def _guess_label(column: str, currency: str) -> tuple[str, str | None]:
    if m := _PER_FUEL.match(column):  # fuel_natural_gas_gj -> "natural gas (GJ)", next to "fuel (GJ)"
        return m.group(1).replace("_", " "), "GJ"
    for suffix, unit in _SUFFIX_UNITS:
        if column.endswith(suffix):
            return column.removesuffix(suffix).replace("_", " "), unit
    if "cost" in column or "saving" in column:
        return column.replace("_", " "), currency
    return column.replace("_", " "), None


def table_baselines(summary: pd.DataFrame, policies: Sequence[str]) -> list[str]:
    """Baselines with a savings table: those among the policies, and any named by a
    ``cost_saving_vs_{b}`` column; practice and good_practice first."""
    found = list(baselines_of(policies))
    for c in summary.columns:
        m = _SAVING_VS.match(str(c))
        if m and not str(c).endswith("_pct") and m.group(1) not in found:
            found.append(m.group(1))
    return found


def _summary_groups(columns: list[str], currency: str, baselines: Sequence[str]) -> list[tuple[str, list[str]]]:
    """The summary's columns in tables: totals (per-fuel columns after ``fuel_gj``), savings per
    baseline, limits and drift, steps, and any other columns last."""
    order = list(_summary_columns(currency, baselines))
    per_fuel = [c for c in columns if _PER_FUEL.match(c) and c not in order]
    groups = []
    for heading, first, last in _summary_groups_spec(baselines):
        cols = []
        for c in order[order.index(first):order.index(last) + 1]:
            if c in columns:
                cols.append(c)
            if c == "fuel_gj":  # the per-fuel columns go where the total fuel goes, present or not
                cols += per_fuel
        groups.append((heading, cols))
    placed = {c for _, cols in groups for c in cols}
    groups.append(("Other", [c for c in columns if c not in placed]))
    return [(h, cols) for h, cols in groups if cols]


def summary_table_markdown(summary: pd.DataFrame, policies: list[str], currency: str = "THB",
                           baselines: Sequence[str] | None = None) -> str:
    """The summary as Markdown tables (period totals, savings vs each baseline, limits and drift,
    supervisory steps, other): one row per policy, units in the column headers, thousands separators.
    A policy with no value in a table (a baseline among its own savings) is left out of that table."""
    summary = prepare_summary(summary)
    if summary.empty or len(summary.columns) == 0:
        return "_No summary table._"
    baselines = list(baselines) if baselines is not None else table_baselines(summary, policies)
    known = _summary_columns(currency, baselines)
    ordered = [p for p in policies if p in summary.index] + [p for p in summary.index if p not in policies]
    parts = []
    for heading, cols in _summary_groups([str(c) for c in summary.columns], currency, baselines):
        headers, numeric, fmts = ["policy"], [False], []
        for c in cols:
            values = pd.to_numeric(summary[c], errors="coerce")
            is_num = bool(values.notna().any()) or pd.api.types.is_numeric_dtype(summary[c])
            if c in known:
                label, unit, fmt = known[c]
            else:
                label, unit = _guess_label(c, currency)
                fmt = "pct" if unit == "%" else auto_decimals(values)
            headers.append(f"{label} ({unit})" if unit else label)
            numeric.append(is_num)
            fmts.append((c, fmt if is_num else None))
        pct_dec = {c: 1 if (pd.to_numeric(summary[c], errors="coerce").abs() >= 10).any() else 2
                   for c, fmt in fmts if fmt == "pct"}  # one decimal count per column
        rows = []
        for p in ordered:
            if heading.startswith("Savings vs ") and p == heading.removeprefix("Savings vs "):
                continue  # no savings of a baseline against itself
            row, any_value = [p], False
            for c, fmt in fmts:
                v = summary.at[p, c]
                if fmt is None:
                    text = "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                else:
                    v = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
                    text = num(v, pct_dec[c]) if fmt == "pct" else num(v, int(fmt))
                any_value |= text != "n/a"
                row.append(text)
            if any_value:
                rows.append(row)
        if rows:
            parts += [f"**{heading}**", "", md_table(headers, rows, numeric), ""]
    return "\n".join(parts).rstrip("\n") or "_No summary table._"


def _derive_savings(sm: pd.DataFrame, baselines: Sequence[str], issues: list[str]) -> pd.DataFrame:
    """Savings against a baseline that the summary lacks, from its totals (noted as a data gap: such
    savings do not leave out the steps where a limit was violated)."""
    sm = sm.copy()
    for b in baselines:
        if b not in sm.index:
            continue
        others = [p for p in sm.index if p != b]
        derived = []
        for col, pct_col, total in ((f"cost_saving_vs_{b}", f"cost_saving_vs_{b}_pct", "cost"),
                                    (f"co2e_saving_vs_{b}_t", f"co2e_saving_vs_{b}_pct", "co2e_t")):
            if col in sm.columns or total not in sm.columns or not others:
                continue
            totals = pd.to_numeric(sm[total], errors="coerce")
            base = totals.loc[b]
            if not finite(base):
                continue
            sm[col] = (base - totals).where(sm.index != b)
            sm[pct_col] = (sm[col] / abs(base) * 100.0) if base else math.nan
            derived.append(f"`{col}`")
        share = f"share_of_oracle_saving_vs_{b}_pct"
        if share not in sm.columns and f"cost_saving_vs_{b}" in sm.columns and ORACLE in sm.index:
            s_oracle = value(sm, ORACLE, f"cost_saving_vs_{b}")
            if finite(s_oracle) and s_oracle > 0:
                sm[share] = (100.0 * pd.to_numeric(sm[f"cost_saving_vs_{b}"], errors="coerce") / s_oracle).where(
                    ~sm.index.isin([b, ORACLE]))
                derived.append(f"`{share}`")
        if derived:
            issues.append(f"the summary has no {', '.join(derived)}: derived from the period totals "
                          "(steps outside a limit are not left out of such savings)")
    return sm


# ----------------------------------------------------------------------------- write_report

def _captions(primary: str | None, baselines: Sequence[str], currency: str) -> dict[str, str]:
    vs = " and ".join(baselines) or "a baseline"
    return {
        "vs_baseline": f"Cost ({currency}/h) and CO2e (t/h) saving of each policy against {primary or 'a baseline'}, "
                       "hourly means (thin) and daily means (thick); positive = better than the baseline",
        "gap_to_oracle": f"Gap of each optimising policy to the oracle: cost ({currency}/h) and CO2e (t/h), policy minus "
                         "oracle, hourly and daily means",
        "cumulative_savings": f"Cumulative cost ({currency}) and CO2e (t) saving against {vs}; steps outside a limit "
                              "are not credited",
        "steam_generation": "Steam generation by source (t/h, stacked: by-product steam, GT HRSGs, boilers), one panel per policy",
        "vents": "Header vents (t/h), one panel per policy",
        "solve_time": "Supervisory step wall time (ms, log scale)",
        "limits_and_drift": "Steps where the true plant ended outside a limit, and drift-monitor flags, over time",
    }


def write_report(steps: pd.DataFrame, summary: pd.DataFrame, out_dir: Path, *, title: str, step_hours: float,
                 units: ReportUnits, currency: str = "THB", notes: Sequence[str] = (),
                 sections: Sequence[tuple[str, list[str]]] = ()) -> Path:
    """Write the PNG plots and ``report.md`` into ``out_dir``; return the Markdown path.

    ``step_hours`` (h) is the length of one step. Savings are ``baseline - policy`` (positive = better
    than the baseline) against each baseline present (practice, good_practice); the plots compare
    with the primary baseline (good_practice when present, else practice). Cumulative savings over
    time are summed on the timestamps both policies have, each step weighing ``step_hours``; a
    positive saving at a step where the policy's true plant violated a limit counts 0. Gaps in the
    data are listed under "Data notes" in the report. ``sections``: further (heading, Markdown
    lines) placed after the summary (e.g. what a study's hydrogen bought, scenarios/hydrogen_value.py).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    issues: list[str] = []
    st = prepare_steps(steps, issues)
    sm = prepare_summary(summary)
    policies = policy_order(st, sm)
    baselines = baselines_of(policies, st)
    primary = primary_baseline(baselines)
    if not baselines and len(policies) > 1:
        issues.append("no baseline policy (practice or good_practice): no savings are plotted")
    elif GOOD_PRACTICE not in baselines and len(policies) > 1:
        issues.append("no good_practice policy: savings are against practice only (a strawman that vents and "
                      "runs every boiler), so they overstate what a competent operator would gain")
    sm = _derive_savings(sm, baselines, issues)
    palette = colours(policies)

    plots.plot_vs_baseline(st, policies, primary, baselines, palette, currency, out_dir / IMAGES["vs_baseline"], issues)
    plots.plot_gap_to_oracle(st, policies, baselines, palette, currency, out_dir / IMAGES["gap_to_oracle"], issues)
    curves = {b: {"cost": plots.cumulative_savings(st, b, policies, "site.cost_per_h", step_hours, issues, "cost"),
                  "co2e": plots.cumulative_savings(st, b, policies, "site.co2e_t_h", step_hours, issues, "CO2e")}
              for b in baselines}
    plots.plot_cumulative_savings(curves, baselines, palette, currency, out_dir / IMAGES["cumulative_savings"])
    plots.plot_steam_generation(st, policies, units, out_dir / IMAGES["steam_generation"], issues)
    plots.plot_vents(st, policies, units, step_hours, out_dir / IMAGES["vents"], issues)
    plots.plot_solve_time(st, policies, baselines, palette, out_dir / IMAGES["solve_time"], issues)
    has_events = plots.plot_limits_and_drift(st, policies, step_hours, out_dir / LIMITS_AND_DRIFT)
    switched = (list(units.boilers), list(units.gas_turbines) + list(units.generator_turbines))
    with_lookahead = any(p in lookahead.LOOKAHEAD for p in policies)
    if with_lookahead:
        lookahead.plot_units_on(st, policies, *switched, out_dir / lookahead.UNITS_ON)

    # the time series and the summary should tell the same story
    for b in baselines:
        for p, s in curves[b]["cost"].items():
            ref = value(sm, p, f"cost_saving_vs_{b}")
            if finite(ref) and len(s) and abs(s.iloc[-1] - ref) > max(1.0, 0.01 * abs(ref)):
                issues.append(f"{p}: the cost saving vs {b} summed from the steps ({num(s.iloc[-1])} {currency}) differs "
                              f"from the summary's ({num(ref)} {currency})")

    lines = [f"# {title}", ""]
    if not st.empty:
        t0, t1 = st["timestamp"].min(), st["timestamp"].max()
        n = st.groupby("policy").size().max()
        lines += [f"Period {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M}: {n} steps of {num(step_hours * 60, 0)} min "
                  f"({num(n * step_hours, 1)} h) per policy; policies: {', '.join(policies)}; costs in {currency}.", ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    lines += ["## Summary", "", summary_table_markdown(sm, policies, currency, table_baselines(sm, policies)), "",
              f"Savings are relative to each baseline ({', '.join(baselines) or 'none present'}; positive = lower cost "
              "or CO2e). A positive saving at a step where the true plant ended outside a limit is not credited.", ""]
    for heading, body in sections:
        lines += [f"## {heading}", ""] + list(body)
    if with_lookahead:
        lines += ["## Look-ahead", ""] + lookahead.lookahead_markdown(sm, st, policies, currency, *switched)
        lines += [f"![Units on, realised and planned]({lookahead.UNITS_ON})", ""]
    lines += ["## Findings", ""]
    sections = findings_sections(sm, st, currency=currency, policies=policies, baselines=baselines or None,
                                 step_hours=step_hours)
    for heading, sentences in sections:
        lines += [f"**{heading}.** " + " ".join(sentences), ""]
    if not sections:
        lines += ["_No figures to compare._", ""]
    captions = _captions(primary, baselines, currency)
    lines += ["## Plots", ""]
    for key, name in IMAGES.items():
        lines += [f"### {captions[key]}", "", f"![{captions[key]}]({name})", ""]
    if has_events:
        lines += [f"### {captions['limits_and_drift']}", "", f"![{captions['limits_and_drift']}]({LIMITS_AND_DRIFT})", ""]
    else:
        lines += ["No step ended outside a limit on the true plant and the drift monitor flagged nothing"
                  + ("" if {"violation", "violations", "drift_flagged"} & set(st.columns)
                     else " (the steps table has no violation or drift columns)") + ": no plot of them.", ""]
    if issues:
        lines += ["## Data notes", ""] + [f"- {i}" for i in issues] + [""]
    path = out_dir / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path
