"""Scenario-study report: plots (PNG) and a Markdown summary of policies run against the plant.

``write_report`` takes the study runner's two tables:

* ``steps``: one row per (policy, timestamp) with ``status``, ``step_ms``, ``predicted_saving_per_h`` and
  the simulator's realised tags (``site.cost_per_h``, ``site.co2e_t_h``, ``B1.steam_tph``,
  ``GT1.hrsg_steam_tph``, ``TLE.steam_tph``, ``V_MP.steam_tph`` ...);
* ``summary``: one row per policy (index = policy) with period totals and savings vs practice;

and writes into ``out_dir``: ``steam_generation.png``, ``co2e_cost.png``, ``cumulative_savings.png``,
``vents.png``, ``solve_time.png`` and ``report.md`` (title, notes, summary table, findings, images).

``write_sweep_report`` takes one row per sweep variant (``parameter_value``, ``policy``, ``cost``,
``co2e_t`` ...) and writes ``tradeoff.png`` and, for a carbon-price sweep, the marginal abatement cost
between consecutive points (``mac.png``) and ``sweep.md``.

Missing columns and NaN never stop a report: the affected plot part is left out, the panel says so, and
the Markdown lists each such gap under "Data notes". Every PNG is always written, so the links in the
Markdown always resolve.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # non-interactive: reports are written on servers and in tests

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import Formatter, FuncFormatter, LogLocator, NullFormatter  # noqa: E402

from surrogate.atomic import atomic_output, atomic_write_text  # noqa: E402

PRACTICE = "practice"
ORACLE = "oracle"
DPI = 110

_POLICY_COLOURS = {PRACTICE: "#7f7f7f", "steamopt": "#1f77b4", ORACLE: "#2ca02c"}
_SPARE_COLOURS = ["#d62728", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

IMAGES = {
    "steam_generation": "steam_generation.png",
    "co2e_cost": "co2e_cost.png",
    "cumulative_savings": "cumulative_savings.png",
    "vents": "vents.png",
    "solve_time": "solve_time.png",
}


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


# ----------------------------------------------------------------------------- formatting helpers

def _finite(x) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _num(x, decimals: int = 0) -> str:
    """``1234567.8 -> '1,234,568'``; NaN/None -> 'n/a'; never prints '-0'."""
    if not _finite(x):
        return "n/a"
    s = f"{float(x):,.{decimals}f}"
    return s[1:] if s.startswith("-") and float(s[1:].replace(",", "")) == 0 else s


def _pct(x) -> str:
    """A percentage with sensible decimals: two below 10 %, one above."""
    if not _finite(x):
        return "n/a"
    return _num(x, 2 if abs(float(x)) < 10 else 1)


def _auto_decimals(values: Iterable) -> int:
    finite = [abs(float(v)) for v in values if _finite(v)]
    if not finite:
        return 0
    m = max(finite)
    if all(float(v).is_integer() for v in finite):
        return 0
    return 0 if m >= 1000 else 1 if m >= 10 else 2 if m >= 0.1 else 4


class _Thousands(Formatter):
    """Tick labels with thousands separators and as many decimals as the tick spacing needs."""

    def __call__(self, x, pos=None):
        return _num(x, 0)

    def format_ticks(self, values):
        steps = np.diff(np.sort(np.asarray(values, dtype=float)))
        steps = steps[steps > 0]
        d = 0 if not len(steps) or steps.min() >= 1 else min(6, int(math.ceil(-math.log10(steps.min()) - 1e-9)))
        return [_num(v, d) for v in values]


def _thousands() -> Formatter:
    return _Thousands()


def _md_escape(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> str:
    lines = ["| " + " | ".join(_md_escape(h) for h in headers) + " |",
             "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(_md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _capitalise(s: str) -> str:
    return s[:1].upper() + s[1:]


def _who(policy: str) -> str:
    return "the oracle" if policy == ORACLE else policy


# ----------------------------------------------------------------------------- input preparation

def _prepare_steps(steps: pd.DataFrame | None, issues: list[str]) -> pd.DataFrame:
    """A sorted copy with ``policy`` (str) and ``timestamp`` (datetime) columns; empty if unusable."""
    if steps is None or len(steps) == 0:
        issues.append("the steps table is empty: no time-series plots")
        return pd.DataFrame(columns=["policy", "timestamp"])
    s = steps.copy()
    in_index = [n for n in ("policy", "timestamp") if n in s.index.names and n not in s.columns]
    if in_index:  # e.g. a (policy, timestamp) MultiIndex
        s = s.reset_index(level=in_index)
    if "timestamp" not in s.columns:
        if isinstance(s.index, pd.DatetimeIndex):
            s = s.reset_index(names="timestamp")
        else:
            issues.append("the steps table has no `timestamp` column: no time-series plots")
            return pd.DataFrame(columns=["policy", "timestamp"])
    if "policy" not in s.columns:
        issues.append("the steps table has no `policy` column: all rows taken as one policy 'policy'")
        s["policy"] = "policy"
    s["policy"] = s["policy"].astype(str)
    s["timestamp"] = pd.to_datetime(s["timestamp"], errors="coerce")
    bad = int(s["timestamp"].isna().sum())
    if bad:
        issues.append(f"{bad} step rows without a valid timestamp were dropped")
        s = s[s["timestamp"].notna()]
    dup = int(s.duplicated(["policy", "timestamp"]).sum())
    if dup:
        issues.append(f"{dup} duplicate (policy, timestamp) step rows: the first of each is used")
        s = s.drop_duplicates(["policy", "timestamp"], keep="first")
    return s.sort_values(["policy", "timestamp"]).reset_index(drop=True)


def _prepare_summary(summary: pd.DataFrame | None) -> pd.DataFrame:
    if summary is None:
        return pd.DataFrame()
    s = summary.copy()
    if "policy" in s.columns and isinstance(s.index, pd.RangeIndex):  # policy as a column, not the index
        s = s.set_index("policy")
    s.index = s.index.map(str)
    return s


def _policy_order(steps: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    seen: list[str] = []
    for p in list(summary.index) + list(steps["policy"].unique() if "policy" in steps else []):
        if p not in seen:
            seen.append(p)
    return sorted(seen, key=lambda p: p != PRACTICE)  # stable: practice first, others as given


def _baseline(policies: list[str], steps: pd.DataFrame) -> str | None:
    if PRACTICE in policies:
        return PRACTICE
    if "status" in steps.columns:
        for p in policies:
            st = steps.loc[steps["policy"] == p, "status"].astype(str)
            if len(st) and (st == PRACTICE).all():
                return p
    return None


def _colours(policies: list[str]) -> dict[str, str]:
    spare = iter(_SPARE_COLOURS * 4)
    return {p: _POLICY_COLOURS.get(p) or next(spare) for p in policies}


def _series(frame: pd.DataFrame, column: str) -> pd.Series:
    """``column`` as floats indexed by timestamp (NaN where missing or not numeric)."""
    return pd.Series(pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float), index=frame["timestamp"].to_numpy())


# ----------------------------------------------------------------------------- plot helpers

def _date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _no_data(ax, text: str, clear_x: bool = False) -> None:
    """Say why a panel is empty. The x ticks are kept unless asked: they may be shared with other panels."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=9, color="#555555", wrap=True)
    ax.set_yticks([])
    if clear_x:
        ax.set_xticks([])


def _save(fig, path: Path) -> None:
    """Write the figure as ``path`` (a temporary file renamed when complete) and close it."""
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=DPI)
    finally:
        plt.close(fig)


def _placeholder(path: Path, title: str, text: str) -> None:
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.set_title(title)
    _no_data(ax, text, clear_x=True)
    _save(fig, path)


def _per_policy_panels(n: int, title: str, height: float = 2.4):
    fig, axes = plt.subplots(n, 1, figsize=(11, 1.2 + height * n), sharex=True, sharey=True, squeeze=False)
    fig.suptitle(title)
    return fig, list(axes[:, 0])


# ----------------------------------------------------------------------------- the five plots

def _plot_steam_generation(steps, policies, units: ReportUnits, path: Path, issues: list[str]) -> None:
    title = "Steam generation by source"
    if steps.empty or not policies:
        return _placeholder(path, title, "no step data")
    # bottom to top: by-product steam (not dispatchable), GT HRSGs, boilers
    sources = ([(s, f"{s}.steam_tph", f"{s} (by-product)") for s in units.byproduct_sources]
               + [(g, f"{g}.hrsg_steam_tph", f"{g} HRSG") for g in units.gas_turbines]
               + [(b, f"{b}.steam_tph", f"{b} boiler") for b in units.boilers])
    palette = {}
    for ids, cmap in ((units.byproduct_sources, "Greens"), (units.gas_turbines, "Blues"), (units.boilers, "Oranges")):
        shades = plt.get_cmap(cmap)(np.linspace(0.45, 0.8, max(len(ids), 1)))
        palette.update({u: shades[i] for i, u in enumerate(ids)})
    missing = [tag for _, tag, _ in sources if tag not in steps.columns]
    if missing:
        issues.append(f"steam generation: no column {', '.join(f'`{m}`' for m in missing)}: left out of the stack")
    present = [(u, tag, label) for u, tag, label in sources if tag in steps.columns]
    fig, axes = _per_policy_panels(len(policies), f"{title} (stacked, t/h)")
    for ax, p in zip(axes, policies):
        frame = steps[steps["policy"] == p]
        ax.set_title(p, loc="left", fontsize=10)
        if frame.empty or not present:
            _no_data(ax, f"{p}: no steps" if frame.empty else "no steam-generation columns")
            continue
        data = [_series(frame, tag) for _, tag, _ in present]
        n_nan = sum(int(d.isna().sum()) for d in data)
        if n_nan:
            issues.append(f"steam generation, {p}: {n_nan} missing values drawn as 0 t/h")
        ax.stackplot(data[0].index, *[d.fillna(0.0).to_numpy() for d in data],
                     labels=[label for _, _, label in present], colors=[palette[u] for u, _, _ in present],
                     linewidth=0.3, edgecolor="white")
        ax.set_ylabel("steam (t/h)")
        ax.yaxis.set_major_formatter(_thousands())
        ax.grid(alpha=0.3)
        _date_axis(ax)
    handles, labels = next(((a.get_legend_handles_labels()) for a in axes if a.get_legend_handles_labels()[0]), ([], []))
    if handles:  # top of the stack first, as on the plot
        fig.legend(handles[::-1], labels[::-1], loc="center left", bbox_to_anchor=(0.855, 0.5), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.85, 1))
    _save(fig, path)


def _plot_co2e_cost(steps, policies, colours, currency: str, path: Path, issues: list[str]) -> None:
    fig, axes = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    fig.suptitle("CO₂e and cost over time")
    panels = ((axes[0], "site.co2e_t_h", "CO₂e (t/h)", 1), (axes[1], "site.cost_per_h", f"cost ({currency}/h)", 0))
    for ax, col, ylabel, dec in panels:
        ax.set_ylabel(ylabel)
        if steps.empty or col not in steps.columns:
            if not steps.empty:
                issues.append(f"CO2e/cost plot: no column `{col}`: panel left empty")
            _no_data(ax, f"no `{col}` data")
            continue
        for p in policies:
            frame = steps[steps["policy"] == p]
            if not frame.empty:
                s = _series(frame, col)
                ax.plot(s.index, s.to_numpy(), label=p, color=colours[p], linewidth=1.1 if p == PRACTICE else 1.3)
        ax.yaxis.set_major_formatter(_thousands())
        ax.grid(alpha=0.3)
        _date_axis(ax)
    for ax in axes:
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper right", fontsize=9, ncols=len(policies))
            break
    fig.tight_layout()
    _save(fig, path)


def _cumulative_savings(steps, baseline: str | None, policies, column: str, step_hours: float, issues: list[str],
                        what: str) -> dict[str, pd.Series]:
    """Per non-baseline policy: cumulative (baseline - policy) * step_hours on the common timestamps."""
    if steps.empty or baseline is None or column not in steps.columns:
        return {}
    base = _series(steps[steps["policy"] == baseline], column)
    out = {}
    for p in policies:
        if p == baseline:
            continue
        other = _series(steps[steps["policy"] == p], column)
        common = base.index.intersection(other.index)
        if len(common) == 0:
            issues.append(f"cumulative {what} saving, {p}: no timestamps in common with {baseline}")
            continue
        unmatched = len(other) - len(common)
        if unmatched:
            issues.append(f"cumulative {what} saving, {p}: {unmatched} steps without a {baseline} step at the same time left out")
        diff = (base.loc[common] - other.loc[common]).sort_index()
        if int(diff.isna().sum()):
            issues.append(f"cumulative {what} saving, {p}: {int(diff.isna().sum())} steps with missing `{column}` count as 0")
        out[p] = diff.fillna(0.0).cumsum() * step_hours
    return out


def _plot_cumulative_savings(cum_cost, cum_co2e, colours, baseline, currency, path: Path) -> None:
    fig, axes = plt.subplots(2, 1, figsize=(11, 6.5), sharex=True)
    fig.suptitle(f"Cumulative saving vs {baseline or 'practice'} (positive = better than {baseline or 'practice'})")
    panels = ((axes[0], cum_cost, f"cost saving ({currency})", 0, currency), (axes[1], cum_co2e, "CO₂e saving (t)", 1, "t"))
    for ax, curves, ylabel, dec, unit in panels:
        ax.set_ylabel(ylabel)
        if not curves:
            _no_data(ax, "no baseline policy or no data for this quantity")
            continue
        ax.axhline(0.0, color="black", linewidth=0.8)
        for p, s in curves.items():  # the period total in the legend: end-of-line labels collide when close
            ax.plot(s.index, s.to_numpy(), label=f"{p}: {_num(s.iloc[-1], dec)} {unit} over the period",
                    color=colours[p], linewidth=1.5)
        ax.yaxis.set_major_formatter(_thousands())
        ax.grid(alpha=0.3)
        _date_axis(ax)
        ax.legend(loc="upper left", fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def _plot_vents(steps, policies, units: ReportUnits, step_hours: float, path: Path, issues: list[str]) -> None:
    title = "Header vents"
    if steps.empty or not policies:
        return _placeholder(path, title, "no step data")
    tags = [(v, f"{v}.steam_tph") for v in units.vents]
    missing = [t for _, t in tags if t not in steps.columns]
    if missing:
        issues.append(f"vents: no column {', '.join(f'`{m}`' for m in missing)}")
    present = [(v, t) for v, t in tags if t in steps.columns]
    if not present and "site.vent_tph" in steps.columns:
        present = [("all vents", "site.vent_tph")]
    vent_colours = dict(zip([v for v, _ in present], plt.get_cmap("tab10")(np.arange(len(present)) % 10)))
    fig, axes = _per_policy_panels(len(policies), f"{title} (t/h)", height=1.9)
    for ax, p in zip(axes, policies):
        frame = steps[steps["policy"] == p]
        if frame.empty or not present:
            ax.set_title(p, loc="left", fontsize=10)
            _no_data(ax, f"{p}: no steps" if frame.empty else "no vent columns")
            continue
        total = 0.0
        for v, t in present:
            s = _series(frame, t)
            total += float(np.nansum(s.to_numpy())) * step_hours
            ax.plot(s.index, s.to_numpy(), label=v, color=vent_colours[v], linewidth=1.2)
        ax.set_title(f"{p}: {_num(total, 1)} t vented over the period", loc="left", fontsize=10)
        ax.set_ylabel("vent (t/h)")
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        _date_axis(ax)
    handles, labels = next(((a.get_legend_handles_labels()) for a in axes if a.get_legend_handles_labels()[0]), ([], []))
    if handles:
        fig.legend(handles, labels, loc="center left", bbox_to_anchor=(0.875, 0.5), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0, 0.87, 1))
    _save(fig, path)


def _plot_solve_time(steps, policies, baseline, colours, path: Path, issues: list[str]) -> None:
    title = "Supervisory step wall time"
    others = [p for p in policies if p != baseline]
    if steps.empty or "step_ms" not in steps.columns or not others:
        if not steps.empty and "step_ms" not in steps.columns:
            issues.append("solve time: no column `step_ms`")
        return _placeholder(path, title, "no step-time data")
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
        return _placeholder(path, title, "no positive, finite step_ms values")
    lo = min(v.min() for v in data.values())
    hi = max(v.max() for v in data.values())
    if hi <= lo * 1.01:
        lo, hi = lo / 1.5, hi * 1.5
    bins = np.geomspace(lo, hi, 41)
    fig, ax = plt.subplots(figsize=(10, 4.5))
    for p, v in data.items():
        p50, p95 = np.percentile(v, [50, 95])
        ax.hist(v, bins=bins, color=colours[p], alpha=0.45,
                label=f"{p}: n={len(v)}, p50 {_num(p50, 1)} ms, p95 {_num(p95, 1)} ms, max {_num(v.max(), 1)} ms")
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
    _save(fig, path)


# ----------------------------------------------------------------------------- Markdown: summary table

def _summary_columns(currency: str) -> dict[str, tuple[str, str | None, str | int]]:
    """Known summary columns -> (header label, unit, decimals or 'pct'), in table order."""
    return {
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
        "cost_saving_vs_practice": ("cost saving", currency, 0),
        "cost_saving_vs_practice_pct": ("cost saving", "%", "pct"),
        "co2e_saving_vs_practice_t": ("CO2e saving", "t", 1),
        "co2e_saving_vs_practice_pct": ("CO2e saving", "%", "pct"),
        "share_of_oracle_saving_pct": ("share of the oracle's saving", "%", "pct"),
        "predicted_saving": ("predicted saving", currency, 0),
        "realised_saving": ("realised saving", currency, 0),
        "predicted_vs_realised_pct": ("predicted vs realised", "%", "pct"),
        "steps": ("steps", None, 0),
        "errors": ("errors", None, 0),
        "step_ms_p50": ("step p50", "ms", 1),
        "step_ms_p95": ("step p95", "ms", 1),
        "step_ms_max": ("step max", "ms", 1),
    }


_SUMMARY_GROUPS = (  # (heading, first column, last column) over the order of _summary_columns
    ("Period totals", "cost", "export_mwh"),
    ("Savings vs practice", "cost_saving_vs_practice", "predicted_vs_realised_pct"),
    ("Supervisory steps", "steps", "step_ms_max"),
)
_PER_FUEL = re.compile(r"^fuel_(.+)_gj$")
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


def _summary_groups(columns: list[str], currency: str) -> list[tuple[str, list[str]]]:
    """The summary's columns in tables: totals (with the per-fuel columns after ``fuel_gj``), savings,
    steps, and any other columns last."""
    order = list(_summary_columns(currency))
    per_fuel = [c for c in columns if _PER_FUEL.match(c) and c not in order]
    groups = []
    for heading, first, last in _SUMMARY_GROUPS:
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


def summary_table_markdown(summary: pd.DataFrame, policies: list[str], currency: str = "THB") -> str:
    """The summary as Markdown tables (period totals, savings vs practice, supervisory steps, other):
    one row per policy, units in the column headers, thousands separators. A policy with no value in a
    table (practice among the savings) is left out of that table."""
    summary = _prepare_summary(summary)
    if summary.empty or len(summary.columns) == 0:
        return "_No summary table._"
    known = _summary_columns(currency)
    ordered = [p for p in policies if p in summary.index] + [p for p in summary.index if p not in policies]
    parts = []
    for heading, cols in _summary_groups([str(c) for c in summary.columns], currency):
        headers, numeric, fmts = ["policy"], [False], []
        for c in cols:
            values = pd.to_numeric(summary[c], errors="coerce")
            is_num = bool(values.notna().any()) or pd.api.types.is_numeric_dtype(summary[c])
            if c in known:
                label, unit, fmt = known[c]
            else:
                label, unit = _guess_label(c, currency)
                fmt = "pct" if unit == "%" else _auto_decimals(values)
            headers.append(f"{label} ({unit})" if unit else label)
            numeric.append(is_num)
            fmts.append((c, fmt if is_num else None))
        pct_dec = {c: 1 if (pd.to_numeric(summary[c], errors="coerce").abs() >= 10).any() else 2
                   for c, fmt in fmts if fmt == "pct"}  # one decimal count per column
        rows = []
        for p in ordered:
            row, any_value = [p], False
            for c, fmt in fmts:
                v = summary.at[p, c]
                if fmt is None:
                    text = "n/a" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                else:
                    v = pd.to_numeric(pd.Series([v]), errors="coerce").iloc[0]
                    text = _num(v, pct_dec[c]) if fmt == "pct" else _num(v, int(fmt))
                any_value |= text != "n/a"
                row.append(text)
            if any_value:
                rows.append(row)
        if rows:
            parts += [f"**{heading}**", "", _md_table(headers, rows, numeric), ""]
    return "\n".join(parts).rstrip("\n") or "_No summary table._"


# ----------------------------------------------------------------------------- Markdown: findings

def _value(summary: pd.DataFrame, policy: str, column: str) -> float:
    if policy in summary.index and column in summary.columns:
        v = pd.to_numeric(pd.Series([summary.at[policy, column]]), errors="coerce").iloc[0]
        return float(v) if _finite(v) else math.nan
    return math.nan


def _saving(summary, baseline, policy, saving_col, pct_col, total_col) -> tuple[float, float]:
    """(saving, saving in % of the baseline total): from the summary's columns, else from the totals."""
    saving, pct = _value(summary, policy, saving_col), _value(summary, policy, pct_col)
    base_total = _value(summary, baseline, total_col) if baseline else math.nan
    if not _finite(saving) and baseline:
        saving = base_total - _value(summary, policy, total_col)
    if not _finite(pct) and _finite(saving) and _finite(base_total) and base_total != 0:
        pct = saving / abs(base_total) * 100.0
    return saving, pct


def findings(summary: pd.DataFrame, steps: pd.DataFrame | None = None, *, currency: str = "THB",
             baseline: str | None = PRACTICE, policies: list[str] | None = None) -> list[str]:
    """The findings as sentences generated from the numbers (savings, share of the oracle's saving,
    predicted vs realised saving, step outcomes and times, venting)."""
    summary = _prepare_summary(summary)
    steps = steps if steps is not None and "policy" in getattr(steps, "columns", []) else pd.DataFrame(columns=["policy"])
    policies = policies or _policy_order(steps, summary)
    others = [p for p in policies if p != baseline]
    out: list[str] = []
    savings: dict[str, float] = {}
    for p in others:
        cost, cost_pct = _saving(summary, baseline, p, "cost_saving_vs_practice", "cost_saving_vs_practice_pct", "cost")
        co2, co2_pct = _saving(summary, baseline, p, "co2e_saving_vs_practice_t", "co2e_saving_vs_practice_pct", "co2e_t")
        savings[p] = cost
        parts = []
        if _finite(cost):
            parts.append(f"saves {_num(cost)} {currency} ({_pct(cost_pct)} %)" if cost >= 0
                         else f"costs {_num(-cost)} {currency} more ({_pct(-cost_pct)} %)")
        if _finite(co2):
            if co2 >= 0:  # "saves X THB (..) and Y t CO2e (..)": one verb for two savings
                saves = "" if parts and parts[0].startswith("saves") else "saves "
                parts.append(f"{saves}{_num(co2, 1)} t CO2e ({_pct(co2_pct)} %)")
            else:
                parts.append(f"emits {_num(-co2, 1)} t CO2e more ({_pct(-co2_pct)} %)")
        against = baseline or PRACTICE
        if parts:
            out.append(_capitalise(f"{_who(p)} {' and '.join(parts)} over the period compared with {against}."))
        else:
            out.append(_capitalise(f"{_who(p)}: no cost or CO2e figures to compare with {against}."))
    if ORACLE in savings and _finite(savings[ORACLE]):
        for p in others:
            if p == ORACLE or not _finite(savings.get(p)):
                continue
            if savings[ORACLE] > 0:
                out.append(f"{_capitalise(p)} captures {_pct(savings[p] / savings[ORACLE] * 100)} % of the oracle's cost saving.")
            else:
                out.append(f"The oracle saves nothing against {baseline}, so {p}'s share of it is not defined.")
    for p in others:
        pred, real = _value(summary, p, "predicted_saving"), _value(summary, p, "realised_saving")
        if _finite(pred) and _finite(real):
            if real != 0:
                diff = (pred - real) / abs(real) * 100
                where = "above" if diff >= 0 else "below"
                out.append(f"{_capitalise(_who(p))}'s predicted saving ({_num(pred)} {currency}) is {_pct(abs(diff))} % "
                           f"{where} its realised saving ({_num(real)} {currency}).")
            else:
                out.append(f"{_capitalise(_who(p))}'s predicted saving is {_num(pred)} {currency}; the realised saving is 0.")
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
        p50, p95, mx = (_value(summary, p, c) for c in ("step_ms_p50", "step_ms_p95", "step_ms_max"))
        if not _finite(p95) and "step_ms" in steps.columns:
            v = pd.to_numeric(steps.loc[steps["policy"] == p, "step_ms"], errors="coerce").dropna().to_numpy(dtype=float)
            if len(v):
                p50, p95, mx = float(np.percentile(v, 50)), float(np.percentile(v, 95)), float(v.max())
        if _finite(p95):
            times.append(f"{p} p50 {_num(p50, 1)} ms, p95 {_num(p95, 1)} ms, max {_num(mx, 1)} ms")
    if times:
        out.append("Step wall time: " + "; ".join(times) + ".")
    vented = [(p, _value(summary, p, "vented_t")) for p in policies]
    if any(_finite(v) for _, v in vented):
        out.append("Steam vented: " + ", ".join(f"{p} {_num(v, 1)} t" for p, v in vented if _finite(v)) + ".")
    return out


# ----------------------------------------------------------------------------- write_report

def write_report(steps: pd.DataFrame, summary: pd.DataFrame, out_dir: Path, *, title: str, step_hours: float,
                 units: ReportUnits, currency: str = "THB", notes: Sequence[str] = ()) -> Path:
    """Write the five PNG plots and ``report.md`` into ``out_dir``; return the Markdown path.

    Savings are ``practice - policy`` (positive = better than practice). Cumulative savings over time
    are summed on the timestamps that both the policy and practice have, each step weighing
    ``step_hours``. Gaps in the data are listed under "Data notes" in the report.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    issues: list[str] = []
    st = _prepare_steps(steps, issues)
    sm = _prepare_summary(summary)
    policies = _policy_order(st, sm)
    baseline = _baseline(policies, st)
    if baseline is None and len(policies) > 1:
        issues.append("no practice policy: savings vs practice are not plotted")
    colours = _colours(policies)

    _plot_steam_generation(st, policies, units, out_dir / IMAGES["steam_generation"], issues)
    _plot_co2e_cost(st, policies, colours, currency, out_dir / IMAGES["co2e_cost"], issues)
    cum_cost = _cumulative_savings(st, baseline, policies, "site.cost_per_h", step_hours, issues, "cost")
    cum_co2e = _cumulative_savings(st, baseline, policies, "site.co2e_t_h", step_hours, issues, "CO2e")
    _plot_cumulative_savings(cum_cost, cum_co2e, colours, baseline, currency, out_dir / IMAGES["cumulative_savings"])
    _plot_vents(st, policies, units, step_hours, out_dir / IMAGES["vents"], issues)
    _plot_solve_time(st, policies, baseline, colours, out_dir / IMAGES["solve_time"], issues)

    # the time series and the summary should tell the same story
    for p, s in cum_cost.items():
        ref = _value(sm, p, "cost_saving_vs_practice")
        if _finite(ref) and len(s) and abs(s.iloc[-1] - ref) > max(1.0, 0.01 * abs(ref)):
            issues.append(f"{p}: the cost saving summed from the steps ({_num(s.iloc[-1])} {currency}) differs from "
                          f"the summary's ({_num(ref)} {currency})")

    lines = [f"# {title}", ""]
    if not st.empty:
        t0, t1 = st["timestamp"].min(), st["timestamp"].max()
        n = st.groupby("policy").size().max()
        lines += [f"Period {t0:%Y-%m-%d %H:%M} to {t1:%Y-%m-%d %H:%M}: {n} steps of {_num(step_hours * 60, 0)} min "
                  f"({_num(n * step_hours, 1)} h) per policy; policies: {', '.join(policies)}; costs in {currency}.", ""]
    if notes:
        lines += ["## Notes", ""] + [f"- {n}" for n in notes] + [""]
    lines += ["## Summary", "", summary_table_markdown(sm, policies, currency), "",
              f"Savings are relative to {baseline or 'practice'} (positive = lower cost or CO2e).", ""]
    lines += ["## Findings", "", " ".join(findings(sm, st, currency=currency, baseline=baseline, policies=policies))
              or "_No figures to compare._", ""]
    captions = {
        "steam_generation": "Steam generation by source (stacked: by-product steam, GT HRSGs, boilers), one panel per policy",
        "co2e_cost": f"CO2e (t/h) and cost ({currency}/h) over time",
        "cumulative_savings": f"Cumulative cost ({currency}) and CO2e (t) saving vs {baseline or 'practice'}",
        "vents": "Header vents (t/h), one panel per policy",
        "solve_time": "Supervisory step wall time (ms)",
    }
    lines += ["## Plots", ""]
    for key, name in IMAGES.items():
        lines += [f"### {captions[key]}", "", f"![{captions[key]}]({name})", ""]
    if issues:
        lines += ["## Data notes", ""] + [f"- {i}" for i in issues] + [""]
    path = out_dir / "report.md"
    atomic_write_text(path, "\n".join(lines))
    return path


# ----------------------------------------------------------------------------- parameter sweeps

def is_carbon_price(parameter: str) -> bool:
    return re.search(r"carbon|co2", parameter, re.IGNORECASE) is not None


def _resource_cost(table: pd.DataFrame) -> tuple[pd.Series, str]:
    """The cost to trade off against CO2e: ``cost - carbon_cost`` when the table has ``carbon_cost``
    (the resource cost: fuel, electricity, penalties), else ``cost`` as given."""
    cost = pd.to_numeric(table["cost"], errors="coerce")
    if "carbon_cost" in table.columns:
        return cost - pd.to_numeric(table["carbon_cost"], errors="coerce"), "cost excluding carbon cost"
    return cost, "cost"


def marginal_abatement_costs(table: pd.DataFrame) -> pd.DataFrame:
    """Marginal abatement cost between consecutive sweep points of each policy (sorted by parameter value).

    ``mac = (cost_b - cost_a) / (co2e_a - co2e_b)`` in currency per tCO2e avoided, with cost the resource
    cost (``cost - carbon_cost`` when ``carbon_cost`` exists). Pairs where CO2e does not fall (or with
    the same parameter value) get NaN and ``skipped`` says why. Rows with a missing value are left out.
    """
    cols = ["policy", "from_value", "to_value", "co2e_avoided_t", "extra_cost", "mac", "skipped"]
    if table is None or not {"parameter_value", "cost", "co2e_t"} <= set(table.columns):
        return pd.DataFrame(columns=cols)
    t = table.copy()
    if "policy" not in t.columns:
        t["policy"] = "all"
    t["_cost"], _ = _resource_cost(t)
    t["_co2e"] = pd.to_numeric(t["co2e_t"], errors="coerce")
    t["_x"] = pd.to_numeric(t["parameter_value"], errors="coerce")
    rows = []
    for p, g in t.groupby(t["policy"].astype(str), sort=False):
        g = g.dropna(subset=["_cost", "_co2e", "_x"]).sort_values("_x")
        for (_, a), (_, b) in zip(g.iterrows(), g.iloc[1:].iterrows()):
            avoided, extra = a["_co2e"] - b["_co2e"], b["_cost"] - a["_cost"]
            tol = 1e-9 * max(1.0, abs(a["_co2e"]))
            same = a["_x"] == b["_x"]
            ok = avoided > tol and not same
            rows.append({"policy": p, "from_value": a["_x"], "to_value": b["_x"], "co2e_avoided_t": avoided,
                         "extra_cost": extra, "mac": extra / avoided if ok else math.nan,
                         "skipped": "" if ok else "same parameter value" if same else "CO2e does not fall"})
    return pd.DataFrame(rows, columns=cols)


def _plot_tradeoff(t: pd.DataFrame, parameter: str, cost_label: str, currency: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(9, 6))
    policies = list(dict.fromkeys(t["policy"]))
    colours = _colours(policies)
    drawn = False
    for p in policies:
        g = t[t["policy"] == p].dropna(subset=["_cost", "_co2e"]).sort_values("_x")
        if g.empty:
            continue
        drawn = True
        ax.plot(g["_co2e"], g["_cost"], marker="o", color=colours[p], label=p, linewidth=1.2)
        xdec = _auto_decimals(t["_x"])
        for (co2e, cost), same in g.groupby(["_co2e", "_cost"], sort=False):  # one label per place: "500, 1,000"
            ax.annotate("; ".join(_num(x, xdec) for x in same["_x"]), (co2e, cost), xytext=(5, 5),
                        textcoords="offset points", fontsize=8, color=colours[p])
    if not drawn:
        _no_data(ax, "no points with both cost and CO₂e", clear_x=True)
    else:
        ax.set_xlabel("CO₂e over the period (t)")
        ax.set_ylabel(f"{cost_label} ({currency})")
        ax.xaxis.set_major_formatter(_thousands())
        ax.yaxis.set_major_formatter(_thousands())
        ax.grid(alpha=0.3)
        ax.legend(title="policy", fontsize=9)
    ax.set_title(f"Cost vs CO₂e over the {parameter} sweep (points labelled with {parameter})")
    fig.tight_layout()
    _save(fig, path)


def _plot_mac(mac: pd.DataFrame, parameter: str, currency: str, path: Path) -> None:
    ok = mac[mac["mac"].notna()]
    fig, axes = plt.subplots(1, 2, figsize=(12, 5))
    fig.suptitle(f"Marginal abatement cost between consecutive {parameter} values")
    if ok.empty:
        for ax in axes:
            _no_data(ax, "no interval in which CO₂e falls", clear_x=True)
        fig.tight_layout()
        return _save(fig, path)
    colours = _colours(list(dict.fromkeys(mac["policy"])))
    ax = axes[0]
    for p, g in ok.groupby("policy", sort=False):
        for i, (_, r) in enumerate(g.iterrows()):
            ax.plot([r["from_value"], r["to_value"]], [r["mac"], r["mac"]], color=colours[p], linewidth=2.5,
                    label=p if i == 0 else None, solid_capstyle="butt")
    lo = min(mac["from_value"].min(), 0.0)
    hi = mac["to_value"].max()
    ax.plot([lo, hi], [lo, hi], color="black", linestyle=":", linewidth=1, label=f"MAC = {parameter}")
    ax.set_xlabel(f"{parameter} interval")
    ax.set_ylabel(f"MAC ({currency}/tCO₂e avoided)")
    ax.set_title("MAC over each price interval", fontsize=10)
    ax.yaxis.set_major_formatter(_thousands())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    ax = axes[1]
    for p, g in ok.groupby("policy", sort=False):
        edges = np.concatenate([[0.0], np.cumsum(g["co2e_avoided_t"].to_numpy(dtype=float))])
        ax.stairs(g["mac"].to_numpy(dtype=float), edges, color=colours[p], linewidth=2, label=p, baseline=None)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("cumulative CO₂e avoided from the lowest value (t)")
    ax.set_ylabel(f"MAC ({currency}/tCO₂e avoided)")
    ax.set_title("MAC curve", fontsize=10)
    ax.xaxis.set_major_formatter(_thousands())
    ax.yaxis.set_major_formatter(_thousands())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    _save(fig, path)


def write_sweep_report(table: pd.DataFrame, out_dir: Path, *, parameter: str, currency: str = "THB") -> Path:
    """Write ``tradeoff.png``, and for a carbon-price sweep ``mac.png``, and ``sweep.md``; return its path.

    The trade-off and the MAC use the resource cost, ``cost - carbon_cost``, when the table has a
    ``carbon_cost`` column: the carbon charge is a transfer, not a cost of abating, and including it
    would make higher carbon prices look like higher costs even at the same operation. Without that
    column ``cost`` is used as given. A parameter counts as a carbon price when its name contains
    "carbon" or "co2".
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    issues: list[str] = []
    t = table.copy() if table is not None else pd.DataFrame()
    if "policy" not in t.columns:
        t["policy"] = "all"
    t["policy"] = t["policy"].astype(str)
    for c in ("parameter_value", "cost", "co2e_t"):
        if c not in t.columns:
            issues.append(f"no column `{c}`")
            t[c] = math.nan
    t["_x"] = pd.to_numeric(t["parameter_value"], errors="coerce")
    t["_co2e"] = pd.to_numeric(t["co2e_t"], errors="coerce")
    t["_cost"], cost_label = _resource_cost(t)
    n_bad = int(t[["_x", "_cost", "_co2e"]].isna().any(axis=1).sum())
    if n_bad:
        issues.append(f"{n_bad} rows with a missing parameter value, cost or CO2e are left out of the plots and the MAC")
    order = {p: i for i, p in enumerate(dict.fromkeys(t["policy"]))}  # policies as given, values ascending
    t = t.assign(_order=t["policy"].map(order)).sort_values(["_order", "_x"], kind="stable").drop(columns="_order")
    n_dup = int(t.dropna(subset=["_x"]).duplicated(["policy", "_x"]).sum())
    if n_dup:
        issues.append(f"{n_dup} rows repeat a (policy, {parameter}) pair: is a `policy` column missing?")
    _plot_tradeoff(t, parameter, cost_label, currency, out_dir / "tradeoff.png")

    xdec = _auto_decimals(t["_x"])
    lines = [f"# {parameter} sweep", ""]
    headers = [parameter, "policy", f"cost ({currency})"]
    has_cc = "carbon_cost" in t.columns
    if has_cc:
        headers += [f"carbon cost ({currency})", f"resource cost ({currency})"]
    headers += ["CO2e (t)"]
    rows = []
    for _, r in t.iterrows():
        row = [_num(r["_x"], xdec), r["policy"], _num(pd.to_numeric(r["cost"], errors="coerce"))]
        if has_cc:
            row += [_num(pd.to_numeric(r["carbon_cost"], errors="coerce")), _num(r["_cost"])]
        rows.append(row + [_num(r["_co2e"], 1)])
    lines += [_md_table(headers, rows, [True, False] + [True] * (len(headers) - 2)), ""]
    lines += [f"![{cost_label} vs CO2e]({'tradeoff.png'})", "",
              f"The trade-off plots the {cost_label} ({currency}) against CO2e (t) over the period; each point is labelled "
              f"with its {parameter}.", ""]

    if is_carbon_price(parameter):
        mac = marginal_abatement_costs(t.drop(columns=["_x", "_cost", "_co2e"]))
        _plot_mac(mac, parameter, currency, out_dir / "mac.png")
        basis = ("the resource cost: `cost - carbon_cost` (the carbon charge is a transfer, not a cost of abating)"
                 if has_cc else "`cost` as given (the table has no `carbon_cost` column to take out)")
        lines += ["## Marginal abatement cost", "",
                  f"Between consecutive {parameter} values a and b of each policy: MAC = (cost_b - cost_a) / "
                  f"(CO2e_a - CO2e_b), in {currency} per tCO2e avoided, with cost {basis}. Intervals where CO2e does "
                  "not fall are skipped.", ""]
        mrows = [[r["policy"], _num(r["from_value"], xdec), _num(r["to_value"], xdec), _num(r["co2e_avoided_t"], 1),
                  _num(r["extra_cost"]), _num(r["mac"], 1) if _finite(r["mac"]) else f"skipped: {r['skipped']}"]
                 for _, r in mac.iterrows()]
        lines += [_md_table(["policy", f"from {parameter}", f"to {parameter}", "CO2e avoided (t)",
                             f"extra cost ({currency})", f"MAC ({currency}/tCO2e)"], mrows,
                            [False, True, True, True, True, True]) if mrows else "_No consecutive points._", ""]
        lines += ["![marginal abatement cost](mac.png)", ""]
    else:
        lines += [f"_No marginal abatement cost: {parameter} is not a carbon price._", ""]
    if issues:
        lines += ["## Data notes", ""] + [f"- {i}" for i in issues] + [""]
    path = out_dir / "sweep.md"
    atomic_write_text(path, "\n".join(lines))
    return path
