"""Study plots (PNG) for :func:`scenarios.report.write_report`.

Policies that lie on top of each other in absolute terms (steamopt and the oracle differ by a few
hundred THB/h on a cost of 400,000 THB/h) are plotted by what separates them: the saving of each
policy against the primary baseline (good_practice when present, else practice), the gap of each
policy to the oracle, and the cumulative saving against every baseline. Time series are shown as
hourly means (thin lines) with daily means (thick segments) over them. Legends sit outside the axes.

Every function writes its PNG even without data (the panel then says why), except
:func:`plot_limits_and_drift`, which writes nothing when there is nothing to show.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from scenarios.report_common import (ORACLE, Thousands, date_axis, no_data, num, placeholder, save, series, split_list,
                                     step_savings, violation_flags)

# Steam sources: distinct hues a reader can tell apart in a stack (not shades of one colour).
# Boilers: red, orange, brown, pink, olive, ...; GT HRSGs: blues and cyan; by-product steam: greens.
BOILER_COLOURS = ["#d62728", "#ff7f0e", "#8c564b", "#e377c2", "#bcbd22", "#ffbb78", "#c49c94", "#f7b6d2"]
GT_COLOURS = ["#1f77b4", "#17becf", "#aec7e8", "#9edae5"]
BYPRODUCT_COLOURS = ["#2ca02c", "#98df8a", "#637939"]
LEGEND_X = 0.835  # figure fraction where the outside legends start


def _hourly(s: pd.Series) -> pd.Series:
    return s.resample("1h").mean() if len(s) else s


def _daily_segments(ax, s: pd.Series, colour, label: str | None, k: int = 0) -> None:
    """Daily means as thick horizontal segments spanning the part of each day with data; the k-th
    policy's segments are thinner, so that equal means stay visible one inside the other."""
    if s.dropna().empty:
        return
    for i, (day, g) in enumerate(s.dropna().groupby(s.dropna().index.floor("1D"))):
        ax.hlines(g.mean(), g.index.min(), max(g.index.max(), g.index.min() + pd.Timedelta("1min")), colors=[colour],
                  linewidth=max(1.5, 5.0 - 1.5 * k), alpha=0.9, label=label if i == 0 else None, zorder=3 + k)


def _side_legend(ax, title: str | None = None) -> None:
    """The axis' legend right of it, outside the data."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8.5, frameon=False, title=title,
                  title_fontsize=8.5, alignment="left")


def _outside_legend(fig, axes, **kwargs) -> None:
    handles, labels = [], []
    for a in axes:
        for h, lab in zip(*a.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(LEGEND_X + 0.005, 0.5), fontsize=9,
                   frameon=False, **kwargs)


def _per_policy_panels(n: int, title: str, height: float = 2.4):
    fig, axes = plt.subplots(n, 1, figsize=(12, 1.3 + height * n), sharex=True, sharey=True, squeeze=False)
    fig.suptitle(title)
    return fig, list(axes[:, 0])


# ----------------------------------------------------------------------------- steam generation

def source_colours(boilers: Sequence[str], gas_turbines: Sequence[str], byproduct_sources: Sequence[str]) -> dict[str, str]:
    """A distinct colour per steam source (see the module's palettes)."""
    out = {}
    for ids, palette in ((boilers, BOILER_COLOURS), (gas_turbines, GT_COLOURS), (byproduct_sources, BYPRODUCT_COLOURS)):
        out.update({u: palette[i % len(palette)] for i, u in enumerate(ids)})
    return out


def plot_steam_generation(steps: pd.DataFrame, policies: Sequence[str], units, path: Path, issues: list[str]) -> None:
    """Stacked steam generation per policy (one panel each): by-product, GT HRSGs, boilers (t/h).
    ``units``: a :class:`scenarios.report.ReportUnits` (ids of boilers, gas turbines, by-product sources)."""
    title = "Steam generation by source"
    if steps.empty or not policies:
        return placeholder(path, title, "no step data")
    sources = ([(s, f"{s}.steam_tph", f"{s} (by-product)") for s in units.byproduct_sources]
               + [(g, f"{g}.hrsg_steam_tph", f"{g} HRSG") for g in units.gas_turbines]
               + [(b, f"{b}.steam_tph", f"{b} boiler") for b in units.boilers])
    palette = source_colours(units.boilers, units.gas_turbines, units.byproduct_sources)
    missing = [tag for _, tag, _ in sources if tag not in steps.columns]
    if missing:
        issues.append(f"steam generation: no column {', '.join(f'`{m}`' for m in missing)}: left out of the stack")
    present = [(u, tag, label) for u, tag, label in sources if tag in steps.columns]
    fig, axes = _per_policy_panels(len(policies), f"{title} (stacked, t/h)", height=2.1)
    for ax, p in zip(axes, policies):
        frame = steps[steps["policy"] == p]
        ax.set_title(p, loc="left", fontsize=10)
        if frame.empty or not present:
            no_data(ax, f"{p}: no steps" if frame.empty else "no steam-generation columns")
            continue
        data = [series(frame, tag) for _, tag, _ in present]
        n_nan = sum(int(d.isna().sum()) for d in data)
        if n_nan:
            issues.append(f"steam generation, {p}: {n_nan} missing values drawn as 0 t/h")
        ax.stackplot(data[0].index, *[d.fillna(0.0).to_numpy() for d in data],
                     labels=[label for _, _, label in present], colors=[palette[u] for u, _, _ in present],
                     linewidth=0.4, edgecolor="white")
        ax.set_ylabel("steam (t/h)")
        ax.yaxis.set_major_formatter(Thousands())
        ax.grid(alpha=0.3)
        date_axis(ax)
    handles, labels = next(((a.get_legend_handles_labels()) for a in axes if a.get_legend_handles_labels()[0]), ([], []))
    if handles:  # top of the stack first, as on the plot
        fig.legend(handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(LEGEND_X + 0.005, 0.5), fontsize=9,
                   frameon=False)
    fig.tight_layout(rect=(0, 0, LEGEND_X, 1))
    save(fig, path)


# ----------------------------------------------------------------------------- relative to a baseline / the oracle

_QUANTITIES = (("site.cost_per_h", "cost", "{currency}/h", 0), ("site.co2e_t_h", "CO₂e", "t/h", 2))


def plot_vs_baseline(steps: pd.DataFrame, policies: Sequence[str], primary: str | None, baselines: Sequence[str],
                     colours: dict[str, str], currency: str, path: Path, issues: list[str]) -> None:
    """Saving of each policy against the primary baseline per hour (baseline - policy; positive = better):
    cost (currency/h) and CO2e (t/h), hourly means with daily means over them. Steps where a policy
    violated a limit count as in the summary: a positive saving there is not credited. The other
    baseline (practice, when the primary is good_practice) is only named with its mean: on the same
    scale its gap of ~10 % would flatten the optimisers' lines."""
    title = f"Saving against {primary} per hour (positive = better than {primary})" if primary else "Saving against a baseline"
    others = [p for p in policies if p not in baselines]
    off_scale = [p for p in baselines if p != primary]
    if steps.empty or primary is None or not others:
        why = ("no step data" if steps.empty else "no baseline policy (practice or good_practice) in the study"
               if primary is None else f"no optimising policy to compare with {primary}")
        return placeholder(path, title, why)
    fig, axes = plt.subplots(2, 1, figsize=(13, 7.5), sharex=True)
    fig.suptitle(title)
    for ax, col, unit, dec in _quantity_panels(axes, "saving", currency):
        if col not in steps.columns:
            issues.append(f"saving vs {primary}: no column `{col}`: panel left empty")
            no_data(ax, f"no `{col}` data")
            continue
        series = {p: step_savings(steps, primary, p, col)["credited"] for p in others}
        if not _hourly_and_daily(ax, series, colours, dec):
            no_data(ax, f"no timestamps shared with {primary}")
            continue
        for b in off_scale:
            d = step_savings(steps, primary, b, col)
            if not d.empty:
                ax.plot([], [], " ", label=f"{b}: {num(d['saving'].mean(), dec)} (not drawn: off this scale)")
        _finish_panel(ax, unit)
    _finish_figure(fig, axes, path)


def _quantity_panels(axes, what: str, currency: str):
    """(axis, column, unit, decimals) per quantity of :data:`_QUANTITIES`, each axis labelled
    "<quantity> <what> (<unit>)"."""
    for ax, (col, name, unit, dec) in zip(axes, _QUANTITIES):
        unit = unit.format(currency=currency)
        ax.set_ylabel(f"{name} {what} ({unit})")
        yield ax, col, unit, dec


def _hourly_and_daily(ax, series: dict[str, pd.Series], colours: dict[str, str], dec: int) -> bool:
    """Each policy's series as thin hourly means with thick daily means over them, and a zero line;
    False when no series has data."""
    ax.axhline(0.0, color="black", linewidth=0.8)
    drawn = False
    for k, (p, s) in enumerate(series.items()):
        if s.empty:
            continue
        drawn = True
        ax.plot(*_xy(_hourly(s)), color=colours[p], linewidth=0.9, alpha=0.6)
        _daily_segments(ax, s, colours[p], f"{p}: {num(s.mean(), dec)}", k)
    return drawn


def _finish_panel(ax, unit: str) -> None:
    _side_legend(ax, f"period mean ({unit})")
    ax.yaxis.set_major_formatter(Thousands())
    ax.grid(alpha=0.3)
    date_axis(ax)


def _finish_figure(fig, axes, path: Path) -> None:
    axes[-1].set_xlabel("time (thin: hourly mean; thick: daily mean)")
    fig.tight_layout()
    save(fig, path)


def _xy(s: pd.Series):
    return s.index, s.to_numpy(dtype=float)


def plot_gap_to_oracle(steps: pd.DataFrame, policies: Sequence[str], baselines: Sequence[str], colours: dict[str, str],
                       currency: str, path: Path, issues: list[str]) -> None:
    """How far each optimising policy is from the oracle per hour (policy - oracle; positive = the
    oracle is better): cost (currency/h) and CO2e (t/h). The baselines are left out: their gap is the
    saving plotted elsewhere, and on this scale it would hide the optimisers' gap."""
    title = "Gap to the oracle per hour (policy - oracle; positive = the oracle does better)"
    others = [p for p in policies if p != ORACLE and p not in baselines]
    if steps.empty or ORACLE not in policies or not others:
        why = ("no step data" if steps.empty else "no oracle policy in the study: no gap to show" if ORACLE not in policies
               else "no optimising policy besides the oracle: no gap to show")
        return placeholder(path, title, why)
    fig, axes = plt.subplots(2, 1, figsize=(13, 7.5), sharex=True)
    fig.suptitle(title)
    for ax, col, unit, dec in _quantity_panels(axes, "gap", currency):
        if col not in steps.columns:
            no_data(ax, f"no `{col}` data")
            continue
        series = {p: step_savings(steps, p, ORACLE, col)["saving"] for p in others}  # p - oracle
        if not _hourly_and_daily(ax, series, colours, dec):
            no_data(ax, "no timestamps shared with the oracle")
            continue
        _finish_panel(ax, unit)
    _finish_figure(fig, axes, path)


# ----------------------------------------------------------------------------- cumulative savings

def cumulative_savings(steps: pd.DataFrame, baseline: str, policies: Sequence[str], column: str, step_hours: float,
                       issues: list[str], what: str) -> dict[str, pd.Series]:
    """Per policy other than ``baseline``: cumulative credited saving (baseline - policy) x step_hours
    on the common timestamps (a positive saving at a violation step counts 0; missing values 0)."""
    if steps.empty or column not in steps.columns:
        return {}
    out = {}
    for p in policies:
        if p == baseline:
            continue
        d = step_savings(steps, baseline, p, column)
        if d.empty:
            issues.append(f"cumulative {what} saving vs {baseline}, {p}: no timestamps in common with {baseline}")
            continue
        n = int((steps["policy"] == p).sum())
        if n - len(d):
            issues.append(f"cumulative {what} saving vs {baseline}, {p}: {n - len(d)} steps without a {baseline} step "
                          "at the same time left out")
        if int(d["credited"].isna().sum()):
            issues.append(f"cumulative {what} saving vs {baseline}, {p}: {int(d['credited'].isna().sum())} steps with "
                          f"missing `{column}` count as 0")
        out[p] = d["credited"].fillna(0.0).cumsum() * step_hours
    return out


def plot_cumulative_savings(curves: dict[str, dict[str, dict[str, pd.Series]]], baselines: Sequence[str],
                            colours: dict[str, str], currency: str, path: Path) -> None:
    """One column per baseline, rows cost (currency) and CO2e (t): each policy's cumulative saving.
    ``curves[baseline][quantity][policy]`` with quantity ``cost`` or ``co2e``."""
    title = "Cumulative saving (positive = better than the baseline)"
    if not baselines:
        return placeholder(path, title, "no baseline policy (practice or good_practice) in the study: no saving to plot")
    n = len(baselines)
    fig, axes = plt.subplots(2, n, figsize=(6.5 * n + 2.5, 7), sharex=True, squeeze=False)
    fig.suptitle(title)
    for j, b in enumerate(baselines):
        for i, (q, ylabel, dec, unit) in enumerate((("cost", f"cost saving ({currency})", 0, currency),
                                                     ("co2e", "CO₂e saving (t)", 1, "t"))):
            ax = axes[i, j]
            ax.set_ylabel(ylabel)
            if i == 0:
                ax.set_title(f"against {b}", fontsize=11)
            data = curves.get(b, {}).get(q, {})
            if not data:
                no_data(ax, f"no {q} data against {b}")
                continue
            ax.axhline(0.0, color="black", linewidth=0.8)
            for p, s in data.items():  # the period total in the legend: end-of-line labels collide when close
                label = f"{p}: {num(s.iloc[-1], dec)} {unit}"
                if p in baselines and s.iloc[-1] < 0:  # practice against good_practice: would flatten the others
                    ax.plot([], [], " ", label=f"{label} (not drawn: off this scale)")
                    continue
                ax.plot(s.index, s.to_numpy(), label=label, color=colours[p], linewidth=1.6,
                        linestyle="--" if p == ORACLE else "-")  # dashed: visible where it lies on steamopt
            ax.yaxis.set_major_formatter(Thousands())
            ax.grid(alpha=0.3)
            date_axis(ax)
            ax.legend(loc="upper left", fontsize=8.5, title="total over the period", title_fontsize=8.5,
                      bbox_to_anchor=(0.0, 1.0), framealpha=0.9)
            lo, hi = ax.get_ylim()  # headroom above the lines for the legend (cumulative savings grow upwards)
            ax.set_ylim(lo, hi + 0.35 * (hi - lo) * len(data) / 2)
    fig.tight_layout()
    save(fig, path)


# ----------------------------------------------------------------------------- vents and step times

def plot_vents(steps: pd.DataFrame, policies: Sequence[str], units, step_hours: float, path: Path, issues: list[str]) -> None:
    """Header vents (t/h), one panel per policy, with the period's vented total in each title."""
    title = "Header vents"
    if steps.empty or not policies:
        return placeholder(path, title, "no step data")
    tags = [(v, f"{v}.steam_tph") for v in units.vents]
    missing = [t for _, t in tags if t not in steps.columns]
    if missing:
        issues.append(f"vents: no column {', '.join(f'`{m}`' for m in missing)}")
    present = [(v, t) for v, t in tags if t in steps.columns]
    if not present and "site.vent_tph" in steps.columns:
        present = [("all vents", "site.vent_tph")]
    vent_colours = dict(zip([v for v, _ in present], plt.get_cmap("tab10")(np.arange(len(present)) % 10)))
    fig, axes = _per_policy_panels(len(policies), f"{title} (t/h)", height=1.7)
    for ax, p in zip(axes, policies):
        frame = steps[steps["policy"] == p]
        if frame.empty or not present:
            ax.set_title(p, loc="left", fontsize=10)
            no_data(ax, f"{p}: no steps" if frame.empty else "no vent columns")
            continue
        total = 0.0
        for v, t in present:
            s = series(frame, t)
            total += float(np.nansum(s.to_numpy())) * step_hours
            ax.plot(s.index, s.to_numpy(), label=v, color=vent_colours[v], linewidth=1.2)
        ax.set_title(f"{p}: {num(total, 1)} t vented over the period", loc="left", fontsize=10)
        ax.set_ylabel("vent (t/h)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        date_axis(ax)
    _outside_legend(fig, axes)
    fig.tight_layout(rect=(0, 0, LEGEND_X, 1))
    save(fig, path)


def plot_solve_time(steps: pd.DataFrame, policies: Sequence[str], baselines: Sequence[str], colours: dict[str, str],
                    path: Path, issues: list[str]) -> None:
    """Histogram of the supervisory step wall time (ms, log scale) of each policy that solves."""
    title = "Supervisory step wall time"
    others = [p for p in policies if p not in baselines]
    if steps.empty or "step_ms" not in steps.columns or not others:
        if not steps.empty and "step_ms" not in steps.columns:
            issues.append("solve time: no column `step_ms`")
        return placeholder(path, title, "no step-time data")
    data = {}
    for p in others:
        v = pd.to_numeric(steps.loc[steps["policy"] == p, "step_ms"], errors="coerce").to_numpy(dtype=float)
        bad = int((~np.isfinite(v) | (v <= 0)).sum())
        if bad:
            issues.append(f"solve time, {p}: {bad} steps without a positive `step_ms` left out of the histogram")
        v = v[np.isfinite(v) & (v > 0)]
        if len(v):
            data[p] = v
    if not data:
        return placeholder(path, title, "no positive, finite step_ms values")
    lo = min(v.min() for v in data.values())
    hi = max(v.max() for v in data.values())
    if hi <= lo * 1.01:
        lo, hi = lo / 1.5, hi * 1.5
    bins = np.geomspace(lo, hi, 41)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for p, v in data.items():
        p50, p95 = np.percentile(v, [50, 95])
        ax.hist(v, bins=bins, color=colours[p], alpha=0.45,
                label=f"{p}: n={len(v)}, p50 {num(p50, 1)} ms, p95 {num(p95, 1)} ms, max {num(v.max(), 1)} ms")
        ax.axvline(p95, color=colours[p], linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("step wall time (ms, log scale); dashed: p95")
    ax.set_ylabel("steps")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=9)
    fig.tight_layout()
    save(fig, path)


# ----------------------------------------------------------------------------- limit violations and drift flags

def limits_and_drift_events(steps: pd.DataFrame) -> dict[str, pd.DatetimeIndex]:
    """Rows of the events plot: ``"<policy>: limit violated"`` and ``"drift: <surrogate>"`` (over all
    policies with models) -> timestamps; only rows with at least one event."""
    rows: dict[str, pd.DatetimeIndex] = {}
    if steps.empty:
        return rows
    for p, frame in steps.groupby("policy", sort=False):
        flags = violation_flags(frame)
        if flags is not None and flags.any():
            rows[f"{p}: limit violated"] = pd.DatetimeIndex(flags.index[flags.to_numpy()])
    if "drift_flagged" in steps.columns:
        by_name: dict[str, set] = {}
        for p, frame in steps.groupby("policy", sort=False):
            for t, v in zip(frame["timestamp"], frame["drift_flagged"]):
                for name in split_list(v, ","):
                    by_name.setdefault(f"drift ({p}): {name}", set()).add(t)
        rows.update({k: pd.DatetimeIndex(sorted(v)) for k, v in sorted(by_name.items())})
    return rows


def plot_limits_and_drift(steps: pd.DataFrame, policies: Sequence[str], step_hours: float, path: Path) -> bool:
    """Steps where the true plant ended outside a limit and steps where the drift monitor flagged a
    surrogate, one row each, over time; the outside-training-range steps shaded. Writes ``path`` and
    returns True only when there is an event to show; otherwise removes a stale ``path`` and returns False."""
    events = limits_and_drift_events(steps)
    if not events:
        Path(path).unlink(missing_ok=True)
        return False
    names = list(events)
    fig, ax = plt.subplots(figsize=(12, 1.6 + 0.45 * len(names)))
    width = pd.Timedelta(hours=step_hours)
    counts = Counter({k: len(v) for k, v in events.items()})
    for i, name in enumerate(names):
        ts = events[name]
        colour = "#d62728" if "limit" in name else "#ff7f0e"
        ax.broken_barh([(t, width) for t in ts], (i - 0.35, 0.7), facecolors=colour)
    if "outside_training_range" in steps.columns:
        out = steps.drop_duplicates("timestamp").set_index("timestamp")["outside_training_range"]
        out = out.map(lambda x: bool(x) if isinstance(x, (bool, np.bool_)) or pd.notna(x) else False)
        if out.any():
            ax.broken_barh([(t, width) for t in out.index[out.to_numpy(dtype=bool)]], (-0.5, len(names)),
                           facecolors="#cccccc", alpha=0.5, zorder=0, label="ambient outside the training range")
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), fontsize=9, frameon=False)
    ax.set_yticks(range(len(names)), [f"{n} ({counts[n]} steps)" for n in names])
    ax.set_ylim(-0.6, len(names) - 0.4)
    ax.invert_yaxis()
    t0, t1 = steps["timestamp"].min(), steps["timestamp"].max() + width
    ax.set_xlim(t0, t1)
    date_axis(ax)
    ax.grid(alpha=0.3, axis="x")
    ax.set_title("Limit violations on the true plant and drift-monitor flags (one bar per step)")
    fig.tight_layout()
    save(fig, path)
    return True
