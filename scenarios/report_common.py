"""Shared pieces of the study and sweep reports: number formatting, Markdown tables, input
preparation (steps and summary tables as the study runner writes them), policy roles and colours,
and the plot helpers every report PNG uses (date axes, "nothing to show" panels, atomic saving).

Policy roles (issue 15): the baselines are ``practice`` (today's rule-based practice) and
``good_practice`` (a competent operator's rules), in that order when present; the *primary*
baseline of the plots is ``good_practice`` when present, else ``practice``. ``oracle`` is the
optimiser given the simulator's true curves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # non-interactive: reports are written on servers and in tests

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import Formatter

from surrogate.atomic import atomic_output

PRACTICE = "practice"
GOOD_PRACTICE = "good_practice"
BASELINES = (PRACTICE, GOOD_PRACTICE)  # in report order
ORACLE = "oracle"
DPI = 110

# policies: grey strawman, purple competent operator, blue steamopt, green oracle
_POLICY_COLOURS = {PRACTICE: "#7f7f7f", GOOD_PRACTICE: "#9467bd", "steamopt": "#1f77b4", ORACLE: "#2ca02c"}
_SPARE_COLOURS = ["#d62728", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#bcbd22"]

# columns of the summary renamed by issue 15 (old name -> name against practice)
OLD_SUMMARY_COLUMNS = {
    "predicted_saving": "predicted_saving_vs_practice",
    "realised_saving": "realised_saving_vs_practice",
    "predicted_vs_realised_pct": "predicted_vs_realised_vs_practice_pct",
    "share_of_oracle_saving_pct": "share_of_oracle_saving_vs_practice_pct",
}


# ----------------------------------------------------------------------------- formatting

def finite(x) -> bool:
    """True for a number that is not NaN or infinite."""
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def num(x, decimals: int = 0) -> str:
    """``1234567.8 -> '1,234,568'``; NaN/None -> 'n/a'; never prints '-0'."""
    if not finite(x):
        return "n/a"
    s = f"{float(x):,.{decimals}f}"
    return s[1:] if s.startswith("-") and float(s[1:].replace(",", "")) == 0 else s


def pct(x) -> str:
    """A percentage with sensible decimals: two below 10 %, one above."""
    if not finite(x):
        return "n/a"
    return num(x, 2 if abs(float(x)) < 10 else 1)


def auto_decimals(values: Iterable) -> int:
    """Decimals that show the values' precision: 0 for integers or >= 1000, up to 4 for small ones."""
    vals = [abs(float(v)) for v in values if finite(v)]
    if not vals:
        return 0
    m = max(vals)
    if all(float(v).is_integer() for v in vals):
        return 0
    return 0 if m >= 1000 else 1 if m >= 10 else 2 if m >= 0.1 else 4


class Thousands(Formatter):
    """Tick labels with thousands separators and as many decimals as the tick spacing needs."""

    def __call__(self, x, pos=None):
        return num(x, 0)

    def format_ticks(self, values):
        steps = np.diff(np.sort(np.asarray(values, dtype=float)))
        steps = steps[steps > 0]
        d = 0 if not len(steps) or steps.min() >= 1 else min(6, int(math.ceil(-math.log10(steps.min()) - 1e-9)))
        return [num(v, d) for v in values]


def md_escape(s) -> str:
    return str(s).replace("|", "\\|").replace("\n", " ")


def md_table(headers: Sequence[str], rows: Sequence[Sequence[str]], numeric: Sequence[bool]) -> str:
    """A Markdown table; numeric columns right-aligned."""
    lines = ["| " + " | ".join(md_escape(h) for h in headers) + " |",
             "| " + " | ".join("---:" if n else "---" for n in numeric) + " |"]
    lines += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def capitalise(s: str) -> str:
    return s[:1].upper() + s[1:]


def who(policy: str) -> str:
    """A policy as the subject of a sentence."""
    return "the oracle" if policy == ORACLE else policy


# ----------------------------------------------------------------------------- input preparation

def prepare_steps(steps: pd.DataFrame | None, issues: list[str]) -> pd.DataFrame:
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


def prepare_summary(summary: pd.DataFrame | None) -> pd.DataFrame:
    """A copy indexed by policy (str); columns of the old naming renamed to ``..._vs_practice``."""
    if summary is None:
        return pd.DataFrame()
    s = summary.copy()
    if "policy" in s.columns and isinstance(s.index, pd.RangeIndex):  # policy as a column, not the index
        s = s.set_index("policy")
    s.index = s.index.map(str)
    s.columns = [str(c) for c in s.columns]
    rename = {old: new for old, new in OLD_SUMMARY_COLUMNS.items() if old in s.columns and new not in s.columns}
    return s.rename(columns=rename).drop(columns=[c for c in OLD_SUMMARY_COLUMNS if c in s.columns and c not in rename])


def policy_order(steps: pd.DataFrame, summary: pd.DataFrame) -> list[str]:
    """Every policy of either table: the baselines first (practice, good_practice), then as given."""
    seen: list[str] = []
    for p in list(summary.index) + list(steps["policy"].unique() if "policy" in steps else []):
        if p not in seen:
            seen.append(p)
    rank = {b: i for i, b in enumerate(BASELINES)}
    return sorted(seen, key=lambda p: rank.get(p, len(rank)))  # stable: others keep their order


def baselines_of(policies: Sequence[str], steps: pd.DataFrame | None = None) -> list[str]:
    """The baselines present: practice and good_practice in that order. Without either, a policy
    whose every step has status ``practice`` counts as the practice baseline."""
    found = [b for b in BASELINES if b in policies]
    if found or steps is None or "status" not in steps.columns:
        return found
    for p in policies:
        st = steps.loc[steps["policy"] == p, "status"].astype(str)
        if len(st) and (st == PRACTICE).all():
            return [p]
    return []


def primary_baseline(baselines: Sequence[str]) -> str | None:
    """The baseline the plots compare against: good_practice if present, else practice (else the first)."""
    if GOOD_PRACTICE in baselines:
        return GOOD_PRACTICE
    return baselines[0] if baselines else None


def colours(policies: Sequence[str]) -> dict[str, str]:
    spare = iter(_SPARE_COLOURS * 4)
    return {p: _POLICY_COLOURS.get(p) or next(spare) for p in policies}


def series(frame: pd.DataFrame, column: str) -> pd.Series:
    """``column`` as floats indexed by timestamp (NaN where missing or not numeric)."""
    return pd.Series(pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float), index=frame["timestamp"].to_numpy())


def violation_flags(frame: pd.DataFrame) -> pd.Series | None:
    """Per step of ``frame``: did the true plant end outside a limit? From ``violation`` (bool), else
    from ``violations`` (non-empty text); None when the table has neither column."""
    if "violation" in frame.columns:
        v = frame["violation"]
        flags = v.map(lambda x: bool(x) if isinstance(x, (bool, np.bool_)) or finite(x) else False)
    elif "violations" in frame.columns:
        flags = frame["violations"].map(lambda x: isinstance(x, str) and x.strip() != "")
    else:
        return None
    return pd.Series(flags.to_numpy(dtype=bool), index=frame["timestamp"].to_numpy())


def split_list(value, sep: str) -> list[str]:
    """``"a; b"`` -> ``["a", "b"]``; NaN, None and "" -> []."""
    if not isinstance(value, str):
        return []
    return [x.strip() for x in value.split(sep) if x.strip()]


# ----------------------------------------------------------------------------- plot helpers

def date_axis(ax) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=9)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def no_data(ax, text: str, clear_x: bool = False) -> None:
    """Say why a panel is empty. The x ticks are kept unless asked: they may be shared with other panels."""
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=10, color="#444444", wrap=True)
    ax.set_yticks([])
    if clear_x:
        ax.set_xticks([])


def save(fig, path: Path) -> None:
    """Write the figure as ``path`` (a temporary file renamed when complete) and close it."""
    try:
        with atomic_output(path) as tmp:
            fig.savefig(tmp, dpi=DPI)
    finally:
        plt.close(fig)


def placeholder(path: Path, title: str, text: str) -> None:
    """A PNG with a title and a sentence saying why there is nothing to plot."""
    fig, ax = plt.subplots(figsize=(8, 3))
    ax.set_title(title)
    no_data(ax, text, clear_x=True)
    save(fig, path)


def is_carbon_price(parameter: str) -> bool:
    """A parameter counts as a carbon price when its name contains "carbon" or "co2"."""
    return re.search(r"carbon|co2", parameter, re.IGNORECASE) is not None


def step_savings(steps: pd.DataFrame, baseline: str, policy: str, column: str) -> pd.DataFrame:
    """Per step on the timestamps both policies have: ``saving`` = baseline - policy of ``column``
    (per hour), ``violation`` (the policy's true plant outside a limit) and ``credited`` = the saving,
    except that a positive saving at a violation step counts 0 (it is never credited). Missing
    values stay NaN. Empty when either policy or the column is missing."""
    cols = ["saving", "credited", "violation"]
    if steps.empty or column not in steps.columns:
        return pd.DataFrame(columns=cols)
    base = series(steps[steps["policy"] == baseline], column)
    frame = steps[steps["policy"] == policy]
    other = series(frame, column)
    common = base.index.intersection(other.index).sort_values()
    if len(common) == 0:
        return pd.DataFrame(columns=cols)
    saving = base.loc[common] - other.loc[common]
    flags = violation_flags(frame)
    viol = flags.loc[common] if flags is not None else pd.Series(False, index=common)
    credited = saving.where(~(viol.to_numpy() & (saving.to_numpy() > 0)), 0.0)
    return pd.DataFrame({"saving": saving, "credited": credited, "violation": viol.to_numpy(dtype=bool)}, index=common)
