"""Parameter-sweep report: one row per sweep variant and policy (``parameter_value``, ``policy``,
``cost``, ``co2e_t``, optionally ``carbon_cost``) -> ``tradeoff.png`` (cost against CO2e, points
labelled with the parameter value), for a carbon-price sweep the marginal abatement cost between
consecutive points (``mac.png``), and ``sweep.md``.

Every panel either shows data or says in words why it has none.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from scenarios.report_common import (BASELINES, Thousands, auto_decimals, colours, finite, is_carbon_price, md_table, no_data, num,
                                     save)
from surrogate.atomic import atomic_write_text

def _resource_cost(table: pd.DataFrame) -> tuple[pd.Series, str]:
    """The cost to trade off against CO2e: ``cost - carbon_cost`` when the table has ``carbon_cost``
    (the resource cost: fuel, electricity, penalties), else ``cost`` as given."""
    cost = pd.to_numeric(table["cost"], errors="coerce")
    if "carbon_cost" in table.columns:
        return cost - pd.to_numeric(table["carbon_cost"], errors="coerce"), "cost excluding carbon cost"
    return cost, "cost"


#: Smallest CO2e fall between two sweep points that counts as abatement, fraction of the period's CO2e.
MIN_AVOIDED_FRACTION = 1e-3


def marginal_abatement_costs(table: pd.DataFrame, min_avoided_fraction: float = MIN_AVOIDED_FRACTION) -> pd.DataFrame:
    """Marginal abatement cost between consecutive sweep points of each policy (sorted by parameter value).

    ``mac = (cost_b - cost_a) / (co2e_a - co2e_b)`` in currency per tCO2e avoided, with cost the resource
    cost (``cost - carbon_cost`` when ``carbon_cost`` exists). Pairs where CO2e does not fall by more
    than ``min_avoided_fraction`` of the period's CO2e (or with the same parameter value) get NaN and
    ``skipped`` says why. Rows with a missing value are left out.

    Why a threshold: a closed-loop week differs from another at the same prices by its path (on/off
    timing, move limits, sensor noise), and such differences are not abatement the price bought.
    Measured on the bundled carbon-price sweep (0-2,000 THB/t, one week): CO2e moved by at most 7.0 t
    of 14,200 t (0.05 %) between consecutive prices, and every such fall came with a lower resource
    cost (MACs of -2,100 to -3,300 THB/t): the price did not buy it, the week's path changed. 0.1 %
    of the period's CO2e is twice the largest of those moves.
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
            tol = max(1e-9 * max(1.0, abs(a["_co2e"])), min_avoided_fraction * abs(a["_co2e"]))
            same = a["_x"] == b["_x"]
            ok = avoided > tol and not same
            why = ("same parameter value" if same else "CO2e does not fall" if avoided <= 1e-9 * max(1.0, abs(a["_co2e"]))
                   else f"CO2e falls by {avoided:.2f} t, less than {100 * min_avoided_fraction:g} % of the period's")
            rows.append({"policy": p, "from_value": a["_x"], "to_value": b["_x"], "co2e_avoided_t": avoided,
                         "extra_cost": extra, "mac": extra / avoided if ok else math.nan, "skipped": "" if ok else why})
    return pd.DataFrame(rows, columns=cols)


def _label_clusters(g: pd.DataFrame, xspan: float, yspan: float, xdec: int) -> list[tuple[float, float, str]]:
    """Points of one policy that lie within 1.5 % of the axes' spans of each other share one label:
    ``(co2e, cost, "0; 500")`` per cluster, in parameter order."""
    out: list[list] = []
    for _, r in g.iterrows():
        for c in out:
            if abs(r["_co2e"] - c[0]) <= 0.015 * xspan and abs(r["_cost"] - c[1]) <= 0.015 * yspan:
                c[2].append(r["_x"])
                break
        else:
            out.append([r["_co2e"], r["_cost"], [r["_x"]]])
    return [(x, y, "; ".join(num(v, xdec) for v in vals)) for x, y, vals in out]


def _declutter(fig, ax, step_pt: float = 11.0, tries: int = 9) -> None:
    """Move point labels that would overlap an earlier label up or down (in steps of ``step_pt``
    points) until they are clear; the first free place nearest the point wins."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    placed = []
    for t in ax.texts:
        x, y = t.xyann
        for k in range(tries):
            t.xyann = (x, y + step_pt * ((k + 1) // 2) * (1 if k % 2 else -1))  # 0, +1, -1, +2, -2 ...
            box = t.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed):
                break
        placed.append(t.get_window_extent(renderer))


def _tradeoff_panel(ax, t: pd.DataFrame, policies: list[str], palette: dict, parameter: str, cost_label: str,
                    currency: str) -> bool:
    pts = t.dropna(subset=["_cost", "_co2e"])
    pts = pts[pts["policy"].isin(policies)]
    if pts.empty:
        return False
    xspan = max(float(np.ptp(pts["_co2e"])), 1e-9 * max(1.0, float(pts["_co2e"].abs().max())))
    yspan = max(float(np.ptp(pts["_cost"])), 1e-9 * max(1.0, float(pts["_cost"].abs().max())))
    xdec = auto_decimals(t["_x"])
    for k, p in enumerate(policies):
        g = pts[pts["policy"] == p].sort_values("_x")
        if g.empty:
            continue
        ax.plot(g["_co2e"], g["_cost"], marker="o", color=palette[p], label=p, linewidth=1.2)
        xmid = float(pts["_co2e"].min()) + 0.5 * xspan
        for x, y, text in _label_clusters(g, xspan, yspan, xdec):  # policies' labels stacked, never on each other
            right = x > xmid  # labels point into the axes: left of points in the right half
            ax.annotate(f"{parameter} {text}", (x, y), xytext=(-8 if right else 8, 10 - 13 * k), textcoords="offset points",
                        fontsize=8, color=palette[p], va="center", ha="right" if right else "left")
    ax.set_xlabel("CO₂e over the period (t)")
    ax.set_ylabel(f"{cost_label} ({currency})")
    ax.xaxis.set_major_formatter(Thousands())
    ax.yaxis.set_major_formatter(Thousands())
    ax.margins(x=0.25, y=0.15)  # room for the labels right of the points
    ax.grid(alpha=0.3)
    return True


def _plot_tradeoff(t: pd.DataFrame, parameter: str, cost_label: str, currency: str, path: Path) -> None:
    """Cost against CO2e; with baselines and optimisers both present, a second panel zooms on the
    optimisers (the baselines' points would squash them into a corner)."""
    policies = list(dict.fromkeys(t["policy"]))
    palette = colours(policies)
    optimisers = [p for p in policies if p not in BASELINES]
    zoom = bool(optimisers) and len(optimisers) < len(policies)
    fig, axes = plt.subplots(1, 2 if zoom else 1, figsize=(15 if zoom else 9.5, 6), squeeze=False)
    axes = list(axes[0])
    fig.suptitle(f"Cost vs CO₂e over the {parameter} sweep (points labelled with {parameter})")
    if not _tradeoff_panel(axes[0], t, policies, palette, parameter, cost_label, currency):
        no_data(axes[0], "no sweep point has both a cost and a CO₂e value", clear_x=True)
    elif zoom:
        axes[0].set_title("all policies", fontsize=10)
        _tradeoff_panel(axes[1], t, optimisers, palette, parameter, cost_label, currency)
        axes[1].set_title(f"zoom: {', '.join(optimisers)}", fontsize=10)
    handles, labels = axes[0].get_legend_handles_labels()
    if handles:  # below the panels: never on a point or a label
        fig.legend(handles, labels, title="policy", loc="lower center", ncols=len(labels), fontsize=9, frameon=False)
    fig.tight_layout(rect=(0, 0.09 if handles else 0, 1, 1))
    for ax in axes:
        _declutter(fig, ax)
    save(fig, path)


def _no_mac_reason(mac: pd.DataFrame, parameter: str) -> str:
    """Why no interval has a MAC, in words, with the largest CO2e change seen."""
    if mac.empty:
        return f"fewer than two {parameter} values with cost and CO₂e per policy: no interval to compare"
    moved = mac["co2e_avoided_t"].abs().max()
    return (f"CO₂e does not fall by more than {100 * MIN_AVOIDED_FRACTION:g} % of the period's between any two consecutive {parameter} values\n"
            f"(largest change {num(moved, 2)} t for {', '.join(dict.fromkeys(mac['policy']))}):\n"
            "the dispatch does not abate more as the price rises, so there is no abatement cost to plot")


def _plot_mac(mac: pd.DataFrame, parameter: str, currency: str, path: Path) -> None:
    ok = mac[mac["mac"].notna()]
    if ok.empty:  # one panel saying why, not two blank ones
        fig, ax = plt.subplots(figsize=(12, 4))
        ax.set_title(f"Marginal abatement cost between consecutive {parameter} values")
        no_data(ax, _no_mac_reason(mac, parameter), clear_x=True)
        fig.tight_layout()
        return save(fig, path)
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    fig.suptitle(f"Marginal abatement cost between consecutive {parameter} values")
    palette = colours(list(dict.fromkeys(mac["policy"])))
    # each later policy drawn thinner, so equal MACs (steamopt on its oracle) stay visible
    width = {p: max(4.5 - 1.5 * k, 1.5) for k, p in enumerate(dict.fromkeys(ok["policy"]))}
    ax = axes[0]
    for p, g in ok.groupby("policy", sort=False):
        for i, (_, r) in enumerate(g.iterrows()):
            ax.plot([r["from_value"], r["to_value"]], [r["mac"], r["mac"]], color=palette[p], linewidth=width[p],
                    label=p if i == 0 else None, solid_capstyle="butt")
    if is_carbon_price(parameter):  # a price of carbon buys abatement up to that price: the reference line
        lo = min(mac["from_value"].min(), 0.0)
        hi = mac["to_value"].max()
        ax.plot([lo, hi], [lo, hi], color="black", linestyle=":", linewidth=1, label=f"MAC = {parameter}")
    ax.set_xlabel(f"{parameter} interval")
    ax.set_ylabel(f"MAC ({currency}/tCO₂e avoided)")
    ax.set_title(f"MAC over each {'price ' if is_carbon_price(parameter) else ''}interval", fontsize=10)
    ax.yaxis.set_major_formatter(Thousands())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    ax = axes[1]
    for p, g in ok.groupby("policy", sort=False):
        edges = np.concatenate([[0.0], np.cumsum(g["co2e_avoided_t"].to_numpy(dtype=float))])
        ax.stairs(g["mac"].to_numpy(dtype=float), edges, color=palette[p], linewidth=width[p], label=p, baseline=None)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.set_xlabel("cumulative CO₂e avoided from the lowest value (t)")
    ax.set_ylabel(f"MAC ({currency}/tCO₂e avoided)")
    ax.set_title("MAC curve", fontsize=10)
    ax.xaxis.set_major_formatter(Thousands())
    ax.yaxis.set_major_formatter(Thousands())
    ax.grid(alpha=0.3)
    ax.legend(fontsize=9)
    fig.tight_layout()
    save(fig, path)


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

    xdec = auto_decimals(t["_x"])
    lines = [f"# {parameter} sweep", ""]
    headers = [parameter, "policy", f"cost ({currency})"]
    has_cc = "carbon_cost" in t.columns
    if has_cc:
        headers += [f"carbon cost ({currency})", f"resource cost ({currency})"]
    headers += ["CO2e (t)"]
    rows = []
    for _, r in t.iterrows():
        row = [num(r["_x"], xdec), r["policy"], num(pd.to_numeric(r["cost"], errors="coerce"))]
        if has_cc:
            row += [num(pd.to_numeric(r["carbon_cost"], errors="coerce")), num(r["_cost"])]
        rows.append(row + [num(r["_co2e"], 1)])
    lines += [md_table(headers, rows, [True, False] + [True] * (len(headers) - 2)), ""]
    lines += [f"![{cost_label} vs CO2e]({'tradeoff.png'})", "",
              f"The trade-off plots the {cost_label} ({currency}) against CO2e (t) over the period; each point is labelled "
              f"with its {parameter}.", ""]

    if is_carbon_price(parameter) or "hydrogen" in parameter:  # a price of carbon, or hydrogen bought to abate
        mac = marginal_abatement_costs(t.drop(columns=["_x", "_cost", "_co2e"]))
        _plot_mac(mac, parameter, currency, out_dir / "mac.png")
        basis = ("the resource cost: `cost - carbon_cost` (the carbon charge is a transfer, not a cost of abating)"
                 if has_cc else "`cost` as given (the table has no `carbon_cost` column to take out)")
        lines += ["## Marginal abatement cost", "",
                  f"Between consecutive {parameter} values a and b of each policy: MAC = (cost_b - cost_a) / "
                  f"(CO2e_a - CO2e_b), in {currency} per tCO2e avoided, with cost {basis}. Intervals where CO2e does "
                  f"not fall by more than {100 * MIN_AVOIDED_FRACTION:g} % of the period's are skipped (smaller moves are "
                  "the closed loop's path, not abatement the price bought).", ""]
        mrows = [[r["policy"], num(r["from_value"], xdec), num(r["to_value"], xdec), num(r["co2e_avoided_t"], 1),
                  num(r["extra_cost"]), num(r["mac"], 1) if finite(r["mac"]) else f"skipped: {r['skipped']}"]
                 for _, r in mac.iterrows()]
        lines += [md_table(["policy", f"from {parameter}", f"to {parameter}", "CO2e avoided (t)",
                             f"extra cost ({currency})", f"MAC ({currency}/tCO2e)"], mrows,
                            [False, True, True, True, True, True]) if mrows else "_No consecutive points._", ""]
        if mac["mac"].notna().sum() == 0:
            lines += [f"_No marginal abatement cost: {_no_mac_reason(mac, parameter).replace(chr(10), ' ')}._", ""]
        lines += ["![marginal abatement cost](mac.png)", ""]
    else:
        lines += [f"_No marginal abatement cost: {parameter} is not a carbon price._", ""]
    if issues:
        lines += ["## Data notes", ""] + [f"- {i}" for i in issues] + [""]
    path = out_dir / "sweep.md"
    atomic_write_text(path, "\n".join(lines))
    return path
