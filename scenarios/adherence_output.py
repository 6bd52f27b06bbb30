"""The adherence report's outputs (:mod:`scenarios.adherence`): the Markdown summary, the
proposed-against-captured saving plot, and the tables written as CSV and Parquet, every file
written atomically.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from scenarios.historian_replay import ReplayResult
from surrogate.atomic import atomic_output, atomic_write_text

if TYPE_CHECKING:
    from scenarios.adherence import AdherenceReport


def summary_markdown(report: AdherenceReport, replay: ReplayResult | None = None, title: str = "Historian replay and adherence") -> str:
    """A Markdown summary: the replay's totals, adherence, the per-unit and per-constraint tables."""
    cur = report.currency
    tt = report.totals
    lines = [f"# {title}", ""]
    if replay is not None:
        r = replay.totals
        lines += [f"{int(r['rows'])} historian rows of {60 * replay.step_hours:g} min ({r['hours']:.1f} h); "
                  + ", ".join(f"{k.removeprefix('status_')} {int(v)}" for k, v in r.items() if k.startswith("status_")) + ".", "",
                  "| replay (following every proposal, as predicted) | value |", "| --- | --- |",
                  f"| current operation, model cost | {r['current_cost']:,.0f} {cur} |",
                  f"| predicted saving | {r['predicted_saving']:,.0f} {cur} ({r['predicted_saving_pct']:.2f} %) |",
                  f"| predicted CO2e saving | {r['predicted_co2e_saving_t']:,.2f} t |",
                  f"| predicted fuel saving | {r['predicted_fuel_saving_gj']:,.1f} GJ |", ""]
        if replay.warnings:
            lines += ["Historian warnings:", ""] + [f"* {w}" for w in replay.warnings] + [""]
    if tt.get("steps_assessed", 0) == 0:
        return "\n".join(lines + ["No step could be compared with a next row.", ""])
    lines += ["| adherence | value |", "| --- | --- |",
              f"| steps compared with the next row | {int(tt['steps_assessed'])} ({int(tt.get('steps_with_advice', 0))} with advice) |",
              f"| setpoint moves advised / followed | {int(tt['setpoint_moves_advised'])} / {int(tt['setpoint_moves_followed'])} ({_pct(tt['setpoints_followed_pct'])}) |",
              f"| unit moves followed | {_pct(tt['unit_moves_followed_pct'])} of {int(tt['unit_moves_advised'])} |",
              f"| proposed saving (steps compared) | {tt['proposed_saving']:,.0f} {cur} |",
              f"| captured | {tt['captured_saving']:,.0f} {cur} ({_pct(tt['captured_pct'])}) |",
              f"| gap (not captured) | {tt['gap']:,.0f} {cur} |",
              f"| CO2e predicted / captured | {tt['predicted_co2e_saving_t']:,.2f} / {tt['captured_co2e_t']:,.2f} t |", ""]
    lines += ["## Per unit", "", _md(report.units.reset_index(), {"followed_pct": "{:.0f}", "mean_progress": "{:.2f}", "proposed_saving": "{:,.0f}",
                                                                   "captured_saving": "{:,.0f}", "gap": "{:,.0f}", "gap_share_pct": "{:.1f}"}), ""]
    if not report.constraints.empty:
        top = report.constraints.head(12).reset_index()
        lines += ["## Binding limits", "", "Worth: what one more unit of the limit would have saved over the period (duals; "
                  "marginal values, not a split of the gap).", "",
                  _md(top[["limit", "what", "unit", "steps_binding", "mean_worth_per_unit_per_h", "worth_per_unit", "gap_when_binding"]],
                      {"mean_worth_per_unit_per_h": "{:,.1f}", "worth_per_unit": "{:,.0f}", "gap_when_binding": "{:,.0f}"}), ""]
    r = report.rules
    lines += ["## Method", "", f"Followed: within the deadband of the proposal or at least {100 * r.min_progress:.0f} % of the proposed move made "
              f"by the next row (deadbands: steam {100 * r.steam_deadband_fraction:g} % of the unit's maximum, at least {r.steam_deadband_tph:g} t/h; "
              f"power {100 * r.power_deadband_fraction:g} %, at least {r.power_deadband_mw:g} MW; fuel shares {r.share_deadband:g}). "
              "Each step's proposed saving is split over the units by what holding each one costs the optimum (the supervisor "
              "re-solved with the unit held), and each unit's part is captured in proportion to the share of its proposed move made. "
              "Per-unit captured and gap add up to the proposed saving. See scenarios/adherence.py.", ""]
    return "\n".join(lines)


def _pct(v: float) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.1f} %"


def _md(df: pd.DataFrame, formats: dict[str, str]) -> str:
    if df.empty:
        return "(none)"
    head = "| " + " | ".join(str(c) for c in df.columns) + " |"
    sep = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            if isinstance(v, float) and not math.isfinite(v):
                cells.append("-")
            elif c in formats and isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
                cells.append(formats[c].format(v))
            else:
                cells.append(str(v))
        body.append("| " + " | ".join(cells) + " |")
    return "\n".join([head, sep, *body])


def plot_adherence(report: AdherenceReport, path: str | Path) -> Path:
    """Predicted (proposed) vs captured saving per step, and both cumulated, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    s = report.steps
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    if len(s):
        ax1.plot(s.index, s["proposed_saving_per_h"], label="proposed (predicted)", color="tab:blue")
        ax1.plot(s.index, s["captured_saving_per_h"], label="captured", color="tab:green")
        ax1.fill_between(s.index, s["captured_saving_per_h"], s["proposed_saving_per_h"], color="tab:red", alpha=0.2, label="gap")
        ax2.plot(s.index, s["proposed_saving_per_h"].cumsum() * report.step_hours, color="tab:blue", label="proposed")
        ax2.plot(s.index, s["captured_saving_per_h"].cumsum() * report.step_hours, color="tab:green", label="captured")
    ax1.set_ylabel(f"saving, {report.currency}/h")
    ax1.legend(loc="upper right")
    ax1.set_title("Predicted vs captured saving")
    ax2.set_ylabel(f"cumulative, {report.currency}")
    ax2.legend(loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=110)
    finally:
        plt.close(fig)
    return path


def write_adherence(report: AdherenceReport, out_dir: str | Path, replay: ReplayResult | None = None) -> dict[str, Path]:
    """Write the tables (CSV and Parquet), ``summary.md`` and ``adherence.png``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    for name, df, index in (("adherence_steps", report.steps, True), ("adherence_setpoints", report.setpoints, False),
                            ("adherence_units", report.units, True), ("adherence_constraints", report.constraints, True)):
        paths[f"{name}_csv"] = out / f"{name}.csv"
        with atomic_output(paths[f"{name}_csv"]) as tmp:
            df.to_csv(tmp, index=index)
        paths[f"{name}_parquet"] = out / f"{name}.parquet"
        with atomic_output(paths[f"{name}_parquet"]) as tmp:
            _parquet_safe(df).to_parquet(tmp, index=index)
    paths["summary"] = out / "summary.md"
    atomic_write_text(paths["summary"], summary_markdown(report, replay))
    paths["plot"] = plot_adherence(report, out / "adherence.png")
    return paths


def _parquet_safe(df: pd.DataFrame) -> pd.DataFrame:
    """Object columns mixing bools and NaN as floats (Parquet needs one type per column)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and c not in ("unit", "tag", "kind", "what", "limit", "status"):
            out[c] = pd.to_numeric(out[c].map(lambda v: float(v) if isinstance(v, (bool, np.bool_, int, float)) else np.nan), errors="coerce")
    return out
