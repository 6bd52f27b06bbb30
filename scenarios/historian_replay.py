"""Historian replay: run the supervisor over a recorded historian table exactly as it would have run live.

A historian table has one row per timestamp (the index) and one column per tag (the tag names of
:mod:`optimizer.tags`, units in their suffixes), as written by ``steamopt simulate`` or exported
from a plant historian. :func:`replay_historian` turns each row into the snapshot the plant's
supervisory layer would have sent at that time (:func:`snapshots_from_historian`) and feeds the
rows, in time order, to **one** :class:`~optimizer.supervisor.Supervisor`: the state carried
between cycles (last good values, the previous timestamp, header mixing states, move limits
around the current point, minimum up/down times from ``<unit>.minutes_in_state``) is the one the
live engine would have had. With ``SupervisorConfig.stale_after_s`` set, the supervisor's clock
is the row's timestamp (the row was fresh when it was recorded).

Outputs: the advisory log (the supervisor's JSON-lines audit log, one line per row, replayable
with ``steamopt replay``), a per-step table (status, predicted cost and CO2e of the current and
the proposed operation, predicted savings) and the totals over the period: what following the
advice would have saved, as the model predicted it at each step,

    saving [currency] = sum_t (C_cur,t - C_prop,t) [currency/h] * dt [h]

with ``dt`` the historian's step (the median spacing of its index), and the same for CO2e (t)
and fuel (GJ). Steps without a usable proposal (``invalid_input``, ``fallback_hold``) count zero.

What the operators actually did with the advice is :mod:`scenarios.adherence`.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
import warnings as warnings_module
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from optimizer import tags
from optimizer.proposal import Proposal
from optimizer.site.model import Site
from optimizer.site.properties import SiteProperties
from optimizer.snapshot import tag_rules
from optimizer.supervisor import Supervisor, SupervisorConfig
from surrogate.atomic import atomic_output

log = logging.getLogger(__name__)

# derived tags: a simulator historian (``steamopt simulate``) records the site's electrical load
# including the drives' motors (site.load_mw) and the motors' draw (site.motor_mw), not the
# process load the supervisor reads (site_load_mw = site.load_mw - site.motor_mw)
_SITE_LOAD_PARTS = ("site.load_mw", "site.motor_mw")


@dataclass
class ReplayResult:
    """What a historian replay produced.

    ``steps``: one row per historian row (index ``timestamp``); ``proposals`` and ``snapshots``
    in the same order; ``totals``: period totals (see :func:`replay_totals`); ``step_hours``:
    the historian's step, h; ``warnings``: what was wrong with the table and how it was handled.
    """

    steps: pd.DataFrame
    proposals: list[Proposal]
    snapshots: list[dict]
    totals: dict[str, float]
    step_hours: float
    config: SupervisorConfig
    currency: str = "THB"
    log_path: Path | None = None
    warnings: list[str] = field(default_factory=list)


def prepare_historian(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The historian table with a clean time index: (table, warnings).

    The index (or a ``timestamp`` column) must hold dates and times; a timezone-aware index is
    converted to UTC and made naive (as the supervisor does with snapshot timestamps). Rows out
    of time order are sorted (with a warning). Missing (NaT) or duplicated timestamps are an
    error naming them: which of two rows of the same time the plant ran cannot be told.
    """
    if not isinstance(frame, pd.DataFrame):
        raise ValueError(f"historian must be a pandas DataFrame, got {type(frame).__name__}")
    if len(frame) == 0:
        raise ValueError("historian table has no rows")
    warnings: list[str] = []
    out = frame
    if "timestamp" in out.columns and not isinstance(out.index, pd.DatetimeIndex):
        out = out.set_index("timestamp")
    try:
        with warnings_module.catch_warnings():  # pandas' format-inference notice: the error below says what is wrong
            warnings_module.simplefilter("ignore", UserWarning)
            index = pd.DatetimeIndex(pd.to_datetime(out.index))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"historian index: must be timestamps (ISO 8601 dates and times), got e.g. {out.index[0]!r}: {exc}") from None
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    if index.hasnans:
        rows = [int(i) for i in np.flatnonzero(index.isna())[:5]]
        raise ValueError(f"historian index: {int(index.isna().sum())} row(s) without a timestamp (rows {rows}); every row needs one")
    out = out.copy()
    out.index = index.rename("timestamp")
    if not out.index.is_monotonic_increasing:
        n_back = int((_gaps_hours(out.index) < 0).sum())
        warnings.append(f"historian rows out of time order ({n_back} step(s) back in time): sorted by timestamp")
        out = out.sort_index(kind="stable")
    dup = out.index.duplicated(keep=False)
    if dup.any():
        first = sorted(set(out.index[dup]))[:3]
        raise ValueError(f"historian index: {int(out.index.duplicated().sum())} duplicated timestamp(s) "
                         f"(e.g. {', '.join(t.isoformat() for t in first)}): one row per timestamp required; "
                         "drop or aggregate the duplicates first")
    return out, warnings


def step_hours_of(index: pd.DatetimeIndex) -> float:
    """The historian's step, h: the median spacing of its timestamps (1 row: 0)."""
    if len(index) < 2:
        return 0.0
    return float(np.median(_gaps_hours(index)))


def _gaps_hours(index: pd.DatetimeIndex) -> np.ndarray:
    return np.diff(index.to_numpy().astype("datetime64[ns]").astype(np.int64)) / 3.6e12


def snapshots_from_historian(site: Site, frame: pd.DataFrame) -> list[dict]:
    """One snapshot per historian row, as the supervisory layer would have sent it live.

    Each snapshot holds ``timestamp`` (the row's index, ISO 8601) and the tags the supervisor
    reads for this site (:func:`optimizer.snapshot.tag_rules`) that the table has; other columns
    (computed KPIs, ``site.*``, unit fuels ...) are left out. A missing column or an empty cell
    (NaN) leaves the tag out of that snapshot: the supervisor then substitutes or holds as it
    would live (see the README's table of bad inputs). ``site_load_mw`` is derived as
    ``site.load_mw - site.motor_mw`` when the table has those but not it (simulator historians).
    The rows are taken in time order (see :func:`prepare_historian`).
    """
    frame, _ = prepare_historian(frame)
    rules = tag_rules(site)
    columns = [c for c in frame.columns if c in rules]
    data = {c: frame[c] for c in columns}
    if tags.SITE_LOAD not in frame.columns and all(c in frame.columns for c in _SITE_LOAD_PARTS):
        data[tags.SITE_LOAD] = pd.to_numeric(frame[_SITE_LOAD_PARTS[0]], errors="coerce") - pd.to_numeric(frame[_SITE_LOAD_PARTS[1]], errors="coerce")
    snaps: list[dict] = []
    arrays = {c: s.to_numpy() for c, s in data.items()}
    for i, ts in enumerate(frame.index):
        snap: dict = {"timestamp": ts.isoformat()}
        for c, a in arrays.items():
            v = a[i]
            if v is None or (isinstance(v, (float, np.floating)) and math.isnan(v)):
                continue
            snap[c] = float(v) if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) else v
        snaps.append(snap)
    return snaps


def replay_historian(site: Site, models, frame: pd.DataFrame, config: SupervisorConfig | None = None,
                     log_path: str | Path | None = None, progress: bool = False,
                     properties: SiteProperties | None = None, limit: int | None = None) -> ReplayResult:
    """Run one Supervisor over the historian's rows in time order, exactly as it would have run live.

    ``config``: the live configuration (default: ``SupervisorConfig(cycle_s=<the historian's
    step>)``, so move limits are those of one historian step). Its ``audit_log`` is replaced by
    ``log_path`` (the advisory log; an existing file is replaced, not appended to) and, when
    ``stale_after_s`` is set, its ``clock`` by the row's timestamp. ``limit``: the first N rows
    only. Returns the per-step table, the proposals, the snapshots and the period totals.

    The advisory log is written to a temporary file beside ``log_path`` and renamed to it when
    the replay is complete: until then (and if the replay fails) ``log_path`` keeps what it held.
    """
    frame, warnings = prepare_historian(frame)
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit = {limit}: must be >= 1 row")
        frame = frame.iloc[:limit]
    for w in warnings:
        log.warning(w)
    step_h = step_hours_of(frame.index)
    if len(frame) > 2:
        gaps = _gaps_hours(frame.index)
        irregular = int((np.abs(gaps - step_h) > 0.01 * step_h).sum())
        if irregular:
            warnings.append(f"{irregular} of {len(gaps)} step(s) differ from the median step of {60 * step_h:g} min: totals use the median step")
    missing = sorted(t for t, r in tag_rules(site).items() if r.required and t not in frame.columns
                     and not (t == tags.SITE_LOAD and all(c in frame.columns for c in _SITE_LOAD_PARTS)))
    if missing:
        warnings.append(f"{len(missing)} tag(s) the supervisor reads are not in the historian (substituted every cycle): {', '.join(missing[:10])}")
    if config is None:
        config = SupervisorConfig(cycle_s=3600.0 * step_h if step_h > 0 else 60.0)
    clock_now = [pd.Timestamp(0)]
    path = Path(log_path) if log_path is not None else None
    with ExitStack() as publish:
        tmp_log = None
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp_log = publish.enter_context(atomic_output(path))  # renamed to ``path`` when the loop below is done
        cfg = dataclasses.replace(config, audit_log=str(tmp_log) if tmp_log is not None else None,
                                  clock=(lambda: clock_now[0]) if config.stale_after_s is not None else config.clock)
        steps, proposals, snapshots = _run_rows(site, models, frame, cfg, properties, clock_now, progress)
    cfg = dataclasses.replace(cfg, audit_log=str(path) if path is not None else None)
    totals = replay_totals(steps, step_h)
    return ReplayResult(steps, proposals, snapshots, totals, step_h, cfg, site.currency, path, warnings)


def _run_rows(site: Site, models, frame: pd.DataFrame, cfg: SupervisorConfig, properties: SiteProperties | None,
              clock_now: list, progress: bool) -> tuple[pd.DataFrame, list[Proposal], list[dict]]:
    """The replay loop: one Supervisor over the rows in time order; (per-step table, proposals, snapshots)."""
    supervisor = Supervisor(site, models, cfg, properties=properties)
    snapshots = snapshots_from_historian(site, frame)
    proposals: list[Proposal] = []
    rows: list[dict] = []
    realised_cost = pd.to_numeric(frame["site.cost_per_h"], errors="coerce").to_numpy() if "site.cost_per_h" in frame else None
    for i, snap in enumerate(tqdm(snapshots, desc="replay", unit="row", disable=not progress)):
        clock_now[0] = frame.index[i]
        t = time.perf_counter()
        p = supervisor.step(snap)
        ms = 1e3 * (time.perf_counter() - t)
        proposals.append(p)
        row = step_row(p, ms)
        row["timestamp"] = frame.index[i]
        if realised_cost is not None:
            row["historian_cost_per_h"] = float(realised_cost[i])
        rows.append(row)
    return pd.DataFrame(rows).set_index("timestamp"), proposals, snapshots


def step_row(p: Proposal, step_ms: float = math.nan) -> dict:
    """One proposal as a row of the per-step table (KPIs NaN where the step has none)."""
    cur, new = p.current_kpis or {}, p.proposed_kpis or {}
    usable = p.ok and bool(new) and bool(cur)

    def k(d, key):
        return float(d[key]) if key in d and d[key] is not None else math.nan

    row = {
        "status": p.status, "usable": usable,
        "current_cost_per_h": k(cur, "cost_per_h"),
        "proposed_cost_per_h": k(new, "cost_per_h") if p.ok else math.nan,
        "current_co2e_t_h": k(cur, "co2e_t_h"),
        "proposed_co2e_t_h": k(new, "co2e_t_h") if p.ok else math.nan,
        "current_fuel_gj_h": k(cur, "fuel_gj_h"),
        "proposed_fuel_gj_h": k(new, "fuel_gj_h") if p.ok else math.nan,
    }
    row["predicted_saving_per_h"] = row["current_cost_per_h"] - row["proposed_cost_per_h"] if usable else 0.0
    row["predicted_co2e_saving_t_h"] = row["current_co2e_t_h"] - row["proposed_co2e_t_h"] if usable else 0.0
    row["predicted_fuel_saving_gj_h"] = row["current_fuel_gj_h"] - row["proposed_fuel_gj_h"] if usable else 0.0
    row.update({
        "substitutions": len(p.substitutions), "held_units": len(p.held_units), "warnings": len(p.warnings),
        "top_binding": p.binding[0]["limit"] if p.binding else "",
        "step_ms": step_ms,
    })
    return row


def replay_totals(steps: pd.DataFrame, step_hours: float) -> dict[str, float]:
    """Period totals of a replay's per-step table: rows, hours, rows per status, and the predicted
    savings integrated over the period (currency, t CO2e, GJ) with the current cost for scale."""
    cur = steps["current_cost_per_h"].fillna(0.0).sum() * step_hours
    totals: dict[str, float] = {
        "rows": float(len(steps)), "hours": len(steps) * step_hours, "step_hours": step_hours,
        "usable_steps": float(steps["usable"].sum()),
        "current_cost": cur,
        "predicted_saving": steps["predicted_saving_per_h"].sum() * step_hours,
        "predicted_co2e_saving_t": steps["predicted_co2e_saving_t_h"].sum() * step_hours,
        "predicted_fuel_saving_gj": steps["predicted_fuel_saving_gj_h"].sum() * step_hours,
    }
    totals["predicted_saving_pct"] = 100.0 * totals["predicted_saving"] / cur if cur else math.nan
    for status, n in steps["status"].value_counts().items():
        totals[f"status_{status}"] = float(n)
    return totals


def write_replay(result: ReplayResult, out_dir: str | Path) -> dict[str, Path]:
    """Write the per-step table (CSV and Parquet) and the totals (CSV), each to a temporary file
    renamed when complete; the advisory log is written during the replay (``log_path``)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"steps_csv": out / "steps.csv", "steps_parquet": out / "steps.parquet", "totals": out / "totals.csv"}
    with atomic_output(paths["steps_csv"]) as tmp:
        result.steps.to_csv(tmp)
    with atomic_output(paths["steps_parquet"]) as tmp:
        result.steps.to_parquet(tmp)
    with atomic_output(paths["totals"]) as tmp:
        pd.Series(result.totals, name="value").rename_axis("total").to_csv(tmp)
    if result.log_path is not None:
        paths["advisory"] = result.log_path
    return paths
