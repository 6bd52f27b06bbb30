"""Look-ahead plan benchmark: ``Supervisor.plan`` over a day of snapshots and forecasts.

The day (reference site, Monday 2026-03-02, the weekday time-of-use tariff): boilers B3 and B4
have been off for 10 h, B1 and B2 carry the load, and a production campaign 10:00-15:00 raises HP aromatics
steam 30 -> 75 t/h and MP butadiene 25 -> 65 t/h (the bundled ``lookahead_week`` study's
campaign). A plan is made from the snapshot at each of several hours of the day, with the
campaign as its forecast (the demand the planner is told), for two horizons: 24 periods of
60 min and 96 periods of 15 min. Every plan is timed end to end (validation, the periods' blocks
and curves, the mixing probe, the stacked MIP, reading the schedule back) at MIP gap 1e-4 with a
time limit; reported per horizon: p50/p95/max time, the gap each plan reached, its status, and
the starts and stops it schedules (the benchmark checks the day forces at least one of each).

Two baselines in the same run, on the first plan of each horizon (not in ``--quick``, which makes
one 24 x 60 plan in the product's default 10 s budget):

* the same horizon solved to gap 1e-6 with a time limit of 300 s (``REFERENCE_LIMIT_S``; reported
  whether it proved optimality): the cost of stopping at 1e-4 (relative difference of the
  objectives);
* the peer: the same horizon built as a T-indexed Pyomo model and solved through Pyomo's own
  HiGHS interface (:mod:`benchmarks.plan_pyomo_peer`), build plus solve, as a ratio to ours.

``python -m benchmarks.plan_horizon [--quick] [--json PATH]``; the nightly suite runs it
(:mod:`benchmarks.suite`). Timings are measured here, never asserted in unit tests.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "scenarios" / "sites" / "reference_olefins.toml"
MODELS = ROOT / "scenarios" / "models" / "reference_olefins"
SNAPSHOT = ROOT / "scenarios" / "snapshots" / "reference_olefins.json"
DAY = "2026-03-02"
CAMPAIGN_H = (10, 15)                      # h of day, [start, end)
CAMPAIGN_TPH = {"HP_AROMATICS.steam_tph": (30.0, 75.0), "MP_BUTADIENE.steam_tph": (25.0, 65.0)}
HORIZONS = {"24x60": (24, 60.0), "96x15": (96, 15.0)}
TARGET_P95_S = {"24x60": 3.0, "96x15": 15.0}
GAP = 1e-4
REFERENCE_GAP = 1e-6
START_HOURS = {"full": (0, 6, 12, 18), "quick": (6,)}
TIME_LIMIT_S = {"full": {"24x60": 60.0, "96x15": 120.0}, "quick": {"24x60": 10.0}}
REFERENCE_LIMIT_S = 300.0


def day_snapshot(hour: int) -> dict:
    """The reference snapshot at ``hour`` o'clock of the day: B3 and B4 off for 10 h (a start
    would be cold), B1 and B2 carrying the boilers' 190 t/h."""
    snap = json.loads(SNAPSHOT.read_text())
    snap["timestamp"] = f"{DAY}T{hour:02d}:00:00"
    for b in ("B3", "B4"):
        snap[f"{b}.steam_tph"] = 0.0
        snap[f"{b}.minutes_in_state"] = 600.0
    for b in ("B1", "B2"):
        snap[f"{b}.steam_tph"] = 95.0
    return snap


def campaign_forecast(start: str, periods: int, period_min: float) -> pd.DataFrame:
    """The forecast the planner is given: the campaign's demands per period (t/h)."""
    times = pd.date_range(start, periods=periods, freq=pd.Timedelta(minutes=period_min))
    hour = times.hour + times.minute / 60.0
    on = (hour >= CAMPAIGN_H[0]) & (hour < CAMPAIGN_H[1])
    return pd.DataFrame({tag: np.where(on, high, low) for tag, (low, high) in CAMPAIGN_TPH.items()}, index=times)


def _supervisor():
    from optimizer.site.loader import load_site
    from optimizer.supervisor import Supervisor
    from surrogate.manifest import load_model_dir

    return Supervisor(load_site(SITE), load_model_dir(MODELS))


def _one_plan(sup, hour: int, periods: int, period_min: float, gap: float, limit_s: float) -> dict:
    snap = day_snapshot(hour)
    fc = campaign_forecast(snap["timestamp"], periods, period_min)
    t0 = time.perf_counter()
    s = sup.plan(snap, fc, horizon_h=periods * period_min / 60.0, period_min=period_min, time_budget_s=limit_s, mip_rel_gap=gap)
    total = time.perf_counter() - t0
    return {"start": snap["timestamp"], "status": s.status, "total_s": total, "build_s": s.stats.get("build_s"),
            "start_s": s.stats.get("start_s"), "start_cost": s.stats.get("start_cost"),
            "solve_s": s.stats.get("solve_s"), "gap": s.stats.get("gap"), "objective": s.objective,
            "cost_total": s.costs.get("total"), "starts": len(s.starts), "stops": len(s.stops),
            "binaries": s.stats.get("binaries"), "columns": s.stats.get("columns"), "nodes": s.stats.get("nodes"),
            "mixing_binaries_settled": s.stats.get("mixing_binaries_settled")}


def _peer(sup, hour: int, periods: int, period_min: float, gap: float, limit_s: float) -> dict | None:
    """The Pyomo T-indexed peer on the same horizon, and ours built and solved the same way."""
    try:
        from benchmarks.plan_pyomo_peer import pyomo_peer
    except ImportError:
        return None
    from optimizer import horizon, planning

    snap = day_snapshot(hour)
    fc = campaign_forecast(snap["timestamp"], periods, period_min)
    v = copy.deepcopy(sup.validator)
    v.last_timestamp = None
    s = v.validate(snap)
    t0 = time.perf_counter()
    hz = horizon.build(sup, s, fc, period_min)
    ours_build = time.perf_counter() - t0
    ours = horizon.solve(hz.model, limit_s, gap, planning.PLAN_HIGHS_OPTIONS)
    peer = {k: v for k, v in pyomo_peer(sup, hz.periods, hz.coupling, hz.hours, gap, limit_s).items() if k != "model"}  # figures only
    ours_total = ours_build + ours.solve_s
    peer_total = peer["build_s"] + peer["solve_s"]
    return {"ours_build_s": ours_build, "ours_solve_s": ours.solve_s, "ours_status": ours.status, "ours_objective": ours.objective,
            "peer": peer, "peer_over_ours": peer_total / ours_total if ours_total > 0 else None,
            # the part that is the modelling layer's: everything but HiGHS's own run
            "peer_outside_highs_s": peer["build_s"] + peer["solve_s"] - peer["highs_run_s"],
            "peer_outside_over_ours": (peer["build_s"] + peer["solve_s"] - peer["highs_run_s"]) / ours_build if ours_build > 0 else None}


def run(quick: bool = False, peer: bool = True, json_path: Path | None = None) -> dict:
    """Every horizon's plans over the day, the 1e-6 reference and the Pyomo peer (module docstring);
    with ``json_path``, the figures so far are written there after each horizon."""
    mode = "quick" if quick else "full"
    sup = _supervisor()
    out: dict = {"day": DAY, "gap": GAP, "horizons": {}}
    for name, (periods, period_min) in HORIZONS.items():
        if quick and name != "24x60":
            continue
        limit = TIME_LIMIT_S[mode][name]
        plans = []
        for hour in START_HOURS[mode]:
            log.info("plan %s from %02d:00", name, hour)
            plans.append(_one_plan(sup, hour, periods, period_min, GAP, limit))
        times = np.array([p["total_s"] for p in plans])
        h = {"periods": periods, "period_min": period_min, "time_limit_s": limit, "plans": plans,
             "p50_s": float(np.percentile(times, 50)), "p95_s": float(np.percentile(times, 95)), "max_s": float(times.max()),
             "n": len(plans), "target_p95_s": TARGET_P95_S[name],
             "all_optimal": all(p["status"] == "optimal" for p in plans),
             "max_gap": max((p["gap"] for p in plans if p["gap"] is not None), default=None),
             "forces_start_and_stop": any(p["starts"] for p in plans) and any(p["stops"] for p in plans)}
        first = START_HOURS[mode][0]
        if not quick:
            log.info("plan %s from %02d:00 at gap %g (reference)", name, first, REFERENCE_GAP)
            ref = _one_plan(sup, first, periods, period_min, REFERENCE_GAP, REFERENCE_LIMIT_S)
            h["reference"] = ref
            if ref["objective"] is not None and plans[0]["objective"] is not None:
                h["cost_over_reference"] = plans[0]["objective"] / ref["objective"] - 1.0
        if peer and not quick:
            log.info("plan %s: Pyomo T-indexed peer", name)
            h["peer"] = _peer(sup, first, periods, period_min, GAP, limit)
        out["horizons"][name] = h
        if json_path is not None:
            write_json(out, json_path)
    return out


def write_json(r: dict, path: Path) -> None:
    """``r`` as JSON at ``path``, through a temporary file renamed into place."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(r, indent=1, default=float))
    tmp.replace(path)


def markdown(r: dict) -> str:
    """The benchmark's table (one row per horizon) and its notes."""
    lines = ["| horizon | plans | p50 s | p95 s | max s | target p95 | statuses | max gap reached | 1e-4 plan cost vs 1e-6 | Pyomo peer / ours (build+solve) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, h in r["horizons"].items():
        statuses = ", ".join(sorted({p["status"] for p in h["plans"]}))
        ref = h.get("reference") or {}
        rel = h.get("cost_over_reference")
        ref_txt = "-" if rel is None else f"{100 * rel:+.4f} % (reference {ref.get('status')}, gap {ref.get('gap') or 0:.1e}, {ref.get('total_s', 0):.0f} s)"
        pe = h.get("peer") or {}
        peer_txt = "-" if not pe else (f"{pe['peer_over_ours']:.2f}x ({pe['peer']['build_s']:.2f}+{pe['peer']['solve_s']:.2f} s vs "
                                       f"{pe['ours_build_s']:.2f}+{pe['ours_solve_s']:.2f} s; statuses {pe['peer']['status']} / {pe['ours_status']}); "
                                       f"outside HiGHS {pe['peer_outside_over_ours']:.0f}x ({pe['peer_outside_highs_s']:.2f} vs {pe['ours_build_s']:.3f} s)")
        gap = h.get("max_gap")
        lines.append(f"| {name} | {h['n']} | {h['p50_s']:.2f} | {h['p95_s']:.2f} | {h['max_s']:.2f} | {h['target_p95_s']:.0f} s "
                     f"({'MET' if h['p95_s'] <= h['target_p95_s'] and h['all_optimal'] else 'MISSED'}) | {statuses} | "
                     f"{'-' if gap is None else f'{gap:.1e}'} | {ref_txt} | {peer_txt} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="one 24 x 60 min plan in 10 s, no baselines (default: off)")
    ap.add_argument("--no-peer", action="store_true", help="skip the Pyomo T-indexed peer (default: run it)")
    ap.add_argument("--json", type=Path, default=None, help="write every figure as JSON here (default: none)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    r = run(args.quick, peer=not args.no_peer, json_path=args.json)
    print(markdown(r))  # noqa: T201 - the CLI's output
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
